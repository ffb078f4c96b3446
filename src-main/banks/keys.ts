import { BankInvalidKey } from './errors';

/** Longest key accepted, in characters (S3 allows 1024 bytes; keys are ASCII so chars = bytes). */
export const MAX_KEY_LENGTH = 1024;
/** Longest segment: the common file-name limit (ext4, APFS, NTFS). */
export const MAX_SEGMENT_LENGTH = 255;

/** Letters, digits, `.`, `_`, `-`; never starting with `.` (reserved for backend bookkeeping). */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const PREFIX_CHARS = /^[A-Za-z0-9._/-]*$/;

function segmentProblem(seg: string): string | undefined {
  if (seg === '') return 'empty segment (leading, trailing or doubled /)';
  if (seg === '.' || seg === '..') return `'${seg}' segments are not allowed`;
  if (seg.length > MAX_SEGMENT_LENGTH) return `segment longer than ${MAX_SEGMENT_LENGTH} characters`;
  if (seg.startsWith('.')) return 'segments may not start with "." (reserved for the bank itself)';
  if (!SEGMENT.test(seg)) return 'only letters, digits, ".", "_" and "-" are allowed in a segment';
  return undefined;
}

/**
 * Checks an object key: `/`-separated relative segments of `[A-Za-z0-9._-]`, no empty, `.`, `..`
 * or dot-leading segments, at most 1024 characters. This keeps every key a safe relative path on
 * any filesystem (no traversal, no absolute or drive paths, no NUL or backslash) and leaves
 * dot-names to backends for temp files and leases, so `list()` can never return them.
 *
 * Note: keys differing only in case are distinct keys, but a local bank on a case-insensitive
 * filesystem (macOS, Windows) would store them in one file; the engine's keys are lower-case.
 *
 * @throws BankInvalidKey
 */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key === '') throw new BankInvalidKey(String(key), 'empty key');
  if (key.length > MAX_KEY_LENGTH) throw new BankInvalidKey(key, `longer than ${MAX_KEY_LENGTH} characters`);
  if (key.startsWith('/')) throw new BankInvalidKey(key, 'absolute keys are not allowed');
  for (const seg of key.split('/')) {
    const problem = segmentProblem(seg);
    if (problem) throw new BankInvalidKey(key, problem);
  }
  return key;
}

/**
 * Checks a `list()` prefix: `''`, or any leading part of a valid key (`chunks/`, `chunks/ab`).
 * Every complete segment must be valid; the last, partial one only has to use the key charset.
 *
 * @throws BankInvalidKey
 */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new BankInvalidKey(String(prefix), 'prefix must be a string');
  if (prefix === '') return prefix;
  if (prefix.length > MAX_KEY_LENGTH) throw new BankInvalidKey(prefix, `longer than ${MAX_KEY_LENGTH} characters`);
  if (!PREFIX_CHARS.test(prefix)) throw new BankInvalidKey(prefix, 'only letters, digits, ".", "_", "-" and "/" are allowed');
  const segs = prefix.split('/');
  const last = segs.pop() ?? '';
  for (const seg of segs) {
    const problem = segmentProblem(seg);
    if (problem) throw new BankInvalidKey(prefix, problem);
  }
  if (last.startsWith('.')) throw new BankInvalidKey(prefix, 'segments may not start with "."');
  return prefix;
}

/** Checks a lease name: one key segment (`writer`, `gc`). @throws BankInvalidKey */
export function validateLeaseName(name: string): string {
  const problem = typeof name === 'string' ? segmentProblem(name) : 'lease name must be a string';
  if (problem) throw new BankInvalidKey(String(name), `invalid lease name: ${problem}`);
  return name;
}
