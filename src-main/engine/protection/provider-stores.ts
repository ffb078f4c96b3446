import path from 'node:path';
import { ChunkStore } from '../../banks/store/chunk-store';
import { dedupCodec } from '../../banks/store/codec';
import type { ObjectBank } from '../../banks/store/types';
import type { EngineContext } from '../context';
import type { Provider } from '../providers/registry';
import type { BankConfig } from '../providers/types';
import { RwLock } from './rw-lock';

/** Builds a bank backend from a provider's `bank` config; relative paths are under the data folder. */
export type BankFactory = (config: BankConfig, dataDir: string) => ObjectBank;

export interface ProviderStore {
  store: ChunkStore;
  /** Protects share the bank; freeing chunks takes it alone (a sweep must not see half-written data). */
  lock: RwLock;
}

/** One chunk store per provider bank, opened on first use. Providers without a bank (No-Op) have none. */
export class ProviderStores {
  private readonly stores = new Map<string, ProviderStore>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly factories: Record<string, BankFactory>,
  ) {}

  get(provider: Provider): ProviderStore | undefined {
    const config = provider.definition.bank;
    if (!config || config.type === 'none') return undefined;
    const existing = this.stores.get(provider.definition.id);
    if (existing) return existing;
    const factory = this.factories[config.type];
    if (!factory) throw new Error(`provider ${provider.definition.name}: unknown bank type '${config.type}'`);
    const made: ProviderStore = { store: new ChunkStore(factory(config, this.ctx.dataDir), dedupCodec('sha256')), lock: new RwLock() };
    this.stores.set(provider.definition.id, made);
    return made;
  }
}

/** `bank.path` relative to the data folder, `<dataDir>/bank` by default. */
export function bankPath(config: BankConfig, dataDir: string): string {
  const p = typeof config.path === 'string' && config.path ? config.path : 'bank';
  return path.resolve(dataDir, p);
}
