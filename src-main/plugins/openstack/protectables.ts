import type { JsonObject } from '../../engine/db/schema/common';
import type { ProtectablePlugin, Resource } from '../../engine/protectables/types';
import type { OpenStack } from './client';
import {
  cloudExtra,
  cloudOf,
  GROUP_TYPE,
  IMAGE_TYPE,
  PROJECT_TYPE,
  SERVER_TYPE,
  VOLUME_TYPE,
  type OpenStackConnections,
} from './connections';
import { withEngineErrors } from './engine-errors';

const cloudParam = (p: JsonObject): string | undefined => (typeof p.cloud === 'string' && p.cloud ? p.cloud : undefined);
const res = (type: string, id: string, name: string | null | undefined, cloud?: string): Resource => ({
  id,
  type,
  name: name || id,
  ...cloudExtra(cloud),
});

async function projectImages(os: OpenStack, cloud?: string): Promise<Resource[]> {
  const owner = await os.session.projectId();
  return (await os.glance.list({ owner })).map((i) => res(IMAGE_TYPE, i.id, i.name, cloud));
}

/**
 * The OpenStack protectables. The project is the one the session is scoped to; its dependents
 * are its servers, volumes, volume groups and images; a server's are its attached volumes and
 * its boot image; a group's are its member volumes.
 *
 * A volume in a group is reached only through its group (the project and a server name the group
 * instead of it): the group backs all its members up from one group snapshot, a consistent point
 * in time, and a member volume's node records that backup. Were the volume also a dependent of
 * something else, its node could run before the group's and back it up a second time, on its own.
 * Listing takes `parameters.cloud` to use another clouds.yaml entry than the default. Client
 * failures surface as engine errors (`CLOUD_INVALID`, `CLOUD_AUTH_FAILED`, …) with their message.
 */
export function openstackProtectables(conns: OpenStackConnections): ProtectablePlugin[] {
  const forList = (p: JsonObject): OpenStack => conns.forParameters(p);
  const forRes = (r: Resource): OpenStack => conns.get(cloudOf(r));
  const project: ProtectablePlugin = {
    type: PROJECT_TYPE,
    dependentTypes: [SERVER_TYPE, VOLUME_TYPE, GROUP_TYPE, IMAGE_TYPE],
    async listInstances(_ctx, p) {
      const pr = await forList(p).project();
      return [res(PROJECT_TYPE, pr.id, pr.name, cloudParam(p))];
    },
    async showInstance(_ctx, id, p) {
      const pr = await forList(p).project();
      return pr.id === id ? res(PROJECT_TYPE, pr.id, pr.name, cloudParam(p)) : undefined;
    },
    async dependents(_ctx, r) {
      const os = forRes(r);
      const cloud = cloudOf(r);
      if ((await os.session.projectId()) !== r.id) return [];
      const [servers, volumes, groups, images] = await Promise.all([
        os.nova.listServers(),
        os.cinder.listVolumes(),
        os.cinder.listGroups(),
        projectImages(os, cloud),
      ]);
      return [
        ...servers.map((s) => res(SERVER_TYPE, s.id, s.name, cloud)),
        ...volumes.filter((v) => !v.group_id).map((v) => res(VOLUME_TYPE, v.id, v.name, cloud)),
        ...groups.map((g) => res(GROUP_TYPE, g.id, g.name, cloud)),
        ...images,
      ];
    },
  };
  const server: ProtectablePlugin = {
    type: SERVER_TYPE,
    dependentTypes: [VOLUME_TYPE, GROUP_TYPE, IMAGE_TYPE],
    async listInstances(_ctx, p) {
      return (await forList(p).nova.listServers()).map((s) => res(SERVER_TYPE, s.id, s.name, cloudParam(p)));
    },
    async showInstance(_ctx, id, p) {
      const s = await forList(p).nova.getServer(id);
      return s ? res(SERVER_TYPE, s.id, s.name, cloudParam(p)) : undefined;
    },
    async dependents(_ctx, r) {
      const os = forRes(r);
      const cloud = cloudOf(r);
      const s = await os.nova.getServer(r.id);
      if (!s) return [];
      const out: Resource[] = [];
      for (const a of s['os-extended-volumes:volumes_attached'] ?? []) {
        const v = await os.cinder.getVolume(a.id);
        if (!v) continue;
        if (!v.group_id) {
          out.push(res(VOLUME_TYPE, v.id, v.name, cloud));
          continue;
        }
        // A volume in a group comes through its group (see above).
        if (out.some((d) => d.type === GROUP_TYPE && d.id === v.group_id)) continue;
        const g = await os.cinder.getGroup(v.group_id);
        if (g) out.push(res(GROUP_TYPE, g.id, g.name, cloud));
      }
      const imageId = s.image && typeof s.image === 'object' ? s.image.id : undefined;
      if (imageId) {
        const img = await os.glance.get(imageId);
        if (img) out.push(res(IMAGE_TYPE, img.id, img.name, cloud));
      }
      return out;
    },
  };
  const volume: ProtectablePlugin = {
    type: VOLUME_TYPE,
    dependentTypes: [],
    async listInstances(_ctx, p) {
      return (await forList(p).cinder.listVolumes()).map((v) => res(VOLUME_TYPE, v.id, v.name, cloudParam(p)));
    },
    async showInstance(_ctx, id, p) {
      const v = await forList(p).cinder.getVolume(id);
      return v ? res(VOLUME_TYPE, v.id, v.name, cloudParam(p)) : undefined;
    },
    dependents: () => Promise.resolve([]),
  };
  const group: ProtectablePlugin = {
    type: GROUP_TYPE,
    dependentTypes: [VOLUME_TYPE],
    async listInstances(_ctx, p) {
      return (await forList(p).cinder.listGroups()).map((g) => res(GROUP_TYPE, g.id, g.name, cloudParam(p)));
    },
    async showInstance(_ctx, id, p) {
      const g = await forList(p).cinder.getGroup(id);
      return g ? res(GROUP_TYPE, g.id, g.name, cloudParam(p)) : undefined;
    },
    async dependents(_ctx, r) {
      const os = forRes(r);
      const g = await os.cinder.getGroup(r.id);
      if (!g?.volumes?.length) return [];
      const members = new Set(g.volumes);
      return (await os.cinder.listVolumes()).filter((v) => members.has(v.id)).map((v) => res(VOLUME_TYPE, v.id, v.name, cloudOf(r)));
    },
  };
  const image: ProtectablePlugin = {
    type: IMAGE_TYPE,
    dependentTypes: [],
    async listInstances(_ctx, p) {
      return projectImages(forList(p), cloudParam(p));
    },
    async showInstance(_ctx, id, p) {
      const i = await forList(p).glance.get(id);
      return i ? res(IMAGE_TYPE, i.id, i.name, cloudParam(p)) : undefined;
    },
    dependents: () => Promise.resolve([]),
  };
  return [project, server, volume, group, image].map(withEngineErrors);
}
