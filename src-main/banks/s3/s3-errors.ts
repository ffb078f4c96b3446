import { BankError, BankFull } from '../errors';

/** What the AWS SDK puts on a failed call. */
interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export const s3Status = (err: unknown): number | undefined => (err as SdkError | null)?.$metadata?.httpStatusCode;
export const s3Code = (err: unknown): string => (err as SdkError | null)?.Code ?? (err as SdkError | null)?.name ?? '';

/** No such object (GET answers `NoSuchKey`, HEAD a bare 404 `NotFound`). */
export function isMissing(err: unknown): boolean {
  const code = s3Code(err);
  return code === 'NoSuchKey' || code === 'NotFound' || (s3Status(err) === 404 && code !== 'NoSuchBucket');
}

export const isNoBucket = (err: unknown): boolean => s3Code(err) === 'NoSuchBucket';

/**
 * Codes meaning "no room": AWS and Swift's s3api answer a quota with `EntityTooLarge` (the bank
 * uploads streams in parts, so a single part never reaches S3's own 5 GB limit), Ceph RGW with
 * `QuotaExceeded`, MinIO with `XMinioStorageFull`; 507 from anything.
 */
const FULL = new Set(['EntityTooLarge', 'QuotaExceeded', 'XMinioStorageFull', 'InsufficientStorage', 'XMinioAdminBucketQuotaExceeded']);
const DENIED = new Set(['AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'ExpiredToken', 'InvalidToken']);

/** S3 failures as typed bank errors; typed errors pass through. */
export function mapS3Error(err: unknown, location: string): Error {
  if (err instanceof BankError) return err;
  const code = s3Code(err);
  const status = s3Status(err);
  const detail = `${code || 'error'}${status ? ` (HTTP ${status})` : ''}: ${(err as SdkError | null)?.message ?? String(err)}`;
  if (FULL.has(code) || status === 507) return new BankFull(location, Object.assign(new Error(detail), { code: 'EDQUOT' }));
  if (DENIED.has(code) || status === 401 || status === 403) {
    return new BankError(`${location}: access denied, check the S3 credentials (${detail})`, {
      code: 'BANK_FORBIDDEN',
      status: 403,
      cause: err,
    });
  }
  return new BankError(`${location}: ${detail}`, { code: 'BANK_UNAVAILABLE', status: 502, cause: err });
}
