import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBank } from '../../../src-main/banks/local/local-bank';
import { CheckpointData } from '../../../src-main/banks/store/checkpoint-data';
import { BANK_CHUNKING, chunkCodecSpec, type ChunkRequest } from '../../../src-main/banks/store/chunk-codec';
import { ChunkWorkerPool, IN_THREAD, type ChunkWork } from '../../../src-main/banks/store/chunk-pool';
import { ChunkStore, CorruptData } from '../../../src-main/banks/store/chunk-store';
import type { Manifest } from '../../../src-main/banks/store/types';
import startChunkWorker from '../../../src-main/banks/store/chunk.worker?nodeWorker';
import type { EngineContext } from '../../../src-main/engine/context';
import { silentLog } from '../../../src-main/engine/log';
import { BUILTIN_BANKS } from '../../../src-main/engine/protection/builtin-banks';
import { ProviderStores } from '../../../src-main/engine/protection/provider-stores';
import type { Provider } from '../../../src-main/engine/providers/registry';
import { tempDir } from '../../helpers/harness';

const sekien = fs.readFileSync(path.join(__dirname, '..', 'dedup', 'fixtures', 'SekienAkashita.jpg'));
/** fastcdc-rs `test_iter_sekien_16k_chunks`: (length, BLAKE3) of each chunk. */
const SEKIEN_16K = [
  [21325, '261930e84e14c240210ae8c459acc4bb85dd52f1b91c868f2106dbc1ceb3acca'],
  [17140, 'a01747cf21202f0068b8897d2be92aa4479b7ac7207b3baa5057b8ec75fa1c10'],
  [28084, '01e5305fb8f54d214ed2946843ea360fb9bb3f5df66ef3e34fb024d32ebcaee1'],
  [18217, 'fc28c67b6ef846a841452a215bf704058f65cba5c1d78160398d3c2e046642f9'],
  [24700, 'f6996300fce24d3da56c81ea52e5f4f461ce6adb4496f65252996e1082471aac'],
];

/** Workers started by a pool, each with its exit awaited. */
function watchedPool(opts: { size?: number; idleMs?: number; onPost?: (w: Worker, m: ChunkRequest) => void } = {}) {
  const started: { worker: Worker; exited: Promise<unknown> }[] = [];
  const pool = new ChunkWorkerPool({
    size: opts.size,
    idleMs: opts.idleMs,
    spawn: () => {
      const worker = startChunkWorker();
      started.push({ worker, exited: once(worker, 'exit') });
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (m: ChunkRequest, transfer?: readonly ArrayBuffer[]) => {
        post(m, transfer);
        opts.onPost?.(worker, m);
      };
      return worker;
    },
  });
  return { pool, started };
}

const pools: ChunkWorkerPool[] = [];
afterAll(async () => Promise.all(pools.splice(0).map((p) => p.close())));

/** Sends `data` in pieces of odd sizes, as a file read would. */
function pieces(data: Buffer, size = 200_003): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
    })(),
  );
}

async function readAll(store: ChunkStore, m: Manifest): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of store.get(m)) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

/** Every object of a bank, key → SHA-256 of its bytes. */
async function objects(bank: LocalBank): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const k of bank.list(''))
    out[k] = createHash('sha256')
      .update(await bank.get(k))
      .digest('hex');
  return out;
}

