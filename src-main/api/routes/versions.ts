import type { FastifyInstance, FastifyRequest } from 'fastify';

function versions(req: FastifyRequest): unknown {
  const base = `http://${req.headers.host ?? '127.0.0.1'}`;
  return {
    versions: [
      {
        id: 'v1.0',
        status: 'CURRENT',
        updated: '2017-05-08T00:00:00Z',
        links: [{ href: `${base}/v1/`, rel: 'self' }],
        'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.data-protection+json;version=1' }],
      },
    ],
  };
}

/** `GET /`: the API versions (no token needed, as in Karbor). */
export async function versionsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (req, reply) => reply.send(versions(req)));
}
