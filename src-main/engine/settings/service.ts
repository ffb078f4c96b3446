import { eq } from 'drizzle-orm';
import type { EngineContext } from '../context';
import { settings } from '../db/schema';
import { Invalid } from '../errors';

/** The desktop app's preferences, kept in the database beside the data they govern. */
export interface AppSettings {
  startAtLogin: boolean;
  notifyOnFailure: boolean;
  notifyOnSuccess: boolean;
}

const DEFAULTS: AppSettings = { startAtLogin: false, notifyOnFailure: true, notifyOnSuccess: false };
const KEY = 'app_settings';

export class SettingsService {
  /** Called after a change (the shell applies start-at-login). */
  onChange: (s: AppSettings) => void = () => undefined;

  constructor(private readonly ctx: EngineContext) {}

  get(): AppSettings {
    const row = this.ctx.db.select().from(settings).where(eq(settings.key, KEY)).get();
    return { ...DEFAULTS, ...(row ? (JSON.parse(row.value) as Partial<AppSettings>) : {}) };
  }

  update(patch: Partial<Record<keyof AppSettings, unknown>>): AppSettings {
    const next = this.get();
    for (const [k, v] of Object.entries(patch)) {
      if (!(k in DEFAULTS)) throw new Invalid(`unknown setting '${k}'`);
      if (typeof v !== 'boolean') throw new Invalid(`setting '${k}' must be true or false`);
      next[k as keyof AppSettings] = v;
    }
    const value = JSON.stringify(next);
    this.ctx.db.insert(settings).values({ key: KEY, value }).onConflictDoUpdate({ target: settings.key, set: { value } }).run();
    this.onChange(next);
    return next;
  }
}
