import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ProgressDelta, ProtectionPlugin, ResourceData } from '../../../engine/providers/types';
import {
  checkDatabaseName,
  connectionFrom,
  connectionInfo,
  connectionProperties,
  databaseId,
  POSTGRESQL_TYPE,
  serverName,
  type PgConnection,
} from './connection';
import { psql, startPg, type PgRun } from './pg-process';

/** The name of the dump stream in the resource's data. */
const DUMP = 'dump';

function need(data: ResourceData | undefined): ResourceData {
  if (!data) throw new Error('this provider has no bank to store the database in');
  return data;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Passes bytes through, reporting them as progress in steps of 4 MiB (each report is a database
 * write in the runner) and hashing them when asked.
 */
function tap(progress: (d: ProgressDelta) => void, hash?: ReturnType<typeof createHash>): Transform {
  let pending = 0;
  const flush = (): void => {
    if (pending) progress({ bytes: pending });
    pending = 0;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash?.update(chunk);
      pending += chunk.length;
      if (pending >= 4 << 20) flush();
      cb(null, chunk);
    },
    flush(cb) {
      flush();
      cb();
    },
  });
}

/**
 * Waits for a stream feeding a child and for the child. The child's own failure (its stderr) is
 * the better reason, unless the stream failed for a reason of its own (a damaged chunk, a full bank).
 */
async function settle<T>(run: PgRun, streaming: Promise<T>): Promise<T> {
  const [s, exit] = await Promise.allSettled([
    streaming.catch((err: unknown) => {
      run.child.kill();
      throw err;
    }),
    run.exited,
  ]);
  const broken = (e: unknown): boolean => ['EPIPE', 'ERR_STREAM_PREMATURE_CLOSE'].includes((e as NodeJS.ErrnoException).code ?? '');
  if (s.status === 'rejected' && (exit.status === 'fulfilled' || !broken(s.reason))) throw s.reason;
  if (exit.status === 'rejected') throw exit.reason;
  return (s as PromiseFulfilledResult<T>).value;
}

/** Creates the restore target; returns false when it exists and `overwrite` allows using it. */
async function createTarget(conn: PgConnection, name: string, encoding: string | undefined, overwrite: boolean): Promise<boolean> {
  const exists = await psql(conn, conn.maintenanceDb, `SELECT 1 FROM pg_database WHERE datname = :'name';`, { name });
  if (exists.length) {
    if (overwrite) return false;
    throw new Error(
      `database "${name}" already exists on ${serverName(conn)}; choose another restore_name, or set overwrite to restore into it`,
    );
  }
  // template0: a restore must start from an empty database, not from what template1 may hold.
  const sql = `CREATE DATABASE :"name" TEMPLATE template0${encoding ? ` ENCODING :'encoding'` : ''};`;
  await psql(conn, conn.maintenanceDb, sql, encoding ? { name, encoding } : { name });
  return true;
}

/**
 * `Local::PostgreSQL::Database`: `pg_dump --format=custom` (one snapshot, so writers may go on)
 * streamed into the bank; restore streams it back into `pg_restore` in one transaction, into a new
 * database unless `overwrite` is set.
 */
export const postgresqlProtection: ProtectionPlugin = {
  name: 'local-postgresql',
  supportedTypes: [POSTGRESQL_TYPE],
  schemas: () => ({
    options: {
      title: 'PostgreSQL options',
      type: 'object',
      properties: {
        ...connectionProperties,
        compress: {
          type: 'integer',
          minimum: 0,
          maximum: 9,
          default: 0,
          title: 'pg_dump compression',
          description: 'Left at 0 the bank compresses and deduplicates unchanged data across checkpoints.',
        },
      },
      additionalProperties: false,
    },
    savedInfo: {
      title: 'PostgreSQL saved info',
      type: 'object',
      properties: {
        database: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'integer' },
        user: { type: 'string' },
        server_version: { type: 'string' },
        encoding: { type: 'string' },
        format: { type: 'string', enum: ['custom'] },
        dump_size: { type: 'integer' },
        sha256: { type: 'string' },
      },
    },
    restore: {
      title: 'PostgreSQL restore',
      type: 'object',
      properties: {
        restore_name: {
          type: 'string',
          minLength: 1,
          title: 'New database',
          description: 'Created by the restore; `<database>_restored` when empty.',
        },
        overwrite: {
          type: 'boolean',
          default: false,
          title: 'Restore into an existing database',
          description: 'Replaces the objects of the dump in it (pg_restore --clean); refused when false.',
        },
        no_owner: {
          type: 'boolean',
          default: false,
          title: 'Skip ownership',
          description: 'pg_restore --no-owner: the restoring user owns everything.',
        },
        ...connectionProperties,
      },
      additionalProperties: false,
    },
  }),
  protect: {
    async main(ctx) {
      const data = need(ctx.data);
      const conn = connectionFrom(ctx.resource.extra_info, ctx.parameters);
      const db = ctx.resource.name;
      const compress = typeof ctx.parameters.compress === 'number' ? ctx.parameters.compress : 0;
      const run = await startPg('pg_dump', conn, db, ['--format=custom', `--compress=${compress}`], { signal: ctx.signal });
      const stored = await settle(run, data.put(DUMP, run.child.stdout.pipe(tap((d) => ctx.progress(d)))));
      const [[version = '', encoding = ''] = []] = await psql(
        conn,
        db,
        `SELECT current_setting('server_version'), pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database();`,
      );
      ctx.progress({ items: 1 });
      return {
        database: db,
        ...connectionInfo(conn),
        server_version: version,
        encoding,
        format: 'custom',
        dump_size: stored.size,
        sha256: stored.sha256,
      };
    },
  },
  async restore(ctx) {
    const data = need(ctx.data);
    const info = ctx.savedInfo;
    const conn = connectionFrom(info, ctx.parameters);
    const target = str(ctx.parameters.restore_name) ?? `${str(info.database) ?? 'database'}_restored`;
    checkDatabaseName(target, 'restore_name');
    const overwrite = ctx.parameters.overwrite === true;
    const created = await createTarget(conn, target, str(info.encoding), overwrite);
    try {
      const args = ['--exit-on-error', '--single-transaction'];
      if (!created) args.push('--clean', '--if-exists');
      if (ctx.parameters.no_owner === true) args.push('--no-owner');
      const run = await startPg('pg_restore', conn, target, args, { signal: ctx.signal, stdin: 'pipe' });
      const hash = createHash('sha256');
      const dump: Readable = await data.get(DUMP);
      await settle(
        run,
        pipeline(
          dump,
          tap((d) => ctx.progress(d), hash),
          run.child.stdin,
        ),
      );
      if (hash.digest('hex') !== info.sha256) throw new Error('the dump read back from the bank does not match its SHA-256');
    } catch (err) {
      // A failed restore leaves no half-restored database behind (one it created, that is).
      if (created) {
        await psql(conn, conn.maintenanceDb, `DROP DATABASE IF EXISTS :"name";`, { name: target }).catch(() => undefined);
      }
      throw err;
    }
    ctx.progress({ items: 1 });
    return { newId: databaseId(conn, target) };
  },
  async verify(ctx) {
    await need(ctx.data).verify(DUMP);
  },
};
