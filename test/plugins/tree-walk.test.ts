import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DirItem } from '../../src-main/banks/store/chunk-codec';
import { ChunkWorkerPool } from '../../src-main/banks/store/chunk-pool';
import { walkTree, type TreeEntry, type WalkOptions } from '../../src-main/plugins/local/directory/tree-index';
import { tempDir } from '../helpers/harness';

// The protect's tree walk with directories listed by a chunk worker (one message per directory)
// must give exactly what the walk with this thread's own file-system calls gives.
const pool = new ChunkWorkerPool({ size: 2 });
afterAll(() => pool.close());

async function walk(root: string, opts: WalkOptions): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  for await (const e of walkTree(root, opts)) out.push(e);
  return out;
}

function fixture(): string {
  const root = tempDir('karbor-walk-');
  const w = (rel: string, data = rel): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  };
  w('a.txt');
  w('empty', '');
  w('B/upper.txt');
  w('b/x/y/z/deep.bin', 'x'.repeat(5000));
  w('b/x/keep.log');
  w('b/skip/inside.txt');
  w('ünïcødé/日本語.txt');
  w('.hidden/dot');
  fs.mkdirSync(path.join(root, 'empty-dir'));
  fs.symlinkSync('a.txt', path.join(root, 'link-to-file'));
  fs.symlinkSync('no/such/target', path.join(root, 'dangling'));
  fs.symlinkSync(path.join(root, 'b'), path.join(root, 'link-to-dir'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  fs.chmodSync(path.join(root, 'a.txt'), 0o640);
  return root;
}

describe('the tree walk with directories listed by a worker', () => {
  const root = fixture();
  const list = (dir: string): Promise<DirItem[]> => pool.listDir(dir);

  it('gives the same entries in the same order, with and without include/exclude globs', async () => {
    for (const opts of [
      {},
      { exclude: ['b/skip', '**/*.log'] },
      { include: ['**/*.txt'] },
      { include: ['b/**'], exclude: ['b/x/y'] },
    ] as WalkOptions[]) {
      const here = await walk(root, opts);
      expect(here.length).toBeGreaterThan(1);
      expect(await walk(root, { ...opts, list })).toEqual(here);
    }
    const all = await walk(root, { list });
    expect(all.map((e) => e.p)).toContain('ünïcødé/日本語.txt');
    expect(all.find((e) => e.p === 'dangling')).toMatchObject({ t: 'l', target: 'no/such/target' });
    expect(all.find((e) => e.p === 'a.txt')).toMatchObject({ t: 'f', mode: 0o640, size: 5 });
    expect(all.some((e) => e.p === 'fifo')).toBe(false);
    expect(all.some((e) => e.p.startsWith('link-to-dir/'))).toBe(false);
  });

  it('a directory that cannot be listed fails the walk when it gets there, naming it', async () => {
    const r = tempDir('karbor-walk-err-');
    fs.mkdirSync(path.join(r, 'a'));
    fs.writeFileSync(path.join(r, 'a', 'f'), 'x');
    fs.mkdirSync(path.join(r, 'b'));
    // A listing that fails for 'b' the way readdir fails on an unreadable folder (the test runs as root).
    const failing = (dir: string): Promise<DirItem[]> =>
      dir.endsWith(`${path.sep}b`)
        ? Promise.reject(Object.assign(new Error(`EACCES: permission denied, scandir '${dir}'`), { code: 'EACCES' }))
        : list(dir);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const e of walkTree(r, { list: failing })) seen.push(e.p);
      })(),
    ).rejects.toThrow(`scandir '${path.join(r, 'b')}'`);
    expect(seen).toEqual(['', 'a', 'a/f']);
    // excluded, it is never listed
    expect((await walk(r, { list: failing, exclude: ['b'] })).map((e) => e.p)).toEqual(['', 'a', 'a/f']);
  });

  it('a worker lists a folder in name order; a folder that does not exist fails with its code', async () => {
    const items = await pool.listDir(path.join(root, 'b', 'x'));
    expect(items.map((i) => i.name)).toEqual(['keep.log', 'y']);
    await expect(pool.listDir(path.join(root, 'no-such-dir'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
