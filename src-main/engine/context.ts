import type { Clock } from './clock';
import type { Db } from './db/open';
import type { EngineEvents } from './events';
import type { Logger } from './log';
import type { ProtectableRegistry } from './protectables/registry';
import type { ProviderRegistry } from './providers/registry';

/** What every engine service shares. Built once by `createEngine`. */
export interface EngineContext {
  db: Db;
  clock: Clock;
  log: Logger;
  dataDir: string;
  providers: ProviderRegistry;
  protectables: ProtectableRegistry;
  events: EngineEvents;
}

/** The caller of a service: which project it acts for and whether it may see every project. */
export interface Caller {
  projectId: string;
  isAdmin: boolean;
}
