// API benchmark: the headless server (out/main/serve.js) over a database seeded with
// 100,000 checkpoints, against a bare Fastify route as the reference.
// Run with `npm run bench:api` (builds first). Writes bench/results/api.json.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const SERVE = path.join(ROOT, 'out', 'main', 'serve.js');
const RESULTS = path.join(HERE, 'results', 'api.json');

const NOOP_PROVIDER_ID = 'b766f37c-d011-4026-8228-28730d734a3f';
const DIRECTORY_TYPE = 'Local::FS::Directory';
const DIRECTORY_NAMESPACE = '6f1b1b8e-3c36-5a8e-9a43-0c5d9e0c6a11'; // src-main/plugins/local/directory
const ROWS = 100_000;
const DEEP_OFFSET = 50_000;
const PAGE = 100;

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 2);
// Hard bound on the whole run (build excluded): the watchdog kills everything past it.
const WATCHDOG_MS = Number(process.env.BENCH_WATCHDOG_MS ?? 5 * 60_000);
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Child mode: the bare Fastify reference server, in its own process like serve.js.
// ---------------------------------------------------------------------------------------------
const IS_BARE_CHILD = process.argv[2] === '--bare-server';
if (IS_BARE_CHILD) {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.get('/bare', async () => ({ hello: 'world', ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`BARE http://127.0.0.1:${address.port}/bare\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Dies with its parent even when the parent was killed hard.
  process.stdin.on('end', stop);
  process.stdin.resume();
}

// ---------------------------------------------------------------------------------------------
// Process management
// ---------------------------------------------------------------------------------------------

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
let tmpDir;

function startChild(args, readyPattern, label) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, KARBOR_LOG_LEVEL: 'warn' },
    });
    children.add(child);
    let out = '';
    let err = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      reject(new Error(`${label} did not start within ${START_TIMEOUT_MS} ms\nstdout: ${out}\nstderr: ${err}`));
    }, START_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      if (done) return; // keep draining, stop buffering
      out += chunk;
      const m = readyPattern.exec(out);
      if (m) {
        done = true;
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.stderr.on('data', (chunk) => {
      if (err.length < 64_000) err += chunk;
      child.stderrText = err;
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${label} exited early (code ${code}, signal ${signal})\nstdout: ${out}\nstderr: ${err}`));
    });
    child.on('error', (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(e);
    });
  });
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      children.delete(child);
      return resolve({ code: child.exitCode, signal: child.signalCode });
    }
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(kill);
      children.delete(child);
      resolve({ code, signal });
    });
    child.kill('SIGTERM');
  });
}

async function stopAll() {
  await Promise.all([...children].map(stopChild));
}

