import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { timestamps, type JsonObject } from './common';
import type { PlanResource } from './plans';

export interface ProtectionPlanSnapshot {
  id: string;
  name: string;
  provider_id: string;
  resources: PlanResource[];
}

export const checkpoints = sqliteTable(
  'checkpoints',
  {
    id: text().primaryKey(),
    projectId: text().notNull(),
    providerId: text().notNull(),
    planId: text().notNull(),
    protectionPlan: text({ mode: 'json' }).$type<ProtectionPlanSnapshot>().notNull(),
    status: text().notNull(),
    /** Karbor's resource graph, already serialised as the JSON string clients `json.loads`. */
    resourceGraph: text(),
    extraInfo: text({ mode: 'json' }).$type<JsonObject | null>(),
    errorReason: text(),
    ...timestamps,
  },
  (t) => [
    index('checkpoints_provider_created').on(t.providerId, t.createdAt, t.id),
    index('checkpoints_plan').on(t.planId),
  ],
);
