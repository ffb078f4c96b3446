/**
 * A failed call to an OpenStack service. The message names the service and the call
 * (`glance: GET /v2/images/… failed: 503 …`) and never carries request bodies or headers, so
 * credentials cannot leak through it into logs, operation logs or checkpoint reasons.
 */
export class OpenStackError extends Error {
  constructor(
    readonly service: string,
    readonly method: string,
    /** Path of the call relative to the service endpoint, without the query string. */
    readonly path: string,
    /** HTTP status, or undefined when no answer came (connection refused, timeout). */
    readonly status: number | undefined,
    readonly detail: string,
  ) {
    super(`${service}: ${method} ${path} failed: ${status ?? ''}${status && detail ? ' ' : ''}${detail}`.trim());
    this.name = 'OpenStackError';
  }

  get notFound(): boolean {
    return this.status === 404;
  }
}

/** A resource reached a failure state (`error`, `ERROR`, …) or did not reach the wanted one in time. */
export class OpenStackStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpenStackStateError';
  }
}

/** Pulls the human message out of an OpenStack fault body (`{"itemNotFound": {"message": …}}`, `{"error": …}`, HTML). */
export function faultDetail(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return '';
  try {
    const body = JSON.parse(trimmed) as unknown;
    const msg = findMessage(body);
    if (msg) return clip(msg);
  } catch {
    // not JSON: Glance and Swift answer plain text or HTML
  }
  const plain = trimmed
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clip(plain);
}

function findMessage(body: unknown, depth = 0): string | undefined {
  if (!body || typeof body !== 'object' || depth > 2) return undefined;
  const o = body as Record<string, unknown>;
  for (const k of ['message', 'detail', 'description', 'title']) {
    if (typeof o[k] === 'string' && o[k]) return o[k];
  }
  for (const v of Object.values(o)) {
    const m = findMessage(v, depth + 1);
    if (m) return m;
  }
  return undefined;
}

function clip(s: string, n = 300): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
