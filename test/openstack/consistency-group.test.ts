import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, jsonCall, loadCloud, type OpenStack } from '../../src-main/plugins/openstack/client';
import { startHarness, tempDir, type Harness } from '../helpers/harness';
import {
  admin,
  bootServer,
  checkpoint,
  dropProject,
  failureOf,
  OS_INFRA,
  readVolume,
  restore,
  retried,
  scratchProject,
  waitCheckpoint,
  writeVolume,
} from './helpers';

type Obj = Record<string, unknown>;
const GROUP = 'OS::Cinder::ConsistencyGroup';
const VOLUME = 'OS::Cinder::Volume';
const SERVER = 'OS::Nova::Server';
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const MARK_AT = 5 << 20;

let h: Harness;
let os: OpenStack;
let adminOs: OpenStack;
let projectId: string;
let groupTypeId: string;
let volumeType: string;
let groupId: string;
const name = `karbor-cg-${Date.now()}`;
/** The original member volumes: name suffix → size in GiB. */
const members = [
  { suffix: 'db', size: 1 },
  { suffix: 'logs', size: 2 },
];
const volumeIds: string[] = [];
const marks = new Map<string, Buffer>();
let planId: string;
let cp: Obj & { id: string };

/** Admin-only Cinder calls (quotas) through the admin connection. */
const cinderAdmin = <T>(method: 'GET' | 'PUT', path: string, json?: unknown, query?: Record<string, string>): Promise<T> =>
  jsonCall<T>(adminOs.session, 'cinder', 'block-storage', { method, path, json, query });

const setBackupQuota = (n: number): Promise<unknown> => cinderAdmin('PUT', `/os-quota-sets/${projectId}`, { quota_set: { backups: n } });

const edgesOf = (graph: string): Record<string, string[]> => {
  const [nodes, adjacency] = JSON.parse(graph) as [Record<string, [string, string]>, [string, string[]][]];
  const key = (n: string): string => `${nodes[n]?.[0]}#${nodes[n]?.[1]}`;
  return Object.fromEntries(adjacency.map(([p, cs]) => [key(p), cs.map(key).sort()]));
};

const savedInfo = (checkpointId: string): Record<string, Obj> =>
  Object.fromEntries(
    (
      h.engine.ctx.db.$client
        .prepare('select resource_key, saved_info from checkpoint_resources where checkpoint_id = ?')
        .all(checkpointId) as {
        resource_key: string;
        saved_info: string | null;
      }[]
    ).map((r) => [r.resource_key, JSON.parse(r.saved_info ?? '{}') as Obj]),
  );

async function plan(resources: unknown[]): Promise<string> {
  const r = await h.api<{ plan: { id: string } }>('POST', '/plans', { plan: { name, provider_id: OS_INFRA, resources, parameters: {} } });
  expect(r.status, r.text).toBe(200);
  return r.body.plan.id;
}

/** Nothing a failed checkpoint made stays in Cinder: no backup, no snapshot, no group snapshot. */
async function expectNothingLeft(): Promise<void> {
  expect(await os.cinder.listBackups()).toEqual([]);
  expect(await os.cinder.listSnapshots()).toEqual([]);
  expect(await os.cinder.listGroupSnapshots()).toEqual([]);
}

