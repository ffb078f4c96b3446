import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import type { PlanStatus } from '../../engine/plans/service';
import type { JsonObject as Json } from '../../engine/db/schema/common';
import type { PlanResource } from '../../engine/db/schema';
import { callerOf, emptyOk, pageLinks, queryOf } from '../context';
import { JsonObject, Nullable, Resource, envelope } from './schemas';

const CreateBody = envelope(
  'plan',
  Type.Object(
    {
      name: Type.String(),
      description: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
      provider_id: Type.String(),
      resources: Type.Array(Resource),
      parameters: JsonObject,
    },
    { additionalProperties: false },
  ),
);
const UpdateBody = envelope(
  'plan',
  Type.Object(
    {
      name: Type.Optional(Type.String()),
      description: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
      resources: Type.Optional(Type.Array(Resource)),
      status: Type.Optional(Type.String()),
      parameters: Type.Optional(JsonObject),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
);
type Params = { Params: { plan_id: string } };

/** Protection plans. */
export async function planRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  app.get('/plans', async (req) => {
    const q = queryOf(req);
    const plans = engine.plans.list(callerOf(req), q);
    return { plans, plans_links: pageLinks(req, plans, q.limit) };
  });
  app.post<{ Body: Static<typeof CreateBody> }>('/plans', { schema: { body: CreateBody } }, async (req) => {
    const b = req.body.plan;
    return {
      plan: engine.plans.create(callerOf(req), { ...b, resources: b.resources as PlanResource[], parameters: b.parameters as Json }),
    };
  });
  app.get<Params>('/plans/:plan_id', async (req) => ({ plan: engine.plans.get(callerOf(req), req.params.plan_id) }));
  app.put<Params & { Body: Static<typeof UpdateBody> }>('/plans/:plan_id', { schema: { body: UpdateBody } }, async (req) => {
    const b = req.body.plan;
    return {
      plan: engine.plans.update(callerOf(req), req.params.plan_id, {
        ...b,
        resources: b.resources as PlanResource[] | undefined,
        status: b.status as PlanStatus | undefined,
        parameters: b.parameters as Json | undefined,
      }),
    };
  });
  app.delete<Params>('/plans/:plan_id', async (req, reply) => {
    engine.plans.delete(callerOf(req), req.params.plan_id);
    return emptyOk(reply);
  });
}
