import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChunkWorkerPool } from '../../src-main/banks/store/chunk-pool';
import { SyncWalk, type WalkBatch, type WalkFilter, type WalkFs } from '../../src-main/banks/store/walk-sync';
import { walkTree, type TreeEntry, type WalkOptions } from '../../src-main/plugins/local/directory/tree-index';
import { tempDir } from '../helpers/harness';

// The protect's tree walk, run by a chunk worker (a batch of entries per message) and by this
// thread, checked against the expected paths of a real tree.
const pool = new ChunkWorkerPool({ size: 2 });
afterAll(() => pool.close());

const inWorker = (root: string, filter: WalkFilter): AsyncIterable<WalkBatch> => pool.walk(root, filter);

async function walk(root: string, opts: WalkOptions = {}): Promise<TreeEntry[]> {
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

describe('the tree walk', () => {
  const root = fixture();

  it('gives every path depth first in name order, in a worker and in this thread alike', async () => {
    const all = [
      '',
      '.hidden',
      '.hidden/dot',
      'B',
      'B/upper.txt',
      'a.txt',
      'b',
      'b/skip',
      'b/skip/inside.txt',
      'b/x',
      'b/x/keep.log',
      'b/x/y',
      'b/x/y/z',
      'b/x/y/z/deep.bin',
      'dangling',
      'empty',
      'empty-dir',
      'link-to-dir',
      'link-to-file',
      'ünïcødé',
      'ünïcødé/日本語.txt',
    ];
    const dirs = new Set(['', '.hidden', 'B', 'b', 'b/skip', 'b/x', 'b/x/y', 'b/x/y/z', 'empty-dir', 'ünïcødé']);
    const cases: [WalkOptions, string[]][] = [
      [{}, all],
      [{ exclude: ['b/skip', '**/*.log'] }, all.filter((p) => !p.startsWith('b/skip') && !p.endsWith('.log'))],
      // include selects files and symlinks; directories are always walked
      [{ include: ['**/*.txt'] }, all.filter((p) => dirs.has(p) || p.endsWith('.txt'))],
      [{ include: ['b/**'], exclude: ['b/x/y'] }, all.filter((p) => (dirs.has(p) || p.startsWith('b/')) && !p.startsWith('b/x/y'))],
    ];
    for (const [opts, expected] of cases) {
      const here = await walk(root, opts);
      expect(here.map((e) => e.p)).toEqual(expected);
      expect(await walk(root, { ...opts, batches: inWorker })).toEqual(here);
    }
    const byPath = new Map((await walk(root, { batches: inWorker })).map((e) => [e.p, e]));
    const st = fs.lstatSync(path.join(root, 'a.txt'), { bigint: true });
    expect(byPath.get('a.txt')).toEqual({
      p: 'a.txt',
      t: 'f',
      mode: 0o640,
      size: 5,
      ino: Number(st.ino),
      mtimeNs: st.mtimeNs.toString(),
      mtimeMs: fs.lstatSync(path.join(root, 'a.txt')).mtimeMs,
    });
    expect(byPath.get('dangling')).toMatchObject({ t: 'l', target: 'no/such/target' });
    expect(byPath.get('link-to-dir')).toMatchObject({ t: 'l', target: path.join(root, 'b') });
    expect(byPath.get('b/x')).toMatchObject({ t: 'd', size: 0 });
    expect(byPath.has('fifo')).toBe(false);
  });

  it('a tree larger than a batch comes whole and in order', async () => {
    const big = tempDir('karbor-walk-big-');
    const expected = [''];
    for (let d = 0; d < 30; d++) {
      const dir = `d${String(d).padStart(2, '0')}`;
      fs.mkdirSync(path.join(big, dir));
      expected.push(dir);
      for (let f = 0; f < 110; f++) {
        const name = `f${String(f).padStart(3, '0')}`;
        fs.writeFileSync(path.join(big, dir, name), '');
        expected.push(`${dir}/${name}`);
      }
    }
    expect((await walk(big, { batches: inWorker })).map((e) => e.p)).toEqual(expected);
    expect((await walk(big)).map((e) => e.p)).toEqual(expected);
    // A walk left early is forgotten by its worker; the pool walks on.
    for await (const e of walkTree(big, { batches: inWorker })) if (e.p === 'd01') break;
    expect((await walk(big, { batches: inWorker })).length).toBe(expected.length);
  });

  it('a folder that cannot be listed fails the walk when it gets there, with its error', async () => {
    const r = tempDir('karbor-walk-err-');
    fs.mkdirSync(path.join(r, 'a'));
    fs.writeFileSync(path.join(r, 'a', 'f'), 'x');
    fs.mkdirSync(path.join(r, 'b'));
    fs.writeFileSync(path.join(r, 'c'), 'x');
    // readdir failing for 'b' the way it fails on an unreadable folder (the tests run as root).
    const failing: WalkFs = {
      readdir: (dir) => {
        if (dir === path.join(r, 'b')) throw Object.assign(new Error(`EACCES: permission denied, scandir '${dir}'`), { code: 'EACCES' });
        return fs.readdirSync(dir);
      },
      lstat: (file) => fs.lstatSync(file, { bigint: true }),
      readlink: (file) => fs.readlinkSync(file),
    };
    async function* batches(root: string, filter: WalkFilter): AsyncGenerator<WalkBatch> {
      const w = new SyncWalk(root, filter, failing);
      for (let b = w.next(1); ; b = w.next(1)) {
        yield b;
        if (b.done) return;
      }
    }
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const e of walkTree(r, { batches })) seen.push(e.p);
      })(),
    ).rejects.toMatchObject({ code: 'EACCES', message: `EACCES: permission denied, scandir '${path.join(r, 'b')}'` });
    expect(seen).toEqual(['', 'a', 'a/f']);
    // excluded, it is never listed
    expect((await walk(r, { batches, exclude: ['b'] })).map((e) => e.p)).toEqual(['', 'a', 'a/f', 'c']);
  });

  it('a root that does not exist fails in a worker with its code', async () => {
    const missing = path.join(root, 'no-such-dir');
    await expect(walk(missing, { batches: inWorker })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(walk(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
