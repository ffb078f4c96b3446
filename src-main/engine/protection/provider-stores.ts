import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Bank, BankLease } from '../../banks/types';
import { chunkCodecSpec } from '../../banks/store/chunk-codec';
import { ChunkWorkerPool } from '../../banks/store/chunk-pool';
import { ChunkStore, type ChunkStoreOptions } from '../../banks/store/chunk-store';
import type { EngineContext } from '../context';
import type { Provider } from '../providers/registry';
import type { BankConfig } from '../providers/types';
import { RwLock } from './rw-lock';

/** Builds a bank backend from a provider's `bank` config; relative paths are under the data folder. */
export type BankFactory = (config: BankConfig, dataDir: string) => Bank;

/** The lease every writer of a bank takes (see `Bank.acquireLease`). */
export const WRITER_LEASE = 'writer';
/** A writer that stops renewing (crash, power loss) loses the bank after this long. */
export const LEASE_TTL_MS = 120_000;

export interface ProviderStore {
  store: ChunkStore;
  bank: Bank;
  /** Protects share the bank; freeing chunks takes it alone (a sweep must not see half-written data). */
  lock: RwLock;
  /**
   * Runs `fn` holding the bank's writer lease, so a second engine pointed at the same bank cannot
   * write (or sweep chunks) at the same time. The lease is taken by the first writer, renewed every
   * third of its ttl while any writer runs, and released when the last one ends, so an idle engine
   * does not keep the bank from others.
   *
   * @throws BankLocked (naming the holder) when another engine is writing the bank.
   */
  writing<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * One chunk store per provider bank, opened on first use. Providers without a bank (No-Op) have
 * none. The stores share one chunk worker pool, which starts with the first chunk and stops
 * when the engine closes.
 */
/** What decides whether two providers' banks are one: a local bank's folder, else the config. */
function bankLocation(config: BankConfig, bank: Bank): string {
  if ('dir' in bank && typeof bank.dir === 'string') return `local:${bank.dir}`;
  const { encryption: _encryption, ...where } = config;
  return `${config.type}:${stableJson(where)}`;
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

export class ProviderStores {
  private readonly stores = new Map<string, ProviderStore>();
  /**
   * Stores by bank location: providers whose banks are one (a providers.d file without a bank
   * path has the Local Provider's) share one store, so one lock, one lease and one view of the
   * chunks guard the bank; two stores would sweep each other's chunks away mid-protect.
   */
  private readonly byLocation = new Map<string, { made: ProviderStore; provider: string; encryption: string }>();
  private readonly leases = new Set<LeaseHolder>();
  private pool: ChunkWorkerPool | undefined;

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
    const bank = factory(config, this.ctx.dataDir);
    const label = 'dir' in bank && typeof bank.dir === 'string' ? bank.dir : `${config.type} bank of provider ${provider.definition.name}`;
    const location = bankLocation(config, bank);
    const encryption = stableJson(config.encryption ?? null);
    const shared = this.byLocation.get(location);
    if (shared) {
      if (shared.encryption !== encryption) {
        throw new Error(
          `providers ${shared.provider} and ${provider.definition.name} use one bank (${label}) with different encryption settings; give one of them its own bank`,
        );
      }
      this.stores.set(provider.definition.id, shared.made);
      return shared.made;
    }
    this.pool ??= new ChunkWorkerPool({ log: this.ctx.log });
    const store = new ChunkStore(bank, chunkCodecSpec('sha256'), {
      work: this.pool,
      label,
      encryption: bankEncryption(config, this.ctx.dataDir, provider.definition.name),
    });
    // Another engine may have written (or crashed writing) while this one did not hold the lease.
    const holder = new LeaseHolder(bank, `${os.hostname()}:${this.ctx.dataDir}`, this.ctx, () => store.beginWriteSession());
    this.leases.add(holder);
    const made: ProviderStore = {
      store,
      bank,
      lock: new RwLock(),
      writing: (fn) => holder.run(fn),
    };
    this.stores.set(provider.definition.id, made);
    this.byLocation.set(location, { made, provider: provider.definition.name, encryption });
    return made;
  }

  /** Chunk workers running now (none before the first chunk, none after close). */
  get chunkWorkers(): number {
    return this.pool?.running ?? 0;
  }

  /** Releases every lease still held (writers have ended by now) and stops the chunk workers. */
  async close(): Promise<void> {
    await Promise.all([...this.leases].map((l) => l.close()));
    await this.pool?.close();
    this.pool = undefined;
  }
}

/** The reference-counted writer lease of one bank, renewed while in use. */
class LeaseHolder {
  private users = 0;
  private lease: Promise<BankLease> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bank: Bank,
    private readonly owner: string,
    private readonly ctx: EngineContext,
    /** Called when a writer takes the lease afresh (no writer of this engine is running then). */
    private readonly onAcquire: () => void,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.users++;
    try {
      if (!this.lease) {
        // Only when no other writer runs: a lease lost while writers run is taken again without
        // forgetting what they are writing.
        if (this.users === 1) this.onAcquire();
        const taking = this.bank.acquireLease(WRITER_LEASE, { owner: this.owner, ttlMs: LEASE_TTL_MS });
        this.lease = taking;
        taking.catch(() => {
          if (this.lease === taking) this.lease = undefined;
        });
        this.timer = setInterval(() => void this.renew(), LEASE_TTL_MS / 3);
        this.timer.unref();
      }
      await this.lease;
      return await fn();
    } finally {
      if (--this.users === 0) await this.close();
    }
  }

