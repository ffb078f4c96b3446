import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { JsonObject } from './common';

export const operationLogs = sqliteTable(
  'operation_logs',
  {
    id: text().primaryKey(),
    projectId: text().notNull(),
    operationType: text().notNull(),
    checkpointId: text(),
    planId: text(),
    providerId: text(),
    restoreId: text(),
    scheduledOperationId: text(),
    status: text().notNull(),
    startedAt: text(),
    endedAt: text(),
    errorInfo: text(),
    extraInfo: text({ mode: 'json' }).$type<JsonObject | null>(),
    createdAt: text().notNull(),
    updatedAt: text(),
  },
  (t) => [
    index('operation_logs_project_created').on(t.projectId, t.createdAt, t.id),
    index('operation_logs_checkpoint').on(t.checkpointId),
  ],
);