beforeAll(async () => {
  const dir = tempDir('karbor-os-');
  adminOs = admin();
  const scratch = await scratchProject(adminOs, name, dir);
  projectId = scratch.projectId;
  process.env.OS_CLIENT_CONFIG_FILE = scratch.cloudsFile;
  process.env.OS_CLOUD = name;
  os = connect(loadCloud({ cloud: name }));
  // Group types are global and admin-only; a CG-enabled one lets the rig's NFS backend take groups.
  const gt = await retried(() => adminOs.cinder.createGroupType(`${name}-type`, { consistent_group_snapshot_enabled: '<is> True' }));
  groupTypeId = gt.id;
  volumeType = (await cinderAdmin<{ volume_type: { name: string } }>('GET', '/types/default')).volume_type.name;
  const group = await retried(() => os.cinder.createGroup({ name: `${name}-group`, group_type: groupTypeId, volume_types: [volumeType] }));
  groupId = group.id;
  await os.cinder.waitGroup(groupId, ['available']);
  for (const m of members) {
    const v = await retried(() =>
      os.cinder.createVolume({ size: m.size, name: `${name}-${m.suffix}`, group_id: groupId, volume_type: volumeType }),
    );
    volumeIds.push(v.id);
  }
  for (const id of volumeIds) {
    await os.cinder.waitVolume(id, ['available']);
    const mark = randomBytes(1 << 20);
    if (writeVolume(id, MARK_AT, mark)) marks.set(id, mark);
  }
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
  if (adminOs && projectId) await setBackupQuota(-1).catch(() => undefined);
  // KARBOR_OS_KEEP=1 keeps the scratch project for a look after a failure
  if (os && projectId && !process.env.KARBOR_OS_KEEP) {
    await dropProject(os, projectId);
    if (groupTypeId)
      await adminOs.cinder.deleteGroupType(groupTypeId).catch((err: unknown) => console.warn(`cleanup: group type: ${String(err)}`));
  }
});

