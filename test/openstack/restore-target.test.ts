import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromEnv, jsonCall, type OpenStack } from '../../src-main/plugins/openstack/client';
import { eventually, startHarness, tempDir, type Harness } from '../helpers/harness';
import { karbor, parseShowTable } from '../helpers/karbor-cli';
import {
  admin,
  checkpoint,
  dropMemberProject,
  memberProject,
  writeMemberCloud,
  OS_INFRA,
  readVolume,
  restore,
  retried,
  writeVolume,
  type MemberProject,
} from './helpers';

type Obj = Record<string, unknown>;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const MARK_AT = 3 << 20;

/**
 * Restores a checkpoint of one project into another through `restore_target` + `restore_auth`:
 * each project has its own user with the `member` role, the engine's cloud is the source
 * user's, and the target user's credentials exist only in the restore requests.
 */
let h: Harness;
let source: MemberProject;
let target: MemberProject;
const name = `karbor-rtarget-${Date.now()}`;
const authUrl = fromEnv().auth.auth_url;
const imageData = randomBytes(2 << 20);
const mark = randomBytes(1 << 20);
let markWritten = false;
let imageId: string;
let volumeId: string;
let serverId: string;
let flavorId: string;
let checkpointId: string;

interface Inventory {
  servers: string[];
  volumes: string[];
  images: string[];
  transfers: string[];
}

/** What a project holds, to tell that a restore added nothing to it. */
async function inventory(p: MemberProject): Promise<Inventory> {
  const ids = (xs: { id: string }[]): string[] => xs.map((x) => x.id).sort();
  return {
    servers: ids(await p.os.nova.listServers()),
    volumes: ids(await p.os.cinder.listVolumes()),
    images: ids(await p.os.glance.list({ owner: p.projectId })),
    transfers: ids(await p.os.cinder.listTransfers()),
  };
}

/** Polls a restore started elsewhere (the CLI) until it ends. */
function finished(id: string): Promise<Obj> {
  return eventually(
    async () => {
      const r = await h.api<{ restore: Obj }>('GET', `/restores/${id}`);
      return r.body.restore.status !== 'in_progress' && r.body.restore;
    },
    'restore done',
    900_000,
  );
}

/** The server restored under `serverName` into the target project, with its image and volume there too. */
async function checkRestoredServer(os: OpenStack, serverName: string): Promise<void> {
  const srv = (await os.nova.listServers()).find((s) => s.name === serverName);
  expect(srv, `server ${serverName} in the target project`).toBeDefined();
  const full = await os.nova.getServer(srv!.id);
  expect(full?.status).toBe('ACTIVE');
  expect(full?.tenant_id).toBe(target.projectId);
  expect(full?.flavor.original_name ?? full?.flavor.id).toBeTruthy();
  expect(full?.metadata).toEqual({ role: 'db' });
  const newImage = full?.image && typeof full.image === 'object' ? full.image.id : '';
  expect(newImage).not.toBe(imageId);
  const img = await os.glance.get(newImage);
  expect(img?.owner).toBe(target.projectId);
  expect(img?.checksum).toBe(md5(imageData));
  const attached = await os.nova.listVolumeAttachments(srv!.id);
  expect(attached).toHaveLength(1);
  const vol = await os.cinder.getVolume(attached[0]!.volumeId);
  expect(vol?.name).toBe(`${name}-data`);
  expect(vol?.status).toBe('in-use');
  if (markWritten) expect(md5(readVolume(vol!.id, MARK_AT, 1 << 20) ?? Buffer.alloc(0)), 'the volume’s data').toBe(md5(mark));
}

