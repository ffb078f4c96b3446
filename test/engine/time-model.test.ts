import { describe, expect, it } from 'vitest';
import { Invalid } from '../../src-main/engine/errors';
import { nextOccurrences, parseTimeTrigger, parseTriggerTime } from '../../src-main/engine/triggers/time-model';

const now = new Date('2026-03-01T12:00:00Z');

describe('trigger time model', () => {
  it('accepts Karbor and ISO time forms, UTC unless a zone is given', () => {
    expect(parseTriggerTime('2026-03-01 08:30:00', 'start_time').toISOString()).toBe('2026-03-01T08:30:00.000Z');
    expect(parseTriggerTime('2026-03-01T08:30:00', 'start_time').toISOString()).toBe('2026-03-01T08:30:00.000Z');
    expect(parseTriggerTime('2026-03-01T08:30:00+02:00', 'start_time').toISOString()).toBe('2026-03-01T06:30:00.000Z');
    expect(() => parseTriggerTime('2026-02-30 08:30:00', 'start_time')).toThrow(/start_time/);
  });

  it('computes crontab occurrences within start and end', () => {
    const t = parseTimeTrigger(
      { format: 'crontab', pattern: '0 9 * * *', start_time: '2026-03-05 00:00:00', end_time: '2026-03-07 23:00:00' },
      now,
    );
    expect(nextOccurrences(t, now, 5).map((d) => d.toISOString())).toEqual([
      '2026-03-05T09:00:00.000Z',
      '2026-03-06T09:00:00.000Z',
      '2026-03-07T09:00:00.000Z',
    ]);
    expect(t.windowSeconds).toBe(3600);
  });

  it('computes RRULE occurrences', () => {
    const t = parseTimeTrigger(
      { format: 'calendar', pattern: 'BEGIN:VEVENT\nRRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=2;BYMINUTE=0;BYSECOND=0\nEND:VEVENT', window: '600' },
      now,
    );
    expect(nextOccurrences(t, now, 2).map((d) => d.toISOString())).toEqual(['2026-03-02T02:00:00.000Z', '2026-03-09T02:00:00.000Z']);
    expect(t.windowSeconds).toBe(600);
  });

  it('follows a named zone across a DST change', () => {
    const t = parseTimeTrigger({ format: 'crontab', pattern: '0 9 * * *', timezone: 'Europe/Berlin' }, new Date('2026-03-27T12:00:00Z'));
    expect(nextOccurrences(t, new Date('2026-03-27T12:00:00Z'), 3).map((d) => d.toISOString())).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
  });

  it('follows a named zone across a DST change for RRULE too, whatever the machine zone', () => {
    const saved = process.env.TZ;
    try {
      for (const machineZone of ['UTC', 'America/New_York', 'Asia/Tokyo']) {
        process.env.TZ = machineZone;
        const t0 = new Date('2026-03-27T12:00:00Z');
        const t = parseTimeTrigger(
          {
            format: 'calendar',
            pattern: 'BEGIN:VEVENT\nRRULE:FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0\nEND:VEVENT',
            timezone: 'Europe/Berlin',
          },
          t0,
        );
        expect(nextOccurrences(t, t0, 3).map((d) => d.toISOString())).toEqual([
          '2026-03-28T08:00:00.000Z',
          '2026-03-29T07:00:00.000Z',
          '2026-03-30T07:00:00.000Z',
        ]);
        const c = parseTimeTrigger({ format: 'crontab', pattern: '0 9 * * *', timezone: 'Europe/Berlin' }, t0);
        expect(nextOccurrences(c, t0, 2).map((d) => d.toISOString())).toEqual(['2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z']);
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it.each([
    [{ format: 'cron', pattern: '* * * * *' }, /format/],
    [{ format: 'crontab', pattern: '61 * * * *' }, /pattern/],
    [{ format: 'crontab', pattern: '* * * * * *' }, /minimum interval/],
    [{ format: 'calendar', pattern: 'RRULE:FREQ=DAILY' }, /VEVENT/],
    [{ format: 'calendar', pattern: 'BEGIN:VEVENT\nRRULE:FREQ=SOMETIMES\nEND:VEVENT' }, /RRULE/],
    [{ format: 'crontab', pattern: '0 9 * * *', start_time: '2026-03-05 00:00:00', end_time: '2026-03-04 00:00:00' }, /end_time/],
    [{ format: 'crontab', pattern: '0 9 * * *', end_time: '2020-01-01 00:00:00' }, /no occurrence/],
    [{ format: 'crontab', pattern: '0 9 * * *', window: 'soon' }, /window/],
    [{ format: 'crontab', pattern: '0 9 * * *', window: 5 }, /window/],
    [{ format: 'crontab', pattern: '0 9 * * *', timezone: 'Mars/Olympus' }, /timezone/],
  ])('rejects %j', (props, msg) => {
    expect(() => parseTimeTrigger(props, now)).toThrow(Invalid);
    expect(() => parseTimeTrigger(props, now)).toThrow(msg);
  });
});
