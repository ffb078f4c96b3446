import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { FastCdcChunker, type FastCdcOptions } from '../dedup/fastcdc';
import type { Logger } from '../../engine/log';
import {
  chunkIdOf,
  ChunkUnreadable,
  openChunk,
  ownedBytes,
  sealChunk,
  type ChunkCodecSpec,
  type ChunkReply,
  type ChunkRequest,
  type ReadChunkRequest,
  type RestoreFileRequest,
  type StoreFileRequest,
  type StoreFileResult,
} from './chunk-codec';
import startChunkWorker from './chunk.worker?nodeWorker';
import type { WalkBatch, WalkFilter } from './walk-sync';

/** Entries a worker sends per message of a tree walk. */
const WALK_BATCH = 1024;

/** A hashed chunk waiting for the store to decide whether the bank needs it. */
export interface HashedChunk {
  readonly id: string;
  /** Its stored form (compressed, encrypted for an encrypted bank). */
  seal(): Promise<Buffer>;
  /** Not needed (the bank has it): frees it. Idempotent, a no-op after `seal()`. */
  drop(): void;
}

/**
 * Content-defined chunking of one stream, with the stream's SHA-256. Boundaries do not depend on
 * how the input is split into pushes.
 */
export interface StreamCutter {
  /** Adds input (the cutter may take `data` to another thread: do not use it afterwards); resolves to the chunks now final. */
  push(data: Buffer): Promise<Buffer[]>;
  /** Ends the input: the last chunks and the SHA-256 of everything pushed. */
  finish(): Promise<{ chunks: Buffer[]; sha256: string }>;
  /** Gives up on the stream (after an error), freeing what the cutter holds. */
  abandon(): void;
}

/** Where a chunk store's CPU work runs: this thread ({@link IN_THREAD}) or a {@link ChunkWorkerPool}. */
export interface ChunkWork {
  /** How many chunks a put or read should keep in flight to keep this busy. */
  readonly parallelism: number;
  /** Starts chunking a stream. */
  cutter(chunking: FastCdcOptions): StreamCutter;
  /** Hashes a chunk. The chunk's bytes may be handed to another thread: do not use `data` afterwards. */
  hash(spec: ChunkCodecSpec, data: Buffer): Promise<HashedChunk>;
  /**
   * The stored form of a chunk whose id the caller already computed (small streams are hashed
   * where they are read: one round trip instead of two). `data` may be handed to another thread.
   */
  seal(spec: ChunkCodecSpec, data: Buffer, id: string): Promise<Buffer>;
  /** @throws ChunkUnreadable when the stored chunk is damaged or is not the chunk `id` names. */
  open(spec: ChunkCodecSpec, stored: Buffer, id: string, length?: number): Promise<Buffer>;
  /**
   * Reads a small file and stores it as one chunk straight into a local bank (direct-files.ts).
   * Absent where the work runs in this thread.
   * @throws WorkerBankError when the bank's file cannot be written; the file's own errors as they are.
   */
  storeFile?(spec: ChunkCodecSpec, req: StoreFileRequest): Promise<StoreFileResult>;
  /**
   * Writes a one-chunk stream of a local bank into a new file, with its mode and times.
   * @throws ChunkUnreadable for a missing or damaged chunk; the target's errors as they are.
   */
  restoreFile?(spec: ChunkCodecSpec, req: RestoreFileRequest): Promise<void>;
  /**
   * Walks a tree in a worker (walk-sync.ts), a batch per message, the next batch asked for while
   * the caller takes this one. Absent where the work runs in this thread.
   */
  walk?(root: string, filter: WalkFilter): AsyncGenerator<WalkBatch>;
  /**
   * Reads a chunk of a local bank and opens it (direct-files.ts): one message instead of the
   * file calls on this thread and the stored bytes sent across. Absent where the work runs in this thread.
   * @throws ChunkUnreadable for a missing, unreadable or damaged chunk
   */
  readChunk?(spec: ChunkCodecSpec, req: ReadChunkRequest): Promise<Buffer>;
}

/** A chunk worker could not read or write a bank file: its errno code and message. */
export class WorkerBankError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'WorkerBankError';
  }
}

