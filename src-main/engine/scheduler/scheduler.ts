import { eq } from 'drizzle-orm';
import { createRequire } from 'node:module';
import type * as NodeSchedule from 'node-schedule';
import type { CheckpointService } from '../checkpoints/service';
import { errorText } from '../checkpoints/service';
import type { Caller, EngineContext } from '../context';
import { scheduleStates, scheduledOperations, triggers } from '../db/schema';
import type { OperationLogService } from '../operation-logs/service';
import type { TimeTrigger } from '../triggers/time-model';
import type { TriggerService } from '../triggers/service';
import { applyRetention } from './retention';

export interface SchedulerOptions {
  /** Runs in flight at once across all operations. */
  concurrency: number;
  /** Wall-clock re-check period (timers drift across suspend). 0 disables the periodic check. */
  checkIntervalMs: number;
  /** At most this many dropped occurrences are logged one by one per check; the rest are summed up. */
  maxDroppedLogs: number;
}

export const DEFAULT_SCHEDULER: SchedulerOptions = { concurrency: 2, checkIntervalMs: 60_000, maxDroppedLogs: 24 };

export interface ScheduleStatus {
  operationId: string;
  nextRunAt: string | null;
  running: boolean;
  lastRunAt: string | null;
  lastRunStatus: string | null;
  lastCheckpointId: string | null;
  lastError: string | null;
}

type OpRow = typeof scheduledOperations.$inferSelect;

let scheduleLib: typeof NodeSchedule | undefined;
/** node-schedule, loaded when the scheduler first arms a timer (an engine without one never needs it). */
function nodeSchedule(): typeof NodeSchedule {
  scheduleLib ??= createRequire(import.meta.url)('node-schedule') as typeof NodeSchedule;
  return scheduleLib;
}

/** Ids in an operation definition were validated as strings when it was created. */
const idOf = (v: unknown): string => (typeof v === 'string' ? v : '');
type StateRow = typeof scheduleStates.$inferSelect;

/**
 * Runs scheduled operations. node-schedule arms each operation's next occurrence, but every
 * decision is taken by `check()` against the wall clock: on each timer, every minute, at start
 * and on resume. A missed occurrence runs once if now is inside its window, otherwise it is
 * logged as dropped with its scheduled time — never a burst of catch-ups, never silence.
 * An operation never overlaps itself, and at most `concurrency` runs are in flight.
 */
