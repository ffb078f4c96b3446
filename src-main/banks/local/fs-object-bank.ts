import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectBank } from '../store/types';

const TMP = '.tmp-';
const KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** A bank object that does not exist. */
export class BankObjectMissing extends Error {
  constructor(key: string) {
    super(`bank object ${key} does not exist`);
    this.name = 'BankObjectMissing';
  }
}

/** The bank's disk is full (or over quota): nothing was half-written. */
export class BankFull extends Error {
  constructor(dir: string) {
    super(`the bank at ${dir} is full: free some space or delete old checkpoints`);
    this.name = 'BankFull';
  }
}

/**
 * Objects as files under a directory. A put writes a temp file beside the target, fsyncs it,
 * renames it into place and fsyncs the directory: after a crash an object is whole or absent.
 */
export class FsObjectBank implements ObjectBank {
  constructor(readonly dir: string) {}

  private file(key: string): string {
    if (!KEY.test(key) || key.split('/').some((s) => s === '.' || s === '..' || s.startsWith(TMP))) {
      throw new Error(`invalid bank key '${key}'`);
    }
    return path.join(this.dir, key);
  }

  async put(key: string, data: Buffer | Readable): Promise<void> {
    const target = this.file(key);
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `${TMP}${randomBytes(6).toString('hex')}`);
    try {
      await pipeline(Buffer.isBuffer(data) ? Readable.from([data]) : data, createWriteStream(tmp, { flags: 'wx' }));
      const fh = await fs.open(tmp, 'r');
      await fh.sync().finally(() => fh.close());
      await fs.rename(tmp, target);
      const dh = await fs.open(dir, 'r');
      await dh.sync().finally(() => dh.close());
    } catch (err) {
      await fs.rm(tmp, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new BankFull(this.dir);
      throw err;
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.file(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BankObjectMissing(key);
      throw err;
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const st = await fs.stat(this.file(key)).catch(() => undefined);
    return st?.isFile() ? { size: st.size } : undefined;
  }

  async *list(prefix: string): AsyncIterable<string> {
    const walk = async function* (abs: string, rel: string): AsyncGenerator<string> {
      const entries = await fs.readdir(abs, { withFileTypes: true }).catch(() => []);
      for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (e.name.startsWith(TMP)) continue;
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* walk(path.join(abs, e.name), key);
        } else if (key.startsWith(prefix)) {
          yield key;
        }
      }
    };
    yield* walk(this.dir, '');
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }
}
