import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import type { JsonObject as Json } from '../../engine/db/schema/common';
import { Invalid } from '../../engine/errors';
import { callerOf, pageLinks, queryOf } from '../context';
import { JsonObject, Nullable, envelope } from './schemas';

const CreateBody = envelope(
  'checkpoint',
  Type.Object(
    {
      plan_id: Type.String(),
      // The Karbor client sends `extra-info`; the seed shows `extra_info`. Both are kept.
      extra_info: Type.Optional(Nullable(JsonObject)),
      'extra-info': Type.Optional(Nullable(JsonObject)),
    },
    { additionalProperties: false },
  ),
);
const CopyBody = envelope(
  'copy',
  Type.Object({ plan_id: Type.String(), parameters: Type.Optional(Nullable(JsonObject)) }, { additionalProperties: false }),
);
const ResetBody = envelope('os-resetState', Type.Object({ state: Type.String() }, { additionalProperties: false }));

type P = { Params: { provider_id: string } };
type PC = { Params: { provider_id: string; checkpoint_id: string } };

/** Checkpoints of a provider: create (protect), copy, list, show, delete, reset state. */
export async function checkpointRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  app.get<P>('/providers/:provider_id/checkpoints', async (req) => {
    const q = queryOf(req);
    const checkpoints = engine.checkpoints.list(callerOf(req), req.params.provider_id, q);
    return { checkpoints, checkpoints_links: pageLinks(req, checkpoints, q.limit) };
  });
  app.post<P & { Body: Static<typeof CreateBody> }>(
    '/providers/:provider_id/checkpoints',
    { schema: { body: CreateBody } },
    async (req) => {
      const b = req.body.checkpoint;
      if (b.extra_info && b['extra-info']) throw new Invalid("checkpoint: give either 'extra_info' or 'extra-info', not both");
      const extraInfo = (b.extra_info ?? b['extra-info'] ?? null) as Json | null;
      return { checkpoint: engine.checkpoints.create(callerOf(req), req.params.provider_id, b.plan_id, { extraInfo }) };
    },
  );
  // Karbor's copy action: the plan's checkpoints into the bank of `parameters.provider_id`.
  app.post<P & { Body: Static<typeof CopyBody> }>(
    '/providers/:provider_id/checkpoints/action',
    { schema: { body: CopyBody } },
    async (req) => ({
      copy: engine.checkpoints.copy(
        callerOf(req),
        req.params.provider_id,
        req.body.copy.plan_id,
        (req.body.copy.parameters ?? null) as Json | null,
      ),
    }),
  );
  app.get<PC>('/providers/:provider_id/checkpoints/:checkpoint_id', async (req) => ({
    checkpoint: engine.checkpoints.get(callerOf(req), req.params.provider_id, req.params.checkpoint_id),
  }));
  app.delete<PC>('/providers/:provider_id/checkpoints/:checkpoint_id', async (req) => {
    engine.checkpoints.delete(callerOf(req), req.params.provider_id, req.params.checkpoint_id);
    return {};
  });
  app.put<PC & { Body: Static<typeof ResetBody> }>(
    '/providers/:provider_id/checkpoints/:checkpoint_id',
    { schema: { body: ResetBody } },
    async (req) => {
      engine.checkpoints.resetState(callerOf(req), req.params.provider_id, req.params.checkpoint_id, req.body['os-resetState'].state);
      return {};
    },
  );
}
