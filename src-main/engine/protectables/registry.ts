import type { JsonObject } from '../db/schema/common';
import { Invalid, NotFound } from '../errors';
import type { Instance, ProtectableContext, ProtectablePlugin, Resource } from './types';

/** All protectable types the loaded plugin families contribute. */
export class ProtectableRegistry {
  private readonly plugins = new Map<string, ProtectablePlugin>();

  register(plugin: ProtectablePlugin): void {
    if (this.plugins.has(plugin.type)) throw new Error(`protectable type ${plugin.type} registered twice`);
    this.plugins.set(plugin.type, plugin);
  }

  types(): string[] {
    return [...this.plugins.keys()].sort();
  }

  has(type: string): boolean {
    return this.plugins.has(type);
  }

  /** Karbor answered 400 for an unknown type here, not 404. */
  get(type: string): ProtectablePlugin {
    const plugin = this.plugins.get(type);
    if (!plugin) throw new Invalid(`Invalid protectable type '${type}' (known: ${this.types().join(', ')})`, 'UNKNOWN_TYPE');
    return plugin;
  }

  async listInstances(ctx: ProtectableContext, type: string, parameters: JsonObject): Promise<Instance[]> {
    const plugin = this.get(type);
    const found = await plugin.listInstances(ctx, parameters);
    return Promise.all(found.map(async (r) => ({ ...r, dependent_resources: await plugin.dependents(ctx, r) })));
  }

  async showInstance(ctx: ProtectableContext, type: string, id: string, parameters: JsonObject): Promise<Instance> {
    const plugin = this.get(type);
    const found = await plugin.showInstance(ctx, id, parameters);
    if (!found) throw new NotFound(`Protectable instance ${type} ${id} could not be found`, 'INSTANCE_NOT_FOUND');
    return { ...found, dependent_resources: await plugin.dependents(ctx, found) };
  }

  /** Direct dependents of a resource; a type without a plugin has none. */
  async dependents(ctx: ProtectableContext, resource: Resource): Promise<Resource[]> {
    const plugin = this.plugins.get(resource.type);
    return plugin ? plugin.dependents(ctx, resource) : [];
  }
}
