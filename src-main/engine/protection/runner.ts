import type { EngineContext } from '../context';
import type { JsonObject } from '../db/schema/common';
import type { Checkpoint } from '../checkpoints/service';
import type { Plan } from '../plans/service';
import { protectableContext } from '../protectables/context';
import { buildResourceGraph, flattenGraph, packResourceGraph } from '../protectables/resource-graph';
import type { Resource } from '../protectables/types';

export interface ResourceOutcome {
  status: Record<string, string>;
  reason: Record<string, string>;
  failed: boolean;
}

/** `<type>#<id>`, the key of per-resource maps on the wire. */
export const resourceKey = (r: Pick<Resource, 'type' | 'id'>): string => `${r.type}#${r.id}`;

/**
 * Runs protect, delete, restore and verify for a checkpoint's resource graph. The graph is
 * built by following each resource's dependents; each resource is handled by the protection
 * plugin its provider assigns to the type.
 */
export class ProtectionRunner {
  constructor(private readonly ctx: EngineContext) {}

  /** Protects a plan; returns Karbor's packed resource graph. Throws with the reason on failure. */
  async protect(plan: Plan, _checkpointId: string): Promise<string> {
    const provider = this.ctx.providers.get(plan.provider_id);
    const pctx = protectableContext(this.ctx, plan.project_id);
    const roots = await buildResourceGraph(this.ctx.protectables, pctx, plan.resources);
    for (const r of flattenGraph(roots)) {
      if (!provider.byType.has(r.type)) {
        throw new Error(`resource ${resourceKey(r)} (${r.name}): type not supported by provider ${provider.definition.name}`);
      }
    }
    return packResourceGraph(roots);
  }

  async deleteCheckpoint(_cp: Checkpoint): Promise<void> {
    // The No-Op plugin keeps no data; plugins with a bank free their objects here.
  }

  async restore(cp: Checkpoint, _parameters: JsonObject): Promise<ResourceOutcome> {
    return this.eachResource(cp, 'restored');
  }

  async verify(cp: Checkpoint, _parameters: JsonObject): Promise<ResourceOutcome> {
    return this.eachResource(cp, 'success');
  }

  private eachResource(cp: Checkpoint, done: string): Promise<ResourceOutcome> {
    const out: ResourceOutcome = { status: {}, reason: {}, failed: false };
    const provider = this.ctx.providers.get(cp.provider_id);
    for (const r of unpackResources(cp.resource_graph)) {
      if (provider.byType.has(r.type)) {
        out.status[resourceKey(r)] = done;
      } else {
        out.status[resourceKey(r)] = 'error';
        out.reason[resourceKey(r)] = `type ${r.type} is no longer supported by provider ${provider.definition.name}`;
        out.failed = true;
      }
    }
    return Promise.resolve(out);
  }
}

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