/** Chunk work in the calling thread: for tools and tests that run without a pool. */
export const IN_THREAD: ChunkWork = {
  parallelism: 2,
  cutter(chunking) {
    const chunker = new FastCdcChunker(chunking);
    const whole = createHash('sha256');
    return {
      push: async (data) => {
        whole.update(data);
        return chunker.push(data).map((c) => c.data);
      },
      finish: async () => ({ chunks: chunker.finish().map((c) => c.data), sha256: whole.digest('hex') }),
      abandon: () => undefined,
    };
  },
  async hash(spec, data) {
    const id = chunkIdOf(spec, data);
    return { id, seal: async () => sealChunk(spec, data, id), drop: () => undefined };
  },
  async seal(spec, data, id) {
    return sealChunk(spec, data, id);
  },
  async open(spec, stored, id, length) {
    return openChunk(spec, stored, id, length);
  },
};

/** A chunk worker died (crashed, killed, out of memory) while it had work: the operation using it fails. */
export class ChunkWorkerCrashed extends Error {
  readonly code = 'CHUNK_WORKER_CRASHED';
  constructor(reason: string) {
    super(`a chunk worker stopped unexpectedly (${reason}); the operation was abandoned`);
    this.name = 'ChunkWorkerCrashed';
  }
}

export interface ChunkWorkerPoolOptions {
  /** Workers at most (default: available cores, at most 4). */
  size?: number;
  log?: Logger;
  /** Starts one worker; the default runs chunk.worker.ts (bundled beside the engine by electron-vite). */
  spawn?: () => Worker;
  /** A worker with no work and no state for this long stops, giving its memory back (default 30 s). */
  idleMs?: number;
}

interface Call {
  resolve(reply: ChunkReply): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  calls: Map<number, Call>;
  /** Streams being cut here (their chunker state lives in this worker). */
  streams: number;
  /** Other state this worker keeps for the caller: hashed chunks awaiting seal or drop, tree walks. */
  held: number;
  /** Stops the worker once it has had nothing to do for the pool's idle time. */
  idle?: NodeJS.Timeout;
  dead?: Error;
}

/**
 * A small pool of chunk workers shared by every chunk store of an engine, so heavy data work
 * (hashing, zstd, AES-GCM) runs beside the main thread, which keeps serving the API and is the
 * only one to write SQLite. Workers start on first use, up to `size`; each is unref'd while it has
 * nothing to do, so an idle pool never keeps the process alive, and stops after `idleMs` without
 * work, so an engine between protects holds no worker's memory. A worker that dies fails only the
 * calls it had (with {@link ChunkWorkerCrashed}); the next call starts a fresh one.
 */
export class ChunkWorkerPool implements ChunkWork {
  readonly size: number;
  readonly parallelism: number;
  private readonly slots: Slot[] = [];
  private readonly spawn: () => Worker;
  private seq = 0;
  private closed = false;
  private readonly idleMs: number;

