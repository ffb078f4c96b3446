import type { JsonObject } from '../db/schema/common';

/** A resource as plans and graphs carry it: Karbor's `{id, type, name, extra_info}`. */
export interface Resource {
  id: string;
  type: string;
  name: string;
  extra_info?: JsonObject;
}

/** A protectable instance as the API shows it. */
export interface Instance extends Resource {
  dependent_resources: Resource[];
}

/** What a protectable plugin may use from the engine. */
export interface ProtectableContext {
  projectId: string;
  /** Remembers an instance whose id cannot be mapped back to what it names. */
  remember(type: string, id: string, name: string, locator: string): void;
  /** Looks up a remembered instance's locator. */
  recall(type: string, id: string): { name: string; locator: string } | undefined;
}

/**
 * A protectable plugin: one resource type, its instances and the resources that depend on an
 * instance (its children in the resource graph).
 */
export interface ProtectablePlugin {
  readonly type: string;
  /** Types that instances of this type may depend on (Karbor's `dependent_types`). */
  readonly dependentTypes: readonly string[];
  listInstances(ctx: ProtectableContext, parameters: JsonObject): Promise<Resource[]>;
  /** Returns undefined when no such instance exists. */
  showInstance(ctx: ProtectableContext, id: string, parameters: JsonObject): Promise<Resource | undefined>;
  /** Direct dependents of one resource of this type. */
  dependents(ctx: ProtectableContext, resource: Resource): Promise<Resource[]>;
}
