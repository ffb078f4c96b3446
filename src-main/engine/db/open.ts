import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import fs from 'node:fs';
import path from 'node:path';
import * as schema from './schema';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/**
 * Finds `resources/migrations` from wherever this module runs: the TypeScript source under
 * vitest, the bundled `out/main/*.js`, or a packaged app's `resources/`.
 */
export function findMigrationsDir(start = __dirname): string {
  const candidates: string[] = [];
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  if (resourcesPath) candidates.push(path.join(resourcesPath, 'migrations'));
  for (let dir = start; ; dir = path.dirname(dir)) {
    candidates.push(path.join(dir, 'resources', 'migrations'));
    if (path.dirname(dir) === dir) break;
  }
  const found = candidates.find((c) => fs.existsSync(path.join(c, 'meta', '_journal.json')));
  if (!found) throw new Error(`database migrations not found (looked in ${candidates[0]} and parents)`);
  return found;
}

/**
 * Opens (creating if needed) the SQLite file with WAL and foreign keys, copies the file aside
 * before applying pending migrations (so a failed upgrade can be rolled back by hand), then
 * migrates.
 */
export function openDatabase(file: string, migrationsDir = findMigrationsDir()): Db {
  const existed = fs.existsSync(file) && fs.statSync(file).size > 0;
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  const db: Db = drizzle({ client: sqlite, schema, casing: 'snake_case' });
  if (existed && hasPendingMigrations(sqlite, migrationsDir)) {
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    fs.copyFileSync(file, `${file}.pre-migration`);
  }
  migrate(db, { migrationsFolder: migrationsDir });
  return db;
}

function hasPendingMigrations(sqlite: Database.Database, migrationsDir: string): boolean {
  const journal = JSON.parse(fs.readFileSync(path.join(migrationsDir, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
  const table = sqlite.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name='__drizzle_migrations'").get();
  if (!table) return journal.entries.length > 0;
  const row = sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number };
  return row.n < journal.entries.length;
}
