import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** API tokens: only a SHA-256 of the token is stored; the token itself lives in files the user owns. */
export const apiTokens = sqliteTable('api_tokens', {
  id: text().primaryKey(),
  tokenHash: text().notNull().unique(),
  projectId: text().notNull(),
  role: text().notNull(),
  name: text(),
  createdAt: text().notNull(),
});

export const quotas = sqliteTable(
  'quotas',
  {
    projectId: text().notNull(),
    resource: text().notNull(),
    hardLimit: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.resource] })],
);

export const quotaClasses = sqliteTable(
  'quota_classes',
  {
    className: text().notNull(),
    resource: text().notNull(),
    hardLimit: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.className, t.resource] })],
);

export const services = sqliteTable('services', {
  id: integer().primaryKey({ autoIncrement: true }),
  binary: text().notNull(),
  host: text().notNull(),
  topic: text().notNull(),
  disabled: integer({ mode: 'boolean' }).notNull(),
  disabledReason: text(),
  createdAt: text().notNull(),
  updatedAt: text(),
});

/** Protectable instances whose id cannot be mapped back to the resource (e.g. UUIDv5 of a path). */
export const knownInstances = sqliteTable(
  'known_instances',
  {
    type: text().notNull(),
    id: text().notNull(),
    name: text().notNull(),
    locator: text().notNull(),
    createdAt: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.type, t.id] })],
);

/** Small engine settings (the local project id, ...). */
export const settings = sqliteTable('settings', {
  key: text().primaryKey(),
  value: text().notNull(),
});
