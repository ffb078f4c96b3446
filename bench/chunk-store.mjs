// Chunk store benchmark: ChunkStore.put of a random and a compressible file into a LocalBank in
// /tmp, with chunk work in this thread and in the worker pool; then reading back (get) and
// verifying; then one protect through the engine library (the built worker path of
// out/main/engine.js). Run with `npx electron-vite build && node bench/chunk-store.mjs`. Size of
// each file: BENCH_MIB (default 256); BENCH_ROUNDS runs each (best kept). Writes
// bench/results/chunk-store.json.
import { createHash, randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(process.env.BENCH_OUT ?? path.join(HERE, '..', 'out'));
const require = createRequire(import.meta.url);
const { ChunkStore, ChunkWorkerPool, IN_THREAD, LocalBank, chunkCodecSpec } = require(path.join(OUT, 'main', 'chunk-store.js'));
const { createEngine } = require(path.join(OUT, 'main', 'engine.js'));
const { v5: uuidv5 } = require('uuid');

const MIB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_MIB ?? 256) * MIB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-bench-chunks-'));
const mibs = (bytes, ms) => Math.round((bytes / MIB / (ms / 1000)) * 10) / 10;

/** Random bytes, or text-like lines (zstd gets them to a few percent), written in 16 MiB steps. */
function makeFile(name, kind) {
  const file = path.join(tmp, 'src', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'w');
  const step = Buffer.allocUnsafe(16 * MIB);
  let line = 0;
  for (let done = 0; done < SIZE; done += step.length) {
    if (kind === 'random') randomFillSync(step);
    else {
      let p = 0;
      while (p < step.length) {
        p += step.write(
          `${String(line).padStart(9, '0')} INFO request ${line % 9973} served in ${(line * 7) % 500} ms path=/api/v${line % 3}/items/${line % 1000}\n`,
          p,
        );
        line++;
      }
    }
    fs.writeSync(fd, step, 0, Math.min(step.length, SIZE - done));
  }
  fs.closeSync(fd);
  return file;
}

/** CPU time of the main thread alone (Linux: /proc; utime + stime in 10 ms ticks), else NaN. */
function mainThreadCpuMs() {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Wall time, CPU time of the whole process (all threads) and of the main thread. */
async function measure(fn) {
  const cpu = process.cpuUsage();
  const main = mainThreadCpuMs();
  const t = performance.now();
  const value = await fn();
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000, mainMs: mainThreadCpuMs() - main, value };
}

async function storeRun(file, work) {
  const bank = await LocalBank.open(fs.mkdtempSync(path.join(tmp, 'bank-')));
  const store = new ChunkStore(bank, chunkCodecSpec('sha256'), { work });
  const put = await measure(() => store.put(fs.createReadStream(file, { highWaterMark: MIB })));
  const manifest = put.value.manifest;
  const get = await measure(async () => {
    const h = createHash('sha256');
    await pipeline(store.get(manifest), async (src) => {
      for await (const b of src) h.update(b);
    });
    return h.digest('hex');
  });
  if (get.value !== manifest.sha256) throw new Error('read back differs');
  const verify = await measure(() => store.verify(manifest));
  fs.rmSync(bank.dir, { recursive: true, force: true });
  return {
    put_mib_s: mibs(SIZE, put.ms),
    put_cpu_ms: Math.round(put.cpuMs),
    put_main_thread_cpu_ms: Math.round(put.mainMs),
    get_mib_s: mibs(SIZE, get.ms),
    verify_mib_s: mibs(SIZE, verify.ms),
    verify_main_thread_cpu_ms: Math.round(verify.mainMs),
    chunks: manifest.chunks.length,
    stored_mib: Math.round((put.value.newBytes / MIB) * 10) / 10,
    manifest: JSON.stringify(manifest.chunks),
  };
}

/** One protect of a directory holding both files through the engine library. */
async function engineRun(dir) {
  const dataDir = fs.mkdtempSync(path.join(tmp, 'engine-'));
  const engine = createEngine({ dataDir, scheduler: false });
  const caller = { projectId: 'bench', isAdmin: false };
  const LOCAL = '3f9d1c52-6b8e-4d7a-9f21-7c0e5a4b2d18';
  try {
    const plan = engine.plans.create(caller, {
      name: 'bench',
      provider_id: LOCAL,
      resources: [{ type: 'Local::FS::Directory', id: uuidv5(dir, '6f1b1b8e-3c36-5a8e-9a43-0c5d9e0c6a11'), name: dir }],
      parameters: {},
    });
    const run = await measure(async () => {
      const cp = engine.checkpoints.create(caller, LOCAL, plan.id);
      await engine.idle();
      return engine.checkpoints.get(caller, LOCAL, cp.id);
    });
    if (run.value.status !== 'available') throw new Error(`protect ended ${run.value.status}`);
    return { protect_mib_s: mibs(2 * SIZE, run.ms), protect_cpu_ms: Math.round(run.cpuMs) };
  } finally {
    await engine.close();
  }
}

async function main() {
  const files = { random: makeFile('random.bin', 'random'), compressible: makeFile('text.log', 'text') };
  const pool = new ChunkWorkerPool();
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cores: os.availableParallelism(),
    load_avg_at_start: os.loadavg().map((l) => Math.round(l * 100) / 100),
    mib: SIZE / MIB,
    pool_size: pool.size,
    rounds: ROUNDS,
    store: {},
  };
  for (const [kind, file] of Object.entries(files)) {
    const manifests = new Set();
    for (const [mode, work] of [
      ['in-thread', IN_THREAD],
      ['workers', pool],
    ]) {
      const runs = [];
      for (let i = 0; i < ROUNDS; i++) runs.push(await storeRun(file, work));
      for (const r of runs) manifests.add(r.manifest);
      const best = runs.reduce((a, b) => (b.put_mib_s > a.put_mib_s ? b : a));
      results.store[`${kind}/${mode}`] = { ...best, manifest: undefined };
      results.store[`${kind}/${mode}`].put_mib_s_all = runs.map((r) => r.put_mib_s);
      console.log(kind, mode, JSON.stringify(results.store[`${kind}/${mode}`]));
    }
    if (manifests.size !== 1) throw new Error(`${kind}: in-thread and worker manifests differ`);
  }
  await pool.close();
  results.engine_protect = await engineRun(path.join(tmp, 'src'));
  console.log('engine protect', JSON.stringify(results.engine_protect));
  fs.mkdirSync(path.join(HERE, 'results'), { recursive: true });
  fs.writeFileSync(path.join(HERE, 'results', 'chunk-store.json'), `${JSON.stringify(results, null, 2)}\n`);
}

main()
  .finally(() => fs.rmSync(tmp, { recursive: true, force: true }))
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
