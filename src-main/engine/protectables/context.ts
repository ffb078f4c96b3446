import { and, eq } from 'drizzle-orm';
import { formatTimestamp } from '../clock';
import type { EngineContext } from '../context';
import { knownInstances } from '../db/schema';
import type { ProtectableContext } from './types';

/** The protectable plugins' view of the engine for one project. */
export function protectableContext(ctx: EngineContext, projectId: string): ProtectableContext {
  return {
    projectId,
    remember(type, id, name, locator) {
      ctx.db
        .insert(knownInstances)
        .values({ type, id, name, locator, createdAt: formatTimestamp(ctx.clock.now()) })
        .onConflictDoUpdate({ target: [knownInstances.type, knownInstances.id], set: { name, locator } })
        .run();
    },
    recall(type, id) {
      const row = ctx.db
        .select()
        .from(knownInstances)
        .where(and(eq(knownInstances.type, type), eq(knownInstances.id, id)))
        .get();
      return row ? { name: row.name, locator: row.locator } : undefined;
    },
  };
}
