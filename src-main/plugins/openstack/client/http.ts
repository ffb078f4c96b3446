import { Readable, Transform } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../engine/log';
import { OpenStackError, faultDetail } from './errors';

export type Query = Record<string, string | number | boolean | undefined | null>;

/** One call to a service. */
export interface HttpCall {
  /** Service name for messages: `glance`, `cinder`, `keystone`, … */
  service: string;
  method: string;
  url: string;
  /** What messages show for the call (the path below the endpoint, no query). */
  displayPath?: string;
  query?: Query;
  headers?: Record<string, string>;
  /** JSON body (serialised, `Content-Type: application/json`). */
  json?: unknown;
  /** Raw body; a stream is sent once and never retried. */
  body?: Buffer | Readable;
  /** Statuses that count as success; 2xx when absent. */
  ok?: (status: number) => boolean;
  /** Hand the body back as a stream instead of reading it (downloads). */
  stream?: boolean;
  /** Whether repeating the call is harmless; by default GET, HEAD, PUT, DELETE and OPTIONS are. */
  idempotent?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** The body text (empty for streamed calls). */
  text: string;
  /** The body as a stream, for `stream: true` calls. */
  body?: Readable;
}

export interface HttpOptions {
  /** Time allowed for an answer (streamed calls: for the headers, then between two pieces of data). */
  timeoutMs?: number;
  /** Extra attempts after the first for retryable failures. */
  retries?: number;
  /** First backoff; doubled after each attempt, with jitter. */
  backoffMs?: number;
  log?: Logger;
  fetch?: typeof fetch;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * HTTP for the OpenStack clients on Node's fetch (undici): a timeout on every call, retries with
 * exponential backoff on 5xx answers and connection failures for idempotent calls (and for any
 * call the server never received: connection refused), and errors that name the service and the
 * call. Request headers and bodies are never logged.
 */
export class Http {
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  private readonly log?: Logger;
  private readonly fetchFn: typeof fetch;

  constructor(opts: HttpOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 500;
    this.log = opts.log;
    this.fetchFn = opts.fetch ?? fetch;
  }

  async call(c: HttpCall): Promise<HttpResponse> {
    const method = c.method.toUpperCase();
    const url = withQuery(c.url, c.query);
    const display = c.displayPath ?? new URL(c.url).pathname;
    const idempotent = (c.idempotent ?? IDEMPOTENT.has(method)) && !(c.body instanceof Readable);
    const fail = (status: number | undefined, detail: string): OpenStackError =>
      new OpenStackError(c.service, method, display, status, detail);
    for (let attempt = 0; ; attempt++) {
      c.signal?.throwIfAborted();
      const started = Date.now();
      let outcome: { res?: HttpResponse; error: OpenStackError; retry: boolean };
      try {
        const res = await this.once(c, method, url, fail);
        this.log?.debug('openstack call', { service: c.service, method, path: display, status: res.status, ms: Date.now() - started });
        const ok = c.ok ? c.ok(res.status) : res.status >= 200 && res.status < 300;
        if (ok) return res;
        if (res.body) res.body.destroy();
        const detail = res.body ? '' : faultDetail(res.text);
        outcome = { error: fail(res.status, detail), retry: idempotent && (res.status >= 500 || res.status === 429) };
      } catch (err) {
        if (c.signal?.aborted) throw c.signal.reason;
        const net = err as NetworkFailure;
        if (!(net instanceof NetworkFailure)) throw err;
        this.log?.debug('openstack call failed', { service: c.service, method, path: display, reason: net.message });
        outcome = { error: fail(undefined, net.message), retry: idempotent || net.neverSent };
      }
      if (!outcome.retry || attempt >= this.retries) throw outcome.error;
      const delay = this.backoffMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
      await sleep(delay, undefined, c.signal ? { signal: c.signal } : undefined);
    }
  }