  private async renew(): Promise<void> {
    const lease = await this.lease?.catch(() => undefined);
    try {
      await lease?.renew();
    } catch (err) {
      // Lost to another engine (this one was asleep past the ttl): the next writer takes it again or fails clearly.
      this.ctx.log.warn('bank writer lease lost', { error: err instanceof Error ? err.message : String(err) });
      this.lease = undefined;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const lease = this.lease;
    this.lease = undefined;
    const held = await lease?.catch(() => undefined);
    await held
      ?.release()
      .catch((err: unknown) =>
        this.ctx.log.warn('releasing the bank writer lease failed', { error: err instanceof Error ? err.message : String(err) }),
      );
  }
}

/**
 * A bank config's `encryption`: `{ "passphrase_file": "<path>" }` (relative to the data folder;
 * the first line is the passphrase) or `{ "passphrase_env": "<variable>" }`. The passphrase is
 * read when the bank is first used, never stored or logged. See banks/store/bank-keys.ts.
 */
export function bankEncryption(config: BankConfig, dataDir: string, provider: string): ChunkStoreOptions['encryption'] {
  const enc = config.encryption;
  if (enc === undefined) return undefined;
  const bad = (why: string): never => {
    throw new Error(`provider ${provider}: bank.encryption ${why}`);
  };
  if (!enc || typeof enc !== 'object' || Array.isArray(enc)) return bad('must be an object');
  const { passphrase_file: file, passphrase_env: env, ...rest } = enc as Record<string, unknown>;
  if (Object.keys(rest).length) bad(`has unknown keys (${Object.keys(rest).join(', ')}); only passphrase_file or passphrase_env`);
  if ((file === undefined) === (env === undefined)) bad('needs exactly one of passphrase_file and passphrase_env');
  const nonEmpty = (p: string, where: string): string => {
    if (!p) throw new Error(`provider ${provider}: the bank passphrase in ${where} is empty`);
    return p;
  };
  if (typeof file === 'string' && file) {
    const abs = path.resolve(dataDir, file);
    return {
      passphrase: async () => {
        const text = await fs.readFile(abs, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new Error(`provider ${provider}: the bank passphrase file ${abs} cannot be read (${err.code ?? err.message})`);
        });
        return nonEmpty(text.split(/\r?\n/)[0] ?? '', abs);
      },
    };
  }
  if (typeof env === 'string' && env) {
    return { passphrase: async () => nonEmpty(process.env[env] ?? '', `the environment variable ${env}`) };
  }
  return bad('passphrase_file / passphrase_env must be a non-empty string');
}

/** `bank.path` relative to the data folder, `<dataDir>/bank` by default. */
export function bankPath(config: BankConfig, dataDir: string): string {
  const p = typeof config.path === 'string' && config.path ? config.path : 'bank';
  return path.resolve(dataDir, p);
}
