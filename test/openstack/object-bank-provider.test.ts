/**
 * Providers whose bank is in Swift or in S3 (Swift's s3api), over the REST API against a real
 * engine: `bank: {type: 'swift' | 's3', …}` in a `providers.d` file, protect a directory, restore
 * it byte for byte, a second engine holding the writer lease fails a checkpoint by name, delete.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Bank } from '../../src-main/banks/s3/s3-bank';
import { SwiftBank } from '../../src-main/banks/swift/swift-bank';
import type { Bank } from '../../src-main/banks/types';
import { WRITER_LEASE } from '../../src-main/engine/protection/provider-stores';
import { eventually, startHarness, tempDir, type Harness } from '../helpers/harness';
import { collect } from '../banks/stream-util';
import { removeBucket, removeContainer, s3Credentials, swiftCredentials, TEST_SETTLE_MS, uniqueName } from './bank-cloud';
import { contentTree as tree } from '../helpers/tree';

type Obj = Record<string, unknown>;
const SWIFT_PROVIDER = '0b6c1a52-8f3e-4d0c-9a61-5e2f7d4c3b01';
const S3_PROVIDER = '0b6c1a52-8f3e-4d0c-9a61-5e2f7d4c3b02';

const swift = swiftCredentials();
const s3 = s3Credentials();
const container = uniqueName('provider');
const bucket = uniqueName('provider');

let h: Harness | undefined;
let resource: { id: string; type: string; name: string };
let src: string;

/** The bank the engine uses, seen from another engine (same storage, own handle). */
function otherEngine(provider: string): Bank {
  if (provider === SWIFT_PROVIDER) return new SwiftBank({ auth: swift!, container, prefix: 'engine-1', leaseSettleMs: TEST_SETTLE_MS });
  return new S3Bank({ bucket, endpoint: s3!.endpoint, region: s3!.region, credentials: s3!, leaseSettleMs: TEST_SETTLE_MS });
}

beforeAll(async () => {
  if (!swift || !s3) return;
  const dataDir = tempDir('karbor-objbank-');
  fs.mkdirSync(path.join(dataDir, 'providers.d'));
  const common = { plugins: ['local-directory'], enabled: true };
  fs.writeFileSync(
    path.join(dataDir, 'providers.d', 'swift.json'),
    JSON.stringify({
      ...common,
      id: SWIFT_PROVIDER,
      name: 'Swift bank',
      bank: { type: 'swift', container, prefix: 'engine-1', leaseSettleMs: TEST_SETTLE_MS, ...swift },
    }),
  );
  fs.writeFileSync(
    path.join(dataDir, 'providers.d', 's3.json'),
    JSON.stringify({
      ...common,
      id: S3_PROVIDER,
      name: 'S3 bank',
      bank: { type: 's3', bucket, leaseSettleMs: TEST_SETTLE_MS, ...s3 },
    }),
  );
  h = await startHarness({ dataDir });
  src = path.join(tempDir('karbor-objbank-src-'), 'docs');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(src, 'sub', `f${i}.txt`), `line ${i}\n`.repeat(40 * i));
  fs.writeFileSync(path.join(src, 'big.bin'), randomBytes(6 * 1024 * 1024));
  fs.symlinkSync('sub/f3.txt', path.join(src, 'link'));
  const list = await h.api<{ instances: { id: string; name: string }[] }>(
    'GET',
    `/protectables/Local::FS::Directory/instances?parameters=${encodeURIComponent(JSON.stringify({ path: path.dirname(src) }))}`,
  );
  const inst = list.body.instances.find((i) => i.name === src);
  if (!inst) throw new Error('source folder not listed');
  resource = { id: inst.id, type: 'Local::FS::Directory', name: src };
});

afterAll(async () => {
  await h?.close();
  if (swift) await removeContainer(swift, container);
  if (s3) await removeBucket(s3, bucket);
});

const api = (): Harness => h!;

async function waitFor(kind: string, key: string, id: string, busy: string): Promise<Obj & { id: string; status: string }> {
  return eventually(
    async () => {
      const r = await api().api<Record<string, Obj & { id: string; status: string }>>('GET', `/${kind}/${id}`);
      return r.body[key]?.status !== busy && r.body[key];
    },
    `${kind} ${id} leaves ${busy}`,
    120_000,
  );
}

async function protect(provider: string, planId: string): Promise<Obj & { id: string; status: string }> {
  const r = await api().api<{ checkpoint: { id: string } }>('POST', `/providers/${provider}/checkpoints`, {
    checkpoint: { plan_id: planId },
  });
  expect(r.status, r.text).toBe(200);
  return waitFor(`providers/${provider}/checkpoints`, 'checkpoint', r.body.checkpoint.id, 'protecting');
}

describe.skipIf(!swift || !s3)('providers with a Swift or S3 bank', () => {
  it.each([
    ['Swift', SWIFT_PROVIDER],
    ['S3', S3_PROVIDER],
  ])('%s: protects a directory, restores it, refuses a second writer, deletes', async (_label, provider) => {
    const plan = await api().api<{ plan: { id: string } }>('POST', '/plans', {
      plan: { name: `docs-${_label}`, provider_id: provider, resources: [resource], parameters: {} },
    });
    expect(plan.status, plan.text).toBe(200);
    const first = await protect(provider, plan.body.plan.id);
    expect(first.status).toBe('available');

    const target = path.join(tempDir('karbor-objbank-restore-'), 'out');
    const r = await api().api<{ restore: { id: string } }>('POST', '/restores', {
      restore: { provider_id: provider, checkpoint_id: first.id, parameters: { 'Local::FS::Directory': { restore_path: target } } },
    });
    expect(r.status, r.text).toBe(200);
    const restore = await waitFor('restores', 'restore', r.body.restore.id, 'in_progress');
    expect(restore.status, JSON.stringify(restore)).toBe('success');
    expect(tree(target)).toEqual(tree(src));

    const other = otherEngine(provider);
    const held = await other.acquireLease(WRITER_LEASE, { owner: 'laptop-2:/home/me/karbor', ttlMs: 60_000 });
    const blocked = await protect(provider, plan.body.plan.id);
    expect(blocked.status).toBe('error');
    const logs = await api().api<{ operation_logs: { error_info: string }[] }>('GET', `/operation_logs?checkpoint_id=${blocked.id}`);
    expect(logs.body.operation_logs[0]?.error_info).toContain("lease 'writer' is held by 'laptop-2:/home/me/karbor'");
    await held.release();

    const keys = await collect(other.list(''));
    const del = await api().api('DELETE', `/providers/${provider}/checkpoints/${first.id}`);
    expect(del.status, del.text).toBeLessThan(300);
    await eventually(async () => (await collect(other.list(''))).length < keys.length, 'the deleted checkpoint leaves the bank', 60_000);
  });
});
