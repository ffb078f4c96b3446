import fs from 'node:fs';
import path from 'node:path';
import { Authenticator, type KeystoneAuthOptions } from './auth/authenticator';
import { TokenService } from './auth/tokens';
import { CheckpointService } from './checkpoints/service';
import { CloudService } from './clouds/service';
import { systemClock, type Clock } from './clock';
import type { EngineContext } from './context';
import { openDatabase, type Db } from './db/open';
import { EngineEvents } from './events';
import { JobQueue } from './jobs';
import { silentLog, type Logger } from './log';
import { OperationLogService } from './operation-logs/service';
import { PlanService } from './plans/service';
import { ProtectableRegistry } from './protectables/registry';
import type { ProtectablePlugin } from './protectables/types';
import { ProtectionRunner } from './protection/runner';
import { ProviderStores, type BankFactory } from './protection/provider-stores';
import { BUILTIN_BANKS } from './protection/builtin-banks';
import { noopProtectionPlugin, noopProvider } from './providers/noop';
import { ProviderRegistry } from './providers/registry';
import type { ProtectionPlugin, ProviderDefinition } from './providers/types';
import { QuotaService } from './quotas/service';
import { recoverInterrupted } from './recovery';
import { lockDataFolder } from './engine-lock';
import { RestoreService, VerificationService } from './restores/service';
import { ScheduledOperationService } from './scheduled-operations/service';
import { ServiceRegistry } from './services/service';
import { SettingsService } from './settings/service';
import { DEFAULT_SCHEDULER, Scheduler, type SchedulerOptions } from './scheduler/scheduler';
import { DEFAULT_TIME_MODEL, type TimeModelOptions } from './triggers/time-model';
import { TriggerService } from './triggers/service';
import { directoryProtectable } from '../plugins/local/directory/protectable';
import { directoryProtection } from '../plugins/local/directory/protection';
import { sqliteProtectable, sqliteProtection } from '../plugins/local/sqlite/sqlite';
import { postgresqlProtectable } from '../plugins/local/postgresql/protectable';
import { postgresqlProtection } from '../plugins/local/postgresql/protection';
import { localProvider } from '../plugins/local/provider';
import { openstackFamily } from '../plugins/openstack/provider';
import { appCloudsPath } from '../plugins/openstack/client/app-clouds';

export interface EngineOptions {
  dataDir: string;
  clock?: Clock;
  log?: Logger;
  /** Extra protectable plugins (resource families) beside the built-in ones. */
  protectables?: ProtectablePlugin[];
  /** Extra protection plugins that provider definitions may name. */
  protectionPlugins?: ProtectionPlugin[];
  /** Extra built-in providers. */
  providers?: ProviderDefinition[];
  timeModel?: Partial<TimeModelOptions>;
  /** Extra bank backends by `bank.type` (local is built in). */
  banks?: Record<string, BankFactory>;
  /** Home folder the directory browser starts in. */
  homeDir?: string;
  /** Run scheduled operations (default true; tools that only read or write data pass false). */
  scheduler?: boolean | Partial<SchedulerOptions>;
  /** Where OpenStack clouds are looked for: `OS_*` environment and the clouds.yaml search path's folders (tests pass their own). */
  openstack?: { env?: NodeJS.ProcessEnv; cwd?: string; home?: string };
  /** Accept Keystone tokens of these clouds beside the engine's own (off when absent). */
  keystoneAuth?: KeystoneAuthOptions;
  /**
   * Opens the data folder beside the engine that has it, for tools (`tokens`): no lock, no crash
   * repair, no scheduler. Otherwise the engine takes the data folder's lock (engine-lock.ts).
   */
  attach?: boolean;
}