/** Last resort on exit paths that cannot await. */
function hardCleanup() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  children.clear();
  if (tmpDir) {
    try {
      fs.rmSync(tmpDir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
    tmpDir = undefined;
  }
}

function startKarbor(dataDir) {
  return startChild([SERVE, '--data-dir', dataDir, '--port', '0'], /API:\s+(http:\/\/127\.0\.0\.1:\d+\/v1\/[0-9a-f-]+)/, 'serve.js');
}

// ---------------------------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------------------------

/** Karbor's timestamp format: `YYYY-MM-DDTHH:MM:SS.ffffff`, UTC, no zone. */
function karborTime(ms) {
  return new Date(ms).toISOString().replace('Z', '000');
}

async function seed(dbFile, projectId) {
  const { default: Database } = await import('better-sqlite3');
  const { v5: uuidv5 } = await import('uuid');
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');

  const dirPath = '/data';
  const resourceId = uuidv5(dirPath, DIRECTORY_NAMESPACE);
  const resources = [{ id: resourceId, type: DIRECTORY_TYPE, name: dirPath }];
  const planId = randomUUID();
  const planName = 'bench plan';
  const start = Date.UTC(2023, 0, 1);
  const planCreated = karborTime(start - 86_400_000);
  const snapshot = JSON.stringify({ id: planId, name: planName, provider_id: NOOP_PROVIDER_ID, resources });
  const graph = JSON.stringify([{ '0x0': [DIRECTORY_TYPE, resourceId, dirPath, {}] }, []]);

  const insertPlan = db.prepare(
    `INSERT INTO plans (id, project_id, name, description, provider_id, status, resources, parameters, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertCp = db.prepare(
    `INSERT INTO checkpoints (id, project_id, provider_id, plan_id, protection_plan, status, resource_graph, extra_info, error_reason, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const counts = { available: 0, error: 0, deleted: 0 };
  const t0 = performance.now();
  db.transaction(() => {
    insertPlan.run(
      planId,
      projectId,
      planName,
      'benchmark seed',
      NOOP_PROVIDER_ID,
      'suspended',
      JSON.stringify(resources),
      '{}',
      planCreated,
      null,
    );
    let t = start;
    for (let i = 0; i < ROWS; i++) {
      // One checkpoint every ~5 minutes (with jitter): 100,000 span about a year.
      t += 240_000 + Math.floor(Math.random() * 120_000);
      const r = i % 100;
      const status = r < 95 ? 'available' : r < 99 ? 'error' : 'deleted';
      counts[status]++;
      const created = karborTime(t);
      insertCp.run(
        randomUUID(),
        projectId,
        NOOP_PROVIDER_ID,
        planId,
        snapshot,
        status,
        status === 'error' ? null : graph,
        null,
        status === 'error' ? 'bench: simulated failure' : null,
        created,
        karborTime(t + 1500),
      );
    }
  })();
  const seedMs = performance.now() - t0;

  // The marker ~50,000 rows into the default order (created_at desc, id desc, deleted hidden).
  const deep = db
    .prepare(
      `SELECT id, created_at FROM checkpoints WHERE project_id = ? AND provider_id = ? AND status != 'deleted'
       ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?`,
    )
    .get(projectId, NOOP_PROVIDER_ID, DEEP_OFFSET - 1);
  // What the rows after that marker should start with, to check the API's answer.
  const deepNext = db
    .prepare(
      `SELECT id FROM checkpoints WHERE project_id = ? AND provider_id = ? AND status != 'deleted'
       ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?`,
    )
    .get(projectId, NOOP_PROVIDER_ID, DEEP_OFFSET);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('ANALYZE');
  db.close();
  return { planId, marker: deep.id, expectedAfterMarker: deepNext.id, counts, seedMs };
}

/**
 * The list query straight on SQLite, without the API: the plan SQLite picks and the time per
 * call, for the first page and for the page after the deep marker. paging.ts `listPage` bounds
 * a page with a row-value comparison `(created_at, id) < (?, ?)` when every sort key has one
 * direction (the default); `or_branches` is the older `a < ? OR (a = ? AND b < ?)` shape,
 * still used for mixed directions, kept for comparison.
 */
async function explainListQuery(dbFile, projectId, marker) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(dbFile, { readonly: true });
  const m = db.prepare('SELECT created_at, id FROM checkpoints WHERE id = ?').get(marker);
  const head = `SELECT * FROM checkpoints
    WHERE checkpoints.project_id = ? AND (checkpoints.provider_id = ? AND checkpoints.status <> ?)`;
  const tail = `ORDER BY checkpoints.created_at DESC, checkpoints.id DESC LIMIT ?`;
  const scope = [projectId, NOOP_PROVIDER_ID, 'deleted'];
  const shapes = {
    first_page: { sql: `${head} ${tail}`, args: [...scope, PAGE] },
    row_value: {
      sql: `${head} AND ((checkpoints.created_at, checkpoints.id) < (?, ?)) ${tail}`,
      args: [...scope, m.created_at, m.id, PAGE],
    },
    or_branches: {
      sql: `${head} AND (checkpoints.created_at < ? OR (checkpoints.created_at = ? AND checkpoints.id < ?)) ${tail}`,
      args: [...scope, m.created_at, m.created_at, m.id, PAGE],
    },
  };
  const out = {};
  const n = 20;
  for (const [name, { sql, args }] of Object.entries(shapes)) {
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...args)
      .map((r) => r.detail);
    const stmt = db.prepare(sql);
    const rows = stmt.all(...args).length;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) stmt.all(...args);
    out[name] = { plan, ms: round((performance.now() - t0) / n, 3), rows };
  }
  db.close();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

function round(x, digits = 2) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function preflight(target) {
  const res = await fetch(target.url, { headers: target.headers, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) throw new Error(`${target.name}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text);
  if (target.check) target.check(body);
  return { status: res.status, bytes: Buffer.byteLength(text) };
}

async function cannon(autocannon, target, duration) {
  const result = await autocannon({
    url: target.url,
    method: 'GET',
    headers: target.headers,
    connections: CONNECTIONS,
    duration,
    timeout: 10,
  });
  return result;
}

async function runBench() {
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: watchdog: still running after ${WATCHDOG_MS} ms, aborting\n`);
    hardCleanup();
    process.exit(2);
  }, WATCHDOG_MS);
  watchdog.unref();
  process.on('exit', hardCleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`bench: ${sig}, cleaning up\n`);
      hardCleanup();
      process.exit(130);
    });
  }

  let exitCode = 0;
  try {
    if (!fs.existsSync(SERVE)) throw new Error(`${SERVE} not found: run \`npm run build\` first (npm run bench:api does)`);
    const { default: autocannon } = await import('autocannon');
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-bench-'));
    const dataDir = path.join(tmpDir, 'data');
    fs.mkdirSync(dataDir);

    // 1. First start: creates the database (migrations), the token and the endpoint.
    process.stdout.write(`bench: data dir ${dataDir}\n`);
    const first = await startKarbor(dataDir);
    const endpoint = fs.readFileSync(path.join(dataDir, 'api-endpoint'), 'utf8').trim();
    const projectId = endpoint.split('/').pop();
    const exit1 = await stopChild(first.child);
    if (exit1.code !== 0) throw new Error(`serve.js did not stop cleanly: ${JSON.stringify(exit1)}\n${first.child.stderrText ?? ''}`);

    // 2. Seed.
    const dbFile = path.join(dataDir, 'karbor.sqlite');
    const seeded = await seed(dbFile, projectId);
    process.stdout.write(
      `bench: seeded 1 plan + ${ROWS} checkpoints (${seeded.counts.available} available, ${seeded.counts.error} error, ${seeded.counts.deleted} deleted) in ${Math.round(seeded.seedMs)} ms\n`,
    );
    const explained = await explainListQuery(dbFile, projectId, seeded.marker);

    // 3. Second start on the seeded database.
    const tStart = performance.now();
    const second = await startKarbor(dataDir);
    const startupMs = performance.now() - tStart;
    const base = second.match[1];
    if (base.split('/').pop() !== projectId) throw new Error(`project changed between runs: ${base} vs ${endpoint}`);
    const token = fs.readFileSync(path.join(dataDir, 'api-token'), 'utf8').trim();
    const headers = { 'X-Auth-Token': token, Accept: 'application/json' };

    const bare = await startChild(
      [fileURLToPath(import.meta.url), '--bare-server'],
      /BARE (http:\/\/127\.0\.0\.1:\d+\/bare)/,
      'bare fastify',
    );

    const cps = `${base}/providers/${NOOP_PROVIDER_ID}/checkpoints`;
    const targets = [
      {
        name: 'bare fastify route',
        url: bare.match[1],
        headers: {},
        check: (b) => {
          if (b.hello !== 'world') throw new Error('bare: unexpected body');
        },
      },
      {
        name: 'GET plan',
        url: `${base}/plans/${seeded.planId}`,
        headers,
        check: (b) => {
          if (b.plan?.id !== seeded.planId) throw new Error('GET plan: unexpected body');
        },
      },
      {
        name: `GET checkpoints limit=${PAGE} (first page)`,
        url: `${cps}?limit=${PAGE}`,
        headers,
        check: (b) => {
          if (b.checkpoints?.length !== PAGE) throw new Error(`first page: ${b.checkpoints?.length} items`);
        },
      },
      {
        name: `GET checkpoints limit=${PAGE} marker@${DEEP_OFFSET}`,
        url: `${cps}?limit=${PAGE}&marker=${seeded.marker}`,
        headers,
        check: (b) => {
          if (b.checkpoints?.length !== PAGE) throw new Error(`deep page: ${b.checkpoints?.length} items`);
          if (b.checkpoints[0].id !== seeded.expectedAfterMarker)
            throw new Error(`deep page starts at ${b.checkpoints[0].id}, expected ${seeded.expectedAfterMarker}`);
        },
      },
    ];

    const results = [];
    let failed = false;
    for (const target of targets) {
      const pre = await preflight(target);
      if (WARMUP_S > 0) await cannon(autocannon, target, WARMUP_S);
      const r = await cannon(autocannon, target, DURATION_S);
      const row = {
        name: target.name,
        path: new URL(target.url).pathname.replace(projectId, '<project>') + new URL(target.url).search.replace(seeded.marker, '<marker>'),
        requests_per_sec: round(r.requests.average, 1),
        latency_p50_ms: round(r.latency.p50, 2),
        latency_p99_ms: round(r.latency.p99, 2),
        latency_mean_ms: round(r.latency.mean, 2),
        requests_total: r.requests.total,
        response_bytes: pre.bytes,
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
      };
      if (r.errors > 0 || r.timeouts > 0 || r.non2xx > 0) failed = true;
      results.push(row);
      process.stdout.write(
        `bench: ${row.name}: ${row.requests_per_sec} req/s, p50 ${row.latency_p50_ms} ms, p99 ${row.latency_p99_ms} ms\n`,
      );
    }
    const bareRps = results[0].requests_per_sec;
    for (const row of results) row.ratio_to_bare = round(row.requests_per_sec / bareRps, 3);

    const cpus = os.cpus();
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      platform: `${os.platform()} ${os.release()}`,
      rows: ROWS,
      connections: CONNECTIONS,
      duration_s: DURATION_S,
      warmup_s: WARMUP_S,
      server_startup_ms: Math.round(startupMs),
      seed_ms: Math.round(seeded.seedMs),
      checkpoint_statuses: seeded.counts,
      list_query: explained,
      results,
      ratios: Object.fromEntries(results.map((r) => [r.name, r.ratio_to_bare])),
    };
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
    printTable(report);
    process.stdout.write(`bench: wrote ${path.relative(ROOT, RESULTS)}\n`);

    const exits = await Promise.all([stopChild(second.child), stopChild(bare.child)]);
    if (exits[0].code !== 0) process.stderr.write(`bench: serve.js exit ${JSON.stringify(exits[0])}\n${second.child.stderrText ?? ''}\n`);
    if (failed) {
      process.stderr.write('bench: FAILED: some requests errored, timed out or were not 2xx\n');
      exitCode = 1;
    }
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    exitCode = 1;
  } finally {
    await stopAll().catch(() => undefined);
    hardCleanup();
    clearTimeout(watchdog);
  }
  process.exit(exitCode);
}

function printTable(report) {
  const head = ['route', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non2xx', 'vs bare'];
  const rows = report.results.map((r) => [
    r.name,
    r.requests_per_sec.toFixed(0),
    r.latency_p50_ms.toFixed(1),
    r.latency_p99_ms.toFixed(1),
    String(r.errors + r.timeouts),
    String(r.non2xx),
    `${(r.ratio_to_bare * 100).toFixed(1)}%`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  process.stdout.write(
    `\n${report.cpu}, ${report.cores} cores, node ${report.node}; ${report.rows} checkpoints; ${report.connections} connections x ${report.duration_s} s\n`,
  );
  process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  process.stdout.write('list query on SQLite alone (no API):\n');
  for (const [name, q] of Object.entries(report.list_query)) {
    process.stdout.write(`  ${name.padEnd(11)} ${String(q.ms).padStart(8)} ms  ${q.plan.join(' | ')}\n`);
  }
  process.stdout.write('\n');
}

// Started last: the helpers above are module-level bindings that must exist first.
if (!IS_BARE_CHILD) await runBench();
