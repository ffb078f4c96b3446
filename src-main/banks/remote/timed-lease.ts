import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../../engine/clock';
import { BankError, BankLeaseLost, BankLocked } from '../errors';
import type { BankLease, LeaseOptions } from '../types';

/**
 * Leases for object stores that have no atomic compare-and-swap, by Fischer's timed mutual
 * exclusion: read the lease object; if it is free (absent, released or expired) write a record
 * with a fresh write id; wait `settleMs`; read again: the lease is won only if the record is still
 * the one this call wrote.
 *
 * Why not conditional writes: Swift checks `If-None-Match: *` when a PUT starts and writes
 * afterwards (`_pre_create_checks` in the object server), so racing PUTs can all pass it, and
 * S3-compatible stores differ (Swift's s3api forwards to the same check). What every store does
 * give is last-writer-wins on one object. If every racer's write lands within `settleMs` of its
 * read, the records of all racers that saw the lease free have landed by the time each of them
 * reads again, so they all read the same final record and exactly one wins. Swift also refuses a
 * PUT older than the object it would replace (409), so a slow loser cannot overwrite the winner
 * later.
 *
 * The limit: a writer stalled for longer than `settleMs` between its read and its write (a long
 * GC pause, a network stall) can overwrite a settled winner. Both then believe they hold the lease
 * until the next `renew()` of the overwritten one, which fails with `BankLeaseLost` (renew every
 * ttl/3), so the overlap is bounded by the renew interval, not by the ttl.
 *
 * `BankLocked` is only reported for a record seen unchanged for `settleMs`, so a loser names the
 * final winner rather than another loser whose write had not been overwritten yet.
 *
 * Time: expiry uses the engine clock (`expiresAt` in the record, like the local bank); the settle
 * wait uses real time. A renew of a live, settled lease writes without waiting (no taker writes a
 * live lease); acquire, takeover and late renews wait `settleMs`.
 */

/** One lease object in a store. */
export interface LeaseRegister {
  /** The object's bytes, or `undefined` when there is none. */
  read(): Promise<Buffer | undefined>;
  /**
   * Writes the object. `ifAbsent` asks the store to refuse when an object exists (a cheap early
   * exit for racers; not relied on for safety). `expireAfterMs` lets a store delete the object by
   * itself after that long (Swift `X-Delete-After`); stores without per-object expiry ignore it.
   *
   * @returns false when the store refused the write (precondition or older-than-current conflict)
   */
  write(body: Buffer, opts: { ifAbsent: boolean; expireAfterMs: number }): Promise<boolean>;
}

export interface TimedLeaseConfig {
  clock: Clock;
  /** Upper bound for one write to land after the read it depends on. */
  settleMs: number;
  /** How long a lease object outlives its expiry before the store may delete it. */
  retainMs: number;
  /** Store errors to typed bank errors; typed errors pass through. */
  mapError: (err: unknown) => Error;
}

interface LeaseRecord {
  owner: string;
  /** One per acquisition. */
  token: string;
  /** One per write: tells this call's record from any other. */
  write: string;
  acquiredAt: string;
  expiresAt: string;
  released?: true;
}

const newId = (): string => randomBytes(12).toString('hex');
const monotonicMs = (): number => performance.now();

async function readRecord(reg: LeaseRegister): Promise<{ exists: boolean; record?: LeaseRecord }> {
  const body = await reg.read();
  if (body === undefined) return { exists: false };
  try {
    const record = JSON.parse(body.toString('utf8')) as LeaseRecord;
    return typeof record.owner === 'string' && typeof record.write === 'string' ? { exists: true, record } : { exists: true };
  } catch {
    return { exists: true }; // unreadable: it cannot name a holder, so it counts as free
  }
}

function isLive(record: LeaseRecord | undefined, now: Date): record is LeaseRecord {
  return record !== undefined && !record.released && Date.parse(record.expiresAt) > now.getTime();
}

function writeRecord(reg: LeaseRegister, record: LeaseRecord, ifAbsent: boolean, cfg: TimedLeaseConfig): Promise<boolean> {
  const expireAfterMs = Math.max(0, Date.parse(record.expiresAt) - cfg.clock.now().getTime()) + cfg.retainMs;
  return reg.write(Buffer.from(JSON.stringify(record, null, 2)), { ifAbsent, expireAfterMs });
}