describe('OS Infra Provider: a Cinder volume group (OS::Cinder::ConsistencyGroup) of two volumes', () => {
  it('lists the group with its volumes as dependents; the project names the group instead of its volumes', async () => {
    const r = await h.api<{ instances: (Obj & { id: string; dependent_resources: Obj[] })[] }>('GET', `/protectables/${GROUP}/instances`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.instances.map((i) => i.id)).toEqual([groupId]);
    const deps = r.body.instances[0]?.dependent_resources.map((d) => `${String(d.type)}#${String(d.id)}`).sort();
    expect(deps).toEqual(volumeIds.map((v) => `${VOLUME}#${v}`).sort());
    const p = await h.api<{ instances: { dependent_resources: Obj[] }[] }>('GET', '/protectables/OS::Keystone::Project/instances');
    expect(p.body.instances[0]?.dependent_resources.map((d) => `${String(d.type)}#${String(d.id)}`)).toEqual([`${GROUP}#${groupId}`]);
    const types = await h.api<{ protectable_type: string[] }>('GET', '/protectables');
    expect(types.body.protectable_type).toContain(GROUP);
  });

  it('protects the group from one group snapshot into an available checkpoint with the graph group → volumes', async () => {
    planId = await plan([{ id: groupId, type: GROUP, name: `${name}-group` }]);
    cp = await checkpoint(h, OS_INFRA, planId);
    expect(cp.status, JSON.stringify(cp)).toBe('available');
    expect(edgesOf(cp.resource_graph as string)).toEqual({ [`${GROUP}#${groupId}`]: volumeIds.map((v) => `${VOLUME}#${v}`).sort() });
    const backups = await os.cinder.listBackups();
    expect(backups.map((b) => b.volume_id).sort()).toEqual([...volumeIds].sort());
    // each from a snapshot, deleted afterwards together with the group snapshot
    for (const b of backups) expect(b.snapshot_id).toBeTruthy();
    expect(await os.cinder.listSnapshots()).toEqual([]);
    expect(await os.cinder.listGroupSnapshots()).toEqual([]);
    const saved = savedInfo(cp.id);
    const group = saved[`${GROUP}#${groupId}`]!;
    expect(group).toMatchObject({ group_id: groupId, name: `${name}-group`, group_type: groupTypeId });
    const savedMembers = group.members as Obj[];
    // in the order Cinder lists the group's volumes, which is not the order they were made in
    const byId = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(savedMembers.map((m) => [m.volume_id, m.name, m.size, m.volume_type]).sort(byId)).toEqual(
      members.map((m, i) => [volumeIds[i], `${name}-${m.suffix}`, m.size, volumeType]).sort(byId),
    );
    expect(savedMembers.map((m) => m.backup_id).sort()).toEqual(backups.map((b) => b.id).sort());
    // the volumes' nodes record the group's backups: no second backup of a member
    for (const m of savedMembers)
      expect(saved[`${VOLUME}#${String(m.volume_id)}`]).toMatchObject({ backup_id: m.backup_id, via_group: true });
  });

  it('restores a new group of the same type holding both volumes, their sizes and data, after the originals are gone', async () => {
    await os.cinder.deleteGroup(groupId, true);
    await os.cinder.waitGroup(groupId, ['deleted'], undefined, 300_000);
    const res = await restore(h, {
      provider_id: OS_INFRA,
      checkpoint_id: cp.id,
      parameters: { [GROUP]: { restore_name: `${name}-r` } },
    });
    expect(res.status, JSON.stringify(res)).toBe('success');
    const groups = await os.cinder.listGroups();
    expect(groups).toHaveLength(1);
    const g = groups[0]!;
    expect(g.id).not.toBe(groupId);
    expect(g).toMatchObject({ name: `${name}-r`, group_type: groupTypeId, status: 'available' });
    const restored = await Promise.all((g.volumes ?? []).map((id) => os.cinder.getVolume(id)));
    expect(restored.map((v) => [v?.name, v?.size, v?.group_id]).sort()).toEqual(
      members.map((m) => [`${name}-r-${name}-${m.suffix}`, m.size, g.id]).sort(),
    );
    expect(marks.size, "the rig's NFS share shows the volumes' images").toBe(volumeIds.length);
    for (const [i, original] of volumeIds.entries()) {
      const v = restored.find((x) => x?.name === `${name}-r-${name}-${members[i]!.suffix}`)!;
      expect(md5(readVolume(v.id, MARK_AT, 1 << 20) ?? Buffer.alloc(0)), `data of ${original}`).toBe(
        md5(marks.get(original) ?? Buffer.alloc(0)),
      );
    }
    groupId = g.id;
  });

  it('deleting the checkpoint deletes its backups in Cinder', async () => {
    const del = await h.api('DELETE', `/providers/${OS_INFRA}/checkpoints/${cp.id}`);
    expect(del.status, del.text).toBe(200);
    const gone = await waitCheckpoint(h, OS_INFRA, cp.id).catch(() => undefined);
    expect(gone?.status ?? 'deleted').not.toBe('error');
    expect(await os.cinder.listBackups()).toEqual([]);
  });

  it('a server with a volume of the group names the group; it is protected once and the restored server gets the new group volume', async () => {
    const img = await os.glance.create({ name: `${name}-image`, disk_format: 'raw', container_format: 'bare' });
    await os.glance.upload(img.id, randomBytes(1 << 20));
    await os.glance.waitActive(img.id);
    const flavor = (await os.nova.listFlavors()).find((f) => f.name === 'm1.tiny');
    let serverId = await bootServer(os, { name: `${name}-server`, imageRef: img.id, flavorRef: flavor?.id, networks: 'none' });
    const groupVolumes = (await os.cinder.getGroup(groupId))?.volumes ?? [];
    const attached = groupVolumes[0]!;
    await os.nova.attachVolume(serverId, attached, '/dev/vdb');
    await os.cinder.waitVolume(attached, ['in-use']);
    const inst = await h.api<{ instance: { dependent_resources: Obj[] } }>('GET', `/protectables/${SERVER}/instances/${serverId}`);
    expect(inst.body.instance.dependent_resources.map((d) => `${String(d.type)}#${String(d.id)}`).sort()).toEqual(
      [`${GROUP}#${groupId}`, `OS::Glance::Image#${img.id}`].sort(),
    );

    const withServer = await checkpoint(h, OS_INFRA, await plan([{ id: serverId, type: SERVER, name: `${name}-server` }]));
    expect(withServer.status, JSON.stringify(withServer)).toBe('available');
    const edges = edgesOf(withServer.resource_graph as string);
    expect(edges[`${SERVER}#${serverId}`]).toEqual([`${GROUP}#${groupId}`, `OS::Glance::Image#${img.id}`].sort());
    expect(edges[`${GROUP}#${groupId}`]).toEqual(groupVolumes.map((v) => `${VOLUME}#${v}`).sort());
    // one backup per member, the attached one included, none besides
    expect((await os.cinder.listBackups()).map((b) => b.volume_id).sort()).toEqual([...groupVolumes].sort());

    await os.nova.deleteServer(serverId);
    await os.nova.waitServer(serverId, ['deleted'], undefined, 300_000).catch(() => undefined);
    await os.cinder.waitVolume(attached, ['available'], undefined, 300_000);
    await os.cinder.deleteGroup(groupId, true);
    await os.cinder.waitGroup(groupId, ['deleted'], undefined, 300_000);
    const res = await restore(h, { provider_id: OS_INFRA, checkpoint_id: withServer.id, parameters: {} });
    expect(res.status, JSON.stringify(res)).toBe('success');
    const [server] = await os.nova.listServers();
    const [group] = await os.cinder.listGroups();
    expect(server && group).toBeTruthy();
    serverId = server!.id;
    groupId = group!.id;
    const nowAttached = (await os.nova.listVolumeAttachments(serverId)).map((a) => a.volumeId);
    expect(nowAttached).toHaveLength(1);
    expect(group!.volumes).toContain(nowAttached[0]);

    const del = await h.api('DELETE', `/providers/${OS_INFRA}/checkpoints/${withServer.id}`);
    expect(del.status, del.text).toBe(200);
    await waitCheckpoint(h, OS_INFRA, withServer.id).catch(() => undefined);
    expect(await os.cinder.listBackups()).toEqual([]);
    await os.nova.deleteServer(serverId);
    await os.nova.waitServer(serverId, ['deleted'], undefined, 300_000).catch(() => undefined);
    await os.cinder.waitVolume(nowAttached[0]!, ['available'], undefined, 300_000);
  });

  it('a member backup Cinder refuses fails the checkpoint with the reason, leaving no backup, snapshot or group snapshot', async () => {
    // One more backup allowed than Cinder counts (its usage count may lag behind deletions): the
    // first member's backup is made, the second one's is refused (413).
    const usage = await cinderAdmin<{ quota_set: { backups: { in_use: number; reserved: number } } }>(
      'GET',
      `/os-quota-sets/${projectId}`,
      undefined,
      { usage: 'true' },
    );
    await setBackupQuota(usage.quota_set.backups.in_use + usage.quota_set.backups.reserved + 1);
    try {
      const r = await h.api<{ checkpoint: { id: string } }>('POST', `/providers/${OS_INFRA}/checkpoints`, {
        checkpoint: { plan_id: await plan([{ id: groupId, type: GROUP, name: `${name}-r` }]) },
      });
      expect(r.status, r.text).toBe(200);
      const seen = new Set<string>();
      let done = false;
      const watching = (async () => {
        while (!done) {
          for (const b of await os.cinder.listBackups().catch(() => [])) seen.add(b.id);
          await new Promise((res) => setTimeout(res, 500));
        }
      })();
      const failed = await waitCheckpoint(h, OS_INFRA, r.body.checkpoint.id).finally(() => (done = true));
      await watching;
      expect(failed.status).toBe('error');
      expect(JSON.stringify(failureOf(h, failed.id))).toMatch(/cinder: POST \/backups failed: 413/);
      expect(seen.size, 'the first member was backed up before the second was refused').toBe(1);
      await expectNothingLeft();
    } finally {
      await setBackupQuota(-1);
    }
  });

  it('a group gone before the checkpoint fails it naming the group', async () => {
    const p = await plan([{ id: groupId, type: GROUP, name: `${name}-r` }]);
    await os.cinder.deleteGroup(groupId, true);
    await os.cinder.waitGroup(groupId, ['deleted'], undefined, 300_000);
    const failed = await checkpoint(h, OS_INFRA, p);
    expect(failed.status).toBe('error');
    expect(JSON.stringify(failureOf(h, failed.id))).toContain(`cinder: group ${groupId} does not exist`);
    await expectNothingLeft();
  });
});
