import { and, eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { formatTimestamp } from '../clock';
import type { Caller, EngineContext } from '../context';
import { scheduledOperations, triggers, type TriggerProperties } from '../db/schema';
import { InUse, Invalid, NotFound } from '../errors';
import { listPage, parsePage, type RawPageQuery } from '../paging';
import { canSee, projectScope } from '../scope';
import { requireName, requireUuid } from '../validate';
import { DEFAULT_TIME_MODEL, nextOccurrences, parseTimeTrigger, type TimeModelOptions, type TimeTrigger } from './time-model';

export interface Trigger {
  id: string;
  name: string;
  type: string;
  properties: TriggerProperties;
  project_id: string;
  created_at: string;
}

export interface TriggerInput {
  name?: string;
  type?: string;
  properties?: unknown;
}

export interface TriggerFilters extends RawPageQuery {
  name?: string;
  type?: string;
  all_tenants?: string;
}

type Row = typeof triggers.$inferSelect;

function view(r: Row): Trigger {
  return { id: r.id, name: r.name, type: r.type, properties: r.properties, project_id: r.projectId, created_at: r.createdAt };
}

/** Time triggers (crontab or iCalendar RRULE) that drive scheduled operations. */
export class TriggerService {
  /** Called after a trigger changes so its operations are re-armed. */
  onChange: (triggerId: string) => void = () => undefined;

  constructor(
    private readonly ctx: EngineContext,
    private readonly timeModel: TimeModelOptions = DEFAULT_TIME_MODEL,
  ) {}

  list(caller: Caller, q: TriggerFilters): Trigger[] {
    const page = parsePage(q, ['id', 'name', 'created_at']);
    const f = [];
    if (q.name !== undefined) f.push(eq(triggers.name, q.name));
    if (q.type !== undefined) f.push(eq(triggers.type, q.type));
    return listPage<Row>(
      this.ctx.db,
      { table: triggers, columns: { id: triggers.id, name: triggers.name, created_at: triggers.createdAt } },
      projectScope(triggers.projectId, caller, q.all_tenants !== undefined),
      and(...f),
      page,
    ).map(view);
  }

  get(caller: Caller, id: string): Trigger {
    const row = this.ctx.db
      .select()
      .from(triggers)
      .where(eq(triggers.id, requireUuid(id, 'trigger_id')))
      .get();
    if (!row || !canSee(caller, row.projectId)) throw new NotFound(`Trigger ${id} could not be found.`, 'TRIGGER_NOT_FOUND');
    return view(row);
  }

  private readonly compiled = new Map<string, TimeTrigger>();

  /** The time model of a stored trigger (compiled once per distinct properties: many operations share few triggers). */
  timeTrigger(t: Pick<Trigger, 'properties'>): TimeTrigger {
    const key = JSON.stringify(t.properties);
    let tt = this.compiled.get(key);
    if (!tt) {
      if (this.compiled.size > 1000) this.compiled.clear();
      tt = parseTimeTrigger(t.properties, this.ctx.clock.now(), this.timeModel, false);
      this.compiled.set(key, tt);
    }
    return tt;
  }

  preview(properties: unknown, n = 5): string[] {
    const now = this.ctx.clock.now();
    return nextOccurrences(parseTimeTrigger(properties, now, this.timeModel), now, n).map((d) => d.toISOString());
  }

  create(caller: Caller, input: TriggerInput): Trigger {
    const name = requireName(input.name, 'trigger_info.name');
    if (input.type !== 'time') throw new Invalid(`trigger_info.type must be 'time', got '${String(input.type)}'`);
    const parsed = parseTimeTrigger(input.properties, this.ctx.clock.now(), this.timeModel);
    const row: Row = {
      id: randomUUID(),
      projectId: caller.projectId,
      name,
      type: 'time',
      properties: parsed.properties,
      createdAt: formatTimestamp(this.ctx.clock.now()),
      updatedAt: null,
    };
    this.ctx.db.insert(triggers).values(row).run();
    return view(row);
  }

  /** Replaces name and/or properties; the trigger's operations are re-armed. */
  update(caller: Caller, id: string, input: TriggerInput): Trigger {
    const cur = this.get(caller, id);
    const set: Partial<Row> = { updatedAt: formatTimestamp(this.ctx.clock.now()) };
    if (input.name !== undefined) set.name = requireName(input.name, 'trigger_info.name');
    if (input.type !== undefined && input.type !== 'time') throw new Invalid(`trigger_info.type must be 'time'`);
    // Karbor (and its CLI, which always sends `properties`, `{}` when not given) treats empty properties as "unchanged".
    const props = input.properties;
    const emptyProps = typeof props === 'object' && props !== null && !Array.isArray(props) && Object.keys(props).length === 0;
    if (props !== undefined && !emptyProps) set.properties = parseTimeTrigger(props, this.ctx.clock.now(), this.timeModel).properties;
    this.ctx.db.update(triggers).set(set).where(eq(triggers.id, cur.id)).run();
    this.onChange(cur.id);
    return this.get(caller, cur.id);
  }

  delete(caller: Caller, id: string): void {
    const cur = this.get(caller, id);
    const user = this.ctx.db
      .select({ id: scheduledOperations.id })
      .from(scheduledOperations)
      .where(eq(scheduledOperations.triggerId, cur.id))
      .get();
    if (user) throw new InUse(`Trigger ${cur.id} is being used by scheduled operation ${user.id}`, 'TRIGGER_IN_USE');
    this.ctx.db.delete(triggers).where(eq(triggers.id, cur.id)).run();
  }
}
