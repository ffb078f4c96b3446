import type { RunScope } from '../providers/types';

interface Entry {
  value: Promise<unknown>;
  dispose?: (value: never) => Promise<void> | void;
}

/**
 * The values one run's resources share. `close()` disposes of each value that was made and
 * forgets all of them, so nothing a run opened (a session holding a password) outlives it.
 */
export class RunValues implements RunScope {
  private readonly entries = new Map<string, Entry>();

  shared<T>(key: string, make: () => Promise<T>, dispose?: (value: T) => Promise<void> | void): Promise<T> {
    let e = this.entries.get(key);
    if (!e) {
      e = { value: make(), dispose: dispose as Entry['dispose'] };
      // A rejection is handed to every caller; it must not also surface as unhandled.
      e.value.catch(() => undefined);
      this.entries.set(key, e);
    }
    return e.value as Promise<T>;
  }

  /** Disposes of every value made in this run (failures to dispose are ignored: the run is over). */
  async close(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const e of entries) {
      const v = await e.value.catch(() => undefined);
      if (v !== undefined && e.dispose) await Promise.resolve(e.dispose(v as never)).catch(() => undefined);
    }
  }
}
