import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
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
  (t) => [index('checkpoints_provider_created').on(t.providerId, t.createdAt, t.id), index('checkpoints_plan').on(t.planId)],
);

/** Each resource of a checkpoint: its status, what its plugin saved, and why it failed. */
export const checkpointResources = sqliteTable(
  'checkpoint_resources',
  {
    checkpointId: text()
      .notNull()
      .references(() => checkpoints.id, { onDelete: 'cascade' }),
    resourceKey: text().notNull(),
    resourceType: text().notNull(),
    resourceId: text().notNull(),
    name: text().notNull(),
    status: text().notNull(),
    savedInfo: text({ mode: 'json' }).$type<JsonObject | null>(),
    error: text(),
    bytes: integer().notNull().default(0),
    /** Size of the data the resource holds in the checkpoint (stored and reused streams). */
    dataBytes: integer().notNull().default(0),
    /** Bytes this checkpoint added to the bank for the resource (new chunks, compressed): the rest was deduplicated. */
    newBytes: integer().notNull().default(0),
    startedAt: text(),
    endedAt: text(),
  },
  (t) => [primaryKey({ columns: [t.checkpointId, t.resourceKey] })],
);
