/**
 * Authenticated encryption of bank objects for encrypted banks: AES-256-GCM, one random 96-bit
 * nonce per object. Stored form: `[version byte 0x01][12-byte nonce][ciphertext][16-byte tag]`.
 *
 * The additional authenticated data is what the object is (a chunk's id, an object's key), so an
 * object moved or copied under another name fails authentication like a damaged one. Random
 * nonces are safe for far more objects than a bank holds (the usual bound is 2^32 per key).
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

export const SEALED_VERSION = 0x01;
const NONCE = 12;
const TAG = 16;
/** Bytes a sealed object adds to its plaintext. */
export const SEALED_OVERHEAD = 1 + NONCE + TAG;

/** The keys of an encrypted bank, derived from its master key (see bank-keys.ts). */
export interface BankKeys {
  /** HMAC-SHA256 key of chunk ids and resource folder names. */
  idKey: Uint8Array;
  /** AES-256-GCM key of chunks and checkpoint objects. */
  dataKey: Uint8Array;
}

/** A sealed object that fails authentication or is malformed: damaged, or not what it claims to be. */
export class SealedCorrupt extends Error {
  readonly code = 'SEALED_CORRUPT';
  constructor(message: string) {
    super(message);
    this.name = 'SealedCorrupt';
  }
}

/** Derives the id and data keys from a 256-bit master key (HKDF-SHA256, one label each). */
export function deriveBankKeys(masterKey: Uint8Array): BankKeys {
  const derive = (label: string): Uint8Array => new Uint8Array(hkdfSync('sha256', masterKey, Buffer.alloc(0), label, 32));
  return { idKey: derive('karbor-desktop bank chunk ids v1'), dataKey: derive('karbor-desktop bank data v1') };
}

/** HMAC-SHA256 of `data` under `key`, as 64 hex characters (the shape of a plain chunk id). */
export function keyedId(key: Uint8Array, data: Uint8Array | string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

export function seal(key: Uint8Array, plaintext: Uint8Array, aad: string): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const head = Buffer.from([SEALED_VERSION]);
  const body = cipher.update(plaintext);
  const tail = cipher.final();
  return Buffer.concat([head, nonce, body, tail, cipher.getAuthTag()]);
}

export function unseal(key: Uint8Array, sealed: Uint8Array, aad: string): Buffer {
  if (sealed.length < SEALED_OVERHEAD) throw new SealedCorrupt(`sealed object too short (${sealed.length} bytes)`);
  if (sealed[0] !== SEALED_VERSION) throw new SealedCorrupt(`unknown sealed object version ${sealed[0] ?? 0}`);
  const nonce = sealed.subarray(1, 1 + NONCE);
  const tag = sealed.subarray(sealed.length - TAG);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  const body = decipher.update(sealed.subarray(1 + NONCE, sealed.length - TAG));
  try {
    return Buffer.concat([body, decipher.final()]);
  } catch {
    throw new SealedCorrupt('authentication failed (damaged, or not written with this key)');
  }
}
