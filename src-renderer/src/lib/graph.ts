/** A node of a checkpoint's resource graph, placed in layers: parents above their children. */
export interface GraphNode {
  /** The packed graph's serial id (`0x0`, `0x1`, …). */
  key: string;
  /** `type#id`, as per-resource statuses are keyed. */
  resourceKey: string;
  type: string;
  id: string;
  name: string;
  extra: Record<string, unknown>;
  layer: number;
  x: number;
  y: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** An SVG path from the parent's bottom to the child's top. */
  path: string;
}

export interface GraphLayout {
  nodes: GraphNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
  /** Set when the packed graph could not be read. */
  error?: string;
}

export const NODE_W = 230;
export const NODE_H = 54;
const GAP_X = 28;
const GAP_Y = 56;
const MARGIN = 16;

type PackedNode = [string, string, string, Record<string, unknown>?];

function parsePacked(packed: string): { raw: Record<string, PackedNode>; adjacency: [string, string[]][] } {
  const parsed: unknown = JSON.parse(packed);
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'object' || parsed[0] === null) throw new Error('not a packed resource graph');
  const raw = parsed[0] as Record<string, PackedNode>;
  const adjacency = Array.isArray(parsed[1]) ? (parsed[1] as [string, string[]][]) : [];
  return { raw, adjacency };
}

/**
 * Parses Karbor's packed graph (`[{"0x0": [type, id, name, extra]}, [["0x1", ["0x0"]]]]`: the
 * adjacency lists each parent with its children) and lays it out top-down: a node sits one layer
 * below its deepest parent, and within a layer nodes follow the average position of their
 * parents, which keeps edges from crossing in the usual shapes (servers over volumes over images).
 */
export function layoutGraph(packed: string | null): GraphLayout {
  if (!packed) return { nodes: [], edges: [], width: 0, height: 0 };
  let raw: Record<string, PackedNode>;
  let adjacency: [string, string[]][];
  try {
    ({ raw, adjacency } = parsePacked(packed));
  } catch {
    return { nodes: [], edges: [], width: 0, height: 0, error: 'The resource graph of this checkpoint could not be read.' };
  }
  const keys = Object.keys(raw);
  const parents = new Map<string, string[]>();
  for (const [p, cs] of adjacency) for (const c of cs) if (c in raw && p in raw) parents.set(c, [...(parents.get(c) ?? []), p]);

  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (k: string): number => {
    const known = depth.get(k);
    if (known !== undefined) return known;
    if (visiting.has(k)) return 0; // a cycle (never written by the engine) is cut
    visiting.add(k);
    const ps = parents.get(k) ?? [];
    const d = ps.length ? Math.max(...ps.map(depthOf)) + 1 : 0;
    visiting.delete(k);
    depth.set(k, d);
    return d;
  };
  const layers: string[][] = [];
  for (const k of keys) (layers[depthOf(k)] ??= []).push(k);

  // Order each layer by the mean index of its parents in the layer above.
  const index = new Map<string, number>();
  layers.forEach((layer, li) => {
    if (li > 0) {
      const mean = (k: string): number => {
        const ps = (parents.get(k) ?? []).map((p) => index.get(p) ?? 0);
        return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : Number.MAX_SAFE_INTEGER;
      };
      layer.sort((a, b) => mean(a) - mean(b));
    }
    layer.forEach((k, i) => index.set(k, i));
  });

  const widest = Math.max(1, ...layers.map((l) => l.length));
  const width = widest * NODE_W + (widest - 1) * GAP_X + 2 * MARGIN;
  const nodes: GraphNode[] = [];
  const byKey = new Map<string, GraphNode>();
  layers.forEach((layer, li) => {
    const rowWidth = layer.length * NODE_W + (layer.length - 1) * GAP_X;
    const x0 = (width - rowWidth) / 2;
    layer.forEach((k, i) => {
      const [type = '?', id = '', name = '', extra = {}] = raw[k] ?? [];
      const node: GraphNode = {
        key: k,
        resourceKey: `${type}#${id}`,
        type,
        id,
        name: name || id,
        extra: extra ?? {},
        layer: li,
        x: x0 + i * (NODE_W + GAP_X),
        y: MARGIN + li * (NODE_H + GAP_Y),
      };
      nodes.push(node);
      byKey.set(k, node);
    });
  });

  const edges: GraphEdge[] = [];
  for (const [p, cs] of adjacency) {
    const a = byKey.get(p);
    for (const c of cs) {
      const b = byKey.get(c);
      if (!a || !b) continue;
      const x1 = a.x + NODE_W / 2;
      const y1 = a.y + NODE_H;
      const x2 = b.x + NODE_W / 2;
      const y2 = b.y - 4;
      const mid = (y1 + y2) / 2;
      edges.push({ from: p, to: c, path: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}` });
    }
  }
  const height = layers.length * NODE_H + (layers.length - 1) * GAP_Y + 2 * MARGIN;
  return { nodes, edges, width, height };
}

/** A long name shortened from the left (paths keep their informative end). */
export function fitName(name: string, max = 26): string {
  return name.length > max ? `…${name.slice(-(max - 1))}` : name;
}
