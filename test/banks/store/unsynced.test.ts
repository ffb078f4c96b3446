import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBank } from '../../../src-main/banks/local/local-bank';
import { CheckpointData, deleteCheckpointData } from '../../../src-main/banks/store/checkpoint-data';
import { chunkCodecSpec } from '../../../src-main/banks/store/chunk-codec';
import { ChunkWorkerPool, IN_THREAD } from '../../../src-main/banks/store/chunk-pool';
import { ChunkStore, UNSYNCED_MARKER } from '../../../src-main/banks/store/chunk-store';
import type { Manifest } from '../../../src-main/banks/store/types';
import { tempDir } from '../../helpers/harness';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const LIB = path.join(ROOT, 'out', 'main', 'chunk-store.js');
const pool = new ChunkWorkerPool({ size: 2 });
afterAll(() => pool.close());

const chunkFile = (bank: LocalBank, id: string): string => path.join(bank.dir, 'chunks', id.slice(0, 2), id);

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of s) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

/**
 * Another process writes `file`'s bytes as stream `s` of checkpoint `cp` (chunks without a sync,
 * no index) and exits without flushing or committing: what a crash mid-protect leaves behind.
 */
function crashedWriter(bankDir: string, cp: string, file: string): Manifest {
  const script = `
    const { LocalBank, ChunkStore, CheckpointData, chunkCodecSpec, IN_THREAD } = require(${JSON.stringify(LIB)});
    const fs = require('node:fs');
    (async () => {
      const store = new ChunkStore(new LocalBank(${JSON.stringify(bankDir)}), chunkCodecSpec('sha256'), { work: IN_THREAD });
      const data = new CheckpointData(store, ${JSON.stringify(cp)}).forResource('T#1');
      const { manifest } = await data.store(fs.readFileSync(${JSON.stringify(file)}));
      process.stdout.write(JSON.stringify(manifest));
      process.exit(0);
    })().catch((err) => { console.error(err); process.exit(1); });`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as Manifest;
}