  private async once(
    c: HttpCall,
    method: string,
    url: string,
    fail: (status: number | undefined, detail: string) => OpenStackError,
  ): Promise<HttpResponse> {
    const timeoutMs = c.timeoutMs ?? this.timeoutMs;
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(c.signal?.reason);
    c.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined = setTimeout(() => {
      timedOut = true;
      ac.abort(new Error('timeout'));
    }, timeoutMs);
    const clear = (): void => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      c.signal?.removeEventListener('abort', onAbort);
    };
    const headers: Record<string, string> = { Accept: 'application/json', ...c.headers };
    let body: BodyInit | undefined;
    if (c.json !== undefined) {
      body = JSON.stringify(c.json);
      headers['Content-Type'] ??= 'application/json';
    } else if (c.body instanceof Readable) {
      body = Readable.toWeb(c.body) as unknown as ReadableStream<Uint8Array>;
    } else if (c.body) {
      body = c.body as unknown as BodyInit;
    }
    let res: Response;
    try {
      res = await this.fetchFn(url, { method, headers, body, signal: ac.signal, duplex: 'half' } as RequestInit);
    } catch (err) {
      clear();
      throw NetworkFailure.from(err, timedOut, timeoutMs);
    }
    if (c.stream && res.ok && res.body) {
      clear();
      return { status: res.status, headers: res.headers, text: '', body: watchStream(res.body, timeoutMs, fail) };
    }
    try {
      const text = await res.text();
      return { status: res.status, headers: res.headers, text };
    } catch (err) {
      throw NetworkFailure.from(err, timedOut, timeoutMs);
    } finally {
      clear();
    }
  }
}

/** A call that got no (complete) answer. */
class NetworkFailure extends Error {
  constructor(
    message: string,
    /** True when the server cannot have seen the request (nothing listened). */
    readonly neverSent: boolean,
  ) {
    super(message);
  }

  static from(err: unknown, timedOut: boolean, timeoutMs: number): NetworkFailure {
    if (timedOut) return new NetworkFailure(`no answer within ${Math.round(timeoutMs / 1000)} s`, false);
    const code = errorCode(err);
    if (code === 'ECONNREFUSED') return new NetworkFailure('connection refused (ECONNREFUSED)', true);
    const cause = (err as { cause?: { message?: string } }).cause;
    const msg = cause?.message ?? (err instanceof Error ? err.message : String(err));
    return new NetworkFailure(code && !msg.includes(code) ? `${msg} (${code})` : msg, false);
  }
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A download stream that fails (naming the call) when the connection drops or stalls. */
function watchStream(
  web: ReadableStream<Uint8Array>,
  idleMs: number,
  fail: (status: number | undefined, detail: string) => OpenStackError,
): Readable {
  const src = Readable.fromWeb(web as unknown as NodeReadableStream<Uint8Array>);
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => out.destroy(fail(undefined, `no data for ${Math.round(idleMs / 1000)} s while reading the answer`)), idleMs);
  };
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      arm();
      cb(null, chunk);
    },
    flush(cb) {
      if (timer) clearTimeout(timer);
      cb();
    },
    destroy(err, cb) {
      if (timer) clearTimeout(timer);
      src.destroy();
      cb(err);
    },
  });
  src.on('error', (err) => {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    out.destroy(fail(undefined, `connection lost while reading the answer: ${cause ?? err.message}`));
  });
  arm();
  src.pipe(out);
  return out;
}

export function withQuery(url: string, query?: Query): string {
  if (!query) return url;
  const u = new URL(url);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) u.searchParams.set(k, String(v));
  return u.toString();
}

/** Parses a JSON answer, naming the call when it is not JSON. */
export function parseJson<T>(res: HttpResponse, service: string, what: string): T {
  try {
    return JSON.parse(res.text) as T;
  } catch {
    throw new OpenStackError(service, what.split(' ')[0] ?? 'GET', what.split(' ')[1] ?? '', res.status, 'answer is not JSON');
  }
}
