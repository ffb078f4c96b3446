import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { timestamps, type JsonObject } from './common';

export interface TriggerProperties {
  format: 'crontab' | 'calendar';
  pattern: string;
  start_time?: string;
  end_time?: string;
  window?: number;
  [key: string]: unknown;
}

export const triggers = sqliteTable(
  'triggers',
  {
    id: text().primaryKey(),
    projectId: text().notNull(),
    name: text().notNull(),
    type: text().notNull(),
    properties: text({ mode: 'json' }).$type<TriggerProperties>().notNull(),
    ...timestamps,
  },
  (t) => [index('triggers_project_created').on(t.projectId, t.createdAt, t.id)],
);

export const scheduledOperations = sqliteTable(
  'scheduled_operations',
  {
    id: text().primaryKey(),
    projectId: text().notNull(),
    name: text().notNull(),
    description: text(),
    operationType: text().notNull(),
    triggerId: text()
      .notNull()
      .references(() => triggers.id),
    operationDefinition: text({ mode: 'json' }).$type<JsonObject>().notNull(),
    enabled: integer({ mode: 'boolean' }).notNull(),
    ...timestamps,
  },
  (t) => [
    index('scheduled_operations_project_created').on(t.projectId, t.createdAt, t.id),
    index('scheduled_operations_trigger').on(t.triggerId),
  ],
);

/**
 * The scheduler's memory per operation, so a restart or a sleep neither repeats nor forgets a
 * run: the last occurrence handled (run or dropped), the armed next run and the last result.
 */
export const scheduleStates = sqliteTable('schedule_states', {
  operationId: text()
    .primaryKey()
    .references(() => scheduledOperations.id, { onDelete: 'cascade' }),
  lastHandledAt: text().notNull(),
  nextRunAt: text(),
  runningSince: text(),
  lastRunAt: text(),
  lastRunStatus: text(),
  lastCheckpointId: text(),
  lastError: text(),
});
