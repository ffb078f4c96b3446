import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { BankNotFound } from '../errors';
import { BankEncryptionMismatch, hasKeyConfig, openBankKeys } from './bank-keys';
import type { WalkBatch, WalkFilter } from './walk-sync';
import { chunkIdOf, chunkKey, ChunkUnreadable, type ChunkCodecSpec } from './chunk-codec';
import { DEFAULT_FASTCDC_OPTIONS } from '../dedup/fastcdc';
import { IN_THREAD, WorkerBankError, type ChunkWork, type HashedChunk } from './chunk-pool';
import { loadPieces, storePieces } from './pieces';
import { keyedId, SealedCorrupt, seal, unseal } from './sealed';
import type { Manifest, ObjectBank, PutResult } from './types';

/**
 * Present while chunks written without a sync may exist: written (durably) before the first such
 * chunk, removed by a flush that found no such chunk written meanwhile. Finding it before the
 * first write of a process means the previous one stopped (crash, power loss) with chunks that
 * may be damaged, and no index names them yet: see {@link ChunkStore.repairUnsynced}.
 */
export const UNSYNCED_MARKER = 'state/unsynced-chunks';
const noop = (): void => undefined;
/** A chunk list piece: about 128 ids (8.5 KiB of JSON), one small chunk. */
const REF_PIECES = { average: 128, max: 2048 };

/** `refs.json`: the pieces holding a checkpoint's sorted chunk ids. */
interface RefsObject {
  pieces: Manifest[];
}
/** Chunks up to this size are compressed and opened in the calling thread (see workFor). */
const IN_THREAD_MAX = 32 * 1024;
/** Input handed to the cutter at once: fewer, larger messages to a worker. */
const CUT_BATCH = 1024 * 1024;

function asBytes(piece: unknown): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (piece instanceof Uint8Array) return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  throw new TypeError(
    `chunk store: expected a stream of bytes, got ${typeof piece === 'string' ? 'a string (is an encoding set?)' : typeof piece}`,
  );
}

/** A chunk or manifest that does not match what was stored. */
export class CorruptData extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptData';
  }
}

export interface ChunkStoreOptions {
  /** Where hashing, compression and encryption run (default: this thread). */
  work?: ChunkWork;
  /** An encrypted bank: where its passphrase comes from (read when the store is first used). */
  encryption?: { passphrase: () => Promise<string>; scryptN?: number };
  /** Names the bank in errors ("wrong passphrase for the bank at …"). */
  label?: string;
}

interface StoredChunk {
  id: string;
  length: number;
  /** Stored bytes this put added to the bank (0 when the bank had the chunk). */
  added: number;
}

/**
 * Deduplicated streams over a bank: a stream becomes content-defined chunks stored once each
 * under their id (compressed, and encrypted in an encrypted bank), plus a manifest listing them.
 * A chunk is written before any manifest refers to it, so a crash leaves at worst unreferenced
 * chunks, never a manifest pointing at nothing.
 *
 * Chunking, hashing, compression and encryption run on `work` (the engine's chunk worker pool:
 * a stream's chunking in one worker, its chunks spread over all), with a bounded number of
 * chunks in flight per stream: memory stays at a few chunks per stream however large it is, and
 * the manifest keeps the stream's order. This thread only moves bytes between the source, the
 * workers and the bank.
 */
export class ChunkStore {
  /** Chunk ids known to exist, so repeated chunks skip the bank round trip. */
  private readonly known = new Set<string>();
  /** Chunks being written now, so two streams holding the same chunk store it once. */
  private readonly writing = new Map<string, Promise<number>>();
  private readonly work: ChunkWork;
  private readonly label: string;
  private opening: Promise<ChunkCodecSpec> | undefined;
  private repairing: Promise<void> | undefined;
  /** Deferred-sync chunk puts: started so far, and running now (see {@link flush}). */
  private deferredPuts = 0;
  private deferredRunning = 0;
  private markerPresent = false;
  /**
   * Names this store's current write session in the marker (see {@link beginWriteSession}): a
   * marker holding another name is a writer's that stopped before flushing, crash or not.
   */
  private session = `${randomUUID()}\n`;
  /** Marker writes and deletes, one at a time and in order. */
  private markerOps: Promise<unknown> = Promise.resolve();

