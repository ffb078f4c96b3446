import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { timestamps, type JsonObject } from './common';

export interface PlanResource {
  id: string;
  type: string;
  name: string;
  extra_info?: JsonObject;
}

export const plans = sqliteTable(
  'plans',
  {
    id: text().primaryKey(),
    projectId: text().notNull(),
    name: text().notNull(),
    description: text(),
    providerId: text().notNull(),
    status: text().notNull(),
    resources: text({ mode: 'json' }).$type<PlanResource[]>().notNull(),
    parameters: text({ mode: 'json' }).$type<JsonObject>().notNull(),
    ...timestamps,
  },
  (t) => [index('plans_project_created').on(t.projectId, t.createdAt, t.id)],
);
