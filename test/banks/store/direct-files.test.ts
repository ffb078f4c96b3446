import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { BankError, BankFull } from '../../../src-main/banks/errors';
import { LocalBank } from '../../../src-main/banks/local/local-bank';
import { chunkCodecSpec } from '../../../src-main/banks/store/chunk-codec';
import { ChunkWorkerPool, IN_THREAD } from '../../../src-main/banks/store/chunk-pool';
import { ChunkStore, CorruptData, UNSYNCED_MARKER } from '../../../src-main/banks/store/chunk-store';
import type { Manifest } from '../../../src-main/banks/store/types';
import { tempDir } from '../../helpers/harness';
import { mountTmpfs, unmountTmpfs } from '../../helpers/tmpfs';

// Small files stored and restored by a chunk worker straight into and out of a local bank.
const pool = new ChunkWorkerPool({ size: 2 });
const disk = mountTmpfs('1m', 'karbor-direct-full-');
afterAll(async () => {
  await pool.close();
  unmountTmpfs(disk.dir);
});

const spec = chunkCodecSpec('sha256');
const chunkFile = (bank: LocalBank, id: string): string => path.join(bank.dir, 'chunks', id.slice(0, 2), id);

function writeFile(dir: string, name: string, data: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
}

/** A 3,000-byte random file stored through a worker into a new bank. */
async function storedSmallFile(): Promise<{ data: Buffer; bank: LocalBank; store: ChunkStore; manifest: Manifest }> {
  const data = randomBytes(3000);
  const bank = new LocalBank(tempDir());
  const store = new ChunkStore(bank, spec, { work: pool });
  const stored = await store.putFile(writeFile(tempDir(), 'f', data), data.length);
  if (!stored) throw new Error('the worker did not store the file');
  return { data, bank, store, manifest: stored.manifest };
}

