import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src-main/engine/log';
import { connectionFrom, databaseId, loadPassword } from '../../src-main/plugins/local/postgresql/connection';
import { LOCAL_PROVIDER_ID as LOCAL } from '../../src-main/plugins/local/provider';
import { eventually, startHarness, tempDir, type ApiResponse, type Harness } from '../helpers/harness';

/*
 * Against the real PostgreSQL that scripts/pg-test-server.sh starts (scripts/test.sh always does
 * and exports its connection); skipped only when that connection is not in the environment.
 */
const PG = {
  host: process.env.KARBOR_TEST_PG_HOST ?? '',
  port: Number(process.env.KARBOR_TEST_PG_PORT ?? 0),
  user: process.env.KARBOR_TEST_PG_USER ?? '',
  password: process.env.KARBOR_TEST_PG_PASSWORD ?? '',
};
const haveServer = Boolean(PG.host && PG.port && PG.user && PG.password);
if (!haveServer) {
  console.warn(
    'local-postgresql.test.ts skipped: KARBOR_TEST_PG_HOST / PORT / USER / PASSWORD are not set. ' +
      'Run it through `npm test`, or first: pg_env="$(bash scripts/pg-test-server.sh)" && eval "$pg_env"',
  );
}

const TYPE = 'Local::PostgreSQL::Database';
const SEED_BATCHES = 20_000;
const run = promisify(execFile);
type Obj = Record<string, unknown>;

/** psql as the test role over TCP; returns the unaligned, tuples-only output. */
async function sql(db: string, text: string): Promise<string> {
  const { stdout } = await run(
    'psql',
    ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', db, '-c', text],
    { env: { ...process.env, PGPASSWORD: PG.password }, maxBuffer: 64 << 20 },
  );
  return stdout.trim();
}

/** The invariant every committed state of the source satisfies: totals match the rows, whole batches only. */
const INVARIANT = `SELECT (SELECT rows = (SELECT count(*) FROM t) AND batches = (SELECT count(DISTINCT batch) FROM t)
    AND checksum = (SELECT sum(batch::bigint * 1000 + seq) FROM t) FROM totals)
  AND NOT EXISTS (SELECT 1 FROM t GROUP BY batch HAVING count(*) <> 10)`;
const rowsDigest = (upTo: number): string =>
  `SELECT md5(string_agg(batch || ':' || seq || ':' || v, ',' ORDER BY batch, seq)) FROM t WHERE batch <= ${upTo}`;

const prefix = `kt_${process.pid}_${Date.now().toString(36)}`;
const SRC = `${prefix}_src`;
let h: Harness;
let dir: string;
let passwordFile: string;
let wrongFile: string;
const wrongPassword = `wrong-${randomBytes(9).toString('hex')}`;
/** Every API response body and engine log line of the run: none may hold a password. */
const seen: string[] = [];
const logLines: string[] = [];

async function api<T = Obj>(method: string, p: string, body?: unknown, absolute = false): Promise<ApiResponse<T>> {
  const res = await h.api<T>(method, p, body, { absolute });
  seen.push(res.text);
  return res;
}

async function checkpoint(planId: string): Promise<Obj & { id: string }> {
  const r = await api<{ checkpoint: Obj & { id: string } }>('POST', `/providers/${LOCAL}/checkpoints`, { checkpoint: { plan_id: planId } });
  expect(r.status, r.text).toBe(200);
  return eventually(
    async () => {
      const s = await api<{ checkpoint: Obj & { id: string } }>('GET', `/providers/${LOCAL}/checkpoints/${r.body.checkpoint.id}`);
      return s.body.checkpoint.status !== 'protecting' && s.body.checkpoint;
    },
    'checkpoint done',
    60_000,
  );
}

async function restore(checkpointId: string, parameters: Obj): Promise<Obj> {
  const r = await api<{ restore: Obj & { id: string } }>('POST', '/restores', {
    restore: { provider_id: LOCAL, checkpoint_id: checkpointId, parameters: { [TYPE]: parameters } },
  });
  expect(r.status, r.text).toBe(200);
  return eventually(
    async () => {
      const s = await api<{ restore: Obj }>('GET', `/restores/${r.body.restore.id}`);
      return s.body.restore.status !== 'in_progress' && s.body.restore;
    },
    'restore done',
    60_000,
  );
}

