import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { deserialize, serialize } from 'node:v8';
import type { JsonObject } from '../../../engine/db/schema/common';
import type { ProtectionPlugin, ResourceData } from '../../../engine/providers/types';
import { loadPieces, storePieces } from '../../../banks/store/pieces';
import { eachFile, eachLimit, FILE_CONCURRENCY, SMALL_FILE } from './parallel';
import { DIRECTORY_TYPE } from './protectable';
import { unchanged, utimesSeconds, walkTree, type TreeEntry } from './tree-index';

/** Reads of larger files: about one chunk at a time. */
const READ_SIZE = 1024 * 1024;
const stringList = { type: 'array', items: { type: 'string', minLength: 1 } };

function need(data: ResourceData | undefined): ResourceData {
  if (!data) throw new Error('this provider has no bank to store directory data in');
  return data;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

/**
 * A file the walk saw as `size` bytes, read into memory; undefined when it has grown since (it is
 * then streamed: a log or image growing meanwhile must not be read whole into memory).
 */
async function readWhole(file: string, size: number): Promise<Buffer | undefined> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(size + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (!bytesRead) break;
      n += bytesRead;
    }
    return n > size ? undefined : buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** A tree index piece: about 64 entries. */
const INDEX_PIECES = { average: 64, max: 1024 };

/** The stored tree index: its entries in pieces (pieces.ts), so a small change stores a small piece. */
interface IndexObject {
  pieces: JsonObject[];
}

async function writeIndex(data: ResourceData, entries: TreeEntry[]): Promise<JsonObject> {
  const pieces = await storePieces(
    entries,
    (e) => e.p,
    INDEX_PIECES,
    async (json) => (await data.store(json)).manifest,
  );
  return (await data.store(Buffer.from(JSON.stringify({ pieces } satisfies IndexObject)))).manifest;
}

/**
 * The index this engine last wrote for the resource, kept in its cache folder beside the SHA-256
 * of the stored index object: when that is the previous checkpoint's index, the next protect takes
 * it from here instead of reading and decoding every piece from the bank. The file starts with the
 * SHA-256 of the rest, so a damaged cache is never trusted: an unchanged file takes its stored
 * data from here, and a wrong chunk id would break the new checkpoint.
 */
interface CachedIndex {
  sha256: string;
  entries: TreeEntry[];
}
const CACHED_INDEX = 'tree-index.v8';

async function cachedIndex(dir: string | undefined, manifest: JsonObject): Promise<TreeEntry[] | undefined> {
  if (!dir || typeof manifest.sha256 !== 'string') return undefined;
  try {
    const file = await fs.readFile(path.join(dir, CACHED_INDEX));
    const body = file.subarray(32);
    if (file.length < 32 || !createHash('sha256').update(body).digest().equals(file.subarray(0, 32))) return undefined;
    const cached = deserialize(body) as Partial<CachedIndex>;
    return cached.sha256 === manifest.sha256 && Array.isArray(cached.entries) ? cached.entries : undefined;
  } catch {
    // Missing or unreadable: the bank has it.
    return undefined;
  }
}

/** Keeps the index just written for the next protect; a cache that cannot be written only costs that speed. */
async function keepIndex(dir: string | undefined, manifest: JsonObject, entries: TreeEntry[]): Promise<void> {
  if (!dir || typeof manifest.sha256 !== 'string') return;
  const tmp = path.join(dir, `.${CACHED_INDEX}.${randomBytes(6).toString('hex')}`);
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const body = serialize({ sha256: manifest.sha256, entries } satisfies CachedIndex);
    await fs.writeFile(tmp, Buffer.concat([createHash('sha256').update(body).digest(), body]), { mode: 0o600 });
    await fs.rename(tmp, path.join(dir, CACHED_INDEX));
  } catch {
    await fs.rm(tmp, { force: true });
  }
}

