// Scheduler benchmark: 10,000 scheduled operations armed; arm time, memory, idle CPU, and the
// delay between a run's scheduled time and its start. Run with `npm run bench:scheduler`
// (builds first; uses the engine library entry out/main/engine.js). Writes bench/results/scheduler.json.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { createEngine } = require(path.join(HERE, '..', 'out', 'main', 'engine.js'));

const NOOP = 'b766f37c-d011-4026-8228-28730d734a3f';
const OPS = Number(process.env.BENCH_OPS ?? 10_000);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const FIRE_OPS = Number(process.env.BENCH_FIRE_OPS ?? 50);
const FIRE_S = Number(process.env.BENCH_FIRE_S ?? 20);
const caller = { projectId: 'bench', isAdmin: false };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-bench-sched-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;

function seed(engine, count, patterns) {
  engine.quotas.update({ projectId: 'bench', isAdmin: true }, 'bench', { plans: -1 });
  const plans = Array.from({ length: Math.min(100, count) }, (_, i) =>
    engine.plans.create(caller, {
      name: `plan ${i}`,
      provider_id: NOOP,
      resources: [{ id: randomUUID(), type: 'Local::FS::Directory', name: `/data/${i}` }],
      parameters: {},
    }),
  );
  const triggers = patterns.map((pattern, i) =>
    engine.triggers.create(caller, { name: `t${i}`, type: 'time', properties: { format: 'crontab', pattern, window: 60 } }),
  );
  const insert = () => {
    for (let i = 0; i < count; i++) {
      engine.scheduledOperations.create(caller, {
        name: `op ${i}`,
        operation_type: 'protect',
        trigger_id: triggers[i % triggers.length].id,
        operation_definition: { provider_id: NOOP, plan_id: plans[i % plans.length].id },
      });
    }
  };
  engine.db.$client.transaction(insert)();
}

async function main() {
  const results = { date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model, cores: os.cpus().length };

  // 1. Seed 10,000 operations with the scheduler off, on triggers hours away.
  const dataDir = path.join(tmp, 'armed');
  let engine = createEngine({ dataDir, scheduler: false });
  const seedStart = performance.now();
  seed(engine, OPS, ['0 3 * * *', '30 4 * * 1', '15 */6 * * *', '0 0 1 * *', '45 22 * * 5']);
  results.seed_ms = Math.round(performance.now() - seedStart);
  await engine.close();

  // 2. The first start with the scheduler: nothing recorded yet (an engine without the scheduler
  // made them), so every operation's missed runs and next run are worked out in full.
  const firstStart = performance.now();
  engine = createEngine({ dataDir, scheduler: { checkIntervalMs: 60_000 } });
  results.first_start_unrecorded_ms = Math.round(performance.now() - firstStart);
  console.log(`first start with no next runs recorded: ${results.first_start_unrecorded_ms} ms`);
  await engine.close();

  // 2b. Arm them all again on a restart: every operation's next run is recorded now.
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const armStart = performance.now();
  engine = createEngine({ dataDir, scheduler: { checkIntervalMs: 60_000 } });
  results.arm_ms = Math.round(performance.now() - armStart);
  results.rss_after_arm_mib = Math.round(process.memoryUsage().rss / 2 ** 20);
  results.rss_growth_mib = Math.round((process.memoryUsage().rss - rssBefore) / 2 ** 20);
  const checkStart = performance.now();
  engine.scheduler.check();
  results.wall_clock_check_ms = Math.round(performance.now() - checkStart);
  console.log(`armed ${OPS} operations in ${results.arm_ms} ms; one wall-clock check takes ${results.wall_clock_check_ms} ms`);

  // 3. Idle CPU with everything armed (the minute check runs in it).
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(IDLE_S * 1000);
  const cpu = process.cpuUsage(cpu0);
  results.idle_seconds = IDLE_S;
  results.idle_cpu_percent_of_one_core = Number((((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100).toFixed(2));
  console.log(`idle CPU over ${IDLE_S} s: ${results.idle_cpu_percent_of_one_core}% of one core`);
  await engine.close();

  // 4. Fire delay: operations on a 2-second trigger, timers for real.
  const fire = createEngine({
    dataDir: path.join(tmp, 'fire'),
    timeModel: { minIntervalSeconds: 1, minWindowSeconds: 1 },
    scheduler: { checkIntervalMs: 60_000, concurrency: FIRE_OPS },
  });
  const delays = [];
  fire.events.on('checkpoint.status', (e) => {
    if (e.status !== 'protecting') return;
    const at = Date.now();
    const cp = fire.checkpoints.get(caller, NOOP, e.checkpointId);
    const scheduled = Date.parse(String(cp.extra_info?.scheduled_at));
    if (Number.isFinite(scheduled)) delays.push(at - scheduled);
  });
  seed(fire, FIRE_OPS, ['*/2 * * * * *']);
  await sleep(FIRE_S * 1000);
  for (const op of fire.scheduledOperations.list(caller, { limit: '1000' })) fire.scheduledOperations.delete(caller, op.id);
  await fire.scheduler.idle();
  await fire.close();
  delays.sort((a, b) => a - b);
  results.fire = {
    operations: FIRE_OPS,
    seconds: FIRE_S,
    runs: delays.length,
    delay_ms: { p50: pct(delays, 50), p90: pct(delays, 90), p99: pct(delays, 99), max: delays.at(-1) ?? null },
  };
  console.log(
    `fire delay over ${delays.length} runs: p50 ${results.fire.delay_ms.p50} ms, p99 ${results.fire.delay_ms.p99} ms, max ${results.fire.delay_ms.max} ms`,
  );

  const out = path.join(HERE, 'results', 'scheduler.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

try {
  await main();
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
