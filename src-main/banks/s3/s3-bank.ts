import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as ClientS3 from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';
import { systemClock, type Clock } from '../../engine/clock';
import { BankError, BankNotFound } from '../errors';
import { validateKey, validateLeaseName, validatePrefix } from '../keys';
import { bankPrefix, bookkeeping, guardSource, OVERWRITE_RETRY_MS } from '../remote/object-names';
import { acquireTimedLease, type LeaseRegister } from '../remote/timed-lease';
import type { Bank, BankLease, BankObjectStat, LeaseOptions } from '../types';
import { isMissing, isNoBucket, mapS3Error, s3Code, s3Status } from './s3-errors';

const MiB = 1024 * 1024;

interface AwsSdk {
  s3: typeof ClientS3;
  storage: typeof LibStorage;
}
let sdk: AwsSdk | undefined;

/** The AWS SDK, loaded with the first S3 bank: loading it takes about 0.1 s, which every start would pay. */
function awsSdk(): AwsSdk {
  if (!sdk) {
    const load = createRequire(import.meta.url);
    sdk = { s3: load('@aws-sdk/client-s3') as typeof ClientS3, storage: load('@aws-sdk/lib-storage') as typeof LibStorage };
  }
  return sdk;
}

export interface S3BankOptions {
  bucket: string;
  /** Optional folder inside the bucket (`karbor/`), so several banks can share one bucket. */
  prefix?: string;
  /** S3-compatible endpoint (`http://127.0.0.1:8080` for Swift's s3api); AWS when absent. */
  endpoint?: string;
  /** Default `us-east-1`. */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`); default true when `endpoint` is set. */
  forcePathStyle?: boolean;
  /** Static keys; the SDK's default chain (environment, profile, instance role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Part size of multipart uploads of streams (≥ 5 MiB). Default 16 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded at once per stream. Default 4. */
  queueSize?: number;
  /** Keys per listing request (S3's maximum is 1000). */
  pageSize?: number;
  clock?: Clock;
  /** Lease settle time (see `timed-lease.ts`). Default 3 s. */
  leaseSettleMs?: number;
  /** How long a connection may stay silent before the call fails. Default 2 minutes. */
  timeoutMs?: number;
  /** An S3 client to use instead of building one from the options above. */
  client?: ClientS3.S3Client;
}

/**
 * A bank in an S3-compatible bucket, one object per key (`<prefix><key>`).
 *
 * Puts are atomic: a buffer is one PutObject with `Content-MD5`; a stream goes through the SDK's
 * `Upload`, a single PutObject when it fits one part, else a multipart upload that S3 publishes
 * only on completion and that is aborted (parts freed) when the source fails. Listing pages with
 * ListObjectsV2 continuation tokens. Leases are objects under `<prefix>.leases/` using the timed
 * protocol of `timed-lease.ts`; `If-None-Match: *` is sent when creating one (an early exit on AWS
 * and MinIO) and dropped for good when the store answers 501, as Swift's s3api does. S3 has no
 * per-object expiry header, so lease objects stay (a few hundred bytes each, one per lease name).
 *
 * The SDK is told to add checksums only where S3 requires them: its default CRC32 trailers on
 * streamed bodies (aws-chunked encoding) are not understood by Swift's s3api and other
 * S3-compatible stores.
 */
export class S3Bank implements Bank {
  readonly bucket: string;
  private readonly prefix: string;
  private readonly client: ClientS3.S3Client;
  private readonly clock: Clock;
  private readonly partSize: number;
  private bucketReady: Promise<void> | undefined;
  /** Whether the store honours `If-None-Match` on PutObject; unknown until tried. */
  private conditionalPuts = true;

  constructor(private readonly opts: S3BankOptions) {
    this.bucket = opts.bucket;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(this.bucket)) {
      throw new BankError(`invalid S3 bucket name '${this.bucket}'`, { code: 'BANK_INVALID_CONFIG', status: 400 });
    }
    this.prefix = bankPrefix(opts.prefix);
    this.clock = opts.clock ?? systemClock;
    this.partSize = Math.max(5 * MiB, opts.partSizeBytes ?? 16 * MiB);
    this.client =
      opts.client ??
      new (awsSdk().s3.S3Client)({
        endpoint: opts.endpoint,
        region: opts.region ?? 'us-east-1',
        forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
        credentials: opts.credentials,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 4,
        // No overall request timeout (a multipart part or a download may take long); a stalled socket fails.
        requestHandler: { connectionTimeout: 10_000, socketTimeout: opts.timeoutMs ?? 120_000 },
      });
  }

  private get location(): string {
    return `S3 bucket '${this.bucket}'${this.prefix ? ` under '${this.prefix}'` : ''}`;
  }

  private readonly fail = (err: unknown): Error => mapS3Error(err, this.location);

  private name(key: string): string {
    return this.prefix + validateKey(key);
  }

  /** Creates the bucket on the first write if it does not exist. */
  private ensureBucket(): Promise<void> {
    this.bucketReady ??= (async () => {
      try {
        await this.client.send(new (awsSdk().s3.HeadBucketCommand)({ Bucket: this.bucket }));
      } catch (err) {
        if (s3Status(err) !== 404 && !isNoBucket(err)) throw err;
        await this.client.send(new (awsSdk().s3.CreateBucketCommand)({ Bucket: this.bucket })).catch((e: unknown) => {
          if (s3Code(e) !== 'BucketAlreadyOwnedByYou') throw e;
        });
      }
    })().catch((err: unknown) => {
      this.bucketReady = undefined;
      throw this.fail(err);
    });
    return this.bucketReady;
  }

  async put(key: string, data: Buffer | Readable): Promise<void> {
    try {
      const Key = this.name(key);
      await this.ensureBucket();
      if (Buffer.isBuffer(data)) {
        const md5 = createHash('md5').update(data).digest('base64');
        await this.client
          .send(new (awsSdk().s3.PutObjectCommand)({ Bucket: this.bucket, Key, Body: data, ContentLength: data.length, ContentMD5: md5 }))
          .catch((err: unknown) => Promise.reject(this.fail(err)));
        return;
      }
      const guarded = guardSource(data);
      const upload = new (awsSdk().storage.Upload)({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: Readable.from(guarded.body, { objectMode: false }) },
        partSize: this.partSize,
        queueSize: this.opts.queueSize ?? 4,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (err) {
        const failure = guarded.error();
        throw failure instanceof Error ? failure : this.fail(err);
      }
    } catch (err) {
      if (!Buffer.isBuffer(data)) data.destroy();
      throw err;
    }
  }

  async get(key: string): Promise<Buffer> {
    const r = await this.getObject(key);
    try {
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (err) {
      throw this.fail(err);
    }
  }

  getStream(key: string): Readable {
    return Readable.from(this.download(key), { objectMode: false });
  }

  private async *download(key: string): AsyncGenerator<Buffer> {
    const r = await this.getObject(key);
    yield* r.Body as Readable as AsyncIterable<Buffer>;
  }

  /** GET of an object; "no such key" is asked once more before it counts as missing (see OVERWRITE_RETRY_MS). */
  private async getObject(key: string): Promise<ClientS3.GetObjectCommandOutput> {
    const Key = this.name(key);
    const send = () => this.client.send(new (awsSdk().s3.GetObjectCommand)({ Bucket: this.bucket, Key }));
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        if (isNoBucket(err)) throw new BankNotFound(key);
        if (!isMissing(err)) throw this.fail(err);
        if (attempt > 0) throw new BankNotFound(key);
      }
      await sleep(OVERWRITE_RETRY_MS);
    }
  }

  async stat(key: string): Promise<BankObjectStat | undefined> {
    const Key = this.name(key);
    try {
      const r = await this.client.send(new (awsSdk().s3.HeadObjectCommand)({ Bucket: this.bucket, Key }));
      return { size: r.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err) || isNoBucket(err)) return undefined;
      throw this.fail(err);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    validatePrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.client
        .send(
          new (awsSdk().s3.ListObjectsV2Command)({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
            MaxKeys: this.opts.pageSize ?? 1000,
          }),
        )
        .catch((err: unknown) => {
          if (isNoBucket(err)) return undefined;
          throw this.fail(err);
        });
      if (!page) return;
      for (const o of page.Contents ?? []) {
        const key = (o.Key ?? '').slice(this.prefix.length);
        if (key && !bookkeeping(key)) yield key;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    const Key = this.name(key);
    await this.client.send(new (awsSdk().s3.DeleteObjectCommand)({ Bucket: this.bucket, Key })).catch((err: unknown) => {
      if (!isMissing(err) && !isNoBucket(err)) throw this.fail(err);
    });
  }

  async acquireLease(name: string, opts: LeaseOptions): Promise<BankLease> {
    const Key = `${this.prefix}.leases/${validateLeaseName(name)}`;
    const register: LeaseRegister = {
      read: async () => {
        try {
          const r = await this.client.send(new (awsSdk().s3.GetObjectCommand)({ Bucket: this.bucket, Key }));
          return Buffer.from(await r.Body!.transformToByteArray());
        } catch (err) {
          if (isMissing(err) || isNoBucket(err)) return undefined;
          throw err;
        }
      },
      write: async (body, { ifAbsent }) => {
        await this.ensureBucket();
        const put = (conditional: boolean): Promise<unknown> =>
          this.client.send(
            new (awsSdk().s3.PutObjectCommand)({
              Bucket: this.bucket,
              Key,
              Body: body,
              ContentType: 'application/json',
              ...(conditional ? { IfNoneMatch: '*' } : {}),
            }),
          );
        try {
          await put(ifAbsent && this.conditionalPuts);
          return true;
        } catch (err) {
          const status = s3Status(err);
          if (status === 412 || status === 409) return false;
          if (status !== 501 || !ifAbsent) throw err;
          this.conditionalPuts = false; // NotImplemented: this store ignores conditions, do without
          await put(false);
          return true;
        }
      },
    };
    return acquireTimedLease(register, name, opts, {
      clock: this.clock,
      settleMs: this.opts.leaseSettleMs ?? 3000,
      retainMs: 0,
      mapError: this.fail,
    });
  }
}
