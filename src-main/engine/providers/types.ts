import type { JsonObject } from '../db/schema/common';
import type { RestoreAuth } from '../db/schema/restores';
import type { Readable } from 'node:stream';
import type { Resource } from '../protectables/types';
import type { WalkBatch, WalkFilter } from '../../banks/store/walk-sync';

export type JsonSchema = JsonObject;

/** Karbor's `extended_info_schema`: one JSON Schema per resource type for each purpose. */
export interface ExtendedInfoSchema {
  options_schema: Record<string, JsonSchema>;
  saved_info_schema: Record<string, JsonSchema>;
  restore_schema: Record<string, JsonSchema>;
  verify_schema?: Record<string, JsonSchema>;
}

/**
 * A protection plugin: which resource types it protects and their schemas. The lifecycle hooks
 * (prepare → main → complete for protect, restore, verify, delete) run in the protection runner;
 * a plugin without them protects nothing and succeeds, like Karbor's No-Op plugin.
 */
export interface ProtectionPlugin {
  readonly name: string;
  /** Types protected; `'*'` means every registered protectable type. */
  readonly supportedTypes: readonly string[] | '*';
  schemas(type: string): { options: JsonSchema; savedInfo: JsonSchema; restore: JsonSchema; verify?: JsonSchema };
  /** Protect hooks: prepare → main (returns the saved info) → complete, after the children complete. */
  protect?: ProtectHooks;
  /** Restores one resource; returns the new resource's id when it differs. */
  restore?(ctx: RestoreContext): Promise<RestoreResult | void>;
  /** Re-reads the resource's data and throws with the reason if anything is damaged. */
  verify?(ctx: StoredResourceContext): Promise<void>;
  /** Frees what the resource stored in the bank. */
  delete?(ctx: StoredResourceContext): Promise<void>;
}

/** Progress a plugin reports while it works; counts are deltas, totals are absolute. */
export interface ProgressDelta {
  bytes?: number;
  items?: number;
  totalBytes?: number;
  totalItems?: number;
}

/** A stored stream of a resource in a checkpoint. */
export interface StoredStream {
  name: string;
  size: number;
  sha256: string;
}

/**
 * A resource's data in the provider's bank (deduplicated, compressed): what a plugin writes while
 * protecting and reads back while restoring or verifying.
 */
export interface ResourceData {
  /** Stores a named stream. A Buffer is taken (it may move to a worker thread): do not use it afterwards. */
  put(name: string, data: Readable | Buffer): Promise<StoredStream & { newBytes: number }>;
  get(name: string): Promise<Readable>;
  /** Re-reads and re-hashes the stream; throws naming the damaged part. */
  verify(name: string): Promise<void>;
  list(): Promise<string[]>;
  /**
   * Stores data without a name; the returned manifest (plain JSON) is kept by the plugin, e.g. in
   * its index. A Buffer is taken, as by `put`.
   */
  store(data: Readable | Buffer): Promise<{ manifest: JsonObject; size: number; newBytes: number }>;
  load(manifest: JsonObject): Readable;
  /** A small stream stored by `store` read whole into memory (no stream machinery per file). */
  read(manifest: JsonObject): Promise<Buffer>;
  /**
   * Stores a small file (seen as `size` bytes) as `store` would, read and stored off this thread
   * where the bank allows. Undefined when it could not, e.g. the file has grown since: store it
   * with `store` then.
   */
  storeFile(file: string, size: number): Promise<{ manifest: JsonObject; size: number; newBytes: number } | undefined>;
  /**
   * Writes a small stream stored by `store` into the new file `dest` (opened with `flags`, given
   * `mode` and the times in seconds) off this thread where the bank allows. False when it could
   * not: read it with `read` and write it then.
   */
  restoreFile(manifest: JsonObject, dest: string, file: { flags: string; mode: number; atime: number; mtime: number }): Promise<boolean>;
  check(manifest: JsonObject): Promise<void>;
  /**
   * Walks a directory tree off this thread where the engine has worker threads, in batches
   * (banks/store/walk-sync.ts); undefined where it has none (walk it here then).
   */
  walk(root: string, filter: WalkFilter): AsyncIterable<WalkBatch> | undefined;
  /** Records that this checkpoint keeps using data stored by an earlier one. */
  reuse(manifest: JsonObject): void;
}

