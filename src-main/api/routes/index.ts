import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine';
import { Invalid } from '../../engine/errors';
import { checkpointRoutes } from './checkpoints';
import { operationLogRoutes } from './operation-logs';
import { planRoutes } from './plans';
import { protectableRoutes } from './protectables';
import { providerRoutes } from './providers';
import { quotaRoutes } from './quotas';
import { restoreRoutes } from './restores';
import { scheduledOperationRoutes } from './scheduled-operations';
import { serviceRoutes } from './services';
import { triggerRoutes } from './triggers';
import { verificationRoutes } from './verifications';

/**
 * `/v1/{project_id}/...`: every call needs `X-Auth-Token` (the engine's own token, or in
 * Keystone mode a Keystone token); a member may only use its own project in the path (Karbor:
 * 400 "Malformed request url"), an admin any project.
 */
export async function registerV1Routes(app: FastifyInstance, opts: { engine: Engine }): Promise<void> {
  const { engine } = opts;
  app.addHook('onRequest', async (req) => {
    const header = req.headers['x-auth-token'];
    const caller = await engine.auth.authenticate(Array.isArray(header) ? header[0] : header);
    const projectId = (req.params as { project_id?: string }).project_id ?? '';
    if (projectId !== caller.projectId) {
      if (!caller.isAdmin) throw new Invalid('Malformed request url', 'PROJECT_MISMATCH');
      if (!/^[0-9a-zA-Z_-]{1,64}$/.test(projectId)) throw new Invalid('Malformed request url', 'PROJECT_MISMATCH');
      req.caller = { projectId, isAdmin: true };
    } else {
      req.caller = caller;
    }
  });
  for (const routes of [
    providerRoutes,
    checkpointRoutes,
    planRoutes,
    protectableRoutes,
    restoreRoutes,
    verificationRoutes,
    triggerRoutes,
    scheduledOperationRoutes,
    operationLogRoutes,
    quotaRoutes,
    serviceRoutes,
  ]) {
    await app.register(routes, { engine });
  }
}
