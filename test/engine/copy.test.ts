/**
 * Karbor's copy action (`POST /providers/{id}/checkpoints/action`) over the REST API against a real
 * engine: a plan's checkpoints in the Local Provider's bank are copied into a second provider's
 * bank (a `providers.d` file), restored from there after the originals are gone, and bad requests
 * get Karbor's fault body.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_PROVIDER_ID as LOCAL } from '../../src-main/plugins/local/provider';
import { eventually, NOOP, startHarness, tempDir, type Harness } from '../helpers/harness';
import { contentTree as tree } from '../helpers/tree';

type Obj = Record<string, unknown>;
const OFFSITE = '6f1de0c2-3b0a-4f43-9d55-0b7c3f7e2a11';

let h: Harness;
let src: string;
let offsiteBank: string;
let planId: string;

function dirSize(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name)).size;
  return n;
}

async function waitStatus(provider: string, id: string, busy: string): Promise<Obj & { id: string; status: string }> {
  return eventually(
    async () => {
      const r = await h.api<{ checkpoint: Obj & { id: string; status: string } }>('GET', `/providers/${provider}/checkpoints/${id}`);
      return r.body.checkpoint.status !== busy && r.body.checkpoint;
    },
    `checkpoint ${id} leaves ${busy}`,
    60_000,
  );
}

async function protect(): Promise<string> {
  const r = await h.api<{ checkpoint: { id: string } }>('POST', `/providers/${LOCAL}/checkpoints`, { checkpoint: { plan_id: planId } });
  expect(r.status, r.text).toBe(200);
  expect((await waitStatus(LOCAL, r.body.checkpoint.id, 'protecting')).status).toBe('available');
  return r.body.checkpoint.id;
}

async function copy(body: Obj, provider = LOCAL): Promise<{ status: number; body: Obj; text: string }> {
  return h.api('POST', `/providers/${provider}/checkpoints/action`, body);
}

beforeAll(async () => {
  const dataDir = tempDir('karbor-copy-');
  offsiteBank = tempDir('karbor-offsite-');
  fs.mkdirSync(path.join(dataDir, 'providers.d'));
  fs.writeFileSync(
    path.join(dataDir, 'providers.d', 'offsite.json'),
    JSON.stringify({
      id: OFFSITE,
      name: 'Offsite',
      plugins: ['local-directory', 'local-sqlite'],
      bank: { type: 'local', path: offsiteBank },
    }),
  );
  h = await startHarness({ dataDir });
  src = path.join(tempDir('karbor-copy-src-'), 'docs');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(src, 'sub', `f${i}.txt`), `line ${i}\n`.repeat(50 * i));
  fs.writeFileSync(path.join(src, 'big.bin'), randomBytes(3 * 1024 * 1024));
  fs.symlinkSync('sub/f3.txt', path.join(src, 'link'));
  const list = await h.api<{ instances: { id: string; name: string }[] }>(
    'GET',
    `/protectables/Local::FS::Directory/instances?parameters=${encodeURIComponent(JSON.stringify({ path: path.dirname(src) }))}`,
  );
  const inst = list.body.instances.find((i) => i.name === src);
  if (!inst) throw new Error('source folder not listed');
  const plan = await h.api<{ plan: { id: string } }>('POST', '/plans', {
    plan: { name: 'docs', provider_id: LOCAL, resources: [{ id: inst.id, type: 'Local::FS::Directory', name: src }], parameters: {} },
  });
  planId = plan.body.plan.id;
});
afterAll(async () => h.close());

describe('copying checkpoints into another provider', () => {
  const copies: string[] = [];
  const originals: string[] = [];

  it('copies every available checkpoint of the plan into the other bank, as new available checkpoints', async () => {
    originals.push(await protect());
    fs.writeFileSync(path.join(src, 'sub', 'new.txt'), 'added later');
    originals.push(await protect());
    const r = await copy({ copy: { plan_id: planId, parameters: { provider_id: OFFSITE } } });
    expect(r.status, r.text).toBe(200);
    const body = r.body.copy as { checkpoint_id: string[]; plan_id: string; provider_id: string };
    expect(body.plan_id).toBe(planId);
    expect(body.provider_id).toBe(LOCAL);
    expect(body.checkpoint_id).toHaveLength(2);
    for (const id of body.checkpoint_id) {
      const cp = await waitStatus(OFFSITE, id, 'copying');
      expect(cp.status).toBe('available');
      expect(cp.resource_graph).toBeTruthy();
      copies.push(id);
    }
    const listed = await h.api<{ checkpoints: { id: string; extra_info: Obj; created_at: string }[] }>(
      'GET',
      `/providers/${OFFSITE}/checkpoints?plan_id=${planId}`,
    );
    expect(listed.body.checkpoints.map((c) => c.extra_info.copy_of).sort()).toEqual([...originals].sort());
    const logs = await h.api<{ operation_logs: { operation_type: string; status: string }[] }>(
      'GET',
      `/operation_logs?checkpoint_id=${copies[0]}`,
    );
    expect(logs.body.operation_logs[0]).toMatchObject({ operation_type: 'copy', status: 'available' });
    expect(fs.existsSync(path.join(offsiteBank, 'checkpoints', copies[0] as string, 'index.json'))).toBe(true);
  });

  it('copies only what is not copied yet, deduplicated in the target bank', async () => {
    const again = await copy({ copy: { plan_id: planId, parameters: { provider_id: OFFSITE } } });
    expect(again.status, again.text).toBe(200);
    expect((again.body.copy as { checkpoint_id: string[] }).checkpoint_id).toEqual([]);

    fs.appendFileSync(path.join(src, 'sub', 'f1.txt'), 'one more line\n');
    originals.push(await protect());
    const before = dirSize(offsiteBank);
    const third = await copy({ copy: { plan_id: planId, parameters: { provider_id: OFFSITE } } });
    const ids = (third.body.copy as { checkpoint_id: string[] }).checkpoint_id;
    expect(ids).toHaveLength(1);
    expect((await waitStatus(OFFSITE, ids[0] as string, 'copying')).status).toBe('available');
    copies.push(ids[0] as string);
    // Only the changed file's chunks and the checkpoint's small objects are new.
    expect(dirSize(offsiteBank) - before).toBeLessThan(200 * 1024);
  });

  it('restores and verifies from the copy after the originals are deleted', async () => {
    for (const id of originals) {
      expect((await h.api('DELETE', `/providers/${LOCAL}/checkpoints/${id}`)).status).toBe(200);
      expect((await waitStatus(LOCAL, id, 'deleting')).status).toBe('deleted');
    }
    const target = path.join(tempDir('karbor-copy-restore-'), 'out');
    const r = await h.api<{ restore: { id: string } }>('POST', '/restores', {
      restore: { provider_id: OFFSITE, checkpoint_id: copies[2], parameters: { 'Local::FS::Directory': { restore_path: target } } },
    });
    expect(r.status, r.text).toBe(200);
    const done = await eventually(
      async () => {
        const s = await h.api<{ restore: Obj }>('GET', `/restores/${r.body.restore.id}`);
        return s.body.restore.status !== 'in_progress' && s.body.restore;
      },
      'restore done',
      60_000,
    );
    expect(done.status, JSON.stringify(done)).toBe('success');
    expect(tree(target)).toEqual(tree(src));

    const v = await h.api<{ verification: { id: string } }>('POST', '/verifications', {
      verification: { provider_id: OFFSITE, checkpoint_id: copies[0], parameters: {} },
    });
    const verified = await eventually(
      async () => {
        const s = await h.api<{ verification: Obj }>('GET', `/verifications/${v.body.verification.id}`);
        return s.body.verification.status !== 'in_progress' && s.body.verification;
      },
      'verification done',
      60_000,
    );
    expect(verified.status, JSON.stringify(verified)).toBe('success');
  });

  it('refuses bad copy requests with a clear 4xx fault', async () => {
    const cases: [Obj, string, number, string][] = [
      [{ copy: { plan_id: planId } }, LOCAL, 400, 'parameters.provider_id'],
      [{ copy: { plan_id: planId, parameters: { provider_id: LOCAL } } }, LOCAL, 400, 'its own provider'],
      [{ copy: { plan_id: planId, parameters: { provider_id: NOOP } } }, LOCAL, 400, 'has no bank'],
      [{ copy: { plan_id: planId, parameters: { provider_id: 'not-a-uuid' } } }, LOCAL, 400, 'provider_id'],
      [{ copy: { plan_id: planId, parameters: { provider_id: OFFSITE } } }, OFFSITE, 400, 'belongs to provider'],
      [
        { copy: { plan_id: '0b2e6c8e-5f5e-4a8e-9a7d-2d2c9d1a0c3f', parameters: { provider_id: OFFSITE } } },
        LOCAL,
        404,
        'could not be found',
      ],
      [{ copy: { parameters: { provider_id: OFFSITE } } }, LOCAL, 400, 'plan_id'],
      [{ kopy: {} }, LOCAL, 400, 'copy'],
    ];
    for (const [body, provider, status, words] of cases) {
      const r = await copy(body, provider);
      expect(r.status, `${JSON.stringify(body)} → ${r.text}`).toBe(status);
      expect(r.text).toContain(words);
    }
  });
});
