import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { KeystoneCredentials } from '../../src-main/banks/swift/keystone-auth';

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