/** The engine: typed services over one SQLite database, plus events and background jobs. */
export interface Engine {
  readonly dataDir: string;
  readonly db: Db;
  /** Shared context, for adapters that build plugin contexts. */
  readonly ctx: EngineContext;
  readonly events: EngineEvents;
  readonly providers: ProviderRegistry;
  readonly protectables: ProtectableRegistry;
  readonly tokens: TokenService;
  /** Who a request's token stands for: the engine's own tokens, and Keystone's in Keystone mode. */
  readonly auth: Authenticator;
  readonly plans: PlanService;
  readonly checkpoints: CheckpointService;
  readonly restores: RestoreService;
  readonly verifications: VerificationService;
  readonly triggers: TriggerService;
  readonly scheduledOperations: ScheduledOperationService;
  readonly operationLogs: OperationLogService;
  readonly quotas: QuotaService;
  readonly services: ServiceRegistry;
  readonly jobs: JobQueue;
  readonly scheduler: Scheduler;
  readonly settings: SettingsService;
  /** OpenStack clouds: those of clouds.yaml and `OS_*`, and those added in the app. */
  readonly clouds: CloudService;
  /** What the start repaired after a crash. */
  readonly recovered: Record<string, number>;
  /** Resolves when no background job runs. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens (or creates) the data folder: database with migrations, providers (built-in and
 * `providers.d/*.json`), crash repair. Throws `ProviderLoadError` naming a bad provider file.
 */
export function createEngine(opts: EngineOptions): Engine {
  const dataDir = path.resolve(opts.dataDir);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLog;
  const lock = opts.attach ? undefined : lockDataFolder(dataDir);
  let db: Db;
  try {
    db = openDatabase(path.join(dataDir, 'karbor.sqlite'));
  } catch (err) {
    lock?.release();
    throw err;
  }
  try {
    const protectables = new ProtectableRegistry();
    protectables.register(directoryProtectable(opts.homeDir));
    protectables.register(sqliteProtectable);
    protectables.register(postgresqlProtectable);
    // The OpenStack plugins read their provider's `config` (which cloud) when they run, and the
    // clouds added in the app from its own clouds.yaml.
    const appCloudsFile = appCloudsPath(dataDir);
    const openstack = openstackFamily({ providerConfig: (id) => providers.get(id).definition.config, appCloudsFile, ...opts.openstack });
    for (const p of openstack.protectables) protectables.register(p);
    for (const p of opts.protectables ?? []) protectables.register(p);
    const plugins = new Map<string, ProtectionPlugin>(
      [noopProtectionPlugin, directoryProtection, sqliteProtection, postgresqlProtection].map((p) => [p.name, p]),
    );
    for (const p of openstack.protectionPlugins) plugins.set(p.name, p);
    for (const p of opts.protectionPlugins ?? []) plugins.set(p.name, p);
    const providers = new ProviderRegistry(plugins, protectables);
    providers.add(noopProvider);
    providers.add(localProvider);
    for (const p of openstack.providers) providers.add(p);
    for (const p of opts.providers ?? []) providers.add(p);
    providers.loadDirectory(path.join(dataDir, 'providers.d'));

    const tokens = new TokenService(db, clock, dataDir);
    // Clouds added in the app count too: their entries live in the data folder's clouds.yaml.
    const keystoneAuth = opts.keystoneAuth && {
      ...opts.keystoneAuth,
      cloudOptions: { appFile: appCloudsFile, ...opts.keystoneAuth.cloudOptions },
    };
    const auth = new Authenticator(tokens, log, keystoneAuth);
    const events = new EngineEvents();
    const ctx: EngineContext = { db, clock, log, dataDir, providers, protectables, events };
    const jobs = new JobQueue(log);
    const stores = new ProviderStores(ctx, { ...BUILTIN_BANKS, ...opts.banks });
    const runner = new ProtectionRunner(ctx, stores);
    const quotas = new QuotaService(ctx);
    const operationLogs = new OperationLogService(ctx);
    const plans = new PlanService(ctx, quotas);
    const checkpoints = new CheckpointService(ctx, plans, quotas, operationLogs, jobs, runner);
    const triggers = new TriggerService(ctx, { ...DEFAULT_TIME_MODEL, ...opts.timeModel });
    const services = new ServiceRegistry(ctx);
    // Attached beside a running engine, its running operations are not interrupted ones.
    const recovered = opts.attach ? {} : recoverInterrupted(ctx, operationLogs);
    if (Object.values(recovered).some((n) => n > 0)) log.warn('repaired operations interrupted by the last shutdown', recovered);
    if (!opts.attach) services.heartbeat();
    const scheduledOperations = new ScheduledOperationService(ctx, plans, triggers);
    const scheduler = new Scheduler(
      ctx,
      { checkpoints, triggers, logs: operationLogs },
      { ...DEFAULT_SCHEDULER, ...(typeof opts.scheduler === 'object' ? opts.scheduler : {}) },
    );
    triggers.onChange = (id) => scheduler.refreshTrigger(id);
    scheduledOperations.onChange = (id) => scheduler.refresh(id);
    if (opts.scheduler !== false && !opts.attach) scheduler.start();
    return {
      dataDir,
      db,
      ctx,
      events,
      providers,
      protectables,
      tokens,
      auth,
      plans,
      checkpoints,
      restores: new RestoreService(ctx, checkpoints, operationLogs, jobs, runner),
      verifications: new VerificationService(ctx, checkpoints, operationLogs, jobs, runner),
      triggers,
      scheduledOperations,
      scheduler,
      settings: new SettingsService(ctx),
      clouds: new CloudService(ctx, { appFile: appCloudsFile, connections: openstack.connections, ...opts.openstack }),
      operationLogs,
      quotas,
      services,
      jobs,
      recovered,
      idle: () => jobs.idle(),
      async close() {
        await scheduler.stop();
        await jobs.close();
        await stores.close();
        db.$client.close();
        lock?.release();
      },
    };
  } catch (err) {
    db.$client.close();
    lock?.release();
    throw err;
  }
}

export type { Caller } from './context';
export type { KeystoneAuthOptions } from './auth/authenticator';
export * from './errors';
