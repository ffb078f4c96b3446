import fs from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { JsonObject } from '../../../engine/db/schema/common';

/** One entry of a directory tree as a checkpoint records it. */
export interface TreeEntry {
  /** Path relative to the protected root, '/'-separated ('' is the root itself). */
  p: string;
  t: 'f' | 'd' | 'l';
  mode: number;
  mtimeMs: number;
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
}

/**
 * Walks a tree depth-first in name order without following symlinks. `include` globs (when
 * given) select files; `exclude` globs drop files and whole directories.
 */
export async function* walkTree(root: string, opts: WalkOptions = {}): AsyncGenerator<TreeEntry> {
  const inc = opts.include?.length ? picomatch(opts.include, { dot: true }) : undefined;
  const exc = opts.exclude?.length ? picomatch(opts.exclude, { dot: true }) : undefined;
  async function* visit(rel: string): AsyncGenerator<TreeEntry> {
    const abs = rel ? path.join(root, rel) : root;
    const st = await fs.lstat(abs);
    const base = { p: rel, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size: st.size, ino: st.ino };
    if (st.isSymbolicLink()) {
      if (!inc || inc(rel)) yield { ...base, t: 'l', target: await fs.readlink(abs) };
    } else if (st.isDirectory()) {
      yield { ...base, t: 'd', size: 0 };
      const names = (await fs.readdir(abs)).sort();
      for (const name of names) {
        const child = rel ? `${rel}/${name}` : name;
        if (exc?.(child)) continue;
        yield* visit(child);
      }
    } else if (st.isFile()) {
      if (!inc || inc(rel)) yield { ...base, t: 'f' };
    }
    // Sockets, FIFOs and devices are not data: skipped.
  }
  yield* visit('');
}

/** True when a file looks unchanged since `prev` (same size, mtime and inode). */
export function unchanged(cur: TreeEntry, prev: TreeEntry | undefined): prev is TreeEntry & { data: JsonObject } {
  return Boolean(prev && prev.t === 'f' && prev.data && prev.size === cur.size && prev.mtimeMs === cur.mtimeMs && prev.ino === cur.ino);
}
