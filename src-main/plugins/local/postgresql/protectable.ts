import type { JsonObject } from '../../../engine/db/schema/common';
import { Invalid } from '../../../engine/errors';
import type { ProtectableContext, ProtectablePlugin, Resource } from '../../../engine/protectables/types';
import { connectionFrom, connectionInfo, databaseId, POSTGRESQL_TYPE, type PgConnection } from './connection';
import { psql } from './pg-process';

/** The databases of one server that accept connections (templates left out), as resources. */
async function listDatabases(ctx: ProtectableContext, conn: PgConnection): Promise<Resource[]> {
  let rows: string[][];
  try {
    rows = await psql(
      conn,
      conn.maintenanceDb,
      'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname;',
    );
  } catch (err) {
    throw new Invalid(`cannot list the databases of ${conn.host}:${conn.port}: ${(err as Error).message}`);
  }
  const extra = connectionInfo(conn);
  const out = rows.map(([name = '']): Resource => ({ id: databaseId(conn, name), type: POSTGRESQL_TYPE, name, extra_info: extra }));
  // The locator is the connection without any secret: the id alone cannot be mapped back to it.
  for (const r of out) ctx.remember(POSTGRESQL_TYPE, r.id, r.name, JSON.stringify({ ...extra, database: r.name }));
  return out;
}

/**
 * Databases of a PostgreSQL server. `parameters` say which server (`host`, `port`, `user`,
 * `password_file`, `sslmode`, `maintenance_db`; libpq's environment variables otherwise); each
 * database's id is UUIDv5(`host:port/dbname`) and its `extra_info` carries the connection (never a
 * password), which protect uses unless the plan's parameters say otherwise.
 */
export const postgresqlProtectable: ProtectablePlugin = {
  type: POSTGRESQL_TYPE,
  dependentTypes: [],
  async listInstances(ctx, parameters: JsonObject) {
    let conn: PgConnection;
    try {
      conn = connectionFrom(parameters);
    } catch (err) {
      throw new Invalid(`parameters: ${(err as Error).message}`);
    }
    return listDatabases(ctx, conn);
  },
  async showInstance(ctx, id, parameters) {
    const known = ctx.recall(POSTGRESQL_TYPE, id);
    if (!known) return undefined;
    const conn = connectionFrom(JSON.parse(known.locator) as JsonObject, parameters);
    return (await listDatabases(ctx, conn)).find((r) => r.id === id);
  },
  dependents: () => Promise.resolve([]),
};
