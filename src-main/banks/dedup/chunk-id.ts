/**
 * Chunk ids: a 256-bit digest of the *uncompressed* chunk bytes, as 64 lowercase hex characters.
 *
 * Two algorithms:
 *  - `blake3` (preferred): native BLAKE3 through `@napi-rs/blake-hash` (napi-rs, MIT; prebuilt Node-API binaries for
 *    Linux/macOS/Windows x64 and arm64, so it also loads in Electron without a rebuild). About 5x faster than
 *    SHA-256 here (≈4 GB/s against ≈0.85 GB/s with SHA-NI on 1 MiB chunks).
 *  - `sha256`: node:crypto, always available.
 *
 * The two give different ids for the same bytes, so the algorithm is part of a bank's format: a bank records
 * which one it uses when it is created ({@link preferredChunkIdAlgorithm} picks BLAKE3 when its native module
 * loads, SHA-256 otherwise) and passes it explicitly from then on. Nothing here silently switches algorithm:
 * asking for `blake3` where it cannot load throws {@link ChunkIdUnavailableError}.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

export type ChunkIdAlgorithm = 'blake3' | 'sha256';

export const CHUNK_ID_ALGORITHMS: readonly ChunkIdAlgorithm[] = Object.freeze(['blake3', 'sha256']);

/** 64 lowercase hex characters (both algorithms give 32-byte digests). */
export const CHUNK_ID_RE = /^[0-9a-f]{64}$/;

export function isChunkId(value: unknown): value is string {
  return typeof value === 'string' && CHUNK_ID_RE.test(value);
}

export function isChunkIdAlgorithm(value: unknown): value is ChunkIdAlgorithm {
  return value === 'blake3' || value === 'sha256';
}

export class ChunkIdUnavailableError extends Error {
  readonly code = 'CHUNK_ID_UNAVAILABLE';
  constructor(
    readonly algorithm: ChunkIdAlgorithm,
    options?: { cause?: unknown },
  ) {
    super(`chunk id algorithm '${algorithm}' is not available on this machine`, options);
    this.name = 'ChunkIdUnavailableError';
  }
}

/** The part of `@napi-rs/blake-hash` used here. */
interface Blake3Module {
  blake3(input: Uint8Array): Buffer;
  Blake3Hasher: new () => { update(input: Uint8Array): unknown; digestBuffer(): Buffer };
}

let blake3Module: Blake3Module | undefined;
let blake3LoadError: unknown;

function loadBlake3(): Blake3Module | undefined {
  if (blake3Module || blake3LoadError !== undefined) return blake3Module;
  try {
    // Loaded lazily and through require so that a missing native binary disables BLAKE3 instead of failing
    // the whole module graph (electron-vite polyfills import.meta.url in its CommonJS output).
    const mod = createRequire(import.meta.url)('@napi-rs/blake-hash') as Partial<Blake3Module>;
    if (typeof mod.blake3 !== 'function' || typeof mod.Blake3Hasher !== 'function') throw new Error('unexpected module shape');
    blake3Module = mod as Blake3Module;
  } catch (err) {
    blake3LoadError = err ?? new Error('load failed');
  }
  return blake3Module;
}

function requireBlake3(): Blake3Module {
  const mod = loadBlake3();
  if (!mod) throw new ChunkIdUnavailableError('blake3', { cause: blake3LoadError });
  return mod;
}

export function isChunkIdAlgorithmAvailable(algorithm: ChunkIdAlgorithm): boolean {
  return algorithm === 'sha256' || loadBlake3() !== undefined;
}

/** The algorithm a new bank should record: BLAKE3 where its native module loads, else SHA-256. */
export function preferredChunkIdAlgorithm(): ChunkIdAlgorithm {
  return isChunkIdAlgorithmAvailable('blake3') ? 'blake3' : 'sha256';
}

/** The id of a chunk: hex digest of its uncompressed bytes. */
export function chunkId(data: Uint8Array, algorithm: ChunkIdAlgorithm): string {
  switch (algorithm) {
    case 'blake3':
      return requireBlake3().blake3(data).toString('hex');
    case 'sha256':
      return createHash('sha256').update(data).digest('hex');
    default:
      throw new TypeError(`unknown chunk id algorithm: ${String(algorithm)}`);
  }
}

/** Incremental form of {@link chunkId}, for data that arrives in pieces. */
export interface ChunkIdHasher {
  readonly algorithm: ChunkIdAlgorithm;
  update(data: Uint8Array): this;
  /** The id; the hasher must not be used afterwards. */
  digest(): string;
}

export function createChunkIdHasher(algorithm: ChunkIdAlgorithm): ChunkIdHasher {
  let done = false;
  const check = (): void => {
    if (done) throw new Error('chunk id hasher already finalized');
  };
  if (algorithm === 'blake3') {
    const h = new (requireBlake3().Blake3Hasher)();
    return {
      algorithm,
      update(data) {
        check();
        h.update(data);
        return this;
      },
      digest() {
        check();
        done = true;
        return h.digestBuffer().toString('hex');
      },
    };
  }
  if (algorithm === 'sha256') {
    const h = createHash('sha256');
    return {
      algorithm,
      update(data) {
        check();
        h.update(data);
        return this;
      },
      digest() {
        check();
        done = true;
        return h.digest('hex');
      },
    };
  }
  throw new TypeError(`unknown chunk id algorithm: ${String(algorithm)}`);
}
