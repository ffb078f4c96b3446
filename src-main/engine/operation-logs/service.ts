import { and, eq, type SQL } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { formatTimestamp } from '../clock';
import type { Caller, EngineContext } from '../context';
import { operationLogs } from '../db/schema';
import type { JsonObject } from '../db/schema/common';
import { Invalid, NotFound } from '../errors';
import { listPage, parsePage, type RawPageQuery } from '../paging';
import { canSee, projectScope } from '../scope';
import { requireUuid } from '../validate';

export const OPERATION_TYPES = ['protect', 'restore', 'delete', 'verify', 'copy', 'retention'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export interface OperationLog {
  id: string;
  project_id: string;
  operation_type: string;
  checkpoint_id: string | null;
  plan_id: string | null;
  provider_id: string | null;
  restore_id: string | null;
  scheduled_operation_id: string | null;
  status: string;
  started_at: string | null;
  ended_at: string | null;
  error_info: string | null;
  extra_info: JsonObject | null;
}

export interface LogStart {
  projectId: string;
  operationType: OperationType;
  status: string;
  checkpointId?: string;
  planId?: string;
  providerId?: string;
  restoreId?: string;
  scheduledOperationId?: string;
  extraInfo?: JsonObject;
}

export interface LogFilters extends RawPageQuery {
  checkpoint_id?: string;
  plan_id?: string;
  restore_id?: string;
  scheduled_operation_id?: string;
  status?: string;
  operation_type?: string;
  all_tenants?: string;
}

type Row = typeof operationLogs.$inferSelect;
const SORTABLE = ['id', 'created_at', 'status', 'operation_type'] as const;

function view(r: Row): OperationLog {
  return {
    id: r.id,
    project_id: r.projectId,
    operation_type: r.operationType,
    checkpoint_id: r.checkpointId,
    plan_id: r.planId,
    provider_id: r.providerId,
    restore_id: r.restoreId,
    scheduled_operation_id: r.scheduledOperationId,
    status: r.status,
    started_at: r.startedAt,
    ended_at: r.endedAt,
    error_info: r.errorInfo,
    extra_info: r.extraInfo,
  };
}

/** Every operation leaves a row here: written when it starts, updated when it ends. */
export class OperationLogService {
  constructor(private readonly ctx: EngineContext) {}

  start(s: LogStart): string {
    const now = formatTimestamp(this.ctx.clock.now());
    const id = randomUUID();
    this.ctx.db
      .insert(operationLogs)
      .values({
        id,
        projectId: s.projectId,
        operationType: s.operationType,
        status: s.status,
        checkpointId: s.checkpointId ?? null,
        planId: s.planId ?? null,
        providerId: s.providerId ?? null,
        restoreId: s.restoreId ?? null,
        scheduledOperationId: s.scheduledOperationId ?? null,
        extraInfo: s.extraInfo ?? null,
        startedAt: now,
        createdAt: now,
      })
      .run();
    return id;
  }

  /** Records the end of an operation with its final status and, on failure, the reason. */
  finish(id: string, status: string, errorInfo?: string, extra?: JsonObject): void {
    const now = formatTimestamp(this.ctx.clock.now());
    const set: Partial<Row> = { status, endedAt: now, updatedAt: now, errorInfo: errorInfo ?? null };
    if (extra) {
      const cur = this.ctx.db.select({ e: operationLogs.extraInfo }).from(operationLogs).where(eq(operationLogs.id, id)).get();
      set.extraInfo = { ...(cur?.e ?? {}), ...extra };
    }
    this.ctx.db.update(operationLogs).set(set).where(eq(operationLogs.id, id)).run();
  }

  list(caller: Caller, q: LogFilters): OperationLog[] {
    const page = parsePage(q, SORTABLE);
    const f: (SQL | undefined)[] = [];
    if (q.checkpoint_id !== undefined) f.push(eq(operationLogs.checkpointId, requireUuid(q.checkpoint_id, 'checkpoint_id')));
    if (q.plan_id !== undefined) f.push(eq(operationLogs.planId, requireUuid(q.plan_id, 'plan_id')));
    if (q.restore_id !== undefined) f.push(eq(operationLogs.restoreId, requireUuid(q.restore_id, 'restore_id')));
    if (q.scheduled_operation_id !== undefined) {
      f.push(eq(operationLogs.scheduledOperationId, requireUuid(q.scheduled_operation_id, 'scheduled_operation_id')));
    }
    if (q.status !== undefined) f.push(eq(operationLogs.status, q.status));
    if (q.operation_type !== undefined) {
      if (!OPERATION_TYPES.includes(q.operation_type as OperationType)) {
        throw new Invalid(`operation_type must be one of ${OPERATION_TYPES.join(', ')}`);
      }
      f.push(eq(operationLogs.operationType, q.operation_type));
    }
    const rows = listPage<Row>(
      this.ctx.db,
      {
        table: operationLogs,
        columns: {
          id: operationLogs.id,
          created_at: operationLogs.createdAt,
          status: operationLogs.status,
          operation_type: operationLogs.operationType,
        },
      },
      projectScope(operationLogs.projectId, caller, q.all_tenants !== undefined),
      and(...f),
      page,
    );
    return rows.map(view);
  }

  get(caller: Caller, id: string): OperationLog {
    const row = this.ctx.db
      .select()
      .from(operationLogs)
      .where(eq(operationLogs.id, requireUuid(id, 'operation_log_id')))
      .get();
    if (!row || !canSee(caller, row.projectId)) throw new NotFound(`Operation log ${id} could not be found.`, 'OPERATION_LOG_NOT_FOUND');
    return view(row);
  }

  /** Marks `type` operations still in `from` (running when the process died) as `to`. */
  markInterrupted(type: OperationType, from: string, to: string, reason: string): number {
    const now = formatTimestamp(this.ctx.clock.now());
    return this.ctx.db
      .update(operationLogs)
      .set({ status: to, errorInfo: reason, endedAt: now, updatedAt: now })
      .where(and(eq(operationLogs.operationType, type), eq(operationLogs.status, from)))
      .run().changes;
  }
}
