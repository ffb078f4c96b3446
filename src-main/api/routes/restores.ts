import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import type { JsonObject as Json } from '../../engine/db/schema/common';
import { callerOf, pageLinks, queryOf } from '../context';
import { JsonObject, Nullable, envelope } from './schemas';

const CreateBody = envelope(
  'restore',
  Type.Object(
    {
      provider_id: Type.String(),
      checkpoint_id: Type.String(),
      restore_target: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
      restore_auth: Type.Optional(Nullable(JsonObject)),
      parameters: JsonObject,
    },
    { additionalProperties: false },
  ),
);

/** Restores of checkpoints. */
export async function restoreRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  app.get('/restores', async (req) => {
    const q = queryOf(req);
    const restores = engine.restores.list(callerOf(req), q);
    return { restores, restores_links: pageLinks(req, restores, q.limit) };
  });
  app.post<{ Body: Static<typeof CreateBody> }>('/restores', { schema: { body: CreateBody } }, async (req) => {
    const b = req.body.restore;
    return {
      restore: engine.restores.create(callerOf(req), {
        ...b,
        parameters: b.parameters as Json,
        restore_auth: b.restore_auth ?? null,
      }),
    };
  });
  app.get<{ Params: { restore_id: string } }>('/restores/:restore_id', async (req) => ({
    restore: engine.restores.get(callerOf(req), req.params.restore_id),
  }));
}
