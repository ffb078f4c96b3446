import { text } from 'drizzle-orm/sqlite-core';

/** Timestamps are stored as Karbor-formatted UTC text, which sorts lexically in time order. */
export const timestamps = {
  createdAt: text().notNull(),
  updatedAt: text(),
};

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
