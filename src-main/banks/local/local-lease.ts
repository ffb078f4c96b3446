import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../engine/clock';
import { BankError, BankLeaseLost, BankLocked } from '../errors';
import type { BankLease, LeaseOptions } from '../types';
import { syncDir, TMP_PREFIX } from './fs-util';

/**
 * Leases as a log of generation files, `<bank>/.leases/<name>/<generation>.json`.
 *
 * Every change (acquire, renew, takeover, release) publishes generation N+1 after reading N, and
 * publishing is exclusive: the record is written to a temp file, fsynced, then hard-linked to the
 * generation's name. `link()` fails with EEXIST if that name exists, atomically, so when two
 * processes race from the same generation N (two engines taking over one stale lease, or a
 * holder renewing while another takes over) exactly one creates N+1; the other sees EEXIST,
 * rereads, and gets `BankLocked` (or, for the renewer, `BankLeaseLost`). The file is complete the
 * moment its name appears, so readers never see half a record.
 *
 * Old generations are pruned by the winner, so a racer working from an outdated listing could
 * recreate a pruned generation; it therefore checks after publishing that its generation is still
 * the newest, and if not it has lost. The newest generation is never pruned.
 *
 * Needs hard links (every local filesystem Node supports, NTFS included; not FAT/exFAT).
 */

/** What a generation file holds. */
interface LeaseRecord {
  owner: string;
  /** One per acquisition, so a handle can tell its lease from a later one of the same owner. */
  token: string;
  acquiredAt: string;
  expiresAt: string;
  released?: true;
}

interface Current {
  gen: number;
  record?: LeaseRecord;
}

const GEN_FILE = /^(\d{12})\.json$/;
const genName = (gen: number): string => `${String(gen).padStart(12, '0')}.json`;

async function generations(dir: string): Promise<number[]> {
  const names = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.flatMap((n) => (GEN_FILE.test(n) ? [Number(n.slice(0, 12))] : [])).sort((a, b) => a - b);
}

/** The newest generation. An unreadable record counts as no lease (it cannot name a holder). */
async function readCurrent(dir: string): Promise<Current> {
  for (;;) {
    const gen = (await generations(dir)).at(-1) ?? 0;
    if (gen === 0) return { gen };
    try {
      return { gen, record: JSON.parse(await fs.readFile(path.join(dir, genName(gen)), 'utf8')) as LeaseRecord };
    } catch (err) {
      // Pruned between readdir and read: a newer generation exists, look again.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      if (err instanceof SyntaxError) return { gen };
      throw err;
    }
  }
}

/** Publishes `gen` exclusively (see above). True when this call created it and it is the newest. */
async function publish(dir: string, gen: number, record: LeaseRecord): Promise<boolean> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
  const fh = await fs.open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(JSON.stringify(record, null, 2));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.link(tmp, path.join(dir, genName(gen)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
  await syncDir(dir);
  const gens = await generations(dir);
  if ((gens.at(-1) ?? 0) > gen) {
    await fs.rm(path.join(dir, genName(gen)), { force: true });
    return false;
  }
  for (const old of gens) if (old < gen) await fs.rm(path.join(dir, genName(old)), { force: true });
  return true;
}

function isLive(record: LeaseRecord | undefined, now: Date): record is LeaseRecord {
  return record !== undefined && !record.released && Date.parse(record.expiresAt) > now.getTime();
}

/** Turns storage errors into typed bank errors (BankFull, BankError); typed errors pass through. */
export type MapError = (err: unknown) => Error;

/** Takes lease `name` whose generations live in `dir`. */
export async function acquireLocalLease(
  dir: string,
  name: string,
  opts: LeaseOptions,
  clock: Clock,
  mapError: MapError,
): Promise<BankLease> {
  if (typeof opts.owner !== 'string' || opts.owner === '')
    throw new BankError('a lease needs an owner', { code: 'BANK_INVALID_LEASE', status: 400 });
  if (!Number.isFinite(opts.ttlMs) || opts.ttlMs <= 0)
    throw new BankError('a lease ttl must be > 0 ms', { code: 'BANK_INVALID_LEASE', status: 400 });
  for (let attempt = 0; attempt < 20; attempt++) {
    const cur = await readCurrent(dir).catch((err: unknown) => Promise.reject(mapError(err)));
    const now = clock.now();
    if (isLive(cur.record, now) && cur.record.owner !== opts.owner) {
      throw new BankLocked(name, cur.record.owner, new Date(cur.record.expiresAt));
    }
    const record: LeaseRecord = {
      owner: opts.owner,
      token: randomBytes(12).toString('hex'),
      acquiredAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + opts.ttlMs).toISOString(),
    };
    const won = await publish(dir, cur.gen + 1, record).catch((err: unknown) => Promise.reject(mapError(err)));
    if (won) return new LocalLease(dir, name, opts.ttlMs, clock, mapError, record);
    // Lost a race to publish: the next read shows the winner.
  }
  throw new BankError(`could not take bank lease '${name}': too much contention`, { code: 'BANK_LEASE_CONTENDED', status: 409 });
}

class LocalLease implements BankLease {
  private released = false;

  constructor(
    private readonly dir: string,
    readonly name: string,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly mapError: MapError,
    private record: LeaseRecord,
  ) {}

  get owner(): string {
    return this.record.owner;
  }

  get expiresAt(): Date {
    return new Date(this.record.expiresAt);
  }

  /** The current generation if it is still this handle's lease, else BankLeaseLost. */
  private async mine(): Promise<Current> {
    const cur = await readCurrent(this.dir);
    if (this.released || cur.record?.token !== this.record.token || cur.record.released) {
      const other = cur.record && !cur.record.released && cur.record.token !== this.record.token ? cur.record.owner : undefined;
      throw new BankLeaseLost(this.name, this.owner, other);
    }
    return cur;
  }

  renew(): Promise<void> {
    return this.renewOnce().catch((err: unknown) => Promise.reject(this.mapError(err)));
  }

  release(): Promise<void> {
    return this.releaseOnce().catch((err: unknown) => Promise.reject(this.mapError(err)));
  }

  private async renewOnce(): Promise<void> {
    const cur = await this.mine();
    const next: LeaseRecord = { ...this.record, expiresAt: new Date(this.clock.now().getTime() + this.ttlMs).toISOString() };
    if (!(await publish(this.dir, cur.gen + 1, next))) {
      await this.mine(); // someone else published first: report who
      throw new BankLeaseLost(this.name, this.owner, 'another owner');
    }
    this.record = next;
  }

  private async releaseOnce(): Promise<void> {
    if (this.released) return;
    const cur = await this.mine().catch((err: unknown) => {
      if (err instanceof BankLeaseLost) return undefined;
      throw err;
    });
    this.released = true;
    if (!cur) return;
    // If this loses a race, the winner took the lease over: nothing left to release.
    await publish(this.dir, cur.gen + 1, { ...this.record, expiresAt: this.clock.now().toISOString(), released: true });
  }
}