describe('chunk worker pool', () => {
  it('gives the published FastCDC/BLAKE3 chunks of the test vector and the same manifest and chunk objects as in-thread work', async () => {
    const { pool, started } = watchedPool({ size: 2 });
    pools.push(pool);
    const spec = { ...chunkCodecSpec('blake3'), chunking: { minSize: 4096, avgSize: 16384, maxSize: 65535 } };
    const results: { manifest: Manifest; objects: Record<string, string> }[] = [];
    for (const work of [IN_THREAD, pool] as ChunkWork[]) {
      const bank = new LocalBank(tempDir());
      const store = new ChunkStore(bank, spec, { work });
      const { manifest } = await store.put(pieces(sekien, 1000));
      expect((await readAll(store, manifest)).equals(sekien)).toBe(true);
      await store.flush();
      results.push({ manifest, objects: await objects(bank) });
    }
    expect(started.length).toBeGreaterThan(0);
    const [inThread, workers] = results;
    expect(workers?.manifest.chunks.map((c) => [c.length, c.id])).toEqual(SEKIEN_16K);
    expect(workers).toEqual(inThread);
  });

  it('matches in-thread work byte for byte on large mixed input, with SHA-256 and BLAKE3 ids', async () => {
    const { pool } = watchedPool();
    pools.push(pool);
    const data = Buffer.concat([randomBytes(5 << 20), Buffer.alloc(3 << 20, 0x41), sekien, randomBytes(2 << 20), Buffer.alloc(4 << 20)]);
    for (const algorithm of ['sha256', 'blake3'] as const) {
      const results: { manifest: Manifest; objects: Record<string, string> }[] = [];
      for (const work of [IN_THREAD, pool] as ChunkWork[]) {
        const bank = new LocalBank(tempDir());
        const store = new ChunkStore(bank, chunkCodecSpec(algorithm, BANK_CHUNKING), { work });
        const res = await store.put(pieces(data));
        expect(res.manifest.sha256).toBe(createHash('sha256').update(data).digest('hex'));
        expect((await readAll(store, res.manifest)).equals(data)).toBe(true);
        await store.verify(res.manifest);
        await store.flush();
        results.push({ manifest: res.manifest, objects: await objects(bank) });
      }
      expect(results[1]).toEqual(results[0]);
    }
  });

  it('cuts streams that start together in different workers', async () => {
    const seen = new Map<number, Worker>();
    const { pool, started } = watchedPool({ size: 2, onPost: (w, m) => m.t === 'cut' && seen.set(m.stream, w) });
    pools.push(pool);
    const store = new ChunkStore(new LocalBank(tempDir()), chunkCodecSpec('sha256'), { work: pool });
    await Promise.all([store.put(pieces(randomBytes(3 << 20))), store.put(pieces(randomBytes(3 << 20)))]);
    expect(started).toHaveLength(2);
    expect(new Set(seen.values()).size).toBe(2);
  });

  it('names the damaged chunk when a chunk read through a worker does not match', async () => {
    const { pool } = watchedPool();
    pools.push(pool);
    const bank = new LocalBank(tempDir());
    const store = new ChunkStore(bank, chunkCodecSpec('sha256'), { work: pool });
    const { manifest } = await store.put(pieces(randomBytes(3 << 20)));
    const victim = manifest.chunks.at(-1)!.id;
    const file = path.join(bank.dir, 'chunks', victim.slice(0, 2), victim);
    const buf = fs.readFileSync(file);
    buf[buf.length >> 1]! ^= 0xff;
    fs.writeFileSync(file, buf);
    const err = await store.verify(manifest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptData);
    expect((err as Error).message).toContain(victim);
  });

  it.each([
    ['hashing', 'hash'],
    ['chunking', 'cut'],
  ] as const)('fails a put whose %s worker dies mid-stream, writes no manifest, and goes on with a fresh worker', async (_what, kind) => {
    let seen = 0;
    const { pool, started } = watchedPool({
      size: 2,
      onPost: (w, m) => {
        if (m.t === kind && ++seen === 4) void w.terminate();
      },
    });
    pools.push(pool);
    const bank = new LocalBank(tempDir());
    const store = new ChunkStore(bank, chunkCodecSpec('sha256'), { work: pool });
    const cp = new CheckpointData(store, 'cp-1');
    const put = cp.forResource('Test::Disk#1').put('data', pieces(randomBytes(24 << 20)));
    const err = await put.then(
      () => new Error('the put succeeded'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/^a chunk worker stopped unexpectedly \(exit code \d+\); the operation was abandoned$/);
    const keys: string[] = [];
    for await (const k of bank.list('checkpoints/')) keys.push(k);
    expect(keys).toEqual([]);

    const again = await cp.forResource('Test::Disk#1').put('data', pieces(randomBytes(2 << 20)));
    expect(again.size).toBe(2 << 20);
    expect(started.length).toBeGreaterThanOrEqual(2);
  });

  it('a worker stops after its idle time, never while it holds a chunk or a stream; the next call starts one', async () => {
    const { pool, started } = watchedPool({ size: 1, idleMs: 100 });
    pools.push(pool);
    const spec = chunkCodecSpec('sha256');
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const data = randomBytes(100_000);
    // A hashed chunk waits in the worker for its seal: the worker stays.
    const held = await pool.hash(spec, Buffer.from(data));
    const cutter = pool.cutter(BANK_CHUNKING);
    await cutter.push(randomBytes(1000));
    await sleep(300);
    expect(pool.running).toBe(1);
    const sealed = await held.seal();
    expect(await pool.open(spec, sealed, held.id)).toEqual(data);
    // An open stream keeps it too.
    await sleep(300);
    expect(pool.running).toBe(1);
    expect((await cutter.finish()).chunks.length).toBe(1);
    await sleep(300);
    expect(pool.running).toBe(0);
    await started[0]!.exited;
    // The next call starts a fresh worker.
    const again = await pool.hash(spec, Buffer.from(data));
    expect(again.id).toBe(held.id);
    again.drop();
    expect(started).toHaveLength(2);
    await sleep(300);
    expect(pool.running).toBe(0);
  });

  it('close() stops every worker; later work fails', async () => {
    const { pool, started } = watchedPool({ size: 2 });
    const store = new ChunkStore(new LocalBank(tempDir()), chunkCodecSpec('sha256'), { work: pool });
    await store.put(pieces(randomBytes(6 << 20)));
    expect(pool.running).toBe(2);
    await pool.close();
    await Promise.all(started.map((s) => s.exited));
    expect(pool.running).toBe(0);
    await expect(store.put(pieces(randomBytes(1 << 20)))).rejects.toThrow(/pool was closed/);
  });

  it('the engine’s provider stores share one pool, started on first use and stopped on close', async () => {
    const dataDir = tempDir();
    const stores = new ProviderStores({ dataDir, log: silentLog } as EngineContext, BUILTIN_BANKS);
    const provider = (id: string, bankPath: string) =>
      ({ definition: { id, name: id, plugins: [], bank: { type: 'local', path: bankPath } } }) as unknown as Provider;
    const a = stores.get(provider('a', 'bank-a'));
    const b = stores.get(provider('b', 'bank-b'));
    expect(stores.chunkWorkers).toBe(0);
    await a?.store.put(pieces(randomBytes(4 << 20)));
    await b?.store.put(pieces(randomBytes(4 << 20)));
    expect(stores.chunkWorkers).toBeGreaterThan(0);
    expect(stores.chunkWorkers).toBeLessThanOrEqual(4);
    await stores.close();
    expect(stores.chunkWorkers).toBe(0);
  });
});
