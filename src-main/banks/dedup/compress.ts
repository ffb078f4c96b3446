/**
 * Chunk compression for the deduplicating bank: Zstandard through `zstd-napi` (Node-API bindings with a bundled
 * libzstd; Apache-2.0), so the same binary serves Node and Electron.
 *
 * Stored form of a chunk (a "frame" below): one header byte naming the codec, then the payload.
 *   0x00 raw   payload = the chunk bytes as they are (used when zstd does not make them smaller, e.g.
 *              already-compressed or encrypted data, and for the empty chunk);
 *   0x01 zstd  payload = exactly one zstd frame that records the content size and carries a content checksum
 *              (XXH64-based), so a damaged payload is detected rather than decoded into wrong bytes.
 *
 * Decoding problems throw {@link ChunkCorruptError} (`code: 'CHUNK_CORRUPT'`, with a `reason`); the bank's chunk
 * id (a digest of the uncompressed bytes) gives the end-to-end check on top of that.
 */
import { createRequire } from 'node:module';
import type * as ZstdBinding from 'zstd-napi/binding';

export const CODEC_RAW = 0x00;
export const CODEC_ZSTD = 0x01;
export type ChunkCodec = 'raw' | 'zstd';

/** Default zstd level: zstd's own default, a good speed/ratio balance for backup data. */
export const DEFAULT_ZSTD_LEVEL = 3;
/** Default cap on a decoded chunk (FastCDC's largest allowed maximum chunk size is 16 MiB). */
export const DEFAULT_MAX_CHUNK_LENGTH = 64 * 1024 * 1024;

export type ChunkCorruptReason = 'empty' | 'unknown-codec' | 'bad-zstd-frame' | 'trailing-data' | 'too-large' | 'length-mismatch';

/** A stored chunk that cannot be decoded. */
export class ChunkCorruptError extends Error {
  readonly code = 'CHUNK_CORRUPT';
  constructor(
    readonly reason: ChunkCorruptReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`corrupt chunk (${reason}): ${message}`, options);
    this.name = 'ChunkCorruptError';
  }
}

/** The zstd native module could not be loaded on this machine. */
export class CompressionUnavailableError extends Error {
  readonly code = 'COMPRESSION_UNAVAILABLE';
  constructor(options?: { cause?: unknown }) {
    super('zstd (zstd-napi) is not available on this machine', options);
    this.name = 'CompressionUnavailableError';
  }
}

type Binding = typeof ZstdBinding;

interface Zstd {
  binding: Binding;
  cctx: ZstdBinding.CCtx;
  dctx: ZstdBinding.DCtx;
  level: number | undefined;
  scratch: Buffer;
}

let zstd: Zstd | undefined;

function loadZstd(): Zstd {
  if (zstd) return zstd;
  let binding: Binding;
  try {
    // The binding is a bare .node module: load it through require (electron-vite polyfills import.meta.url in
    // its CommonJS output), which also keeps a missing binary a typed error instead of a failed import.
    binding = createRequire(import.meta.url)('zstd-napi/binding') as Binding;
  } catch (err) {
    throw new CompressionUnavailableError({ cause: err });
  }
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.checksumFlag, 1);
  cctx.setParameter(binding.CParameter.contentSizeFlag, 1);
  zstd = { binding, cctx, dctx: new binding.DCtx(), level: undefined, scratch: Buffer.alloc(0) };
  return zstd;
}

/** Version of the bundled libzstd, e.g. "1.5.7". */
export function zstdVersion(): string {
  return loadZstd().binding.versionString();
}

export interface CompressChunkOptions {
  /** zstd compression level (default {@link DEFAULT_ZSTD_LEVEL}); negative levels are the fast modes. */
  level?: number;
}

/**
 * Encodes a chunk: zstd when that is smaller than the raw bytes, raw otherwise. Returns a new Buffer of
 * 1 + payload bytes.
 */
