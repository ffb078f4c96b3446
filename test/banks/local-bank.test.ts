import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultBankDir, LocalBank } from '../../src-main/banks/local/local-bank';
import type { ObjectBank } from '../../src-main/banks/store/types';
import { BankError, BankFull } from '../../src-main/banks/types';
import { ManualClock } from '../../src-main/engine/clock';
import { bankConformance } from './conformance';
import { caught, collect, failingSource, MiB, randomSource } from './stream-util';

const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-bank-'));

bankConformance('local directory', async ({ clock }) => {
  const dir = tempDir();
  const bank = await LocalBank.open(path.join(dir, 'bank'), { clock });
  return { bank, peer: new LocalBank(bank.dir, { clock }), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

/** Every file under `dir`, relative, dot-files included. */
const filesUnder = (dir: string): string[] =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();

describe('local bank: directory specifics', () => {
  let root = '';
  let bank: LocalBank;
  beforeEach(async () => {
    root = tempDir();
    bank = await LocalBank.open(defaultBankDir(root));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('puts with deferSync are visible at once and flushed by one flush, whole file system or file by file', async () => {
    for (const syncWholeFileSystem of [true, false]) {
      const b = await LocalBank.open(path.join(root, `deferred-${syncWholeFileSystem}`), { syncWholeFileSystem });
      // More than the 64 pending files a flush syncs one by one: the file system is synced whole.
      const objects = Array.from(
        { length: 100 },
        (_, i) => [`chunks/${String(i % 4).padStart(2, '0')}/c${i}`, randomBytes(1000 + i)] as const,
      );
      await Promise.all(objects.map(([k, v]) => b.put(k, v, { deferSync: true })));
      for (const [k, v] of objects) expect((await b.get(k)).equals(v)).toBe(true);
      // What a failed protect's sweep does before the next flush: delete some of them, and a folder.
      await b.delete(objects[0]![0]);
      await b.delete(objects[4]![0]);
      fs.rmSync(path.join(b.dir, 'chunks', '01'), { recursive: true });
      // Concurrent flushes: each resolves, none fails on what is gone.
      await Promise.all([b.flush(), b.flush(), b.flush({ everything: true })]);
      await b.flush();
      expect(filesUnder(b.dir).filter((f) => f.startsWith('chunks/')).length).toBe(100 - 2 - 25);
    }
  });

  it('serves the store layer (ObjectBank) and lives at <dataDir>/bank by default', () => {
    const asObjectBank: ObjectBank = bank;
    expect(asObjectBank).toBe(bank);
    expect(bank.dir).toBe(path.join(root, 'bank'));
    expect(fs.statSync(bank.dir).mode & 0o777).toBe(0o700);
  });

  it('stores an object as a private file at its key path and leaves no temp file', async () => {
    await bank.put('chunks/ab/abcdef', Buffer.from('chunk'));
    expect(fs.readFileSync(path.join(bank.dir, 'chunks', 'ab', 'abcdef'), 'utf8')).toBe('chunk');
    expect(fs.statSync(path.join(bank.dir, 'chunks', 'ab', 'abcdef')).mode & 0o777).toBe(0o600);
    expect(filesUnder(bank.dir)).toEqual([path.join('chunks', 'ab', 'abcdef')]);
  });

  it('a failed streamed put removes its temp file', async () => {
    await expect(bank.put('a/b', failingSource(MiB))).rejects.toThrow('source failed');
    expect(filesUnder(bank.dir)).toEqual([]);
  });

  it('leftover temp files from a crash are never listed, and old ones are swept (also at open)', async () => {
    await bank.put('cp/1/index.json', Buffer.from('{}'));
    const leftovers = [
      path.join(bank.dir, '.tmp-crash0'),
      path.join(bank.dir, 'cp', '1', '.tmp-crash1'),
      path.join(bank.dir, '.leases', 'writer', '.tmp-crash2'),
    ];
    for (const f of leftovers) {
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, randomBytes(1000)); // half an object, as a crash before rename leaves it
    }
    expect(await collect(bank.list(''))).toEqual(['cp/1/index.json']);
    expect(await collect(bank.list('cp/1/'))).toEqual(['cp/1/index.json']);
    expect(await bank.sweepTemp()).toBe(0); // fresh: might belong to a put still running
    const young = path.join(bank.dir, '.tmp-young');
    fs.writeFileSync(young, 'x');
    const hoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    for (const f of leftovers) fs.utimesSync(f, hoursAgo, hoursAgo);
    expect(await bank.sweepTemp()).toBe(3);
    expect(fs.existsSync(young)).toBe(true);
    fs.utimesSync(young, hoursAgo, hoursAgo);
    await LocalBank.open(bank.dir);
    expect(filesUnder(bank.dir)).toEqual([path.join('cp', '1', 'index.json')]);
  });

  it('delete removes emptied parent directories but keeps the bank directory and non-empty ones', async () => {
    await bank.put('p/q/r/obj', Buffer.from('1'));
    await bank.put('p/keep', Buffer.from('2'));
    await bank.delete('p/q/r/obj');
    expect(fs.existsSync(path.join(bank.dir, 'p', 'q'))).toBe(false);
    expect(fs.existsSync(path.join(bank.dir, 'p', 'keep'))).toBe(true);
    await bank.delete('p/keep');
    expect(fs.readdirSync(bank.dir)).toEqual([]);
  });

  it('a key that is both an object and a prefix is refused with a typed conflict', async () => {
    await bank.put('obj', Buffer.from('1'));
    expect(await caught(() => bank.put('obj/child', Buffer.from('2')))).toMatchObject({ code: 'BANK_KEY_CONFLICT' });
    await bank.put('dir/child', Buffer.from('3'));
    const err = await caught(() => bank.put('dir', Buffer.from('4')));
    expect(err).toBeInstanceOf(BankError);
    expect(err).toMatchObject({ code: 'BANK_KEY_CONFLICT' });
    expect(await collect(bank.list(''))).toEqual(['dir/child', 'obj']);
  });

  it('keeps leases as readable JSON records (owner, acquiredAt, expiresAt)', async () => {
    const clock = new ManualClock('2026-05-01T10:00:00Z');
    const lease = await new LocalBank(bank.dir, { clock }).acquireLease('writer', { owner: 'host-a:engine-1', ttlMs: 60_000 });
    await lease.renew();
    const files = fs.readdirSync(path.join(bank.dir, '.leases', 'writer'));
    expect(files).toHaveLength(1); // older generations are pruned
    const record = JSON.parse(fs.readFileSync(path.join(bank.dir, '.leases', 'writer', files[0]!), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({
      owner: 'host-a:engine-1',
      acquiredAt: '2026-05-01T10:00:00.000Z',
      expiresAt: '2026-05-01T10:01:00.000Z',
    });
  });
});

/** A 1 MiB tmpfs, if this machine lets us mount one (root in a container with CAP_SYS_ADMIN). */
function mountTinyFs(): { dir?: string; reason?: string } {
  const dir = tempDir();
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status === 0) return { dir };
  fs.rmSync(dir, { recursive: true, force: true });
  return { reason: (r.error?.message ?? r.stderr) || `mount exited ${r.status}` };
}
const tiny = mountTinyFs();
const fullReason = tiny.reason ? ` (skipped: cannot mount a 1 MiB tmpfs here: ${tiny.reason.trim()})` : '';

describe('local bank on a full filesystem' + fullReason, () => {
  afterAll(() => {
    if (!tiny.dir) return;
    spawnSync('umount', [tiny.dir]);
    fs.rmSync(tiny.dir, { recursive: true, force: true });
  });

  it.skipIf(!tiny.dir)('a put that does not fit fails with BankFull and leaves nothing behind', async () => {
    const bank = await LocalBank.open(path.join(tiny.dir!, 'bank'));
    const small = randomBytes(100 * 1024);
    await bank.put('kept/small', small);
    for (const data of [randomSource(2 * MiB).stream, randomBytes(2 * MiB)]) {
      const err = await caught(() => bank.put('too/big', data));
      expect(err).toBeInstanceOf(BankFull);
      expect(err).toMatchObject({ code: 'BANK_FULL', status: 507 });
      expect((err as Error).message).toMatch(/is full \(no space left on device\).*free some space/);
      expect(await bank.stat('too/big')).toBeUndefined();
    }
    expect(filesUnder(bank.dir)).toEqual([path.join('kept', 'small')]);
    expect(await bank.get('kept/small')).toEqual(small);
    await bank.put('kept/another', randomBytes(1000));
  });
});
