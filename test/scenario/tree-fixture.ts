import fs from 'node:fs';
import path from 'node:path';
import { insertIntoFile, seededStream, writeSeededFile } from '../helpers/tree';

export const BIG_FILE = 'media/big.bin';
export const BIG_SIZE = 200 * 1024 * 1024;
const DOC_DIRS = 50;
const DOCS_PER_DIR = 100;

/** Names that differ only in Unicode normalisation are distinct files on Linux: both must survive. */
export const NFC_NAME = 'caf\u00e9.txt';
export const NFD_NAME = 'cafe\u0301.txt';

const docPath = (d: number, f: number): string =>
  `docs/d${String(d).padStart(2, '0')}/f${String(f).padStart(3, '0')}${f % 3 ? '.txt' : '.bin'}`;

/** Whole-second, whole-millisecond and microsecond mtimes, spread over decades. */
function mtimeFor(i: number): number {
  const base = 631_152_000 + ((i * 7_919_113) % 1_100_000_000); // 1990 … 2024
  if (i % 3 === 0) return base;
  if (i % 3 === 1) return base + ((i * 37) % 1000) / 1000;
  return base + ((i * 7919) % 1_000_000) / 1_000_000;
}

function write(root: string, rel: string, data: string | Buffer, opts: { mode?: number; mtime?: number } = {}): void {
  const abs = path.join(root, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, data);
  if (opts.mode !== undefined) fs.chmodSync(abs, opts.mode);
  if (opts.mtime !== undefined) fs.utimesSync(abs, opts.mtime, opts.mtime);
}

/**
 * The scenario's source tree: 5,000 small files (1 in 41 empty; text or seeded binary up to
 * 16 KiB, half with set mtimes, half with the kernel's nanosecond ones), one 200 MiB seeded file,
 * file/dir/dangling/absolute symlinks, NFC and NFD twins, CJK and emoji names, deep nesting,
 * modes 0600/0755/0444/0700/0555, and directory mtimes set last.
 */
export function makeTree(root: string, seed: string): void {
  const rnd = seededStream(`${seed}/small`);
  for (let d = 0; d < DOC_DIRS; d++) {
    for (let f = 0; f < DOCS_PER_DIR; f++) {
      const i = d * DOCS_PER_DIR + f;
      const size = i % 41 === 0 ? 0 : (i * 2_654_435_761) % (16 * 1024);
      const data = f % 3 ? Buffer.from(`line ${i} of ${docPath(d, f)}\n`.repeat(Math.ceil(size / 40))).subarray(0, size) : rnd(size);
      write(root, docPath(d, f), data, i % 2 ? { mtime: mtimeFor(i) } : {});
    }
  }
  fs.mkdirSync(path.join(root, 'media'));
  writeSeededFile(path.join(root, BIG_FILE), seed, BIG_SIZE);
  write(root, 'media/poster.jpg', rnd(300_000), { mtime: 1_234_567_890.5 });

  write(root, `unicode/${NFC_NAME}`, 'composed é\n', { mtime: mtimeFor(1) });
  write(root, `unicode/${NFD_NAME}`, 'decomposed é\n', { mtime: mtimeFor(2) });
  write(root, 'unicode/日本語/ファイル名.txt', 'こんにちは\n', { mtime: mtimeFor(4) });
  write(root, 'unicode/😀 émoji 🎉.md', '# 🎉\n', { mtime: mtimeFor(5) });
  write(root, 'unicode/📁 folder/naïve résumé.txt', '', { mtime: mtimeFor(7) });
  write(root, 'nested/a/b/c/d/e/f/g/h/deep.txt', 'deep\n', { mtime: mtimeFor(8) });
  fs.mkdirSync(path.join(root, 'empty-dir'));

  write(root, 'modes/private-0600', 'secret\n', { mode: 0o600, mtime: mtimeFor(10) });
  write(root, 'modes/script-0755.sh', '#!/bin/sh\necho hi\n', { mode: 0o755, mtime: mtimeFor(11) });
  write(root, 'modes/readonly-0444', 'do not touch\n', { mode: 0o444, mtime: mtimeFor(13) });
  write(root, 'modes/dir-0700/inside', 'x', { mtime: mtimeFor(14) });
  write(root, 'modes/dir-0555/inside', 'y', { mtime: mtimeFor(16) });
  fs.chmodSync(path.join(root, 'modes/dir-0700'), 0o700);
  fs.chmodSync(path.join(root, 'modes/dir-0555'), 0o555);

  fs.mkdirSync(path.join(root, 'links'));
  const links: [string, string][] = [
    ['links/to-file', '../docs/d00/f001.txt'],
    ['links/to-dir', '../nested/a'],
    ['links/dangling', '../no/such/file'],
    ['links/absolute', '/nonexistent/absolute/target'],
    ['links/日本語-link', '../unicode/日本語'],
  ];
  links.forEach(([rel, target], i) => {
    fs.symlinkSync(target, path.join(root, rel));
    fs.lutimesSync(path.join(root, rel), mtimeFor(20 + i), mtimeFor(20 + i));
  });

  // Directories last, deepest first: creating their contents changed their mtimes.
  const dirs: string[] = [];
  for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (e.isDirectory()) dirs.push(path.join(e.parentPath, e.name));
  }
  dirs.push(root);
  dirs.sort((a, b) => b.split(path.sep).length - a.split(path.sep).length);
  dirs.forEach((d, i) => fs.utimesSync(d, mtimeFor(100 + i), mtimeFor(100 + i)));
}

/** Total bytes of the regular files under `root`. */
export function dataSize(root: string): number {
  let n = 0;
  for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += fs.lstatSync(path.join(e.parentPath, e.name)).size;
  }
  return n;
}

/**
 * Small changes between the two checkpoints: 1 MiB inserted in the middle of the big file, a few
 * files modified, added and deleted. Returns the big file's original bytes around the insertion
 * point (a chunk spanning it exists only in the first checkpoint).
 */
export function changeTree(root: string, seed: string): { oldMiddle: Buffer } {
  const big = path.join(root, BIG_FILE);
  const mid = BIG_SIZE / 2;
  const window = 8 * 1024 * 1024;
  const oldMiddle = Buffer.alloc(2 * window);
  const fd = fs.openSync(big, 'r');
  fs.readSync(fd, oldMiddle, 0, oldMiddle.length, mid - window);
  fs.closeSync(fd);
  insertIntoFile(big, mid, seededStream(`${seed}/insert`)(1024 * 1024));

  fs.appendFileSync(path.join(root, docPath(3, 1)), 'appended line\n');
  fs.writeFileSync(path.join(root, docPath(7, 2)), 'rewritten\n');
  fs.writeFileSync(path.join(root, `unicode/${NFD_NAME}`), 'decomposed, edited\n');
  fs.rmSync(path.join(root, docPath(9, 4)));
  fs.rmSync(path.join(root, docPath(9, 5)));
  fs.rmSync(path.join(root, 'nested/a/b/c/d/e/f/g'), { recursive: true });
  write(root, 'docs/new/added.txt', 'a new file\n');
  write(root, 'docs/new/added-empty', '');
  write(root, 'unicode/新しい.bin', seededStream(`${seed}/new`)(40_000));
  return { oldMiddle };
}
