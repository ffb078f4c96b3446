/** A small Karbor v1 REST client for the web UI in headless mode. */
export interface Fault {
  code: number;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function readToken(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem('karbor-token', fromHash);
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem('karbor-token');
}

export function saveToken(token: string): void {
  sessionStorage.setItem('karbor-token', token.trim());
}

/** Calls `/v1/<project>/<path>`; a fault body becomes an ApiError with its message. */
export async function call<T>(token: string, project: string, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`/v1/${project}${path}`, {
    ...init,
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json', ...(init.headers ?? {}) },
  });
  const text = await res.text();
  const body: unknown = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const fault = Object.values(body as Record<string, Fault>)[0];
    throw new ApiError(res.status, fault?.message ?? `HTTP ${res.status}`);
  }
  return body as T;
}
