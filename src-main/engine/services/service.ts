import { and, eq, type SQL } from 'drizzle-orm';
import os from 'node:os';
import { formatTimestamp } from '../clock';
import type { Caller, EngineContext } from '../context';
import { services } from '../db/schema';
import { Forbidden, Invalid, NotFound } from '../errors';

export interface ServiceView {
  id: number;
  binary: string;
  host: string;
  status: 'enabled' | 'disabled';
  state: 'up' | 'down';
  updated_at: string | null;
  disabled_reason: string | null;
}

const BINARIES = [
  ['karbor-protection', 'karbor-protection'],
  ['karbor-operationengine', 'karbor-operationengine'],
] as const;

type Row = typeof services.$inferSelect;

/** Karbor's `os-services`: the engine's parts on this host (admin only). */
export class ServiceRegistry {
  private readonly host = os.hostname();

  constructor(private readonly ctx: EngineContext) {}

  /** Records this process's services and their heartbeat. */
  heartbeat(): void {
    const now = formatTimestamp(this.ctx.clock.now());
    for (const [binary, topic] of BINARIES) {
      const existing = this.ctx.db
        .select()
        .from(services)
        .where(and(eq(services.binary, binary), eq(services.host, this.host)))
        .get();
      if (existing) this.ctx.db.update(services).set({ updatedAt: now }).where(eq(services.id, existing.id)).run();
      else this.ctx.db.insert(services).values({ binary, host: this.host, topic, disabled: false, createdAt: now, updatedAt: now }).run();
    }
  }

  private view(r: Row): ServiceView {
    return {
      id: r.id,
      binary: r.binary,
      host: r.host,
      status: r.disabled ? 'disabled' : 'enabled',
      state: r.host === this.host ? 'up' : 'down',
      updated_at: r.updatedAt,
      disabled_reason: r.disabledReason,
    };
  }

  list(caller: Caller, q: { host?: string; binary?: string }): ServiceView[] {
    requireAdmin(caller);
    const f: SQL[] = [];
    if (q.host !== undefined) f.push(eq(services.host, q.host));
    if (q.binary !== undefined) f.push(eq(services.binary, q.binary));
    return this.ctx.db
      .select()
      .from(services)
      .where(and(...f))
      .orderBy(services.id)
      .all()
      .map((r) => this.view(r));
  }

  update(caller: Caller, id: string, body: { status?: unknown; disabled_reason?: unknown }): ServiceView {
    requireAdmin(caller);
    if (!/^\d+$/.test(id)) throw new Invalid(`service id '${id}' must be an integer`);
    const row = this.ctx.db
      .select()
      .from(services)
      .where(eq(services.id, Number(id)))
      .get();
    if (!row) throw new NotFound(`Service ${id} could not be found.`, 'SERVICE_NOT_FOUND');
    if (body.status !== 'enabled' && body.status !== 'disabled') throw new Invalid(`status must be 'enabled' or 'disabled'`);
    if (body.disabled_reason !== undefined && body.disabled_reason !== null && typeof body.disabled_reason !== 'string') {
      throw new Invalid('disabled_reason must be a string');
    }
    const disabled = body.status === 'disabled';
    this.ctx.db
      .update(services)
      .set({ disabled, disabledReason: disabled ? (body.disabled_reason ?? null) : null })
      .where(eq(services.id, row.id))
      .run();
    return this.view(this.ctx.db.select().from(services).where(eq(services.id, row.id)).get() as Row);
  }
}

function requireAdmin(caller: Caller): void {
  if (!caller.isAdmin) throw new Forbidden('Policy does not allow this operation: admin role required', 'ADMIN_REQUIRED');
}
