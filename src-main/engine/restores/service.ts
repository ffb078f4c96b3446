import { and, eq, type SQL } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { formatTimestamp } from '../clock';
import type { CheckpointService } from '../checkpoints/service';
import { errorText } from '../checkpoints/service';
import type { Caller, EngineContext } from '../context';
import { restores, verifications, type RestoreAuth } from '../db/schema';
import type { JsonObject } from '../db/schema/common';
import { Invalid, NotFound } from '../errors';
import type { JobQueue } from '../jobs';
import type { OperationLogService } from '../operation-logs/service';
import { listPage, parsePage, type RawPageQuery } from '../paging';
import type { ProtectionRunner, ResourceOutcome } from '../protection/runner';
import type { RestoreTarget } from '../providers/types';
import { canSee, projectScope } from '../scope';
import { requireUuid } from '../validate';

export const RUN_STATUSES = ['in_progress', 'success', 'fail'] as const;

export interface Restore {
  id: string;
  project_id: string;
  provider_id: string;
  checkpoint_id: string;
  restore_target: string | null;
  restore_auth: RestoreAuth | null;
  parameters: JsonObject;
  status: string;
  resources_status: Record<string, string>;
  resources_reason: Record<string, string>;
  created_at: string;
}

export type Verification = Omit<Restore, 'restore_target' | 'restore_auth'>;

export interface RestoreInput {
  provider_id: string;
  checkpoint_id: string;
  parameters: JsonObject;
  restore_target?: string | null;
  restore_auth?: RestoreAuth | null;
}

export interface RunFilters extends RawPageQuery {
  status?: string;
  checkpoint_id?: string;
  provider_id?: string;
  all_tenants?: string;
}

type Kind = 'restore' | 'verification';
type Table = typeof restores | typeof verifications;
type Row = typeof restores.$inferSelect;

/** Never give a secret back: every auth value but `type` and `username` is shown as `***`. */
export function maskAuth(auth: RestoreAuth | null): RestoreAuth | null {
  if (!auth) return null;
  const out: RestoreAuth = {};
  for (const [k, v] of Object.entries(auth)) out[k] = k === 'type' || k === 'username' ? v : '***';
  return out;
}

/**
 * Restores and verifications: both run a checkpoint's graph and end `success` or `fail` with a
 * status per resource. They differ only in their table, schema and runner call.
 */
class CheckpointRunService {
  constructor(
    protected readonly ctx: EngineContext,
    private readonly kind: Kind,
    private readonly table: Table,
    private readonly checkpoints: CheckpointService,
    private readonly logs: OperationLogService,
    private readonly jobs: JobQueue,
    private readonly run: (
      cp: ReturnType<CheckpointService['get']>,
      p: JsonObject,
      target: RestoreTarget | null,
    ) => Promise<ResourceOutcome>,
  ) {}

  protected listRows(caller: Caller, q: RunFilters): Row[] {
    const t = this.table;
    const page = parsePage(q, ['id', 'created_at', 'status']);
    const f: (SQL | undefined)[] = [];
    if (q.status !== undefined) {
      if (!RUN_STATUSES.includes(q.status as (typeof RUN_STATUSES)[number]))
        throw new Invalid(`status filter must be one of ${RUN_STATUSES.join(', ')}`);
      f.push(eq(t.status, q.status));
    }
    if (q.checkpoint_id !== undefined) f.push(eq(t.checkpointId, requireUuid(q.checkpoint_id, 'checkpoint_id')));
    if (q.provider_id !== undefined) f.push(eq(t.providerId, requireUuid(q.provider_id, 'provider_id')));
    return listPage<Row>(
      this.ctx.db,
      { table: t, columns: { id: t.id, created_at: t.createdAt, status: t.status } },
      projectScope(t.projectId, caller, q.all_tenants !== undefined),
      and(...f),
      page,
    );
  }

  protected getRow(caller: Caller, id: string): Row {
    const row = this.ctx.db
      .select()
      .from(this.table)
      .where(eq(this.table.id, requireUuid(id, `${this.kind}_id`)))
      .get() as Row | undefined;
    if (!row || !canSee(caller, row.projectId))
      throw new NotFound(`${this.kind === 'restore' ? 'Restore' : 'Verification'} ${id} could not be found.`);
    return row;
  }

