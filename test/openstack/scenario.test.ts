import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, loadCloud, type OpenStack } from '../../src-main/plugins/openstack/client';
import { liveConnections } from '../../src-main/plugins/openstack/connections';
import { startHarness, tempDir, type Harness } from '../helpers/harness';
import {
  admin,
  bootServer,
  checkpoint,
  dropProject,
  OS_INFRA,
  readVolume,
  restore,
  retried,
  scratchProject,
  waitCheckpoint,
  writeVolume,
} from './helpers';

type Obj = Record<string, unknown>;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const MARK_AT = 5 << 20;

let h: Harness;
let os: OpenStack;
let projectId: string;
const name = `karbor-scenario-${Date.now()}`;
const imageData = randomBytes(4 << 20);
const marks = new Map<string, Buffer>();
let imageId: string;
let serverId: string;
const volumeIds: string[] = [];
/** The device Nova reports for each original volume (the fake driver picks its own names: /dev/sdb, …). */
const devices = new Map<string, string>();
let planId: string;
let first: Obj & { id: string };
let second: Obj & { id: string };

beforeAll(async () => {
  const dir = tempDir('karbor-os-');
  const scratch = await scratchProject(admin(), name, dir);
  projectId = scratch.projectId;
  process.env.OS_CLIENT_CONFIG_FILE = scratch.cloudsFile;
  process.env.OS_CLOUD = name;
  os = connect(loadCloud({ cloud: name }));
  const img = await os.glance.create({ name: `${name}-image`, disk_format: 'raw', container_format: 'bare' });
  imageId = img.id;
  await os.glance.upload(img.id, imageData);
  await os.glance.waitActive(img.id);
  for (const n of ['data', 'logs']) {
    const v = await retried(() => os.cinder.createVolume({ size: 1, name: `${name}-${n}` }));
    volumeIds.push(v.id);
  }
  for (const id of volumeIds) await os.cinder.waitVolume(id, ['available']);
  const flavor = (await os.nova.listFlavors()).find((f) => f.name === 'm1.tiny');
  serverId = await bootServer(os, {
    name: `${name}-server`,
    imageRef: imageId,
    flavorRef: flavor?.id,
    networks: 'none',
    metadata: { role: 'web' },
  });
  for (const [i, id] of volumeIds.entries()) {
    await os.nova.attachVolume(serverId, id, i === 0 ? '/dev/vdb' : '/dev/vdc');
    await os.cinder.waitVolume(id, ['in-use']);
    const mark = randomBytes(1 << 20);
    if (writeVolume(id, MARK_AT, mark)) marks.set(id, mark);
  }
  for (const a of await os.nova.listVolumeAttachments(serverId)) if (a.device) devices.set(a.volumeId, a.device);
  expect(devices.size, 'Nova reports a device for each attached volume').toBe(volumeIds.length);
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
  // KARBOR_OS_KEEP=1 keeps the scratch project for a look after a failure
  if (os && projectId && !process.env.KARBOR_OS_KEEP) await dropProject(os, projectId);
});

