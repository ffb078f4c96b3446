/**
 * How a chunk becomes a stored object and back, as plain data ({@link ChunkCodecSpec}) plus pure
 * functions over it, so the same code runs in this thread and in a chunk worker (chunk.worker.ts)
 * and both give byte-identical ids and frames.
 *
 * Plain bank: id = SHA-256 (or BLAKE3) of the chunk, stored = zstd frame (compress.ts).
 * Encrypted bank: id = HMAC-SHA256(idKey, chunk), so ids reveal nothing about content to whoever
 * can read the bank; stored = AES-256-GCM(dataKey) of the zstd frame, authenticated with the id
 * (sealed.ts).
 */
import { chunkId, type ChunkIdAlgorithm } from '../dedup/chunk-id';
import { compressChunk, decompressChunk, DEFAULT_ZSTD_LEVEL } from '../dedup/compress';
import type { FastCdcOptions } from '../dedup/fastcdc';
import { keyedId, seal, unseal, type BankKeys } from './sealed';
import type { WalkBatch, WalkFilter } from './walk-sync';

export interface ChunkCodecSpec {
  /** Id hash of a plain bank (an encrypted bank uses HMAC-SHA256 whatever this says). */
  algorithm: ChunkIdAlgorithm;
  /** zstd level. */
  level: number;
  /** FastCDC parameters: part of the bank's format, since they decide what deduplicates. */
  chunking: FastCdcOptions;
  /** Present for an encrypted bank. */
  keys?: BankKeys;
}

/** Target ~1 MiB chunks, bounded 256 KiB – 4 MiB. */
export const BANK_CHUNKING: FastCdcOptions = Object.freeze({ minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 });

export function chunkCodecSpec(algorithm: ChunkIdAlgorithm, chunking: FastCdcOptions = BANK_CHUNKING): ChunkCodecSpec {
  return { algorithm, level: DEFAULT_ZSTD_LEVEL, chunking };
}

/** The bank key of the chunk `id`. */
export const chunkKey = (id: string): string => `chunks/${id.slice(0, 2)}/${id}`;

/** A stored chunk that cannot be turned back into the chunk its id names. */
export class ChunkUnreadable extends Error {
  readonly code = 'CHUNK_UNREADABLE';
  constructor(message: string) {
    super(message);
    this.name = 'ChunkUnreadable';
  }
}

export function chunkIdOf(spec: ChunkCodecSpec, data: Uint8Array): string {
  return spec.keys ? keyedId(spec.keys.idKey, data) : chunkId(data, spec.algorithm);
}

/** The stored form of a chunk whose id is `id`. */
export function sealChunk(spec: ChunkCodecSpec, data: Uint8Array, id: string): Buffer {
  const frame = compressChunk(data, { level: spec.level });
  return spec.keys ? seal(spec.keys.dataKey, frame, `chunk:${id}`) : frame;
}

/** The chunk back from its stored form, checked against its id (and length, when known). @throws ChunkUnreadable */
export function openChunk(spec: ChunkCodecSpec, stored: Uint8Array, id: string, length?: number): Buffer {
  let data: Buffer;
  try {
    const frame = spec.keys ? unseal(spec.keys.dataKey, stored, `chunk:${id}`) : stored;
    data = decompressChunk(frame, { expectedLength: length });
  } catch (err) {
    throw new ChunkUnreadable(`chunk ${id} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (chunkIdOf(spec, data) !== id) throw new ChunkUnreadable(`chunk ${id} does not match its hash`);
  return data;
}

/**
 * A view that owns its whole ArrayBuffer, so it can be transferred to another thread: small
 * Buffers share Node's allocation pool (transferring that would detach the pool) and subarrays
 * share their parent, so those are copied.
 */
export function ownedBytes(buf: Uint8Array): Uint8Array {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf;
  return new Uint8Array(buf);
}

/** Messages to a chunk worker. `n` numbers requests; a reply carries the same `n`. */
export type ChunkRequest =
  /** Hash a chunk and keep it until a `seal` or `drop` names this request. */
  | { t: 'hash'; n: number; spec: ChunkCodecSpec; data: Uint8Array }
  | { t: 'seal'; n: number; ticket: number; spec: ChunkCodecSpec; id: string }
  | { t: 'drop'; n: number; ticket: number }
  /** Compress (and encrypt) a chunk the caller hashed itself. */
  | { t: 'seal-data'; n: number; spec: ChunkCodecSpec; data: Uint8Array; id: string }
  | { t: 'open'; n: number; spec: ChunkCodecSpec; stored: Uint8Array; id: string; length?: number }
  /** Content-defined chunking of one stream (`stream` = the number of its first push). */
  | { t: 'cut'; n: number; stream: number; chunking: FastCdcOptions; data: Uint8Array }
  | { t: 'cut-end'; n: number; stream: number; chunking: FastCdcOptions }
  | { t: 'cut-drop'; n: number; stream: number }
  /** Read a small file (at most one chunk) and store it in a local bank (direct-files.ts). */
  | ({ t: 'store-file'; n: number; spec: ChunkCodecSpec } & StoreFileRequest)
  /** Write a one-chunk stream of a local bank into a new file (direct-files.ts). */
  | ({ t: 'restore-file'; n: number; spec: ChunkCodecSpec } & RestoreFileRequest)
  /**
   * The next batch of a tree walk (walk-sync.ts; `walk` = the number of its first request, where
   * the walk starts), and giving one up.
   */
  | ({ t: 'walk'; n: number; walk: number; root: string; max: number } & WalkFilter)
  | { t: 'walk-drop'; n: number; walk: number }
  /** Read a chunk of a local bank and open it (direct-files.ts). */
  | ({ t: 'read-chunk'; n: number; spec: ChunkCodecSpec } & ReadChunkRequest);

/** A small file to store: the walk saw it as `size` bytes. */
export interface StoreFileRequest {
  file: string;
  size: number;
  /** The local bank's folder ({@link DirectFiles}). */
  bankDir: string;
}

export type StoreFileResult =
  /** It has grown past `size` since: nothing was stored. */
  | { grown: true }
  | {
      /** Its chunk's id ('' for an empty file), the file's SHA-256 and length. */
      id: string;
      sha256: string;
      length: number;
      /** Stored bytes written (0 when the bank had the chunk), the object file and the first folder made for it. */
      added: number;
      written?: string;
      created?: string;
    };

/** A chunk to read from a local bank's folder ({@link DirectFiles}) and open. */
export interface ReadChunkRequest {
  bankDir: string;
  id: string;
  /** Its decoded length, when the manifest names it. */
  length?: number;
}

export interface RestoreFileRequest {
  bankDir: string;
  id: string;
  length: number;
  dest: string;
  /** `open` flags: 'wx' (never overwrite) or 'w'. */
  flags: string;
  mode: number;
  /** Seconds. */
  atime: number;
  mtime: number;
}

export type ChunkReply =
  | { n: number; id: string }
  | { n: number; data: Uint8Array }
  | { n: number; chunks: Uint8Array[]; sha256?: string }
  | { n: number; stored: StoreFileResult }
  | { n: number; done: true }
  | { n: number; walked: WalkBatch }
  | { n: number; error: { name: string; message: string; code?: string; bank?: boolean } };
