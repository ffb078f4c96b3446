import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BankInvalidKey, BankNotFound, type Bank } from '../../src-main/banks/types';
import { ManualClock } from '../../src-main/engine/clock';
import { leaseConformance } from './conformance-leases';
import { caught, collect, drain, failingSource, MiB, randomSource, sha256, streamSha256 } from './stream-util';

/** One bank for one test, on fresh storage. */
export interface BankUnderTest {
  bank: Bank;
  cleanup: () => Promise<void>;
  /** A second bank on the same storage (another engine), for lease races. Defaults to `bank`. */
  peer?: Bank;
}

export interface ConformanceContext {
  /** Leases must read time from this clock unless `leaseClock: 'real'`. */
  clock: ManualClock;
}

export interface ConformanceOptions {
  /** Size of the big streamed object; default 8 MiB + 7 bytes. */
  bigObjectBytes?: number;
  /**
   * 'manual' (default): the backend reads lease time from `ctx.clock`, tests move it.
   * 'real': the backend uses the wall clock; tests use `realTtlMs` TTLs and sleep.
   */
  leaseClock?: 'manual' | 'real';
  /** TTL for lease tests with `leaseClock: 'real'`; default 400 ms. */
  realTtlMs?: number;
  /** How many puts the concurrency tests run at once; default 32. */
  concurrency?: number;
}

export type MakeBank = (ctx: ConformanceContext) => Promise<BankUnderTest>;

/** Keys every backend must reject, with why. */
export const INVALID_KEYS = [
  '', '/abs', 'a/', 'a//b', '..', '../a', 'a/../b', 'a/..', '.', './a', 'a/./b', '.hidden', 'a/.tmp-x',
  'a b', 'a\\b', 'C:', 'c:/x', 'ä', 'a\0b', 'a\nb', '~', '*', `${'x'.repeat(1025)}`, `a/${'y'.repeat(256)}`,
]; // prettier-ignore

/**
 * Registers the bank conformance suite (modelled on Kopia's `blobtesting.VerifyStorage`): every
 * backend must pass it unchanged; backend-specific needs go through `makeBank` and `opts`.
 */
export function bankConformance(name: string, makeBank: MakeBank, opts: ConformanceOptions = {}): void {
  describe(`${name}: bank conformance`, () => {
    const clock = new ManualClock('2026-03-01T00:00:00Z');
    let under: BankUnderTest | undefined;
    const t = (): BankUnderTest => {
      if (!under) throw new Error('bank not set up');
      return under;
    };
    beforeEach(async () => {
      clock.set('2026-03-01T00:00:00Z');
      under = await makeBank({ clock });
    });
    afterEach(async () => {
      await under?.cleanup();
      under = undefined;
    });

    objectConformance(() => t().bank, opts);
    describe('leases', () => leaseConformance(t, clock, opts));
  });
}

