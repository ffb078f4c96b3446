import { eq, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Caller } from './context';

/**
 * Row scope for a caller: its own project's rows, or every row for an admin asking with
 * `all_tenants`. Another project's object is then simply "not found".
 */
export function projectScope(column: SQLiteColumn, caller: Caller, allTenants = false): SQL | undefined {
  return caller.isAdmin && allTenants ? undefined : eq(column, caller.projectId);
}

/** Whether a caller may see one row of a project. */
export function canSee(caller: Caller, projectId: string): boolean {
  return caller.isAdmin || caller.projectId === projectId;
}
