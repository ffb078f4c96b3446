import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBank } from '../../../src-main/banks/local/local-bank';
import { BankEncryptionMismatch, KEY_CONFIG, WrongPassphrase } from '../../../src-main/banks/store/bank-keys';
import { CheckpointData } from '../../../src-main/banks/store/checkpoint-data';
import { BANK_CHUNKING, chunkCodecSpec } from '../../../src-main/banks/store/chunk-codec';
import { ChunkWorkerPool, IN_THREAD, type ChunkWork } from '../../../src-main/banks/store/chunk-pool';
import { ChunkStore, CorruptData } from '../../../src-main/banks/store/chunk-store';
import { cutpoints } from '../../../src-main/banks/dedup/fastcdc';
import { bankEncryption } from '../../../src-main/engine/protection/provider-stores';
import { tempDir } from '../../helpers/harness';

const pool = new ChunkWorkerPool({ size: 2 });
afterAll(() => pool.close());

const MARKER = 'KARBOR-PLAINTEXT-MARKER-7f3a';
/** Incompressible data with a marker in the clear every 64 KiB, so only encryption can hide it. */
function secretData(size: number): Buffer {
  const buf = randomBytes(size);
  for (let i = 0; i + MARKER.length < size; i += 65536) buf.write(MARKER, i);
  return buf;
}

const withPassphrase = (p: string) => ({ passphrase: async () => p, scryptN: 2 ** 15 });

function encryptedStore(bank: LocalBank, passphrase = 'correct horse battery staple', work: ChunkWork = pool) {
  return new ChunkStore(bank, chunkCodecSpec('sha256'), { work, label: bank.dir, encryption: withPassphrase(passphrase) });
}

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of s) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

function bankFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const abs = path.join(e.parentPath, e.name);
    if (e.isFile() && !abs.includes(`${path.sep}.`)) out.set(path.relative(dir, abs), fs.readFileSync(abs));
  }
  return out;
}

