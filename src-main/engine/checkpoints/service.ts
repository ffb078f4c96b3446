import { and, eq, gte, inArray, lt, ne, type SQL } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { formatTimestamp } from '../clock';
import type { Caller, EngineContext } from '../context';
import { checkpoints, type ProtectionPlanSnapshot } from '../db/schema';
import type { JsonObject } from '../db/schema/common';
import { Conflict, Invalid, NotFound } from '../errors';
import type { JobQueue } from '../jobs';
import type { OperationLogService } from '../operation-logs/service';
import { listPage, parsePage, type RawPageQuery } from '../paging';
import type { PlanService } from '../plans/service';
import type { ProtectionRunner } from '../protection/runner';
import type { QuotaService } from '../quotas/service';
import { canSee, projectScope } from '../scope';
import { parseDateFilter, requireUuid } from '../validate';

export const CHECKPOINT_STATUSES = ['protecting', 'copying', 'available', 'error', 'deleting', 'deleted', 'error-deleting'] as const;
export type CheckpointStatus = (typeof CHECKPOINT_STATUSES)[number];

export interface Checkpoint {
  id: string;
  project_id: string;
  provider_id: string;
  status: CheckpointStatus;
  protection_plan: ProtectionPlanSnapshot;
  resource_graph: string | null;
  created_at: string;
  extra_info: JsonObject | null;
}

export interface CheckpointResource {
  key: string;
  type: string;
  id: string;
  name: string;
  status: string;
  saved_info: JsonObject | null;
  error: string | null;
  bytes: number;
  /** Size of the resource's data in this checkpoint, unchanged parts included. */
  data_bytes: number;
  /** What this checkpoint added to the bank for it (new chunks, compressed); the rest was deduplicated. */
  new_bytes: number;
  started_at: string | null;
  ended_at: string | null;
}

export interface CheckpointFilters extends RawPageQuery {
  plan_id?: string;
  start_date?: string;
  end_date?: string;
  status?: string;
  all_tenants?: string;
}

/** What the copy action answers (Karbor's `copy` body; `checkpoint_id` lists the new checkpoints). */
export interface CopyResult {
  project_id: string;
  provider_id: string;
  plan_id: string;
  checkpoint_id: string[];
  parameters: JsonObject;
}

export interface CreateOptions {
  extraInfo?: JsonObject | null;
  scheduledOperationId?: string;
}

type Row = typeof checkpoints.$inferSelect;
const SORTABLE = ['id', 'created_at', 'status'] as const;

function view(r: Row): Checkpoint {
  return {
    id: r.id,
    project_id: r.projectId,
    provider_id: r.providerId,
    status: r.status as CheckpointStatus,
    protection_plan: r.protectionPlan,
    resource_graph: r.resourceGraph,
    created_at: r.createdAt,
    extra_info: r.extraInfo,
  };
}

/** Checkpoints: one protection of a plan, in a provider's bank. */
export class CheckpointService {
  constructor(
    private readonly ctx: EngineContext,
    private readonly plans: PlanService,
    private readonly quotas: QuotaService,
    private readonly logs: OperationLogService,
    private readonly jobs: JobQueue,
    private readonly runner: ProtectionRunner,
  ) {}

  list(caller: Caller, providerId: string, q: CheckpointFilters): Checkpoint[] {
    const provider = this.ctx.providers.get(providerId);
    const page = parsePage(q, SORTABLE);
    const f: (SQL | undefined)[] = [eq(checkpoints.providerId, provider.definition.id), ne(checkpoints.status, 'deleted')];
    if (q.plan_id !== undefined) f.push(eq(checkpoints.planId, requireUuid(q.plan_id, 'plan_id')));
    if (q.status !== undefined) {
      if (!CHECKPOINT_STATUSES.includes(q.status as CheckpointStatus)) {
        throw new Invalid(`status filter must be one of ${CHECKPOINT_STATUSES.join(', ')}`);
      }
      f.push(eq(checkpoints.status, q.status));
    }
    const start = q.start_date !== undefined ? parseDateFilter(q.start_date, 'start_date') : undefined;
    const end = q.end_date !== undefined ? parseDateFilter(q.end_date, 'end_date') : undefined;
    if (start && end && end < start) throw new Invalid('end_date must not be before start_date');
    if (start) f.push(gte(checkpoints.createdAt, formatTimestamp(start)));
    // end_date is inclusive: everything before the next day.
    if (end) f.push(lt(checkpoints.createdAt, formatTimestamp(new Date(end.getTime() + 86_400_000))));
    const rows = listPage<Row>(
      this.ctx.db,
      { table: checkpoints, columns: { id: checkpoints.id, created_at: checkpoints.createdAt, status: checkpoints.status } },
      projectScope(checkpoints.projectId, caller, q.all_tenants !== undefined),
      and(...f),
      page,
    );
    return rows.map(view);
  }

