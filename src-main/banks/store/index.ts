/**
 * The chunk store as a library, for benchmarks and scripts (built to `out/main/chunk-store.js`):
 * `new ChunkStore(new LocalBank(dir), chunkCodecSpec('sha256'), { work: new ChunkWorkerPool() })`.
 */
export { LocalBank } from '../local/local-bank';
export { BANK_CHUNKING, chunkCodecSpec, type ChunkCodecSpec } from './chunk-codec';
export { ChunkWorkerPool, IN_THREAD, type ChunkWork } from './chunk-pool';
export { ChunkStore, CorruptData, type ChunkStoreOptions } from './chunk-store';
export { CheckpointData } from './checkpoint-data';