  constructor(
    readonly bank: ObjectBank,
    private readonly spec: ChunkCodecSpec,
    private readonly opts: ChunkStoreOptions = {},
  ) {
    this.work = opts.work ?? IN_THREAD;
    this.label = opts.label ?? 'this bank';
  }

  /** Whether chunks and checkpoint objects are encrypted (from the provider's config). */
  get encrypted(): boolean {
    return this.opts.encryption !== undefined;
  }

  /**
   * The codec with the bank's keys, checking that the bank's encryption matches the config.
   * Opened once; a failure (wrong passphrase) is not remembered, so a corrected passphrase works
   * without a restart.
   *
   * @throws WrongPassphrase, BankEncryptionMismatch
   */
  ready(write = false): Promise<ChunkCodecSpec> {
    this.opening ??= this.open(write).catch((err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  private async open(write: boolean): Promise<ChunkCodecSpec> {
    const enc = this.opts.encryption;
    if (!enc) {
      if (await hasKeyConfig(this.bank)) {
        throw new BankEncryptionMismatch(
          `the bank at ${this.label} is encrypted; its provider's bank config needs encryption.passphrase_file or encryption.passphrase_env`,
        );
      }
      return this.spec;
    }
    const keys = await openBankKeys(this.bank, this.label, await enc.passphrase(), { create: write, scryptN: enc.scryptN });
    return { ...this.spec, keys };
  }

  async put(input: Readable, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<PutResult> {
    const spec = await this.ready(true);
    await this.repairUnsynced();
    const manifest: Manifest = { version: 1, size: 0, sha256: '', chunks: [] };
    const result: PutResult = { manifest, bytes: 0, newBytes: 0, newChunks: 0 };
    const cutter = this.work.cutter(spec.chunking);
    const cutting: Promise<Buffer[]>[] = [];
    const inFlight: Promise<StoredChunk>[] = [];
    const settle = async (p: Promise<StoredChunk>): Promise<void> => {
      const c = await p;
      manifest.chunks.push({ id: c.id, length: c.length });
      if (c.added) {
        result.newBytes += c.added;
        result.newChunks++;
      }
      onBytes?.(c.length);
    };
    const store = async (chunks: Buffer[]): Promise<void> => {
      for (const chunk of chunks) {
        signal?.throwIfAborted();
        manifest.size += chunk.length;
        const p = this.storeChunk(spec, chunk);
        p.catch(noop);
        inFlight.push(p);
        // Backpressure: the oldest chunk must be stored before more are taken (and in order, for the manifest).
        if (inFlight.length >= this.work.parallelism) await settle(inFlight.shift()!);
      }
    };
    const cut = (data: Buffer): void => {
      const p = cutter.push(data);
      p.catch(noop);
      cutting.push(p);
    };
    try {
      // Input goes to the cutter in batches of about a chunk, two batches ahead of the chunks stored.
      let batch: Buffer[] = [];
      let batched = 0;
      for await (const piece of input as AsyncIterable<unknown>) {
        signal?.throwIfAborted();
        const bytes = asBytes(piece);
        batch.push(bytes);
        batched += bytes.length;
        if (batched < CUT_BATCH) continue;
        cut(Buffer.concat(batch, batched));
        batch = [];
        batched = 0;
        if (cutting.length >= 2) await store(await cutting.shift()!);
      }
      if (batched) cut(Buffer.concat(batch, batched));
      while (cutting.length) await store(await cutting.shift()!);
      const end = await cutter.finish();
      await store(end.chunks);
      while (inFlight.length) await settle(inFlight.shift()!);
      manifest.sha256 = end.sha256;
    } catch (err) {
      // Let everything in flight finish or fail before reporting, so nothing still writes after put() failed.
      cutter.abandon();
      await Promise.allSettled([...cutting, ...inFlight]);
      throw err;
    }
    result.bytes = manifest.size;
    return result;
  }

  /**
   * Stores bytes already in memory. Up to the chunker's minimum size they are one chunk whatever
   * the chunking, so this thread hashes them and only a new chunk goes to the work for
   * compression: one round trip instead of four for a small file. Larger inputs take the stream
   * path. Either way the manifest is the one {@link put} would write. The buffer is taken: it may
   * move to a worker thread, so the caller must not use it afterwards.
   */
  async putBuffer(data: Buffer, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<PutResult> {
    const spec = await this.ready(true);
    if (data.length > (spec.chunking.minSize ?? DEFAULT_FASTCDC_OPTIONS.minSize)) return this.put(Readable.from([data]), onBytes, signal);
    await this.repairUnsynced();
    signal?.throwIfAborted();
    const length = data.length;
    const sha256 = createHash('sha256').update(data).digest('hex');
    const manifest: Manifest = { version: 1, size: length, sha256, chunks: [] };
    const result: PutResult = { manifest, bytes: length, newBytes: 0, newChunks: 0 };
    if (!length) return result;
    const id = !spec.keys && spec.algorithm === 'sha256' ? sha256 : chunkIdOf(spec, data);
    const added = await this.ensure({ id, seal: () => this.workFor(length).seal(spec, data, id), drop: noop });
    manifest.chunks.push({ id, length });
    if (added) {
      result.newBytes = added;
      result.newChunks = 1;
    }
    onBytes?.(length);
    return result;
  }

  /**
   * Makes every chunk written so far durable (one sync of the bank), before an index names them.
   * The marker goes once no chunk was written since the flush began, so chunks still being
   * written by another put stay covered by it.
   */
  async flush(): Promise<void> {
    if (!this.bank.flush) return;
    const seen = this.deferredPuts;
    const quiet = this.deferredRunning === 0;
    await this.bank.flush();
    await this.markerOp(async () => {
      if (!quiet || seen !== this.deferredPuts || !this.markerPresent) return;
      await this.bank.delete(UNSYNCED_MARKER);
      this.markerPresent = false;
    });
  }

  /**
   * Before this process writes: if the previous writer stopped with unsynced chunks (the marker
   * is there), removes checkpoints that never got their index and every chunk no complete
   * checkpoint uses, so no damaged chunk is taken for one the bank already has. Callers hold the
   * bank's writer lease, so no other engine writes meanwhile.
   */
  repairUnsynced(): Promise<void> {
    this.repairing ??= (async () => {
      if (!this.bank.flush) return;
      const marker = await this.bank.get(UNSYNCED_MARKER).catch((err: unknown) => {
        if (err instanceof BankNotFound) return undefined;
        throw err;
      });
      if (marker === undefined || marker.toString('utf8') === this.session) return;
      const complete = new Set<string>();
      const seen = new Set<string>();
      for await (const key of this.bank.list('checkpoints/')) {
        const id = key.split('/')[1] ?? '';
        seen.add(id);
        if (key === `checkpoints/${id}/index.json`) complete.add(id);
      }
      for (const id of seen) {
        if (complete.has(id)) continue;
        const keys: string[] = [];
        for await (const k of this.bank.list(`checkpoints/${id}/`)) keys.push(k);
        for (const k of keys) await this.bank.delete(k);
      }
      const used = await this.liveChunks();
      await this.sweep(used);
      // The damaged chunks' removal is durable before the marker that calls for it goes.
      await this.bank.flush({ everything: true });
      await this.bank.delete(UNSYNCED_MARKER);
    })().catch((err: unknown) => {
      this.repairing = undefined;
      throw err;
    });
    return this.repairing;
  }

  /**
   * Starts a write session: called when this engine takes the bank's writer lease, since while it
   * did not hold it another engine may have written, crashed or repaired the bank. Forgets what
   * it knew (chunks seen, the marker, the repair done) and takes a new session name, so a marker
   * an earlier session of this process left (a failed protect, a bank on a disk that went away)
   * is repaired like a crashed engine's. Call it only while no write of this store is running.
   */
  beginWriteSession(): void {
    this.session = `${randomUUID()}\n`;
    this.known.clear();
    this.repairing = undefined;
    this.markerPresent = false;
  }

  private markerOp(fn: () => Promise<void>): Promise<void> {
    const op = this.markerOps.then(fn);
    this.markerOps = op.catch(noop);
    return op;
  }

  /** A chunk put that skips the sync where the bank can defer it, under the marker. */
  private async putChunkObject(key: string, stored: Buffer): Promise<void> {
    if (!this.bank.flush) return this.bank.put(key, stored);
    await this.deferredWrite(() => this.bank.put(key, stored, { deferSync: true }));
  }

  /** Runs a write of chunks without a sync: counted for {@link flush}, and only once the marker is there. */
  private async deferredWrite<T>(write: () => Promise<T>): Promise<T> {
    this.deferredPuts++;
    this.deferredRunning++;
    try {
      await this.markerOp(async () => {
        if (this.markerPresent) return;
        await this.bank.put(UNSYNCED_MARKER, Buffer.from(this.session));
        this.markerPresent = true;
      });
      return await write();
    } finally {
      this.deferredRunning--;
    }
  }

  /**
   * Stores a small file that a chunk worker reads, hashes, seals and writes into the bank itself
   * (direct-files.ts): one message instead of a dozen file-system calls on this thread. The
   * manifest is the one {@link putBuffer} would write for the same bytes. Undefined when that
   * cannot be done here (no worker pool, a bank that is not local files, a file larger than one
   * chunk) or the file has grown past `size` since it was seen: the caller stores it the usual way.
   */
  async putFile(file: string, size: number, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<PutResult | undefined> {
    const direct = this.bank.direct?.();
    if (!direct || !this.work.storeFile || !this.bank.flush) return undefined;
    const spec = await this.ready(true);
    if (size > (spec.chunking.minSize ?? DEFAULT_FASTCDC_OPTIONS.minSize)) return undefined;
    await this.repairUnsynced();
    signal?.throwIfAborted();
    const storeFile = this.work.storeFile.bind(this.work);
    const r = await this.deferredWrite(() =>
      storeFile(spec, { file, size, bankDir: direct.dir }).catch((err: unknown) => {
        throw err instanceof WorkerBankError ? direct.error(err.code, err.message, 'write a chunk') : err;
      }),
    );
    if ('grown' in r) return undefined;
    if (r.written) direct.adopt(r.written, r.created);
    const manifest: Manifest = { version: 1, size: r.length, sha256: r.sha256, chunks: [] };
    const result: PutResult = { manifest, bytes: r.length, newBytes: 0, newChunks: 0 };
    if (!r.length) return result;
    manifest.chunks.push({ id: r.id, length: r.length });
    // Two workers may have written the same new chunk at once: it counts once.
    if (r.added && !this.known.has(r.id)) {
      result.newBytes = r.added;
      result.newChunks = 1;
    }
    this.known.add(r.id);
    onBytes?.(r.length);
    return result;
  }

  /** A tree walked by a chunk worker, in batches (walk-sync.ts); undefined without a worker pool. */
  walk(root: string, filter: WalkFilter): AsyncIterable<WalkBatch> | undefined {
    return this.work.walk?.(root, filter);
  }

  /**
   * Writes a one-chunk stream into the new file `dest` (with its mode and times) inside a chunk
   * worker, checked against its id like {@link getBuffer}. False when that cannot be done here
   * (no worker pool, a bank that is not local files, a stream of several chunks or none): the
   * caller writes the file itself.
   * @throws CorruptData when the chunk is missing or damaged
   */
  async restoreFile(
    manifest: Manifest,
    dest: string,
    file: { flags: string; mode: number; atime: number; mtime: number },
  ): Promise<boolean> {
    const direct = this.bank.direct?.();
    if (!direct || !this.work.restoreFile || manifest.chunks.length !== 1) return false;
    const spec = await this.ready(false);
    const c = manifest.chunks[0]!;
    try {
      await this.work.restoreFile(spec, { bankDir: direct.dir, id: c.id, length: c.length, dest, ...file });
    } catch (err) {
      if (err instanceof ChunkUnreadable) throw new CorruptData(err.message);
      throw err;
    }
    return true;
  }

  /** Streams a manifest's data back, checking every chunk against its id. */
  get(manifest: Manifest): Readable {
    return Readable.from(this.readChunks(manifest));
  }

  /** A small stream's data in one buffer (each chunk checked against its id, as by {@link get}). */
  async getBuffer(manifest: Manifest): Promise<Buffer> {
    if (manifest.chunks.length === 1) {
      const c = manifest.chunks[0]!;
      return this.readChunk(await this.ready(false), c.id, c.length);
    }
    const parts: Buffer[] = [];
    for await (const data of this.readChunks(manifest)) parts.push(data);
    return Buffer.concat(parts);
  }

  /** Re-reads and re-hashes every chunk and the whole stream; throws CorruptData naming the first bad chunk. */
  async verify(manifest: Manifest): Promise<void> {
    const whole = createHash('sha256');
    for await (const data of this.readChunks(manifest)) whole.update(data);
    if (whole.digest('hex') !== manifest.sha256) throw new CorruptData('the restored stream does not match its SHA-256');
  }

  /** Deletes every chunk not in `used`; returns how many were freed. */
  async sweep(used: ReadonlySet<string>): Promise<{ chunks: number; bytes: number }> {
    await this.ready(false);
    let chunks = 0;
    let bytes = 0;
    for await (const key of this.bank.list('chunks/')) {
      const id = key.slice(key.lastIndexOf('/') + 1);
      if (used.has(id)) continue;
      bytes += (await this.bank.stat(key))?.size ?? 0;
      await this.bank.delete(key);
      this.known.delete(id);
      chunks++;
    }
    return { chunks, bytes };
  }

  /**
   * Chunk ids used by the bank's checkpoints except `exclude`: committed ones through their
   * `refs.json`, ones being written through their manifests so far. A sweep by these runs only
   * while no protect writes to the bank (chunks stored before their manifest are invisible here).
   */
  async liveChunks(exclude?: string): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const key of this.bank.list('checkpoints/')) {
      if (exclude !== undefined && key.startsWith(`checkpoints/${exclude}/`)) continue;
      if (key.endsWith('/refs.json')) {
        for (const id of await this.readRefs(key)) out.add(id);
      } else if (key.endsWith('.manifest.json')) {
        for (const c of (await this.getObject<Manifest>(key)).chunks) out.add(c.id);
      }
    }
    return out;
  }

  /**
   * Records the chunk ids a checkpoint uses as `key` (its `refs.json`): the sorted ids in pieces
   * stored as chunks themselves (pieces.ts), so the next checkpoint, sharing most chunks, shares
   * most pieces too; the object lists the pieces. Returns the pieces' chunk ids.
   */
  async writeRefs(key: string, ids: Iterable<string>): Promise<string[]> {
    const pieces = await storePieces(
      [...ids].sort(),
      (id) => id,
      REF_PIECES,
      async (json) => (await this.putBuffer(json)).manifest,
    );
    await this.flush();
    await this.putObject(key, { pieces } satisfies RefsObject);
    return pieces.flatMap((p) => p.chunks.map((c) => c.id));
  }

  /**
   * The chunk ids a `refs.json` names, the pieces' own chunks included. Reads both the pieces and
   * the older plain list of ids.
   */
  async readRefs(key: string): Promise<string[]> {
    const refs = await this.getObject<RefsObject | string[]>(key);
    if (Array.isArray(refs)) return refs;
    const ids = await loadPieces<string, Manifest>(refs.pieces, (m) => this.getBuffer(m));
    return [...refs.pieces.flatMap((p) => p.chunks.map((c) => c.id)), ...ids];
  }

  /** Writes a small JSON object (manifest, index), encrypted in an encrypted bank. */
  async putObject(key: string, value: unknown): Promise<void> {
    const spec = await this.ready(true);
    await this.repairUnsynced();
    const plain = Buffer.from(JSON.stringify(value));
    await this.bank.put(key, spec.keys ? seal(spec.keys.dataKey, plain, `object:${key}`) : plain);
  }

  /** Reads an object written by {@link putObject}. @throws CorruptData when it fails authentication */
  async getObject<T>(key: string): Promise<T> {
    const spec = await this.ready(false);
    const raw = await this.bank.get(key);
    let plain: Buffer;
    try {
      plain = spec.keys ? unseal(spec.keys.dataKey, raw, `object:${key}`) : raw;
    } catch (err) {
      if (err instanceof SealedCorrupt) throw new CorruptData(`${key}: ${err.message}`);
      throw err;
    }
    return JSON.parse(plain.toString('utf8')) as T;
  }

  /**
   * A 32-hex-character name for `text` (e.g. a resource key) in object keys: a SHA-256 prefix,
   * keyed (HMAC) in an encrypted bank so names do not tell which resources a bank holds.
   */
  async objectName(text: string): Promise<string> {
    const spec = await this.ready(false);
    const digest = spec.keys ? keyedId(spec.keys.idKey, `name:${text}`) : createHash('sha256').update(text).digest('hex');
    return digest.slice(0, 32);
  }

  /** A chunk's bytes, checked against its id (for copying chunks between banks). */
  async chunk(id: string): Promise<Buffer> {
    return this.readChunk(await this.ready(false), id);
  }

  /**
   * Stores a chunk read from another bank under the same id; returns the bytes it added (0 when
   * this bank has it). Refuses when this bank would name the chunk otherwise (one bank is
   * encrypted, or they hash differently): the copy's manifests would then point at nothing.
   */
  async putChunk(id: string, data: Buffer): Promise<number> {
    const spec = await this.ready(true);
    await this.repairUnsynced();
    // A copy: the work may take the bytes to another thread, and the caller still has them.
    const hashed = await this.work.hash(spec, Buffer.from(data));
    try {
      if (hashed.id !== id) {
        throw new Error(
          'the two banks name chunks differently (an encrypted bank keys its chunk ids), so data cannot be copied between them',
        );
      }
      return await this.ensure(hashed);
    } finally {
      hashed.drop();
    }
  }

  /**
   * Where a chunk of `bytes` bytes is compressed or opened: a small one here, since a round trip
   * to a worker (two messages, a transfer, a wake-up) costs this thread more than zstd and
   * SHA-256 of a few KiB; everything larger in the work.
   */
  private workFor(bytes: number): ChunkWork {
    return bytes <= IN_THREAD_MAX ? IN_THREAD : this.work;
  }

  private async storeChunk(spec: ChunkCodecSpec, data: Buffer): Promise<StoredChunk> {
    const length = data.length;
    const hashed = await this.work.hash(spec, data);
    try {
      return { id: hashed.id, length, added: await this.ensure(hashed) };
    } finally {
      hashed.drop();
    }
  }

  /** Stores a chunk unless the bank has it; one writer per id (a second waits for the first). */
  private ensure(hashed: HashedChunk): Promise<number> {
    const { id } = hashed;
    const before = this.writing.get(id);
    const job = (async () => {
      if (before) await before.catch(noop);
      if (this.known.has(id)) return 0;
      if ((await this.bank.stat(chunkKey(id))) === undefined) {
        const stored = await hashed.seal();
        await this.putChunkObject(chunkKey(id), stored);
        this.known.add(id);
        return stored.length;
      }
      this.known.add(id);
      return 0;
    })();
    this.writing.set(id, job);
    void job
      .finally(() => {
        if (this.writing.get(id) === job) this.writing.delete(id);
      })
      .catch(noop);
    return job;
  }

  /** A manifest's chunks in order, read and checked `work.parallelism` at a time. */
  private async *readChunks(manifest: Manifest): AsyncGenerator<Buffer> {
    const spec = await this.ready(false);
    const ahead: Promise<Buffer>[] = [];
    let next = 0;
    try {
      while (next < manifest.chunks.length || ahead.length) {
        while (ahead.length < this.work.parallelism && next < manifest.chunks.length) {
          const c = manifest.chunks[next++]!;
          const p = this.readChunk(spec, c.id, c.length);
          p.catch(noop);
          ahead.push(p);
        }
        yield await ahead.shift()!;
      }
    } finally {
      await Promise.allSettled(ahead);
    }
  }

  private async readChunk(spec: ChunkCodecSpec, id: string, length?: number): Promise<Buffer> {
    const direct = this.bank.direct?.();
    if (direct && this.work.readChunk) {
      try {
        return await this.work.readChunk(spec, { bankDir: direct.dir, id, length });
      } catch (err) {
        if (err instanceof ChunkUnreadable) throw new CorruptData(err.message);
        throw err;
      }
    }
    let stored: Buffer;
    try {
      stored = await this.bank.get(chunkKey(id));
    } catch (err) {
      throw new CorruptData(`chunk ${id} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      // Judged by the decoded size: a chunk of zeros stores in a few bytes but decodes to MiB.
      return await this.workFor(length ?? Infinity).open(spec, stored, id, length);
    } catch (err) {
      if (err instanceof ChunkUnreadable) throw new CorruptData(err.message);
      throw err;
    }
  }
}
