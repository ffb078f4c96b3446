import { and, count, eq, ne } from 'drizzle-orm';
import type { Caller, EngineContext } from '../context';
import type { Db } from '../db/open';
import { checkpoints, plans, quotaClasses, quotas } from '../db/schema';
import { Forbidden, Invalid, OverQuota } from '../errors';

export const QUOTA_RESOURCES = ['plans', 'checkpoints'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];
export type QuotaSet = Record<QuotaResource, number>;

/** Karbor's defaults: 50 plans, unlimited (-1) checkpoints. */
export const DEFAULT_QUOTAS: QuotaSet = { plans: 50, checkpoints: -1 };

type Tx = Pick<Db, 'select'>;

/**
 * Quotas per project, falling back to the `default` quota class and then Karbor's defaults.
 * Usage is counted from the live rows inside the caller's transaction, so it cannot drift.
 */
export class QuotaService {
  constructor(private readonly ctx: EngineContext) {}

  defaults(): QuotaSet {
    return { ...DEFAULT_QUOTAS, ...this.classLimits('default') };
  }

  limits(projectId: string): QuotaSet {
    const rows = this.ctx.db.select().from(quotas).where(eq(quotas.projectId, projectId)).all();
    const own: Partial<QuotaSet> = {};
    for (const r of rows) own[r.resource as QuotaResource] = r.hardLimit;
    return { ...this.defaults(), ...own };
  }

  usage(tx: Tx, projectId: string, resource: QuotaResource): number {
    const row =
      resource === 'plans'
        ? tx.select({ n: count() }).from(plans).where(eq(plans.projectId, projectId)).get()
        : tx
            .select({ n: count() })
            .from(checkpoints)
            .where(and(eq(checkpoints.projectId, projectId), ne(checkpoints.status, 'deleted')))
            .get();
    return row?.n ?? 0;
  }

  /** Throws OverQuota when `n` more would pass the limit. Call inside the insert's transaction. */
  reserve(tx: Tx, projectId: string, resource: QuotaResource, n: number): void {
    const limit = this.limits(projectId)[resource];
    if (limit < 0) return;
    const used = this.usage(tx, projectId, resource);
    if (used + n > limit) {
      throw new OverQuota(`Quota exceeded for resources: ['${resource}'] (limit ${limit}, in use ${used})`);
    }
  }

  /** Usage is counted live, so nothing is held to give back; kept for symmetry at call sites. */
  release(_tx: Tx, _projectId: string, _resource: QuotaResource, _n: number): void {}

  show(caller: Caller, projectId: string): QuotaSet & { id: string } {
    this.requireAdminOrOwn(caller, projectId);
    return { id: projectId, ...this.limits(projectId) };
  }

  detail(caller: Caller, projectId: string): Record<string, unknown> {
    this.requireAdminOrOwn(caller, projectId);
    const limits = this.limits(projectId);
    const out: Record<string, unknown> = { id: projectId };
    for (const r of QUOTA_RESOURCES) {
      out[r] = { limit: limits[r], in_use: this.usage(this.ctx.db, projectId, r), reserved: 0 };
    }
    return out;
  }

  update(caller: Caller, projectId: string, values: Record<string, unknown>): QuotaSet & { id: string } {
    this.requireAdmin(caller);
    const parsed = parseQuotaValues(values, 'quota');
    this.ctx.db.transaction((tx) => {
      for (const [resource, limit] of Object.entries(parsed)) {
        tx.insert(quotas)
          .values({ projectId, resource, hardLimit: limit })
          .onConflictDoUpdate({ target: [quotas.projectId, quotas.resource], set: { hardLimit: limit } })
          .run();
      }
    });
    return { id: projectId, ...this.limits(projectId) };
  }

  showClass(caller: Caller, className: string): QuotaSet & { id: string } {
    this.requireAdmin(caller);
    return { id: className, ...DEFAULT_QUOTAS, ...this.classLimits(className) };
  }

  updateClass(caller: Caller, className: string, values: Record<string, unknown>): QuotaSet & { id: string } {
    this.requireAdmin(caller);
    const parsed = parseQuotaValues(values, 'quota_class');
    this.ctx.db.transaction((tx) => {
      for (const [resource, limit] of Object.entries(parsed)) {
        tx.insert(quotaClasses)
          .values({ className, resource, hardLimit: limit })
          .onConflictDoUpdate({ target: [quotaClasses.className, quotaClasses.resource], set: { hardLimit: limit } })
          .run();
      }
    });
    return this.showClass(caller, className);
  }

  private classLimits(className: string): Partial<QuotaSet> {
    const out: Partial<QuotaSet> = {};
    for (const r of this.ctx.db.select().from(quotaClasses).where(eq(quotaClasses.className, className)).all()) {
      out[r.resource as QuotaResource] = r.hardLimit;
    }
    return out;
  }

  private requireAdmin(caller: Caller): void {
    if (!caller.isAdmin) throw new Forbidden('Policy does not allow this operation: admin role required', 'ADMIN_REQUIRED');
  }

  private requireAdminOrOwn(caller: Caller, projectId: string): void {
    if (!caller.isAdmin && caller.projectId !== projectId) {
      throw new Forbidden("Policy does not allow reading another project's quotas", 'ADMIN_REQUIRED');
    }
  }
}

function parseQuotaValues(values: Record<string, unknown>, field: string): Partial<QuotaSet> {
  const out: Partial<QuotaSet> = {};
  if (Object.keys(values).length === 0) throw new Invalid(`${field} must set at least one of ${QUOTA_RESOURCES.join(', ')}`);
  for (const [k, v] of Object.entries(values)) {
    if (!QUOTA_RESOURCES.includes(k as QuotaResource))
      throw new Invalid(`${field}.${k} is not a quota resource (known: ${QUOTA_RESOURCES.join(', ')})`);
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < -1) throw new Invalid(`${field}.${k} must be an integer >= -1`);
    out[k as QuotaResource] = n;
  }
  return out;
}
