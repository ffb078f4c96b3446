import type { Checkpoint, UiEvents } from '../../../src-main/contract';
import { call, messageOf, on } from '../lib/bridge';
import { timeOf } from '../lib/format';

export type CheckpointProgress = UiEvents['checkpoint.progress'];

/** One backup the user can watch: started here, by the scheduler, or found running at load. */
export interface Run {
  checkpointId: string;
  providerId: string;
  planId: string;
  planName: string;
  status: string;
  startedAt: number;
  endedAt?: number;
  progress?: CheckpointProgress;
  error?: string;
}

const POLL_MS = 1500;

/**
 * Running (and just finished) backups, shared by every page. Fed by `checkpoint.status` and
 * `checkpoint.progress` events; a slow poll of the runs still `protecting` covers events lost
 * while the event stream (re)connects. Finished runs stay until dismissed, so the user sees how
 * each one ended.
 */
class Operations {
  runs = $state<Run[]>([]);
  /** Ticks every second while something runs, for elapsed times. */
  now = $state(Date.now());
  /** Bumped whenever a run ends: pages that list checkpoints reload on it. */
  revision = $state(0);
  private started = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastPoll = 0;
  /** Recent status events, for a run whose events arrive before its `track` call. */
  private readonly seen = new Map<string, UiEvents['checkpoint.status']>();

  /** Subscribes to the engine's events; called once, after connecting. */
  start(): void {
    if (this.started) return;
    this.started = true;
    on('checkpoint.status', (e) => this.onStatus(e));
    on('checkpoint.progress', (p) => this.update(p.checkpointId, { progress: p }));
  }

  get active(): Run[] {
    return this.runs.filter((r) => r.status === 'protecting');
  }

  /** Starts watching a checkpoint (a new one, or one found `protecting` in a list). */
  track(cp: Checkpoint): void {
    if (this.runs.some((r) => r.checkpointId === cp.id)) return;
    const startedAt = timeOf(cp.created_at) ?? Date.now();
    const early = this.seen.get(cp.id);
    const run: Run = {
      checkpointId: cp.id,
      providerId: cp.provider_id,
      planId: cp.protection_plan.id,
      planName: cp.protection_plan.name,
      status: cp.status,
      startedAt,
    };
    if (cp.status === 'protecting' && early && early.status !== 'protecting') {
      run.status = early.status;
      run.endedAt = Date.now();
      if (early.error) run.error = early.error;
      this.revision++;
    }
    this.runs = [run, ...this.runs];
    this.tick();
  }

  /** Starts a backup of a plan now and watches it. */
  async backUp(providerId: string, planId: string): Promise<Checkpoint> {
    const cp = await call('checkpoints.create', { providerId, planId });
    this.track({ ...cp, created_at: new Date().toISOString() });
    return cp;
  }

  async cancel(run: Run): Promise<void> {
    await call('checkpoints.cancel', { providerId: run.providerId, id: run.checkpointId });
  }

  dismiss(checkpointId: string): void {
    this.runs = this.runs.filter((r) => r.checkpointId !== checkpointId);
  }

  private onStatus(e: UiEvents['checkpoint.status']): void {
    this.seen.set(e.checkpointId, e);
    if (this.seen.size > 200) this.seen.delete(this.seen.keys().next().value as string);
    const known = this.runs.find((r) => r.checkpointId === e.checkpointId);
    if (!known) {
      // A backup started elsewhere (the scheduler, a script): watch it too.
      if (e.status === 'protecting')
        call('checkpoints.get', { providerId: e.providerId, id: e.checkpointId })
          .then((cp) => this.track(cp))
          .catch(() => undefined);
      return;
    }
    this.update(e.checkpointId, { status: e.status, ...(e.error ? { error: e.error } : {}) });
  }

  private update(checkpointId: string, patch: Partial<Run>): void {
    let ended = false;
    this.runs = this.runs.map((r) => {
      if (r.checkpointId !== checkpointId) return r;
      const next = { ...r, ...patch };
      if (r.status === 'protecting' && next.status !== 'protecting') {
        next.endedAt = Date.now();
        ended = true;
      }
      return next;
    });
    if (ended) this.revision++;
  }

  /** Runs a 1 s clock while something is protecting; stops when nothing is. */
  private tick(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.now = Date.now();
      if (this.active.length === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      if (this.now - this.lastPoll >= POLL_MS) {
        this.lastPoll = this.now;
        void this.poll();
      }
    }, 1000);
  }

  private async poll(): Promise<void> {
    for (const r of this.active) {
      try {
        const cp = await call('checkpoints.get', { providerId: r.providerId, id: r.checkpointId });
        if (cp.status === r.status) continue;
        this.update(r.checkpointId, { status: cp.status, ...(cp.status === 'error' ? { error: await this.reasonOf(r) } : {}) });
      } catch (err) {
        this.update(r.checkpointId, { status: 'error', error: messageOf(err) });
      }
    }
  }

  /** Why a backup failed, from its operation log (the status event carries it too, when seen). */
  private async reasonOf(r: Run): Promise<string | undefined> {
    const logs = await call('logs.list', { checkpointId: r.checkpointId, operationType: 'protect', limit: 1 }).catch(() => []);
    return logs[0]?.error_info ?? undefined;
  }
}

export const operations = new Operations();
