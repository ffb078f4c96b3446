import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { KeystoneTokenSource, type KeystoneCredentials } from '../../src-main/banks/swift/keystone-auth';
import { SwiftHttp } from '../../src-main/banks/swift/swift-http';

/**
 * Where the bank tests find the small OpenStack of `scripts/openstack/up.sh`: the environment
 * (`OS_*` of an openrc, `S3_ENDPOINT` + `AWS_*` of s3.env), else `$OSBOX/openrc` and
 * `$OSBOX/s3.env` (default `/tmp/osbox`). Absent → the tests are skipped.
 */
function readEnvFile(file: string): Record<string, string> {
  if (!fs.existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*export\s+([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
  }
  return out;
}

const osbox = process.env.OSBOX ?? '/tmp/osbox';

export function swiftCredentials(): KeystoneCredentials | undefined {
  const env = process.env.OS_AUTH_URL ? process.env : readEnvFile(path.join(osbox, 'openrc'));
  if (!env.OS_AUTH_URL || !env.OS_USERNAME || !env.OS_PASSWORD) return undefined;
  return {
    authUrl: env.OS_AUTH_URL,
    username: env.OS_USERNAME,
    password: env.OS_PASSWORD,
    projectName: env.OS_PROJECT_NAME ?? 'admin',
    userDomainId: env.OS_USER_DOMAIN_ID ?? 'default',
    projectDomainId: env.OS_PROJECT_DOMAIN_ID ?? 'default',
    region: env.OS_REGION_NAME,
  };
}

export interface S3Credentials {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function s3Credentials(): S3Credentials | undefined {
  const env = process.env.S3_ENDPOINT ? process.env : readEnvFile(path.join(osbox, 's3.env'));
  if (!env.S3_ENDPOINT || !env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION ?? 'us-east-1',
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
  };
}

/** A container or bucket name of its own for one test. */
export const uniqueName = (what: string): string => `karbor-test-${what}-${randomBytes(5).toString('hex')}`;

/** Lease settle time for tests: long enough for a loaded 2-core machine, short enough for the races. */
export const TEST_SETTLE_MS = 1000;

/** Raw Swift access to one container, for set-up and clean-up. */
export const rawContainer = (auth: KeystoneCredentials, container: string): SwiftHttp =>
  new SwiftHttp(new KeystoneTokenSource(auth), container, { timeoutMs: 60_000, retries: 3, backoffMs: 200 });

/** Deletes every object of a container (bookkeeping included), then the container. */
export async function removeContainer(auth: KeystoneCredentials, container: string): Promise<void> {
  const http = rawContainer(auth, container);
  for (;;) {
    const r = await http.call({ method: 'GET', object: '', query: { format: 'json' }, expect: [200, 204, 404] });
    const rows = r.status === 200 ? (JSON.parse(r.text) as { name: string }[]) : [];
    if (rows.length === 0) break;
    await Promise.all(rows.map((row) => http.call({ method: 'DELETE', object: row.name, expect: [204, 404] })));
  }
  await http.call({ method: 'DELETE', object: '', expect: [204, 404] });
}

export const clientFor = (c: S3Credentials): S3Client =>
  new S3Client({
    endpoint: c.endpoint,
    region: c.region,
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

/** Empties and deletes a bucket: objects (bookkeeping included), unfinished uploads, then the bucket. */
export async function removeBucket(c: S3Credentials, bucket: string): Promise<void> {
  const s3 = clientFor(c);
  const ignoreMissing = (err: unknown): void => {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw err;
  };
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket })).catch(ignoreMissing);
  for (const u of uploads?.Uploads ?? []) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId })).catch(ignoreMissing);
  }
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch(ignoreMissing);
    if (!page?.Contents?.length) break;
    await Promise.all(page.Contents.map((o) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }))));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(ignoreMissing);
  s3.destroy();
}
