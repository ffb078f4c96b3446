import type { Session } from './keystone';

/** `2.37` → [2, 37]. */
export function parseVersion(v: string): [number, number] {
  const [a = '0', b = '0'] = v.replace(/^v/, '').split('.');
  return [Number(a), Number(b)];
}

export function compareVersions(a: string, b: string): number {
  const [a1, a2] = parseVersion(a);
  const [b1, b2] = parseVersion(b);
  return a1 - b1 || a2 - b2;
}

interface VersionDoc {
  id?: string;
  version?: string;
  min_version?: string;
  status?: string;
}

/**
 * Negotiates a microversion: the highest the server supports up to `wanted`. Throws when the
 * server's maximum is below `needed` (the oldest version whose behaviour the client relies on).
 */
export async function negotiateMicroversion(
  session: Session,
  service: string,
  serviceType: string,
  major: string,
  needed: string,
  wanted: string,
): Promise<string> {
  const endpoint = await session.endpoint(serviceType);
  const m = new RegExp(`^(.*?/v${major.replace('.', '\\.')})(/|$)`).exec(endpoint);
  const root = m?.[1] ?? endpoint;
  const res = await session.http.call({
    service,
    method: 'GET',
    url: `${root}/`,
    displayPath: `/v${major}/`,
    headers: { 'X-Auth-Token': await session.getToken() },
    ok: (s) => s === 200 || s === 300,
  });
  const body = JSON.parse(res.text || '{}') as { version?: VersionDoc; versions?: VersionDoc[] };
  const docs = body.version ? [body.version] : (body.versions ?? []);
  const doc = docs.find((d) => d.id === `v${major}` || d.id?.startsWith(`v${major.split('.')[0]}`)) ?? docs[0];
  const max = doc?.version;
  if (!max) return needed;
  if (compareVersions(max, needed) < 0) {
    throw new Error(`${service}: the server supports microversions up to ${max}, ${needed} is needed`);
  }
  return compareVersions(max, wanted) < 0 ? max : wanted;
}
