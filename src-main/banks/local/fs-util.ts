import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Prefix of in-progress files (object puts and lease records). Keys may not start a segment with
 * `.`, so these can never collide with an object or show up in `list()`.
 */
export const TMP_PREFIX = '.tmp-';

/** Bookkeeping directory for leases, beside the objects (hidden from `list()` by its dot). */
export const LEASE_DIR = '.leases';

/** The file that holds `key` (already validated) in the bank folder `dir`. */
export function objectFile(dir: string, key: string): string {
  return path.join(dir, ...key.split('/'));
}

/** Error codes that mean "no such object here" when reading a key's path. */
export const MISSING = new Set(['ENOENT', 'ENOTDIR']);

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/**
 * Makes a rename or create inside `dir` durable. Some platforms cannot open or fsync a directory
 * (Windows: EISDIR/EPERM, some network filesystems: EINVAL); there the rename is as durable as
 * the platform allows, so those errors are ignored.
 */
export async function syncDir(dir: string): Promise<void> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    // ENOENT: a directory emptied and removed since (by a sweep) has nothing left to sync.
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'ENOTSUP', 'ENOENT'].includes(errnoCode(err) ?? '')) throw err;
  } finally {
    await fh?.close();
  }
}

/**
 * Directories to fsync after creating a file in `dir` when `fs.mkdir(dir, {recursive})` reported
 * `created` as the first directory it made: `dir` itself and every parent up to the one that
 * holds `created`'s entry.
 */
export function dirsToSync(dir: string, created: string | undefined): string[] {
  const out = [dir];
  if (created === undefined) return out;
  const stop = path.dirname(created);
  for (let d = dir; d !== stop && path.dirname(d) !== d;) {
    d = path.dirname(d);
    out.push(d);
  }
  return out;
}

/** Whether a best-effort operation worked (its error is not worth reporting). */
export const succeeded = (p: Promise<unknown>): Promise<boolean> =>
  p.then(
    () => true,
    () => false,
  );

/** Writes all of `buf` (a single write may be short). */
export async function writeAll(fh: fs.FileHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length;) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/** Every `.tmp-*` file under `root` (bookkeeping directories included), with its mtime. */
export async function* tempFiles(root: string): AsyncGenerator<{ file: string; mtimeMs: number }> {
  const entries = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const abs = path.join(root, e.name);
    if (e.isDirectory()) yield* tempFiles(abs);
    else if (e.isFile() && e.name.startsWith(TMP_PREFIX)) {
      const st = await fs.stat(abs).catch(() => undefined);
      if (st) yield { file: abs, mtimeMs: st.mtimeMs };
    }
  }
}

/**
 * fsync of one file. Opened for writing: Windows flushes only handles with write access. A file
 * deleted since it was written (a failed protect's chunks, swept) has nothing left to sync.
 */
export async function syncFile(file: string): Promise<void> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r+');
  } catch (err) {
    if (MISSING.has(errnoCode(err) ?? '')) return;
    throw err;
  }
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * `syncfs` of the file system holding `dir` through coreutils' `sync -f` (Node has no binding for
 * it): one journal commit for everything written there. Resolves false where that is unavailable
 * (not Linux, no `sync` with `-f`), so the caller syncs file by file instead.
 */
export function syncFileSystem(dir: string): Promise<boolean> {
  if (process.platform !== 'linux') return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('sync', ['-f', dir], { timeout: 10 * 60_000 }, (err) => resolve(!err));
  });
}
