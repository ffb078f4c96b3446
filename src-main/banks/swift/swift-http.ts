import { setTimeout as sleep } from 'node:timers/promises';
/** Where Swift calls get their token and storage URL (`…/v1/AUTH_<project>`). */
export interface SwiftAuth {
  session(): Promise<{ token: string; storageUrl: string }>;
  /** Drops a token Swift refused (revoked, or Keystone restarted with new keys). */
  invalidate(token: string): void;
}

export type SwiftQuery = Record<string, string | number>;

export interface SwiftCall {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** Object name below the container; `''` for the container itself. */
  object: string;
  query?: SwiftQuery;
  headers?: Record<string, string>;
  /** A buffer is resent on retries; a stream is sent once. */
  body?: Buffer | AsyncIterable<Buffer>;
  /** Statuses handed back to the caller (everything else is an error). */
  expect: number[];
  /** Leave the body unread (downloads); the caller must consume or cancel it. */
  stream?: boolean;
}

export interface SwiftResult {
  status: number;
  headers: Headers;
  /** The body, unless `stream`. */
  body: Buffer;
  /** The body as UTF-8 text, unless `stream`. */
  text: string;
  res: Response;
}

/** A failed Swift call; `BankError` subclasses are produced from it by the bank. */
export class SwiftCallError extends Error {
  constructor(
    readonly method: string,
    readonly object: string,
    readonly status: number | undefined,
    readonly detail: string,
  ) {
    super(`Swift ${method} ${object || '(container)'} failed: ${status === undefined ? detail : `HTTP ${status} ${detail}`.trim()}`);
  }
}

const encodePath = (name: string): string => name.split('/').map(encodeURIComponent).join('/');

/**
 * Swift requests for one container: Keystone token on every call (renewed on 401 once), retries
 * with backoff on 5xx and connection failures for calls without a streamed body, and a timeout
 * for calls that are not streamed, body included (streams rely on undici's own idle timeouts).
 */
export class SwiftHttp {
  constructor(
    private readonly tokens: SwiftAuth,
    readonly container: string,
    private readonly opts: { timeoutMs: number; retries: number; backoffMs: number },
  ) {}

  async call(c: SwiftCall): Promise<SwiftResult> {
    const streamed = c.body !== undefined && !Buffer.isBuffer(c.body);
    let reauthed = false;
    for (let attempt = 0; ; attempt++) {
      const session = await this.tokens.session();
      const qs = c.query ? `?${new URLSearchParams(Object.entries(c.query).map(([k, v]) => [k, String(v)])).toString()}` : '';
      const url = `${session.storageUrl}/${encodeURIComponent(this.container)}${c.object ? `/${encodePath(c.object)}` : ''}${qs}`;
      let res: Response;
      let body = Buffer.alloc(0);
      try {
        res = await fetch(url, {
          method: c.method,
          headers: { 'X-Auth-Token': session.token, ...c.headers },
          body: c.body as BodyInit | undefined,
          duplex: 'half',
          signal: streamed || c.stream ? undefined : AbortSignal.timeout(this.opts.timeoutMs),
        } as RequestInit);
        // Read inside the try: a body cut off half-way is retried like a refused connection.
        if (!c.stream || !c.expect.includes(res.status)) body = Buffer.from(await res.arrayBuffer());
      } catch (err) {
        if (streamed || attempt >= this.opts.retries) {
          throw new SwiftCallError(
            c.method,
            c.object,
            undefined,
            (err as Error).cause ? String((err as Error).cause) : (err as Error).message,
          );
        }
        await this.backoff(attempt);
        continue;
      }
      if (res.status === 401 && !reauthed && !streamed) {
        await res.body?.cancel();
        this.tokens.invalidate(session.token);
        reauthed = true;
        attempt--;
        continue;
      }
      if (c.expect.includes(res.status))
        return { status: res.status, headers: res.headers, body, text: c.stream ? '' : body.toString('utf8'), res };
      const text = body.toString('utf8');
      if (res.status >= 500 && res.status !== 507 && !streamed && attempt < this.opts.retries) {
        await this.backoff(attempt);
        continue;
      }
      throw new SwiftCallError(
        c.method,
        c.object,
        res.status,
        text
          .replace(/<[^>]*>/g, ' ')
          .replace(/\s+/g, ' ')
          .slice(0, 300),
      );
    }
  }

  private backoff(attempt: number): Promise<void> {
    return sleep(this.opts.backoffMs * 2 ** attempt * (0.75 + Math.random() * 0.5));
  }
}

/** Maps a Swift failure to a bank error; quota (413 "exceeds quota") and 507 mean the bank is full. */
export function isQuotaFailure(err: SwiftCallError): boolean {
  return err.status === 507 || (err.status === 413 && /quota/i.test(err.detail));
}
