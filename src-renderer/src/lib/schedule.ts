import type { Trigger } from '../../../src-main/contract';

type TriggerProperties = Trigger['properties'];

/** The friendly trigger builder's choices. */
export type Frequency = 'hourly' | 'daily' | 'weekly' | 'expert';

export const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export interface FriendlySchedule {
  frequency: Exclude<Frequency, 'expert'>;
  /** `HH:MM`, for daily and weekly. */
  time: string;
  /** 0 = Sunday, for weekly. */
  day: number;
  /** 0–59, for hourly. */
  minute: number;
}

const clampInt = (n: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, Math.trunc(Number.isFinite(n) ? n : lo)));

/** The crontab pattern of a friendly schedule (`m h dom mon dow`). */
export function crontabFor(s: FriendlySchedule): string {
  const [h = '0', m = '0'] = s.time.split(':');
  const hh = clampInt(Number(h), 0, 23);
  const mm = clampInt(Number(m), 0, 59);
  if (s.frequency === 'hourly') return `${clampInt(s.minute, 0, 59)} * * * *`;
  if (s.frequency === 'daily') return `${mm} ${hh} * * *`;
  return `${mm} ${hh} * * ${clampInt(s.day, 0, 6)}`;
}

/**
 * Trigger properties for the builder's state. Friendly schedules carry the user's time zone, so
 * "daily at 03:30" means 03:30 where the user is, across daylight-saving changes.
 */
export function triggerProperties(
  frequency: Frequency,
  friendly: Omit<FriendlySchedule, 'frequency'>,
  expert: { format: 'crontab' | 'calendar'; pattern: string },
  timezone: string | undefined,
): TriggerProperties {
  const zone = timezone ? { timezone } : {};
  if (frequency === 'expert') return { format: expert.format, pattern: expert.pattern.trim(), ...zone };
  return { format: 'crontab', pattern: crontabFor({ frequency, ...friendly }), ...zone };
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Words for the common crontab shapes the builder produces; the raw pattern otherwise. */
export function describeTrigger(p: { format: string; pattern: string }): string {
  if (p.format !== 'crontab') return 'Calendar rule (RRULE)';
  const parts = p.pattern.trim().split(/\s+/);
  if (parts.length !== 5) return `crontab ${p.pattern}`;
  const [m, h, dom, mon, dow] = parts as [string, string, string, string, string];
  const num = (x: string): number | null => (/^\d+$/.test(x) ? Number(x) : null);
  const mm = num(m);
  const hh = num(h);
  if (mm !== null && h === '*' && dom === '*' && mon === '*' && dow === '*') return `Every hour at minute ${mm}`;
  if (mm !== null && hh !== null && dom === '*' && mon === '*') {
    const at = `${pad(hh)}:${pad(mm)}`;
    if (dow === '*') return `Every day at ${at}`;
    const d = num(dow);
    if (d !== null && d <= 7) return `Every ${DAYS[d % 7]} at ${at}`;
  }
  return `crontab ${p.pattern}`;
}

/** The browser's IANA time zone, when it knows one. */
export function localZone(): string | undefined {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
}