  constructor(private readonly opts: ChunkWorkerPoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? Math.min(os.availableParallelism(), 4));
    // Two per worker: one being worked on, one queued, so a worker never waits for the main thread.
    this.parallelism = 2 * this.size;
    this.spawn = opts.spawn ?? (() => startChunkWorker({ name: 'karbor-chunk-worker' }));
    this.idleMs = opts.idleMs ?? 30_000;
  }

  /** Workers running now (they start on demand). */
  get running(): number {
    return this.slots.length;
  }

  async hash(spec: ChunkCodecSpec, data: Buffer): Promise<HashedChunk> {
    const slot = this.pick();
    const bytes = ownedBytes(data);
    const ticket = ++this.seq;
    const reply = await this.call(slot, { t: 'hash', n: ticket, spec, data: bytes }, [bytes.buffer as ArrayBuffer]);
    if (!('id' in reply)) throw new Error('chunk worker: unexpected reply to hash');
    const id = reply.id;
    let state: 'held' | 'sealed' | 'dropped' = 'held';
    slot.held++;
    return {
      id,
      seal: async () => {
        if (state !== 'held') throw new Error(`chunk ${id} was already ${state}`);
        state = 'sealed';
        slot.held--;
        const r = await this.call(slot, { t: 'seal', n: ++this.seq, ticket, spec, id });
        if (!('data' in r)) throw new Error('chunk worker: unexpected reply to seal');
        return Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
      },
      drop: () => {
        if (state !== 'held') return;
        state = 'dropped';
        slot.held--;
        if (!slot.dead && !this.closed) slot.worker.postMessage({ t: 'drop', n: ++this.seq, ticket } satisfies ChunkRequest);
        this.settle(slot);
      },
    };
  }

  async seal(spec: ChunkCodecSpec, data: Buffer, id: string): Promise<Buffer> {
    const bytes = ownedBytes(data);
    const r = await this.call(this.pick(), { t: 'seal-data', n: ++this.seq, spec, data: bytes, id }, [bytes.buffer as ArrayBuffer]);
    if (!('data' in r)) throw new Error('chunk worker: unexpected reply to seal');
    return Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  }

  /** Chunking runs in one worker per stream (its state lives there), beside the hashing and compression of its chunks. */
  cutter(chunking: FastCdcOptions): StreamCutter {
    const slot = this.pickForStream();
    const stream = ++this.seq;
    slot.streams++;
    let open = true;
    const close = (): void => {
      if (!open) return;
      open = false;
      slot.streams--;
      this.settle(slot);
    };
    const buffers = (chunks: Uint8Array[]): Buffer[] => chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    return {
      push: async (data) => {
        const bytes = ownedBytes(data);
        const r = await this.call(slot, { t: 'cut', n: ++this.seq, stream, chunking, data: bytes }, [bytes.buffer as ArrayBuffer]);
        if (!('chunks' in r)) throw new Error('chunk worker: unexpected reply to cut');
        return buffers(r.chunks);
      },
      finish: async () => {
        close();
        const r = await this.call(slot, { t: 'cut-end', n: ++this.seq, stream, chunking });
        if (!('chunks' in r) || r.sha256 === undefined) throw new Error('chunk worker: unexpected reply to cut-end');
        return { chunks: buffers(r.chunks), sha256: r.sha256 };
      },
      abandon: () => {
        if (!open) return;
        close();
        if (!slot.dead && !this.closed) slot.worker.postMessage({ t: 'cut-drop', n: ++this.seq, stream } satisfies ChunkRequest);
      },
    };
  }

  async open(spec: ChunkCodecSpec, stored: Buffer, id: string, length?: number): Promise<Buffer> {
    const bytes = ownedBytes(stored);
    const r = await this.call(this.pick(), { t: 'open', n: ++this.seq, spec, stored: bytes, id, length }, [bytes.buffer as ArrayBuffer]);
    if (!('data' in r)) throw new Error('chunk worker: unexpected reply to open');
    return Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  }

  async storeFile(spec: ChunkCodecSpec, req: StoreFileRequest): Promise<StoreFileResult> {
    const r = await this.call(this.pick(), { t: 'store-file', n: ++this.seq, spec, ...req });
    if (!('stored' in r)) throw new Error('chunk worker: unexpected reply to store-file');
    return r.stored;
  }

  async restoreFile(spec: ChunkCodecSpec, req: RestoreFileRequest): Promise<void> {
    const r = await this.call(this.pick(), { t: 'restore-file', n: ++this.seq, spec, ...req });
    if (!('done' in r)) throw new Error('chunk worker: unexpected reply to restore-file');
  }

  async readChunk(spec: ChunkCodecSpec, req: ReadChunkRequest): Promise<Buffer> {
    const r = await this.call(this.pick(), { t: 'read-chunk', n: ++this.seq, spec, ...req });
    if (!('data' in r)) throw new Error('chunk worker: unexpected reply to read-chunk');
    return Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  }

  async *walk(root: string, filter: WalkFilter): AsyncGenerator<WalkBatch> {
    // The walk's state lives in one worker: every batch comes from there.
    const slot = this.pick();
    slot.held++;
    const walk = this.seq + 1;
    const ask = async (): Promise<WalkBatch> => {
      const r = await this.call(slot, { t: 'walk', n: ++this.seq, walk, root, max: WALK_BATCH, ...filter });
      if (!('walked' in r)) throw new Error('chunk worker: unexpected reply to walk');
      return r.walked;
    };
    let done = false;
    let asked: Promise<WalkBatch> | undefined = ask();
    try {
      while (asked) {
        const batch: WalkBatch = await asked;
        done = batch.done;
        asked = done ? undefined : ask();
        // Awaited in the next round; until then a failure must not count as unhandled.
        asked?.catch(() => undefined);
        yield batch;
      }
    } finally {
      if (!done && !slot.dead && !this.closed) slot.worker.postMessage({ t: 'walk-drop', n: ++this.seq, walk } satisfies ChunkRequest);
      slot.held--;
      this.settle(slot);
    }
  }

  /** Stops every worker; calls in flight fail. Later calls fail too. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map(async (s) => {
        this.kill(s, new Error('the chunk worker pool was closed'));
        await s.worker.terminate();
      }),
    );
  }

  /** An idle worker, a new one while under `size`, else the least busy. */
  private pick(): Slot {
    if (this.closed) throw new Error('the chunk worker pool was closed');
    const idle = this.slots.find((s) => s.calls.size === 0);
    if (idle) return idle;
    if (this.slots.length < this.size) return this.start();
    return this.slots.reduce((a, b) => (b.calls.size < a.calls.size ? b : a));
  }

  /**
   * The worker for a new stream's chunking: a new one while under `size`, else the one cutting
   * the fewest streams. Chunking is the heaviest step and a stream's cutting stays where it
   * started, so streams starting together (a directory's large files) must not share a worker.
   */
  private pickForStream(): Slot {
    if (this.closed) throw new Error('the chunk worker pool was closed');
    if (this.slots.length < this.size) return this.start();
    return this.slots.reduce((a, b) => (b.streams < a.streams || (b.streams === a.streams && b.calls.size < a.calls.size) ? b : a));
  }

  private start(): Slot {
    const worker = this.spawn();
    worker.unref();
    const slot: Slot = { worker, calls: new Map(), streams: 0, held: 0 };
    worker.on('message', (reply: ChunkReply) => {
      const call = slot.calls.get(reply.n);
      if (!call) return;
      slot.calls.delete(reply.n);
      if (slot.calls.size === 0) {
        worker.unref();
        this.settle(slot);
      }
      if ('error' in reply) call.reject(workerError(reply.error));
      else call.resolve(reply);
    });
    worker.on('error', (err) => this.kill(slot, new ChunkWorkerCrashed(err.message)));
    worker.on('exit', (code) => this.kill(slot, new ChunkWorkerCrashed(`exit code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  /** Arms the idle stop of a worker that has no work and holds nothing; a new call disarms it. */
  private settle(slot: Slot): void {
    clearTimeout(slot.idle);
    slot.idle = undefined;
    if (slot.dead || this.closed || slot.calls.size || slot.streams || slot.held) return;
    slot.idle = setTimeout(() => {
      // Out of the pool first, so no call picks it while it stops.
      this.kill(slot, new Error('the chunk worker stopped after its idle time'));
      void slot.worker.terminate();
    }, this.idleMs);
    slot.idle.unref();
  }

  /** Marks a worker dead and fails what it had. */
  private kill(slot: Slot, err: Error): void {
    if (slot.dead) return;
    clearTimeout(slot.idle);
    slot.dead = err;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    if (slot.calls.size && !this.closed) this.opts.log?.error('chunk worker died', { error: err.message, calls: slot.calls.size });
    for (const call of slot.calls.values()) call.reject(err);
    slot.calls.clear();
  }

  private call(slot: Slot, msg: ChunkRequest, transfer: ArrayBuffer[] = []): Promise<ChunkReply> {
    if (slot.dead) return Promise.reject(slot.dead);
    if (this.closed) return Promise.reject(new Error('the chunk worker pool was closed'));
    clearTimeout(slot.idle);
    slot.idle = undefined;
    return new Promise<ChunkReply>((resolve, reject) => {
      slot.calls.set(msg.n, { resolve, reject });
      // Referenced while it has work, so a script awaiting only chunk work is not cut short.
      if (slot.calls.size === 1) slot.worker.ref();
      slot.worker.postMessage(msg, transfer);
    });
  }
}

/** A worker's error as an error of this thread: typed where the caller tells kinds apart, with its errno code. */
function workerError(e: { name: string; message: string; code?: string; bank?: boolean }): Error {
  if (e.name === 'ChunkUnreadable') return new ChunkUnreadable(e.message);
  if (e.bank) return new WorkerBankError(e.message, e.code);
  return e.code ? Object.assign(new Error(e.message), { code: e.code }) : new Error(e.message);
}