beforeAll(async () => {
  source = await memberProject(`${name}-src`);
  target = await memberProject(`${name}-dst`);
  const dir = tempDir('karbor-os-rtarget-');
  const cloudsFile = path.join(dir, 'clouds.yaml');
  writeMemberCloud(cloudsFile, name, authUrl, source);
  process.env.OS_CLIENT_CONFIG_FILE = cloudsFile;
  process.env.OS_CLOUD = name;
  const os = source.os;
  const img = await os.glance.create({ name: `${name}-image`, disk_format: 'raw', container_format: 'bare' });
  imageId = img.id;
  await os.glance.upload(img.id, imageData);
  await os.glance.waitActive(img.id);
  volumeId = (await retried(() => os.cinder.createVolume({ size: 1, name: `${name}-data` }))).id;
  await os.cinder.waitVolume(volumeId, ['available']);
  const flavor = (await os.nova.listFlavors()).find((f) => f.name === 'm1.tiny');
  if (!flavor) throw new Error('the cloud has no m1.tiny flavor');
  flavorId = flavor.id;
  // The rig's SQLite-backed Nova sometimes loses a boot under load ("database is locked"): boot again.
  for (let attempt = 1; ; attempt++) {
    const srv = await retried(() =>
      os.nova.createServer({ name: `${name}-server`, imageRef: imageId, flavorRef: flavorId, networks: 'none', metadata: { role: 'db' } }),
    );
    serverId = srv.id;
    const ok = await os.nova.waitServer(serverId, ['ACTIVE'], undefined, 180_000).catch((err: unknown) => {
      if (attempt >= 3) throw err;
    });
    if (ok) break;
    await os.nova.deleteServer(serverId);
    await os.nova.waitServer(serverId, ['deleted'], undefined, 120_000).catch(() => undefined);
  }
  await os.nova.attachVolume(serverId, volumeId, '/dev/vdb');
  await os.cinder.waitVolume(volumeId, ['in-use']);
  markWritten = writeVolume(volumeId, MARK_AT, mark);
  if (!markWritten) console.warn('the volume backend hides its images: restored data is not compared');
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
  // KARBOR_OS_KEEP=1 keeps both projects for a look after a failure
  if (process.env.KARBOR_OS_KEEP) return;
  if (target) await dropMemberProject(target);
  if (source) await dropMemberProject(source);
});

