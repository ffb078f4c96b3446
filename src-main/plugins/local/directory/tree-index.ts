import fs from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { DirItem } from '../../../banks/store/chunk-codec';
import type { JsonObject } from '../../../engine/db/schema/common';

/** One entry of a directory tree as a checkpoint records it. */
export interface TreeEntry {
  /** Path relative to the protected root, '/'-separated ('' is the root itself). */
  p: string;
  t: 'f' | 'd' | 'l';
  mode: number;
  /** As `fs.Stats.mtimeMs` gives it (what the unchanged-file check compares). */
  mtimeMs: number;
  /** Exact mtime in nanoseconds (decimal string); absent in indexes written before it was kept. */
  mtimeNs?: string;
  size: number;
  ino: number;
  /** Symlink target. */
  target?: string;
  /** Where a file's content is stored (a chunk-store manifest). */
  data?: JsonObject;
}

export interface WalkOptions {
  include?: string[];
  exclude?: string[];
  /**
   * Lists a directory with the lstat of every entry elsewhere (a worker thread): one round trip
   * per directory instead of one per entry. Undefined (or no function) walks with this thread's
   * file-system calls.
   */
  list?: (dir: string) => Promise<DirItem[]> | undefined;
}

/** A visited path: its entry (unless filtered out) and its children, being visited already. */
interface Visited {
  entry?: TreeEntry;
  children: Promise<Visited>[];
}

/**
 * Walks a tree depth-first in name order without following symlinks. `include` globs (when
 * given) select files; `exclude` globs drop files and whole directories.
 *
 * Entries come out in order, but every directory's children are listed and stat'ed ahead of the
 * walk, up to {@link WALK_AHEAD} calls at a time: a stat is a round trip to the I/O threads, and
 * thousands of them one after another were most of the time of a protect that found nothing
 * changed. An error (unreadable directory) surfaces when the walk reaches that path; once the
 * walk ends, by error or not, nothing more is read ahead.
 */
export async function* walkTree(root: string, opts: WalkOptions = {}): AsyncGenerator<TreeEntry> {
  const inc = opts.include?.length ? picomatch(opts.include, { dot: true }) : undefined;
  const exc = opts.exclude?.length ? picomatch(opts.exclude, { dot: true }) : undefined;
  const io = ioLimiter(WALK_AHEAD);
  const abs = (rel: string): string => (rel ? path.join(root, rel) : root);
  const settled = (v: Promise<Visited>): Promise<Visited> => {
    // Awaited when the walk gets there; until then a failure must not count as unhandled.
    v.catch(() => undefined);
    return v;
  };
  /** A directory whose entries a worker lists with their lstat, one call per directory. */
  const listed = (
    rel: string,
    base: Omit<TreeEntry, 't'>,
    list: NonNullable<WalkOptions['list']>,
    listing?: Promise<DirItem[]>,
  ): Promise<Visited> =>
    settled(
      (async (): Promise<Visited> => {
        const items = (await (listing ?? io(async () => list(abs(rel))))) ?? [];
        const children: Promise<Visited>[] = [];
        for (const item of items) {
          const child = rel ? `${rel}/${item.name}` : item.name;
          if (exc?.(child)) continue;
          if ('error' in item) {
            children.push(settled(Promise.reject(Object.assign(new Error(item.error.message), { code: item.error.code }))));
            continue;
          }
          const b = {
            p: child,
            mode: item.mode,
            mtimeMs: statsMs(BigInt(item.mtimeNs)),
            mtimeNs: item.mtimeNs,
            size: item.size,
            ino: item.ino,
          };
          const wanted = !inc || inc(child);
          if (item.kind === 'd') children.push(listed(child, b, list));
          else {
            const entry: TreeEntry | undefined =
              !wanted || item.kind === 'o' ? undefined : item.kind === 'l' ? { ...b, t: 'l', target: item.target ?? '' } : { ...b, t: 'f' };
            children.push(Promise.resolve({ entry, children: [] }));
          }
        }
        return { entry: { ...base, t: 'd', size: 0 }, children };
      })(),
    );
  const visit = (rel: string): Promise<Visited> => {
    const visited = (async (): Promise<Visited> => {
      const st = await io(() => fs.lstat(abs(rel), { bigint: true }));
      const base = {
        p: rel,
        mode: Number(st.mode) & 0o7777,
        mtimeMs: statsMs(st.mtimeNs),
        mtimeNs: st.mtimeNs.toString(),
        size: Number(st.size),
        ino: Number(st.ino),
      };
      const wanted = !inc || inc(rel);
      if (st.isSymbolicLink())
        return { entry: wanted ? { ...base, t: 'l', target: await io(() => fs.readlink(abs(rel))) } : undefined, children: [] };
      if (st.isDirectory()) {
        // The root tells whether a worker lists directories: then every directory is listed there.
        const listing = rel === '' ? opts.list?.(root) : undefined;
        if (listing && opts.list) return listed('', base, opts.list, listing);
        const names = (await io(() => fs.readdir(abs(rel)))).sort();
        const children = names.map((name) => (rel ? `${rel}/${name}` : name)).filter((child) => !exc?.(child));
        return { entry: { ...base, t: 'd', size: 0 }, children: children.map(visit) };
      }
      // Sockets, FIFOs and devices are not data: skipped.
      return { entry: st.isFile() && wanted ? { ...base, t: 'f' } : undefined, children: [] };
    })();
    return settled(visited);
  };
  // Depth first, each directory's entries in order, with an explicit stack: nested generators
  // would pass every entry up through one generator per level.
  async function* flatten(root: Promise<Visited>): AsyncGenerator<TreeEntry> {
    const stack = [root];
    for (let next = stack.pop(); next; next = stack.pop()) {
      const v = await next;
      if (v.entry) yield v.entry;
      for (let i = v.children.length - 1; i >= 0; i--) stack.push(v.children[i]!);
    }
  }
  try {
    yield* flatten(visit(''));
  } finally {
    io.stop();
  }
}

/** File system calls the walk keeps in flight at most (libuv has 4 I/O threads; others need them too). */
const WALK_AHEAD = 32;

/** Runs calls at most `limit` at a time, in the order they ask; after `stop()` no queued call runs. */
function ioLimiter(limit: number): { <T>(fn: () => Promise<T>): Promise<T>; stop(): void } {
  let running = 0;
  let stopped = false;
  const waiting: ((go: boolean) => void)[] = [];
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= limit || stopped) {
      // A finishing call hands its slot over directly, so the count never overshoots.
      if (!(await new Promise<boolean>((resolve) => (stopped ? resolve(false) : waiting.push(resolve))))) {
        throw new Error('the walk has ended');
      }
    } else running++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next(true);
      else running--;
    }
  };
  return Object.assign(run, {
    stop(): void {
      stopped = true;
      for (const w of waiting.splice(0)) w(false);
    },
  });
}

/**
 * `mtimeMs` exactly as a non-bigint `fs.lstat` computes it (`sec * 1e3 + nsec / 1e6`), so indexes
 * written before `mtimeNs` existed still match unchanged files.
 */
function statsMs(ns: bigint): number {
  let sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  if (nsec < 0n) {
    nsec += 1_000_000_000n;
    sec -= 1n;
  }
  return Number(sec) * 1e3 + Number(nsec) / 1e6;
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