function objectConformance(b: () => Bank, opts: ConformanceOptions): void {
  const concurrency = opts.concurrency ?? 32;

  it.each([
    ['an empty object', 0],
    ['a 1-byte object', 1],
  ])('round-trips %s', async (_label, size) => {
    const data = randomBytes(size);
    await b().put('objects/tiny', data);
    expect(await b().get('objects/tiny')).toEqual(data);
    expect(await drain(b().getStream('objects/tiny'))).toEqual(data);
    expect(await b().stat('objects/tiny')).toEqual({ size });
    expect(await collect(b().list(''))).toEqual(['objects/tiny']);
  });

  it('streams a multi-MiB object in and out, checked by SHA-256', async () => {
    const size = opts.bigObjectBytes ?? 8 * MiB + 7;
    const src = randomSource(size);
    await b().put('big/object.bin', src.stream);
    expect(await b().stat('big/object.bin')).toEqual({ size });
    expect(await streamSha256(b().getStream('big/object.bin'))).toEqual({ sha256: src.sha256(), size });
    expect(sha256(await b().get('big/object.bin'))).toBe(src.sha256());
  });

  it('overwrites: the last put wins and stat follows its size', async () => {
    await b().put('k', randomBytes(5000));
    const second = randomBytes(3);
    await b().put('k', second);
    expect(await b().get('k')).toEqual(second);
    expect(await b().stat('k')).toEqual({ size: 3 });
    expect(await collect(b().list(''))).toEqual(['k']);
  });

  it('lists keys in code-unit order, filtered by plain string prefix', async () => {
    const keys = ['x/a.c', 'x/a/b', 'x/a-b', 'x/ab', 'x/a/c/d', 'x0', 'y/1', 'W/up', 'x/_u', 'x/a/c/E'];
    for (const k of [...keys].reverse()) await b().put(k, Buffer.from(k));
    const sorted = [...keys].sort();
    expect(await collect(b().list(''))).toEqual(sorted);
    expect(await collect(b().list('x'))).toEqual(sorted.filter((k) => k.startsWith('x')));
    expect(await collect(b().list('x/'))).toEqual(sorted.filter((k) => k.startsWith('x/')));
    expect(await collect(b().list('x/a'))).toEqual(['x/a-b', 'x/a.c', 'x/a/b', 'x/a/c/E', 'x/a/c/d', 'x/ab']);
    expect(await collect(b().list('x/a/'))).toEqual(['x/a/b', 'x/a/c/E', 'x/a/c/d']);
    expect(await collect(b().list('x/a/c/d'))).toEqual(['x/a/c/d']);
    expect(await collect(b().list('nothing/'))).toEqual([]);
    expect(await collect(b().list('x/zz'))).toEqual([]);
  });

  it('missing keys: get and getStream fail with BankNotFound, stat is undefined, delete succeeds', async () => {
    await b().put('present/a', Buffer.from('a'));
    for (const key of ['absent', 'present/b', 'present/a/deeper', 'present']) {
      const err = await caught(() => b().get(key));
      expect(err).toBeInstanceOf(BankNotFound);
      expect((err as BankNotFound).key).toBe(key);
      expect(await caught(() => drain(b().getStream(key)))).toBeInstanceOf(BankNotFound);
      expect(await b().stat(key)).toBeUndefined();
      await b().delete(key);
    }
    expect(await b().get('present/a')).toEqual(Buffer.from('a'));
  });

  it('delete removes one key, is idempotent, and the key can be written again', async () => {
    await b().put('d/one', Buffer.from('1'));
    await b().put('d/two', Buffer.from('2'));
    await b().delete('d/one');
    await b().delete('d/one');
    expect(await b().stat('d/one')).toBeUndefined();
    expect(await collect(b().list(''))).toEqual(['d/two']);
    await b().delete('d/two');
    expect(await collect(b().list(''))).toEqual([]);
    await b().put('d/one', Buffer.from('again'));
    expect(await b().get('d/one')).toEqual(Buffer.from('again'));
  });

  it('rejects invalid keys and prefixes with BankInvalidKey, storing nothing', async () => {
    for (const key of INVALID_KEYS) {
      const label = JSON.stringify(key);
      expect(await caught(() => b().put(key, Buffer.from('x'))), label).toBeInstanceOf(BankInvalidKey);
      const source = randomSource(10).stream;
      expect(await caught(() => b().put(key, source)), label).toBeInstanceOf(BankInvalidKey);
      expect(source.destroyed, `${label}: a failed put destroys its source`).toBe(true);
      expect(await caught(() => b().get(key)), label).toBeInstanceOf(BankInvalidKey);
      expect(await caught(() => drain(b().getStream(key))), label).toBeInstanceOf(BankInvalidKey);
      expect(await caught(() => b().stat(key)), label).toBeInstanceOf(BankInvalidKey);
      expect(await caught(() => b().delete(key)), label).toBeInstanceOf(BankInvalidKey);
    }
    for (const prefix of ['/', '/a', '../', 'a/../', 'a//', '.', 'a/.t', 'a b', 'a\\', 'ä']) {
      expect(await caught(() => collect(b().list(prefix))), JSON.stringify(prefix)).toBeInstanceOf(BankInvalidKey);
    }
    expect(await collect(b().list(''))).toEqual([]);
  });

  it('accepts the whole key grammar up to its length limits', async () => {
    const keys = ['AZaz09._-', '_x/-y/z.', 'a..b/c...d', `${'s'.repeat(255)}/${'t'.repeat(255)}/${'u'.repeat(255)}/${'v'.repeat(255)}`];
    for (const k of keys) await b().put(k, Buffer.from(k));
    for (const k of keys) expect(await b().get(k)).toEqual(Buffer.from(k));
    expect(await collect(b().list(''))).toEqual([...keys].sort());
  });

  it('runs concurrent puts of different keys', async () => {
    const objects = Array.from({ length: concurrency * 2 }, (_, i) => ({
      key: `c/${i % 4}/obj-${String(i).padStart(3, '0')}`,
      data: randomBytes(1 + Math.floor(Math.random() * 64 * 1024)),
    }));
    await Promise.all(objects.map((o) => b().put(o.key, o.data)));
    expect(await collect(b().list('c/'))).toEqual(objects.map((o) => o.key).sort());
    for (const o of objects) expect(sha256(await b().get(o.key))).toBe(sha256(o.data));
  });

  it('concurrent puts of one key leave exactly one of them, whole', async () => {
    const versions = Array.from({ length: 8 }, () => randomBytes(256 * 1024 + Math.floor(Math.random() * 1000)));
    await Promise.all(versions.map((v) => b().put('same', v)));
    expect(versions.map(sha256)).toContain(sha256(await b().get('same')));
    expect(await collect(b().list(''))).toEqual(['same']);
  });

  it('readers during overwrites see the old or the new object, never a mix', async () => {
    const a = Buffer.alloc(MiB, 0xaa);
    const z = Buffer.alloc(MiB + 1, 0x55);
    await b().put('flip', a);
    const seen = new Set<string>();
    const reads = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) seen.add(sha256(await b().get('flip')));
    };
    const writes = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) await b().put('flip', i % 2 ? a : z);
    };
    await Promise.all([reads(), writes(), reads()]);
    for (const h of seen) expect([sha256(a), sha256(z)]).toContain(h);
  });

  it('puts and deletes racing in one prefix all succeed', async () => {
    await Promise.all(
      Array.from({ length: concurrency }, async (_, i) => {
        for (let round = 0; round < 5; round++) {
          await b().put(`race/p/k${i}`, Buffer.from(`${i}`));
          await b().delete(`race/p/k${i}`);
        }
      }),
    );
    await b().put('race/p/last', Buffer.from('x'));
    expect(await collect(b().list('race/'))).toEqual(['race/p/last']);
  });

  it('a streamed put whose source fails half-way leaves no object', async () => {
    const err = await caught(() => b().put('crash/new', failingSource(3 * MiB)));
    expect((err as Error).message).toBe('source failed half-way');
    expect(await b().stat('crash/new')).toBeUndefined();
    expect(await caught(() => b().get('crash/new'))).toBeInstanceOf(BankNotFound);
    expect(await collect(b().list(''))).toEqual([]);
  });

  it('a failed overwrite keeps the previous object intact', async () => {
    const old = randomBytes(100_000);
    await b().put('crash/old', old);
    await expect(b().put('crash/old', failingSource(2 * MiB))).rejects.toThrow('source failed half-way');
    expect(sha256(await b().get('crash/old'))).toBe(sha256(old));
    expect(await b().stat('crash/old')).toEqual({ size: old.length });
    expect(await collect(b().list(''))).toEqual(['crash/old']);
  });
}