describe('chunks written without a sync', () => {
  it('keep a marker until they are flushed; committing a checkpoint flushes them first', async () => {
    const bank = new LocalBank(tempDir());
    const store = new ChunkStore(bank, chunkCodecSpec('sha256'), { work: pool });
    const cp = new CheckpointData(store, 'cp1');
    const data = cp.forResource('T#1');
    await data.put('a', Readable.from([randomBytes(3 << 20)]));
    expect(await bank.stat(UNSYNCED_MARKER)).toBeDefined();
    await cp.commit('2026-01-01 00:00:00');
    expect(await bank.stat(UNSYNCED_MARKER)).toBeUndefined();
    expect(await bank.stat('checkpoints/cp1/index.json')).toBeDefined();
  });

  it('removing a failed checkpoint removes its chunks and settles the marker', async () => {
    const bank = new LocalBank(tempDir());
    const store = new ChunkStore(bank, chunkCodecSpec('sha256'), { work: IN_THREAD });
    const failed = new CheckpointData(store, 'failed');
    await failed.forResource('T#1').put('a', Readable.from([randomBytes(2 << 20)]));
    expect(await bank.stat(UNSYNCED_MARKER)).toBeDefined();
    // The cleanup runs after the protect's write session ended: in a session of its own.
    store.beginWriteSession();
    await deleteCheckpointData(store, 'failed');
    const left: string[] = [];
    for await (const k of bank.list('')) left.push(k);
    expect(left).toEqual([]);
  });

  it("after a writer crashed, the next writer removes the crashed run's objects and chunks before trusting any", async () => {
    const dir = tempDir();
    const bank = new LocalBank(dir);
    const committed = randomBytes(2 << 20);
    const first = new ChunkStore(bank, chunkCodecSpec('sha256'), { work: IN_THREAD });
    const cp1 = new CheckpointData(first, 'cp1');
    const { manifest: kept } = await cp1.forResource('T#1').store(Buffer.from(committed));
    await cp1.commit('2026-01-01 00:00:00');

    // The crashed run stored new data (sharing nothing with cp1) and never committed.
    const lost = randomBytes(3 << 20);
    const file = path.join(tempDir(), 'lost.bin');
    fs.writeFileSync(file, lost);
    const crashed = crashedWriter(dir, 'cp2', file);
    expect(crashed.chunks.length).toBeGreaterThan(1);
    expect(await bank.stat(UNSYNCED_MARKER)).toBeDefined();
    // Power lost before the kernel wrote the chunk out: the file exists but is empty.
    const victim = crashed.chunks[0]!.id;
    fs.truncateSync(chunkFile(bank, victim), 0);

    // A new engine (a new store) writes the same data: it must not take the empty file for the chunk.
    const next = new ChunkStore(new LocalBank(dir), chunkCodecSpec('sha256'), { work: pool });
    const cp3 = new CheckpointData(next, 'cp3');
    const stored = await cp3.forResource('T#1').store(Buffer.from(lost));
    expect(stored.manifest).toEqual(crashed);
    expect(stored.newBytes).toBeGreaterThan(lost.length);
    await cp3.commit('2026-01-02 00:00:00');

    const keys: string[] = [];
    for await (const k of bank.list('checkpoints/')) keys.push(k);
    expect(keys.some((k) => k.startsWith('checkpoints/cp2/'))).toBe(false);
    expect(fs.statSync(chunkFile(bank, victim)).size).toBeGreaterThan(0);
    expect(await bank.stat(UNSYNCED_MARKER)).toBeUndefined();
    expect(
      createHash('sha256')
        .update(await readAll(next.get(stored.manifest as unknown as Manifest)))
        .digest('hex'),
    ).toBe(createHash('sha256').update(lost).digest('hex'));
    // The committed checkpoint's chunks were kept.
    await next.verify(kept as unknown as Manifest);
  });

  it("a session's own marker is not a crash; a later session repairs what an earlier one left unflushed", async () => {
    const bank = new LocalBank(tempDir());
    const store = new ChunkStore(bank, chunkCodecSpec('sha256'), { work: IN_THREAD });
    const data = randomBytes(1 << 20);
    const first = await store.put(Readable.from([Buffer.from(data)]));
    expect(first.newChunks).toBeGreaterThan(0);
    // Same session: the chunks are its own, known, not written again.
    expect((await store.put(Readable.from([Buffer.from(data)]))).newChunks).toBe(0);
    // A new session (the writer lease taken again) finds the earlier session's marker: what it
    // wrote without a flush is suspect, so it goes and is written again.
    store.beginWriteSession();
    const again = await store.put(Readable.from([Buffer.from(data)]));
    expect(again.manifest).toEqual(first.manifest);
    expect(again.newChunks).toBe(first.newChunks);
    // Flushed, the next session trusts them.
    await store.flush();
    expect(await bank.stat(UNSYNCED_MARKER)).toBeUndefined();
    store.beginWriteSession();
    expect((await store.put(Readable.from([data]))).newChunks).toBe(0);
  });
});

describe('putBuffer', () => {
  it('gives the manifest and chunk objects put() gives, at and around the chunker minimum, in this thread and in workers', async () => {
    const spec = { ...chunkCodecSpec('sha256'), chunking: { minSize: 4096, avgSize: 16384, maxSize: 65536 } };
    for (const size of [0, 1, 4095, 4096, 4097, 100_000]) {
      const data = randomBytes(size);
      const viaStream = new ChunkStore(new LocalBank(tempDir()), spec, { work: IN_THREAD });
      const a = await viaStream.put(Readable.from(size ? [Buffer.from(data)] : []));
      for (const work of [IN_THREAD, pool]) {
        const bank = new LocalBank(tempDir());
        const b = await new ChunkStore(bank, spec, { work }).putBuffer(Buffer.from(data));
        expect(b.manifest, `size ${size}`).toEqual(a.manifest);
        expect(b.newChunks).toBe(a.newChunks);
        expect(b.newBytes).toBe(a.newBytes);
        for (const c of b.manifest.chunks) {
          expect(fs.readFileSync(chunkFile(bank, c.id))).toEqual(fs.readFileSync(chunkFile(viaStream.bank as LocalBank, c.id)));
        }
      }
    }
  });
});