describe('OS Infra Provider: a project with a server booted from an image and two volumes', () => {
  it('lists the project and its dependents', async () => {
    const r = await h.api<{ instances: (Obj & { id: string; dependent_resources: Obj[] })[] }>(
      'GET',
      '/protectables/OS::Keystone::Project/instances',
    );
    expect(r.status, r.text).toBe(200);
    expect(r.body.instances.map((i) => i.id)).toEqual([projectId]);
    const deps = r.body.instances[0]?.dependent_resources.map((d) => `${String(d.type)}#${String(d.id)}`).sort();
    expect(deps).toEqual(
      [`OS::Nova::Server#${serverId}`, `OS::Glance::Image#${imageId}`, ...volumeIds.map((v) => `OS::Cinder::Volume#${v}`)].sort(),
    );
  });

  it('protects the project into an available checkpoint with the right graph', async () => {
    const plan = await h.api<{ plan: { id: string } }>('POST', '/plans', {
      plan: { name, provider_id: OS_INFRA, resources: [{ id: projectId, type: 'OS::Keystone::Project', name }], parameters: {} },
    });
    expect(plan.status, plan.text).toBe(200);
    planId = plan.body.plan.id;
    const t0 = Date.now();
    first = await checkpoint(h, OS_INFRA, planId);
    expect(first.status, JSON.stringify(first)).toBe('available');
    console.log(`first checkpoint: ${Math.round((Date.now() - t0) / 1000)} s`);
    const [nodes, adjacency] = JSON.parse(first.resource_graph as string) as [Record<string, [string, string]>, [string, string[]][]];
    const key = (n: string): string => `${nodes[n]?.[0]}#${nodes[n]?.[1]}`;
    const edges = Object.fromEntries(adjacency.map(([p, cs]) => [key(p), cs.map(key).sort()]));
    const vols = volumeIds.map((v) => `OS::Cinder::Volume#${v}`);
    expect(edges[`OS::Keystone::Project#${projectId}`]).toEqual(
      [`OS::Nova::Server#${serverId}`, `OS::Glance::Image#${imageId}`, ...vols].sort(),
    );
    expect(edges[`OS::Nova::Server#${serverId}`]).toEqual([`OS::Glance::Image#${imageId}`, ...vols].sort());
    const backups = await os.cinder.listBackups();
    for (const v of volumeIds) expect(backups.filter((b) => b.volume_id === v).map((b) => b.is_incremental)).toEqual([false]);
  });

  it('makes the second checkpoint incremental for the volumes (auto), renewing an expired token mid-run', async () => {
    for (const [id, mark] of marks) {
      const next = Buffer.from(mark);
      next.fill(7, 0, 4096);
      expect(writeVolume(id, MARK_AT, next), `volume ${id} written`).toBe(true);
      marks.set(id, next);
    }
    const r = await h.api<{ checkpoint: { id: string } }>('POST', `/providers/${OS_INFRA}/checkpoints`, {
      checkpoint: { plan_id: planId },
    });
    expect(r.status, r.text).toBe(200);
    const sessions = [...liveConnections].flatMap((w) => w.deref()?.all() ?? []).map((c) => c.session);
    const before = sessions.reduce((n, s) => n + s.authCount, 0);
    await new Promise((res) => setTimeout(res, 1500));
    for (const s of sessions) {
      await s.revoke();
      s.markExpired();
    }
    second = await waitCheckpoint(h, OS_INFRA, r.body.checkpoint.id);
    expect(second.status, JSON.stringify(second)).toBe('available');
    expect(sessions.reduce((n, s) => n + s.authCount, 0)).toBeGreaterThan(before);
    const backups = await os.cinder.listBackups();
    for (const v of volumeIds)
      expect(
        backups
          .filter((b) => b.volume_id === v)
          .map((b) => b.is_incremental)
          .sort(),
      ).toEqual([false, true]);
  });

  it('restores server, image and volumes after the originals are deleted', async () => {
    await os.nova.deleteServer(serverId);
    await os.nova.waitServer(serverId, ['deleted'], undefined, 300_000).catch(() => undefined);
    for (const id of volumeIds) {
      await os.cinder.waitVolume(id, ['available'], undefined, 300_000);
      await os.cinder.deleteVolume(id);
    }
    await os.glance.delete(imageId);
    for (const id of volumeIds) await os.cinder.waitVolume(id, ['deleted'], undefined, 300_000);
    const t0 = Date.now();
    const res = await restore(h, { provider_id: OS_INFRA, checkpoint_id: second.id, parameters: {} });
    console.log(`restore: ${Math.round((Date.now() - t0) / 1000)} s`);
    expect(res.status, JSON.stringify(res)).toBe('success');
    const servers = await os.nova.listServers();
    expect(servers).toHaveLength(1);
    const srv = servers[0]!;
    expect(srv.id).not.toBe(serverId);
    expect(srv.name).toBe(`${name}-server`);
    expect(srv.metadata).toEqual({ role: 'web' });
    const newImage = srv.image && typeof srv.image === 'object' ? srv.image.id : '';
    expect(newImage).not.toBe(imageId);
    expect((await os.glance.get(newImage))?.checksum).toBe(md5(imageData));
    // Restored volumes are attached at the devices the originals had.
    const attached = await os.nova.listVolumeAttachments(srv.id);
    expect(attached.map((a) => a.device).sort()).toEqual([...devices.values()].sort());
    for (const a of attached) {
      const v = await os.cinder.getVolume(a.volumeId);
      const original = volumeIds.find((id) => devices.get(id) === a.device)!;
      expect(v?.name).toBe(`${name}-${volumeIds.indexOf(original) === 0 ? 'data' : 'logs'}`);
      const mark = marks.get(original);
      if (mark) expect(md5(readVolume(a.volumeId, MARK_AT, 1 << 20) ?? Buffer.alloc(0)), `data of ${original}`).toBe(md5(mark));
    }
  });

  it('deleting checkpoints deletes their backups in Cinder, the full one once its incremental is gone', async () => {
    const del1 = await h.api('DELETE', `/providers/${OS_INFRA}/checkpoints/${first.id}`);
    expect(del1.status, del1.text).toBe(200);
    const gone1 = await waitCheckpoint(h, OS_INFRA, first.id).catch(() => undefined);
    expect(gone1?.status ?? 'deleted').not.toBe('error');
    let backups = await os.cinder.listBackups();
    // the full backups stay (marked) while the incrementals of the second checkpoint need them
    expect(backups.filter((b) => b.metadata?.karbor_desktop_delete === 'true')).toHaveLength(2);
    const del2 = await h.api('DELETE', `/providers/${OS_INFRA}/checkpoints/${second.id}`);
    expect(del2.status, del2.text).toBe(200);
    await waitCheckpoint(h, OS_INFRA, second.id).catch(() => undefined);
    backups = await os.cinder.listBackups();
    expect(backups).toEqual([]);
  });
});
