import { describe, expect, it } from 'vitest';
import { buildResourceGraph, packResourceGraph } from '../../src-main/engine/protectables/resource-graph';
import { ProtectableRegistry } from '../../src-main/engine/protectables/registry';
import type { ProtectableContext, ProtectablePlugin, Resource } from '../../src-main/engine/protectables/types';

const r = (type: string, id: string): Resource => ({ type, id, name: `${type}-${id}` });

function plugin(type: string, deps: Record<string, Resource[]>): ProtectablePlugin {
  return {
    type,
    dependentTypes: [],
    listInstances: () => Promise.resolve([]),
    showInstance: () => Promise.resolve(undefined),
    dependents: (_ctx, res) => Promise.resolve(deps[res.id] ?? []),
  };
}

const ctx: ProtectableContext = { projectId: 'p', remember: () => undefined, recall: () => undefined };

describe('resource graph', () => {
  it('packs children first, shares nodes, and drops plan roots that are dependents', async () => {
    const image = r('OS::Glance::Image', 'img');
    const vol1 = r('OS::Cinder::Volume', 'v1');
    const vol2 = r('OS::Cinder::Volume', 'v2');
    const server = r('OS::Nova::Server', 'srv');
    const reg = new ProtectableRegistry();
    reg.register(plugin('OS::Nova::Server', { srv: [image, vol1] }));
    reg.register(plugin('OS::Glance::Image', {}));
    reg.register(plugin('OS::Cinder::Volume', {}));
    const roots = await buildResourceGraph(reg, ctx, [image, server, vol1, vol2]);
    expect(roots.map((n) => n.resource.id)).toEqual(['srv', 'v2']);
    const [nodes, adjacency] = JSON.parse(packResourceGraph(roots)) as [Record<string, unknown[]>, [string, string[]][]];
    expect(nodes).toEqual({
      '0x0': ['OS::Glance::Image', 'img', 'OS::Glance::Image-img', {}],
      '0x1': ['OS::Cinder::Volume', 'v1', 'OS::Cinder::Volume-v1', {}],
      '0x2': ['OS::Nova::Server', 'srv', 'OS::Nova::Server-srv', {}],
      '0x3': ['OS::Cinder::Volume', 'v2', 'OS::Cinder::Volume-v2', {}],
    });
    expect(adjacency).toEqual([['0x2', ['0x0', '0x1']]]);
  });

  it('cuts cycles instead of looping', async () => {
    const a = r('T', 'a');
    const b = r('T', 'b');
    const reg = new ProtectableRegistry();
    reg.register(plugin('T', { a: [b], b: [a] }));
    const roots = await buildResourceGraph(reg, ctx, [a]);
    const [nodes] = JSON.parse(packResourceGraph(roots)) as [Record<string, unknown[]>];
    expect(Object.keys(nodes)).toHaveLength(2);
  });
});
