import cronParser from 'cron-parser';
import { RRule, RRuleSet, rrulestr } from 'rrule';
import type { TriggerProperties } from '../db/schema';
import { Invalid } from '../errors';

/** Limits of the time model; the desktop app's default minimum interval is 60 s. */
export interface TimeModelOptions {
  minIntervalSeconds: number;
  minWindowSeconds: number;
  maxWindowSeconds: number;
  defaultWindowSeconds: number;
}

export const DEFAULT_TIME_MODEL: TimeModelOptions = {
  minIntervalSeconds: 60,
  minWindowSeconds: 60,
  maxWindowSeconds: 7 * 86_400,
  defaultWindowSeconds: 3_600,
};

/** A validated trigger, ready to compute occurrences. */
export interface TimeTrigger {
  properties: TriggerProperties;
  start?: Date;
  end?: Date;
  windowSeconds: number;
  /** First occurrence strictly after `after` (within start/end), or undefined. */
  next(after: Date): Date | undefined;
}

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** `YYYY-MM-DD HH:MM[:SS]` or ISO 8601; UTC unless the text carries a zone. */
export function parseTriggerTime(value: unknown, field: string): Date {
  if (typeof value !== 'string') throw new Invalid(`${field} must be a string like 'YYYY-MM-DD HH:MM:SS'`);
  const m = TIME_RE.exec(value.trim());
  if (!m) throw new Invalid(`${field} '${value}' is not a valid time (expected 'YYYY-MM-DD HH:MM:SS' or ISO 8601)`);
  const zone = m[7] ?? 'Z';
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${zone === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`;
  const [y = 0, mo = 0, da = 0, h = 0, mi = 0, se = 0] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number);
  const check = new Date(Date.UTC(y, mo - 1, da));
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== da || h > 23 || mi > 59 || se > 59) {
    throw new Invalid(`${field} '${value}' is not a valid time`);
  }
  return d;
}

function parseWindow(value: unknown, opts: TimeModelOptions): number {
  if (value === undefined || value === null || value === '') return opts.defaultWindowSeconds;
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n))
    throw new Invalid(`trigger_info.properties.window must be an integer number of seconds, got ${JSON.stringify(value)}`);
  if (n < opts.minWindowSeconds || n > opts.maxWindowSeconds) {
    throw new Invalid(
      `trigger_info.properties.window must be between ${opts.minWindowSeconds} and ${opts.maxWindowSeconds} seconds, got ${n}`,
    );
  }
  return n;
}

function checkZone(tz: unknown): string | undefined {
  if (tz === undefined) return undefined;
  if (typeof tz !== 'string') throw new Invalid('trigger_info.properties.timezone must be an IANA zone name');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new Invalid(`trigger_info.properties.timezone '${tz}' is not a known time zone`);
  }
  return tz;
}

type NextFn = (after: Date) => Date | undefined;

function crontabNext(pattern: string, tz: string | undefined): NextFn {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6)
    throw new Invalid(`trigger_info.properties.pattern '${pattern}' is not a crontab pattern (5 or 6 fields)`);
  try {
    cronParser.parseExpression(pattern, { tz: tz ?? 'UTC' });
  } catch (err) {
    throw new Invalid(`trigger_info.properties.pattern '${pattern}' is invalid: ${(err as Error).message}`);
  }
  return (after) => {
    const it = cronParser.parseExpression(pattern, { currentDate: after, tz: tz ?? 'UTC' });
    try {
      return it.next().toDate();
    } catch {
      return undefined;
    }
  };
}

/** The wall-clock time of `instant` in `tz`, labelled as UTC ("floating" time). */
function toWall(instant: Date, tz: string): Date {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(instant);
  const n = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return new Date(Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')));
}

/** The instant whose wall-clock time in `tz` is `wall` (a time skipped by DST moves forward). */
function fromWall(wall: Date, tz: string): Date {
  let guess = new Date(wall.getTime() - (toWall(wall, tz).getTime() - wall.getTime()));
  for (let i = 0; i < 2; i++) guess = new Date(guess.getTime() + (wall.getTime() - toWall(guess, tz).getTime()));
  return guess;
}

/** Seconds per period of the frequencies whose periods have a fixed length in floating time. */
const FIXED_PERIOD_SECONDS: Partial<Record<number, number>> = {
  [RRule.SECONDLY]: 1,
  [RRule.MINUTELY]: 60,
  [RRule.HOURLY]: 3_600,
  [RRule.DAILY]: 86_400,
  [RRule.WEEKLY]: 604_800,
};

/**
 * rrule walks every period from DTSTART, so an hourly rule anchored in 2000 costs seconds per
 * lookup (a secondly one, minutes) and blocks the event loop. A single COUNT-less rule with a
 * fixed-length period is the same after any whole number of INTERVAL x period steps, so its
 * DTSTART is moved to just before the lookup time first.
 */
function fastForward(set: RRuleSet): (after: Date) => RRuleSet {
  const rules = set.rrules();
  const only = rules[0];
  if (rules.length !== 1 || !(only instanceof RRule) || set.exrules().length) return () => set;
  const o = only.options;
  const period = FIXED_PERIOD_SECONDS[o.freq];
  if (!period || o.count !== null || o.tzid || !o.dtstart) return () => set;
  const stepMs = period * Math.max(1, o.interval) * 1000;
  const start = o.dtstart.getTime();
  return (after) => {
    const steps = Math.floor((after.getTime() - start) / stepMs) - 1;
    if (steps < 1) return set;
    const moved = new RRuleSet();
    moved.rrule(new RRule({ ...only.origOptions, dtstart: new Date(start + steps * stepMs) }));
    for (const d of set.rdates()) moved.rdate(d);
    for (const d of set.exdates()) moved.exdate(d);
    return moved;
  };
}

function calendarNext(pattern: string, start: Date | undefined, tz: string | undefined): NextFn {
  const lines = pattern
    .split(/\r?\n|\\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const body = lines.filter((l) => !/^(BEGIN|END):VEVENT$/i.test(l));
  if (lines[0]?.toUpperCase() !== 'BEGIN:VEVENT' || lines[lines.length - 1]?.toUpperCase() !== 'END:VEVENT') {
    throw new Invalid("trigger_info.properties.pattern must be an iCalendar 'BEGIN:VEVENT ... RRULE:... END:VEVENT' block");
  }
  if (!body.some((l) => /^RRULE:/i.test(l))) throw new Invalid('trigger_info.properties.pattern has no RRULE line');
  // rrule's own TZID handling depends on the machine's zone, so a zone is applied here instead:
  // the rule runs on floating wall-clock times, converted to and from the zone around it.
  const toRule = (d: Date): Date => (tz ? toWall(d, tz) : d);
  const fromRule = (d: Date): Date => (tz ? fromWall(d, tz) : d);
  let rule;
  try {
    // rrule's `dtstart` option is ignored by rule sets: a DTSTART line is what it honours.
    if (!body.some((l) => /^DTSTART/i.test(l))) {
      const t = toRule(start ?? new Date(Date.UTC(2000, 0, 1)))
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      body.unshift(`DTSTART:${t}`);
    }
    rule = rrulestr(body.join('\n'), { forceset: true });
  } catch (err) {
    throw new Invalid(`trigger_info.properties.pattern has an invalid RRULE: ${(err as Error).message}`);
  }
  const ruleAt = fastForward(rule as RRuleSet);
  return (after) => {
    const from = toRule(after);
    const t = ruleAt(from).after(from, false);
    return t ? fromRule(t) : undefined;
  };
}

/**
 * Validates a trigger's properties and returns its occurrence function. Rejects (400, naming the
 * property) an unknown format, a bad pattern, bad times, end before start, a window out of range,
 * occurrences closer than the minimum interval and a schedule with no future occurrence.
 */
export function parseTimeTrigger(raw: unknown, now: Date, opts: TimeModelOptions = DEFAULT_TIME_MODEL, checks = true): TimeTrigger {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Invalid('trigger_info.properties must be an object');
  const p = raw as Record<string, unknown>;
  const format = p.format;
  if (format !== 'crontab' && format !== 'calendar') {
    throw new Invalid(`trigger_info.properties.format must be 'crontab' or 'calendar', got '${String(format)}'`);
  }
  if (typeof p.pattern !== 'string' || !p.pattern.trim()) throw new Invalid('trigger_info.properties.pattern must be a non-empty string');
  const pattern = p.pattern;
  const start =
    p.start_time !== undefined && p.start_time !== null ? parseTriggerTime(p.start_time, 'trigger_info.properties.start_time') : undefined;
  const end =
    p.end_time !== undefined && p.end_time !== null ? parseTriggerTime(p.end_time, 'trigger_info.properties.end_time') : undefined;
  if (start && end && end <= start) throw new Invalid('trigger_info.properties.end_time must be after start_time');
  const windowSeconds = parseWindow(p.window, checks ? opts : { ...opts, minWindowSeconds: 0, maxWindowSeconds: Number.MAX_SAFE_INTEGER });
  const tz = checkZone(p.timezone);
  const raw_next = format === 'crontab' ? crontabNext(pattern, tz) : calendarNext(pattern, start, tz);
  const next: NextFn = (after) => {
    const from = start && after < start ? new Date(start.getTime() - 1) : after;
    const t = raw_next(from);
    return t && (!end || t <= end) ? t : undefined;
  };
  const properties: TriggerProperties = { ...(p as TriggerProperties), format, pattern, window: windowSeconds };
  // A stored trigger was checked when it was saved; only new input pays for the checks below.
  if (!checks) return { properties, start, end, windowSeconds, next };
  const first = next(now);
  if (!first)
    throw new Invalid('trigger_info.properties: the pattern has no occurrence in the future (check pattern, start_time and end_time)');
  // The tightest spacing of a recurring pattern shows within a few consecutive occurrences.
  let prev = first;
  for (let i = 0; i < 8; i++) {
    const t = next(prev);
    if (!t) break;
    if ((t.getTime() - prev.getTime()) / 1000 < opts.minIntervalSeconds) {
      throw new Invalid(`trigger_info.properties.pattern fires more often than the minimum interval of ${opts.minIntervalSeconds} seconds`);
    }
    prev = t;
  }
  return { properties, start, end, windowSeconds, next };
}

/** The next `n` occurrences after `after`, for previews. */
export function nextOccurrences(t: TimeTrigger, after: Date, n: number): Date[] {
  const out: Date[] = [];
  let cur = after;
  while (out.length < n) {
    const t1 = t.next(cur);
    if (!t1) break;
    out.push(t1);
    cur = t1;
  }
  return out;
}
