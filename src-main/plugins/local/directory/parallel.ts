import { eachLimit } from '../../../engine/each-limit';

export { eachLimit };

/** Small files handled at once by one directory resource: small files are dominated by I/O latency. */
export const FILE_CONCURRENCY = 8;
/**
 * Large files streamed at once: each holds several chunks in flight, and two keep both chunk
 * workers busy; more would only add memory.
 */
export const LARGE_FILE_CONCURRENCY = 2;
/** Files up to this size are handled in memory at once (FILE_CONCURRENCY of them at most). */
export const SMALL_FILE = 1024 * 1024;

/**
 * Runs `fn` over files, small ones (up to {@link SMALL_FILE}) {@link FILE_CONCURRENCY} at a time
 * beside large ones {@link LARGE_FILE_CONCURRENCY} at a time. The first failure stops both groups
 * and is thrown once everything running has settled.
 */
export async function eachFile<T extends { size: number }>(files: readonly T[], fn: (file: T) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const group = (list: readonly T[], limit: number): Promise<void> =>
    eachLimit(list, limit, async (f) => {
      stop.signal.throwIfAborted();
      await fn(f);
    }).catch((err: unknown) => {
      if (!stop.signal.aborted) stop.abort(err);
      throw err;
    });
  const settled = await Promise.allSettled([
    group(
      files.filter((f) => f.size <= SMALL_FILE),
      FILE_CONCURRENCY,
    ),
    group(
      files.filter((f) => f.size > SMALL_FILE),
      LARGE_FILE_CONCURRENCY,
    ),
  ]);
  if (stop.signal.aborted) throw stop.signal.reason;
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
}
