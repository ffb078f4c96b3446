import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { systemClock, type Clock } from '../../engine/clock';
import { eachLimit } from '../../engine/each-limit';
import { BankError, BankFull, BankNotFound, isFullError } from '../errors';
import { validateKey, validateLeaseName, validatePrefix } from '../keys';
import type { DirectFiles } from '../store/types';
import type { Bank, BankLease, BankObjectStat, LeaseOptions, PutOptions } from '../types';
import {
  dirsToSync,
  errnoCode,
  LEASE_DIR,
  MISSING,
  succeeded,
  syncDir,
  syncFile,
  syncFileSystem,
  tempFiles,
  objectFile,
  TMP_PREFIX,
  writeAll,
} from './fs-util';
import { acquireLocalLease } from './local-lease';

export interface LocalBankOptions {
  /** Time source for leases (tests inject a manual clock). */
  clock?: Clock;
  /** `open()` and `sweepTemp()` remove temp files untouched for this long. Default 1 hour. */
  tempMaxAgeMs?: number;
  /**
   * Whether `flush()` may sync the whole file system at once (`sync -f`, Linux). False syncs file
   * by file, as on platforms without it. Default true.
   */
  syncWholeFileSystem?: boolean;
}

/** Where the engine keeps its local bank by default. */
export const defaultBankDir = (dataDir: string): string => path.join(dataDir, 'bank');

const READ_CHUNK = 256 * 1024;

/**
 * A bank in a local directory: one file per object at the key's relative path.
 *
 * A put writes `.tmp-<random>` beside the target, fsyncs it, renames it over the target and
 * fsyncs the directory (and any directories it had to create), so after a crash an object is the
 * old one, the whole new one, or absent, never a prefix. A put with `deferSync` skips both fsyncs
 * (two journal commits per object, most of the cost of a small object) and `flush()` settles all
 * such puts at once; until then a power loss may leave them damaged, which the chunk store
 * repairs on its next write (chunk-store.ts). A crash can leave a temp file behind:
 * `list()` skips dot-names, and `sweepTemp()` (run by `open()`) deletes old ones. Temp files are
 * judged by mtime, which a running put keeps fresh, so only a put stalled for `tempMaxAgeMs`
 * could lose its temp file (and then fail, never corrupt).
 */
/** Up to this many pending files and folders, a flush syncs them one by one instead of the file system. */
const FEW_FILES_TO_SYNC = 64;

export class LocalBank implements Bank {
  /** Absolute path of the bank directory. */
  readonly dir: string;
  private readonly clock: Clock;
  private readonly tempMaxAgeMs: number;
  /** Files put with `deferSync` (and directories that gained entries) not yet flushed. */
  private readonly unsynced = new Set<string>();
  private readonly unsyncedDirs = new Set<string>();
  private flushing: Promise<void> = Promise.resolve();
  private readonly syncWhole: boolean;

  constructor(dir: string, opts: LocalBankOptions = {}) {
    this.dir = path.resolve(dir);
    this.clock = opts.clock ?? systemClock;
    this.tempMaxAgeMs = opts.tempMaxAgeMs ?? 60 * 60 * 1000;
    this.syncWhole = opts.syncWholeFileSystem ?? true;
  }

