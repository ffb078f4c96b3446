import { and, eq, sql, type SQL } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { formatTimestamp } from '../clock';
import type { Caller, EngineContext } from '../context';
import { plans, scheduledOperations, type PlanResource } from '../db/schema';
import type { JsonObject } from '../db/schema/common';
import { Conflict, Invalid, NotFound } from '../errors';
import { listPage, parsePage, type RawPageQuery } from '../paging';
import type { QuotaService } from '../quotas/service';
import { canSee, projectScope } from '../scope';
import { requireName, requireUuid } from '../validate';

export type PlanStatus = 'suspended' | 'started';
export const PLAN_STATUSES: readonly PlanStatus[] = ['suspended', 'started'];

export interface Plan {
  id: string;
  name: string;
  description: string | null;
  resources: PlanResource[];
  status: PlanStatus;
  provider_id: string;
  parameters: JsonObject;
  project_id: string;
  created_at: string;
  updated_at: string | null;
}

export interface PlanInput {
  name: string;
  description?: string | null;
  provider_id: string;
  resources: PlanResource[];
  parameters: JsonObject;
}

export interface PlanUpdate {
  name?: string;
  description?: string | null;
  resources?: PlanResource[];
  status?: PlanStatus;
  parameters?: JsonObject;
}

export interface PlanFilters extends RawPageQuery {
  name?: string;
  status?: string;
  provider_id?: string;
  all_tenants?: string;
}

type Row = typeof plans.$inferSelect;
const SORTABLE = ['id', 'name', 'status', 'created_at', 'provider_id'] as const;

function view(r: Row): Plan {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    resources: r.resources,
    status: r.status as PlanStatus,
    provider_id: r.providerId,
    parameters: r.parameters,
    project_id: r.projectId,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

/** Substring filter on the plan name (ASCII case-insensitive, like SQLite's LIKE); `%` and `_` are literal. */
function nameContains(text: string): SQL {
  const escaped = text.replace(/[\\%_]/g, (c) => `\\${c}`);
  return sql`${plans.name} LIKE ${`%${escaped}%`} ESCAPE '\\'`;
}

/** Protection plans: the resources to protect, with which provider and options. */
export class PlanService {
  constructor(
    private readonly ctx: EngineContext,
    private readonly quotas: QuotaService,
  ) {}

  list(caller: Caller, q: PlanFilters): Plan[] {
    const page = parsePage(q, SORTABLE);
    const filters: (SQL | undefined)[] = [];
    if (q.name !== undefined) filters.push(nameContains(q.name));
    if (q.status !== undefined) {
      if (!PLAN_STATUSES.includes(q.status as PlanStatus)) throw new Invalid(`status filter must be one of ${PLAN_STATUSES.join(', ')}`);
      filters.push(eq(plans.status, q.status));
    }
    if (q.provider_id !== undefined) filters.push(eq(plans.providerId, requireUuid(q.provider_id, 'provider_id')));
    const rows = listPage<Row>(
      this.ctx.db,
      {
        table: plans,
        columns: { id: plans.id, name: plans.name, status: plans.status, created_at: plans.createdAt, provider_id: plans.providerId },
      },
      projectScope(plans.projectId, caller, q.all_tenants !== undefined),
      and(...filters),
      page,
    );
    return rows.map(view);
  }

  get(caller: Caller, id: string): Plan {
    const row = this.ctx.db
      .select()
      .from(plans)
      .where(eq(plans.id, requireUuid(id, 'plan_id')))
      .get();
    if (!row || !canSee(caller, row.projectId)) throw new NotFound(`Plan ${id} could not be found.`, 'PLAN_NOT_FOUND');
    return view(row);
  }

  create(caller: Caller, input: PlanInput): Plan {
    const name = requireName(input.name, 'plan.name');
    const provider = this.ctx.providers.get(input.provider_id);
    const resources = this.checkResources(input.resources, provider.byType);
    this.ctx.providers.validateParameters(provider, input.parameters, 'options', 'plan.parameters');
    const now = formatTimestamp(this.ctx.clock.now());
    const row: Row = {
      id: randomUUID(),
      projectId: caller.projectId,
      name,
      description: input.description ?? null,
      providerId: provider.definition.id,
      status: 'suspended',
      resources,
      parameters: input.parameters,
      createdAt: now,
      updatedAt: null,
    };
    this.ctx.db.transaction((tx) => {
      this.quotas.reserve(tx, caller.projectId, 'plans', 1);
      tx.insert(plans).values(row).run();
    });
    return view(row);
  }

  update(caller: Caller, id: string, patch: PlanUpdate): Plan {
    const current = this.get(caller, id);
    const set: Partial<Row> = { updatedAt: formatTimestamp(this.ctx.clock.now()) };
    if (patch.name !== undefined) set.name = requireName(patch.name, 'plan.name');
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.status !== undefined) {
      if (!PLAN_STATUSES.includes(patch.status)) throw new Invalid(`plan.status must be one of ${PLAN_STATUSES.join(', ')}`);
      set.status = patch.status;
    }
    const provider = this.ctx.providers.get(current.provider_id);
    if (patch.resources !== undefined) set.resources = this.checkResources(patch.resources, provider.byType);
    if (patch.parameters !== undefined) {
      this.ctx.providers.validateParameters(provider, patch.parameters, 'options', 'plan.parameters');
      set.parameters = patch.parameters;
    }
    this.ctx.db.update(plans).set(set).where(eq(plans.id, current.id)).run();
    return this.get(caller, current.id);
  }

  delete(caller: Caller, id: string): void {
    const plan = this.get(caller, id);
    const users = this.ctx.db
      .select({ id: scheduledOperations.id, definition: scheduledOperations.operationDefinition })
      .from(scheduledOperations)
      .all()
      .filter((op) => op.definition.plan_id === plan.id);
    if (users.length) {
      throw new Conflict(`Plan ${plan.id} is used by scheduled operation ${users[0]?.id}; delete that first`, 'PLAN_IN_USE');
    }
    this.ctx.db.transaction((tx) => {
      tx.delete(plans).where(eq(plans.id, plan.id)).run();
      this.quotas.release(tx, plan.project_id, 'plans', 1);
    });
  }

  private checkResources(resources: PlanResource[], supported: Map<string, unknown>): PlanResource[] {
    if (!Array.isArray(resources) || resources.length === 0) throw new Invalid('plan.resources must be a non-empty list');
    const seen = new Set<string>();
    return resources.map((r, i) => {
      const field = `plan.resources[${i}]`;
      if (!this.ctx.protectables.has(r.type)) throw new Invalid(`${field}.type '${r.type}' is not a registered protectable type`);
      if (!supported.has(r.type)) throw new Invalid(`${field}.type '${r.type}' is not supported by this plan's provider`);
      const key = `${r.type}#${r.id}`;
      if (seen.has(key)) throw new Invalid(`${field} duplicates resource ${key}`);
      seen.add(key);
      const out: PlanResource = { id: r.id, type: r.type, name: requireName(r.name, `${field}.name`) };
      if (r.extra_info !== undefined) out.extra_info = r.extra_info;
      return out;
    });
  }
}