  /** Records the run and queues it; `target` (with its secret) reaches only the job, never the row. */
  protected start(caller: Caller, input: RestoreInput, extra: Partial<Row>, target: RestoreTarget | null = null): Row {
    const provider = this.ctx.providers.get(requireUuid(input.provider_id, `${this.kind}.provider_id`));
    const cp = this.checkpoints.requireAvailable(caller, provider.definition.id, input.checkpoint_id, `${this.kind}.checkpoint_id`);
    this.ctx.providers.validateParameters(
      provider,
      input.parameters,
      this.kind === 'restore' ? 'restore' : 'verify',
      `${this.kind}.parameters`,
    );
    const row: Row = {
      id: randomUUID(),
      projectId: cp.project_id,
      providerId: provider.definition.id,
      checkpointId: cp.id,
      restoreTarget: null,
      restoreAuth: null,
      parameters: input.parameters,
      status: 'in_progress',
      resourcesStatus: {},
      resourcesReason: {},
      createdAt: formatTimestamp(this.ctx.clock.now()),
      updatedAt: null,
      ...extra,
    };
    const { restoreTarget: _t, restoreAuth: _a, ...verificationRow } = row;
    this.ctx.db
      .insert(this.table)
      .values(this.kind === 'restore' ? row : verificationRow)
      .run();
    const logId = this.logs.start({
      projectId: cp.project_id,
      operationType: this.kind === 'restore' ? 'restore' : 'verify',
      status: 'in_progress',
      checkpointId: cp.id,
      planId: cp.protection_plan.id,
      providerId: provider.definition.id,
      restoreId: this.kind === 'restore' ? row.id : undefined,
      extraInfo: this.kind === 'verification' ? { verification_id: row.id } : undefined,
    });
    this.jobs.enqueue(`${this.kind} ${row.id}`, async () => {
      let status = 'fail';
      let error: string | undefined;
      const set: Partial<Row> = {};
      try {
        const outcome = await this.run(cp, input.parameters, target);
        status = outcome.failed ? 'fail' : 'success';
        set.resourcesStatus = outcome.status;
        set.resourcesReason = outcome.reason;
        if (outcome.failed)
          error = Object.entries(outcome.reason)
            .map(([k, v]) => `${k}: ${v}`)
            .join('; ');
      } catch (err) {
        error = errorText(err);
      }
      this.ctx.db
        .update(this.table)
        .set({ ...set, status, updatedAt: formatTimestamp(this.ctx.clock.now()) })
        .where(eq(this.table.id, row.id))
        .run();
      this.logs.finish(logId, status, error);
      if (this.kind === 'restore') this.ctx.events.emit('restore.status', { restoreId: row.id, checkpointId: cp.id, status });
      else this.ctx.events.emit('verification.status', { verificationId: row.id, checkpointId: cp.id, status });
    });
    return row;
  }
}

function restoreView(r: Row): Restore {
  return {
    id: r.id,
    project_id: r.projectId,
    provider_id: r.providerId,
    checkpoint_id: r.checkpointId,
    restore_target: r.restoreTarget,
    restore_auth: maskAuth(r.restoreAuth),
    parameters: r.parameters,
    status: r.status,
    resources_status: r.resourcesStatus,
    resources_reason: r.resourcesReason,
    created_at: r.createdAt,
  };
}

function verificationView(r: Row): Verification {
  const { restore_target: _t, restore_auth: _a, ...rest } = restoreView(r);
  return rest;
}

/** Restores of checkpoints (into the same place, or a `restore_target` with `restore_auth`). */
export class RestoreService extends CheckpointRunService {
  constructor(ctx: EngineContext, checkpoints: CheckpointService, logs: OperationLogService, jobs: JobQueue, runner: ProtectionRunner) {
    super(ctx, 'restore', restores, checkpoints, logs, jobs, (cp, p, target) => runner.restore(cp, p, target));
  }
  list(caller: Caller, q: RunFilters): Restore[] {
    return this.listRows(caller, q).map(restoreView);
  }
  get(caller: Caller, id: string): Restore {
    return restoreView(this.getRow(caller, id));
  }
  /**
   * Starts a restore. `restore_auth` is stored masked from the start: the clear secret goes
   * only to the running job, with `restore_target` (without a target it is not needed, and
   * dropped), and is gone when the job ends; an engine that stops mid-restore has nothing to forget.
   */
  create(caller: Caller, input: RestoreInput): Restore {
    const auth = input.restore_auth ?? null;
    if (auth && (typeof auth !== 'object' || Array.isArray(auth))) throw new Invalid('restore.restore_auth must be an object');
    const url = input.restore_target ?? null;
    const target = url ? { url, auth } : null;
    return restoreView(this.start(caller, input, { restoreTarget: url, restoreAuth: maskAuth(auth) }, target));
  }
}

/** Verifications: re-read a checkpoint and report per resource whether it is intact. */
export class VerificationService extends CheckpointRunService {
  constructor(ctx: EngineContext, checkpoints: CheckpointService, logs: OperationLogService, jobs: JobQueue, runner: ProtectionRunner) {
    super(ctx, 'verification', verifications, checkpoints, logs, jobs, (cp, p) => runner.verify(cp, p));
  }
  list(caller: Caller, q: RunFilters): Verification[] {
    return this.listRows(caller, q).map(verificationView);
  }
  get(caller: Caller, id: string): Verification {
    return verificationView(this.getRow(caller, id));
  }
  create(caller: Caller, input: Omit<RestoreInput, 'restore_target' | 'restore_auth'>): Verification {
    return verificationView(this.start(caller, input, {}));
  }
}
