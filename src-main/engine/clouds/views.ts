import type { CloudConfig, TokenInfo } from '../../plugins/openstack/client';

/** A cloud the engine can use, as the UI shows it: where it comes from and how it logs in, never its secret. */
export interface CloudView {
  /** What plans and providers call it (`parameters.cloud`, `config.cloud`); `envvars` for the `OS_*` variables. */
  name: string;
  /** `app`: added in the app (its data folder); `file`: a clouds.yaml on the search path; `environment`: `OS_*`. */
  origin: 'app' | 'file' | 'environment';
  /** The file it is read from, or `OS_* variables`. */
  source: string;
  authUrl: string | null;
  authType: CloudConfig['auth_type'] | null;
  /** User name or id (password logins). */
  user: string | null;
  userDomain: string | null;
  /** Application credential name or id (application credential logins). */
  applicationCredential: string | null;
  /** Project name or id the login is scoped to. */
  project: string | null;
  projectDomain: string | null;
  region: string | null;
  interface: string | null;
  /** The cloud the OpenStack plugins use when none is named (`OS_CLOUD`, the `OS_*` variables or the only one). */
  isDefault: boolean;
  /** Only clouds added in the app can be removed in it; the others belong to their file or environment. */
  removable: boolean;
  /** Why the entry cannot be used as it is (a missing field), when it cannot. */
  problem: string | null;
}

export interface CloudList {
  clouds: CloudView[];
  /** Where clouds added in the app are kept (mode 0600). */
  appFile: string;
  /** Where clouds.yaml is looked for, first found wins. */
  searchPaths: string[];
  /** Files that could not be read, in words. */
  problems: string[];
}

/** What a connection test found: who logged in, the scope, and the catalog's services. */
export interface CloudTestResult {
  cloud: string;
  /** Keystone's v3 address that answered. */
  keystone: string;
  user: { id: string; name: string; domain: string | null };
  project: { id: string; name: string; domain: string | null } | null;
  domain: { id: string; name: string } | null;
  roles: string[];
  region: string | null;
  interface: string;
  /** Each catalog service with its endpoint for the cloud's interface and region (null: none there). */
  services: { type: string; name: string; endpoint: string | null }[];
}

type Origin = Pick<CloudView, 'name' | 'origin' | 'source' | 'isDefault' | 'removable'>;

export function cloudView(o: Origin, c: CloudConfig): CloudView {
  const a = c.auth;
  return {
    ...o,
    authUrl: a.auth_url,
    authType: c.auth_type,
    user: a.username ?? a.user_id ?? null,
    userDomain: a.user_domain_name ?? a.user_domain_id ?? null,
    applicationCredential: a.application_credential_name ?? a.application_credential_id ?? null,
    project: a.project_name ?? a.project_id ?? null,
    projectDomain: a.project_domain_name ?? a.project_domain_id ?? null,
    region: c.region_name ?? null,
    interface: c.interface,
    problem: null,
  };
}

export function brokenCloudView(o: Origin, problem: string): CloudView {
  return {
    ...o,
    authUrl: null,
    authType: null,
    user: null,
    userDomain: null,
    applicationCredential: null,
    project: null,
    projectDomain: null,
    region: null,
    interface: null,
    problem,
  };
}

export function testResult(name: string, keystone: string, cloud: CloudConfig, info: TokenInfo): CloudTestResult {
  const region = cloud.region_name;
  const services = (info.catalog ?? [])
    .map((e) => ({
      type: e.type,
      name: e.name ?? e.type,
      endpoint:
        e.endpoints.find((x) => x.interface === cloud.interface && (!region || x.region_id === region || x.region === region))?.url ?? null,
    }))
    .sort((x, y) => x.type.localeCompare(y.type));
  return {
    cloud: name,
    keystone,
    user: { id: info.user.id, name: info.user.name, domain: info.user.domain?.name ?? null },
    project: info.project ? { id: info.project.id, name: info.project.name, domain: info.project.domain?.name ?? null } : null,
    domain: info.domain ? { id: info.domain.id, name: info.domain.name } : null,
    roles: (info.roles ?? []).map((r) => r.name).sort(),
    region: region ?? null,
    interface: cloud.interface,
    services,
  };
}
