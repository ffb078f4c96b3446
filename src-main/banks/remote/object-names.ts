import type { Readable } from 'node:stream';
import { BankError } from '../errors';
import { validateKey } from '../keys';

/**
 * Object names of remote banks. Keys map to `<prefix><key>`; backend bookkeeping (leases) lives
 * under dot-names (`<prefix>.leases/…`), which no valid key can have, so `list()` skips any name
 * with a dot-leading segment.
 */

/**
 * How long a read answered "no such object" waits before asking once more. Swift (and S3 through
 * Swift's s3api) can answer 404 to a GET racing an overwrite: the object server chose the old
 * version's file just as the new version's write removed it. Objects of a bank are not deleted
 * while being read, so a 404 is asked again once before it counts as missing.
 */
export const OVERWRITE_RETRY_MS = 100;

/** True for names the bank keeps for itself (a segment starting with `.`). */
export function bookkeeping(key: string): boolean {
  return key.startsWith('.') || key.includes('/.');
}

/** Normalises a configured folder inside a container or bucket: `''` or `a/b/`. */
export function bankPrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '' || prefix === '/') return '';
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  try {
    validateKey(trimmed);
  } catch (err) {
    throw new BankError(`invalid bank prefix '${prefix}': ${(err as Error).message}`, { code: 'BANK_INVALID_CONFIG', status: 400 });
  }
  return `${trimmed}/`;
}

/**
 * Wraps a put's source so an upload can tell the source's own failure (to be rethrown unchanged,
 * as the `Bank.put` contract says) from a failure of the store.
 */
export function guardSource(source: Readable): { body: AsyncIterable<Buffer>; error: () => unknown } {
  let failure: unknown;
  const body = (async function* () {
    try {
      for await (const chunk of source as AsyncIterable<Buffer | string>) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    } catch (err) {
      failure = err ?? new Error('source stream failed');
      throw err;
    }
  })();
  return { body, error: () => failure };
}
