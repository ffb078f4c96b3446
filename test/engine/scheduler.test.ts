import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Caller, type Engine } from '../../src-main/engine';
import { ManualClock } from '../../src-main/engine/clock';
import type { ProtectablePlugin } from '../../src-main/engine/protectables/types';
import { NOOP, tempDir } from '../helpers/harness';

const caller: Caller = { projectId: 'p1', isAdmin: false };
const HOUR = 3_600_000;
const engines: Engine[] = [];

/** A resource type whose protect blocks until released: a run that outlasts its interval. */
function slowType(): { plugin: ProtectablePlugin; release: () => void } {
  let release: () => void = () => undefined;
  let gate = new Promise<void>((r) => (release = r));
  return {
    plugin: {
      type: 'Test::Slow',
      dependentTypes: [],
      listInstances: () => Promise.resolve([]),
      showInstance: () => Promise.resolve(undefined),
      dependents: async () => {
        await gate;
        gate = Promise.resolve();
        return [];
      },
    },
    release: () => release(),
  };
}

function open(clock: ManualClock, dataDir = tempDir(), extra: ProtectablePlugin[] = [], concurrency = 2): Engine {
  const e = createEngine({ dataDir, clock, protectables: extra, scheduler: { checkIntervalMs: 0, concurrency } });
  engines.push(e);
  return e;
}

afterEach(async () => {
  for (const e of engines.splice(0)) await e.close().catch(() => undefined);
});

function setup(
  e: Engine,
  props: Record<string, unknown>,
  opType = 'protect',
  def: Record<string, unknown> = {},
  type = 'Local::FS::Directory',
) {
  const plan = e.plans.create(caller, {
    name: 'p',
    provider_id: NOOP,
    resources: [{ id: randomUUID(), type, name: '/data' }],
    parameters: {},
  });
  const trigger = e.triggers.create(caller, { name: 't', type: 'time', properties: props });
  const op = e.scheduledOperations.create(caller, {
    name: 'op',
    operation_type: opType,
    trigger_id: trigger.id,
    operation_definition: { provider_id: NOOP, plan_id: plan.id, ...def },
  });
  return { plan, trigger, op };
}

async function settle(e: Engine): Promise<void> {
  await e.scheduler.idle();
  await e.idle();
}

const logs = (e: Engine, opId: string, status?: string) =>
  e.operationLogs.list(caller, { scheduled_operation_id: opId, ...(status ? { status } : {}) });

