import type { Readable } from 'node:stream';
import { chunkId, preferredChunkIdAlgorithm, type ChunkIdAlgorithm } from '../dedup/chunk-id';
import { compressChunk, decompressChunk } from '../dedup/compress';
import { chunkStream, type FastCdcOptions } from '../dedup/fastcdc';
import type { DedupCodec } from './types';

/** Target ~1 MiB chunks, bounded 256 KiB – 4 MiB. */
export const BANK_CHUNKING: FastCdcOptions = { minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 };

/** FastCDC chunks, zstd frames (raw when it does not help), ids by the bank's hash algorithm. */
export function dedupCodec(
  algorithm: ChunkIdAlgorithm = preferredChunkIdAlgorithm(),
  chunking: FastCdcOptions = BANK_CHUNKING,
): DedupCodec {
  return {
    async *chunks(input: Readable) {
      for await (const c of chunkStream(input, chunking)) yield c.data;
    },
    compress: (chunk) => compressChunk(chunk),
    decompress: (stored) => decompressChunk(stored),
    id: (chunk) => chunkId(chunk, algorithm),
  };
}
