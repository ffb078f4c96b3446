import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, loadCloud, type OpenStack } from '../../src-main/plugins/openstack/client';
import { OPENSTACK_PLUGINS } from '../../src-main/plugins/openstack/provider';
import { startHarness, tempDir, type Harness } from '../helpers/harness';
import { admin, checkpoint, dropProject, failureOf, OS_INFRA, retried, scratchProject, stopGlance, waitCheckpoint } from './helpers';

const WRONG = '6b1f2c1e-3f4d-4b9a-8c61-2d0e5f7a9b13';
const name = `karbor-failures-${Date.now()}`;
let h: Harness;
let os: OpenStack;
let projectId: string;

beforeAll(async () => {
  const dir = tempDir('karbor-os-');
  const scratch = await scratchProject(admin(), name, dir);
  projectId = scratch.projectId;
  process.env.OS_CLIENT_CONFIG_FILE = scratch.cloudsFile;
  process.env.OS_CLOUD = name;
  os = connect(loadCloud({ cloud: name }));
  const dataDir = tempDir('karbor-os-data-');
  fs.mkdirSync(path.join(dataDir, 'providers.d'));
  fs.writeFileSync(
    path.join(dataDir, 'providers.d', 'wrong.json'),
    JSON.stringify({
      id: WRONG,
      name: 'Wrong password',
      plugins: OPENSTACK_PLUGINS,
      bank: { type: 'local', path: 'bank-wrong' },
      config: { cloud: 'wrong-password' },
    }),
  );
  h = await startHarness({ dataDir });
});

afterAll(async () => {
  await h?.close();
  // KARBOR_OS_KEEP=1 keeps the scratch project for a look after a failure
  if (os && projectId && !process.env.KARBOR_OS_KEEP) await dropProject(os, projectId);
});

/** The objects and chunks in the built-in provider's bank (relative paths; its `.leases/` are not data). */
function bankFiles(): string[] {
  const root = path.join(h.dataDir, 'bank-openstack');
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .filter((f) => !f.startsWith('.') && fs.statSync(path.join(root, f)).isFile())
    .sort();
}

async function plan(provider: string, resources: unknown[]): Promise<string> {
  const r = await h.api<{ plan: { id: string } }>('POST', '/plans', { plan: { name, provider_id: provider, resources, parameters: {} } });
  expect(r.status, r.text).toBe(200);
  return r.body.plan.id;
}

describe('OS Infra Provider failures', () => {
  it('a wrong password fails the checkpoint naming Keystone, without the password', async () => {
    const cp = await checkpoint(h, WRONG, await plan(WRONG, [{ id: projectId, type: 'OS::Keystone::Project', name }]));
    expect(cp.status).toBe('error');
    const logs = await h.api('GET', `/operation_logs?checkpoint_id=${cp.id}`);
    const text = JSON.stringify(failureOf(h, cp.id)) + logs.text;
    expect(text).toMatch(/keystone: POST \/v3\/auth\/tokens failed: 401/);
    expect(text).not.toContain('certainly-not-it');
  });

  it('Glance stopped mid-protect fails the checkpoint naming glance, leaving no bank data and no backup; it works again after Glance is back', async () => {
    const data = randomBytes(96 << 20);
    const img = await os.glance.create({ name: `${name}-big`, disk_format: 'raw', container_format: 'bare' });
    await os.glance.upload(img.id, data);
    await os.glance.waitActive(img.id);
    const vol = await retried(() => os.cinder.createVolume({ size: 1, name: `${name}-vol` }));
    await os.cinder.waitVolume(vol.id, ['available']);
    const planId = await plan(OS_INFRA, [
      { id: img.id, type: 'OS::Glance::Image', name: `${name}-big` },
      { id: vol.id, type: 'OS::Cinder::Volume', name: `${name}-vol` },
    ]);
    const bankBefore = bankFiles();
    const r = await h.api<{ checkpoint: { id: string } }>('POST', `/providers/${OS_INFRA}/checkpoints`, {
      checkpoint: { plan_id: planId },
    });
    expect(r.status, r.text).toBe(200);
    let restart: (() => Promise<void>) | undefined;
    const off = h.engine.events.on('checkpoint.progress', (p) => {
      if (!restart && p.checkpointId === r.body.checkpoint.id && p.bytesDone > 0) restart = stopGlance();
    });
    let cp;
    try {
      cp = await waitCheckpoint(h, OS_INFRA, r.body.checkpoint.id);
    } finally {
      off();
      await restart?.();
    }
    expect(restart, 'glance was stopped while the image was read').toBeDefined();
    expect(cp.status).toBe('error');
    const rows = await h.api('GET', `/operation_logs?checkpoint_id=${cp.id}`);
    const detail = JSON.stringify(
      h.engine.ctx.db.$client.prepare('select error from checkpoint_resources where checkpoint_id = ?').all(cp.id),
    );
    expect(`${detail}${rows.text}`).toMatch(new RegExp(`glance: GET /v2/images/${img.id}/file failed`));
    // nothing of the failed checkpoint stays in the bank (no objects, no chunks), nor in Cinder:
    // the volume's backup finished, but the checkpoint failed and has no graph to delete it by
    expect(bankFiles()).toEqual(bankBefore);
    expect(await os.cinder.listBackups()).toEqual([]);
    const again = await checkpoint(h, OS_INFRA, planId);
    expect(again.status).toBe('available');
    await os.glance.delete(img.id);
  });
});
