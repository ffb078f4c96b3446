import { and, desc, eq } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { formatTimestamp } from '../clock';
import type { Checkpoint } from '../checkpoints/service';
import type { EngineContext } from '../context';
import { checkpointResources, checkpoints } from '../db/schema';
import type { JsonObject } from '../db/schema/common';
import type { Plan } from '../plans/service';
import { protectableContext } from '../protectables/context';
import { buildResourceGraph, packResourceGraph, type GraphNode } from '../protectables/resource-graph';
import type { Resource } from '../protectables/types';
import type { Provider } from '../providers/registry';
import type { ProtectionPlugin, ResourceContext, ResourceData, RestoreTarget } from '../providers/types';
import { CheckpointData, deleteCheckpointData } from '../../banks/store/checkpoint-data';
import { copyCheckpointObjects } from './copy';
import { Limiter } from './limiter';
import type { ProviderStores } from './provider-stores';
import { ProgressTracker } from './progress';
import { RunValues } from './run-scope';

export interface ResourceOutcome {
  status: Record<string, string>;
  reason: Record<string, string>;
  failed: boolean;
}

/** `<type>#<id>`, the key of per-resource maps on the wire. */
export const resourceKey = (r: Pick<Resource, 'type' | 'id'>): string => `${r.type}#${r.id}`;

/** `<type>` parameters overlaid by `<type>#<id>` ones. */
export function resourceParameters(parameters: JsonObject, r: Resource): JsonObject {
  const byType = parameters[r.type];
  const byId = parameters[resourceKey(r)];
  const obj = (v: unknown): JsonObject => (v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : {});
  return { ...obj(byType), ...obj(byId) };
}

export interface RunnerOptions {
  /** Resources worked on at once. */
  concurrency: number;
}

/**
 * Runs protect, delete, restore and verify over a checkpoint's resource graph. Each resource is
 * handled by the protection plugin its provider assigns to the type: prepare → main (bounded
 * pool) → complete once all its children completed. Per-resource status and saved info go to
 * `checkpoint_resources`; only the main thread writes SQLite, plugins hand data back.
 */
