import { jsonCall, type Session } from './keystone';

/** Karbor's service type: clients find its endpoint in the catalog under it. */
export const DATA_PROTECT = 'data-protect';

export interface EndpointRegistration {
  /** The API's URL with the project left to Keystone: `http://127.0.0.1:8799/v1/%(project_id)s`. */
  url: string;
  /** Region of the endpoints; created when the cloud has none of that name. */
  region: string;
  /** The service's name (`karbor` by default); a service of type `data-protect` with it is reused. */
  serviceName?: string;
  interfaces?: string[];
}

export interface Registered {
  serviceId: string;
  /** What changed: `service created`, `region created`, `public endpoint created`, … */
  changes: string[];
}

interface Service {
  id: string;
  name?: string;
  type: string;
}
interface Endpoint {
  id: string;
  interface: string;
  url: string;
  region_id?: string;
}

/** Keystone fills in the caller's project where the URL says `$(project_id)s` or `%(project_id)s`. */
export function hasProjectPlaceholder(url: string): boolean {
  return /[$%]\((project_id|tenant_id)\)s/.test(url);
}

async function findService(s: Session, name: string): Promise<Service | undefined> {
  const { services } = await jsonCall<{ services: Service[] }>(s, 'keystone', 'identity', {
    method: 'GET',
    path: '/services',
    query: { type: DATA_PROTECT },
  });
  return services.find((x) => x.name === name);
}

async function endpointsOf(s: Session, serviceId: string, region: string): Promise<Endpoint[]> {
  const { endpoints } = await jsonCall<{ endpoints: Endpoint[] }>(s, 'keystone', 'identity', {
    method: 'GET',
    path: '/endpoints',
    query: { service_id: serviceId, region_id: region },
  });
  // Older Keystones ignore the region filter.
  return endpoints.filter((e) => e.region_id === region);
}

/**
 * Registers a `data-protect` service and its endpoints (one per interface) in a cloud's catalog,
 * so that `karbor` with Keystone auth finds the API. Idempotent: an existing service of that name
 * is reused and an endpoint with another URL is updated. Needs an admin session.
 */
export async function registerEndpoint(s: Session, reg: EndpointRegistration): Promise<Registered> {
  if (!hasProjectPlaceholder(reg.url))
    throw new Error(`the URL must leave the project to Keystone, as in http://127.0.0.1:8799/v1/%(project_id)s (got ${reg.url})`);
  const name = reg.serviceName ?? 'karbor';
  const changes: string[] = [];
  let service = await findService(s, name);
  if (!service) {
    service = (
      await jsonCall<{ service: Service }>(s, 'keystone', 'identity', {
        method: 'POST',
        path: '/services',
        json: { service: { type: DATA_PROTECT, name, description: 'Karbor Desktop data protection API', enabled: true } },
      })
    ).service;
    changes.push(`service '${name}' created`);
  }
  const region = await s.identity({
    method: 'GET',
    path: `/regions/${encodeURIComponent(reg.region)}`,
    ok: (st) => st === 200 || st === 404,
  });
  if (region.status === 404) {
    await s.identity({ method: 'POST', path: '/regions', json: { region: { id: reg.region } } });
    changes.push(`region '${reg.region}' created`);
  }
  const existing = await endpointsOf(s, service.id, reg.region);
  for (const iface of reg.interfaces ?? ['public', 'internal', 'admin']) {
    const ep = existing.find((e) => e.interface === iface);
    if (ep?.url === reg.url) continue;
    if (ep) {
      await s.identity({ method: 'PATCH', path: `/endpoints/${ep.id}`, json: { endpoint: { url: reg.url } } });
      changes.push(`${iface} endpoint updated`);
    } else {
      await s.identity({
        method: 'POST',
        path: '/endpoints',
        json: { endpoint: { service_id: service.id, interface: iface, url: reg.url, region_id: reg.region, enabled: true } },
      });
      changes.push(`${iface} endpoint created`);
    }
  }
  return { serviceId: service.id, changes };
}

/**
 * Removes the service's endpoints in a region, and the service once it has no endpoints left.
 * A region is never removed: other services may use it.
 */
export async function unregisterEndpoint(s: Session, opts: { region: string; serviceName?: string }): Promise<string[]> {
  const name = opts.serviceName ?? 'karbor';
  const service = await findService(s, name);
  if (!service) return [];
  const changes: string[] = [];
  for (const ep of await endpointsOf(s, service.id, opts.region)) {
    await s.identity({ method: 'DELETE', path: `/endpoints/${ep.id}`, ok: (st) => st === 204 || st === 404 });
    changes.push(`${ep.interface} endpoint deleted`);
  }
  const { endpoints } = await jsonCall<{ endpoints: Endpoint[] }>(s, 'keystone', 'identity', {
    method: 'GET',
    path: '/endpoints',
    query: { service_id: service.id },
  });
  if (!endpoints.length) {
    await s.identity({ method: 'DELETE', path: `/services/${service.id}`, ok: (st) => st === 204 || st === 404 });
    changes.push(`service '${name}' deleted`);
  }
  return changes;
}
