import type { Readable } from 'node:stream';
import type { PutOptions } from '../types';

/** The object operations the chunk store needs from a bank backend. */
export interface ObjectBank {
  put(key: string, data: Buffer | Readable, opts?: PutOptions): Promise<void>;
  /** Makes puts made with `deferSync` durable; absent where every put is durable when it resolves. */
  flush?(opts?: { everything?: boolean }): Promise<void>;
  get(key: string): Promise<Buffer>;
  stat(key: string): Promise<{ size: number } | undefined>;
  list(prefix: string): AsyncIterable<string>;
  delete(key: string): Promise<void>;
  /** Present where objects are files on this machine that a chunk worker may read and write itself. */
  direct?(): DirectFiles;
}

/**
 * A bank's objects as local files, for chunk workers that store and restore small files without a
 * round trip through this thread: they write an object as a temp file renamed over its target
 * (as `put` with `deferSync` does) and report it here, so the next flush covers it.
 */
export interface DirectFiles {
  /** The absolute folder of the bank; an object's file is {@link objectFile}(dir, key). */
  readonly dir: string;
  /** Records a file a worker wrote with deferred sync, and the first folder its mkdir created. */
  adopt(file: string, createdDir: string | undefined): void;
  /** A worker's failed bank read or write (its error code and message) as the bank's typed error. */
  error(code: string | undefined, message: string, what: string): Error;
}

/** One stored stream: its chunks in order, with the whole stream's size and SHA-256. */
export interface Manifest {
  version: 1;
  size: number;
  sha256: string;
  chunks: { id: string; length: number }[];
}

export interface PutResult {
  manifest: Manifest;
  /** Bytes read from the source. */
  bytes: number;
  /** Compressed bytes of chunks that were not in the bank before. */
  newBytes: number;
  newChunks: number;
}
