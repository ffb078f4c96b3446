import type { CloudConfig } from './clouds';
import { OpenStackError } from './errors';
import { Http, parseJson, type HttpCall, type HttpResponse } from './http';

interface CatalogEndpoint {
  interface: string;
  region?: string;
  region_id?: string;
  url: string;
}

interface CatalogEntry {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

/** What a Keystone v3 token says about itself. */
export interface TokenInfo {
  expires_at: string;
  user: { id: string; name: string; domain?: { id: string; name: string } };
  project?: { id: string; name: string; domain?: { id: string; name: string } };
  domain?: { id: string; name: string };
  roles?: { id: string; name: string }[];
  catalog?: CatalogEntry[];
}

/** Other names a service type goes by in catalogs (Cinder: `volumev3`, `block-storage`, `volume`). */
const TYPE_ALIASES: Record<string, string[]> = {
  'block-storage': ['block-storage', 'volumev3', 'volume'],
  image: ['image'],
  compute: ['compute'],
  'object-store': ['object-store'],
  identity: ['identity'],
};

export interface SessionOptions {
  http?: Http;
  /** Re-authenticate this long before the token expires. */
  refreshMarginMs?: number;
  now?: () => number;
}

/** A call through the session: the service's endpoint is prefixed and the token added. */
export type SessionCall = Omit<HttpCall, 'url' | 'service'> & { path: string };

/**
 * A Keystone v3 session: password, application credential or token authentication, project,
 * domain or unscoped; the token is renewed before it expires and once more when a service
 * answers 401 (it was revoked, or the clock lied). Endpoints come from the token's catalog,
 * filtered by the cloud's region and interface, unless the cloud overrides them.
 */
export class Session {
  readonly http: Http;
  private token?: { value: string; expiresAt: number; info: TokenInfo };
  private pending?: Promise<{ value: string; info: TokenInfo }>;
  private readonly margin: number;
  private readonly now: () => number;
  /** How many times the session authenticated (tests check refreshes). */
  authCount = 0;

  constructor(
    readonly cloud: CloudConfig,
    opts: SessionOptions = {},
  ) {
    this.http = opts.http ?? new Http({ timeoutMs: cloud.api_timeout ? cloud.api_timeout * 1000 : undefined });
    this.margin = opts.refreshMarginMs ?? 120_000;
    this.now = opts.now ?? Date.now;
  }

  /** Keystone's v3 root: `auth_url` with `/v3` appended when it names no version. */
  get identityUrl(): string {
    const u = this.cloud.auth.auth_url.replace(/\/+$/, '');
    return /\/v3$/.test(u) ? u : /\/v2\.0$/.test(u) ? u.replace(/v2\.0$/, 'v3') : `${u}/v3`;
  }

  /** A valid token, authenticating first when there is none or it expires within the margin. */
  async getToken(): Promise<string> {
    const t = this.token;
    if (t && t.expiresAt - this.margin > this.now()) return t.value;
    return (await this.authenticate()).value;
  }

  async tokenInfo(): Promise<TokenInfo> {
    await this.getToken();
    return (this.token as { info: TokenInfo }).info;
  }

  /** The scoped project's id (throws for domain-scoped and unscoped tokens). */
  async projectId(): Promise<string> {
    const info = await this.tokenInfo();
    if (!info.project) throw new Error(`cloud '${this.cloud.name}': the token is not scoped to a project`);
    return info.project.id;
  }

  /** Treats the token as expired (as when the clock passes its `expires_at`): the next call renews it first. */
  markExpired(): void {
    if (this.token) this.token.expiresAt = 0;
  }

  /** Forgets the token, so the next call authenticates again. */
  invalidate(): void {
    this.token = undefined;
  }

