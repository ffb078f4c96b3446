import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import { callerOf, queryOf } from '../context';

const UpdateBody = Type.Object(
  { status: Type.String(), disabled_reason: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])) },
  { additionalProperties: false },
);

/** `os-services` (admin only). */
export async function serviceRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  app.get('/os-services', async (req) => ({ services: engine.services.list(callerOf(req), queryOf(req)) }));
  app.put<{ Params: { id: string }; Body: Static<typeof UpdateBody> }>(
    '/os-services/:id',
    { schema: { body: UpdateBody } },
    async (req) => ({
      service: engine.services.update(callerOf(req), req.params.id, req.body),
    }),
  );
}
