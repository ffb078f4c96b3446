import type { FastifyInstance } from 'fastify';
import { UI_EVENT_NAMES, type AppInfo } from '../contract';
import type { Engine } from '../engine';
import type { Logger } from '../engine/log';
import { faultBody } from '../api/faults';
import { createUiHandlers } from './handlers';
import { invokeUi } from './invoke';

/**
 * Headless mode's door for the renderer: `POST /ui/invoke` `{method, input}` → the same handler
 * table as Electron IPC, and `GET /ui/events` as server-sent events. Both need an admin token
 * (header, or `?token=` for EventSource which cannot set headers).
 */
export function registerUiBridge(app: FastifyInstance, engine: Engine, log: Logger, info: () => AppInfo): void {
  const authed = (token: unknown) => {
    const caller = engine.tokens.lookup(typeof token === 'string' ? token : '');
    return caller?.isAdmin ? caller : undefined;
  };
  app.post('/ui/invoke', async (req, reply) => {
    const caller = authed(req.headers['x-auth-token']);
    if (!caller) return reply.code(401).send(faultBody(401, 'An admin API token is required for the UI bridge'));
    const body = req.body as { method?: unknown; input?: unknown };
    return invokeUi(createUiHandlers(engine, caller, info), body.method, body.input, log);
  });
  app.get('/ui/events', (req, reply) => {
    if (!authed((req.query as { token?: string }).token)) {
      void reply.code(401).send(faultBody(401, 'An admin API token is required for the UI bridge'));
      return;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': connected\n\n');
    const offs = UI_EVENT_NAMES.map((name) =>
      engine.events.on(name, (payload) => res.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`)),
    );
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(ping);
      offs.forEach((off) => off());
    });
  });
}
