import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import { callerOf, emptyOk, pageLinks, queryOf } from '../context';
import { JsonObject, envelope } from './schemas';

const CreateBody = envelope(
  'trigger_info',
  Type.Object({ name: Type.String(), type: Type.String(), properties: JsonObject }, { additionalProperties: false }),
);
const UpdateBody = envelope(
  'trigger_info',
  Type.Object(
    { name: Type.Optional(Type.String()), type: Type.Optional(Type.String()), properties: Type.Optional(JsonObject) },
    { additionalProperties: false, minProperties: 1 },
  ),
);
type Params = { Params: { trigger_id: string } };

/** Time triggers. */
export async function triggerRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  app.get('/triggers', async (req) => {
    const q = queryOf(req);
    const triggers = engine.triggers.list(callerOf(req), q);
    return { triggers, triggers_links: pageLinks(req, triggers, q.limit) };
  });
  app.post<{ Body: Static<typeof CreateBody> }>('/triggers', { schema: { body: CreateBody } }, async (req) => ({
    trigger_info: engine.triggers.create(callerOf(req), req.body.trigger_info),
  }));
  app.get<Params>('/triggers/:trigger_id', async (req) => ({ trigger_info: engine.triggers.get(callerOf(req), req.params.trigger_id) }));
  app.put<Params & { Body: Static<typeof UpdateBody> }>('/triggers/:trigger_id', { schema: { body: UpdateBody } }, async (req) => ({
    trigger_info: engine.triggers.update(callerOf(req), req.params.trigger_id, req.body.trigger_info),
  }));
  app.delete<Params>('/triggers/:trigger_id', async (req, reply) => {
    engine.triggers.delete(callerOf(req), req.params.trigger_id);
    return emptyOk(reply);
  });
}
