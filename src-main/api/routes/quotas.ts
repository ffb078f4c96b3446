import { type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import { callerOf } from '../context';
import { JsonObject, envelope } from './schemas';

const QuotaBody = envelope('quota', JsonObject);
const ClassBody = envelope('quota_class', JsonObject);
type P = { Params: { target_project_id: string } };
type C = { Params: { class_name: string } };

/** Quotas per project and quota classes. Reading your own project's quotas is allowed; changing needs admin. */
export async function quotaRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  app.get<P>('/quotas/:target_project_id', async (req) => ({ quota: engine.quotas.show(callerOf(req), req.params.target_project_id) }));
  app.get<P>('/quotas/:target_project_id/defaults', async (req) => {
    engine.quotas.show(callerOf(req), req.params.target_project_id);
    return { quota: { id: req.params.target_project_id, ...engine.quotas.defaults() } };
  });
  app.get<P>('/quotas/:target_project_id/detail', async (req) => ({
    quota: engine.quotas.detail(callerOf(req), req.params.target_project_id),
  }));
  app.put<P & { Body: Static<typeof QuotaBody> }>('/quotas/:target_project_id', { schema: { body: QuotaBody } }, async (req) => ({
    quota: engine.quotas.update(callerOf(req), req.params.target_project_id, req.body.quota),
  }));
  app.get<C>('/quota_classes/:class_name', async (req) => ({ quota_class: engine.quotas.showClass(callerOf(req), req.params.class_name) }));
  app.put<C & { Body: Static<typeof ClassBody> }>('/quota_classes/:class_name', { schema: { body: ClassBody } }, async (req) => ({
    quota_class: engine.quotas.updateClass(callerOf(req), req.params.class_name, req.body.quota_class),
  }));
}