  /** Creates the directory if needed and sweeps temp files a crash left behind. */
  static async open(dir: string, opts: LocalBankOptions = {}): Promise<LocalBank> {
    const bank = new LocalBank(dir, opts);
    await fs.mkdir(bank.dir, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
      throw bank.ioError(err, 'create the bank directory');
    });
    await bank.sweepTemp();
    return bank;
  }

  private file(key: string): string {
    return objectFile(this.dir, validateKey(key));
  }

  direct(): DirectFiles {
    return {
      dir: this.dir,
      adopt: (file, createdDir) => {
        this.unsynced.add(file);
        for (const d of dirsToSync(path.dirname(file), createdDir)) this.unsyncedDirs.add(d);
      },
      error: (code, message, what) => this.ioError(Object.assign(new Error(message), { code }), what),
    };
  }

  /** Storage failures as typed errors: full disk → BankFull, the rest → BankError. */
  private ioError(err: unknown, what: string): BankError {
    if (err instanceof BankError) return err;
    if (isFullError(err)) return new BankFull(this.dir, err);
    const code = errnoCode(err);
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
      return new BankError(`cannot ${what}: a key may not be both an object and a prefix of other keys`, {
        code: 'BANK_KEY_CONFLICT',
        status: 409,
        cause: err,
      });
    }
    return new BankError(`bank I/O failed in ${this.dir} (${what}): ${(err as Error).message}`, { cause: err });
  }

  async put(key: string, data: Buffer | Readable, opts: PutOptions = {}): Promise<void> {
    try {
      await this.putFile(this.file(key), key, data, opts.deferSync === true);
    } catch (err) {
      // Like pipeline(): a put that fails (even before reading) destroys its source, so a file
      // or socket behind it is not left open.
      if (!Buffer.isBuffer(data)) data.destroy();
      throw err;
    }
  }

  /**
   * Makes the puts made with `deferSync` durable: one `syncfs` of the bank's file system where the
   * platform has it (`sync -f`, Linux), else an fsync of each such file and of the directories
   * that gained entries; up to 64 of them are always synced one by one. Flushes run one after
   * another, so a flush never returns while an earlier one (which took the pending puts) is still
   * syncing them. On failure the same puts stay pending for the next flush. `everything` syncs
   * the file system even with nothing pending (after deletes that must be durable before what
   * follows).
   */
  flush(opts: { everything?: boolean } = {}): Promise<void> {
    const run = this.flushing.then(() => this.flushNow(opts.everything === true));
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushNow(everything: boolean): Promise<void> {
    if (!everything && !this.unsynced.size && !this.unsyncedDirs.size) return;
    const files = [...this.unsynced];
    const dirs = [...this.unsyncedDirs];
    this.unsynced.clear();
    this.unsyncedDirs.clear();
    try {
      // A few files are synced one by one: a sync of the whole file system would also wait for
      // everything else written there (another program's gigabytes), which an unchanged
      // re-protect writing a handful of index objects must not pay for.
      const few = !everything && files.length + dirs.length <= FEW_FILES_TO_SYNC;
      if (few || !(this.syncWhole && (await syncFileSystem(this.dir)))) {
        await eachLimit(files, 8, (f) => syncFile(f));
        await eachLimit(everything ? [...dirs, this.dir] : dirs, 8, (d) => syncDir(d));
      }
    } catch (err) {
      files.forEach((f) => this.unsynced.add(f));
      dirs.forEach((d) => this.unsyncedDirs.add(d));
      throw this.ioError(err, 'flush written objects to disk');
    }
  }

  private async putFile(target: string, key: string, data: Buffer | Readable, deferSync = false): Promise<void> {
    const dir = path.dirname(target);
    const io = <T>(p: Promise<T>): Promise<T> => p.catch((err: unknown) => Promise.reject(this.ioError(err, `write '${key}'`)));
    const { fh, tmp, created } = await this.openTemp(dir, key);
    try {
      try {
        if (Buffer.isBuffer(data)) {
          await io(writeAll(fh, data));
        } else {
          // Errors of the source itself propagate unchanged: they are the caller's, not the bank's.
          for await (const chunk of data as AsyncIterable<Buffer | string>) {
            await io(writeAll(fh, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
          }
        }
        if (!deferSync) await io(fh.sync());
      } finally {
        await fh.close();
      }
      await io(fs.rename(tmp, target));
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    if (deferSync) {
      this.unsynced.add(target);
      for (const d of dirsToSync(dir, created)) this.unsyncedDirs.add(d);
      return;
    }
    for (const d of dirsToSync(dir, created)) await io(syncDir(d));
  }

  /** Creates the target's directory and an exclusive temp file in it. */
  private async openTemp(dir: string, key: string): Promise<{ fh: fs.FileHandle; tmp: string; created?: string }> {
    let created: string | undefined;
    // A concurrent delete may remove the (empty) directory between mkdir and open: retry.
    for (let attempt = 0; ; attempt++) {
      try {
        created = (await fs.mkdir(dir, { recursive: true, mode: 0o700 })) ?? created;
        const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
        return { fh: await fs.open(tmp, 'wx', 0o600), tmp, created };
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT' || attempt >= 10) throw this.ioError(err, `write '${key}'`);
      }
    }
  }

  async get(key: string): Promise<Buffer> {
    const file = this.file(key);
    return fs.readFile(file).catch((err: unknown) => {
      throw MISSING.has(errnoCode(err) ?? '') || errnoCode(err) === 'EISDIR' ? new BankNotFound(key) : this.ioError(err, `read '${key}'`);
    });
  }

  getStream(key: string): Readable {
    return Readable.from(this.chunks(this.file(key), key), { objectMode: false });
  }

  private async *chunks(file: string, key: string): AsyncGenerator<Buffer> {
    const fh = await fs.open(file, 'r').catch((err: unknown) => {
      throw MISSING.has(errnoCode(err) ?? '') || errnoCode(err) === 'EISDIR' ? new BankNotFound(key) : this.ioError(err, `read '${key}'`);
    });
    try {
      if ((await fh.stat()).isDirectory()) throw new BankNotFound(key);
      for (;;) {
        const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(READ_CHUNK), 0, READ_CHUNK, null);
        if (bytesRead === 0) return;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }

  async stat(key: string): Promise<BankObjectStat | undefined> {
    const file = this.file(key);
    const st = await fs.stat(file).catch((err: unknown) => {
      if (MISSING.has(errnoCode(err) ?? '')) return undefined;
      throw this.ioError(err, `stat '${key}'`);
    });
    return st?.isFile() ? { size: st.size } : undefined;
  }

  /**
   * Walks only the directories the prefix can reach, entries sorted by name with `/` appended to
   * directories: that makes depth-first order equal to sorted key order (`a.c` < `a/b`).
   */
  async *list(prefix: string): AsyncIterable<string> {
    validatePrefix(prefix);
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const walk = async function* (this: LocalBank, rel: string): AsyncGenerator<string> {
      const abs = path.join(this.dir, ...rel.split('/').filter(Boolean));
      const entries = await fs.readdir(abs, { withFileTypes: true }).catch((err: unknown) => {
        if (MISSING.has(errnoCode(err) ?? '')) return [];
        throw this.ioError(err, `list '${prefix}'`);
      });
      const named = entries
        .filter((e) => !e.name.startsWith('.') && (e.isFile() || e.isDirectory()))
        .map((e) => ({ key: rel + e.name, dir: e.isDirectory(), sortKey: e.name + (e.isDirectory() ? '/' : '') }))
        .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
      for (const e of named) {
        if (!e.dir) {
          if (e.key.startsWith(prefix)) yield e.key;
        } else if (`${e.key}/`.startsWith(prefix) || prefix.startsWith(`${e.key}/`)) {
          yield* walk.call(this, `${e.key}/`);
        }
      }
    };
    yield* walk.call(this, base);
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    try {
      await fs.unlink(file);
    } catch (err) {
      const code = errnoCode(err) ?? '';
      if (MISSING.has(code)) return;
      // unlink of a directory (a prefix, not an object): EISDIR on Linux, EPERM on macOS.
      if (!(code === 'EISDIR' || code === 'EPERM') || !(await fs.stat(file).catch(() => undefined))?.isDirectory()) {
        throw this.ioError(err, `delete '${key}'`);
      }
      return;
    }
    // Best effort: drop directories the delete left empty; stops at the first non-empty one.
    for (let d = path.dirname(file); d !== this.dir && d.startsWith(this.dir + path.sep); d = path.dirname(d)) {
      if (!(await succeeded(fs.rmdir(d)))) break;
    }
  }

  /** Removes temp files (of puts and leases) untouched for `maxAgeMs`; returns how many. */
  async sweepTemp(maxAgeMs = this.tempMaxAgeMs): Promise<number> {
    const cutoff = Date.now() - maxAgeMs;
    let removed = 0;
    for await (const t of tempFiles(this.dir)) {
      if (t.mtimeMs <= cutoff && (await succeeded(fs.rm(t.file, { force: true })))) removed++;
    }
    return removed;
  }

  async acquireLease(name: string, opts: LeaseOptions): Promise<BankLease> {
    const dir = path.join(this.dir, LEASE_DIR, validateLeaseName(name));
    return acquireLocalLease(dir, name, opts, this.clock, (err) => this.ioError(err, `use lease '${name}'`));
  }
}
