import { setTimeout as sleep } from 'node:timers/promises';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { systemClock, type Clock } from '../../engine/clock';
import { BankError, BankFull, BankNotFound } from '../errors';
import { validateKey, validateLeaseName, validatePrefix } from '../keys';
import { acquireTimedLease, type LeaseRegister } from '../remote/timed-lease';
import { bookkeeping, bankPrefix, guardSource, OVERWRITE_RETRY_MS } from '../remote/object-names';
import type { Bank, BankLease, BankObjectStat, LeaseOptions } from '../types';
import type { CloudConfig } from '../../plugins/openstack/client/clouds';
import { CloudSessionAuth } from './cloud-auth';
import { KeystoneTokenSource, type KeystoneCredentials } from './keystone-auth';
import {
  bulkDeleteErrors,
  ByteReader,
  DEFAULT_SEGMENT_BYTES,
  MAX_SEGMENT_BYTES,
  segmentFolder,
  segmentName,
  segmentsOf,
  STREAM_LOOKAHEAD_BYTES,
  type ManifestEntry,
  type SegmentBody,
} from './large-objects';

import { isQuotaFailure, SwiftCallError, SwiftHttp, type SwiftCall } from './swift-http';

export interface SwiftBankOptions {
  /**
   * How to log in: Keystone v3 password credentials, or a cloud (from `clouds.yaml` or `OS_*`, see
   * `loadCloud` of the OpenStack client). The storage URL comes from the token's catalog.
   */
  auth: KeystoneCredentials | { cloud: CloudConfig };
  /** Container holding the bank; created on the first write if missing. */
  container: string;
  /** Optional folder inside the container (`karbor/`), so several banks can share one container. */
  prefix?: string;
  clock?: Clock;
  /** Lease settle time (see `timed-lease.ts`). Default 3 s. */
  leaseSettleMs?: number;
  /** How long lease objects outlive their expiry before Swift deletes them (`X-Delete-After`). Default 1 day. */
  leaseRetainMs?: number;
  /** Names per listing request (Swift's maximum is 10,000). */
  pageSize?: number;
  /** Timeout of calls without a streamed body. Default 60 s. */
  timeoutMs?: number;
  /** Extra attempts for 5xx answers and connection failures (never for streamed uploads). Default 3. */
  retries?: number;
  /**
   * Objects larger than this are stored as Static Large Objects in segments of this size (see
   * `large-objects.ts`). Default 1 GiB; at most 5 GiB, Swift's default single-object limit.
   */
  segmentBytes?: number;
}

/**
 * A bank in an OpenStack Swift container, one object per key (`<prefix><key>`).
 *
 * Swift stores an object only when its upload completes, so every put is atomic: a buffer is one
 * PUT with its MD5 as `ETag` (Swift checks it); a stream that ends within the first 16 MiB is sent
 * the same way. One PUT holds at most Swift's `max_file_size` (5 GiB by default), so a bigger
 * object (more than `segmentBytes`, and every longer stream) becomes a Static Large Object: its
 * segments go to `<prefix>.segments/<key>/.<upload>/` (streamed ones with chunked transfer
 * encoding, each checked against its MD5), then a manifest PUT publishes the object at once;
 * readers get the whole object from Swift as usual. A failed upload deletes the segments it
 * made, a replaced large object's segments are deleted after the new manifest, and delete removes
 * a large object's segments with it (`?multipart-manifest=delete`). The engine's objects are
 * chunks and indexes, far smaller than a segment, so they stay single objects.
 *
 * Leases are objects under `<prefix>.leases/` (see `timed-lease.ts`: Swift has no atomic
 * conditional PUT) with `X-Delete-After` so abandoned ones disappear. Quota errors (413 "exceeds
 * quota", 507) become `BankFull`; Swift checks a chunked upload only against what the container
 * already holds, so a streamed segment can overshoot a quota by its own size (the next put then fails).
 */