/** What a plugin hook gets for one resource of one checkpoint. */
export interface ResourceContext {
  checkpointId: string;
  providerId: string;
  resource: Resource;
  /** This resource's options: the `<type>` parameters overlaid by `<type>#<id>` ones. */
  parameters: JsonObject;
  /** Aborted when the user cancels; long work must stop promptly. */
  signal: AbortSignal;
  progress(delta: ProgressDelta): void;
  /** The resource's data in the provider's bank; absent for providers without a bank (No-Op). */
  data?: ResourceData;
  /**
   * A folder of the engine's own for this resource in this provider (made on first write), for
   * what can always be rebuilt from the bank: it may be missing, stale or emptied at any time.
   */
  cacheDir?: string;
}

export interface ProtectContext extends ResourceContext {
  /** Saved info of this resource in the plan's previous available checkpoint (for incrementals). */
  previous?: JsonObject;
}

export interface StoredResourceContext extends ResourceContext {
  savedInfo: JsonObject;
}

/**
 * Where a restore goes when it names a place other than the resources' origin: Karbor's
 * `restore_target` and `restore_auth`. What the target means is the family's to say (the
 * OpenStack plugins: a Keystone auth URL).
 */
export interface RestoreTarget {
  /** `restore_target` as the caller gave it. */
  url: string;
  /**
   * `restore_auth` in clear. It lives only in memory for the length of the restore: the database
   * holds the masked form from the start, and nothing may log or echo it.
   */
  auth: RestoreAuth | null;
}

/**
 * Values the resources of one run share (e.g. one login to a restore target, made by the first
 * resource that needs it), disposed of when the run ends.
 */
export interface RunScope {
  /**
   * The value under `key`, made by `make` on first use in this run; later callers get the same
   * promise, a rejected one included (a failed login is not retried per resource).
   */
  shared<T>(key: string, make: () => Promise<T>, dispose?: (value: T) => Promise<void> | void): Promise<T>;
}

export interface RestoreContext extends StoredResourceContext {
  /** New ids of resources restored before this one (children first), keyed `<type>#<old id>`. */
  restoredIds: ReadonlyMap<string, string>;
  /** The restore's target; null restores where the resources came from. */
  target: RestoreTarget | null;
  run: RunScope;
}

export interface RestoreResult {
  newId?: string;
  /**
   * New ids of further resources this restore created, keyed `<type>#<old id>`: a consistency
   * group restores its member volumes into the new group, after their own nodes ran.
   */
  restoredIds?: Record<string, string>;
}

export interface ProtectHooks {
  prepare?(ctx: ProtectContext): Promise<void>;
  main?(ctx: ProtectContext): Promise<JsonObject | void>;
  complete?(ctx: ProtectContext & { savedInfo: JsonObject }): Promise<void>;
}

export interface BankConfig {
  type: string;
  [key: string]: unknown;
}

/** A provider as defined in a built-in definition or a `providers.d/*.json` file. */
export interface ProviderDefinition {
  id: string;
  name: string;
  description?: string;
  plugins: string[];
  bank?: BankConfig;
  enabled?: boolean;
  /** Settings the provider's plugins read (the OpenStack plugins: `{"cloud": "<clouds.yaml name>"}`). */
  config?: JsonObject;
}

/** A provider as the API shows it. */
export interface ProviderView {
  id: string;
  name: string;
  description: string;
  extended_info_schema: ExtendedInfoSchema;
}

export interface LoadedProviderFile {
  file: string;
  providerId?: string;
  error?: string;
}