  /** A checkpoint by id, deleted ones included (Karbor kept them readable). */
  get(caller: Caller, providerId: string, id: string): Checkpoint {
    const provider = this.ctx.providers.get(providerId);
    const row = this.ctx.db
      .select()
      .from(checkpoints)
      .where(eq(checkpoints.id, requireUuid(id, 'checkpoint_id')))
      .get();
    if (!row || !canSee(caller, row.projectId) || row.providerId !== provider.definition.id) {
      throw new NotFound(`Checkpoint ${id} could not be found.`, 'CHECKPOINT_NOT_FOUND');
    }
    return view(row);
  }

  /** Starts protecting a plan: returns the checkpoint in `protecting`; a job finishes it. */
  create(caller: Caller, providerId: string, planId: string, opts: CreateOptions = {}): Checkpoint {
    const provider = this.ctx.providers.get(providerId);
    const plan = this.plans.get(caller, requireUuid(planId, 'checkpoint.plan_id'));
    if (plan.provider_id !== provider.definition.id) {
      throw new Invalid(`plan ${plan.id} belongs to provider ${plan.provider_id}, not ${provider.definition.id}`, 'PROVIDER_MISMATCH');
    }
    const now = formatTimestamp(this.ctx.clock.now());
    const row: Row = {
      id: randomUUID(),
      projectId: plan.project_id,
      providerId: provider.definition.id,
      planId: plan.id,
      protectionPlan: { id: plan.id, name: plan.name, provider_id: plan.provider_id, resources: plan.resources },
      status: 'protecting',
      resourceGraph: null,
      extraInfo: opts.extraInfo ?? null,
      errorReason: null,
      createdAt: now,
      updatedAt: null,
    };
    this.ctx.db.transaction((tx) => {
      this.quotas.reserve(tx, plan.project_id, 'checkpoints', 1);
      tx.insert(checkpoints).values(row).run();
    });
    const logId = this.logs.start({
      projectId: plan.project_id,
      operationType: 'protect',
      status: 'protecting',
      checkpointId: row.id,
      planId: plan.id,
      providerId: provider.definition.id,
      scheduledOperationId: opts.scheduledOperationId,
      extraInfo: opts.extraInfo ?? undefined,
    });
    this.emit(row, 'protecting');
    this.jobs.enqueue(`protect ${row.id}`, async () => {
      try {
        const graph = await this.runner.protect(plan, row.id);
        // The log closes first, so listeners of the status event see a finished operation.
        this.logs.finish(logId, 'available');
        this.setStatus(row, 'available', { resourceGraph: graph });
      } catch (err) {
        const reason = errorText(err);
        this.logs.finish(logId, 'error', reason);
        this.setStatus(row, 'error', { errorReason: reason });
      }
    });
    return view(row);
  }