export class ProtectionRunner {
  private readonly cancels = new Map<string, AbortController>();
  /** Per-resource byte counts of running protects, written to the row when the resource ends. */
  private readonly counters = new Map<string, { bytes: number; dataBytes: number; newBytes: number }>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly stores: ProviderStores,
    private readonly opts: RunnerOptions = { concurrency: 2 },
  ) {}

  /** Asks a running protect to stop; returns false when nothing runs under that id. */
  cancel(checkpointId: string): boolean {
    const c = this.cancels.get(checkpointId);
    if (!c) return false;
    c.abort(new Error('cancelled by the user'));
    return true;
  }

  /** Protects a plan into `checkpointId`; returns Karbor's packed graph. Throws naming failed resources. */
  async protect(plan: Plan, checkpointId: string): Promise<string> {
    const provider = this.ctx.providers.get(plan.provider_id);
    const roots = await buildResourceGraph(this.ctx.protectables, protectableContext(this.ctx, plan.project_id), plan.resources);
    const graph = packResourceGraph(roots);
    const abort = new AbortController();
    this.cancels.set(checkpointId, abort);
    const progress = new ProgressTracker(this.ctx.events, checkpointId);
    const limiter = new Limiter(this.opts.concurrency);
    const previous = this.previousSavedInfo(plan.id, provider.definition.id, checkpointId);
    const runs = new Map<GraphNode, Promise<void>>();
    const failures: string[] = [];
    /**
     * Resources whose main hook finished, for undoing what they made outside the bank if the
     * checkpoint fails: a parent's main may have made things (a consistency group's backups) even
     * when one of its children fails afterwards.
     */
    const finished: { plugin: ProtectionPlugin; resource: Resource; savedInfo: JsonObject }[] = [];
    const ps = this.stores.get(provider);
    const cpData = ps ? new CheckpointData(ps.store, checkpointId) : undefined;

    const runNode = (node: GraphNode): Promise<void> => {
      const existing = runs.get(node);
      if (existing) return existing;
      const r = node.resource;
      const key = resourceKey(r);
      const plugin = provider.byType.get(r.type);
      const p = (async () => {
        this.recordStart(checkpointId, r);
        try {
          if (!plugin) throw new Error(`type ${r.type} is not supported by provider ${provider.definition.name}`);
          const base = this.resourceContext(provider, checkpointId, r, plan.parameters, abort.signal, progress, cpData);
          const pctx = { ...base, previous: previous.get(key) };
          const hooks = plugin.protect;
          await limiter.run(async () => {
            abort.signal.throwIfAborted();
            await hooks?.prepare?.(pctx);
          });
          const savedInfo =
            (await limiter.run(async () => {
              abort.signal.throwIfAborted();
              return hooks?.main?.(pctx);
            })) ?? {};
          finished.push({ plugin, resource: r, savedInfo });
          const children = await Promise.allSettled(node.children.map(runNode));
          if (children.some((c) => c.status === 'rejected')) throw new Error('a resource it depends on failed');
          abort.signal.throwIfAborted();
          await hooks?.complete?.({ ...pctx, savedInfo });
          this.recordEnd(checkpointId, key, 'available', savedInfo, null);
        } catch (err) {
          const reason = abort.signal.aborted ? 'cancelled by the user' : err instanceof Error ? err.message : String(err);
          failures.push(`${key} (${r.name}): ${reason}`);
          this.recordEnd(checkpointId, key, 'error', null, reason);
          throw err;
        }
      })();
      runs.set(node, p);
      return p;
    };

    const work = async (): Promise<void> => {
      await Promise.allSettled(roots.map(runNode));
      progress.emit();
      // The index is written last: only a fully protected checkpoint becomes visible in the bank.
      if (!failures.length && !abort.signal.aborted) await cpData?.commit(formatTimestamp(this.ctx.clock.now()));
    };
    try {
      await (ps ? ps.writing(() => ps.lock.shared(work)) : work());
    } finally {
      this.cancels.delete(checkpointId);
    }
    if (abort.signal.aborted || failures.length) {
      // Nothing half-written stays behind: what finished resources made outside the bank (Cinder
      // backups, …) is deleted by their plugins (the failed checkpoint has no graph a later delete
      // could follow), and the partial checkpoint's objects and chunks are freed.
      const signal = new AbortController().signal;
      for (const f of finished) {
        const c = this.resourceContext(provider, checkpointId, f.resource, plan.parameters, signal, progress, cpData);
        await Promise.resolve(f.plugin.delete?.({ ...c, savedInfo: f.savedInfo })).catch((err: unknown) =>
          this.ctx.log.warn('could not undo a resource of a failed checkpoint', {
            checkpointId,
            resource: resourceKey(f.resource),
            error: err instanceof Error ? err.message : String(err),
          }),
        );
      }
      if (ps) await ps.writing(() => ps.lock.exclusive(() => deleteCheckpointData(ps.store, checkpointId))).catch(() => undefined);
      throw new Error(abort.signal.aborted ? 'cancelled by the user' : failures.join('; '));
    }
    return graph;
  }

  async deleteCheckpoint(cp: Checkpoint): Promise<void> {
    const out = await this.eachStored(cp, 'delete', {}, (plugin, c) => plugin.delete?.(c));
    if (out.failed)
      throw new Error(
        Object.entries(out.reason)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; '),
      );
    const ps = this.stores.get(this.ctx.providers.get(cp.provider_id));
    if (ps) await ps.writing(() => ps.lock.exclusive(() => deleteCheckpointData(ps.store, cp.id)));
  }

  /**
   * Copies an available checkpoint into `target`'s bank as checkpoint `targetId` (its row exists,
   * `copying`): every resource's data and saved info (see copy.ts), then the index, last. On
   * failure or cancel the partial copy is removed from the target bank.
   */
  async copy(src: Checkpoint, target: Provider, targetId: string): Promise<void> {
    const sps = this.stores.get(this.ctx.providers.get(src.provider_id));
    const tps = this.stores.get(target);
    if (!sps || !tps) throw new Error('copying needs a bank on both providers');
    const abort = new AbortController();
    this.cancels.set(targetId, abort);
    const progress = new ProgressTracker(this.ctx.events, targetId);
    const rows = this.resources(src.id).filter((r) => r.status === 'available');
    const work = async (): Promise<void> => {
      await copyCheckpointObjects(sps.store, tps.store, src.id, targetId, abort.signal, (d) => progress.report('copy', d));
      const now = formatTimestamp(this.ctx.clock.now());
      this.ctx.db.transaction((tx) => {
        for (const r of rows)
          tx.insert(checkpointResources)
            .values({ ...r, checkpointId: targetId, startedAt: now, endedAt: now })
            .run();
      });
      progress.emit();
    };
    try {
      // Providers that share a bank share its store and lock: the lock is taken once.
      if (sps === tps) await tps.writing(() => tps.lock.shared(work));
      else await sps.lock.shared(() => tps.writing(() => tps.lock.shared(work)));
    } catch (err) {
      await tps.writing(() => tps.lock.exclusive(() => deleteCheckpointData(tps.store, targetId))).catch(() => undefined);
      throw abort.signal.aborted ? new Error('cancelled by the user') : err;
    } finally {
      this.cancels.delete(targetId);
    }
  }

  /**
   * Restores children before parents, handing each the new ids of what was restored before it.
   * What the resources share (a login to the target) is disposed of when the restore ends.
   */
  async restore(cp: Checkpoint, parameters: JsonObject, target: RestoreTarget | null = null): Promise<ResourceOutcome> {
    const restored = new Map<string, string>();
    const run = new RunValues();
    try {
      return await this.eachStored(cp, 'restore', parameters, async (plugin, c) => {
        const res = await plugin.restore?.({ ...c, restoredIds: restored, target, run });
        restored.set(resourceKey(c.resource), (res && res.newId) ?? c.resource.id);
        for (const [k, id] of Object.entries((res && res.restoredIds) ?? {})) restored.set(k, id);
      });
    } finally {
      await run.close();
    }
  }

  async verify(cp: Checkpoint, parameters: JsonObject): Promise<ResourceOutcome> {
    return this.eachStored(cp, 'verify', parameters, (plugin, c) => plugin.verify?.(c));
  }

  /** Runs one hook per stored resource, children first (the graph's post-order). */
  private async eachStored(
    cp: Checkpoint,
    verb: string,
    parameters: JsonObject,
    hook: (plugin: ProtectionPlugin, c: ResourceContext & { savedInfo: JsonObject }) => Promise<unknown> | undefined,
  ): Promise<ResourceOutcome> {
    const done = verb === 'restore' ? 'restored' : verb === 'verify' ? 'success' : 'deleted';
    const out: ResourceOutcome = { status: {}, reason: {}, failed: false };
    const provider = this.ctx.providers.get(cp.provider_id);
    const saved = new Map(
      this.ctx.db
        .select()
        .from(checkpointResources)
        .where(eq(checkpointResources.checkpointId, cp.id))
        .all()
        .map((r) => [r.resourceKey, r.savedInfo ?? {}]),
    );
    const signal = new AbortController().signal;
    const progress = new ProgressTracker(this.ctx.events, cp.id);
    const ps = this.stores.get(provider);
    const cpData = ps ? new CheckpointData(ps.store, cp.id) : undefined;
    for (const r of unpackResources(cp.resource_graph)) {
      const key = resourceKey(r);
      const plugin = provider.byType.get(r.type);
      try {
        if (!plugin) throw new Error(`type ${r.type} is no longer supported by provider ${provider.definition.name}`);
        const c = { ...this.resourceContext(provider, cp.id, r, parameters, signal, progress, cpData), savedInfo: saved.get(key) ?? {} };
        await hook(plugin, c);
        out.status[key] = done;
      } catch (err) {
        out.status[key] = 'error';
        out.reason[key] = err instanceof Error ? err.message : String(err);
        out.failed = true;
      }
    }
    return out;
  }

  private resourceContext(
    provider: Provider,
    checkpointId: string,
    r: Resource,
    parameters: JsonObject,
    signal: AbortSignal,
    progress: ProgressTracker,
    cpData?: CheckpointData,
  ): ResourceContext {
    const key = resourceKey(r);
    const data = cpData?.forResource(key, undefined, signal);
    return {
      data: data && this.counted(checkpointId, key, data),
      cacheDir: path.join(this.ctx.dataDir, 'cache', provider.definition.id, createHash('sha256').update(key).digest('hex').slice(0, 32)),
      checkpointId,
      providerId: provider.definition.id,
      resource: r,
      parameters: resourceParameters(parameters, r),
      signal,
      progress: (d) => {
        progress.report(resourceKey(r), d);
        if (d.bytes) this.addBytes(checkpointId, resourceKey(r), d.bytes);
      },
    };
  }

  /**
   * Saved info of each resource in the plan's newest available checkpoint before this one, in the
   * same provider: a copy in another provider's bank refers to that bank's data, never this one's.
   */
  private previousSavedInfo(planId: string, providerId: string, checkpointId: string): Map<string, JsonObject> {
    const prev = this.ctx.db
      .select({ id: checkpoints.id })
      .from(checkpoints)
      .where(and(eq(checkpoints.planId, planId), eq(checkpoints.providerId, providerId), eq(checkpoints.status, 'available')))
      .orderBy(desc(checkpoints.createdAt), desc(checkpoints.id))
      .all()
      .find((c) => c.id !== checkpointId);
    if (!prev) return new Map();
    return new Map(
      this.ctx.db
        .select()
        .from(checkpointResources)
        .where(eq(checkpointResources.checkpointId, prev.id))
        .all()
        .filter((r) => r.status === 'available' && r.savedInfo)
        .map((r) => [r.resourceKey, r.savedInfo as JsonObject]),
    );
  }

  private recordStart(checkpointId: string, r: Resource): void {
    this.counters.set(counterId(checkpointId, resourceKey(r)), { bytes: 0, dataBytes: 0, newBytes: 0 });
    this.ctx.db
      .insert(checkpointResources)
      .values({
        checkpointId,
        resourceKey: resourceKey(r),
        resourceType: r.type,
        resourceId: r.id,
        name: r.name,
        status: 'protecting',
        startedAt: formatTimestamp(this.ctx.clock.now()),
      })
      .onConflictDoNothing()
      .run();
  }

  private recordEnd(checkpointId: string, key: string, status: string, savedInfo: JsonObject | null, error: string | null): void {
    const id = counterId(checkpointId, key);
    const n = this.counters.get(id);
    this.counters.delete(id);
    this.ctx.db
      .update(checkpointResources)
      .set({ status, savedInfo, error, endedAt: formatTimestamp(this.ctx.clock.now()), ...n })
      .where(and(eq(checkpointResources.checkpointId, checkpointId), eq(checkpointResources.resourceKey, key)))
      .run();
  }

  /**
   * The resource's data with its dedup numbers counted as the plugin stores: `data_bytes` grows by
   * every stream stored or reused, `new_bytes` by what the bank had to add for it. Counted in memory
   * and written with the resource's end: one SQL update per file would dominate a protect of many
   * small unchanged files.
   */
  private counted(checkpointId: string, key: string, data: ResourceData): ResourceData {
    const add = (dataBytes: number, newBytes: number): void => {
      const n = this.counters.get(counterId(checkpointId, key));
      if (!n) return;
      n.dataBytes += dataBytes;
      n.newBytes += newBytes;
    };
    return {
      ...data,
      put: async (name, stream) => {
        const res = await data.put(name, stream);
        add(res.size, res.newBytes);
        return res;
      },
      store: async (stream) => {
        const res = await data.store(stream);
        add(res.size, res.newBytes);
        return res;
      },
      storeFile: async (file, size) => {
        const res = await data.storeFile(file, size);
        if (res) add(res.size, res.newBytes);
        return res;
      },
      reuse: (manifest) => {
        data.reuse(manifest);
        add(typeof manifest.size === 'number' ? manifest.size : 0, 0);
      },
    };
  }

  /** Bytes a protect read for a resource (restores and verifies are not counted into the checkpoint). */
  private addBytes(checkpointId: string, key: string, n: number): void {
    const c = this.counters.get(counterId(checkpointId, key));
    if (c) c.bytes += n;
  }

  /** Per-resource rows of a checkpoint, for the UI's detail view. */
  resources(checkpointId: string): (typeof checkpointResources.$inferSelect)[] {
    return this.ctx.db.select().from(checkpointResources).where(eq(checkpointResources.checkpointId, checkpointId)).all();
  }
}

const counterId = (checkpointId: string, key: string): string => `${checkpointId}\n${key}`;

/** The resources of a packed graph, in its post-order. */
export function unpackResources(graph: string | null): Resource[] {
  if (!graph) return [];
  const [nodes] = JSON.parse(graph) as [Record<string, [string, string, string, JsonObject]>, unknown];
  return Object.keys(nodes)
    .sort((a, b) => parseInt(a, 16) - parseInt(b, 16))
    .map((k) => {
      const [type, id, name, extra] = nodes[k] as [string, string, string, JsonObject];
      return { type, id, name, extra_info: extra };
    });
}
