import { expect, it } from 'vitest';
import { BankInvalidKey, BankLeaseLost, BankLocked, type Bank, type BankLease } from '../../src-main/banks/types';
import type { ManualClock } from '../../src-main/engine/clock';
import type { BankUnderTest, ConformanceOptions } from './conformance';
import { caught, collect, sleep } from './stream-util';

/** Runs `n` acquisitions of one lease at once, alternating between two banks on one storage. */
async function race(banks: Bank[], name: string, n: number, ttlMs: number): Promise<{ won: BankLease[]; locked: BankLocked[] }> {
  const results = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => banks[i % banks.length]!.acquireLease(name, { owner: `racer-${i}`, ttlMs })),
  );
  const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const locked = results.flatMap((r) => (r.status === 'rejected' && r.reason instanceof BankLocked ? [r.reason] : []));
  const other = results.find((r) => r.status === 'rejected' && !(r.reason instanceof BankLocked));
  if (other) throw (other as PromiseRejectedResult).reason;
  return { won, locked };
}

/** Lease tests; registered inside `bankConformance`'s describe. */
export function leaseConformance(t: () => BankUnderTest, clock: ManualClock, opts: ConformanceOptions): void {
  const real = opts.leaseClock === 'real';
  const ttl = real ? (opts.realTtlMs ?? 400) : 30_000;
  /** Lets `ms` of lease time pass. */
  const pass = async (ms: number): Promise<void> => (real ? sleep(ms) : clock.advance(ms));
  const bank = (): Bank => t().bank;
  const peer = (): Bank => t().peer ?? t().bank;

  it('acquire: a second owner gets BankLocked naming the holder and the expiry', async () => {
    const before = Date.now();
    const lease = await bank().acquireLease('writer', { owner: 'engine-a', ttlMs: ttl });
    expect(lease.name).toBe('writer');
    expect(lease.owner).toBe('engine-a');
    if (real) expect(lease.expiresAt.getTime()).toBeGreaterThanOrEqual(before + ttl);
    else expect(lease.expiresAt.getTime()).toBe(clock.now().getTime() + ttl);
    const err = await caught(() => peer().acquireLease('writer', { owner: 'engine-b', ttlMs: ttl }));
    expect(err).toBeInstanceOf(BankLocked);
    expect(err).toMatchObject({ lease: 'writer', holder: 'engine-a', code: 'BANK_LOCKED' });
    expect((err as BankLocked).expiresAt.getTime()).toBe(lease.expiresAt.getTime());
    expect((err as Error).message).toContain('engine-a');
  });

  it('release frees the lease at once; releasing twice is fine', async () => {
    const lease = await bank().acquireLease('writer', { owner: 'engine-a', ttlMs: ttl });
    await lease.release();
    await lease.release();
    const next = await peer().acquireLease('writer', { owner: 'engine-b', ttlMs: ttl });
    expect(next.owner).toBe('engine-b');
    expect(await caught(() => lease.renew())).toBeInstanceOf(BankLeaseLost);
  });

  it('renew extends the lease past its first expiry', async () => {
    const lease = await bank().acquireLease('writer', { owner: 'engine-a', ttlMs: ttl });
    const first = lease.expiresAt.getTime();
    await pass(ttl * 0.6);
    await lease.renew();
    expect(lease.expiresAt.getTime()).toBeGreaterThan(first);
    await pass(ttl * 0.6);
    expect(await caught(() => peer().acquireLease('writer', { owner: 'engine-b', ttlMs: ttl }))).toBeInstanceOf(BankLocked);
  });

  it('a stale lease is taken over; the old holder learns it on renew and cannot release it', async () => {
    const old = await bank().acquireLease('writer', { owner: 'engine-a', ttlMs: ttl });
    await pass(ttl * 1.25);
    const taker = await peer().acquireLease('writer', { owner: 'engine-b', ttlMs: ttl });
    expect(taker.owner).toBe('engine-b');
    const err = await caught(() => old.renew());
    expect(err).toBeInstanceOf(BankLeaseLost);
    expect(err).toMatchObject({ lease: 'writer', owner: 'engine-a', takenBy: 'engine-b', code: 'BANK_LEASE_LOST' });
    await old.release();
    const third = await caught(() => bank().acquireLease('writer', { owner: 'engine-c', ttlMs: ttl }));
    expect(third).toMatchObject({ holder: 'engine-b' });
  });

  it('an expired lease nobody took over can still be renewed', async () => {
    const lease = await bank().acquireLease('writer', { owner: 'engine-a', ttlMs: ttl });
    await pass(ttl * 1.25);
    await lease.renew();
    expect(await caught(() => peer().acquireLease('writer', { owner: 'engine-b', ttlMs: ttl }))).toBeInstanceOf(BankLocked);
  });

  it('the same owner may re-acquire (after a restart); the older handle is then lost', async () => {
    const first = await bank().acquireLease('writer', { owner: 'engine-a', ttlMs: ttl });
    const second = await peer().acquireLease('writer', { owner: 'engine-a', ttlMs: ttl });
    expect(await caught(() => first.renew())).toBeInstanceOf(BankLeaseLost);
    await second.renew();
    await first.release();
    expect(await caught(() => bank().acquireLease('writer', { owner: 'engine-b', ttlMs: ttl }))).toBeInstanceOf(BankLocked);
  });

  it('lease names are independent, validated, and never listed as objects', async () => {
    await bank().acquireLease('writer', { owner: 'engine-a', ttlMs: ttl });
    const gc = await peer().acquireLease('gc', { owner: 'engine-b', ttlMs: ttl });
    expect(gc.owner).toBe('engine-b');
    for (const name of ['', '..', 'a/b', '.x', 'a b', '/']) {
      expect(await caught(() => bank().acquireLease(name, { owner: 'engine-a', ttlMs: ttl })), name).toBeInstanceOf(BankInvalidKey);
    }
    expect(await collect(bank().list(''))).toEqual([]);
  });

  it('of many engines racing for a free lease, exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const { won, locked } = await race([bank(), peer()], `free-${round}`, 12, ttl);
      expect(won).toHaveLength(1);
      expect(locked).toHaveLength(11);
      for (const l of locked) expect(l.holder).toBe(won[0]!.owner);
    }
  });

  it('of many engines racing to take over a stale lease, exactly one wins', async () => {
    for (let round = 0; round < 3; round++) {
      const stale = await bank().acquireLease(`stale-${round}`, { owner: 'crashed', ttlMs: ttl });
      await pass(ttl * 1.25);
      const { won } = await race([bank(), peer()], `stale-${round}`, 12, ttl);
      expect(won).toHaveLength(1);
      expect(await caught(() => stale.renew())).toBeInstanceOf(BankLeaseLost);
    }
  });

  it('a late renew racing a takeover: exactly one of them keeps the lease', async () => {
    for (let round = 0; round < 5; round++) {
      const holder = await bank().acquireLease(`late-${round}`, { owner: 'slow', ttlMs: ttl });
      await pass(ttl * 1.25);
      const [renewed, taken] = await Promise.allSettled([
        holder.renew(),
        peer().acquireLease(`late-${round}`, { owner: 'fast', ttlMs: ttl }),
      ]);
      expect([renewed.status, taken.status].filter((s) => s === 'fulfilled')).toHaveLength(1);
      if (renewed.status === 'rejected') expect(renewed.reason).toBeInstanceOf(BankLeaseLost);
      if (taken.status === 'rejected') expect(taken.reason).toBeInstanceOf(BankLocked);
    }
  });
}
