import { Http, OpenStackError, Session, type CloudConfig, type HttpOptions, type TokenInfo } from '../../plugins/openstack/client';
import { parseJson } from '../../plugins/openstack/client/http';
import { Forbidden, Unavailable } from '../errors';
import type { Validation } from './token-cache';

/** Keystone's role that makes a caller an admin (Karbor's `context_is_admin: role:admin`). */
export const ADMIN_ROLE = 'admin';

/**
 * Validation answers should come quickly: a request waits for them. One retry (connection
 * refused, 5xx) and a short timeout, instead of the plugins' patient defaults.
 */
const VALIDATION_HTTP: HttpOptions = { retries: 1, backoffMs: 250, timeoutMs: 10_000 };

/**
 * Asks one cloud's Keystone about tokens this engine did not issue, as keystonemiddleware does:
 * `GET /v3/auth/tokens` with the token in `X-Subject-Token`, authenticated by this service's own
 * session (the cloud's credentials, which need the `service` or `admin` role). The token text
 * goes only to that Keystone, in that header; it is never logged or put in a message.
 */
export class KeystoneValidator {
  readonly session: Session;
  /** How many times Keystone was asked (tests check the cache). */
  calls = 0;

  constructor(
    readonly cloud: CloudConfig,
    http: HttpOptions = {},
  ) {
    this.session = new Session(cloud, { http: new Http({ ...VALIDATION_HTTP, ...http }) });
  }

  get name(): string {
    return this.cloud.name;
  }

  /**
   * `{valid: true, caller}` for a token this Keystone knows and that has not expired or been
   * revoked; `{valid: false}` for one it does not know. Throws `Unavailable` when Keystone
   * cannot answer (down, or refusing this service's own credentials) and `Forbidden` for a
   * token scoped to no project.
   */
  async validate(token: string): Promise<Validation> {
    this.calls++;
    let info: TokenInfo;
    try {
      const res = await this.session.identity({
        method: 'GET',
        path: '/auth/tokens',
        query: { nocatalog: 1 },
        displayPath: '/v3/auth/tokens',
        headers: { 'X-Subject-Token': token },
        ok: (s) => s === 200 || s === 404,
      });
      if (res.status === 404) return { valid: false };
      info = parseJson<{ token: TokenInfo }>(res, 'keystone', 'GET /v3/auth/tokens').token;
    } catch (err) {
      throw this.unavailable(err);
    }
    const expiresAt = Date.parse(info.expires_at);
    if (!Number.isFinite(expiresAt)) throw new Unavailable(`Keystone of cloud '${this.name}' answered a token without a valid expiry`);
    if (!info.project)
      throw new Forbidden('The token is not scoped to a project: ask Keystone for a project-scoped token', 'TOKEN_NOT_PROJECT_SCOPED');
    const roles = (info.roles ?? []).map((r) => r.name);
    return { valid: true, caller: { projectId: info.project.id, isAdmin: roles.includes(ADMIN_ROLE) }, expiresAt, userId: info.user.id };
  }

  /** Why Keystone could not validate, in words an operator can act on. */
  private unavailable(err: unknown): Unavailable {
    const where = `Keystone of cloud '${this.name}' (${this.session.identityUrl})`;
    if (err instanceof OpenStackError) {
      if (err.status === undefined || err.status >= 500)
        return new Unavailable(`${where} cannot validate the token now: ${err.message}`, 'KEYSTONE_UNAVAILABLE');
      if (err.status === 401)
        return new Unavailable(`${where} refused this service's own credentials: ${err.message}`, 'KEYSTONE_AUTH_FAILED');
      if (err.status === 403)
        return new Unavailable(
          `${where} does not let this service validate tokens: give its user the 'service' or 'admin' role (${err.message})`,
          'KEYSTONE_FORBIDDEN',
        );
      return new Unavailable(`${where} could not validate the token: ${err.message}`, 'KEYSTONE_UNAVAILABLE');
    }
    return new Unavailable(
      `${where} could not validate the token: ${err instanceof Error ? err.message : String(err)}`,
      'KEYSTONE_UNAVAILABLE',
    );
  }
}
