/** Wall clock, injectable so tests can move time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Karbor's timestamp format: `YYYY-MM-DDTHH:MM:SS.ffffff`, UTC, no zone suffix. */
export function formatTimestamp(d: Date): string {
  return d.toISOString().replace('Z', '000');
}

/** A clock tests can set and advance. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date | string = '2026-01-01T00:00:00Z') {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(d: Date | string): void {
    this.t = new Date(d).getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