function checkOptions(opts: LeaseOptions): void {
  if (typeof opts.owner !== 'string' || opts.owner === '')
    throw new BankError('a lease needs an owner', { code: 'BANK_INVALID_LEASE', status: 400 });
  if (!Number.isFinite(opts.ttlMs) || opts.ttlMs <= 0)
    throw new BankError('a lease ttl must be > 0 ms', { code: 'BANK_INVALID_LEASE', status: 400 });
}

/** Takes lease `name` stored in `reg` (see the protocol above). */
export async function acquireTimedLease(reg: LeaseRegister, name: string, opts: LeaseOptions, cfg: TimedLeaseConfig): Promise<BankLease> {
  checkOptions(opts);
  try {
    /** Write id of another owner's live record → when this call first saw it. */
    const firstSeen = new Map<string, number>();
    for (let attempt = 0; attempt < 30; attempt++) {
      const cur = await readRecord(reg);
      const now = cfg.clock.now();
      if (isLive(cur.record, now) && cur.record.owner !== opts.owner) {
        const seen = firstSeen.get(cur.record.write) ?? monotonicMs();
        firstSeen.set(cur.record.write, seen);
        const wait = seen + cfg.settleMs - monotonicMs();
        if (wait <= 0) throw new BankLocked(name, cur.record.owner, new Date(cur.record.expiresAt));
        await sleep(wait);
        continue;
      }
      const record: LeaseRecord = {
        owner: opts.owner,
        token: newId(),
        write: newId(),
        acquiredAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + opts.ttlMs).toISOString(),
      };
      if (!(await writeRecord(reg, record, !cur.exists, cfg))) continue; // someone wrote first: look again
      await sleep(cfg.settleMs);
      const after = await readRecord(reg);
      if (after.record?.write === record.write) return new TimedLease(reg, name, opts.ttlMs, cfg, record);
      if (after.record) firstSeen.set(after.record.write, firstSeen.get(after.record.write) ?? monotonicMs());
    }
  } catch (err) {
    throw cfg.mapError(err);
  }
  throw new BankError(`could not take bank lease '${name}': too much contention`, { code: 'BANK_LEASE_CONTENDED', status: 409 });
}

class TimedLease implements BankLease {
  private released = false;
  /** Monotonic time when this handle's last write was confirmed. */
  private settledAt = monotonicMs();

  constructor(
    private readonly reg: LeaseRegister,
    readonly name: string,
    private readonly ttlMs: number,
    private readonly cfg: TimedLeaseConfig,
    private record: LeaseRecord,
  ) {}

  get owner(): string {
    return this.record.owner;
  }

  get expiresAt(): Date {
    return new Date(this.record.expiresAt);
  }

  private lost(cur: LeaseRecord | undefined): BankLeaseLost {
    const other = cur && !cur.released && cur.token !== this.record.token ? cur.owner : undefined;
    return new BankLeaseLost(this.name, this.owner, other);
  }

  /** The stored record if it is still this handle's lease, else BankLeaseLost. */
  private async mine(): Promise<LeaseRecord> {
    const cur = (await readRecord(this.reg)).record;
    if (this.released || cur?.token !== this.record.token || cur.released) throw this.lost(cur);
    return cur;
  }

  async renew(): Promise<void> {
    try {
      const cur = await this.mine();
      const now = this.cfg.clock.now();
      // Nobody writes a live lease, and our last write has had time to meet any racing one.
      const quiet = isLive(cur, now) && cur.write === this.record.write && monotonicMs() - this.settledAt >= this.cfg.settleMs;
      const next: LeaseRecord = { ...this.record, write: newId(), expiresAt: new Date(now.getTime() + this.ttlMs).toISOString() };
      if (!(await writeRecord(this.reg, next, false, this.cfg))) throw this.lost((await readRecord(this.reg)).record);
      if (!quiet) {
        await sleep(this.cfg.settleMs);
        const after = (await readRecord(this.reg)).record;
        if (after?.write !== next.write) throw this.lost(after);
      }
      this.record = next;
      this.settledAt = monotonicMs();
    } catch (err) {
      throw this.cfg.mapError(err);
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    try {
      const cur = await this.mine().catch((err: unknown) => {
        if (err instanceof BankLeaseLost) return undefined;
        throw err;
      });
      this.released = true;
      if (!cur) return;
      // A tombstone rather than a delete, so an older handle of this owner learns it was released.
      // If a taker raced us (the lease had expired), its settle check sees this and it retries.
      const now = this.cfg.clock.now().toISOString();
      await writeRecord(this.reg, { ...this.record, write: newId(), expiresAt: now, released: true }, false, this.cfg);
    } catch (err) {
      throw this.cfg.mapError(err);
    }
  }
}
