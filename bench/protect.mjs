// Protection benchmark: our engine (Local Provider, directory plugin, through the engine library
// out/main/engine.js) against restic, borg and `cp -a` on one data set: a copy of /usr/share plus
// 4 × 128 MiB seeded random files. Measures first protect, unchanged re-protect, re-protect after
// inserting 1 MiB into one random file (time and bank growth), full restore, verify, and the peak
// RSS of each step. Ours runs twice: `ours` is one engine process kept running between steps (as
// the app and `serve` run it; each step's peak RSS is reset before it), `ours (cold)` starts a new
// process per step; the other tools' steps are child processes under /usr/bin/time. Run with
// `npm run bench:protect` (builds first). Writes bench/results/protect.json.
//
// BENCH_SHARE_MB caps the /usr/share copy (files in path order until the cap; default 150 MiB,
// 0 = all of it: see bench/README.md for why);
// BENCH_RANDOM_MB sets the random files' size (128) for a quick trial run.
import { execFileSync, spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const LOCAL = '3f9d1c52-6b8e-4d7a-9f21-7c0e5a4b2d18';
const DIR_TYPE = 'Local::FS::Directory';
const MIB = 1024 * 1024;
const BLOCK = 4 * MIB;
const RANDOM_FILES = 4;
const RANDOM_SIZE = Number(process.env.BENCH_RANDOM_MB ?? 128) * MIB;
const SHARE_MB = Number(process.env.BENCH_SHARE_MB ?? 150);
const STEP_TIMEOUT_MS = 60 * 60 * 1000;

// ---------------------------------------------------------------- our engine, in a child process

/** Our engine on `state` (database, bank, plan and last checkpoint ids live there between steps). */
function openEngine(state) {
  const require = createRequire(import.meta.url);
  const { createEngine } = require(path.join(process.env.KARBOR_BENCH_LIB ?? path.join(HERE, '..'), 'out', 'main', 'engine.js'));
  const caller = { projectId: 'bench', isAdmin: false };
  const engine = createEngine({ dataDir: path.join(state, 'engine'), scheduler: false });
  const idFile = (n) => path.join(state, n);
  const waitFor = async (get, running) => {
    await engine.idle();
    for (let v = get(); ; v = get()) {
      if (v.status !== running) return v;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const run = async (op, arg) => {
    if (op === 'protect') {
      if (!fs.existsSync(idFile('plan'))) {
        // What listing instances over the API does: the plugin names the directory and the
        // engine remembers it, so a plan may refer to it.
        const db = engine.db.$client;
        const pctx = {
          projectId: caller.projectId,
          remember: (type, id, name, locator) =>
            db
              .prepare(
                'INSERT INTO known_instances (type, id, name, locator, created_at) VALUES (?, ?, ?, ?, ?) ' +
                  'ON CONFLICT (type, id) DO UPDATE SET name = excluded.name, locator = excluded.locator',
              )
              .run(type, id, name, locator, new Date().toISOString().replace('T', ' ').slice(0, 19)),
          recall: (type, id) => db.prepare('SELECT name, locator FROM known_instances WHERE type = ? AND id = ?').get(type, id),
        };
        const found = await engine.protectables.listInstances(pctx, DIR_TYPE, { path: path.dirname(arg) });
        const inst = found.find((i) => i.name === arg);
        if (!inst) throw new Error(`${arg} not listed`);
        const plan = engine.plans.create(caller, {
          name: 'bench',
          provider_id: LOCAL,
          resources: [{ id: inst.id, type: DIR_TYPE, name: arg }],
          parameters: {},
        });
        fs.writeFileSync(idFile('plan'), plan.id);
      }
      const cp = engine.checkpoints.create(caller, LOCAL, fs.readFileSync(idFile('plan'), 'utf8'));
      const done = await waitFor(() => engine.checkpoints.get(caller, LOCAL, cp.id), 'protecting');
      if (done.status !== 'available') throw new Error(`checkpoint ${done.status}: ${JSON.stringify(done)}`);
      fs.writeFileSync(idFile('checkpoint'), cp.id);
    } else if (op === 'restore' || op === 'verify') {
      const input = { provider_id: LOCAL, checkpoint_id: fs.readFileSync(idFile('checkpoint'), 'utf8'), parameters: {} };
      if (op === 'restore') input.parameters = { [DIR_TYPE]: { restore_path: arg } };
      const svc = op === 'restore' ? engine.restores : engine.verifications;
      const started = svc.create(caller, input);
      const done = await waitFor(() => svc.get(caller, started.id), 'in_progress');
      if (done.status !== 'success') throw new Error(`${op} ${done.status}: ${JSON.stringify(done.resources_reason)}`);
    } else throw new Error(`unknown op ${op}`);
  };
  return { run, close: () => engine.close() };
}

/**
 * `node protect.mjs --engine <op> <state dir> [arg]`: one step of ours in its own process, so its
 * time includes opening the engine and its peak RSS is its own.
 */
async function engineChild([op, state, arg]) {
  const e = openEngine(state);
  try {
    await e.run(op, arg);
  } finally {
    await e.close();
  }
}

/** The process's peak RSS in MiB (VmHWM: every thread, workers included). */
function peakRssMiB() {
  const kib = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  return Math.round(kib / 1024);
}

/**
 * `node protect.mjs --engine-server <state dir>`: the engine opened once and kept running, the
 * way the app and `serve` run it; steps come as JSON lines on stdin (`{"op","arg"}`) and each
 * answers one line with its seconds and its peak RSS (the peak is reset before each step).
 */
async function engineServer([state]) {
  const e = openEngine(state);
  const lines = readline.createInterface({ input: process.stdin });
  // Answers go to fd 3: stdout is the engine's to print on.
  const answer = (v) => fs.writeSync(3, `${JSON.stringify(v)}\n`);
  for await (const line of lines) {
    const { op, arg } = JSON.parse(line);
    if (op === 'exit') break;
    // Writing 5 resets the peak RSS to the current RSS (proc(5), clear_refs).
    fs.writeFileSync('/proc/self/clear_refs', '5');
    const t0 = performance.now();
    try {
      await e.run(op, arg);
      answer({ seconds: (performance.now() - t0) / 1000, rss_mib: peakRssMiB() });
    } catch (err) {
      answer({ error: String(err?.stack ?? err) });
    }
  }
  await e.close();
}

/** The parent's side of {@link engineServer}: one step at a time. */
function residentEngine(state) {
  let child;
  let replies;
  const start = () => {
    child = spawn(process.execPath, [SELF, '--engine-server', state], { stdio: ['pipe', 'ignore', 'inherit', 'pipe'] });
    replies = readline.createInterface({ input: child.stdio[3] })[Symbol.asyncIterator]();
  };
  const step = async (op, arg) => {
    const t0 = performance.now();
    child.stdin.write(`${JSON.stringify({ op, arg })}\n`);
    const { value, done } = await replies.next();
    if (done) throw new Error('the resident engine exited');
    const r = JSON.parse(value);
    if (r.error) throw new Error(`resident engine ${op}: ${r.error}`);
    // Wall time as this process saw it (the round trip included); peak RSS as the engine saw it.
    return { seconds: (performance.now() - t0) / 1000, rss_mib: r.rss_mib };
  };
  const stop = () =>
    new Promise((resolve) => {
      if (!child || child.exitCode !== null) return resolve();
      child.on('close', resolve);
      child.stdin.end(`${JSON.stringify({ op: 'exit' })}\n`);
    });
  return { start, step, stop };
}

// ---------------------------------------------------------------- data set

function seeded(seed) {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  return (n) => cipher.update(Buffer.alloc(n));
}

function writeRandom(file, seed, size) {
  const next = seeded(seed);
  const fd = fs.openSync(file, 'w');
  for (let done = 0; done < size; done += BLOCK) fs.writeSync(fd, next(Math.min(BLOCK, size - done)));
  fs.closeSync(fd);
}

/** Copies /usr/share's files in path order until `capBytes` (modes, mtimes and symlinks kept). */
function copyCapped(from, to, capBytes) {
  let used = 0;
  const walk = (rel) => {
    const names = fs.readdirSync(path.join(from, rel)).sort();
    fs.mkdirSync(path.join(to, rel), { recursive: true });
    for (const n of names) {
      if (used >= capBytes) return;
      const r = path.join(rel, n);
      const st = fs.lstatSync(path.join(from, r));
      if (st.isDirectory()) walk(r);
      else if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(path.join(from, r)), path.join(to, r));
      else if (st.isFile()) {
        fs.copyFileSync(path.join(from, r), path.join(to, r));
        fs.chmodSync(path.join(to, r), st.mode & 0o7777);
        fs.utimesSync(path.join(to, r), st.atime, st.mtime);
        used += st.size;
      }
    }
  };
  walk('');
}

function treeStats(dir) {
  const s = { files: 0, bytes: 0, dirs: 0, symlinks: 0 };
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isSymbolicLink()) s.symlinks++;
    else if (e.isDirectory()) s.dirs++;
    else if (e.isFile()) {
      s.files++;
      s.bytes += fs.lstatSync(path.join(e.parentPath, e.name)).size;
    }
  }
  return s;
}

