/**
 * Small files stored into and restored from a local bank inside a chunk worker, with synchronous
 * file calls: a file is read, hashed, sealed and written as a bank object in one step, and
 * restored from its chunk in one step, so a tree of thousands of small files costs this thread a
 * message per file instead of a dozen asynchronous file-system calls. Chunks of a local bank are
 * read here the same way. An object is written the way LocalBank writes one with deferred sync (a
 * temp file renamed over its target); the caller hands the new file to the bank
 * ({@link DirectFiles.adopt}) so the next flush makes it durable.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fchmodSync,
  futimesSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { errnoCode, objectFile, TMP_PREFIX } from '../local/fs-util';
import {
  chunkIdOf,
  chunkKey,
  ChunkUnreadable,
  openChunk,
  sealChunk,
  type ChunkCodecSpec,
  type ReadChunkRequest,
  type RestoreFileRequest,
  type StoreFileRequest,
  type StoreFileResult,
} from './chunk-codec';

/** A failed read or write of the bank itself (not of the user's file): the caller maps it to the bank's error. */
export class BankFileError extends Error {
  readonly code: string | undefined;
  constructor(err: unknown) {
    super(err instanceof Error ? err.message : String(err));
    this.name = 'BankFileError';
    this.code = errnoCode(err);
  }
}

/** Folders this thread made or found, so a file costs no mkdir call. */
const folders = new Set<string>();

/** The file at most `size` bytes long, or undefined when it is longer now. */
function readUpTo(file: string, size: number): Buffer | undefined {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(size + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (!got) break;
      n += got;
    }
    return n > size ? undefined : buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `target` through a temp file in its folder; returns the first folder mkdir made. */
function writeObject(target: string, data: Uint8Array): string | undefined {
  const dir = path.dirname(target);
  let created: string | undefined;
  // A sweep may remove an emptied folder between the mkdir and the open: make it again.
  for (let attempt = 0; ; attempt++) {
    if (!folders.has(dir)) {
      created = mkdirSync(dir, { recursive: true, mode: 0o700 }) ?? created;
      folders.add(dir);
    }
    const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      writeFileSync(tmp, data, { flag: 'wx', mode: 0o600 });
      renameSync(tmp, target);
      return created;
    } catch (err) {
      rmSync(tmp, { force: true });
      folders.delete(dir);
      if (errnoCode(err) !== 'ENOENT' || attempt >= 10) throw err;
    }
  }
}

export function storeFile(spec: ChunkCodecSpec, req: StoreFileRequest): StoreFileResult {
  const data = readUpTo(req.file, req.size);
  if (!data) return { grown: true };
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (!data.length) return { id: '', sha256, length: 0, added: 0 };
  const id = !spec.keys && spec.algorithm === 'sha256' ? sha256 : chunkIdOf(spec, data);
  const target = objectFile(req.bankDir, chunkKey(id));
  try {
    if (existsSync(target)) return { id, sha256, length: data.length, added: 0 };
    const stored = sealChunk(spec, data, id);
    const created = writeObject(target, stored);
    return { id, sha256, length: data.length, added: stored.length, written: target, created };
  } catch (err) {
    throw new BankFileError(err);
  }
}

/**
 * A chunk read from a local bank and checked against its id, in one step.
 * @throws ChunkUnreadable when it is missing, cannot be read or is damaged
 */
export function readChunk(spec: ChunkCodecSpec, req: ReadChunkRequest): Buffer {
  let stored: Buffer;
  try {
    stored = readFileSync(objectFile(req.bankDir, chunkKey(req.id)));
  } catch (err) {
    // As LocalBank.get says it: the key, not the file's path.
    const code = errnoCode(err);
    const why =
      code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR'
        ? `bank object '${chunkKey(req.id)}' does not exist`
        : (code ?? String(err));
    throw new ChunkUnreadable(`chunk ${req.id} cannot be read: ${why}`);
  }
  return openChunk(spec, stored, req.id, req.length);
}

export function restoreFile(spec: ChunkCodecSpec, req: RestoreFileRequest): void {
  const data = readChunk(spec, req);
  const fd = openSync(req.dest, req.flags, req.mode);
  try {
    for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
    fchmodSync(fd, req.mode);
    futimesSync(fd, req.atime, req.mtime);
  } finally {
    closeSync(fd);
  }
}
