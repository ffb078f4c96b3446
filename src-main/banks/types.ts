import type { Readable } from 'node:stream';

export { BankError, BankFull, BankInvalidKey, BankLeaseLost, BankLocked, BankNotFound } from './errors';
export { validateKey, validateLeaseName, validatePrefix } from './keys';

/** Size of a stored object. */
export interface BankObjectStat {
  size: number;
}

/** How to take a lease. */
export interface LeaseOptions {
  /**
   * Who holds it: one engine, e.g. `<host>:<engine id>`. Shown in `BankLocked` so a user can
   * tell which machine is using the bank. Acquiring a live lease one already holds under the same
   * owner (say after a restart) succeeds, and any older handle then gets `BankLeaseLost`.
   */
  owner: string;
  /** How long the lease stays live without a `renew()`. Renew well before it ends (every ttl/3). */
  ttlMs: number;
}

/**
 * A held lease. It does not stop anyone reading the bank; it stops a second engine from writing
 * it (all writers take the same lease name before writing).
 */
export interface BankLease {
  readonly name: string;
  readonly owner: string;
  /** When the lease lapses unless renewed; updated by `renew()`. */
  readonly expiresAt: Date;
  /**
   * Extends the lease by its ttl from now. Succeeds even after expiry if nobody took it over
   * meanwhile.
   *
   * @throws BankLeaseLost when another owner took it over (or it was released): stop writing.
   */
  renew(): Promise<void>;
  /** Gives the lease up so another owner can take it at once. Idempotent; a no-op if lost. */
  release(): Promise<void>;
}

/** How a put may be made. */
export interface PutOptions {
  /**
   * Resolve once the object is complete and visible, before it is durable; `flush()` makes it
   * durable. For many small objects whose durability can be settled at once (a checkpoint's chunks
   * before the index that names them). Backends whose puts are always durable ignore it.
   */
  deferSync?: boolean;
}

/**
 * Object storage for backups: a flat namespace of immutable-once-written objects under
 * `/`-separated keys, plus leases so only one engine writes a bank at a time.
 *
 * Every backend (local directory, S3-compatible, Swift) passes one conformance suite
 * (`test/banks/conformance.ts`), so callers may rely on exactly what is documented here.
 *
 * Keys follow `validateKey`: relative `/`-separated segments of `[A-Za-z0-9._-]`, none empty,
 * `.`, `..` or starting with `.`; any other key fails with `BankInvalidKey` before touching
 * storage. A key should not be both an object and a prefix of another object's key (`a` and
 * `a/b`): object stores allow it, a directory cannot, so the local backend rejects it.
 */
export interface Bank {
  /**
   * Stores an object, replacing any object under the key. Atomic: readers see the old object or
   * the whole new one, never a part; if the put fails (source stream error, crash, full disk) the
   * key keeps its previous state. Resolves once the object is durable. A stream source is read to
   * its end, or destroyed when the put fails.
   *
   * @throws BankFull when the storage is full or over quota; the source stream's own error when it fails.
   */
  put(key: string, data: Buffer | Readable, opts?: PutOptions): Promise<void>;

  /**
   * Makes every put made so far with `deferSync` durable (one sync for all of them); with
   * `everything`, also deletes made so far. Resolves only once every earlier flush has too.
   * Absent on backends where every put and delete is durable when it resolves.
   */
  flush?(opts?: { everything?: boolean }): Promise<void>;

  /** Reads a whole object into memory. @throws BankNotFound */
  get(key: string): Promise<Buffer>;

  /**
   * Streams an object, for objects too big to buffer. A missing object errors the stream with
   * `BankNotFound`; an invalid key may throw at once.
   */
  getStream(key: string): Readable;

  /** The object's size, or `undefined` when there is no object under the key. */
  stat(key: string): Promise<BankObjectStat | undefined>;

  /**
   * Keys starting with `prefix` (plain string prefix: `chunks/a` matches `chunks/ab/…`), in
   * ascending code-unit order (`Array.prototype.sort` order). Objects being written and backend
   * bookkeeping (temp files, leases) are never listed.
   */
  list(prefix: string): AsyncIterable<string>;

  /** Removes an object. Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;

  /**
   * Takes the named lease. A live lease of another owner fails; a stale one (its holder did not
   * renew before `expiresAt`) is taken over, and exactly one of several racing takers wins.
   *
   * @throws BankLocked naming the holder and when its lease expires.
   */
  acquireLease(name: string, opts: LeaseOptions): Promise<BankLease>;
}
