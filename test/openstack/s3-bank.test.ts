import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Bank, type S3BankOptions } from '../../src-main/banks/s3/s3-bank';
import { BankFull } from '../../src-main/banks/types';
import { bankConformance } from '../banks/conformance';
import { caught, collect, failingSource, MiB, randomSource, streamSha256 } from '../banks/stream-util';
import {
  clientFor,
  rawContainer,
  removeBucket,
  s3Credentials,
  swiftCredentials,
  TEST_SETTLE_MS,
  uniqueName,
  type S3Credentials,
} from './bank-cloud';

const creds = s3Credentials();
const skipReason = creds ? '' : ' (skipped: no S3 endpoint; run scripts/openstack/up.sh, which writes /tmp/osbox/s3.env)';

function s3Bank(c: S3Credentials, bucket: string, extra: Partial<S3BankOptions> = {}): S3Bank {
  return new S3Bank({
    bucket,
    endpoint: c.endpoint,
    region: c.region,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    leaseSettleMs: TEST_SETTLE_MS,
    ...extra,
  });
}

if (creds) {
  bankConformance('S3 (Swift s3api)', async ({ clock }) => {
    const bucket = uniqueName('s3');
    return {
      bank: s3Bank(creds, bucket, { clock }),
      peer: s3Bank(creds, bucket, { clock }),
      cleanup: () => removeBucket(creds, bucket),
    };
  });
}

describe.skipIf(!creds)(`S3 bank specifics${skipReason}`, () => {
  const c = creds!;
  const withBucket = async (fn: (bucket: string) => Promise<void>): Promise<void> => {
    const bucket = uniqueName('s3');
    try {
      await fn(bucket);
    } finally {
      await removeBucket(c, bucket);
    }
  };
  const pendingUploads = async (bucket: string): Promise<number> => {
    const s3 = clientFor(c);
    const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    s3.destroy();
    return r.Uploads?.length ?? 0;
  };

  it('uploads a stream larger than a part as a multipart upload', () =>
    withBucket(async (bucket) => {
      const bank = s3Bank(c, bucket, { partSizeBytes: 5 * MiB, queueSize: 2 });
      const src = randomSource(17 * MiB + 3);
      await bank.put('big/multi', src.stream);
      expect(await bank.stat('big/multi')).toEqual({ size: 17 * MiB + 3 });
      expect(await streamSha256(bank.getStream('big/multi'))).toEqual({ sha256: src.sha256(), size: 17 * MiB + 3 });
      expect(await pendingUploads(bucket)).toBe(0);
    }));

  it('a multipart upload whose source fails is aborted: no object, no parts left', () =>
    withBucket(async (bucket) => {
      const bank = s3Bank(c, bucket, { partSizeBytes: 5 * MiB, queueSize: 2 });
      await bank.put('keep', Buffer.from('x'));
      const err = await caught(() => bank.put('big/broken', failingSource(12 * MiB)));
      expect((err as Error).message).toBe('source failed half-way');
      expect(await bank.stat('big/broken')).toBeUndefined();
      expect(await pendingUploads(bucket)).toBe(0);
      expect(await collect(bank.list(''))).toEqual(['keep']);
    }));

  it('pages through listings with continuation tokens, in order, within the prefix', () =>
    withBucket(async (bucket) => {
      const bank = s3Bank(c, bucket, { pageSize: 3 });
      const keys = Array.from({ length: 11 }, (_, i) => `p/k${String(i).padStart(2, '0')}`);
      await Promise.all([...keys, 'o/x', 'q'].map((k) => bank.put(k, Buffer.from(k))));
      expect(await collect(bank.list('p/'))).toEqual(keys);
      expect(await collect(bank.list(''))).toEqual(['o/x', ...keys, 'q']);
    }));

  it('keeps banks with different prefixes in one bucket apart', () =>
    withBucket(async (bucket) => {
      const a = s3Bank(c, bucket, { prefix: 'bank-a' });
      const b = s3Bank(c, bucket, { prefix: 'bank-b/' });
      await a.put('x/1', Buffer.from('a'));
      await b.put('x/1', Buffer.from('b'));
      await a.acquireLease('writer', { owner: 'engine-a', ttlMs: 60_000 });
      expect(await collect(a.list(''))).toEqual(['x/1']);
      expect((await b.get('x/1')).toString()).toBe('b');
      await b.acquireLease('writer', { owner: 'engine-b', ttlMs: 60_000 });
    }));

  const swift = swiftCredentials();
  it.skipIf(!swift)('a put over the quota of the bucket (a Swift container quota) fails with BankFull', () =>
    withBucket(async (bucket) => {
      const bank = s3Bank(c, bucket, { partSizeBytes: 5 * MiB });
      await bank.put('kept', randomBytes(1000));
      const http = rawContainer(swift!, bucket);
      const quota = (bytes: number): Promise<unknown> =>
        http.call({ method: 'POST', object: '', headers: { 'X-Container-Meta-Quota-Bytes': String(bytes) }, expect: [204] });
      const expectFull = async (data: Buffer | Readable): Promise<void> => {
        const err = await caught(() => bank.put('too/big', data));
        expect(err).toBeInstanceOf(BankFull);
        expect(err).toMatchObject({ code: 'BANK_FULL', status: 507 });
        expect(await bank.stat('too/big')).toBeUndefined();
      };
      await quota(256 * 1024);
      await expectFull(randomBytes(512 * 1024));
      await expectFull(randomSource(512 * 1024).stream);
      expect(await collect(bank.list(''))).toEqual(['kept']);
      await quota(10 * MiB);
      await bank.put('small', randomBytes(1000));
    }),
  );
});
