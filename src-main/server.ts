import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fs from 'node:fs';
import path from 'node:path';
import { buildApi } from './api/app';
import { findRendererDir } from './app-paths';
import type { Engine } from './engine';
import type { Logger } from './engine/log';
import type { AppInfo } from './contract';
import { registerUiBridge } from './ui/http-bridge';
import { APP_VERSION } from './app-paths';

export const DEFAULT_PORT = 8799;
export const LISTEN_HOST = '127.0.0.1';

export interface RunningServer {
  app: FastifyInstance;
  port: number;
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  /** `http://127.0.0.1:PORT/v1/<project>` for the token file's project. */
  endpoint: string;
  tokenFile: string;
  projectId: string;
  /** Set when the built renderer was found: the web UI's address. */
  uiUrl?: string;
  close(): Promise<void>;
}

export interface ServerOptions {
  engine: Engine;
  log: Logger;
  /** 0 picks a free port (tests). */
  port?: number;
  bodyLimit?: number;
  mode?: 'desktop' | 'headless';
  /** Serve the built renderer under `/ui/` (headless mode). */
  rendererDir?: string | false;
}

/**
 * Starts the Karbor v1 API (and, in headless mode, the web UI) on 127.0.0.1 only, and writes
 * `<dataDir>/api-endpoint` so local scripts find it.
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { engine } = opts;
  let appInfo: AppInfo = {
    version: APP_VERSION,
    dataDir: engine.dataDir,
    apiEndpoint: null,
    tokenFile: null,
    projectId: engine.tokens.localProjectId(),
    mode: opts.mode ?? 'headless',
    providerFiles: engine.providers.loadedFiles(),
  };
  const rendererDir = opts.rendererDir === false ? undefined : (opts.rendererDir ?? findRendererDir());
  const app = await buildApi({
    engine,
    log: opts.log,
    bodyLimit: opts.bodyLimit,
    extra: async (a) => {
      registerUiBridge(a, engine, opts.log, () => appInfo);
      if (!rendererDir) return;
      await a.register(fastifyStatic, { root: rendererDir, prefix: '/ui/', decorateReply: false, index: false });
      const indexHtml = fs.readFileSync(path.join(rendererDir, 'index.html'));
      a.get('/ui', async (_req, reply) => reply.type('text/html; charset=utf-8').send(indexHtml));
    },
  });
  await app.listen({ host: LISTEN_HOST, port: opts.port ?? DEFAULT_PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? DEFAULT_PORT);
  const baseUrl = `http://${LISTEN_HOST}:${port}`;
  const token = engine.tokens.ensureTokenFile();
  const endpoint = `${baseUrl}/v1/${token.projectId}`;
  fs.writeFileSync(path.join(engine.dataDir, 'api-endpoint'), `${endpoint}\n`);
  appInfo = {
    version: APP_VERSION,
    dataDir: engine.dataDir,
    apiEndpoint: endpoint,
    tokenFile: token.file,
    projectId: token.projectId,
    mode: opts.mode ?? 'headless',
    providerFiles: engine.providers.loadedFiles(),
  };
  return {
    app,
    port,
    baseUrl,
    endpoint,
    tokenFile: token.file,
    projectId: token.projectId,
    uiUrl: rendererDir ? `${baseUrl}/ui/` : undefined,
    close: () => app.close(),
  };
}
