import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const BLOCK = 4 * 1024 * 1024;

/**
 * A seeded pseudo-random byte source (AES-256-CTR keystream): incompressible like real media,
 * yet the same bytes every run, so chunk boundaries and bank sizes are reproducible.
 */
export function seededStream(seed: string): (n: number) => Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (n) => cipher.update(Buffer.alloc(n));
}

/** Writes `size` seeded bytes in 4 MiB blocks. */
export function writeSeededFile(file: string, seed: string, size: number): void {
  const next = seededStream(seed);
  const fd = fs.openSync(file, 'w');
  try {
    for (let done = 0; done < size; done += BLOCK) fs.writeSync(fd, next(Math.min(BLOCK, size - done)));
  } finally {
    fs.closeSync(fd);
  }
}

/** Inserts `insert` at byte `at` of `file` (rewritten through a temp file in 4 MiB blocks). */
export function insertIntoFile(file: string, at: number, insert: Buffer): void {
  const tmp = `${file}.insert-tmp`;
  const src = fs.openSync(file, 'r');
  const dst = fs.openSync(tmp, 'w');
  const buf = Buffer.allocUnsafe(BLOCK);
  try {
    const copy = (from: number, to: number): void => {
      for (let pos = from; pos < to;) {
        const n = fs.readSync(src, buf, 0, Math.min(BLOCK, to - pos), pos);
        if (n === 0) break;
        fs.writeSync(dst, buf.subarray(0, n));
        pos += n;
      }
    };
    copy(0, at);
    fs.writeSync(dst, insert);
    copy(at, fs.fstatSync(src).size);
  } finally {
    fs.closeSync(src);
    fs.closeSync(dst);
  }
  fs.renameSync(tmp, file);
}

/** What a restore must reproduce of one entry: type, content, mode, mtime (µs) and link target. */
export interface EntryMeta {
  type: 'file' | 'dir' | 'symlink';
  mode: string;
  /** mtime in whole microseconds: what utimes can set through libuv. */
  mtimeUs: string;
  size?: number;
  sha256?: string;
  target?: string;
}

function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(BLOCK);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, BLOCK, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Every entry under `root` (the root itself as ''), keyed by '/'-separated relative path. */
export function snapshotTree(root: string): Record<string, EntryMeta> {
  const out: Record<string, EntryMeta> = {};
  const walk = (rel: string): void => {
    const abs = rel ? path.join(root, rel) : root;
    const st = fs.lstatSync(abs, { bigint: true });
    const base = { mode: (Number(st.mode) & 0o7777).toString(8), mtimeUs: (st.mtimeNs / 1000n).toString() };
    if (st.isSymbolicLink()) out[rel] = { type: 'symlink', ...base, target: fs.readlinkSync(abs) };
    else if (st.isDirectory()) {
      out[rel] = { type: 'dir', ...base };
      for (const n of fs.readdirSync(abs)) walk(rel ? `${rel}/${n}` : n);
    } else out[rel] = { type: 'file', ...base, size: Number(st.size), sha256: sha256File(abs) };
  };
  walk('');
  return out;
}

/** Bytes of all files under `dir` (apparent sizes) and what they occupy on disk (512-byte blocks). */
export function diskUsage(dir: string): { bytes: number; onDisk: number; files: number } {
  const u = { bytes: 0, onDisk: 0, files: 0 };
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const st = fs.statSync(path.join(e.parentPath, e.name));
    u.bytes += st.size;
    u.onDisk += st.blocks * 512;
    u.files++;
  }
  return u;
}

/** Every entry under `root` by relative path: `d`, `l <target>` or `f <sha256>` (contents only, for comparing restores). */
export function contentTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    const abs = path.join(e.parentPath, e.name);
    const rel = path.relative(root, abs);
    if (e.isSymbolicLink()) out[rel] = `l ${fs.readlinkSync(abs)}`;
    else if (e.isFile()) out[rel] = `f ${createHash('sha256').update(fs.readFileSync(abs)).digest('hex')}`;
    else out[rel] = 'd';
  }
  return out;
}
