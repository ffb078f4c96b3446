import { and, eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { formatTimestamp } from '../clock';
import type { Caller, EngineContext } from '../context';
import { scheduleStates, scheduledOperations } from '../db/schema';
import type { JsonObject } from '../db/schema/common';
import { Invalid, NotFound } from '../errors';
import { listPage, parsePage, type RawPageQuery } from '../paging';
import type { PlanService } from '../plans/service';
import { canSee, projectScope } from '../scope';
import type { TriggerService } from '../triggers/service';
import { requireName, requireUuid } from '../validate';

export const SCHEDULED_OPERATION_TYPES = ['protect', 'retention_protect'] as const;

export interface ScheduledOperation {
  id: string;
  name: string;
  description: string | null;
  operation_type: string;
  trigger_id: string;
  operation_definition: JsonObject;
  enabled: boolean;
  project_id: string;
  created_at: string;
  /** When the scheduler will next run it (UTC ISO), null when disabled or finished. */
  next_run_at: string | null;
  last_run: { at: string; status: string | null; checkpoint_id: string | null; error: string | null } | null;
}

export interface ScheduledOperationInput {
  name?: string;
  description?: string | null;
  operation_type?: string;
  trigger_id?: string;
  operation_definition?: unknown;
}

export interface ScheduledOperationFilters extends RawPageQuery {
  name?: string;
  operation_type?: string;
  trigger_id?: string;
  all_tenants?: string;
}

type Row = typeof scheduledOperations.$inferSelect;

function view(r: Row, s?: typeof scheduleStates.$inferSelect): ScheduledOperation {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    operation_type: r.operationType,
    trigger_id: r.triggerId,
    operation_definition: r.operationDefinition,
    enabled: r.enabled,
    project_id: r.projectId,
    created_at: r.createdAt,
    next_run_at: r.enabled ? (s?.nextRunAt ?? null) : null,
    last_run: s?.lastRunAt ? { at: s.lastRunAt, status: s.lastRunStatus, checkpoint_id: s.lastCheckpointId, error: s.lastError } : null,
  };
}

function optionalInt(def: Record<string, unknown>, key: string): number | undefined {
  const v = def[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n))
    throw new Invalid(`scheduled_operation.operation_definition.${key} must be an integer`);
  return n;
}

/** Operations (protect, retention_protect) that a trigger runs on a plan. */
export class ScheduledOperationService {
  /** Called after an operation is created, enabled, disabled or deleted. */
  onChange: (operationId: string) => void = () => undefined;

  constructor(
    private readonly ctx: EngineContext,
    private readonly plans: PlanService,
    private readonly triggers: TriggerService,
  ) {}

  list(caller: Caller, q: ScheduledOperationFilters): ScheduledOperation[] {
    const page = parsePage(q, ['id', 'name', 'created_at']);
    const f = [];
    if (q.name !== undefined) f.push(eq(scheduledOperations.name, q.name));
    if (q.operation_type !== undefined) f.push(eq(scheduledOperations.operationType, q.operation_type));
    if (q.trigger_id !== undefined) f.push(eq(scheduledOperations.triggerId, requireUuid(q.trigger_id, 'trigger_id')));
    return listPage<Row>(
      this.ctx.db,
      {
        table: scheduledOperations,
        columns: { id: scheduledOperations.id, name: scheduledOperations.name, created_at: scheduledOperations.createdAt },
      },
      projectScope(scheduledOperations.projectId, caller, q.all_tenants !== undefined),
      and(...f),
      page,
    ).map((r) => this.view(r));
  }

  get(caller: Caller, id: string): ScheduledOperation {
    const row = this.ctx.db
      .select()
      .from(scheduledOperations)
      .where(eq(scheduledOperations.id, requireUuid(id, 'scheduled_operation_id')))
      .get();
    if (!row || !canSee(caller, row.projectId))
      throw new NotFound(`Scheduled operation ${id} could not be found.`, 'SCHEDULED_OPERATION_NOT_FOUND');
    return this.view(row);
  }

  create(caller: Caller, input: ScheduledOperationInput): ScheduledOperation {
    const name = requireName(input.name, 'scheduled_operation.name');
    const type = input.operation_type;
    if (!SCHEDULED_OPERATION_TYPES.includes(type as (typeof SCHEDULED_OPERATION_TYPES)[number])) {
      throw new Invalid(`scheduled_operation.operation_type must be one of ${SCHEDULED_OPERATION_TYPES.join(', ')}, got '${String(type)}'`);
    }
    const trigger = this.triggers.get(caller, requireUuid(input.trigger_id, 'scheduled_operation.trigger_id'));
    const def = input.operation_definition;
    if (def === null || typeof def !== 'object' || Array.isArray(def))
      throw new Invalid('scheduled_operation.operation_definition must be an object');
    const d = def as Record<string, unknown>;
    const providerId = requireUuid(d.provider_id, 'scheduled_operation.operation_definition.provider_id');
    const planId = requireUuid(d.plan_id, 'scheduled_operation.operation_definition.plan_id');
    this.ctx.providers.get(providerId);
    const plan = this.plans.get(caller, planId);
    if (plan.provider_id !== providerId) {
      throw new Invalid(
        `scheduled_operation.operation_definition: plan ${planId} belongs to provider ${plan.provider_id}, not ${providerId}`,
      );
    }
    const definition: JsonObject = { ...(d as JsonObject), provider_id: providerId, plan_id: planId };
    for (const key of ['max_backups', 'retention_duration']) {
      const n = optionalInt(d, key);
      if (n !== undefined) definition[key] = n;
    }
    const row: Row = {
      id: randomUUID(),
      projectId: caller.projectId,
      name,
      description: input.description ?? null,
      operationType: type as string,
      triggerId: trigger.id,
      operationDefinition: definition,
      enabled: true,
      createdAt: formatTimestamp(this.ctx.clock.now()),
      updatedAt: null,
    };
    this.ctx.db.insert(scheduledOperations).values(row).run();
    this.onChange(row.id);
    return this.view(row);
  }

  private view(r: Row): ScheduledOperation {
    return view(r, this.ctx.db.select().from(scheduleStates).where(eq(scheduleStates.operationId, r.id)).get());
  }

  setEnabled(caller: Caller, id: string, enabled: boolean): ScheduledOperation {
    const cur = this.get(caller, id);
    this.ctx.db
      .update(scheduledOperations)
      .set({ enabled, updatedAt: formatTimestamp(this.ctx.clock.now()) })
      .where(eq(scheduledOperations.id, cur.id))
      .run();
    this.onChange(cur.id);
    return this.get(caller, cur.id);
  }

  delete(caller: Caller, id: string): void {
    const cur = this.get(caller, id);
    this.ctx.db.delete(scheduledOperations).where(eq(scheduledOperations.id, cur.id)).run();
    this.onChange(cur.id);
  }
}
