import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { KeystoneCredentials } from '../../src-main/banks/swift/keystone-auth';
import { SwiftBank } from '../../src-main/banks/swift/swift-bank';
import { swiftBankFromConfig } from '../../src-main/banks/swift/swift-config';
import { BankFull, BankLocked } from '../../src-main/banks/types';
import type { Clock } from '../../src-main/engine/clock';
import { bankConformance } from '../banks/conformance';
import { caught, collect, failingSource, MiB, randomSource, streamSha256 } from '../banks/stream-util';
import { rawContainer, removeContainer, swiftCredentials, TEST_SETTLE_MS, uniqueName } from './bank-cloud';

const creds = swiftCredentials();
const skipReason = creds ? '' : ' (skipped: no OpenStack; run scripts/openstack/up.sh)';

function swiftBank(
  auth: KeystoneCredentials,
  container: string,
  clock?: Clock,
  extra: Partial<ConstructorParameters<typeof SwiftBank>[0]> = {},
): SwiftBank {
  return new SwiftBank({ auth, container, clock, leaseSettleMs: TEST_SETTLE_MS, ...extra });
}

if (creds) {
  bankConformance('Swift', async ({ clock }) => {
    const container = uniqueName('swift');
    return {
      bank: swiftBank(creds, container, clock),
      peer: swiftBank(creds, container, clock),
      cleanup: () => removeContainer(creds, container),
    };
  });
}