export class SwiftBank implements Bank {
  readonly container: string;
  private readonly prefix: string;
  private readonly http: SwiftHttp;
  private readonly clock: Clock;
  private readonly pageSize: number;
  private readonly segmentBytes: number;
  private containerReady: Promise<void> | undefined;

  constructor(private readonly opts: SwiftBankOptions) {
    this.container = opts.container;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(this.container)) {
      throw new BankError(`invalid Swift container name '${this.container}'`, { code: 'BANK_INVALID_CONFIG', status: 400 });
    }
    this.prefix = bankPrefix(opts.prefix);
    this.clock = opts.clock ?? systemClock;
    this.pageSize = opts.pageSize ?? 10_000;
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isInteger(this.segmentBytes) || this.segmentBytes < 1 || this.segmentBytes > MAX_SEGMENT_BYTES) {
      throw new BankError(`invalid Swift segment size ${this.segmentBytes}: 1 byte to 5 GiB`, { code: 'BANK_INVALID_CONFIG', status: 400 });
    }
    const auth =
      'cloud' in opts.auth ? new CloudSessionAuth(opts.auth.cloud) : new KeystoneTokenSource(opts.auth, opts.timeoutMs ?? 60_000);
    this.http = new SwiftHttp(auth, this.container, {
      timeoutMs: opts.timeoutMs ?? 60_000,
      retries: opts.retries ?? 3,
      backoffMs: 300,
    });
  }

  private get location(): string {
    return `Swift container '${this.container}'${this.prefix ? ` under '${this.prefix}'` : ''}`;
  }

  /** Swift failures as typed bank errors. */
  private mapError = (err: unknown): Error => {
    if (err instanceof BankError) return err;
    if (err instanceof SwiftCallError) {
      if (isQuotaFailure(err)) return new BankFull(this.location, Object.assign(new Error(err.message), { code: 'EDQUOT' }));
      if (err.status === 413)
        return new BankError(`${err.message} (object larger than Swift allows)`, {
          code: 'BANK_OBJECT_TOO_LARGE',
          status: 413,
          cause: err,
        });
      if (err.status === 401 || err.status === 403)
        return new BankError(`${this.location}: access denied (${err.message})`, { code: 'BANK_FORBIDDEN', status: 403, cause: err });
      return new BankError(`${this.location}: ${err.message}`, { code: 'BANK_UNAVAILABLE', status: 502, cause: err });
    }
    // Keystone failures (the OpenStack client's errors) and anything else the store threw.
    const status = (err as { status?: unknown } | null)?.status;
    if (status === 401 || status === 403) {
      return new BankError(`${this.location}: Keystone refused the login (${(err as Error).message})`, {
        code: 'BANK_FORBIDDEN',
        status: 403,
        cause: err,
      });
    }
    return new BankError(`${this.location}: ${(err as Error | null)?.message ?? String(err)}`, {
      code: 'BANK_UNAVAILABLE',
      status: 502,
      cause: err,
    });
  };

  private call(c: SwiftCall): ReturnType<SwiftHttp['call']> {
    return this.http.call(c).catch((err: unknown) => Promise.reject(this.mapError(err)));
  }

  /** Creates the container once (PUT is idempotent: 201 created, 202 existed). */
  private ensureContainer(): Promise<void> {
    this.containerReady ??= this.call({ method: 'PUT', object: '', expect: [201, 202] }).then(
      () => undefined,
      (err: unknown) => {
        this.containerReady = undefined;
        throw err;
      },
    );
    return this.containerReady;
  }

  private name(key: string): string {
    return this.prefix + validateKey(key);
  }

  async put(key: string, data: Buffer | Readable): Promise<void> {
    try {
      const object = this.name(key);
      await this.ensureContainer();
      if (Buffer.isBuffer(data)) {
        if (data.length > this.segmentBytes) await this.putLarge(key, object, segmentsOf(data, this.segmentBytes));
        else await this.putSingle(object, data);
        return;
      }
      const guarded = guardSource(data);
      try {
        const reader = new ByteReader(guarded.body);
        const head = await reader.read(Math.min(this.segmentBytes, STREAM_LOOKAHEAD_BYTES));
        if (await reader.ended()) {
          await this.putSingle(object, head);
          return;
        }
        reader.unshift(head);
        await this.putLarge(key, object, segmentsOf(reader, this.segmentBytes));
      } catch (err) {
        const failure = guarded.error();
        throw failure instanceof Error ? failure : this.mapError(err);
      }
    } catch (err) {
      if (!Buffer.isBuffer(data)) data.destroy();
      throw err;
    }
  }

  private async putSingle(object: string, data: Buffer): Promise<void> {
    const etag = createHash('md5').update(data).digest('hex');
    await this.call({ method: 'PUT', object, body: data, headers: { ETag: etag }, expect: [201] });
  }

  /** Uploads the segments one after another, then the manifest; see the class comment. */
  private async putLarge(key: string, object: string, next: () => Promise<SegmentBody | undefined>): Promise<void> {
    const folder = segmentFolder(this.prefix, key);
    const upload = `${folder}.${this.clock.now().getTime().toString(36)}-${randomBytes(4).toString('hex')}/`;
    const manifest: ManifestEntry[] = [];
    try {
      for (let body = await next(); body; body = await next()) {
        const name = segmentName(upload, manifest.length);
        // Listed first, so that a segment whose upload fails half-way is deleted too.
        const entry: ManifestEntry = { path: `/${this.container}/${name}`, etag: '', size_bytes: 0 };
        manifest.push(entry);
        const r = await this.call({
          method: 'PUT',
          object: name,
          ...('buffer' in body ? { body: body.buffer } : { body: body.stream }),
          expect: [201],
        });
        const local = 'buffer' in body ? createHash('md5').update(body.buffer).digest('hex') : body.tally.md5;
        const stored = (r.headers.get('etag') ?? '').replace(/"/g, '');
        if (stored !== local)
          throw new BankError(`${this.location}: segment ${name} arrived damaged (MD5 ${stored}, sent ${local})`, {
            code: 'BANK_UNAVAILABLE',
            status: 502,
          });
        entry.etag = local;
        entry.size_bytes = 'buffer' in body ? body.buffer.length : body.tally.size;
      }
      await this.call({
        method: 'PUT',
        object,
        query: { 'multipart-manifest': 'put' },
        body: Buffer.from(JSON.stringify(manifest)),
        expect: [201],
      });
    } catch (err) {
      await Promise.all(manifest.map((m) => this.deleteQuietly(m.path.slice(this.container.length + 2))));
      throw err;
    }
    // The segments of what the key held before (and of uploads that died half-way) are no longer read.
    for await (const name of this.names(`${folder}.`)) if (!name.startsWith(upload)) await this.deleteQuietly(name);
  }

  private async deleteQuietly(object: string): Promise<void> {
    await this.call({ method: 'DELETE', object, expect: [204, 404] }).catch(() => undefined);
  }

  /** A 404 is asked once more before it counts as missing (see OVERWRITE_RETRY_MS). */
  async get(key: string): Promise<Buffer> {
    const object = this.name(key);
    let r = await this.call({ method: 'GET', object, expect: [200, 404] });
    if (r.status === 404) {
      await sleep(OVERWRITE_RETRY_MS);
      r = await this.call({ method: 'GET', object, expect: [200, 404] });
    }
    if (r.status === 404) throw new BankNotFound(key);
    return r.body;
  }

  getStream(key: string): Readable {
    return Readable.from(this.download(this.name(key), key), { objectMode: false });
  }

  private async *download(object: string, key: string): AsyncGenerator<Buffer> {
    let r = await this.call({ method: 'GET', object, expect: [200, 404], stream: true });
    if (r.status === 404) {
      // As in get(): a read racing an overwrite.
      await r.res.body?.cancel();
      await sleep(OVERWRITE_RETRY_MS);
      r = await this.call({ method: 'GET', object, expect: [200, 404], stream: true });
    }
    if (r.status === 404 || !r.res.body) {
      await r.res.body?.cancel();
      throw new BankNotFound(key);
    }
    yield* Readable.fromWeb(r.res.body as WebReadableStream<Uint8Array>) as AsyncIterable<Buffer>;
  }

  async stat(key: string): Promise<BankObjectStat | undefined> {
    const r = await this.call({ method: 'HEAD', object: this.name(key), expect: [200, 404] });
    return r.status === 404 ? undefined : { size: Number(r.headers.get('content-length') ?? 0) };
  }

  async *list(prefix: string): AsyncIterable<string> {
    validatePrefix(prefix);
    for await (const name of this.names(this.prefix + prefix)) {
      const key = name.slice(this.prefix.length);
      if (!bookkeeping(key)) yield key;
    }
  }

  /** Object names of the container starting with `prefix`, page by page. */
  private async *names(prefix: string): AsyncIterable<string> {
    let marker = '';
    for (;;) {
      const query = { format: 'json', prefix, limit: this.pageSize, ...(marker ? { marker } : {}) };
      const r = await this.call({ method: 'GET', object: '', query, expect: [200, 204, 404] });
      if (r.status !== 200) return;
      const rows = JSON.parse(r.text) as { name: string }[];
      for (const row of rows) yield row.name;
      if (rows.length < this.pageSize) return;
      marker = rows.at(-1)!.name;
    }
  }

  /**
   * A plain DELETE of a large object's manifest would leave its segments, and `?multipart-manifest=delete`
   * refuses plain objects ("Not an SLO manifest"), so a HEAD tells which one the key holds.
   */
  async delete(key: string): Promise<void> {
    const object = this.name(key);
    const head = await this.call({ method: 'HEAD', object, expect: [200, 404] });
    if (head.status === 404) return;
    if (head.headers.get('x-static-large-object')?.toLowerCase() !== 'true') {
      await this.call({ method: 'DELETE', object, expect: [204, 404] });
      return;
    }
    const r = await this.call({
      method: 'DELETE',
      object,
      query: { 'multipart-manifest': 'delete' },
      headers: { Accept: 'application/json' },
      expect: [200],
    });
    const errors = bulkDeleteErrors(r.text);
    if (errors.length)
      throw new BankError(`${this.location}: deleting large object ${key} failed: ${errors.join('; ')}`, {
        code: 'BANK_UNAVAILABLE',
        status: 502,
      });
  }

  async acquireLease(name: string, opts: LeaseOptions): Promise<BankLease> {
    const object = `${this.prefix}.leases/${validateLeaseName(name)}`;
    const register: LeaseRegister = {
      read: async () => {
        const r = await this.http.call({ method: 'GET', object, expect: [200, 404] });
        return r.status === 200 ? r.body : undefined;
      },
      write: async (body, { ifAbsent, expireAfterMs }) => {
        await this.ensureContainer();
        const headers: Record<string, string> = {
          'Content-Type': 'application/json',
          'X-Delete-After': String(Math.max(1, Math.ceil(expireAfterMs / 1000))),
        };
        if (ifAbsent) headers['If-None-Match'] = '*';
        // 202: the object server already holds a write of this lease with a newer timestamp (a
        // racing engine's), so this one was discarded: like 409/412, someone wrote first.
        const r = await this.http.call({ method: 'PUT', object, body, headers, expect: [201, 202, 409, 412] });
        return r.status === 201;
      },
    };
    return acquireTimedLease(register, name, opts, {
      clock: this.clock,
      settleMs: this.opts.leaseSettleMs ?? 3000,
      retainMs: this.opts.leaseRetainMs ?? 24 * 60 * 60 * 1000,
      mapError: this.mapError,
    });
  }
}
