import { execFile } from 'node:child_process';
import type { Harness } from './harness';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `karbor` CLI (Debian python3-karborclient) against the harness's endpoint,
 * without Keystone: `--os-no-client-auth --karbor-url ... --os-auth-token ...`.
 */
export function karbor(h: Harness, args: string[], token = h.token): Promise<CliResult> {
  const full = ['--os-no-client-auth', '--karbor-url', h.endpoint, '--os-auth-token', token, ...args];
  return new Promise((resolve) => {
    execFile('karbor', full, { timeout: 30_000, env: { ...process.env, PYTHONWARNINGS: 'ignore' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Keystone credentials for the CLI, as a user's openrc holds them. */
export interface KeystoneCreds {
  authUrl: string;
  username: string;
  password: string;
  projectId: string;
  region: string;
}

/**
 * Runs the real `karbor` CLI with normal Keystone auth: it gets a token from Keystone and finds
 * the API as the `data-protect` endpoint of the region in its catalog. Only these `OS_*`
 * variables reach it.
 */
export function karborKeystone(creds: KeystoneCreds, args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { PYTHONWARNINGS: 'ignore' };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OS_') && !k.startsWith('KARBOR_')) env[k] = v;
  Object.assign(env, {
    OS_AUTH_URL: creds.authUrl,
    OS_USERNAME: creds.username,
    OS_PASSWORD: creds.password,
    OS_USER_DOMAIN_ID: 'default',
    OS_PROJECT_ID: creds.projectId,
    OS_REGION_NAME: creds.region,
  });
  return new Promise((resolve) => {
    execFile('karbor', args, { timeout: 60_000, env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Reads a `karbor ...-show` property table into a map (multi-line values joined). */
export function parseShowTable(out: string): Record<string, string> {
  const props: Record<string, string> = {};
  let last = '';
  for (const line of out.split('\n')) {
    const m = /^\|\s*(.*?)\s*\|\s*(.*?)\s*\|$/.exec(line);
    if (!m) continue;
    const [, key = '', value = ''] = m;
    if (key === 'Property' && value === 'Value') continue;
    if (key) {
      last = key;
      props[key] = value;
    } else if (last) {
      props[last] = `${props[last]}\n${value}`;
    }
  }
  return props;
}
