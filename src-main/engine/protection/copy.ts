import type { ChunkStore } from '../../banks/store/chunk-store';
import type { CheckpointIndex } from '../../banks/store/checkpoint-data';
import type { ProgressDelta } from '../providers/types';

/**
 * Copies a committed checkpoint's objects from one bank into another under a new checkpoint id,
 * in the order that keeps the target consistent after a crash: chunks first (each read back and
 * checked against its id, stored only when the target lacks it, so copies deduplicate), then the
 * manifests and `refs.json`, and the index last. Chunk ids, manifests and plugins' saved info stay
 * as they are, which is why both banks must be unencrypted and name chunks alike
 * (`ChunkStore.putChunk` refuses otherwise).
 */
export async function copyCheckpointObjects(
  source: ChunkStore,
  target: ChunkStore,
  sourceId: string,
  targetId: string,
  signal: AbortSignal,
  progress: (d: ProgressDelta) => void,
): Promise<{ chunks: number; newBytes: number }> {
  // An encrypted bank seals its objects and keys its chunk ids and folder names with its own keys:
  // a copy would have to re-encrypt and rename everything, which is not done (yet).
  if (source.encrypted || target.encrypted) {
    throw new Error('copying into or out of an encrypted bank is not supported: both providers need unencrypted banks');
  }
  const from = `checkpoints/${sourceId}/`;
  const to = `checkpoints/${targetId}/`;
  const index = await source.getObject<CheckpointIndex>(`${from}index.json`).catch(() => {
    throw new Error(`checkpoint ${sourceId} is not complete in its bank (no index), so it cannot be copied`);
  });
  const ids = await source.readRefs(`${from}refs.json`);
  // Before this copy writes anything, so a repair cannot take its objects for a crashed run's.
  await target.repairUnsynced();
  let newBytes = 0;
  progress({ totalItems: ids.length });
  for (const id of ids) {
    signal.throwIfAborted();
    const data = await source.chunk(id);
    newBytes += await target.putChunk(id, data);
    progress({ items: 1, bytes: data.length });
  }
  const keys: string[] = [];
  for await (const k of source.bank.list(from)) if (k !== `${from}index.json`) keys.push(k);
  for (const k of keys) {
    signal.throwIfAborted();
    await target.bank.put(`${to}${k.slice(from.length)}`, await source.bank.get(k));
  }
  await target.flush();
  await target.putObject(`${to}index.json`, { ...index, checkpointId: targetId });
  return { chunks: ids.length, newBytes };
}
