import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import { Invalid } from '../../engine/errors';
import { parsePage } from '../../engine/paging';
import { pageLinks, queryOf } from '../context';

/** Providers: built-in and from `providers.d/`. */
export async function providerRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  app.get('/providers', async (req) => {
    const q = queryOf(req);
    const page = parsePage(q, ['id', 'name'], [{ key: 'name', dir: 'asc' }]);
    let all = engine.providers.list().map((p) => engine.providers.view(p));
    if (q.name !== undefined) all = all.filter((p) => p.name === q.name);
    const dir = page.sort[0]?.key === 'name' ? page.sort[0] : undefined;
    if (dir) all.sort((a, b) => (dir.dir === 'asc' ? 1 : -1) * a.name.localeCompare(b.name));
    else if (page.sort[0]?.dir === 'desc') all.reverse();
    if (page.marker) {
      const i = all.findIndex((p) => p.id === page.marker);
      if (i < 0) throw new Invalid(`marker '${page.marker}' not found`);
      all = all.slice(i + 1);
    }
    const providers = all.slice(0, page.limit);
    return { providers, providers_links: pageLinks(req, providers, q.limit) };
  });
  app.get<{ Params: { provider_id: string } }>('/providers/:provider_id', async (req) => ({
    provider: engine.providers.view(engine.providers.get(req.params.provider_id)),
  }));
}
