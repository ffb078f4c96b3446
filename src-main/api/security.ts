import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Forbidden, Invalid } from '../engine/errors';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function hostName(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
}

/**
 * Only this machine may talk to the engine: a `Host` other than the loopback names is refused
 * (DNS rebinding), and so is a browser `Origin` that is not this server's own.
 */
export function checkLocalRequest(req: FastifyRequest): void {
  const host = req.headers.host ?? '';
  if (!LOCAL_HOSTS.has(hostName(host).toLowerCase())) {
    throw new Invalid(`Host '${host}' is not allowed: use 127.0.0.1 or localhost`, 'HOST_NOT_ALLOWED');
  }
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (!sameLocalOrigin(origin, host)) throw new Forbidden(`Cross-site request from origin '${origin}' refused`, 'ORIGIN_NOT_ALLOWED');
}

function portOf(hostHeader: string, protocol = 'http:'): string {
  const m = /:(\d+)$/.exec(hostHeader.replace(/^\[[^\]]*\]/, (h) => h.replace(/:/g, '')));
  return m?.[1] ?? (protocol === 'https:' ? '443' : '80');
}

function sameLocalOrigin(origin: string, host: string): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  const name = u.hostname === '[::1]' || u.hostname === '::1' ? '[::1]' : u.hostname.toLowerCase();
  return LOCAL_HOSTS.has(name) && (u.port || (u.protocol === 'https:' ? '443' : '80')) === portOf(host);
}

/** Request ids in OpenStack's form, on every response. */
export function installRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-openstack-request-id', `req-${randomUUID()}`);
    checkLocalRequest(req);
  });
}