export class Scheduler {
  /** One node-schedule timer per distinct next-run time: many operations firing together wake one check. */
  private readonly timers = new Map<number, NodeSchedule.Job>();
  private readonly running = new Map<string, Promise<void>>();
  /** Runs due but held back by the concurrency limit, each with the occurrence it is for. */
  private readonly waiting: { id: string; scheduledAt: Date }[] = [];
  private interval?: NodeJS.Timeout;
  /** Engines opened only to read or change data (tools) never start the scheduler. */
  private started = false;
  /**
   * Per check, per trigger: spans [from, at) in which the next occurrence is `at` (null: none),
   * sorted and disjoint. The operations of a trigger share its next occurrence after now, and
   * operations made together were handled up to instants close to each other (their creation), so
   * a first start after thousands were made works each occurrence out once, not once per operation.
   */
  private readonly nextAfterCache = new Map<string, { from: number; at: number | null }[]>();
  private preload?: { triggers: Map<string, typeof triggers.$inferSelect>; next: Map<string, string | null> };
  private stopped = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly deps: { checkpoints: CheckpointService; triggers: TriggerService; logs: OperationLogService },
    private readonly opts: SchedulerOptions = DEFAULT_SCHEDULER,
  ) {}

  start(): void {
    this.started = true;
    this.ctx.db.update(scheduleStates).set({ runningSince: null }).run();
    this.check();
    if (this.opts.checkIntervalMs > 0) {
      this.interval = setInterval(() => this.check(), this.opts.checkIntervalMs);
      this.interval.unref();
    }
  }

  /**
   * Stops arming, logs waiting runs as dropped (they will not start now) and waits for runs in
   * flight, so nothing is left `protecting` by a close.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.interval) clearInterval(this.interval);
    for (const j of this.timers.values()) j.cancel();
    this.timers.clear();
    for (const w of this.waiting.splice(0)) {
      this.logSkipped(
        w.id,
        w.scheduledAt,
        'shutdown',
        `run scheduled at ${w.scheduledAt.toISOString()} skipped: the app was closing before it could start`,
      );
    }
    while (this.running.size) await Promise.all([...this.running.values()]);
  }

  /** Re-evaluates every enabled operation against the wall clock and re-arms its timer. */
  check(): void {
    if (this.stopped) return;
    const wanted = new Set<number>();
    this.nextAfterCache.clear();
    // Loaded once per check: a query per operation would dominate with thousands of them.
    this.preload = {
      triggers: new Map(
        this.ctx.db
          .select()
          .from(triggers)
          .all()
          .map((t) => [t.id, t]),
      ),
      next: new Map(
        this.ctx.db
          .select({ id: scheduleStates.operationId, next: scheduleStates.nextRunAt })
          .from(scheduleStates)
          .all()
          .map((r) => [r.id, r.next]),
      ),
    };
    // One transaction: thousands of operations cost one commit, not one each.
    this.ctx.db.transaction(() => {
      for (const op of this.ctx.db.select().from(scheduledOperations).all()) {
        if (!op.enabled) continue;
        try {
          const next = this.evaluate(op);
          if (next) wanted.add(next.getTime());
        } catch (err) {
          this.ctx.log.error('scheduler could not evaluate an operation', { operation: op.id, error: errorText(err) });
        }
      }
    });
    this.preload = undefined;
    for (const [at, job] of this.timers) {
      if (!wanted.has(at)) {
        job.cancel();
        this.timers.delete(at);
      }
    }
    for (const at of wanted) this.arm(at);
  }

  /** Re-arms one operation (after create, enable/disable, trigger change). */
  refresh(operationId: string): void {
    if (!this.started || this.stopped) return;
    const op = this.ctx.db.select().from(scheduledOperations).where(eq(scheduledOperations.id, operationId)).get();
    if (!op || !op.enabled) {
      // A timer it shared with others stays; one that fires for nothing only runs a check.
      if (op) this.ctx.db.update(scheduleStates).set({ nextRunAt: null }).where(eq(scheduleStates.operationId, op.id)).run();
      return;
    }
    this.nextAfterCache.clear();
    const next = this.evaluate(op);
    if (next) this.arm(next.getTime());
  }

  /** Re-arms every operation of a trigger. */
  refreshTrigger(triggerId: string): void {
    for (const op of this.ctx.db.select().from(scheduledOperations).where(eq(scheduledOperations.triggerId, triggerId)).all()) {
      this.refresh(op.id);
    }
  }

  status(operationId: string): ScheduleStatus | undefined {
    const s = this.ctx.db.select().from(scheduleStates).where(eq(scheduleStates.operationId, operationId)).get();
    if (!s) return undefined;
    return {
      operationId,
      nextRunAt: s.nextRunAt,
      running: this.running.has(operationId),
      lastRunAt: s.lastRunAt,
      lastRunStatus: s.lastRunStatus,
      lastCheckpointId: s.lastCheckpointId,
      lastError: s.lastError,
    };
  }

  /** Resolves when no run is in flight or waiting. */
  async idle(): Promise<void> {
    while (this.running.size || this.waiting.length) await Promise.all([...this.running.values()]);
  }

  private state(op: OpRow): StateRow {
    const s = this.ctx.db.select().from(scheduleStates).where(eq(scheduleStates.operationId, op.id)).get();
    if (s) return s;
    // A new operation starts after its creation: occurrences before it are not "missed".
    const fresh: StateRow = {
      operationId: op.id,
      lastHandledAt: new Date(`${op.createdAt.slice(0, 23)}Z`).toISOString(),
      nextRunAt: null,
      runningSince: null,
      lastRunAt: null,
      lastRunStatus: null,
      lastCheckpointId: null,
      lastError: null,
    };
    this.ctx.db.insert(scheduleStates).values(fresh).onConflictDoNothing().run();
    return fresh;
  }

  /** Decides due runs of one operation and records its next run, which it returns. */
  private evaluate(op: OpRow): Date | undefined {
    const trig = this.preload
      ? this.preload.triggers.get(op.triggerId)
      : this.ctx.db.select().from(triggers).where(eq(triggers.id, op.triggerId)).get();
    if (!trig) return undefined;
    const time: TimeTrigger = this.deps.triggers.timeTrigger({ properties: trig.properties });
    const now = this.ctx.clock.now();
    const key = `${trig.id}|${trig.updatedAt ?? ''}`;
    const upcoming = this.nextAfter(key, time, now)?.getTime() ?? null;
    // Fast path: the recorded next run is the trigger's next occurrence, so nothing came due
    // (and the clock did not go back). Thousands of operations then cost a lookup each.
    const known = this.preload
      ? this.preload.next.get(op.id)
      : this.ctx.db.select({ next: scheduleStates.nextRunAt }).from(scheduleStates).where(eq(scheduleStates.operationId, op.id)).get()
          ?.next;
    if (upcoming !== null && known && Date.parse(known) === upcoming) return new Date(upcoming);
    const st = this.state(op);
    let cursor = new Date(st.lastHandledAt);
    const due: Date[] = [];
    for (let t = this.nextAfter(key, time, cursor); t && t <= now; t = this.nextAfter(key, time, t)) {
      due.push(t);
      // A schedule far behind (months asleep) is summed up, not walked forever.
      if (due.length > 10_000) break;
    }
    if (due.length) {
      const latest = due[due.length - 1] as Date;
      const inWindow = now.getTime() <= latest.getTime() + time.windowSeconds * 1000;
      const dropped = inWindow ? due.slice(0, -1) : due;
      this.logDropped(op, dropped, time.windowSeconds, inWindow ? undefined : now);
      cursor = latest;
      this.ctx.db.update(scheduleStates).set({ lastHandledAt: latest.toISOString() }).where(eq(scheduleStates.operationId, op.id)).run();
      if (inWindow) this.enqueue(op.id, latest);
    }
    const next = this.nextAfter(key, time, new Date(Math.max(cursor.getTime(), now.getTime())));
    const nextIso = next ? next.toISOString() : null;
    if (nextIso !== st.nextRunAt) {
      this.ctx.db.update(scheduleStates).set({ nextRunAt: nextIso }).where(eq(scheduleStates.operationId, op.id)).run();
    }
    return next;
  }

  /** The trigger's next occurrence after `after`: no occurrence lies between the two. */
  private nextAfter(key: string, time: TimeTrigger, after: Date): Date | undefined {
    const t = after.getTime();
    let spans = this.nextAfterCache.get(key);
    if (!spans) this.nextAfterCache.set(key, (spans = []));
    // The last span starting at or before t (binary search: a schedule far behind walks thousands).
    let lo = 0;
    let hi = spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((spans[mid] as { from: number }).from <= t) lo = mid + 1;
      else hi = mid;
    }
    const before = spans[lo - 1];
    if (before && (before.at === null || t < before.at)) return before.at === null ? undefined : new Date(before.at);
    const at = time.next(after)?.getTime() ?? null;
    // No occurrence lies in (t, at): a span starting inside it must end at the same occurrence,
    // and is widened to start at t; otherwise t starts a span of its own.
    const following = spans[lo];
    if (following && following.at === at) following.from = t;
    else spans.splice(lo, 0, { from: t, at });
    return at === null ? undefined : new Date(at);
  }

  private arm(at: number): void {
    if (this.stopped || this.timers.has(at)) return;
    // The timer only wakes the check; the check decides with the wall clock.
    const job = nodeSchedule().scheduleJob(new Date(at), () => {
      this.timers.delete(at);
      this.check();
    });
    if (job) this.timers.set(at, job);
  }

  private logDropped(op: OpRow, dropped: Date[], windowSeconds: number, _now?: Date): void {
    if (!dropped.length) return;
    const shown = dropped.slice(-this.opts.maxDroppedLogs);
    const hidden = dropped.length - shown.length;
    for (const t of shown) {
      const id = this.deps.logs.start({
        projectId: op.projectId,
        operationType: 'protect',
        status: 'dropped',
        planId: idOf(op.operationDefinition.plan_id),
        providerId: idOf(op.operationDefinition.provider_id),
        scheduledOperationId: op.id,
        extraInfo: { scheduled_at: t.toISOString(), reason: 'missed', ...(hidden && t === shown[0] ? { earlier_missed: hidden } : {}) },
      });
      this.deps.logs.finish(
        id,
        'dropped',
        `run scheduled at ${t.toISOString()} was missed (the app was closed or the machine asleep) and its ${windowSeconds}s window has passed`,
      );
    }
  }

  private enqueue(operationId: string, scheduledAt: Date): void {
    if (this.running.has(operationId) || this.waiting.some((w) => w.id === operationId)) {
      this.logSkipped(
        operationId,
        scheduledAt,
        'overlap',
        `run scheduled at ${scheduledAt.toISOString()} skipped: the previous run of this operation is still going`,
      );
      return;
    }
    this.waiting.push({ id: operationId, scheduledAt });
    this.pump();
  }

  private logSkipped(operationId: string, scheduledAt: Date, reason: string, text: string): void {
    const op = this.ctx.db.select().from(scheduledOperations).where(eq(scheduledOperations.id, operationId)).get();
    if (!op) return;
    const id = this.deps.logs.start({
      projectId: op.projectId,
      operationType: 'protect',
      status: 'dropped',
      scheduledOperationId: op.id,
      planId: idOf(op.operationDefinition.plan_id),
      providerId: idOf(op.operationDefinition.provider_id),
      extraInfo: { scheduled_at: scheduledAt.toISOString(), reason },
    });
    this.deps.logs.finish(id, 'dropped', text);
  }

  /** Starts waiting runs, each for its own occurrence, up to the concurrency limit; none once stopping. */
  private pump(): void {
    while (!this.stopped && this.running.size < this.opts.concurrency && this.waiting.length) {
      const { id, scheduledAt } = this.waiting.shift() as { id: string; scheduledAt: Date };
      const p = this.run(id, scheduledAt)
        .catch((err: unknown) => this.ctx.log.error('scheduled run failed unexpectedly', { operation: id, error: errorText(err) }))
        .finally(() => {
          this.running.delete(id);
          this.pump();
        });
      this.running.set(id, p);
    }
  }

  private async run(operationId: string, scheduledAt: Date): Promise<void> {
    const op = this.ctx.db.select().from(scheduledOperations).where(eq(scheduledOperations.id, operationId)).get();
    if (!op || !op.enabled) return;
    const def = op.operationDefinition;
    const caller: Caller = { projectId: op.projectId, isAdmin: false };
    const providerId = idOf(def.provider_id);
    const planId = idOf(def.plan_id);
    const startedAt = this.ctx.clock.now().toISOString();
    this.ctx.db.update(scheduleStates).set({ runningSince: startedAt }).where(eq(scheduleStates.operationId, op.id)).run();
    let status = 'error';
    let error: string | null = null;
    let checkpointId: string | null = null;
    try {
      const cp = this.deps.checkpoints.create(caller, providerId, planId, {
        extraInfo: {
          created_by: 'operation-engine',
          trigger_id: op.triggerId,
          scheduled_operation_id: op.id,
          scheduled_at: scheduledAt.toISOString(),
        },
        scheduledOperationId: op.id,
      });
      checkpointId = cp.id;
      const end = await this.waitForCheckpoint(cp.id);
      status = end.status;
      error = end.error ?? null;
      if (status === 'available' && op.operationType === 'retention_protect') {
        this.retain(op, caller, providerId, planId);
      }
    } catch (err) {
      error = errorText(err);
      const id = this.deps.logs.start({
        projectId: op.projectId,
        operationType: 'protect',
        status: 'error',
        planId,
        providerId,
        scheduledOperationId: op.id,
        extraInfo: { scheduled_at: scheduledAt.toISOString() },
      });
      this.deps.logs.finish(id, 'error', error);
    } finally {
      this.ctx.db
        .update(scheduleStates)
        .set({ runningSince: null, lastRunAt: startedAt, lastRunStatus: status, lastCheckpointId: checkpointId, lastError: error })
        .where(eq(scheduleStates.operationId, op.id))
        .run();
    }
  }

  private retain(op: OpRow, caller: Caller, providerId: string, planId: string): void {
    const def = op.operationDefinition;
    const logId = this.deps.logs.start({
      projectId: op.projectId,
      operationType: 'retention',
      status: 'running',
      planId,
      providerId,
      scheduledOperationId: op.id,
    });
    try {
      const deleted = applyRetention(this.ctx, this.deps.checkpoints, caller, providerId, planId, {
        maxBackups: typeof def.max_backups === 'number' ? def.max_backups : undefined,
        retentionDays: typeof def.retention_duration === 'number' ? def.retention_duration : undefined,
      });
      this.deps.logs.finish(logId, 'success', undefined, { deleted_checkpoints: deleted });
    } catch (err) {
      this.deps.logs.finish(logId, 'error', errorText(err));
    }
  }

  private waitForCheckpoint(id: string): Promise<{ status: string; error?: string }> {
    return new Promise((resolve) => {
      const off = this.ctx.events.on('checkpoint.status', (e) => {
        if (e.checkpointId === id && (e.status === 'available' || e.status === 'error')) {
          off();
          resolve({ status: e.status, error: e.error });
        }
      });
    });
  }
}
