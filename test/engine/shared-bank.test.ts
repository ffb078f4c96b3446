/**
 * Providers whose banks are one folder: a `providers.d` file without a bank path gets the Local
 * Provider's bank (`<dataDir>/bank`). They share one chunk store (one lock, one lease), so
 * protecting with one while deleting with the other never sweeps away chunks being written, and
 * a provider that would read the same bank with other encryption settings is refused.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_PROVIDER_ID as LOCAL } from '../../src-main/plugins/local/provider';
import { eventually, settleRun, startHarness, tempDir, type Harness } from '../helpers/harness';
import { contentTree } from '../helpers/tree';

type Obj = Record<string, unknown>;
const SECOND = '3c2b1a09-8f7e-4d6c-9b5a-4e3f2d1c0b9a';
const LOCKED = '7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d';

let h: Harness;
let src: string;
const plans: Record<string, string> = {};

const settle = (kind: 'restores' | 'verifications', body: Obj): Promise<Obj> => settleRun(h, kind, body);

async function startProtect(provider: string): Promise<string> {
  const r = await h.api<{ checkpoint: { id: string } }>('POST', `/providers/${provider}/checkpoints`, {
    checkpoint: { plan_id: plans[provider] },
  });
  expect(r.status, r.text).toBe(200);
  return r.body.checkpoint.id;
}

async function finished(provider: string, id: string, busy = 'protecting'): Promise<Obj & { status: string }> {
  return eventually(
    async () => {
      const r = await h.api<{ checkpoint: Obj & { status: string } }>('GET', `/providers/${provider}/checkpoints/${id}`);
      return r.body.checkpoint.status !== busy && r.body.checkpoint;
    },
    `checkpoint ${id} leaves ${busy}`,
    60_000,
  );
}

beforeAll(async () => {
  const dataDir = tempDir('karbor-shared-bank-');
  fs.mkdirSync(path.join(dataDir, 'providers.d'));
  const provider = (file: string, def: Obj): void => fs.writeFileSync(path.join(dataDir, 'providers.d', file), JSON.stringify(def));
  provider('second.json', { id: SECOND, name: 'Second', plugins: ['local-directory'], bank: { type: 'local' } });
  process.env.KARBOR_SHARED_BANK_TEST_PASS = 'a passphrase';
  provider('locked.json', {
    id: LOCKED,
    name: 'Locked',
    plugins: ['local-directory'],
    bank: { type: 'local', path: 'bank', encryption: { passphrase_env: 'KARBOR_SHARED_BANK_TEST_PASS' } },
  });
  h = await startHarness({ dataDir });
  src = path.join(tempDir('karbor-shared-src-'), 'data');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(src, 'sub', `f${i}`), randomBytes(2000 + i));
  fs.writeFileSync(path.join(src, 'big.bin'), randomBytes(6 * 1024 * 1024));
  const list = await h.api<{ instances: { id: string; name: string }[] }>(
    'GET',
    `/protectables/Local::FS::Directory/instances?parameters=${encodeURIComponent(JSON.stringify({ path: path.dirname(src) }))}`,
  );
  const inst = list.body.instances.find((i) => i.name === src);
  if (!inst) throw new Error('source folder not listed');
  for (const p of [LOCAL, SECOND, LOCKED]) {
    const plan = await h.api<{ plan: { id: string } }>('POST', '/plans', {
      plan: { name: `data-${p}`, provider_id: p, resources: [{ id: inst.id, type: 'Local::FS::Directory', name: src }], parameters: {} },
    });
    expect(plan.status, plan.text).toBe(200);
    plans[p] = plan.body.plan.id;
  }
});

afterAll(async () => {
  await h?.close();
  delete process.env.KARBOR_SHARED_BANK_TEST_PASS;
});

describe('two providers on one bank', () => {
  it('protect with one while a checkpoint of the other is deleted: what stays restores byte for byte', async () => {
    const old = await startProtect(LOCAL);
    expect((await finished(LOCAL, old)).status).toBe('available');
    // New data for the other provider's protect: chunks no committed checkpoint names yet, which
    // the delete's sweep must not take while that protect runs.
    fs.writeFileSync(path.join(src, 'new.bin'), randomBytes(48 * 1024 * 1024));
    const second = await startProtect(SECOND);
    const del = await h.api('DELETE', `/providers/${LOCAL}/checkpoints/${old}`);
    expect(del.status, del.text).toBe(200);
    const third = await startProtect(LOCAL);
    expect((await finished(SECOND, second)).status).toBe('available');
    expect((await finished(LOCAL, third)).status).toBe('available');
    expect((await finished(LOCAL, old, 'deleting')).status).toBe('deleted');
    for (const [provider, id] of [
      [SECOND, second],
      [LOCAL, third],
    ] as const) {
      expect((await settle('verifications', { provider_id: provider, checkpoint_id: id, parameters: {} })).status).toBe('success');
      const target = path.join(tempDir('karbor-shared-out-'), 'out');
      const restored = await settle('restores', {
        provider_id: provider,
        checkpoint_id: id,
        parameters: { 'Local::FS::Directory': { restore_path: target } },
      });
      expect(restored.status).toBe('success');
      expect(contentTree(target)).toEqual(contentTree(src));
    }
  });

  it("copies a plan's checkpoints from one provider to the other within the bank", async () => {
    const r = await h.api<{ copy: { checkpoint_id: string[] } }>('POST', `/providers/${LOCAL}/checkpoints/action`, {
      copy: { plan_id: plans[LOCAL], parameters: { provider_id: SECOND } },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.copy.checkpoint_id).toHaveLength(1);
    const id = r.body.copy.checkpoint_id[0]!;
    expect((await finished(SECOND, id, 'copying')).status).toBe('available');
    expect((await settle('verifications', { provider_id: SECOND, checkpoint_id: id, parameters: {} })).status).toBe('success');
  });

  it('a provider that would use the bank with other encryption settings is refused, naming both', async () => {
    const id = await startProtect(LOCKED);
    const cp = await finished(LOCKED, id);
    expect(cp.status).toBe('error');
    const logs = await h.api<{ operation_logs: { error_info: string }[] }>('GET', `/operation_logs?checkpoint_id=${id}`);
    expect(logs.body.operation_logs[0]?.error_info).toMatch(/Locked .* one bank .* different encryption settings/);
  });
});
