import { and, desc, eq } from 'drizzle-orm';
import type { Caller, EngineContext } from '../context';
import type { CheckpointService } from '../checkpoints/service';
import { checkpoints } from '../db/schema';

export interface RetentionPolicy {
  /** Keep at most this many newest `available` checkpoints; ≤ 0 keeps all. */
  maxBackups?: number;
  /** Delete `available` checkpoints older than this many days; ≤ 0 keeps all. */
  retentionDays?: number;
}

/**
 * The plan's `available` checkpoints that a policy removes: those beyond the newest
 * `maxBackups`, and those older than `retentionDays`, in one provider (copies in another
 * provider's bank are counted there). Newest first is the order kept.
 */
export function checkpointsToExpire(ctx: EngineContext, providerId: string, planId: string, policy: RetentionPolicy, now: Date): string[] {
  const rows = ctx.db
    .select({ id: checkpoints.id, createdAt: checkpoints.createdAt })
    .from(checkpoints)
    .where(and(eq(checkpoints.planId, planId), eq(checkpoints.providerId, providerId), eq(checkpoints.status, 'available')))
    .orderBy(desc(checkpoints.createdAt), desc(checkpoints.id))
    .all();
  const expired = new Set<string>();
  if (policy.maxBackups !== undefined && policy.maxBackups > 0) rows.slice(policy.maxBackups).forEach((r) => expired.add(r.id));
  if (policy.retentionDays !== undefined && policy.retentionDays > 0) {
    const limit = now.getTime() - policy.retentionDays * 86_400_000;
    for (const r of rows) if (Date.parse(`${r.createdAt.slice(0, 23)}Z`) < limit) expired.add(r.id);
  }
  return rows.filter((r) => expired.has(r.id)).map((r) => r.id);
}

/** Deletes what the policy expires; returns the ids whose delete started. */
export function applyRetention(
  ctx: EngineContext,
  checkpointService: CheckpointService,
  caller: Caller,
  providerId: string,
  planId: string,
  policy: RetentionPolicy,
): string[] {
  const ids = checkpointsToExpire(ctx, providerId, planId, policy, ctx.clock.now());
  for (const id of ids) checkpointService.delete(caller, providerId, id);
  return ids;
}
