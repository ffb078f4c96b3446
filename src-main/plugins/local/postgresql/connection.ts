import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { v5 as uuidv5 } from 'uuid';
import type { JsonObject } from '../../../engine/db/schema/common';

export const POSTGRESQL_TYPE = 'Local::PostgreSQL::Database';
/** Namespace for database ids: id = UUIDv5(`host:port/dbname`). */
const NAMESPACE = '2c6b7e1d-4f0a-5b8e-8d3c-1e9f7a6b5c40';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/**
 * Where a PostgreSQL server is and who to connect as. Never holds the password itself: only the
 * path of a file containing it, read when a child process is started.
 */
export interface PgConnection {
  host: string;
  port: number;
  user: string;
  sslmode?: string;
  passwordFile?: string;
  /** Database to connect to for listing and for CREATE / DROP DATABASE. */
  maintenanceDb: string;
}

/** The JSON Schema properties of a connection, shared by the options, listing and restore schemas. */
export const connectionProperties: Record<string, JsonObject> = {
  host: { type: 'string', minLength: 1, title: 'Host', description: 'Host name, IP address or socket folder (PGHOST, else localhost).' },
  port: { type: 'integer', minimum: 1, maximum: 65535, title: 'Port', description: 'PGPORT, else 5432.' },
  user: { type: 'string', minLength: 1, title: 'User', description: 'PGUSER, else the user the engine runs as.' },
  password_file: {
    type: 'string',
    minLength: 1,
    title: 'Password file',
    description: 'Absolute path of a file holding the password. Passwords are not accepted inline: parameters are shown by the API.',
  },
  sslmode: { type: 'string', enum: [...SSL_MODES], title: 'SSL mode', description: 'libpq sslmode (PGSSLMODE, else prefer).' },
  maintenance_db: {
    type: 'string',
    minLength: 1,
    title: 'Maintenance database',
    description: 'For listing and creating databases (postgres).',
  },
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The connection from layers of settings (a resource's `extra_info`, plan parameters, restore
 * parameters...), later layers winning; what none of them sets comes from libpq's environment
 * variables of the engine, as for any PostgreSQL client.
 */
export function connectionFrom(...layers: (JsonObject | undefined)[]): PgConnection {
  const get = (k: string): unknown => layers.reduce<unknown>((v, l) => (l && l[k] !== undefined && l[k] !== null ? l[k] : v), undefined);
  const port = Number(get('port') ?? process.env.PGPORT ?? 5432);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid PostgreSQL port '${String(get('port'))}'`);
  const passwordFile = str(get('password_file'));
  if (passwordFile !== undefined && !path.isAbsolute(passwordFile)) throw new Error(`password_file must be an absolute path`);
  return {
    host: str(get('host')) ?? str(process.env.PGHOST) ?? 'localhost',
    port,
    user: str(get('user')) ?? str(process.env.PGUSER) ?? os.userInfo().username,
    sslmode: str(get('sslmode')) ?? str(process.env.PGSSLMODE),
    passwordFile,
    maintenanceDb: str(get('maintenance_db')) ?? 'postgres',
  };
}

/** The connection as `extra_info` / saved info carry it (no password, only its file). */
export function connectionInfo(c: PgConnection): JsonObject {
  const out: JsonObject = { host: c.host, port: c.port, user: c.user };
  if (c.sslmode) out.sslmode = c.sslmode;
  if (c.passwordFile) out.password_file = c.passwordFile;
  if (c.maintenanceDb !== 'postgres') out.maintenance_db = c.maintenanceDb;
  return out;
}

export const serverName = (c: PgConnection): string => `${c.host}:${c.port}`;

export function databaseId(c: PgConnection, dbname: string): string {
  return uuidv5(`${serverName(c)}/${dbname}`, NAMESPACE);
}

/** A libpq keyword/value connection string (values quoted), without any password. */
export function conninfo(c: PgConnection, dbname: string): string {
  const q = (v: string | number): string => `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const parts = [`host=${q(c.host)}`, `port=${q(c.port)}`, `user=${q(c.user)}`, `dbname=${q(dbname)}`];
  if (c.sslmode) parts.push(`sslmode=${q(c.sslmode)}`);
  parts.push(`connect_timeout='15'`, `application_name='karbor-desktop'`);
  return parts.join(' ');
}

/** A PostgreSQL identifier, double-quoted. */
export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Database names as PostgreSQL accepts them: 1 to 63 bytes, no NUL. */
export function checkDatabaseName(name: string, what: string): void {
  if (!name || Buffer.byteLength(name) > 63 || name.includes('\0')) {
    throw new Error(`${what} must be a database name of 1 to 63 bytes, got '${name.replace(/\0/g, '\\0')}'`);
  }
}

/**
 * Reads the password file (when the connection names one) for the child process's environment.
 * The secret stays in this process's memory and the child's; `scrub` removes it from any text
 * that could reach a log, an error or the API.
 */
export async function loadPassword(c: PgConnection): Promise<{ password?: string; scrub: (text: string) => string }> {
  if (!c.passwordFile) return { scrub: (t) => t };
  let raw: string;
  try {
    raw = await fs.readFile(c.passwordFile, 'utf8');
  } catch (err) {
    throw new Error(`cannot read password_file ${c.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const password = raw.replace(/\r?\n$/, '');
  return { password, scrub: (t) => (password ? t.split(password).join('********') : t) };
}