describe('encrypted bank', () => {
  it('round-trips through workers; the bank holds no plaintext, no plain chunk ids and no resource names', async () => {
    const bank = new LocalBank(tempDir());
    const store = encryptedStore(bank);
    const data = secretData(6 << 20);
    const cp = new CheckpointData(store, 'cp-1');
    const res = cp.forResource('Local::FS::Directory#secret-resource-name');
    await res.put('secret-stream-name', Readable.from([data]));
    await cp.commit('2026-01-01 00:00:00');
    expect((await readAll(await res.get('secret-stream-name'))).equals(data)).toBe(true);
    await res.verify('secret-stream-name');

    const plainIds = cutpoints(data, BANK_CHUNKING).map((c) =>
      createHash('sha256')
        .update(data.subarray(c.offset, c.offset + c.length))
        .digest('hex'),
    );
    // Stream names (chosen by plugins, e.g. 'dump') stay readable in object keys, but not inside objects.
    const forbidden = [MARKER, 'secret-resource-name', createHash('sha256').update(data).digest('hex'), ...plainIds];
    const files = bankFiles(bank.dir);
    expect(files.has(KEY_CONFIG)).toBe(true);
    // The data's chunks, and the pieces of the checkpoint's chunk list (chunks themselves).
    const refs = await store.getObject<{ pieces: unknown[] }>('checkpoints/cp-1/refs.json');
    expect(refs.pieces.length).toBeGreaterThan(0);
    expect([...files.keys()].filter((k) => k.startsWith('chunks/')).length).toBe(plainIds.length + refs.pieces.length);
    for (const [name, bytes] of files) {
      for (const f of forbidden) {
        expect(name, `${name} names ${f}`).not.toContain(f);
        expect(bytes.includes(f), `${name} contains ${f.slice(0, 20)}`).toBe(false);
      }
      expect(bytes.includes('secret-stream-name'), `${name} contains the stream name`).toBe(false);
    }
    // A second store (a restart) opens the same keys and reads everything back.
    const reopened = new CheckpointData(encryptedStore(new LocalBank(bank.dir), undefined, IN_THREAD), 'cp-1').forResource(
      'Local::FS::Directory#secret-resource-name',
    );
    expect(await reopened.list()).toEqual(['secret-stream-name']);
    expect((await readAll(await reopened.get('secret-stream-name'))).equals(data)).toBe(true);
  });

  it('stores the same chunks and objects through workers as in this thread (ids are keyed, frames sealed)', async () => {
    const bank = new LocalBank(tempDir());
    const data = secretData(3 << 20);
    const first = encryptedStore(bank, 'pw', pool);
    const a = await first.put(Readable.from([data]));
    await first.flush();
    const b = await encryptedStore(new LocalBank(bank.dir), 'pw', IN_THREAD).put(Readable.from([data]));
    expect(b.manifest).toEqual(a.manifest);
    expect(b.newChunks).toBe(0);
  });

  it('a tampered chunk fails authentication and is reported as corrupt, naming it', async () => {
    const bank = new LocalBank(tempDir());
    const store = encryptedStore(bank);
    const { manifest } = await store.put(Readable.from([secretData(2 << 20)]));
    const id = manifest.chunks[0]!.id;
    const file = path.join(bank.dir, 'chunks', id.slice(0, 2), id);
    const buf = fs.readFileSync(file);
    buf[40]! ^= 0x01;
    fs.writeFileSync(file, buf);
    const err = await store.verify(manifest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptData);
    expect((err as Error).message).toMatch(new RegExp(`chunk ${id} cannot be read: authentication failed`));
  });

  it('a wrong passphrase fails with a typed error before anything is read or written', async () => {
    const bank = new LocalBank(tempDir());
    await encryptedStore(bank).put(Readable.from([secretData(1 << 20)]));
    const digests = () => [...bankFiles(bank.dir)].map(([k, v]) => `${k} ${createHash('sha256').update(v).digest('hex')}`);
    const before = digests();
    const wrong = encryptedStore(new LocalBank(bank.dir), 'wrong');
    const err = await wrong.put(Readable.from([secretData(1 << 20)])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongPassphrase);
    expect((err as Error).message).toBe(`wrong passphrase for the bank at ${bank.dir}`);
    await expect(new CheckpointData(wrong, 'cp-x').commit('2026-01-01 00:00:00')).rejects.toThrow(WrongPassphrase);
    expect(digests()).toEqual(before);
  });

  it('never turns a plain bank into an encrypted one, nor reads an encrypted bank as plain', async () => {
    const plainBank = new LocalBank(tempDir());
    await new ChunkStore(plainBank, chunkCodecSpec('sha256'), { work: pool }).put(Readable.from([randomBytes(1000)]));
    const err = await encryptedStore(new LocalBank(plainBank.dir))
      .put(Readable.from([randomBytes(1000)]))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BankEncryptionMismatch);
    expect((err as Error).message).toContain('holds unencrypted data');
    expect(fs.existsSync(path.join(plainBank.dir, KEY_CONFIG))).toBe(false);

    const encBank = new LocalBank(tempDir());
    await encryptedStore(encBank).put(Readable.from([randomBytes(1000)]));
    const plain = new ChunkStore(new LocalBank(encBank.dir), chunkCodecSpec('sha256'), { work: pool, label: encBank.dir });
    await expect(plain.put(Readable.from([randomBytes(1000)]))).rejects.toThrow(
      `the bank at ${encBank.dir} is encrypted; its provider's bank config needs encryption.passphrase_file or encryption.passphrase_env`,
    );
  });

  it('takes the passphrase from a file or an environment variable, never from the config itself', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'pass'), 'from a file\n');
    const fromFile = bankEncryption({ type: 'local', encryption: { passphrase_file: 'pass' } }, dir, 'P');
    expect(await fromFile?.passphrase()).toBe('from a file');
    process.env.KARBOR_TEST_BANK_PASSPHRASE = 'from the environment';
    const fromEnv = bankEncryption({ type: 'local', encryption: { passphrase_env: 'KARBOR_TEST_BANK_PASSPHRASE' } }, dir, 'P');
    expect(await fromEnv?.passphrase()).toBe('from the environment');
    expect(bankEncryption({ type: 'local' }, dir, 'P')).toBeUndefined();
    expect(() => bankEncryption({ type: 'local', encryption: { passphrase: 'hunter2' } }, dir, 'P')).toThrow(/unknown keys \(passphrase\)/);
    expect(() => bankEncryption({ type: 'local', encryption: { passphrase_file: 'a', passphrase_env: 'B' } }, dir, 'P')).toThrow(
      /exactly one/,
    );
    const missing = bankEncryption({ type: 'local', encryption: { passphrase_file: 'nope' } }, dir, 'P');
    await expect(missing?.passphrase()).rejects.toThrow(/passphrase file .*nope cannot be read \(ENOENT\)/);
  });
});
