/**
 * A directory tree walked with synchronous file-system calls, a batch of entries at a time: the
 * walk of a protect, run by a chunk worker (one message per batch) or, without workers, by the
 * calling thread between other work. Depth first, each directory's entries in name order,
 * symlinks not followed. `include` globs (when given) select files and symlinks; `exclude` globs
 * drop files and whole directories.
 *
 * A path that cannot be read (an entry's lstat, a directory's listing, a symlink's target) ends
 * the walk where it stands: the batch holds the entries before it and the error.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { errnoCode } from '../local/fs-util';

/** One path of a walked tree with its lstat, as a checkpoint's tree index records it. */
export interface WalkEntry {
  /** Path relative to the walked root, '/'-separated ('' is the root itself). */
  p: string;
  t: 'f' | 'd' | 'l';
  /** Permission bits. */
  mode: number;
  /** As `fs.Stats.mtimeMs` gives it (what the unchanged-file check compares). */
  mtimeMs: number;
  /** Exact mtime in nanoseconds (decimal string); absent in indexes written before it was kept. */
  mtimeNs?: string;
  /** Bytes (0 for a directory). */
  size: number;
  ino: number;
  /** Symlink target. */
  target?: string;
}

export interface WalkFilter {
  include?: string[];
  exclude?: string[];
}

export interface WalkBatch {
  entries: WalkEntry[];
  /** True once the walk has ended: every entry given, or `error`. */
  done: boolean;
  /** Why the walk stopped at the path after the last entry. */
  error?: { code?: string; message: string };
}

/** The calls a walk makes; tests hand in failing ones. */
export interface WalkFs {
  readdir(dir: string): string[];
  lstat(file: string): BigIntStats;
  readlink(file: string): string;
}

const realFs: WalkFs = {
  readdir: (dir) => readdirSync(dir),
  lstat: (file) => lstatSync(file, { bigint: true }),
  readlink: (file) => readlinkSync(file),
};

/**
 * `mtimeMs` exactly as a non-bigint `fs.lstat` computes it (`sec * 1e3 + nsec / 1e6`), so indexes
 * written before `mtimeNs` existed still match unchanged files.
 */
export function statsMs(ns: bigint): number {
  let sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  if (nsec < 0n) {
    nsec += 1_000_000_000n;
    sec -= 1n;
  }
  return Number(sec) * 1e3 + Number(nsec) / 1e6;
}

/** A directory being walked: its sorted names and the next one to visit. */
interface Frame {
  rel: string;
  abs: string;
  names: string[];
  next: number;
}

export class SyncWalk {
  private readonly inc: ((p: string) => boolean) | undefined;
  private readonly exc: ((p: string) => boolean) | undefined;
  private readonly stack: Frame[] = [];
  private started = false;
  private ended = false;

  constructor(
    private readonly root: string,
    filter: WalkFilter = {},
    private readonly fs: WalkFs = realFs,
  ) {
    this.inc = filter.include?.length ? picomatch(filter.include, { dot: true }) : undefined;
    this.exc = filter.exclude?.length ? picomatch(filter.exclude, { dot: true }) : undefined;
  }

  /** Up to `max` more entries (a directory's listing is read whole, so a batch may end early). */
  next(max: number): WalkBatch {
    const entries: WalkEntry[] = [];
    if (this.ended) return { entries, done: true };
    try {
      if (!this.started) {
        this.started = true;
        this.visit('', this.root, entries);
      }
      while (entries.length < max) {
        const top = this.stack.at(-1);
        if (!top) {
          this.ended = true;
          return { entries, done: true };
        }
        if (top.next >= top.names.length) {
          this.stack.pop();
          continue;
        }
        const name = top.names[top.next++]!;
        const rel = top.rel ? `${top.rel}/${name}` : name;
        if (!this.exc?.(rel)) this.visit(rel, path.join(top.abs, name), entries);
      }
      return { entries, done: false };
    } catch (err) {
      this.ended = true;
      this.stack.length = 0;
      return { entries, done: true, error: { code: errnoCode(err), message: err instanceof Error ? err.message : String(err) } };
    }
  }

  private visit(rel: string, abs: string, out: WalkEntry[]): void {
    const st = this.fs.lstat(abs);
    const base = {
      p: rel,
      mode: Number(st.mode) & 0o7777,
      mtimeMs: statsMs(st.mtimeNs),
      mtimeNs: st.mtimeNs.toString(),
      size: Number(st.size),
      ino: Number(st.ino),
    };
    if (st.isDirectory()) {
      // Listed before its entry is given: a directory that cannot be listed fails at its own path.
      const names = this.fs.readdir(abs).sort();
      out.push({ ...base, t: 'd', size: 0 });
      this.stack.push({ rel, abs, names, next: 0 });
      return;
    }
    const wanted = !this.inc || this.inc(rel);
    if (!wanted) return;
    if (st.isSymbolicLink()) out.push({ ...base, t: 'l', target: this.fs.readlink(abs) });
    else if (st.isFile()) out.push({ ...base, t: 'f' });
    // Sockets, FIFOs and devices are not data: skipped.
  }
}