  /** Authenticates once even when many calls ask at the same time. */
  private authenticate(): Promise<{ value: string; info: TokenInfo }> {
    this.pending ??= this.requestToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async requestToken(): Promise<{ value: string; info: TokenInfo }> {
    const res = await this.http.call({
      service: 'keystone',
      method: 'POST',
      url: `${this.identityUrl}/auth/tokens`,
      displayPath: '/v3/auth/tokens',
      json: { auth: this.authBody() },
      // Safe to repeat: asking for a token changes nothing on the server.
      idempotent: true,
    });
    const value = res.headers.get('x-subject-token');
    const body = parseJson<{ token: TokenInfo }>(res, 'keystone', 'POST /v3/auth/tokens');
    if (!value || !body.token) throw new OpenStackError('keystone', 'POST', '/v3/auth/tokens', res.status, 'no token in the answer');
    this.authCount++;
    const expiresAt = Date.parse(body.token.expires_at.replace(/(\.\d{3})\d+/, '$1'));
    this.token = { value, expiresAt: Number.isFinite(expiresAt) ? expiresAt : this.now() + 3_600_000, info: body.token };
    return { value, info: body.token };
  }

  private authBody(): Record<string, unknown> {
    const a = this.cloud.auth;
    const domain = (id?: string, name?: string): Record<string, string> | undefined => (id ? { id } : name ? { name } : undefined);
    let identity: Record<string, unknown>;
    if (this.cloud.auth_type === 'v3applicationcredential') {
      const cred: Record<string, unknown> = { secret: a.application_credential_secret };
      if (a.application_credential_id) cred.id = a.application_credential_id;
      else {
        cred.name = a.application_credential_name;
        cred.user = a.user_id ? { id: a.user_id } : { name: a.username, domain: domain(a.user_domain_id, a.user_domain_name) };
      }
      // Application credentials carry their own scope.
      return { identity: { methods: ['application_credential'], application_credential: cred } };
    }
    if (this.cloud.auth_type === 'token') identity = { methods: ['token'], token: { id: a.token } };
    else {
      const user: Record<string, unknown> = a.user_id
        ? { id: a.user_id, password: a.password }
        : { name: a.username, password: a.password, domain: domain(a.user_domain_id, a.user_domain_name) ?? { id: 'default' } };
      identity = { methods: ['password'], password: { user } };
    }
    let scope: Record<string, unknown> | undefined;
    if (a.project_id) scope = { project: { id: a.project_id } };
    else if (a.project_name)
      scope = {
        project: { name: a.project_name, domain: domain(a.project_domain_id, a.project_domain_name) ?? { id: 'default' } },
      };
    else if (a.domain_id || a.domain_name) scope = { domain: domain(a.domain_id, a.domain_name) };
    return scope ? { identity, scope } : { identity };
  }

  /** The endpoint of a service type for the cloud's region and interface, without a trailing slash. */
  async endpoint(serviceType: string): Promise<string> {
    const override = this.cloud.endpoint_overrides[serviceType];
    if (override) return override.replace(/\/+$/, '');
    if (serviceType === 'identity') return this.identityUrl;
    const info = await this.tokenInfo();
    const types = TYPE_ALIASES[serviceType] ?? [serviceType];
    const region = this.cloud.region_name;
    for (const type of types) {
      for (const entry of info.catalog ?? []) {
        if (entry.type !== type) continue;
        const ep = entry.endpoints.find(
          (e) => e.interface === this.cloud.interface && (!region || e.region_id === region || e.region === region),
        );
        if (ep) return ep.url.replace(/\/+$/, '');
      }
    }
    throw new Error(
      `cloud '${this.cloud.name}': no ${this.cloud.interface} endpoint for service '${serviceType}'${region ? ` in region ${region}` : ''} in the catalog`,
    );
  }

  /**
   * Calls a service: `path` is appended to its endpoint. On 401 the token is renewed and the
   * call made once more (not for streamed uploads, which cannot be replayed).
   */
  async request(service: string, serviceType: string, c: SessionCall): Promise<HttpResponse> {
    const base = await this.endpoint(serviceType);
    const send = async (): Promise<HttpResponse> => {
      const token = await this.getToken();
      return this.http.call({
        ...c,
        service,
        url: base + c.path,
        displayPath: c.displayPath ?? c.path.split('?')[0],
        headers: { ...c.headers, 'X-Auth-Token': token },
        ok: (s) => s === 401 || (c.ok ? c.ok(s) : s >= 200 && s < 300),
      });
    };
    let res = await send();
    if (res.status === 401 && this.cloud.auth_type !== 'token' && !isStream(c.body)) {
      this.invalidate();
      res = await send();
    }
    if (res.status === 401) {
      res.body?.destroy();
      throw new OpenStackError(
        service,
        c.method.toUpperCase(),
        c.displayPath ?? c.path.split('?')[0] ?? '',
        401,
        'not authorized (token rejected)',
      );
    }
    return res;
  }

  /** A Keystone API call (projects, users, …) with this session's token. */
  identity(c: SessionCall): Promise<HttpResponse> {
    return this.request('keystone', 'identity', c);
  }

  /** Revokes the current token in Keystone (used when a session ends, and by tests to force a refresh). */
  async revoke(): Promise<void> {
    const t = this.token;
    if (!t) return;
    await this.http.call({
      service: 'keystone',
      method: 'DELETE',
      url: `${this.identityUrl}/auth/tokens`,
      displayPath: '/v3/auth/tokens',
      headers: { 'X-Auth-Token': t.value, 'X-Subject-Token': t.value },
      ok: (s) => s === 204 || s === 404,
    });
  }
}

function isStream(b: unknown): boolean {
  return !!b && typeof b === 'object' && typeof (b as { pipe?: unknown }).pipe === 'function';
}

/** A JSON call through a session, parsed; errors name the service and call. */
export async function jsonCall<T>(session: Session, service: string, serviceType: string, c: SessionCall): Promise<T> {
  const res = await session.request(service, serviceType, c);
  if (!res.text) return {} as T;
  return parseJson<T>(res, service, `${c.method.toUpperCase()} ${c.path.split('?')[0]}`);
}
