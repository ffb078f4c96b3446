import type { ProtectableContext } from './types';
import type { ProtectableRegistry } from './registry';
import type { Resource } from './types';

export interface GraphNode {
  resource: Resource;
  children: GraphNode[];
}

const key = (r: Resource): string => `${r.type}#${r.id}`;

/**
 * Builds the resource graph of a plan by following dependents. A resource reached twice
 * (a volume in the plan that a server in the plan also uses) is one shared node; a cycle is cut.
 */
export async function buildResourceGraph(registry: ProtectableRegistry, ctx: ProtectableContext, roots: Resource[]): Promise<GraphNode[]> {
  const nodes = new Map<string, GraphNode>();
  const visiting = new Set<string>();
  const visit = async (r: Resource): Promise<GraphNode | undefined> => {
    const k = key(r);
    const known = nodes.get(k);
    if (known) return known;
    if (visiting.has(k)) return undefined;
    visiting.add(k);
    const node: GraphNode = { resource: r, children: [] };
    for (const child of await registry.dependents(ctx, r)) {
      const c = await visit(child);
      if (c) node.children.push(c);
    }
    visiting.delete(k);
    nodes.set(k, node);
    return node;
  };
  const top: GraphNode[] = [];
  for (const r of roots) {
    const n = await visit(r);
    if (n) top.push(n);
  }
  // A plan resource that is also another plan resource's dependent is not a root.
  const reached = new Set<GraphNode>();
  const mark = (n: GraphNode): void =>
    n.children.forEach((c) => {
      reached.add(c);
      mark(c);
    });
  top.forEach(mark);
  return [...new Set(top)].filter((n) => !reached.has(n));
}

/**
 * Karbor's packed graph, as the JSON string clients `json.loads`:
 * `[{"0x0": [type, id, name, extra_info], ...}, [["0x1", ["0x0"]], ...]]`.
 * Serial ids are assigned in post-order (children first), each shared node once, and the
 * adjacency list follows the same order.
 */
export function packResourceGraph(roots: GraphNode[]): string {
  const ids = new Map<GraphNode, string>();
  const nodes: Record<string, [string, string, string, unknown]> = {};
  const adjacency: [string, string[]][] = [];
  const walk = (n: GraphNode): string => {
    const existing = ids.get(n);
    if (existing) return existing;
    const childIds = n.children.map(walk);
    const id = `0x${ids.size.toString(16)}`;
    ids.set(n, id);
    nodes[id] = [n.resource.type, n.resource.id, n.resource.name, n.resource.extra_info ?? {}];
    if (childIds.length) adjacency.push([id, childIds]);
    return id;
  };
  roots.forEach(walk);
  return JSON.stringify([nodes, adjacency]);
}

/** The graph's resources in post-order (children before parents), each once. */
export function flattenGraph(roots: GraphNode[]): Resource[] {
  const seen = new Set<GraphNode>();
  const out: Resource[] = [];
  const walk = (n: GraphNode): void => {
    if (seen.has(n)) return;
    seen.add(n);
    n.children.forEach(walk);
    out.push(n.resource);
  };
  roots.forEach(walk);
  return out;
}
