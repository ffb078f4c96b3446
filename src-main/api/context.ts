import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller, Engine } from '../engine';
import { Invalid } from '../engine/errors';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

export interface ApiOptions {
  engine: Engine;
}

/** The authenticated caller (set by the v1 auth hook). */
export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw new Error('route used without the v1 auth hook');
  return req.caller;
}

/** Query parameters as single strings; a parameter given twice is a client error. */
export function queryOf(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(v)) throw new Invalid(`query parameter '${k}' was given more than once`);
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/**
 * Karbor's `<collection>_links`: a `next` link when a full page was returned, keeping every
 * other query parameter (filters, sort) so the next page continues the same listing.
 */
export function pageLinks(
  req: FastifyRequest,
  items: { id: string }[],
  requestedLimit: string | undefined,
  max = 1000,
): { href: string; rel: string }[] {
  const limit = requestedLimit !== undefined ? Number(requestedLimit) : max;
  const last = items[items.length - 1];
  if (!last || items.length < limit) return [];
  const url = new URL(req.url, `http://${req.headers.host ?? '127.0.0.1'}`);
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('marker', last.id);
  return [{ href: url.toString(), rel: 'next' }];
}

/** Sends Karbor's empty 200 for deletes of plans, triggers and scheduled operations. */
export function emptyOk(reply: FastifyReply): FastifyReply {
  return reply.code(200).header('content-length', '0').send();
}
