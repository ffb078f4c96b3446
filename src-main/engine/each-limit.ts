/**
 * Runs `fn` over `items` with at most `limit` calls in flight. I/O-bound work (small files,
 * many small objects) is dominated by latency, so several at once keep the disk and the workers
 * busy. The first failure stops new calls and is thrown once the running ones have settled.
 */
export async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failed) throw failed.err;
}
