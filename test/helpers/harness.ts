import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEngine, type Engine, type EngineOptions } from '../../src-main/engine';
import { silentLog, type Logger } from '../../src-main/engine/log';
import { startServer, type RunningServer } from '../../src-main/server';

export const NOOP = 'b766f37c-d011-4026-8228-28730d734a3f';
export const DIR_TYPE = 'Local::FS::Directory';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface Harness {
  dataDir: string;
  engine: Engine;
  server: RunningServer;
  token: string;
  projectId: string;
  /** `http://127.0.0.1:PORT/v1/<project>` */
  endpoint: string;
  /** Calls `endpoint + path` with the admin token unless `opts.token` says otherwise. */
  api<T = Record<string, unknown>>(method: string, p: string, body?: unknown, opts?: RequestOpts): Promise<ApiResponse<T>>;
  /** A real directory (under the data dir) registered as a protectable instance; returns a plan resource. */
  directory(name?: string): Promise<{ id: string; type: string; name: string }>;
  close(): Promise<void>;
}

export interface RequestOpts {
  token?: string | null;
  headers?: Record<string, string>;
  /** Send this raw string as the body instead of JSON. */
  raw?: string;
  /** Absolute path on the server instead of under the endpoint. */
  absolute?: boolean;
}

/** A logger that keeps every line (`<level> <message> <fields as JSON>`) in `lines`, for tests that check what was logged. */
export function capturingLog(lines: string[]): Logger {
  const at =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void =>
      void lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function tempDir(prefix = 'karbor-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A real engine on a temp data folder and the API on a free 127.0.0.1 port. */
export async function startHarness(opts: Partial<EngineOptions> & { dataDir?: string; bodyLimit?: number } = {}): Promise<Harness> {
  const dataDir = opts.dataDir ?? tempDir();
  const engine = createEngine({ log: silentLog, ...opts, dataDir });
  const server = await startServer({ engine, log: silentLog, port: 0, rendererDir: false, bodyLimit: opts.bodyLimit });
  const token = fs.readFileSync(server.tokenFile, 'utf8').trim();
  let dirs = 0;
  const h: Harness = {
    dataDir,
    engine,
    server,
    token,
    projectId: server.projectId,
    endpoint: server.endpoint,
    async api(method, p, body, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token !== null) headers['X-Auth-Token'] = o.token ?? token;
      let payload: string | undefined;
      if (o.raw !== undefined) payload = o.raw;
      else if (body !== undefined) payload = JSON.stringify(body);
      if (payload !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = 'application/json';
      }
      const url = o.absolute ? `${server.baseUrl}${p}` : `${server.endpoint}${p}`;
      const res = await fetch(url, { method, headers, body: payload });
      const text = await res.text();
      let parsed: unknown = {};
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = { raw: text };
        }
      }
      return { status: res.status, headers: res.headers, body: parsed as never, text };
    },
    async directory(name) {
      const dir = path.join(dataDir, 'sources', name ?? `dir${++dirs}`);
      fs.mkdirSync(dir, { recursive: true });
      const res = await h.api<{ instances: { id: string; name: string }[] }>(
        'GET',
        `/protectables/${DIR_TYPE}/instances?parameters=${encodeURIComponent(JSON.stringify({ path: path.dirname(dir) }))}`,
      );
      const inst = res.body.instances.find((i) => i.name === dir);
      if (!inst) throw new Error(`directory ${dir} not listed: ${res.text}`);
      return { id: inst.id, type: DIR_TYPE, name: dir };
    },
    async close() {
      await server.close();
      await engine.close();
    },
  };
  return h;
}

/** Polls `fn` until it returns a truthy value (background jobs finish on their own time). */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts a restore or a verification over the API and waits until it leaves `in_progress`;
 * returns its final body.
 */
export async function settleRun(
  h: Harness,
  kind: 'restores' | 'verifications',
  body: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  const key = kind === 'restores' ? 'restore' : 'verification';
  const r = await h.api<Record<string, Record<string, unknown> & { id: string }>>('POST', `/${kind}`, { [key]: body });
  if (r.status !== 200) throw new Error(`POST /${kind} answered ${r.status}: ${r.text}`);
  const id = r.body[key]?.id;
  return eventually(
    async () => {
      const s = await h.api<Record<string, Record<string, unknown>>>('GET', `/${kind}/${id}`);
      return s.body[key]?.status !== 'in_progress' && s.body[key];
    },
    `${kind} ${id} done`,
    timeoutMs,
  );
}

/** Creates a No-Op plan over one real directory through the API. */
export async function createPlan(h: Harness, name = 'plan'): Promise<Record<string, unknown> & { id: string }> {
  const res = await h.api<{ plan: Record<string, unknown> & { id: string } }>('POST', '/plans', {
    plan: { name, provider_id: NOOP, resources: [await h.directory()], parameters: {} },
  });
  if (res.status !== 200) throw new Error(`plan create failed: ${res.text}`);
  return res.body.plan;
}
