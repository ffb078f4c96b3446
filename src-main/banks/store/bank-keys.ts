/**
 * The key of an encrypted bank.
 *
 * A bank is encrypted when its provider's bank config has `encryption` with a passphrase source
 * (`passphrase_file` or `passphrase_env`; the passphrase itself never appears in a config file or
 * a log). The bank then holds `keys/config.json`, written once, atomically, by the first write:
 *
 *   - `kdf`: scrypt (N = 2^16, r = 8, p = 1: about 64 MiB and a few hundred ms, once per engine
 *     start) with a random 16-byte salt turns the passphrase into a key-encryption key (KEK);
 *   - `wrapped_key`: a random 256-bit master key sealed (AES-256-GCM) with the KEK;
 *   - `key_check`: HMAC-SHA256(KEK, label), 16 bytes, so a wrong passphrase is told apart from a
 *     damaged key file before anything is read or written.
 *
 * The master key never changes, so changing the passphrase only rewrites this file (not yet
 * offered). HKDF derives from it the id key (chunk ids are HMAC-SHA256 of the chunk) and the data
 * key (AES-256-GCM of chunks, manifests, checkpoint indexes and refs); see sealed.ts.
 */
import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { BankError } from '../errors';
import { deriveBankKeys, seal, SealedCorrupt, unseal, type BankKeys } from './sealed';
import type { ObjectBank } from './types';

export const KEY_CONFIG = 'keys/config.json';
export const DEFAULT_SCRYPT_N = 2 ** 16;
const MIN_LOG_N = 15;
const MAX_LOG_N = 20;
const WRAP_AAD = 'karbor-desktop bank master key v1';
const CHECK_LABEL = 'karbor-desktop bank key check v1';

interface KeyConfig {
  version: 1;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: 'aes-256-gcm';
  wrapped_key: string;
  key_check: string;
}

/** The passphrase does not open this bank's key. Nothing was read or written. */
export class WrongPassphrase extends BankError {
  constructor(readonly bank: string) {
    super(`wrong passphrase for the bank at ${bank}`, { code: 'BANK_WRONG_PASSPHRASE', status: 403 });
  }
}

/**
 * The bank's encryption does not match its provider's config: an encrypted bank without a
 * passphrase, a passphrase for a bank that holds plain data, or a key file that cannot be used.
 */
export class BankEncryptionMismatch extends BankError {
  constructor(message: string) {
    super(message, { code: 'BANK_ENCRYPTION_MISMATCH', status: 409 });
  }
}

function scrypt(passphrase: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(passphrase, salt, 32, { ...opts, maxmem: 256 * opts.N! * (opts.r ?? 8) }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const keyCheck = (kek: Uint8Array): Buffer => createHmac('sha256', kek).update(CHECK_LABEL).digest().subarray(0, 16);

/** Whether the bank has a key file (it is an encrypted bank). */
export async function hasKeyConfig(bank: ObjectBank): Promise<boolean> {
  return (await bank.stat(KEY_CONFIG)) !== undefined;
}

/**
 * Opens the bank's keys with `passphrase`, creating them when the bank has none yet and
 * `create` is set (a write), which is refused if the bank already holds unencrypted data.
 *
 * @throws WrongPassphrase, BankEncryptionMismatch
 */
export async function openBankKeys(
  bank: ObjectBank,
  label: string,
  passphrase: string,
  opts: { create: boolean; scryptN?: number },
): Promise<BankKeys> {
  if (!(await hasKeyConfig(bank))) {
    if (!opts.create) throw new BankEncryptionMismatch(`the bank at ${label} is not encrypted (it has no ${KEY_CONFIG})`);
    return createKeys(bank, label, passphrase, opts.scryptN ?? DEFAULT_SCRYPT_N);
  }
  let config: KeyConfig;
  try {
    config = JSON.parse((await bank.get(KEY_CONFIG)).toString('utf8')) as KeyConfig;
  } catch (err) {
    throw new BankEncryptionMismatch(`the key file of the bank at ${label} cannot be read: ${(err as Error).message}`);
  }
  const { kdf } = config;
  const logN = Math.log2(kdf?.N);
  if (
    config.version !== 1 ||
    kdf?.name !== 'scrypt' ||
    !Number.isInteger(logN) ||
    logN < MIN_LOG_N ||
    logN > MAX_LOG_N ||
    kdf.r !== 8 ||
    kdf.p !== 1
  ) {
    throw new BankEncryptionMismatch(`the key file of the bank at ${label} has unsupported parameters`);
  }
  const kek = await scrypt(passphrase, Buffer.from(kdf.salt, 'base64'), { N: kdf.N, r: kdf.r, p: kdf.p });
  const check = Buffer.from(config.key_check ?? '', 'base64');
  const expected = keyCheck(kek);
  if (check.length !== expected.length || !timingSafeEqual(check, expected)) throw new WrongPassphrase(label);
  try {
    return deriveBankKeys(unseal(kek, Buffer.from(config.wrapped_key, 'base64'), WRAP_AAD));
  } catch (err) {
    if (err instanceof SealedCorrupt) throw new BankEncryptionMismatch(`the key file of the bank at ${label} is damaged`);
    throw err;
  }
}

async function createKeys(bank: ObjectBank, label: string, passphrase: string, N: number): Promise<BankKeys> {
  // Never encrypt a bank that already holds plain checkpoints: half its data would be unreadable one way or the other.
  for (const prefix of ['checkpoints/', 'chunks/']) {
    for await (const _ of bank.list(prefix)) {
      throw new BankEncryptionMismatch(
        `the bank at ${label} holds unencrypted data; encryption cannot be turned on for it (use a new bank path)`,
      );
    }
  }
  const salt = randomBytes(16);
  const kek = await scrypt(passphrase, salt, { N, r: 8, p: 1 });
  const master = randomBytes(32);
  const config: KeyConfig = {
    version: 1,
    kdf: { name: 'scrypt', N, r: 8, p: 1, salt: salt.toString('base64') },
    cipher: 'aes-256-gcm',
    wrapped_key: seal(kek, master, WRAP_AAD).toString('base64'),
    key_check: keyCheck(kek).toString('base64'),
  };
  // Bank puts are atomic, and only the holder of the writer lease writes, so one key file wins.
  await bank.put(KEY_CONFIG, Buffer.from(`${JSON.stringify(config, null, 2)}\n`));
  return deriveBankKeys(master);
}
