import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { timestamps, type JsonObject } from './common';

export interface RestoreAuth {
  type?: string;
  username?: string;
  /** Stored and shown only as `***`; the clear value lives in memory while the restore runs. */
  password?: string;
  [key: string]: unknown;
}

export const restores = sqliteTable(
  'restores',
  {
    id: text().primaryKey(),
    projectId: text().notNull(),
    providerId: text().notNull(),
    checkpointId: text().notNull(),
    restoreTarget: text(),
    restoreAuth: text({ mode: 'json' }).$type<RestoreAuth | null>(),
    parameters: text({ mode: 'json' }).$type<JsonObject>().notNull(),
    status: text().notNull(),
    resourcesStatus: text({ mode: 'json' }).$type<Record<string, string>>().notNull(),
    resourcesReason: text({ mode: 'json' }).$type<Record<string, string>>().notNull(),
    ...timestamps,
  },
  (t) => [index('restores_project_created').on(t.projectId, t.createdAt, t.id)],
);

export const verifications = sqliteTable(
  'verifications',
  {
    id: text().primaryKey(),
    projectId: text().notNull(),
    providerId: text().notNull(),
    checkpointId: text().notNull(),
    parameters: text({ mode: 'json' }).$type<JsonObject>().notNull(),
    status: text().notNull(),
    resourcesStatus: text({ mode: 'json' }).$type<Record<string, string>>().notNull(),
    resourcesReason: text({ mode: 'json' }).$type<Record<string, string>>().notNull(),
    ...timestamps,
  },
  (t) => [index('verifications_project_created').on(t.projectId, t.createdAt, t.id)],
);