describe('restore into another project (restore_target + restore_auth)', () => {
  let before: { source: Inventory; target: Inventory };

  it('protects the source project: server, image and volume', async () => {
    const plan = await h.api<{ plan: { id: string } }>('POST', '/plans', {
      plan: {
        name,
        provider_id: OS_INFRA,
        resources: [{ id: source.projectId, type: 'OS::Keystone::Project', name: `${name}-src` }],
        parameters: {},
      },
    });
    expect(plan.status, plan.text).toBe(200);
    const cp = await checkpoint(h, OS_INFRA, plan.body.plan.id);
    expect(cp.status, JSON.stringify(cp)).toBe('available');
    checkpointId = cp.id;
    const [nodes] = JSON.parse(cp.resource_graph as string) as [Record<string, [string, string]>];
    expect(
      Object.values(nodes)
        .map(([t, id]) => `${t}#${id}`)
        .sort(),
    ).toEqual(
      [
        `OS::Cinder::Volume#${volumeId}`,
        `OS::Glance::Image#${imageId}`,
        `OS::Keystone::Project#${source.projectId}`,
        `OS::Nova::Server#${serverId}`,
      ].sort(),
    );
    before = { source: await inventory(source), target: await inventory(target) };
    expect(before.target).toEqual({ servers: [], volumes: [], images: [], transfers: [] });
  });

  it('a wrong password fails the restore naming Keystone, leaving nothing in either project', async () => {
    const res = await restore(h, {
      provider_id: OS_INFRA,
      checkpoint_id: checkpointId,
      restore_target: authUrl,
      restore_auth: { type: 'password', username: target.username, password: 'certainly-not-it' },
      parameters: {},
    });
    expect(res.status, JSON.stringify(res)).toBe('fail');
    expect(res.restore_auth).toEqual({ type: 'password', username: target.username, password: '***' });
    const reasons = res.resources_reason as Record<string, string>;
    expect(Object.keys(reasons)).toHaveLength(4);
    for (const reason of Object.values(reasons)) {
      expect(reason).toContain(`restore target ${authUrl}`);
      expect(reason).toMatch(/keystone: POST \/v3\/auth\/tokens failed: 401/);
      expect(reason).not.toContain('certainly-not-it');
    }
    const log = await h.api<{ operation_logs: Obj[] }>('GET', `/operation_logs?restore_id=${String(res.id)}`);
    expect(String(log.body.operation_logs[0]?.error_info)).toContain('keystone');
    expect(await inventory(source)).toEqual(before.source);
    expect(await inventory(target)).toEqual(before.target);
  });

  it('a volume the target cannot take (its Cinder quota is 0) is withdrawn from the source project again', async () => {
    const plan = await h.api<{ plan: { id: string } }>('POST', '/plans', {
      plan: {
        name: `${name}-volume`,
        provider_id: OS_INFRA,
        resources: [{ id: volumeId, type: 'OS::Cinder::Volume', name }],
        parameters: {},
      },
    });
    expect(plan.status, plan.text).toBe(200);
    const cp = await checkpoint(h, OS_INFRA, plan.body.plan.id);
    expect(cp.status, JSON.stringify(cp)).toBe('available');
    const quota = (volumes: number) =>
      jsonCall(admin().session, 'cinder', 'block-storage', {
        method: 'PUT',
        path: `/os-quota-sets/${target.projectId}`,
        json: { quota_set: { volumes } },
      });
    await quota(0);
    try {
      const res = await restore(h, {
        provider_id: OS_INFRA,
        checkpoint_id: cp.id,
        restore_target: authUrl,
        restore_auth: { type: 'password', username: target.username, password: target.password },
        parameters: {},
      });
      expect(res.status, JSON.stringify(res)).toBe('fail');
      expect(Object.values(res.resources_reason as Record<string, string>).join(' ')).toMatch(
        /cinder: POST \/volume-transfers\/.*\/accept failed: 413/,
      );
    } finally {
      await quota(-1);
    }
    expect(await inventory(source)).toEqual(before.source);
    expect(await inventory(target)).toEqual(before.target);
  });

  it('restores server, image and volume (with its data) into the target project over the REST API', async () => {
    const t0 = Date.now();
    const res = await restore(h, {
      provider_id: OS_INFRA,
      checkpoint_id: checkpointId,
      restore_target: `${authUrl}?project_id=${target.projectId}`,
      restore_auth: { type: 'password', username: target.username, password: target.password },
      parameters: { 'OS::Nova::Server': { restore_name: `${name}-rest`, restore_flavor_id: flavorId } },
    });
    console.log(`restore into the target project: ${Math.round((Date.now() - t0) / 1000)} s`);
    expect(res.status, JSON.stringify(res)).toBe('success');
    expect(res.restore_target).toBe(`${authUrl}?project_id=${target.projectId}`);
    expect(res.restore_auth).toEqual({ type: 'password', username: target.username, password: '***' });
    expect(JSON.stringify(res)).not.toContain(target.password);
    await checkRestoredServer(target.os, `${name}-rest`);
    expect(await inventory(source), 'nothing new in the source project').toEqual(before.source);
    const t = await inventory(target);
    expect([t.servers.length, t.volumes.length, t.images.length, t.transfers.length]).toEqual([1, 1, 1, 0]);
  });

  it('restores through the real karbor CLI into the user’s default project', async () => {
    const out = await karbor(h, [
      'restore-create',
      '--restore_target',
      authUrl,
      '--restore_username',
      target.username,
      '--restore_password',
      target.password,
      '--parameters',
      `resource_type=OS::Nova::Server,restore_name=${name}-cli`,
      OS_INFRA,
      checkpointId,
    ]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).not.toContain(target.password);
    const created = parseShowTable(out.stdout);
    expect(created.restore_auth).toContain("'password': '***'");
    const res = await finished(created.id ?? '');
    expect(res.status, JSON.stringify(res)).toBe('success');
    await checkRestoredServer(target.os, `${name}-cli`);
    const shown = await karbor(h, ['restore-show', created.id ?? '']);
    expect(shown.stdout).toContain("'password': '***'");
    expect(shown.stdout).not.toContain(target.password);
    expect(await inventory(source), 'nothing new in the source project').toEqual(before.source);
  });
});
