import type { JsonObject } from '../../engine/db/schema/common';
import type { ProtectionPlugin } from '../../engine/providers/types';
import { asText, IMAGE_TYPE, SERVER_TYPE, VOLUME_TYPE, type OpenStackConnections } from './connections';
import { restoreConnection } from './restore-target';

const str = { type: 'string' };
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const param = (p: JsonObject, k: string): string | undefined => (typeof p[k] === 'string' && p[k] ? p[k] : undefined);

interface SavedAttachment {
  volume_id: string;
  device: string | null;
  delete_on_termination?: boolean;
}

/**
 * `OS::Nova::Server`: protect saves what it takes to boot the server again (flavor, key,
 * networks, security groups, metadata, block-device mapping); its image and volumes are its
 * dependents, protected by their own plugins. Restore boots a new server from the restored (or
 * original) image and attaches the restored volumes at their saved devices, in the restore
 * target's project when the restore names one (its flavor and network: `restore_flavor_id`,
 * `restore_net_id`; the saved key pair only if the target user has one of that name).
 */
export function serverProtection(conns: OpenStackConnections): ProtectionPlugin {
  return {
    name: 'os-nova-server',
    supportedTypes: [SERVER_TYPE],
    schemas: () => ({
      options: { title: 'Server options', type: 'object', properties: {}, additionalProperties: false },
      savedInfo: {
        title: 'Server saved info',
        type: 'object',
        properties: {
          server_id: str,
          name: str,
          flavor_id: str,
          flavor_name: str,
          key_name: str,
          image_id: str,
          networks: { type: 'array', items: str },
          security_groups: { type: 'array', items: str },
          metadata: { type: 'object' },
          availability_zone: str,
          attachments: { type: 'array' },
          boot_from_volume: { type: 'boolean' },
        },
      },
      restore: {
        title: 'Server restore',
        type: 'object',
        properties: {
          restore_name: { ...str, title: 'Name of the new server', description: 'The original name when empty.' },
          restore_flavor_id: { ...str, title: 'Flavor', description: 'The saved flavor when empty.' },
          restore_net_id: { ...str, title: 'Network', description: 'The saved networks when empty (none if it had none).' },
        },
        additionalProperties: false,
      },
    }),
    protect: {
      async main(ctx) {
        const os = conns.forResource(ctx.providerId, ctx.resource);
        const s = await os.nova.getServer(ctx.resource.id);
        if (!s) throw new Error(`nova: server ${ctx.resource.id} does not exist`);
        let flavorId = s.flavor.id;
        if (!flavorId && s.flavor.original_name)
          flavorId = (await os.nova.listFlavors()).find((f) => f.name === s.flavor.original_name)?.id;
        const attachments = await os.nova.listVolumeAttachments(s.id);
        const interfaces = await os.nova.listInterfaces(s.id).catch(() => []);
        const imageId = s.image && typeof s.image === 'object' ? s.image.id : '';
        return {
          server_id: s.id,
          name: s.name,
          flavor_id: flavorId ?? '',
          flavor_name: s.flavor.original_name ?? '',
          key_name: s.key_name ?? '',
          image_id: imageId,
          networks: [...new Set(interfaces.map((i) => i.net_id))],
          security_groups: [...new Set((s.security_groups ?? []).map((g) => g.name))],
          metadata: s.metadata ?? {},
          availability_zone: s['OS-EXT-AZ:availability_zone'] ?? '',
          attachments: attachments.map((a) => ({
            volume_id: a.volumeId,
            device: a.device,
            delete_on_termination: a.delete_on_termination ?? false,
          })),
          boot_from_volume: !imageId,
        };
      },
    },
    async restore(ctx) {
      const os = await restoreConnection(conns, ctx);
      const s = ctx.savedInfo;
      const p = ctx.parameters;
      const attachments = (Array.isArray(s.attachments) ? s.attachments : []) as unknown as SavedAttachment[];
      const newVolume = (old: string): string | undefined => ctx.restoredIds.get(`${VOLUME_TYPE}#${old}`);
      const body: Record<string, unknown> = {
        name: param(p, 'restore_name') ?? asText(s.name),
        flavorRef: param(p, 'restore_flavor_id') ?? asText(s.flavor_id),
        metadata: s.metadata ?? {},
      };
      const net = param(p, 'restore_net_id');
      const nets = strings(s.networks);
      body.networks = net ? [{ uuid: net }] : nets.length ? nets.map((uuid) => ({ uuid })) : 'none';
      const groups = strings(s.security_groups);
      if (body.networks !== 'none' && groups.length) body.security_groups = groups.map((name) => ({ name }));
      if (typeof s.key_name === 'string' && s.key_name && (await os.nova.getKeypair(s.key_name))) body.key_name = s.key_name;
      let root: SavedAttachment | undefined;
      if (s.boot_from_volume) {
        root = attachments.find((a) => a.device === '/dev/vda') ?? attachments[0];
        const rootId = root && newVolume(root.volume_id);
        if (!rootId) throw new Error('the server booted from a volume that was not restored');
        body.block_device_mapping_v2 = [{ boot_index: 0, uuid: rootId, source_type: 'volume', destination_type: 'volume' }];
      } else {
        const img = asText(s.image_id);
        body.imageRef = ctx.restoredIds.get(`${IMAGE_TYPE}#${img}`) ?? img;
      }
      const created = await os.nova.createServer(body);
      await os.nova.waitServer(created.id, ['ACTIVE'], ctx.signal);
      const missing: string[] = [];
      for (const a of attachments) {
        if (a === root) continue;
        const vol = newVolume(a.volume_id);
        if (!vol) {
          missing.push(a.volume_id);
          continue;
        }
        await os.nova.attachVolume(created.id, vol, a.device);
        await os.cinder.waitVolume(vol, ['in-use'], ctx.signal, 300_000);
      }
      if (missing.length)
        throw new Error(`server ${created.id} booted, but volumes ${missing.join(', ')} were not restored and are not attached`);
      return { newId: created.id };
    },
  };
}

/**
 * `OS::Keystone::Project`: a container for its servers, volumes and images; its own saved info
 * names it. Restore creates no project: its resources go back into it, or into the restore
 * target's project, which becomes its new id (so the result names where everything went).
 */
export function projectProtection(conns: OpenStackConnections): ProtectionPlugin {
  return {
    name: 'os-keystone-project',
    supportedTypes: ['OS::Keystone::Project'],
    schemas: () => ({
      options: { title: 'Project options', type: 'object', properties: {}, additionalProperties: false },
      savedInfo: { title: 'Project saved info', type: 'object', properties: { project_id: str, name: str, domain_id: str } },
      restore: { title: 'Project restore', type: 'object', properties: {}, additionalProperties: false },
    }),
    protect: {
      async main(ctx) {
        const pr = await conns.forResource(ctx.providerId, ctx.resource).project();
        if (pr.id !== ctx.resource.id) throw new Error(`keystone: the session is scoped to project ${pr.id}, not ${ctx.resource.id}`);
        return { project_id: pr.id, name: pr.name, domain_id: pr.domain_id };
      },
    },
    async restore(ctx) {
      if (!ctx.target) return;
      const target = await restoreConnection(conns, ctx);
      return { newId: await target.session.projectId() };
    },
  };
}
