import { setImmediate } from 'node:timers/promises';
import { SyncWalk, type WalkBatch, type WalkEntry, type WalkFilter } from '../../../banks/store/walk-sync';
import type { JsonObject } from '../../../engine/db/schema/common';

/** One entry of a directory tree as a checkpoint records it. */
export interface TreeEntry extends WalkEntry {
  /** Where a file's content is stored (a chunk-store manifest). */
  data?: JsonObject;
}

export interface WalkOptions extends WalkFilter {
  /**
   * Walks elsewhere (a chunk worker), in batches; undefined (or no function) walks in this
   * thread, a batch at a time between other work.
   */
  batches?: (root: string, filter: WalkFilter) => AsyncIterable<WalkBatch> | undefined;
}

/** Entries this thread reads per turn when it walks itself. */
const IN_THREAD_BATCH = 256;

async function* inThread(root: string, filter: WalkFilter): AsyncGenerator<WalkBatch> {
  const walk = new SyncWalk(root, filter);
  for (;;) {
    const batch = walk.next(IN_THREAD_BATCH);
    yield batch;
    if (batch.done) return;
    await setImmediate();
  }
}

/**
 * Walks a tree depth-first in name order without following symlinks (banks/store/walk-sync.ts).
 * `include` globs (when given) select files; `exclude` globs drop files and whole directories.
 * A path that cannot be read fails the walk when it gets there, with the file system's error.
 */
export async function* walkTree(root: string, opts: WalkOptions = {}): AsyncGenerator<TreeEntry> {
  const filter: WalkFilter = { include: opts.include, exclude: opts.exclude };
  for await (const batch of opts.batches?.(root, filter) ?? inThread(root, filter)) {
    yield* batch.entries;
    if (batch.error) throw Object.assign(new Error(batch.error.message), { code: batch.error.code });
  }
}

/**
 * The seconds to hand `fs.utimes` so that a restore sets the recorded mtime to the microsecond.
 * libuv keeps whole microseconds by truncating the double, so passing `mtimeMs / 1000` lands a
 * microsecond early whenever the double falls just below (1.007 s is 1.00699999… s); aiming half
 * a microsecond past the wanted one makes the truncation exact.
 */
export function utimesSeconds(e: Pick<TreeEntry, 'mtimeMs' | 'mtimeNs'>): number {
  const us = e.mtimeNs !== undefined ? Number(BigInt(e.mtimeNs) / 1000n) : Math.round(e.mtimeMs * 1000);
  return (us + (us < 0 ? -0.5 : 0.5)) / 1e6;
}

/** True when a file looks unchanged since `prev` (same size, mtime and inode). */
export function unchanged(cur: TreeEntry, prev: TreeEntry | undefined): prev is TreeEntry & { data: JsonObject } {
  return Boolean(prev && prev.t === 'f' && prev.data && prev.size === cur.size && prev.mtimeMs === cur.mtimeMs && prev.ino === cur.ino);
}