describe('small files through a chunk worker', () => {
  it('stores the manifest and chunk object putBuffer stores, counts a shared new chunk once, and keeps the marker until the flush', async () => {
    const src = tempDir();
    const data = randomBytes(20_000);
    const a = writeFile(src, 'a', data);
    const b = writeFile(src, 'b', data);
    const bank = new LocalBank(tempDir());
    const store = new ChunkStore(bank, spec, { work: pool });
    const [ra, rb] = await Promise.all([store.putFile(a, data.length), store.putFile(b, data.length)]);
    expect(ra).toBeDefined();
    expect(rb?.manifest).toEqual(ra?.manifest);
    expect(ra!.newBytes + rb!.newBytes).toBe(fs.statSync(chunkFile(bank, ra!.manifest.chunks[0]!.id)).size);
    expect(ra!.newChunks + rb!.newChunks).toBe(1);
    expect(await bank.stat(UNSYNCED_MARKER)).toBeDefined();

    const other = new LocalBank(tempDir());
    const inThread = await new ChunkStore(other, spec, { work: IN_THREAD }).putBuffer(Buffer.from(data));
    expect(inThread.manifest).toEqual(ra!.manifest);
    const id = ra!.manifest.chunks[0]!.id;
    expect(fs.readFileSync(chunkFile(bank, id))).toEqual(fs.readFileSync(chunkFile(other, id)));

    // already in the bank: nothing written, nothing counted
    const again = await store.putFile(a, data.length);
    expect(again).toMatchObject({ newBytes: 0, newChunks: 0, manifest: ra!.manifest });
    await store.flush();
    expect(await bank.stat(UNSYNCED_MARKER)).toBeUndefined();
    expect(fs.readdirSync(path.dirname(chunkFile(bank, id))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('an empty file has no chunk; a file that grew since it was seen, or is larger than a chunk, is left to the caller', async () => {
    const src = tempDir();
    const store = new ChunkStore(new LocalBank(tempDir()), spec, { work: pool });
    const empty = await store.putFile(writeFile(src, 'e', Buffer.alloc(0)), 0);
    expect(empty?.manifest).toEqual({
      version: 1,
      size: 0,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      chunks: [],
    });
    expect(await store.putFile(writeFile(src, 'g', randomBytes(5000)), 4000)).toBeUndefined();
    const big = 512 * 1024;
    expect(await store.putFile(writeFile(src, 'big', randomBytes(big)), big)).toBeUndefined();
    // in this thread there is no worker to do it
    expect(
      await new ChunkStore(new LocalBank(tempDir()), spec, { work: IN_THREAD }).putFile(writeFile(src, 's', randomBytes(10)), 10),
    ).toBeUndefined();
  });

  it("a file that cannot be read fails with the file's error", async () => {
    const store = new ChunkStore(new LocalBank(tempDir()), spec, { work: pool });
    const missing = path.join(tempDir(), 'gone');
    await expect(store.putFile(missing, 10)).rejects.toMatchObject({
      code: 'ENOENT',
      message: expect.stringContaining(missing) as unknown,
    });
  });

  it('restores a one-chunk stream with its mode and times, never over an existing file unless asked', async () => {
    const { data, store, manifest } = await storedSmallFile();
    const out = tempDir();
    const dest = path.join(out, 'f');
    const mtime = 1_700_000_000.5;
    expect(await store.restoreFile(manifest, dest, { flags: 'wx', mode: 0o640, atime: mtime, mtime })).toBe(true);
    expect(fs.readFileSync(dest)).toEqual(data);
    const st = fs.statSync(dest);
    expect(st.mode & 0o777).toBe(0o640);
    expect(st.mtimeMs).toBeCloseTo(mtime * 1000, 0);

    fs.writeFileSync(dest, 'keep');
    await expect(store.restoreFile(manifest, dest, { flags: 'wx', mode: 0o600, atime: mtime, mtime })).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect(fs.readFileSync(dest, 'utf8')).toBe('keep');
    expect(await store.restoreFile(manifest, dest, { flags: 'w', mode: 0o600, atime: mtime, mtime })).toBe(true);
    expect(fs.readFileSync(dest)).toEqual(data);
    // nothing to do for the worker: no chunk (empty file)
    expect(
      await store.restoreFile({ ...manifest, size: 0, chunks: [] }, path.join(out, 'e'), { flags: 'wx', mode: 0o600, atime: 0, mtime: 0 }),
    ).toBe(false);
  });

  it('a damaged or missing chunk fails the restore as corrupt data and writes nothing', async () => {
    const { bank, store, manifest } = await storedSmallFile();
    const file = chunkFile(bank, manifest.chunks[0]!.id);
    const stored = fs.readFileSync(file);
    stored[stored.length - 1]! ^= 0xff;
    fs.writeFileSync(file, stored);
    const out = tempDir();
    const opts = { flags: 'wx', mode: 0o600, atime: 0, mtime: 0 };
    await expect(store.restoreFile(manifest, path.join(out, 'a'), opts)).rejects.toBeInstanceOf(CorruptData);
    fs.rmSync(file);
    await expect(store.restoreFile(manifest, path.join(out, 'b'), opts)).rejects.toThrow(/cannot be read/);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('reads chunks of a local bank in a worker: the bytes stored, or corrupt data naming the chunk', async () => {
    const { data, bank, store, manifest } = await storedSmallFile();
    const big = randomBytes(3 * 1024 * 1024);
    const stored = await store.putBuffer(Buffer.from(big));
    expect(stored.manifest.chunks.length).toBeGreaterThan(1);
    await store.flush();
    // The worker reads the chunk files itself: none goes through the bank's get on this thread.
    const get = vi.spyOn(bank, 'get');
    expect(await store.getBuffer(manifest)).toEqual(data);
    // (Buffer.equals: toEqual compares 3 MiB element by element, for seconds)
    expect((await store.getBuffer(stored.manifest)).equals(big)).toBe(true);
    await store.verify(stored.manifest);
    expect(get).not.toHaveBeenCalled();

    const id = manifest.chunks[0]!.id;
    const file = chunkFile(bank, id);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    await expect(store.getBuffer(manifest)).rejects.toBeInstanceOf(CorruptData);
    fs.rmSync(file);
    const missing = store.getBuffer(manifest);
    await expect(missing).rejects.toBeInstanceOf(CorruptData);
    await expect(missing).rejects.toThrow(`chunk ${id} cannot be read: bank object 'chunks/${id.slice(0, 2)}/${id}' does not exist`);
  });

  it("a bank that cannot be written fails with the bank's typed error and leaves no temp file", async () => {
    const src = tempDir();
    const bankDir = tempDir();
    const bank = new LocalBank(bankDir);
    const store = new ChunkStore(bank, spec, { work: pool });
    const data = randomBytes(100);
    // the chunk's folder is taken by a file: the bank cannot write there
    const { manifest } = await new ChunkStore(new LocalBank(tempDir()), spec, { work: IN_THREAD }).putBuffer(Buffer.from(data));
    const id = manifest.chunks[0]!.id;
    fs.mkdirSync(path.join(bankDir, 'chunks'), { recursive: true });
    fs.writeFileSync(path.join(bankDir, 'chunks', id.slice(0, 2)), 'not a folder');
    const err = await store.putFile(writeFile(src, 'f', data), data.length).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BankError);
    expect(err).not.toBeInstanceOf(BankFull);
    expect((err as Error).message).toMatch(/write a chunk/);
  });

  it.skipIf(!disk.dir)(
    `a full disk fails with BankFull and leaves no temp file${disk.reason ? ` (skipped: cannot mount a tmpfs here: ${disk.reason.trim()})` : ''}`,
    async () => {
      const src = tempDir();
      const bank = new LocalBank(path.join(disk.dir!, 'bank'));
      const store = new ChunkStore(bank, spec, { work: pool });
      const data = randomBytes(200 * 1024); // incompressible
      const files = Array.from({ length: 8 }, (_, i) => writeFile(src, `f${i}`, Buffer.concat([Buffer.from([i]), data])));
      const results = await Promise.allSettled(files.map((f) => store.putFile(f, data.length + 1)));
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(failed.length).toBeGreaterThan(0);
      for (const f of failed) expect(f.reason).toBeInstanceOf(BankFull);
      const temps = fs
        .readdirSync(path.join(bank.dir, 'chunks'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && e.name.startsWith('.'));
      expect(temps).toEqual([]);
    },
  );
});
