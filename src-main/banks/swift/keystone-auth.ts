import { BankError } from '../errors';

/** Keystone v3 password credentials, project-scoped. */
export interface KeystoneCredentials {
  /** Identity endpoint, e.g. `http://127.0.0.1:5000/v3`. */
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  /** Domains by id (default `default`) or by name. */
  userDomainId?: string;
  userDomainName?: string;
  projectDomainId?: string;
  projectDomainName?: string;
  /** Catalog region of the object store; the first object-store endpoint when absent. */
  region?: string;
  /** Catalog interface; default `public`. */
  interface?: 'public' | 'internal' | 'admin';
}

export interface SwiftSession {
  token: string;
  /** Storage URL: `…/v1/AUTH_<project id>`. */
  storageUrl: string;
  expiresAt: number;
}

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; region?: string; region_id?: string; url: string }[];
}

/** Tokens are renewed this long before they expire, so a long upload does not outlive its token. */
const REFRESH_MARGIN_MS = 10 * 60 * 1000;

function domain(id: string | undefined, name: string | undefined): { id: string } | { name: string } {
  return name !== undefined && id === undefined ? { name } : { id: id ?? 'default' };
}

async function authenticate(c: KeystoneCredentials, timeoutMs: number): Promise<SwiftSession> {
  const body = {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: c.username, password: c.password, domain: domain(c.userDomainId, c.userDomainName) } },
      },
      scope: { project: { name: c.projectName, domain: domain(c.projectDomainId, c.projectDomainName) } },
    },
  };
  const url = `${c.authUrl.replace(/\/+$/, '')}/auth/tokens`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new BankError(`cannot reach Keystone at ${c.authUrl}: ${(err as Error).message}`, {
      code: 'BANK_AUTH_FAILED',
      status: 502,
      cause: err,
    });
  }
  const text = await res.text();
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token) {
    const status = res.status === 401 || res.status === 403 ? 401 : 502;
    throw new BankError(`Keystone refused the bank's credentials for ${c.username}@${c.projectName} (HTTP ${res.status})`, {
      code: 'BANK_AUTH_FAILED',
      status,
    });
  }
  const parsed = JSON.parse(text) as { token: { expires_at: string; catalog?: CatalogEntry[] } };
  const iface = c.interface ?? 'public';
  const endpoint = (parsed.token.catalog ?? [])
    .filter((e) => e.type === 'object-store')
    .flatMap((e) => e.endpoints)
    .find((e) => e.interface === iface && (c.region === undefined || (e.region_id ?? e.region) === c.region));
  if (!endpoint) {
    throw new BankError(`Keystone's catalog has no ${iface} object-store endpoint${c.region ? ` in region ${c.region}` : ''}`, {
      code: 'BANK_AUTH_FAILED',
      status: 502,
    });
  }
  return { token, storageUrl: endpoint.url.replace(/\/+$/, ''), expiresAt: Date.parse(parsed.token.expires_at) };
}

/** A Keystone token for Swift, fetched on first use, shared by concurrent callers, renewed before expiry. */
export class KeystoneTokenSource {
  private current: Promise<SwiftSession> | undefined;

  constructor(
    private readonly creds: KeystoneCredentials,
    private readonly timeoutMs = 30_000,
  ) {}

  async session(): Promise<SwiftSession> {
    const cur = this.current;
    if (cur) {
      const s = await cur.catch(() => undefined);
      if (s && s.expiresAt - Date.now() > REFRESH_MARGIN_MS) return s;
      if (this.current !== cur) return this.session();
    }
    const next = authenticate(this.creds, this.timeoutMs);
    this.current = next;
    next.catch(() => {
      if (this.current === next) this.current = undefined;
    });
    return next;
  }

  /** Drops a token Swift refused (revoked, or Keystone restarted with new keys). */
  invalidate(token: string): void {
    const cur = this.current;
    void cur?.then(
      (s) => {
        if (s.token === token && this.current === cur) this.current = undefined;
      },
      () => undefined,
    );
  }
}
