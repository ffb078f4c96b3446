import { Invalid } from './errors';
import { isUuidLike } from './paging';

/** Checks an id from a path or body; Karbor answered 400 for anything not UUID-like. */
export function requireUuid(value: unknown, field: string): string {
  if (typeof value !== 'string' || !isUuidLike(value)) {
    throw new Invalid(`${field} '${String(value)}' is not a valid UUID`, 'INVALID_ID');
  }
  return value.toLowerCase();
}

/** Non-empty string of at most `max` characters, trimmed. */
export function requireName(value: unknown, field: string, max = 255): string {
  if (typeof value !== 'string') throw new Invalid(`${field} must be a string`);
  const v = value.trim();
  if (!v) throw new Invalid(`${field} must not be empty`);
  if (v.length > max) throw new Invalid(`${field} must be at most ${max} characters`);
  return v;
}

/** `YYYY-MM-DD` date filter → start of that day, UTC. */
export function parseDateFilter(value: string, field: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!d || d.getUTCDate() !== Number(m?.[3])) throw new Invalid(`${field} '${value}' is not a valid date (expected YYYY-MM-DD)`);
  return d;
}
