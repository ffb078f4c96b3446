import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import { callerOf, pageLinks, queryOf } from '../context';

/** Operation logs: one row per operation run. */
export async function operationLogRoutes(app: FastifyInstance, { engine }: { engine: Engine }): Promise<void> {
  app.get('/operation_logs', async (req) => {
    const q = queryOf(req);
    const operation_logs = engine.operationLogs.list(callerOf(req), q);
    return { operation_logs, operation_logs_links: pageLinks(req, operation_logs, q.limit) };
  });
  app.get<{ Params: { id: string } }>('/operation_logs/:id', async (req) => ({
    operation_log: engine.operationLogs.get(callerOf(req), req.params.id),
  }));
}
