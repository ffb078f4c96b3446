import type { FastifyError, FastifyInstance } from 'fastify';
import { isEngineError } from '../engine/errors';
import type { Logger } from '../engine/log';
import { faultBody } from './faults';

interface ValidationItem {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `body/plan/name` + ajv's words → "Invalid input for field 'plan.name': must be string". */
function validationMessage(err: FastifyError): string {
  const v = (err.validation as ValidationItem[] | undefined)?.[0];
  if (!v) return err.message;
  let field = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const missing = v.params?.missingProperty;
  const extra = v.params?.additionalProperty;
  if (typeof missing === 'string') return `Invalid input: field '${field ? `${field}.` : ''}${missing}' is required`;
  if (typeof extra === 'string') return `Invalid input: unknown field '${field ? `${field}.` : ''}${extra}'`;
  if (!field) field = err.validationContext === 'body' ? 'request body' : (err.validationContext ?? 'request');
  return `Invalid input for field '${field}': ${v.message ?? 'is invalid'}`;
}

/**
 * One error handler for the whole API: engine errors keep their status and message, Fastify's
 * client errors (bad JSON, media type, body size) map to Karbor faults, and any other error is a
 * 500 whose details go to the log, never to the client.
 */
export function installErrorHandler(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isEngineError(err)) {
      return reply.code(err.status).send(faultBody(err.status, err.message));
    }
    if (err.validation) return reply.code(400).send(faultBody(400, validationMessage(err)));
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      let message = err.message;
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = 'Request is too large.';
      else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
        message = `Unsupported Content-Type '${req.headers['content-type'] ?? ''}': send application/json`;
      else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') message = 'The request body is empty; a JSON object was expected';
      else if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY')
        message = `Malformed request body: ${err.message}`;
      return reply.code(status).send(faultBody(status, message));
    }
    log.error('internal error', { method: req.method, url: req.url, error: err.stack ?? String(err) });
    return reply.code(500).send(faultBody(500, 'The server has either erred or is incapable of performing the requested operation.'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(faultBody(404, `The resource could not be found: ${req.method} ${req.url.split('?')[0]}`));
  });
}