describe('scheduler with an injected clock', () => {
  it('runs exactly one catch-up after a 3-hour sleep and logs the others as dropped', async () => {
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    const e = open(clock);
    const { op, plan } = setup(e, { format: 'crontab', pattern: '0 * * * *', window: 3600 });
    expect(e.scheduledOperations.get(caller, op.id).next_run_at).toBe('2026-01-01T01:00:00.000Z');
    clock.set('2026-01-01T03:30:00Z');
    e.scheduler.check();
    e.scheduler.check(); // a second check (e.g. the resume event) must not run it again
    await settle(e);
    const cps = e.checkpoints.list(caller, NOOP, { plan_id: plan.id });
    expect(cps).toHaveLength(1);
    expect(cps[0]?.status).toBe('available');
    expect(cps[0]?.extra_info).toMatchObject({
      created_by: 'operation-engine',
      scheduled_operation_id: op.id,
      scheduled_at: '2026-01-01T03:00:00.000Z',
    });
    const dropped = logs(e, op.id, 'dropped')
      .map((l) => l.extra_info?.scheduled_at)
      .sort();
    expect(dropped).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']);
    const view = e.scheduledOperations.get(caller, op.id);
    expect(view.next_run_at).toBe('2026-01-01T04:00:00.000Z');
    expect(view.last_run).toMatchObject({ status: 'available', checkpoint_id: cps[0]?.id });
  });

  it('a first start over operations made at different times on one trigger gives each its own missed runs', async () => {
    const dataDir = tempDir();
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    // Made by an engine without the scheduler (a tool), at different times, nothing recorded.
    const maker = createEngine({ dataDir, clock, scheduler: false });
    const { plan, trigger, op: a } = setup(maker, { format: 'crontab', pattern: '0 * * * *', window: 3600 });
    const make = (at: string) => {
      clock.set(at);
      return maker.scheduledOperations.create(caller, {
        name: `op ${at}`,
        operation_type: 'protect',
        trigger_id: trigger.id,
        operation_definition: { provider_id: NOOP, plan_id: plan.id },
      });
    };
    const b = make('2026-01-01T02:30:00Z');
    const c = make('2026-01-01T03:20:00Z');
    // made before the first, evaluated after it
    const d = make('2026-01-01T00:05:00Z');
    await maker.close();
    const db = new Database(path.join(dataDir, 'karbor.sqlite'));
    db.prepare('DELETE FROM schedule_states').run();
    db.close();

    clock.set('2026-01-01T03:30:00Z');
    const e = open(clock, dataDir);
    await settle(e);
    const ran = (id: string) =>
      e.checkpoints
        .list(caller, NOOP, { plan_id: plan.id })
        .filter((cp) => cp.extra_info?.scheduled_operation_id === id)
        .map((cp) => cp.extra_info?.scheduled_at);
    const dropped = (id: string) =>
      logs(e, id, 'dropped')
        .map((l) => l.extra_info?.scheduled_at)
        .sort();
    for (const op of [a, d]) {
      expect(ran(op.id)).toEqual(['2026-01-01T03:00:00.000Z']);
      expect(dropped(op.id)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']);
    }
    expect(ran(b.id)).toEqual(['2026-01-01T03:00:00.000Z']);
    expect(dropped(b.id)).toEqual([]);
    expect(ran(c.id)).toEqual([]);
    expect(dropped(c.id)).toEqual([]);
    for (const op of [a, b, c, d]) expect(e.scheduledOperations.get(caller, op.id).next_run_at).toBe('2026-01-01T04:00:00.000Z');
  });

  it('drops every missed run once the window has passed, and runs none', async () => {
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    const e = open(clock);
    const { op, plan } = setup(e, { format: 'crontab', pattern: '0 * * * *', window: 600 });
    clock.set('2026-01-01T03:30:00Z');
    e.scheduler.check();
    await settle(e);
    expect(e.checkpoints.list(caller, NOOP, { plan_id: plan.id })).toHaveLength(0);
    const dropped = logs(e, op.id, 'dropped');
    expect(dropped).toHaveLength(3);
    expect(dropped[0]?.error_info).toMatch(/missed/);
  });

  it('starts at start_time and stops after end_time', async () => {
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    const e = open(clock);
    const { op } = setup(e, {
      format: 'crontab',
      pattern: '0 * * * *',
      start_time: '2026-01-01 05:30:00',
      end_time: '2026-01-01 06:30:00',
    });
    expect(e.scheduledOperations.get(caller, op.id).next_run_at).toBe('2026-01-01T06:00:00.000Z');
    clock.set('2026-01-01T06:00:05Z');
    e.scheduler.check();
    await settle(e);
    expect(e.scheduledOperations.get(caller, op.id).next_run_at).toBeNull();
    expect(logs(e, op.id, 'available')).toHaveLength(1);
  });

  it('never overlaps a run that outlasts its interval', async () => {
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    const slow = slowType();
    const e = open(clock, tempDir(), [slow.plugin]);
    const { op, plan } = setup(e, { format: 'crontab', pattern: '0 * * * *' }, 'protect', {}, 'Test::Slow');
    clock.set('2026-01-01T01:00:01Z');
    e.scheduler.check();
    clock.set('2026-01-01T02:00:01Z');
    e.scheduler.check();
    expect(e.scheduler.status(op.id)?.running).toBe(true);
    slow.release();
    await settle(e);
    expect(e.checkpoints.list(caller, NOOP, { plan_id: plan.id })).toHaveLength(1);
    const overlap = logs(e, op.id, 'dropped');
    expect(overlap).toHaveLength(1);
    expect(overlap[0]?.extra_info).toMatchObject({ reason: 'overlap', scheduled_at: '2026-01-01T02:00:00.000Z' });
  });

  it('a run held back by the concurrency limit starts later for its own occurrence', async () => {
    const clock = new ManualClock('2026-01-01T00:40:00Z');
    const slow = slowType();
    const e = open(clock, tempDir(), [slow.plugin], 1);
    const a = setup(e, { format: 'crontab', pattern: '0 * * * *' }, 'protect', {}, 'Test::Slow');
    const b = setup(e, { format: 'crontab', pattern: '30 * * * *' });
    clock.set('2026-01-01T01:00:01Z');
    e.scheduler.check();
    clock.set('2026-01-01T01:30:01Z');
    e.scheduler.check(); // b is due but a holds the only slot
    expect(e.scheduler.status(b.op.id)?.running).toBe(false);
    clock.set('2026-01-01T01:40:00Z');
    slow.release();
    await settle(e);
    const [cp] = e.checkpoints.list(caller, NOOP, { plan_id: b.plan.id });
    expect(cp?.extra_info).toMatchObject({ scheduled_at: '2026-01-01T01:30:00.000Z' });
    expect(logs(e, b.op.id, 'dropped')).toHaveLength(0);
    expect(logs(e, a.op.id, 'available')).toHaveLength(1);
  });

  it('closing logs runs that were still waiting as dropped and leaves nothing running', async () => {
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    const slow = slowType();
    const e = open(clock, tempDir(), [slow.plugin], 1);
    const a = setup(e, { format: 'crontab', pattern: '0 * * * *' }, 'protect', {}, 'Test::Slow');
    const b = setup(e, { format: 'crontab', pattern: '0 * * * *' });
    clock.set('2026-01-01T01:00:01Z');
    e.scheduler.check();
    const running = [a, b].filter((x) => e.scheduler.status(x.op.id)?.running);
    expect(running).toHaveLength(1);
    const waiting = running[0] === a ? b : a;
    const stopped = e.scheduler.stop();
    slow.release();
    await stopped;
    await e.idle();
    const dropped = logs(e, waiting.op.id, 'dropped');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.extra_info).toMatchObject({ reason: 'shutdown', scheduled_at: '2026-01-01T01:00:00.000Z' });
    expect(dropped[0]?.error_info).toContain('the app was closing');
    expect(e.scheduler.status(running[0]?.op.id as string)?.running).toBe(false);
    expect(e.checkpoints.list(caller, NOOP, {}).filter((c) => c.status === 'protecting')).toHaveLength(0);
  });

  it('retention keeps exactly the newest N, deleting only after the new checkpoint is available', async () => {
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    const e = open(clock);
    const { op, plan } = setup(e, { format: 'crontab', pattern: '0 * * * *' }, 'retention_protect', { max_backups: 2 });
    const seen: string[] = [];
    e.events.on('checkpoint.status', (ev) => seen.push(`${ev.checkpointId}:${ev.status}`));
    for (let hour = 1; hour <= 4; hour++) {
      clock.set(new Date(Date.parse('2026-01-01T00:00:30Z') + hour * HOUR));
      e.scheduler.check();
      await settle(e);
    }
    const all = e.checkpoints.list(caller, NOOP, { plan_id: plan.id, sort: 'created_at:asc' });
    expect(all.map((c) => c.status)).toEqual(['available', 'available']);
    const hours = all.map((c) => c.extra_info?.scheduled_at);
    expect(hours).toEqual(['2026-01-01T03:00:00.000Z', '2026-01-01T04:00:00.000Z']);
    // The first delete started only after the third checkpoint became available.
    const third = e.checkpoints.list(caller, NOOP, { plan_id: plan.id, sort: 'created_at:asc' })[0]?.id;
    const firstDeleting = seen.findIndex((s) => s.endsWith(':deleting'));
    const thirdAvailable = seen.findIndex((s) => s === `${third}:available`);
    expect(thirdAvailable).toBeGreaterThanOrEqual(0);
    expect(firstDeleting).toBeGreaterThan(thirdAvailable);
    expect(logs(e, op.id).filter((l) => l.operation_type === 'retention')).toHaveLength(4);
  });

  it('retention_duration removes checkpoints older than D days', async () => {
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    const e = open(clock);
    const { plan } = setup(e, { format: 'crontab', pattern: '0 12 * * *' }, 'retention_protect', {
      retention_duration: 2,
      max_backups: -1,
    });
    for (let day = 0; day < 5; day++) {
      clock.set(new Date(Date.parse('2026-01-01T12:00:10Z') + day * 24 * HOUR));
      e.scheduler.check();
      await settle(e);
    }
    const kept = e.checkpoints.list(caller, NOOP, { plan_id: plan.id, sort: 'created_at:asc' }).map((c) => c.extra_info?.scheduled_at);
    expect(kept).toEqual(['2026-01-03T12:00:00.000Z', '2026-01-04T12:00:00.000Z', '2026-01-05T12:00:00.000Z']);
  });

  it('a disabled operation does not run; enabling it re-arms it', async () => {
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    const e = open(clock);
    const { op, plan } = setup(e, { format: 'crontab', pattern: '0 * * * *' });
    e.scheduledOperations.setEnabled(caller, op.id, false);
    expect(e.scheduledOperations.get(caller, op.id).next_run_at).toBeNull();
    clock.set('2026-01-01T01:00:10Z');
    e.scheduler.check();
    await settle(e);
    expect(e.checkpoints.list(caller, NOOP, { plan_id: plan.id })).toHaveLength(0);
    e.scheduledOperations.setEnabled(caller, op.id, true);
    expect(e.scheduledOperations.get(caller, op.id).next_run_at).toBe('2026-01-01T02:00:00.000Z');
  });

  it('trigger update re-arms its operations', () => {
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    const e = open(clock);
    const { op, trigger } = setup(e, { format: 'crontab', pattern: '0 * * * *' });
    e.triggers.update(caller, trigger.id, { properties: { format: 'crontab', pattern: '30 5 * * *' } });
    expect(e.scheduledOperations.get(caller, op.id).next_run_at).toBe('2026-01-01T05:30:00.000Z');
  });

  it('after a crash mid-run, the run is marked error and the schedule resumes', async () => {
    const clock = new ManualClock('2026-01-01T00:10:00Z');
    const dataDir = tempDir();
    const e1 = open(clock, dataDir);
    const { op, plan } = setup(e1, { format: 'crontab', pattern: '0 * * * *' });
    await e1.close();
    // What a crash during the 01:00 run leaves: a protecting checkpoint, an open log, a running state.
    const db = new Database(path.join(dataDir, 'karbor.sqlite'));
    const cpId = randomUUID();
    db.prepare(
      "INSERT INTO checkpoints (id, project_id, provider_id, plan_id, protection_plan, status, created_at) VALUES (?, 'p1', ?, ?, '{}', 'protecting', '2026-01-01T01:00:00.000000')",
    ).run(cpId, NOOP, plan.id);
    db.prepare(
      "INSERT INTO operation_logs (id, project_id, operation_type, checkpoint_id, scheduled_operation_id, status, started_at, created_at) VALUES (?, 'p1', 'protect', ?, ?, 'protecting', '2026-01-01T01:00:00.000000', '2026-01-01T01:00:00.000000')",
    ).run(randomUUID(), cpId, op.id);
    db.prepare(
      "UPDATE schedule_states SET last_handled_at = '2026-01-01T01:00:00.000Z', running_since = '2026-01-01T01:00:00.000Z' WHERE operation_id = ?",
    ).run(op.id);
    db.close();
    clock.set('2026-01-01T01:20:00Z');
    const e2 = open(clock, dataDir);
    expect(e2.checkpoints.get(caller, NOOP, cpId).status).toBe('error');
    expect(logs(e2, op.id, 'error')[0]?.error_info).toMatch(/interrupted/);
    expect(e2.scheduler.status(op.id)).toMatchObject({ running: false, nextRunAt: '2026-01-01T02:00:00.000Z' });
    clock.set('2026-01-01T02:00:01Z');
    e2.scheduler.check();
    await settle(e2);
    expect(logs(e2, op.id, 'available')).toHaveLength(1);
  });
});