/** Apparent bytes of every file under `dir` (a repository's size). */
function repoBytes(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += fs.lstatSync(path.join(e.parentPath, e.name)).size;
  }
  return n;
}

function insertMiB(file, seed) {
  const size = fs.statSync(file).size;
  const at = Math.floor(size / 2);
  const tmp = `${file}.tmp`;
  const src = fs.openSync(file, 'r');
  const dst = fs.openSync(tmp, 'w');
  const buf = Buffer.allocUnsafe(BLOCK);
  const copy = (from, to) => {
    for (let pos = from; pos < to;) {
      const n = fs.readSync(src, buf, 0, Math.min(BLOCK, to - pos), pos);
      fs.writeSync(dst, buf.subarray(0, n));
      pos += n;
    }
  };
  copy(0, at);
  fs.writeSync(dst, seeded(seed)(MIB));
  copy(at, size);
  fs.closeSync(src);
  fs.closeSync(dst);
  fs.renameSync(tmp, file);
}

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

// ---------------------------------------------------------------- running tools

const which = (cmd) => {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

function ensureTools() {
  const missing = [
    ['restic', 'restic'],
    ['borg', 'borgbackup'],
    ['/usr/bin/time', 'time'],
  ].filter(([cmd]) => !which(cmd));
  if (!missing.length) return;
  const pkgs = missing.map(([, p]) => p);
  console.log(`installing ${pkgs.join(', ')} with apt-get`);
  const install = () =>
    execFileSync('apt-get', ['install', '-y', ...pkgs], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    install();
  }
}

/** Runs a command under /usr/bin/time; resolves with wall seconds and peak RSS (MiB). */
function measure(cmd, args, opts = {}) {
  const timeFile = path.join(os.tmpdir(), `karbor-bench-time-${process.pid}-${Math.random().toString(16).slice(2)}`);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, cmd, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      const rssKiB = Number((fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '').trim());
      fs.rmSync(timeFile, { force: true });
      // restic and borg answer 1/3 for warnings they print (e.g. a file changed while read): only >1 fails for borg.
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${stderr}`));
      else resolve({ seconds, rss_mib: Math.round(rssKiB / 1024) });
    });
  });
}

/** Each tool as the same five steps over `data`, with its repository under `tmp`. */
function tools(tmp, data) {
  const state = path.join(tmp, 'ours');
  const coldState = path.join(tmp, 'ours-cold');
  const resident = residentEngine(state);
  const resticEnv = {
    RESTIC_REPOSITORY: path.join(tmp, 'restic'),
    RESTIC_PASSWORD: 'bench',
    RESTIC_CACHE_DIR: path.join(tmp, 'restic-cache'),
  };
  const borgEnv = {
    BORG_REPO: path.join(tmp, 'borg'),
    BORG_BASE_DIR: path.join(tmp, 'borg-home'),
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
  };
  let archive = 0;
  return {
    // The engine kept running between steps, as the app and `serve` run it.
    ours: {
      repo: path.join(state, 'engine', 'bank'),
      init: async () => {
        fs.mkdirSync(state, { recursive: true });
        resident.start();
      },
      protect: () => resident.step('protect', data),
      restore: (target) => resident.step('restore', target),
      restored: (target) => target,
      verify: () => resident.step('verify'),
      close: () => resident.stop(),
    },
    // Each step a new process, opening the engine first (a script or CLI run).
    'ours (cold)': {
      repo: path.join(coldState, 'engine', 'bank'),
      init: async () => fs.mkdirSync(coldState, { recursive: true }),
      protect: () => measure(process.execPath, [SELF, '--engine', 'protect', coldState, data]),
      restore: (target) => measure(process.execPath, [SELF, '--engine', 'restore', coldState, target]),
      restored: (target) => target,
      verify: () => measure(process.execPath, [SELF, '--engine', 'verify', coldState]),
    },
    restic: {
      repo: resticEnv.RESTIC_REPOSITORY,
      init: () => measure('restic', ['init', '-q'], { env: resticEnv }),
      protect: () => measure('restic', ['backup', '-q', data], { env: resticEnv }),
      restore: (target) => measure('restic', ['restore', 'latest', '--target', target], { env: resticEnv }),
      restored: (target) => path.join(target, data),
      verify: () => measure('restic', ['check', '--read-data'], { env: resticEnv }),
    },
    borg: {
      repo: borgEnv.BORG_REPO,
      init: () => measure('borg', ['init', '-e', 'none'], { env: borgEnv }),
      protect: () => measure('borg', ['create', `::a${++archive}`, data], { env: borgEnv }),
      restore: (target) => {
        fs.mkdirSync(target);
        return measure('borg', ['extract', `::a${archive}`], { env: borgEnv, cwd: target });
      },
      restored: (target) => path.join(target, data.slice(1)),
      verify: () => measure('borg', ['check', '--verify-data'], { env: borgEnv }),
    },
    'cp -a': {
      repo: path.join(tmp, 'cp'),
      init: async () => fs.mkdirSync(path.join(tmp, 'cp')),
      protect: async () => {
        fs.rmSync(path.join(tmp, 'cp', 'data'), { recursive: true, force: true });
        return measure('cp', ['-a', data, path.join(tmp, 'cp', 'data')]);
      },
      restore: (target) => measure('cp', ['-a', path.join(tmp, 'cp', 'data'), target]),
      restored: (target) => target,
      verify: undefined,
    },
  };
}

// ---------------------------------------------------------------- main

const round = (v, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

async function main() {
  ensureTools();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-bench-protect-'));
  const cleanup = () => fs.rmSync(tmp, { recursive: true, force: true });
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
  try {
    // The steps run the engine library copied now, so a rebuild of out/ during the run changes nothing.
    const lib = path.join(tmp, 'engine-lib');
    fs.cpSync(path.join(HERE, '..', 'out', 'main'), path.join(lib, 'out', 'main'), { recursive: true });
    fs.cpSync(path.join(HERE, '..', 'resources', 'migrations'), path.join(lib, 'resources', 'migrations'), { recursive: true });
    fs.symlinkSync(path.join(HERE, '..', 'node_modules'), path.join(lib, 'node_modules'));
    process.env.KARBOR_BENCH_LIB = lib;
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: HERE, encoding: 'utf8' }).trim();
    const data = path.join(tmp, 'data');
    const shareTotal = treeStats('/usr/share');
    console.log(
      `copying /usr/share (${Math.round(shareTotal.bytes / MIB)} MiB, ${shareTotal.files} files)${SHARE_MB ? `, capped at ${SHARE_MB} MiB` : ''}`,
    );
    fs.mkdirSync(data);
    if (SHARE_MB) copyCapped('/usr/share', path.join(data, 'share'), SHARE_MB * MIB);
    else execFileSync('cp', ['-a', '/usr/share', path.join(data, 'share')]);
    fs.mkdirSync(path.join(data, 'random'));
    for (let i = 0; i < RANDOM_FILES; i++) writeRandom(path.join(data, 'random', `r${i}.bin`), `bench-random-${i}`, RANDOM_SIZE);
    const stats = treeStats(data);
    console.log(`data set: ${round(stats.bytes / MIB, 0)} MiB in ${stats.files} files, ${stats.dirs} dirs, ${stats.symlinks} symlinks`);

    const all = tools(tmp, data);
    const res = Object.fromEntries(Object.keys(all).map((k) => [k, {}]));
    const step = async (name, tool, fn, bytes) => {
      const repo0 = fs.existsSync(all[tool].repo) ? repoBytes(all[tool].repo) : 0;
      // Every step starts with nothing left to write back: the data set just made, or the last
      // tool's repository, would otherwise be flushed to disk during the next tool's step.
      execFileSync('sync');
      const m = await fn();
      const out = { seconds: round(m.seconds), rss_mib: m.rss_mib };
      if (bytes) out.mib_per_s = round(bytes / MIB / m.seconds, 1);
      if (name.includes('protect')) out.growth_bytes = repoBytes(all[tool].repo) - repo0;
      res[tool][name] = out;
      console.log(`${tool.padEnd(11)} ${name.padEnd(18)} ${JSON.stringify(out)}`);
    };
    for (const t of Object.values(all)) await t.init();
    for (const name of Object.keys(all)) await step('first_protect', name, () => all[name].protect(), stats.bytes);
    for (const name of Object.keys(all)) await step('unchanged_protect', name, () => all[name].protect(), stats.bytes);
    insertMiB(path.join(data, 'random', 'r1.bin'), 'bench-insert');
    const after = treeStats(data);
    const modified = sha256(path.join(data, 'random', 'r1.bin'));
    for (const name of Object.keys(all)) await step('insert_protect', name, () => all[name].protect(), after.bytes);
    for (const name of Object.keys(all)) {
      const target = path.join(tmp, `restore-${name.replace(/\W/g, '')}`);
      await step('restore', name, () => all[name].restore(target), after.bytes);
      // A restore that is not the data is not a result.
      const got = treeStats(all[name].restored(target));
      const sum = sha256(path.join(all[name].restored(target), 'random', 'r1.bin'));
      if (got.files !== after.files || got.bytes !== after.bytes || sum !== modified) {
        throw new Error(
          `${name} restored ${got.files} files / ${got.bytes} bytes (want ${after.files} / ${after.bytes}), r1 ${sum === modified ? 'ok' : 'differs'}`,
        );
      }
      fs.rmSync(target, { recursive: true, force: true });
    }
    for (const name of ['ours', 'ours (cold)', 'restic', 'borg']) await step('verify', name, () => all[name].verify(), after.bytes);
    await all.ours.close();
    for (const name of Object.keys(all)) {
      res[name].bank_bytes = repoBytes(all[name].repo);
      res[name].peak_rss_mib = Math.max(...Object.values(res[name]).map((v) => v?.rss_mib ?? 0));
    }

    const o = res.ours;
    const targets = [
      ['first protect ≥ 1.5× borg throughput', o.first_protect.mib_per_s, 1.5 * res.borg.first_protect.mib_per_s, (a, b) => a >= b],
      [
        'unchanged re-protect ≤ 0.4× restic time',
        o.unchanged_protect.seconds,
        0.4 * res.restic.unchanged_protect.seconds,
        (a, b) => a <= b,
      ],
      ['restore ≥ 1.2× restic throughput', o.restore.mib_per_s, 1.2 * res.restic.restore.mib_per_s, (a, b) => a >= b],
      ['1 MiB-insert growth ≤ restic', o.insert_protect.growth_bytes, res.restic.insert_protect.growth_bytes, (a, b) => a <= b],
      ['peak RSS ≤ borg', o.peak_rss_mib, res.borg.peak_rss_mib, (a, b) => a <= b],
    ].map(([target, ours, limit, ok]) => ({ target, ours, limit: round(limit), met: ok(ours, limit) }));
    const versions = {
      restic: execFileSync('restic', ['version'], { encoding: 'utf8' }).trim(),
      borg: execFileSync('borg', ['--version'], { encoding: 'utf8' }).trim(),
    };
    const out = {
      date: new Date().toISOString(),
      node: process.version,
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      commit,
      versions,
      data: {
        ...stats,
        usr_share: { files: shareTotal.files, bytes: shareTotal.bytes, cap_mib: SHARE_MB || null },
        random_files: `${RANDOM_FILES} × ${RANDOM_SIZE / MIB} MiB`,
      },
      results: res,
      targets,
    };
    fs.mkdirSync(path.join(HERE, 'results'), { recursive: true });
    fs.writeFileSync(path.join(HERE, 'results', 'protect.json'), `${JSON.stringify(out, null, 2)}\n`);
    console.table(targets);
    console.log('wrote bench/results/protect.json');
  } finally {
    cleanup();
  }
}

if (process.argv[2] === '--engine' || process.argv[2] === '--engine-server') {
  (process.argv[2] === '--engine' ? engineChild : engineServer)(process.argv.slice(3)).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