  /**
   * Karbor's copy action: every available checkpoint of the plan not copied yet goes into the bank
   * of `parameters.provider_id` as a new checkpoint there (`copying` → `available` | `error`, its
   * `extra_info.copy_of` naming the source, `created_at` kept so retention counts it by age).
   * Returns the new checkpoints' ids at once; a job per checkpoint does the copying, in order.
   */
  copy(caller: Caller, providerId: string, planId: string, parameters: JsonObject | null): CopyResult {
    const source = this.ctx.providers.get(providerId);
    const plan = this.plans.get(caller, requireUuid(planId, 'copy.plan_id'));
    if (plan.provider_id !== source.definition.id) {
      throw new Invalid(`plan ${plan.id} belongs to provider ${plan.provider_id}, not ${source.definition.id}`, 'PROVIDER_MISMATCH');
    }
    const targetId = parameters?.provider_id;
    if (typeof targetId !== 'string') {
      throw new Invalid('copy.parameters.provider_id must name the provider whose bank receives the copies', 'COPY_TARGET_MISSING');
    }
    const target = this.ctx.providers.get(requireUuid(targetId, 'copy.parameters.provider_id'));
    if (target.definition.id === source.definition.id)
      throw new Invalid('a checkpoint cannot be copied into its own provider', 'COPY_TARGET_SAME');
    for (const p of [source, target]) {
      if (!p.definition.bank || p.definition.bank.type === 'none') {
        throw new Invalid(`provider ${p.definition.name} has no bank to copy ${p === source ? 'from' : 'into'}`, 'COPY_NO_BANK');
      }
    }
    const unsupported = [...new Set(plan.resources.map((r) => r.type))].filter((t) => !target.byType.has(t));
    if (unsupported.length) {
      throw new Invalid(
        `provider ${target.definition.name} cannot hold resources of type ${unsupported.join(', ')}`,
        'COPY_TYPE_UNSUPPORTED',
      );
    }
    const all = this.ctx.db
      .select()
      .from(checkpoints)
      .where(and(eq(checkpoints.planId, plan.id), inArray(checkpoints.providerId, [source.definition.id, target.definition.id])))
      .orderBy(checkpoints.createdAt, checkpoints.id)
      .all();
    const copied = new Set(
      all
        .filter((c) => c.providerId === target.definition.id && c.status !== 'deleted' && c.extraInfo?.copy_of)
        .map((c) => c.extraInfo?.copy_of),
    );
    const sources = all.filter((c) => c.providerId === source.definition.id && c.status === 'available');
    if (!sources.length)
      throw new Invalid(`plan ${plan.id} has no available checkpoint in provider ${source.definition.name} to copy`, 'PLAN_NOT_PROTECTED');
    const todo = sources.filter((c) => !copied.has(c.id));
    const now = formatTimestamp(this.ctx.clock.now());
    const rows: Row[] = todo.map((c) => ({
      ...c,
      id: randomUUID(),
      providerId: target.definition.id,
      status: 'copying',
      extraInfo: { ...(c.extraInfo ?? {}), copy_of: c.id, copied_from_provider: source.definition.id },
      errorReason: null,
      updatedAt: now,
    }));
    this.ctx.db.transaction((tx) => {
      if (rows.length) this.quotas.reserve(tx, plan.project_id, 'checkpoints', rows.length);
      for (const r of rows) tx.insert(checkpoints).values(r).run();
    });
    rows.forEach((row, i) => {
      const src = view(todo[i] as Row);
      const logId = this.logs.start({
        projectId: plan.project_id,
        operationType: 'copy',
        status: 'copying',
        checkpointId: row.id,
        planId: plan.id,
        providerId: target.definition.id,
        extraInfo: { copy_of: src.id, copied_from_provider: source.definition.id },
      });
      this.emit(row, 'copying');
      this.jobs.enqueue(`copy ${src.id} → ${row.id}`, async () => {
        try {
          await this.runner.copy(src, target, row.id);
          this.logs.finish(logId, 'available');
          this.setStatus(row, 'available');
        } catch (err) {
          const reason = errorText(err);
          this.logs.finish(logId, 'error', reason);
          this.setStatus(row, 'error', { errorReason: reason });
        }
      });
    });
    return {
      project_id: plan.project_id,
      provider_id: source.definition.id,
      plan_id: plan.id,
      checkpoint_id: rows.map((r) => r.id),
      parameters: parameters ?? {},
    };
  }

