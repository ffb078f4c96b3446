/** The friendly trigger builder's choices, turned into a crontab pattern. */
export type Frequency = 'hourly' | 'daily' | 'weekly' | 'expert';

export const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function crontabFor(freq: Exclude<Frequency, 'expert'>, time: string, day: number, minute: number): string {
  const [h = '0', m = '0'] = time.split(':');
  const hh = Number(h);
  const mm = Number(m);
  if (freq === 'hourly') return `${minute} * * * *`;
  if (freq === 'daily') return `${mm} ${hh} * * *`;
  return `${mm} ${hh} * * ${day}`;
}
