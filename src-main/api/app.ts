import Fastify, { type FastifyInstance } from 'fastify';
import type { Engine } from '../engine';
import { Invalid } from '../engine/errors';
import type { Logger } from '../engine/log';
import { installErrorHandler } from './errors';
import { faultBody } from './faults';
import { installRequestIds } from './security';
import { registerV1Routes } from './routes';
import { versionsRoutes } from './routes/versions';

export interface BuildApiOptions {
  engine: Engine;
  log: Logger;
  /** Request body limit in bytes (Karbor-style 413 above it). Default 1 MiB. */
  bodyLimit?: number;
  /** Extra routes sharing this server (the UI bridge in serve mode). */
  extra?: (app: FastifyInstance) => Promise<void> | void;
}

/**
 * The Karbor v1 REST API over the engine. Tests call this in-process and listen on a real
 * 127.0.0.1 port; `serve` and the desktop shell do the same.
 */
export async function buildApi(opts: BuildApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    logger: false,
    // Karbor accepted an optional `.json` suffix on every path.
    rewriteUrl: (req) => (req.url ?? '/').replace(/\.json(?=$|\?)/, ''),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
  });
  installErrorHandler(app, opts.log);
  installRequestIds(app);
  // JSON only; a body on GET/DELETE is ignored as Karbor did.
  app.removeAllContentTypeParsers();
  // python-karborclient sends `Content-Type: application/json` with empty DELETE bodies too.
  app.addContentTypeParser(/^application\/(?:[\w.+-]*\+)?json$/, { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (!text.trim()) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new Invalid(`Malformed request body: ${(err as Error).message}`), undefined);
    }
  });
  app.addHook('preValidation', async (req) => {
    if ((req.method === 'POST' || req.method === 'PUT') && (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body))) {
      throw new Invalid('The request body must be a JSON object');
    }
  });
  await app.register(versionsRoutes);
  await app.register(registerV1Routes, { prefix: '/v1/:project_id', engine: opts.engine });
  app.all('/v1', async (_req, reply) => reply.code(404).send(faultBody(404, 'Use /v1/<project_id>/...')));
  if (opts.extra) await opts.extra(app);
  return app;
}
