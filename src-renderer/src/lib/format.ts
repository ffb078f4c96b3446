/** Milliseconds since the epoch of a Karbor timestamp (`YYYY-MM-DDTHH:MM:SS.ffffff`, UTC) or an ISO string. */
export function timeOf(ts: string | null | undefined): number | null {
  if (!ts) return null;
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? ts : `${ts.replace(' ', 'T').slice(0, 23)}Z`;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** A timestamp in the user's locale and zone. */
export function when(ts: string | null | undefined): string {
  const t = timeOf(ts);
  if (t === null) return ts ? ts : '—';
  return new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A timestamp with its weekday, for schedule previews. */
export function whenLong(ts: string | null | undefined): string {
  const t = timeOf(ts);
  if (t === null) return ts ? ts : '—';
  return new Date(t).toLocaleString(undefined, {
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** Seconds as `42s`, `3m 05s`, `2h 10m`. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export type Tone = 'good' | 'bad' | 'warn' | 'busy' | 'neutral';

const TONES: Record<string, Tone> = {
  available: 'good',
  success: 'good',
  restored: 'good',
  verified: 'good',
  enabled: 'good',
  protecting: 'busy',
  in_progress: 'busy',
  running: 'busy',
  deleting: 'busy',
  restoring: 'busy',
  error: 'bad',
  fail: 'bad',
  failed: 'bad',
  'error-deleting': 'bad',
  dropped: 'warn',
  cancelled: 'warn',
};

/** How a status should look: green when done well, red when failed, blue while running. */
export function toneOf(status: string | null | undefined): Tone {
  return (status && TONES[status]) || 'neutral';
}

/** Statuses the engine writes when an operation failed. */
export const FAILED_STATUSES = ['error', 'fail', 'error-deleting', 'dropped'];

/** Any JSON value as short text (objects as JSON, never `[object Object]`). */
export function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}

export const shortId = (id: string | null | undefined): string => (id ? id.slice(0, 8) : '—');