async function listInstances(parameters: Obj): Promise<(Obj & { id: string; name: string })[]> {
  const r = await api<{ instances: (Obj & { id: string; name: string })[] }>(
    'GET',
    `/protectables/${TYPE}/instances?parameters=${encodeURIComponent(JSON.stringify(parameters))}`,
  );
  expect(r.status, r.text).toBe(200);
  return r.body.instances;
}

async function plan(name: string, resource: Obj, parameters: Obj = {}): Promise<string> {
  const r = await api<{ plan: { id: string } }>('POST', '/plans', {
    plan: { name, provider_id: LOCAL, resources: [resource], parameters: { [TYPE]: parameters } },
  });
  expect(r.status, r.text).toBe(200);
  return r.body.plan.id;
}

// CI runs scripts/test.sh, which always starts the server: a missing connection there is a bug, not a skip.
it.runIf(!haveServer && Boolean(process.env.CI))('has the PostgreSQL test server in CI', () => {
  expect.fail('KARBOR_TEST_PG_* are not set although CI is: scripts/test.sh should have run scripts/pg-test-server.sh');
});

describe.skipIf(!haveServer)('Local Provider: PostgreSQL', () => {
  let source: Obj & { id: string; name: string };
  let cp: Obj & { id: string };
  let restoredBatches = 0;

  beforeAll(async () => {
    const record =
      (level: string) =>
      (msg: string, fields?: Record<string, unknown>): void => {
        logLines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
      };
    const log: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
    h = await startHarness({ log });
    dir = tempDir('karbor-pg-');
    passwordFile = path.join(dir, 'password');
    fs.writeFileSync(passwordFile, `${PG.password}\n`, { mode: 0o600 });
    wrongFile = path.join(dir, 'wrong-password');
    fs.writeFileSync(wrongFile, wrongPassword, { mode: 0o600 });
    await sql('postgres', `CREATE DATABASE ${SRC}`);
    await sql(
      SRC,
      `CREATE TABLE t (batch int NOT NULL, seq int NOT NULL, v text NOT NULL, PRIMARY KEY (batch, seq));
       CREATE TABLE totals (id int PRIMARY KEY, rows bigint NOT NULL, batches bigint NOT NULL, checksum bigint NOT NULL);
       CREATE TABLE control (stop boolean NOT NULL);
       INSERT INTO control VALUES (false);
       INSERT INTO t SELECT b, s, md5(b || '-' || s) FROM generate_series(1, ${SEED_BATCHES}) b, generate_series(1, 10) s;
       INSERT INTO t VALUES (0, 1, 'ünïcödé ✓ 文件'), (0, 2, E'tab\\tnewline\\n'), (0, 3, ''), (0, 4, 'x'), (0, 5, 'y'),
         (0, 6, 'z'), (0, 7, 'quote '' "'), (0, 8, repeat('long', 5000)), (0, 9, '\\\\'), (0, 10, 'end');
       INSERT INTO totals SELECT 1, count(*), count(DISTINCT batch), sum(batch::bigint * 1000 + seq) FROM t;
       CREATE VIEW batch_sizes AS SELECT batch, count(*) AS n FROM t GROUP BY batch;
       CREATE MATERIALIZED VIEW seed_digest AS SELECT md5(string_agg(v, ',' ORDER BY batch, seq)) AS d FROM t;`,
    );
  });

  afterAll(async () => {
    await h?.close();
    const dbs = await sql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%'`).catch(() => '');
    for (const db of dbs.split('\n').filter(Boolean)) await sql('postgres', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  });

  it('lists the databases of the server with stable ids and no password', async () => {
    const params = { host: PG.host, port: PG.port, user: PG.user, password_file: passwordFile };
    const first = await listInstances(params);
    source = first.find((i) => i.name === SRC) as typeof source;
    expect(source, JSON.stringify(first)).toBeDefined();
    expect(first.map((i) => i.name)).not.toContain('template0');
    expect(source.extra_info).toEqual({ host: PG.host, port: PG.port, user: PG.user, password_file: passwordFile });
    expect((await listInstances(params)).find((i) => i.name === SRC)?.id).toBe(source.id);
    // The id names the server too: the same database name elsewhere is another resource.
    expect(source.id).toBe(databaseId(connectionFrom(params), SRC));
    expect(databaseId(connectionFrom({ ...params, port: PG.port + 1 }), SRC)).not.toBe(source.id);
    const shown = await api<{ instance: Obj }>('GET', `/protectables/${TYPE}/instances/${source.id}`);
    expect(shown.status, shown.text).toBe(200);
    expect(shown.body.instance.name).toBe(SRC);
  });

  it('protects a consistent snapshot while a writer keeps inserting, and restores it into a new database', async () => {
    const planId = await plan('pg', { id: source.id, type: TYPE, name: source.name, extra_info: source.extra_info });
    // Batches of 10 rows and the totals row change in one transaction each, until `control.stop`.
    const writer = spawn(
      'psql',
      [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        PG.host,
        '-p',
        String(PG.port),
        '-U',
        PG.user,
        '-d',
        SRC,
        '-c',
        `DO $$ DECLARE b int := (SELECT max(batch) FROM t); BEGIN
           LOOP
             EXIT WHEN (SELECT stop FROM control);
             b := b + 1;
             INSERT INTO t SELECT b, s, md5(b || '-' || s) FROM generate_series(1, 10) s;
             UPDATE totals SET rows = rows + 10, batches = batches + 1, checksum = checksum + b::bigint * 10000 + 55;
             COMMIT;
             PERFORM pg_sleep(0.002);
           END LOOP;
         END $$`,
      ],
      { env: { ...process.env, PGPASSWORD: PG.password }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let writerErr = '';
    writer.stderr.on('data', (b: Buffer) => (writerErr += b.toString()));
    const writerDone = new Promise<number | null>((resolve) => writer.once('close', resolve));
    const batches = async (db: string): Promise<number> => Number(await sql(db, 'SELECT batches FROM totals'));
    const seeded = SEED_BATCHES + 1;
    const before = await eventually(async () => (await batches(SRC)) > seeded + 20 && batches(SRC), 'writer running');

    cp = await checkpoint(planId);
    const after = await batches(SRC);
    await sql(SRC, 'UPDATE control SET stop = true');
    expect(await writerDone, writerErr).toBe(0);
    expect(cp.status, JSON.stringify(cp)).toBe('available');
    expect(after).toBeGreaterThan(before);

    const res = await restore(cp.id, { restore_name: `${prefix}_restored` });
    expect(res.status, JSON.stringify(res)).toBe('success');
    const restored = `${prefix}_restored`;
    expect(await sql(restored, INVARIANT)).toBe('t');
    restoredBatches = await batches(restored);
    expect(restoredBatches).toBeGreaterThanOrEqual(before);
    expect(restoredBatches).toBeLessThanOrEqual(after);
    const maxBatch = Number(await sql(restored, 'SELECT max(batch) FROM t'));
    expect(await sql(restored, rowsDigest(maxBatch))).toBe(await sql(SRC, rowsDigest(maxBatch)));
    expect(Number(await sql(SRC, 'SELECT count(*) FROM t'))).toBeGreaterThan(Number(await sql(restored, 'SELECT count(*) FROM t')));
    expect(await sql(restored, 'SELECT n FROM batch_sizes WHERE batch = 0')).toBe('10');
    expect(await sql(restored, 'SELECT v FROM t WHERE batch = 0 AND seq = 1')).toBe('ünïcödé ✓ 文件');
    // pg_restore refreshes materialized views: over the restored rows, not the source's current ones.
    expect(await sql(restored, 'SELECT d FROM seed_digest')).toBe(
      await sql(restored, "SELECT md5(string_agg(v, ',' ORDER BY batch, seq)) FROM t"),
    );

    const resources = await api<{ ok: boolean; value: { saved_info: Obj; status: string }[] }>(
      'POST',
      '/ui/invoke',
      { method: 'checkpoints.resources', input: { providerId: LOCAL, id: cp.id } },
      true,
    );
    const info = resources.body.value[0]?.saved_info ?? {};
    expect(info).toMatchObject({ database: SRC, host: PG.host, port: PG.port, user: PG.user, format: 'custom' });
    expect(info.server_version).toBe(await sql(SRC, 'SHOW server_version'));
    expect(info.encoding).toBe('UTF8');
    expect(info.dump_size).toBeGreaterThan(4 << 20);
    expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('verifies the stored dump', async () => {
    const r = await api<{ verification: Obj & { id: string } }>('POST', '/verifications', {
      verification: { provider_id: LOCAL, checkpoint_id: cp.id, parameters: {} },
    });
    expect(r.status, r.text).toBe(200);
    const v = await eventually(async () => {
      const s = await api<{ verification: Obj }>('GET', `/verifications/${r.body.verification.id}`);
      return s.body.verification.status !== 'in_progress' && s.body.verification;
    }, 'verification done');
    expect(v.status, JSON.stringify(v)).toBe('success');
  });

  it('refuses to restore into an existing database, and replaces its objects when overwrite is set', async () => {
    const restored = `${prefix}_restored`;
    await sql(restored, `INSERT INTO t VALUES (-1, 1, 'after the restore'); CREATE TABLE extra (x int)`);
    const refused = await restore(cp.id, { restore_name: restored });
    expect(refused.status).toBe('fail');
    expect(JSON.stringify(refused.resources_reason)).toContain(`database \\"${restored}\\" already exists on ${PG.host}:${PG.port}`);
    expect(await sql(restored, 'SELECT count(*) FROM t WHERE batch = -1')).toBe('1');

    const replaced = await restore(cp.id, { restore_name: restored, overwrite: true });
    expect(replaced.status, JSON.stringify(replaced)).toBe('success');
    expect(await sql(restored, INVARIANT)).toBe('t');
    expect(await sql(restored, 'SELECT count(*) FROM t WHERE batch = -1')).toBe('0');
    expect(Number(await sql(restored, 'SELECT batches FROM totals'))).toBe(restoredBatches);
    // Objects that are not in the dump stay.
    expect(await sql(restored, "SELECT to_regclass('extra') IS NOT NULL")).toBe('t');
  });

  it('a wrong password ends the checkpoint in error with a clear reason, never showing a password', async () => {
    const planId = await plan(
      'pg-wrong',
      { id: source.id, type: TYPE, name: source.name },
      {
        host: PG.host,
        port: PG.port,
        user: PG.user,
        password_file: wrongFile,
      },
    );
    const bad = await checkpoint(planId);
    expect(bad.status).toBe('error');
    const logs = await api<{ operation_logs: { error_info: string | null }[] }>('GET', `/operation_logs?checkpoint_id=${bad.id}`);
    const reason = logs.body.operation_logs[0]?.error_info ?? '';
    expect(reason).toContain(`pg_dump: error: connection to server at "${PG.host}", port ${PG.port} failed`);
    expect(reason).toContain(`password authentication failed for user "${PG.user}"`);

    // Everything the API said during this file's run, and everything the engine logged.
    await api('GET', '/operation_logs');
    await api('GET', `/plans/${planId}`);
    await api('GET', `/providers/${LOCAL}`);
    await api('GET', `/providers/${LOCAL}/checkpoints`);
    await api('GET', '/restores');
    const all = [...seen, ...logLines].join('\n');
    expect(all).toContain('password authentication failed');
    expect(all).not.toContain(PG.password);
    expect(all).not.toContain(wrongPassword);
  });

  it('scrubs the password from any text it reaches', async () => {
    const { password, scrub } = await loadPassword(connectionFrom({ password_file: passwordFile }));
    expect(password).toBe(PG.password);
    expect(scrub(`FATAL: something echoed ${PG.password} back`)).toBe('FATAL: something echoed ******** back');
  });

  it('a damaged dump fails the restore, which leaves no database behind', async () => {
    const bank = path.join(h.dataDir, 'bank');
    const files = fs.readdirSync(bank, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const biggest = files
      .map((e) => path.join(e.parentPath, e.name))
      .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0] as string;
    const buf = fs.readFileSync(biggest);
    buf[buf.length >> 1] = (buf[buf.length >> 1] ?? 0) ^ 0xff;
    fs.writeFileSync(biggest, buf);
    const damaged = `${prefix}_damaged`;
    const res = await restore(cp.id, { restore_name: damaged });
    expect(res.status).toBe('fail');
    expect(JSON.stringify(res.resources_reason)).toMatch(/chunk [0-9a-f]+ (does not match its hash|cannot be read)/);
    expect(await sql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${damaged}'`)).toBe('0');
  });

  it('deleting the checkpoint frees its dump', async () => {
    const bank = path.join(h.dataDir, 'bank');
    const size = (): number =>
      fs
        .readdirSync(bank, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .reduce((n, e) => n + fs.statSync(path.join(e.parentPath, e.name)).size, 0);
    const before = size();
    expect(before).toBeGreaterThan(1 << 20);
    const del = await api('DELETE', `/providers/${LOCAL}/checkpoints/${cp.id}`);
    expect(del.status, del.text).toBeLessThan(300);
    await h.engine.idle();
    expect(size()).toBeLessThan(before * 0.05);
  });
});
