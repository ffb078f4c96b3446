import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import type { JsonObject as Json } from '../../engine/db/schema/common';
import { callerOf, pageLinks, queryOf } from '../context';
import { JsonObject, envelope } from './schemas';

const CreateBody = envelope(
  'verification',
  Type.Object(
    { provider_id: Type.String(), checkpoint_id: Type.String(), parameters: Type.Optional(JsonObject) },
    { additionalProperties: false },
  ),
);

/** Verifications: re-read a checkpoint and check it. */
export async function verificationRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  app.get('/verifications', async (req) => {
    const q = queryOf(req);
    const verifications = engine.verifications.list(callerOf(req), q);
    return { verifications, verifications_links: pageLinks(req, verifications, q.limit) };
  });
  app.post<{ Body: Static<typeof CreateBody> }>('/verifications', { schema: { body: CreateBody } }, async (req) => {
    const b = req.body.verification;
    return { verification: engine.verifications.create(callerOf(req), { ...b, parameters: (b.parameters ?? {}) as Json }) };
  });
  app.get<{ Params: { verification_id: string } }>('/verifications/:verification_id', async (req) => ({
    verification: engine.verifications.get(callerOf(req), req.params.verification_id),
  }));
}
