import { parseArgs } from 'node:util';
import { defaultDataDir } from './app-paths';
import type { KeystoneAuthOptions } from './engine/auth/authenticator';
import { DEFAULT_PORT } from './server';

export interface CommonArgs {
  dataDir: string;
  port: number;
  rest: string[];
  values: Record<string, string | boolean | undefined>;
}

/** `--data-dir DIR` (or KARBOR_DATA_DIR) and `--port N` (or KARBOR_PORT), shared by the entries. */
export function parseCommonArgs(argv: string[], extra: Record<string, { type: 'string' | 'boolean' }> = {}): CommonArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { 'data-dir': { type: 'string' }, port: { type: 'string' }, ...extra },
  });
  const rawPort = values.port ?? process.env.KARBOR_PORT ?? String(DEFAULT_PORT);
  if (!/^\d+$/.test(rawPort) || Number(rawPort) > 65535) throw new Error(`--port must be a number from 0 to 65535, got '${rawPort}'`);
  const dataDir = values['data-dir'] ?? defaultDataDir();
  return { dataDir, port: Number(rawPort), rest: positionals, values: values };
}

/** The options that turn on Keystone mode, for the entries that take them. */
export const KEYSTONE_ARGS = { 'keystone-auth': { type: 'string' }, 'keystone-cache-seconds': { type: 'string' } } as const;

/**
 * Keystone mode from `--keystone-auth CLOUD[,CLOUD…]` (or KARBOR_KEYSTONE_AUTH): clouds.yaml
 * names whose Keystone validates tokens; `--keystone-cache-seconds N` (or
 * KARBOR_KEYSTONE_CACHE_SECONDS) bounds how long a validation is trusted. Off when no cloud is named.
 */
export function keystoneAuthArgs(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): KeystoneAuthOptions | undefined {
  const raw = (values['keystone-auth'] as string | undefined) ?? env.KARBOR_KEYSTONE_AUTH ?? '';
  const clouds = raw
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (!clouds.length) return undefined;
  const rawTtl = (values['keystone-cache-seconds'] as string | undefined) ?? env.KARBOR_KEYSTONE_CACHE_SECONDS;
  if (rawTtl !== undefined && !/^\d+$/.test(rawTtl))
    throw new Error(`--keystone-cache-seconds must be a whole number of seconds, got '${rawTtl}'`);
  return { clouds, cache: rawTtl === undefined ? undefined : { maxTtlMs: Number(rawTtl) * 1000 } };
}
