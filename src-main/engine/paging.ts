import { and, asc, desc, eq, gt, lt, or, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from './db/open';
import { Invalid } from './errors';

export type SortDir = 'asc' | 'desc';
export interface SortKey {
  key: string;
  dir: SortDir;
}

/** A parsed list request: how many, after which item, in which order. */
export interface Page {
  limit: number;
  marker?: string;
  sort: SortKey[];
}

export const MAX_LIMIT = 1000;
const DEFAULT_SORT: SortKey[] = [
  { key: 'created_at', dir: 'desc' },
  { key: 'id', dir: 'desc' },
];

const UUID_LIKE = /^(?:[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})$/i;

/** Karbor accepted any UUID-like string (dashes optional, any case). */
export function isUuidLike(value: string): boolean {
  return UUID_LIKE.test(value);
}

export interface RawPageQuery {
  limit?: string;
  marker?: string;
  sort?: string;
  sort_key?: string;
  sort_dir?: string;
}

/**
 * Parses Karbor's `limit`, `marker`, `sort=key:dir,...` and legacy `sort_key`/`sort_dir`,
 * rejecting anything malformed with a message naming the parameter.
 */
export function parsePage(q: RawPageQuery, sortable: readonly string[], defaultSort: SortKey[] = DEFAULT_SORT): Page {
  let limit = MAX_LIMIT;
  if (q.limit !== undefined) {
    if (!/^\d+$/.test(q.limit)) throw new Invalid(`limit must be a positive integer, got '${q.limit}'`);
    limit = Number(q.limit);
    if (limit <= 0) throw new Invalid('limit must be a positive integer greater than 0');
    if (limit > MAX_LIMIT) throw new Invalid(`limit must not exceed ${MAX_LIMIT}`);
  }
  if (q.marker !== undefined && !isUuidLike(q.marker)) {
    throw new Invalid(`marker '${q.marker}' is not a valid id`);
  }
  let sort: SortKey[];
  if (q.sort !== undefined) {
    if (q.sort_key !== undefined || q.sort_dir !== undefined) {
      throw new Invalid("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.");
    }
    sort = q.sort.split(',').map((part) => {
      const [key = '', dir = 'desc', extra] = part.trim().split(':');
      if (extra !== undefined) throw new Invalid(`sort: malformed entry '${part}'`);
      return { key: key.trim(), dir: dir.trim().toLowerCase() as SortDir };
    });
  } else if (q.sort_key !== undefined || q.sort_dir !== undefined) {
    sort = [{ key: q.sort_key ?? 'created_at', dir: (q.sort_dir ?? 'desc').toLowerCase() as SortDir }];
  } else {
    sort = defaultSort;
  }
  // Name the parameter the client actually sent.
  const legacy = q.sort === undefined && (q.sort_key !== undefined || q.sort_dir !== undefined);
  for (const s of sort) {
    if (!sortable.includes(s.key)) {
      throw new Invalid(`${legacy ? 'sort_key' : 'sort'}: invalid sort key '${s.key}' (allowed: ${sortable.join(', ')})`);
    }
    if (s.dir !== 'asc' && s.dir !== 'desc') {
      throw new Invalid(`${legacy ? 'sort_dir' : 'sort'}: invalid sort direction '${String(s.dir)}' (allowed: asc, desc)`);
    }
  }
  if (!sort.some((s) => s.key === 'id')) sort = [...sort, { key: 'id', dir: sort[sort.length - 1]?.dir ?? 'desc' }];
  return { limit, marker: q.marker?.toLowerCase(), sort };
}

export interface PagedTable {
  table: SQLiteTable;
  /** Wire sort key → column. Must include `id`; every column must be NOT NULL. */
  columns: Record<string, SQLiteColumn>;
}

/**
 * Keyset pagination: the marker's sort values bound the next page, so an item inserted or
 * listed concurrently never shifts the pages (each existing item appears exactly once), and
 * the same filter applies to the marker search and the page.
 */
export function listPage<T>(db: Db, spec: PagedTable, scope: SQL | undefined, filter: SQL | undefined, page: Page): T[] {
  const col = (key: string): SQLiteColumn => {
    const c = spec.columns[key];
    if (!c) throw new Invalid(`sort: invalid sort key '${key}'`);
    return c;
  };
  const conditions: (SQL | undefined)[] = [scope, filter];
  if (page.marker) {
    const idCol = col('id');
    const marker = db
      .select()
      .from(spec.table)
      .where(and(scope, eq(idCol, page.marker)))
      .get();
    if (!marker) throw new Invalid(`marker '${page.marker}' not found`);
    const value = (key: string): unknown => marker[propOf(spec, key)];
    const dirs = new Set(page.sort.map((s) => s.dir));
    if (dirs.size === 1) {
      // One direction for every key: a row-value comparison, which SQLite answers from the index.
      const cols = sql.join(
        page.sort.map((s) => sql`${col(s.key)}`),
        sql`, `,
      );
      const vals = sql.join(
        page.sort.map((s) => sql`${value(s.key)}`),
        sql`, `,
      );
      conditions.push(page.sort[0]?.dir === 'asc' ? sql`(${cols}) > (${vals})` : sql`(${cols}) < (${vals})`);
    } else {
      const branches: SQL[] = [];
      page.sort.forEach((s, i) => {
        const equalPrefix = page.sort.slice(0, i).map((p) => eq(col(p.key), value(p.key)));
        const step = s.dir === 'asc' ? gt(col(s.key), value(s.key)) : lt(col(s.key), value(s.key));
        const branch = and(...equalPrefix, step);
        if (branch) branches.push(branch);
      });
      conditions.push(or(...branches));
    }
  }
  const order = page.sort.map((s) => (s.dir === 'asc' ? asc(col(s.key)) : desc(col(s.key))));
  return db
    .select()
    .from(spec.table)
    .where(and(...conditions))
    .orderBy(...order)
    .limit(page.limit)
    .all() as T[];
}

/** Maps a wire key (`created_at`) to the row property drizzle returns (`createdAt`). */
function propOf(spec: PagedTable, key: string): string {
  const column = spec.columns[key];
  const entry = Object.entries(spec.table).find(([, v]) => v === column);
  if (!entry) throw new Error(`column for sort key ${key} is not part of its table`);
  return entry[0];
}
