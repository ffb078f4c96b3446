import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalBank } from '../../../src-main/banks/local/local-bank';
import { CheckpointData, deleteCheckpointData } from '../../../src-main/banks/store/checkpoint-data';
import { chunkCodecSpec } from '../../../src-main/banks/store/chunk-codec';
import { IN_THREAD } from '../../../src-main/banks/store/chunk-pool';
import { ChunkStore } from '../../../src-main/banks/store/chunk-store';
import { splitPieces } from '../../../src-main/banks/store/pieces';
import { tempDir } from '../../helpers/harness';

const ids = (n: number, seed: string): string[] =>
  Array.from({ length: n }, (_, i) => createHash('sha256').update(`${seed}-${i}`).digest('hex')).sort();

describe('pieces', () => {
  it('cut where the items say, so one change touches one piece and the rest keep their bytes', () => {
    const items = ids(5000, 'a');
    const size = { average: 64, max: 1024 };
    const before = splitPieces(items, (x) => x, size).map((p) => JSON.stringify(p));
    expect(before.length).toBeGreaterThan(5000 / 64 / 2);
    expect(before.length).toBeLessThan((5000 / 64) * 2);
    expect(splitPieces(items, (x) => x, size).flat()).toEqual(items);
    // Replace one item, insert one, remove one.
    const changed = [...items];
    changed[1000] = '0'.repeat(64);
    changed.splice(3000, 0, 'f'.repeat(64));
    changed.splice(4000, 1);
    const after = new Set(splitPieces(changed, (x) => x, size).map((p) => JSON.stringify(p)));
    const kept = before.filter((p) => after.has(p)).length;
    expect(before.length - kept).toBeGreaterThan(0);
    expect(before.length - kept).toBeLessThanOrEqual(6);
    expect(splitPieces(changed, (x) => x, size).flat()).toEqual(changed);
  });

  it('never exceed the maximum, even when no item is a cut point', () => {
    const pieces = splitPieces(
      Array.from({ length: 100 }, () => 'same'),
      (x) => x,
      { average: 1 << 30, max: 7 },
    );
    expect(pieces.map((p) => p.length)).toEqual([...Array<number>(14).fill(7), 2]);
  });
});

describe('refs.json in pieces', () => {
  it("a checkpoint sharing most chunks with the last stores only a few new pieces; sweeps keep the pieces' chunks", async () => {
    const bank = new LocalBank(tempDir());
    const spec = { ...chunkCodecSpec('sha256'), chunking: { minSize: 4096, avgSize: 8192, maxSize: 16384 } };
    const small = new ChunkStore(bank, spec, { work: IN_THREAD });
    // Many small chunks, so the chunk list is several hundred KiB as a plain list.
    const data = randomBytes(32 << 20);
    const cp1 = new CheckpointData(small, 'cp1');
    await cp1.forResource('T#1').put('data', Readable.from([data]));
    await cp1.commit('2026-01-01 00:00:00');
    const refs1 = await small.readRefs('checkpoints/cp1/refs.json');
    expect(refs1.length).toBeGreaterThan(2000);
    const refsObject = (await bank.get('checkpoints/cp1/refs.json')).length;
    expect(refsObject).toBeLessThan(refs1.length * 64 * 0.1);

    const changed = Buffer.from(data);
    randomBytes(4096).copy(changed, 16 << 20);
    const cp2 = new CheckpointData(small, 'cp2');
    await cp2.forResource('T#1').put('data', Readable.from([changed]));
    await cp2.commit('2026-01-02 00:00:00');
    // The two chunk lists differ in a few ids; their pieces differ in a few pieces, the rest are shared chunks.
    // A piece (about 8.5 KiB of JSON) may itself be stored as more than one of these small
    // chunks: a piece is the list of all its chunk ids.
    const pieceChunks = async (cp: string) =>
      (await small.getObject<{ pieces: { chunks: { id: string }[] }[] }>(`checkpoints/${cp}/refs.json`)).pieces.map((p) =>
        p.chunks.map((c) => c.id),
      );
    const [c1, c2] = [await pieceChunks('cp1'), await pieceChunks('cp2')];
    const [p1, p2] = [c1.map((ids) => ids.join(',')), c2.map((ids) => ids.join(','))];
    const [r1, r2] = [
      new Set(await small.readRefs('checkpoints/cp1/refs.json')),
      new Set(await small.readRefs('checkpoints/cp2/refs.json')),
    ];
    const pieceIds = new Set([...c1, ...c2].flat());
    const changedData = [...new Set([...r1, ...r2])].filter((id) => !pieceIds.has(id) && r1.has(id) !== r2.has(id)).length;
    const newPieces = p2.filter((id) => !p1.includes(id)).length;
    expect(p1.length).toBeGreaterThan(16);
    expect(changedData).toBeGreaterThan(0);
    // Each data chunk added or dropped touches at most one piece (two when it was a piece's last
    // item); every other piece is shared with the first checkpoint.
    expect(newPieces).toBeGreaterThan(0);
    expect(newPieces).toBeLessThanOrEqual(2 * changedData);
    expect(p2.length - newPieces).toBeGreaterThan(p2.length / 2);

    // Deleting cp1 keeps everything cp2 needs: its data and its refs' pieces.
    await deleteCheckpointData(small, 'cp1');
    const reopened = new CheckpointData(new ChunkStore(new LocalBank(bank.dir), spec, { work: IN_THREAD }), 'cp2').forResource('T#1');
    await reopened.verify('data');
    expect((await small.readRefs('checkpoints/cp2/refs.json')).length).toBeGreaterThan(500);
  });

  it('still reads the plain list of ids older checkpoints hold', async () => {
    const bank = new LocalBank(tempDir());
    const store = new ChunkStore(bank, chunkCodecSpec('sha256'), { work: IN_THREAD });
    const { manifest } = await store.put(Readable.from([randomBytes(1 << 20)]));
    const old = manifest.chunks.map((c) => c.id);
    await store.putObject('checkpoints/old/refs.json', old);
    await store.putObject('checkpoints/old/index.json', { checkpointId: 'old', createdAt: '', resources: {} });
    expect(await store.readRefs('checkpoints/old/refs.json')).toEqual(old);
    expect(await store.sweep(await store.liveChunks())).toEqual({ chunks: 0, bytes: 0 });
  });
});