  /** Deletes from `available` or `error`; the checkpoint passes through `deleting`. */
  delete(caller: Caller, providerId: string, id: string): void {
    const cp = this.get(caller, providerId, id);
    const claimed = this.ctx.db
      .update(checkpoints)
      .set({ status: 'deleting', updatedAt: formatTimestamp(this.ctx.clock.now()) })
      .where(and(eq(checkpoints.id, cp.id), eq(checkpoints.status, cp.status)))
      .run().changes;
    if (!['available', 'error'].includes(cp.status) || claimed === 0) {
      if (claimed) this.ctx.db.update(checkpoints).set({ status: cp.status }).where(eq(checkpoints.id, cp.id)).run();
      throw new Conflict(`Checkpoint ${cp.id} is ${cp.status}; only available or error checkpoints can be deleted`, 'CHECKPOINT_BUSY');
    }
    const row = this.row(cp.id);
    const logId = this.logs.start({
      projectId: cp.project_id,
      operationType: 'delete',
      status: 'deleting',
      checkpointId: cp.id,
      planId: cp.protection_plan.id,
      providerId: cp.provider_id,
    });
    this.emit(row, 'deleting');
    this.jobs.enqueue(`delete ${cp.id}`, async () => {
      try {
        await this.runner.deleteCheckpoint(cp);
        this.logs.finish(logId, 'deleted');
        this.setStatus(row, 'deleted');
      } catch (err) {
        const reason = errorText(err);
        this.logs.finish(logId, 'error-deleting', reason);
        this.setStatus(row, 'error-deleting', { errorReason: reason });
      }
    });
  }

  /** Per-resource status, saved info, bytes and error of a checkpoint (for detail views). */
  resources(caller: Caller, providerId: string, id: string): CheckpointResource[] {
    const cp = this.get(caller, providerId, id);
    return this.runner.resources(cp.id).map((r) => ({
      key: r.resourceKey,
      type: r.resourceType,
      id: r.resourceId,
      name: r.name,
      status: r.status,
      saved_info: r.savedInfo,
      error: r.error,
      bytes: r.bytes,
      data_bytes: r.dataBytes,
      new_bytes: r.newBytes,
      started_at: r.startedAt,
      ended_at: r.endedAt,
    }));
  }

  /** Stops a running protect; the checkpoint ends `error` ("cancelled by the user"). */
  cancel(caller: Caller, providerId: string, id: string): void {
    const cp = this.get(caller, providerId, id);
    if (!['protecting', 'copying'].includes(cp.status) || !this.runner.cancel(cp.id)) {
      throw new Conflict(`Checkpoint ${cp.id} is ${cp.status}; only a running protect or copy can be cancelled`, 'CHECKPOINT_NOT_RUNNING');
    }
  }

  /** Karbor's `os-resetState`: forces `available` or `error` (for repair after a failure). */
  resetState(caller: Caller, providerId: string, id: string, state: string): void {
    const cp = this.get(caller, providerId, id);
    if (state !== 'available' && state !== 'error') {
      throw new Invalid(`os-resetState.state must be 'available' or 'error', got '${state}'`);
    }
    if (cp.status === 'deleted') throw new Conflict(`Checkpoint ${cp.id} is deleted`, 'CHECKPOINT_DELETED');
    this.setStatus(this.row(cp.id), state);
  }

  /** Used by restores and verifications: the checkpoint must exist and be `available`. */
  requireAvailable(caller: Caller, providerId: string, id: string, field: string): Checkpoint {
    const cp = this.get(caller, providerId, requireUuid(id, field));
    if (cp.status !== 'available') throw new Invalid(`checkpoint ${cp.id} is ${cp.status}, not available`, 'CHECKPOINT_NOT_AVAILABLE');
    return cp;
  }

  private row(id: string): Row {
    const r = this.ctx.db.select().from(checkpoints).where(eq(checkpoints.id, id)).get();
    if (!r) throw new NotFound(`Checkpoint ${id} could not be found.`, 'CHECKPOINT_NOT_FOUND');
    return r;
  }

  private setStatus(row: Row, status: CheckpointStatus, extra: Partial<Row> = {}): void {
    this.ctx.db
      .update(checkpoints)
      .set({ ...extra, status, updatedAt: formatTimestamp(this.ctx.clock.now()) })
      .where(eq(checkpoints.id, row.id))
      .run();
    this.emit(row, status, extra.errorReason ?? undefined);
  }

  private emit(row: Row, status: string, error?: string): void {
    this.ctx.events.emit('checkpoint.status', { checkpointId: row.id, planId: row.planId, providerId: row.providerId, status, error });
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
