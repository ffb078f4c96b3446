import { eq, inArray } from 'drizzle-orm';
import { formatTimestamp } from './clock';
import type { EngineContext } from './context';
import { checkpointResources, checkpoints, restores, verifications } from './db/schema';
import type { OperationLogService } from './operation-logs/service';

const REASON = 'interrupted: the engine stopped while this operation was running';

/**
 * Repairs what a crash left behind, before anything new starts: work that was in flight can
 * never finish, so it is marked failed with a reason (checkpoints `error`, deletes
 * `error-deleting`, restores and verifications `fail`) and its operation log is closed.
 */
export function recoverInterrupted(ctx: EngineContext, logs: OperationLogService): Record<string, number> {
  const now = formatTimestamp(ctx.clock.now());
  return ctx.db.transaction((tx) => {
    const n = {
      checkpoints: tx
        .update(checkpoints)
        .set({ status: 'error', errorReason: REASON, updatedAt: now })
        .where(inArray(checkpoints.status, ['protecting', 'copying']))
        .run().changes,
      deletes: tx
        .update(checkpoints)
        .set({ status: 'error-deleting', errorReason: REASON, updatedAt: now })
        .where(eq(checkpoints.status, 'deleting'))
        .run().changes,
      restores: tx
        .update(restores)
        .set({ status: 'fail', restoreAuth: null, updatedAt: now })
        .where(eq(restores.status, 'in_progress'))
        .run().changes,
      verifications: tx.update(verifications).set({ status: 'fail', updatedAt: now }).where(eq(verifications.status, 'in_progress')).run()
        .changes,
      logs: 0,
    };
    tx.update(checkpointResources)
      .set({ status: 'error', error: REASON, endedAt: now })
      .where(inArray(checkpointResources.status, ['protecting', 'copying']))
      .run();
    n.logs =
      logs.markInterrupted('protect', 'protecting', 'error', REASON) +
      logs.markInterrupted('copy', 'copying', 'error', REASON) +
      logs.markInterrupted('delete', 'deleting', 'error-deleting', REASON) +
      logs.markInterrupted('restore', 'in_progress', 'fail', REASON) +
      logs.markInterrupted('verify', 'in_progress', 'fail', REASON);
    return n;
  });
}