export function compressChunk(data: Uint8Array, opts: CompressChunkOptions = {}): Buffer {
  if (data.length === 0) return Buffer.from([CODEC_RAW]);
  const z = loadZstd();
  const level = opts.level ?? DEFAULT_ZSTD_LEVEL;
  if (level !== z.level) {
    const min = z.binding.minCLevel();
    const max = z.binding.maxCLevel();
    if (!Number.isInteger(level) || level < min || level > max) {
      throw new RangeError(`zstd level must be an integer in [${min}, ${max}] (0 = zstd's default), got ${String(level)}`);
    }
    z.cctx.setParameter(z.binding.CParameter.compressionLevel, level);
    z.level = level;
  }
  const bound = z.binding.compressBound(data.length);
  if (z.scratch.length < bound) z.scratch = Buffer.allocUnsafe(bound);
  const n = looksIncompressible(z, data) ? data.length : z.cctx.compress2(z.scratch, data);
  if (n >= data.length) {
    const out = Buffer.allocUnsafe(1 + data.length);
    out[0] = CODEC_RAW;
    out.set(data, 1);
    return out;
  }
  const out = Buffer.allocUnsafe(1 + n);
  out[0] = CODEC_ZSTD;
  z.scratch.copy(out, 1, 0, n);
  return out;
}

/** Chunks at least this large are probed before being compressed whole. */
const PROBE_FROM = 256 * 1024;
const PROBE_LENGTH = 64 * 1024;
/** A probe that shrinks by less than this stands for an incompressible chunk. */
const PROBE_MIN_SAVING = 0.03;

/**
 * Whether a large chunk is not worth compressing, judged by compressing 64 KiB from its middle:
 * random, encrypted and already-compressed data (media, archives) would cost a full zstd pass to
 * save nothing. Mixed data may lose a little compression; a chunk is never harmed.
 */
function looksIncompressible(z: Zstd, data: Uint8Array): boolean {
  if (data.length < PROBE_FROM) return false;
  const from = Math.floor((data.length - PROBE_LENGTH) / 2);
  const n = z.cctx.compress2(z.scratch, data.subarray(from, from + PROBE_LENGTH));
  return n > PROBE_LENGTH * (1 - PROBE_MIN_SAVING);
}

/** Which codec a stored chunk uses (throws {@link ChunkCorruptError} for an empty frame or unknown codec). */
export function chunkCodec(frame: Uint8Array): ChunkCodec {
  if (frame.length === 0) throw new ChunkCorruptError('empty', 'no header byte');
  const h = frame[0];
  if (h === CODEC_RAW) return 'raw';
  if (h === CODEC_ZSTD) return 'zstd';
  throw new ChunkCorruptError('unknown-codec', `unknown codec byte 0x${(h ?? 0).toString(16).padStart(2, '0')}`);
}

export interface DecompressChunkOptions {
  /** When known (from the bank's index), the exact decoded length; anything else is corruption. */
  expectedLength?: number;
  /** Refuse to decode more than this many bytes (default {@link DEFAULT_MAX_CHUNK_LENGTH}). */
  maxLength?: number;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Decodes a chunk made by {@link compressChunk}. Returns a new Buffer (never a view of `frame`). */
export function decompressChunk(frame: Uint8Array, opts: DecompressChunkOptions = {}): Buffer {
  const maxLength = opts.maxLength ?? DEFAULT_MAX_CHUNK_LENGTH;
  const codec = chunkCodec(frame);
  const payload = frame.subarray(1);
  const checkLength = (length: number): void => {
    if (length > maxLength) throw new ChunkCorruptError('too-large', `decoded size ${length} exceeds the limit of ${maxLength}`);
    if (opts.expectedLength !== undefined && length !== opts.expectedLength) {
      throw new ChunkCorruptError('length-mismatch', `decoded size ${length}, expected ${opts.expectedLength}`);
    }
  };
  if (codec === 'raw') {
    checkLength(payload.length);
    return Buffer.from(payload);
  }
  const z = loadZstd();
  let size: number | null;
  let frameLength: number;
  try {
    size = z.binding.getFrameContentSize(payload);
    frameLength = z.binding.findFrameCompressedSize(payload);
  } catch (err) {
    throw new ChunkCorruptError('bad-zstd-frame', errorMessage(err), { cause: err });
  }
  if (size === null) throw new ChunkCorruptError('bad-zstd-frame', 'zstd frame does not record its content size');
  if (frameLength !== payload.length) {
    throw new ChunkCorruptError('trailing-data', `${payload.length - frameLength} bytes after the zstd frame`);
  }
  checkLength(size);
  const out = Buffer.allocUnsafe(size);
  let n: number;
  try {
    n = z.dctx.decompress(out, payload);
  } catch (err) {
    // The context may be mid-frame after an error: start the next call from a clean state.
    z.dctx.reset(z.binding.ResetDirective.sessionOnly);
    throw new ChunkCorruptError('bad-zstd-frame', errorMessage(err), { cause: err });
  }
  if (n !== size) throw new ChunkCorruptError('bad-zstd-frame', `zstd produced ${n} bytes, frame header says ${size}`);
  return out;
}
