/** A node of a checkpoint's resource graph, laid out in layers (parents above their children). */
export interface GraphNode {
  key: string;
  type: string;
  id: string;
  name: string;
  layer: number;
  x: number;
  y: number;
}

export interface GraphLayout {
  nodes: GraphNode[];
  edges: { from: string; to: string }[];
  width: number;
  height: number;
}

export const NODE_W = 220;
export const NODE_H = 48;

/** Parses Karbor's packed graph (`[{"0x0": [type, id, name, extra]}, [["0x1", ["0x0"]]]]`) and lays it out. */
export function layoutGraph(packed: string | null): GraphLayout {
  if (!packed) return { nodes: [], edges: [], width: 0, height: 0 };
  const [raw, adjacency] = JSON.parse(packed) as [Record<string, [string, string, string]>, [string, string[]][]];
  const children = new Map(adjacency);
  const parents = new Map<string, string[]>();
  for (const [p, cs] of adjacency) for (const c of cs) parents.set(c, [...(parents.get(c) ?? []), p]);
  const depth = new Map<string, number>();
  const depthOf = (k: string): number => {
    const known = depth.get(k);
    if (known !== undefined) return known;
    const ps = parents.get(k) ?? [];
    const d = ps.length ? Math.max(...ps.map(depthOf)) + 1 : 0;
    depth.set(k, d);
    return d;
  };
  const keys = Object.keys(raw);
  const layers = new Map<number, string[]>();
  for (const k of keys) layers.set(depthOf(k), [...(layers.get(depthOf(k)) ?? []), k]);
  const widest = Math.max(1, ...[...layers.values()].map((l) => l.length));
  const width = widest * (NODE_W + 24) + 24;
  const nodes: GraphNode[] = [];
  for (const [layer, ks] of layers) {
    const offset = (width - ks.length * (NODE_W + 24)) / 2 + 12;
    ks.forEach((k, i) => {
      const [type, id, name] = raw[k] as [string, string, string];
      nodes.push({ key: k, type, id, name, layer, x: offset + i * (NODE_W + 24), y: 16 + layer * (NODE_H + 48) });
    });
  }
  const edges = [...children.entries()].flatMap(([p, cs]) => cs.map((c) => ({ from: p, to: c })));
  return { nodes, edges, width, height: 32 + layers.size * (NODE_H + 48) - 48 };
}