describe.skipIf(!creds)(`Swift bank specifics${skipReason}`, () => {
  const auth = creds!;
  const withContainer = async (fn: (container: string) => Promise<void>): Promise<void> => {
    const container = uniqueName('swift');
    try {
      await fn(container);
    } finally {
      await removeContainer(auth, container);
    }
  };

  it('logs in through a cloud read like the OpenStack plugins read it (OS_* here) when the config has no authUrl', () =>
    withContainer(async (container) => {
      const env = {
        OS_AUTH_URL: auth.authUrl,
        OS_USERNAME: auth.username,
        OS_PASSWORD: auth.password,
        OS_PROJECT_NAME: auth.projectName,
        OS_USER_DOMAIN_ID: auth.userDomainId,
        OS_PROJECT_DOMAIN_ID: auth.projectDomainId,
        OS_REGION_NAME: auth.region,
      };
      const bank = swiftBankFromConfig({ type: 'swift', container, prefix: 'via-cloud', leaseSettleMs: TEST_SETTLE_MS }, env);
      await bank.put('a/b', Buffer.from('through the session'));
      await bank.put('a/c', randomSource(MiB).stream);
      expect((await bank.get('a/b')).toString()).toBe('through the session');
      expect(await collect(bank.list('a/'))).toEqual(['a/b', 'a/c']);
      const lease = await bank.acquireLease('writer', { owner: 'engine-a', ttlMs: 60_000 });
      await lease.release();
      expect(await collect(swiftBank(auth, container).list(''))).toEqual(['via-cloud/a/b', 'via-cloud/a/c']);
    }));

  it('a refused login is a typed error, through either login path', async () => {
    const container = uniqueName('swift');
    const direct = swiftBank({ ...auth, password: 'wrong' }, container);
    expect(await caught(() => direct.put('k', Buffer.from('x')))).toMatchObject({ code: 'BANK_AUTH_FAILED', status: 401 });
    const env = { OS_AUTH_URL: auth.authUrl, OS_USERNAME: auth.username, OS_PASSWORD: 'wrong', OS_PROJECT_NAME: auth.projectName };
    const viaCloud = swiftBankFromConfig({ type: 'swift', container }, env);
    expect(await caught(() => viaCloud.stat('k'))).toMatchObject({ code: 'BANK_FORBIDDEN', status: 403 });
  });

  it('pages through listings with a marker, in order, within the prefix', () =>
    withContainer(async (container) => {
      const bank = swiftBank(auth, container, undefined, { pageSize: 3 });
      const keys = Array.from({ length: 11 }, (_, i) => `p/k${String(i).padStart(2, '0')}`);
      await Promise.all([...keys, 'o/x', 'q'].map((k) => bank.put(k, Buffer.from(k))));
      expect(await collect(bank.list('p/'))).toEqual(keys);
      expect(await collect(bank.list(''))).toEqual(['o/x', ...keys, 'q']);
    }));

  it('keeps banks with different prefixes in one container apart', () =>
    withContainer(async (container) => {
      const a = swiftBank(auth, container, undefined, { prefix: 'bank-a' });
      const b = swiftBank(auth, container, undefined, { prefix: '/bank-b/' });
      await a.put('x/1', Buffer.from('a'));
      await b.put('x/1', Buffer.from('b'));
      await a.acquireLease('writer', { owner: 'engine-a', ttlMs: 60_000 });
      await b.acquireLease('writer', { owner: 'engine-b', ttlMs: 60_000 });
      expect(await collect(a.list(''))).toEqual(['x/1']);
      expect((await a.get('x/1')).toString()).toBe('a');
      expect((await b.get('x/1')).toString()).toBe('b');
      expect(
        await caught(() => swiftBank(auth, container, undefined, { prefix: 'bank-a' }).acquireLease('writer', { owner: 'c', ttlMs: 1000 })),
      ).toBeInstanceOf(BankLocked);
    }));

  it('stores leases as objects Swift deletes by itself after expiry plus retention', () =>
    withContainer(async (container) => {
      const bank = swiftBank(auth, container, undefined, { leaseRetainMs: 3_600_000 });
      await bank.acquireLease('writer', { owner: 'engine-a', ttlMs: 60_000 });
      const r = await rawContainer(auth, container).call({ method: 'HEAD', object: '.leases/writer', expect: [200] });
      const deleteAt = Number(r.headers.get('x-delete-at'));
      expect(deleteAt * 1000 - Date.now()).toBeGreaterThan(3_600_000);
      expect(deleteAt * 1000 - Date.now()).toBeLessThan(3_600_000 + 120_000);
    }));

  it('stores objects larger than a segment as Static Large Objects: read back whole, listed once, deleted with their segments', () =>
    withContainer(async (container) => {
      const segmentBytes = 256 * 1024;
      const bank = swiftBank(auth, container, undefined, { prefix: 'p', segmentBytes });
      const raw = rawContainer(auth, container);
      const segments = async (): Promise<{ name: string; bytes: number }[]> => {
        const r = await raw.call({ method: 'GET', object: '', query: { format: 'json', prefix: 'p/.segments/' }, expect: [200, 204] });
        return r.status === 200 ? (JSON.parse(r.text) as { name: string; bytes: number }[]) : [];
      };
      const isLarge = async (object: string): Promise<boolean> =>
        (await raw.call({ method: 'HEAD', object, expect: [200] })).headers.get('x-static-large-object') === 'True';

      // a stream of five segments (4 full ones and 12,345 bytes)
      const size = 4 * segmentBytes + 12_345;
      const src = randomSource(size);
      await bank.put('big/stream', src.stream);
      expect(await isLarge('p/big/stream')).toBe(true);
      expect(await bank.stat('big/stream')).toEqual({ size });
      expect(await streamSha256(bank.getStream('big/stream'))).toEqual({ sha256: src.sha256(), size });
      expect((await segments()).map((x) => x.bytes)).toEqual([...Array<number>(4).fill(segmentBytes), 12_345]);
      // a buffer of three segments, byte for byte
      const buf = randomBytes(2 * segmentBytes + 1);
      await bank.put('big/buffer', buf);
      expect((await bank.get('big/buffer')).equals(buf)).toBe(true);
      expect(await segments()).toHaveLength(8);
      // one object each in the listing, segments never
      await bank.put('small', randomBytes(1000));
      expect(await isLarge('p/small')).toBe(false);
      expect(await collect(bank.list(''))).toEqual(['big/buffer', 'big/stream', 'small']);
      // replacing a large object frees the segments of the old one
      const next = randomBytes(segmentBytes + 7);
      await bank.put('big/buffer', next);
      expect((await bank.get('big/buffer')).equals(next)).toBe(true);
      expect(await segments()).toHaveLength(7);
      // deleting a large object deletes its segments
      await bank.delete('big/stream');
      expect(await segments()).toHaveLength(2);
      await bank.delete('big/buffer');
      await bank.delete('small');
      expect(await segments()).toEqual([]);
      expect(await collect(bank.list(''))).toEqual([]);
    }));

  it('a large upload whose source fails half-way keeps the previous object and leaves no segments', () =>
    withContainer(async (container) => {
      const bank = swiftBank(auth, container, undefined, { segmentBytes: 100 * 1024 });
      await bank.put('big', Buffer.from('previous'));
      const err = await caught(() => bank.put('big', failingSource(350 * 1024)));
      expect((err as Error).message).toBe('source failed half-way');
      expect((await bank.get('big')).toString()).toBe('previous');
      const r = await rawContainer(auth, container).call({ method: 'GET', object: '', query: { format: 'json' }, expect: [200] });
      expect((JSON.parse(r.text) as { name: string }[]).map((x) => x.name)).toEqual(['big']);
    }));

  it('refuses a segment size Swift cannot store', () => {
    const config = { type: 'swift', container: 'c', authUrl: auth.authUrl, username: 'u', password: 'p', projectName: 'p' };
    expect(() => swiftBank(auth, uniqueName('swift'), undefined, { segmentBytes: 6 * 1024 ** 3 })).toThrow(/segment size/);
    expect(() => swiftBankFromConfig({ ...config, segmentBytes: 6 * 1024 ** 3 }, {})).toThrow(/segment size/);
  });

  it('a put over the container quota fails with BankFull and stores nothing', () =>
    withContainer(async (container) => {
      const bank = swiftBank(auth, container);
      await bank.put('kept', randomBytes(1000));
      const quota = (bytes: number): Promise<unknown> =>
        rawContainer(auth, container).call({
          method: 'POST',
          object: '',
          headers: { 'X-Container-Meta-Quota-Bytes': String(bytes) },
          expect: [204],
        });
      const expectFull = async (data: Buffer | Readable): Promise<void> => {
        const err = await caught(() => bank.put('too/big', data));
        expect(err).toBeInstanceOf(BankFull);
        expect(err).toMatchObject({ code: 'BANK_FULL', status: 507 });
        expect((err as Error).message).toContain('disk quota exceeded');
        expect(await bank.stat('too/big')).toBeUndefined();
      };
      await quota(256 * 1024);
      await expectFull(randomBytes(512 * 1024));
      // Swift checks a chunked upload (no Content-Length) against what is already stored only.
      await quota(500);
      await expectFull(randomSource(2 * MiB).stream);
      await expectFull(randomBytes(10));
      expect(await collect(bank.list(''))).toEqual(['kept']);
      await quota(1024 * 1024);
      await bank.put('small', randomBytes(1000));
    }));
});
