import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Engine } from '../../engine';
import type { JsonObject } from '../../engine/db/schema/common';
import { protectableContext } from '../../engine/protectables/context';
import { parsePage } from '../../engine/paging';
import { Invalid } from '../../engine/errors';
import { callerOf, pageLinks, queryOf } from '../context';
import { parseDictParam } from '../literal';

type TypeParams = { Params: { protectable_type: string } };
type InstanceParams = { Params: { protectable_type: string; resource_id: string } };

function parameters(req: FastifyRequest): JsonObject {
  const q = queryOf(req);
  return q.parameters !== undefined ? (parseDictParam(q.parameters, 'parameters') as JsonObject) : {};
}

/** Protectable types and their instances (plugin-driven). */
export async function protectableRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  const pctx = (req: FastifyRequest) => protectableContext(engine.ctx, callerOf(req).projectId);
  app.get('/protectables', async () => ({ protectable_type: engine.protectables.types() }));
  app.get<TypeParams>('/protectables/:protectable_type', async (req) => {
    const plugin = engine.protectables.get(req.params.protectable_type);
    return { protectable_type: { name: plugin.type, dependent_types: [...plugin.dependentTypes] } };
  });
  app.get<TypeParams>('/protectables/:protectable_type/instances', async (req) => {
    const q = queryOf(req);
    const page = parsePage(q, ['id', 'name'], [{ key: 'name', dir: 'asc' }]);
    let all = await engine.protectables.listInstances(pctx(req), req.params.protectable_type, parameters(req));
    if (q.name !== undefined) all = all.filter((i) => i.name === q.name);
    if (q.id !== undefined) all = all.filter((i) => i.id === q.id);
    if (page.marker) {
      const i = all.findIndex((x) => x.id === page.marker);
      if (i < 0) throw new Invalid(`marker '${page.marker}' not found`);
      all = all.slice(i + 1);
    }
    const instances = all.slice(0, page.limit);
    return { instances, instances_links: pageLinks(req, instances, q.limit) };
  });
  app.get<InstanceParams>('/protectables/:protectable_type/instances/:resource_id', async (req) => ({
    instance: await engine.protectables.showInstance(pctx(req), req.params.protectable_type, req.params.resource_id, parameters(req)),
  }));
}
