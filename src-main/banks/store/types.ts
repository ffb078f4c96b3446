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
