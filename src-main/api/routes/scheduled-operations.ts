import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import { callerOf, emptyOk, pageLinks, queryOf } from '../context';
import { JsonObject, Nullable, envelope } from './schemas';

const CreateBody = envelope(
  'scheduled_operation',
  Type.Object(
    {
      name: Type.String(),
      description: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
      operation_type: Type.String(),
      trigger_id: Type.String(),
      operation_definition: JsonObject,
    },
    { additionalProperties: false },
  ),
);
type Params = { Params: { id: string } };

/** Scheduled operations (list key `operations`, as Karbor). */
export async function scheduledOperationRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  app.get('/scheduled_operations', async (req) => {
    const q = queryOf(req);
    const operations = engine.scheduledOperations.list(callerOf(req), q);
    return { operations, operations_links: pageLinks(req, operations, q.limit) };
  });
  app.post<{ Body: Static<typeof CreateBody> }>('/scheduled_operations', { schema: { body: CreateBody } }, async (req) => ({
    scheduled_operation: engine.scheduledOperations.create(callerOf(req), req.body.scheduled_operation),
  }));
  app.get<Params>('/scheduled_operations/:id', async (req) => ({
    scheduled_operation: engine.scheduledOperations.get(callerOf(req), req.params.id),
  }));
  app.delete<Params>('/scheduled_operations/:id', async (req, reply) => {
    engine.scheduledOperations.delete(callerOf(req), req.params.id);
    return emptyOk(reply);
  });
}
