import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { conninfo, loadPassword, type PgConnection } from './connection';

/** The PostgreSQL client programs, found on PATH (Debian's /usr/bin wrappers pick the right version). */
export type PgProgram = 'pg_dump' | 'pg_restore' | 'psql';

export interface PgRun {
  child: ChildProcess & { stdout: Readable; stdin: Writable };
  /** Resolves when the program exits with 0; rejects with its stderr, the password scrubbed. */
  exited: Promise<void>;
}

const STDERR_KEEP = 16 * 1024;

/** The readable part of a client program's stderr: its lines, in one line, bounded. */
function reason(program: string, stderr: string, code: number | null, signal: NodeJS.Signals | null): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
  if (!lines.length) return signal ? `${program} was stopped by ${signal}` : `${program} exited with code ${code ?? '?'}`;
  const text = lines.join('; ');
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/**
 * Starts a PostgreSQL client program against `dbname` of the connection's server. The password
 * (from `password_file`) reaches the child only through its PGPASSWORD environment variable, never
 * its arguments; `--no-password` makes libpq fail instead of prompting when none is known.
 * `signal` (the user's cancel) kills the child.
 */
export async function startPg(
  program: PgProgram,
  conn: PgConnection,
  dbname: string,
  args: string[],
  opts: { signal?: AbortSignal; stdin?: 'pipe' | 'ignore' } = {},
): Promise<PgRun> {
  const { password, scrub } = await loadPassword(conn);
  const env: NodeJS.ProcessEnv = { ...process.env, PGCONNECT_TIMEOUT: '15' };
  if (password !== undefined) env.PGPASSWORD = password;
  // Messages in English whatever the machine's locale, so reasons read the same everywhere.
  delete env.LC_ALL;
  env.LC_MESSAGES = 'C';
  // psql output is decoded as UTF-8; pg_dump would take PGCLIENTENCODING as the dump's encoding,
  // and a dump keeps the database's own.
  if (program === 'psql') env.PGCLIENTENCODING = 'UTF8';
  else delete env.PGCLIENTENCODING;
  const child = spawn(program, ['--no-password', `--dbname=${conninfo(conn, dbname)}`, ...args], {
    env,
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
    signal: opts.signal,
  }) as PgRun['child'];
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderr = (stderr + s).slice(-STDERR_KEEP);
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') reject(new Error('cancelled by the user'));
      else if (err.code === 'ENOENT')
        reject(new Error(`${program} not found: install the PostgreSQL client programs (Debian: postgresql-client)`));
      else reject(new Error(scrub(`${program}: ${err.message}`)));
    });
    child.once('close', (code, sig) => {
      if (code === 0) resolve();
      else reject(new Error(scrub(reason(program, stderr, code, sig))));
    });
  });
  // A child that dies early closes its stdin; the writer's EPIPE is reported through `exited`.
  child.stdin?.on('error', () => undefined);
  return { child, exited };
}

/**
 * Runs SQL through psql (read from stdin, so that `:'var'` / `:"var"` interpolate the variables
 * safely) and returns the rows of the output: NUL-terminated records of fields separated by U+001F,
 * which no name or version string holds.
 */
export async function psql(conn: PgConnection, dbname: string, sql: string, vars: Record<string, string> = {}): Promise<string[][]> {
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]);
  const run = await startPg(
    'psql',
    conn,
    dbname,
    ['-X', '-q', '-A', '-t', '-0', '-F', '\x1f', '-v', 'ON_ERROR_STOP=1', ...varArgs, '-f', '-'],
    {
      stdin: 'pipe',
    },
  );
  const out: Buffer[] = [];
  run.child.stdout.on('data', (b: Buffer) => out.push(b));
  run.child.stdin.end(sql);
  await run.exited;
  return Buffer.concat(out)
    .toString('utf8')
    .split('\0')
    .slice(0, -1)
    .map((r) => r.split('\x1f'));
}