/** Reads an index written by {@link writeIndex}, or the single list of entries older checkpoints hold. */
async function readIndex(data: ResourceData, manifest: JsonObject): Promise<TreeEntry[]> {
  const stored = JSON.parse((await data.read(manifest)).toString('utf8')) as TreeEntry[] | IndexObject;
  if (Array.isArray(stored)) return stored;
  return loadPieces<TreeEntry, JsonObject>(stored.pieces, (m) => data.read(m));
}

/**
 * `Local::FS::Directory`: files, directories, symlinks, modes and mtimes. Files unchanged since
 * the previous checkpoint (size + mtime + inode) are not read again; the rest stream through the
 * chunk store. The tree index itself is stored as data and named in the saved info.
 */
export const directoryProtection: ProtectionPlugin = {
  name: 'local-directory',
  supportedTypes: [DIRECTORY_TYPE],
  schemas: () => ({
    options: {
      title: 'Directory options',
      type: 'object',
      properties: {
        include: { ...stringList, title: 'Include', description: 'Glob patterns of files to include (all when empty).' },
        exclude: { ...stringList, title: 'Exclude', description: 'Glob patterns of files and directories to leave out.' },
      },
      additionalProperties: false,
    },
    savedInfo: {
      title: 'Directory saved info',
      type: 'object',
      properties: { root: { type: 'string' }, files: { type: 'integer' }, bytes: { type: 'integer' }, index: { type: 'object' } },
    },
    restore: {
      title: 'Directory restore',
      type: 'object',
      properties: {
        restore_path: { type: 'string', title: 'Restore to', description: 'Absolute path; the original path when empty.' },
        overwrite: { type: 'boolean', title: 'Overwrite', description: 'Replace existing files.', default: false },
        paths: { ...stringList, title: 'Only these paths', description: 'Relative paths to restore (all when empty).' },
      },
      additionalProperties: false,
    },
  }),
  protect: {
    async main(ctx) {
      const data = need(ctx.data);
      const root = ctx.resource.name;
      const st = await fs.stat(root).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`${root}: ${err.code === 'ENOENT' ? 'no such directory' : (err.code ?? err.message)}`);
      });
      if (!st.isDirectory()) throw new Error(`${root}: not a directory`);
      const walked = async (): Promise<TreeEntry[]> => {
        const out: TreeEntry[] = [];
        const walk = walkTree(root, {
          include: strings(ctx.parameters.include),
          exclude: strings(ctx.parameters.exclude),
          batches: (dir, filter) => data.walk(dir, filter),
        });
        for await (const e of walk) out.push(e);
        return out;
      };
      const previous = ctx.previous?.index;
      // The previous index loads while the tree is walked (each in a chunk worker of its own).
      const readPrevious = async (): Promise<TreeEntry[]> => {
        if (!previous || typeof previous !== 'object' || Array.isArray(previous)) return [];
        return (await cachedIndex(ctx.cacheDir, previous)) ?? (await readIndex(data, previous));
      };
      const [entries, before] = await Promise.all([walked(), readPrevious()]);
      const prev = new Map(before.map((e) => [e.p, e]));
      const total = entries.reduce((n, e) => n + (e.t === 'f' ? e.size : 0), 0);
      ctx.progress({ totalBytes: total, totalItems: entries.length });
      let bytes = 0;
      const files: TreeEntry[] = [];
      for (const e of entries) {
        if (e.t !== 'f') ctx.progress({ items: 1 });
        else {
          const was = prev.get(e.p);
          if (unchanged(e, was)) {
            e.data = was.data;
            data.reuse(was.data);
            bytes += e.size;
            ctx.progress({ items: 1 });
          } else files.push(e);
        }
      }
      // Each file's manifest goes into its own entry, so the index keeps the walk's order.
      await eachFile(files, async (e) => {
        ctx.signal.throwIfAborted();
        const abs = path.join(root, e.p);
        // A small file goes to a chunk worker whole, or is read whole here: one read instead of a
        // stream, and the chunk store's short path.
        const small = e.size <= SMALL_FILE;
        const stored =
          (small ? await data.storeFile(abs, e.size) : undefined) ??
          (await data.store((small ? await readWhole(abs, e.size) : undefined) ?? createReadStream(abs, { highWaterMark: READ_SIZE })));
        e.data = stored.manifest;
        e.size = stored.size;
        bytes += e.size;
        ctx.progress({ items: 1, bytes: stored.size });
      });
      const index = await writeIndex(data, entries);
      await keepIndex(ctx.cacheDir, index, entries);
      return { root, files: entries.filter((e) => e.t === 'f').length, bytes, index };
    },
  },
  async restore(ctx) {
    const data = need(ctx.data);
    const info = ctx.savedInfo;
    const target =
      typeof ctx.parameters.restore_path === 'string' && ctx.parameters.restore_path
        ? ctx.parameters.restore_path
        : typeof info.root === 'string'
          ? info.root
          : '';
    if (!path.isAbsolute(target)) throw new Error(`restore_path must be absolute, got '${target}'`);
    const overwrite = ctx.parameters.overwrite === true;
    const only = strings(ctx.parameters.paths);
    const existing = await fs.readdir(target).catch(() => [] as string[]);
    if (existing.length && !overwrite) throw new Error(`${target} is not empty; set overwrite to restore into it`);
    const entries = (await readIndex(data, info.index as JsonObject)).filter(
      (e) => !only || e.p === '' || only.some((p) => e.p === p || e.p.startsWith(`${p}/`) || p.startsWith(`${e.p}/`)),
    );
    // Directories first (the index lists a directory before its contents), then files and links.
    for (const e of entries) if (e.t === 'd') await fs.mkdir(e.p ? path.join(target, e.p) : target, { recursive: true });
    await eachFile(
      entries.filter((e) => e.t !== 'd'),
      async (e) => {
        ctx.signal.throwIfAborted();
        const abs = path.join(target, e.p);
        if (e.t === 'l') {
          if (overwrite) await fs.rm(abs, { force: true });
          await fs.symlink(e.target ?? '', abs);
          await fs.lutimes(abs, utimesSeconds(e), utimesSeconds(e));
        } else if (e.data) {
          const flags = overwrite ? 'w' : 'wx';
          const when = utimesSeconds(e);
          if (e.size > SMALL_FILE) {
            await pipeline(data.load(e.data), createWriteStream(abs, { flags, mode: e.mode }));
            await fs.chmod(abs, e.mode);
            await fs.utimes(abs, when, when);
          } else if (!(await data.restoreFile(e.data, abs, { flags, mode: e.mode, atime: when, mtime: when }))) {
            // No chunk worker could write it: one read of its chunk, one write.
            const content = await data.read(e.data);
            const fh = await fs.open(abs, flags, e.mode);
            try {
              await fh.writeFile(content);
              await fh.chmod(e.mode);
              await fh.utimes(when, when);
            } finally {
              await fh.close();
            }
          }
          ctx.progress({ items: 1, bytes: e.size });
        }
      },
    );
    // Directories last, deepest first: writing their contents changed their mtimes.
    for (const e of entries.filter((x) => x.t === 'd').reverse()) {
      const abs = e.p ? path.join(target, e.p) : target;
      await fs.chmod(abs, e.mode);
      await fs.utimes(abs, utimesSeconds(e), utimesSeconds(e));
    }
    return { newId: undefined };
  },
  async verify(ctx) {
    const data = need(ctx.data);
    const entries = await readIndex(data, ctx.savedInfo.index as JsonObject);
    await eachLimit(
      entries.filter((e) => e.data),
      FILE_CONCURRENCY,
      async (e) => {
        try {
          await data.check(e.data as JsonObject);
        } catch (err) {
          throw new Error(`${e.p}: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
    );
  },
};
