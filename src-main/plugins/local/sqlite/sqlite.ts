import Database from 'better-sqlite3';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { v5 as uuidv5 } from 'uuid';
import type { JsonObject } from '../../../engine/db/schema/common';
import { Invalid } from '../../../engine/errors';
import type { ProtectablePlugin, Resource } from '../../../engine/protectables/types';
import type { ProtectionPlugin } from '../../../engine/providers/types';

export const SQLITE_TYPE = 'Local::SQLite::Database';
const NAMESPACE = '0b5c0d7e-8a41-5d37-9c0e-6a2f1f8e7a21';
const MAGIC = Buffer.from('SQLite format 3\0');

async function isSqliteFile(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const buf = Buffer.alloc(16);
    const { bytesRead } = await fh.read(buf, 0, 16, 0);
    return bytesRead === 16 && buf.equals(MAGIC);
  } finally {
    await fh.close();
  }
}

const toResource = (abs: string): Resource => ({ id: uuidv5(abs, NAMESPACE), type: SQLITE_TYPE, name: abs });

/** SQLite database files: `parameters.path` is a folder to search (not recursive) or a file. */
export const sqliteProtectable: ProtectablePlugin = {
  type: SQLITE_TYPE,
  dependentTypes: [],
  async listInstances(ctx, parameters: JsonObject) {
    const raw = parameters.path ?? os.homedir();
    if (typeof raw !== 'string' || !path.isAbsolute(raw)) throw new Invalid('parameters.path must be an absolute path');
    const st = await fs.stat(raw).catch(() => undefined);
    if (!st) throw new Invalid(`cannot list ${raw}: no such file or directory`);
    const files = st.isDirectory() ? (await fs.readdir(raw)).sort().map((n) => path.join(raw, n)) : [raw];
    const out: Resource[] = [];
    for (const f of files) if (await isSqliteFile(f)) out.push(toResource(path.resolve(f)));
    for (const r of out) ctx.remember(SQLITE_TYPE, r.id, r.name, r.name);
    return out;
  },
  async showInstance(ctx, id) {
    const known = ctx.recall(SQLITE_TYPE, id);
    return known && (await isSqliteFile(known.locator)) ? toResource(known.locator) : undefined;
  },
  dependents: () => Promise.resolve([]),
};

/**
 * A consistent copy through SQLite's online backup (readers and writers go on meanwhile),
 * streamed into the bank; restore writes a new database file.
 */
export const sqliteProtection: ProtectionPlugin = {
  name: 'local-sqlite',
  supportedTypes: [SQLITE_TYPE],
  schemas: () => ({
    options: { title: 'SQLite options', type: 'object', properties: {}, additionalProperties: false },
    savedInfo: { title: 'SQLite saved info', type: 'object', properties: { path: { type: 'string' }, size: { type: 'integer' } } },
    restore: {
      title: 'SQLite restore',
      type: 'object',
      properties: {
        restore_path: { type: 'string', title: 'New database file', description: 'Absolute path of a file that does not exist yet.' },
      },
      additionalProperties: false,
    },
  }),
  protect: {
    async main(ctx) {
      if (!ctx.data) throw new Error('this provider has no bank to store the database in');
      const file = ctx.resource.name;
      if (!(await isSqliteFile(file))) throw new Error(`${file}: not a readable SQLite database`);
      const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'karbor-sqlite-'));
      const copy = path.join(tmp, 'backup.sqlite');
      try {
        const db = new Database(file, { readonly: true, fileMustExist: true });
        try {
          await db.backup(copy);
        } finally {
          db.close();
        }
        const stored = await ctx.data.store(createReadStream(copy));
        ctx.progress({ bytes: stored.size, items: 1 });
        return { path: file, size: stored.size, data: stored.manifest };
      } finally {
        await fs.rm(tmp, { recursive: true, force: true });
      }
    },
  },
  async restore(ctx) {
    if (!ctx.data) throw new Error('this provider has no bank');
    const orig = typeof ctx.savedInfo.path === 'string' ? ctx.savedInfo.path : '';
    const target = typeof ctx.parameters.restore_path === 'string' ? ctx.parameters.restore_path : `${orig}.restored`;
    if (!path.isAbsolute(target)) throw new Error(`restore_path must be absolute, got '${target}'`);
    const tmp = `${target}.partial-${process.pid}`;
    await pipeline(ctx.data.load(ctx.savedInfo.data as JsonObject), createWriteStream(tmp, { flags: 'wx' }));
    try {
      await fs.link(tmp, target);
    } catch (err) {
      throw new Error(
        (err as NodeJS.ErrnoException).code === 'EEXIST' ? `${target} already exists; choose another restore_path` : (err as Error).message,
      );
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return { newId: toResource(target).id };
  },
  async verify(ctx) {
    if (!ctx.data) throw new Error('this provider has no bank');
    await ctx.data.check(ctx.savedInfo.data as JsonObject);
  },
};
