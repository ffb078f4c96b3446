import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseYaml } from './yaml';

/** Keystone v3 credentials and scope, as `clouds.yaml`'s `auth` section names them. */
export interface AuthSettings {
  auth_url: string;
  username?: string;
  user_id?: string;
  password?: string;
  user_domain_name?: string;
  user_domain_id?: string;
  project_name?: string;
  project_id?: string;
  project_domain_name?: string;
  project_domain_id?: string;
  /** Domain scope (when no project is given). */
  domain_name?: string;
  domain_id?: string;
  application_credential_id?: string;
  application_credential_name?: string;
  application_credential_secret?: string;
  token?: string;
}

export type AuthType = 'password' | 'v3applicationcredential' | 'token';
export type Interface = 'public' | 'internal' | 'admin';

/** One cloud: how to authenticate and which endpoints to use. */
export interface CloudConfig {
  /** The clouds.yaml entry's name, or `envvars` for `OS_*` variables. */
  name: string;
  /** Where it came from: a file path or `environment`. */
  source: string;
  auth_type: AuthType;
  auth: AuthSettings;
  region_name?: string;
  interface: Interface;
  /** Service type → endpoint URL replacing the catalog's (`<service>_endpoint_override`). */
  endpoint_overrides: Record<string, string>;
  /** Seconds per call (`api_timeout`). */
  api_timeout?: number;
}

export class CloudConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloudConfigError';
  }
}

export interface LoadCloudOptions {
  /** The cloud's name; else `OS_CLOUD`; else the `OS_*` variables; else the only cloud in clouds.yaml. */
  cloud?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  /** Files to look in instead of the standard ones. */
  files?: string[];
  /**
   * The clouds.yaml the app owns (clouds added in the app, in its data folder). A cloud named
   * here is found before the search path's, and only by name: it is never the default cloud.
   */
  appFile?: string;
}

/** Where clouds.yaml is looked for, first match wins: `OS_CLIENT_CONFIG_FILE`, `./`, `~/.config/openstack/`, `/etc/openstack/`. */
export function cloudsYamlPaths(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), home = os.homedir()): string[] {
  const dirs = [cwd, path.join(home, '.config', 'openstack'), '/etc/openstack'];
  const out = env.OS_CLIENT_CONFIG_FILE ? [env.OS_CLIENT_CONFIG_FILE] : [];
  for (const d of dirs) for (const n of ['clouds.yaml', 'clouds.yml']) out.push(path.join(d, n));
  return out;
}

function securePaths(cwd: string, home: string): string[] {
  const out: string[] = [];
  for (const d of [cwd, path.join(home, '.config', 'openstack'), '/etc/openstack'])
    for (const n of ['secure.yaml', 'secure.yml']) out.push(path.join(d, n));
  return out;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** The `clouds` mapping of a clouds.yaml (or secure.yaml), entries by name. */
export function readCloudsFile(file: string): Obj {
  let parsed: unknown;
  try {
    parsed = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CloudConfigError(`${file}: ${(err as Error).message}`);
  }
  if (!isObj(parsed) || !isObj(parsed.clouds)) throw new CloudConfigError(`${file}: no 'clouds' mapping`);
  return parsed.clouds;
}

function merge(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObj(v) && isObj(out[k]) ? merge(out[k], v) : v;
  return out;
}

/**
 * Resolves the cloud to use, like openstacksdk: a named entry of the first clouds.yaml found
 * (merged with secure.yaml), or the `OS_*` variables. Error messages name files and keys, never
 * secret values.
 */
export function loadCloud(opts: LoadCloudOptions = {}): CloudConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const home = opts.home ?? os.homedir();
  const name = opts.cloud || env.OS_CLOUD || undefined;
  if ((!name || name === 'envvars') && env.OS_AUTH_URL) return fromEnv(env);
  if (name && name !== 'envvars' && opts.appFile && fs.existsSync(opts.appFile)) {
    const own = readCloudsFile(opts.appFile)[name];
    if (isObj(own)) return normalise(name, opts.appFile, own);
  }
  const files = opts.files ?? cloudsYamlPaths(env, cwd, home);
  const file = files.find((f) => fs.existsSync(f));
  if (!file) {
    throw new CloudConfigError(
      name
        ? `cloud '${name}' not found: no clouds.yaml in ${files.join(', ')}${opts.appFile ? ` and not added in the app (${opts.appFile})` : ''}`
        : 'no OpenStack cloud configured: set OS_CLOUD (with a clouds.yaml) or the OS_* variables (OS_AUTH_URL, …)',
    );
  }
  const clouds = readCloudsFile(file);
  const names = Object.keys(clouds);
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  if (!chosen) throw new CloudConfigError(`${file} defines ${names.length} clouds (${names.join(', ')}): set OS_CLOUD or name one`);
  const found = clouds[chosen];
  if (!isObj(found)) throw new CloudConfigError(`cloud '${chosen}' not found in ${file} (it has: ${names.join(', ') || 'none'})`);
  let entry: Obj = found;
  const secure = (opts.files ? [] : securePaths(cwd, home)).find((f) => fs.existsSync(f));
  if (secure) {
    const s = readCloudsFile(secure)[chosen];
    if (isObj(s)) entry = merge(entry, s);
  }
  if (entry.profile)
    throw new CloudConfigError(`cloud '${chosen}' in ${file}: vendor profiles are not supported; write the auth section out`);
  return normalise(chosen, file, entry);
}

const ENV_AUTH: Record<string, keyof AuthSettings> = {
  OS_AUTH_URL: 'auth_url',
  OS_USERNAME: 'username',
  OS_USER_ID: 'user_id',
  OS_PASSWORD: 'password',
  OS_USER_DOMAIN_NAME: 'user_domain_name',
  OS_USER_DOMAIN_ID: 'user_domain_id',
  OS_PROJECT_NAME: 'project_name',
  OS_TENANT_NAME: 'project_name',
  OS_PROJECT_ID: 'project_id',
  OS_TENANT_ID: 'project_id',
  OS_PROJECT_DOMAIN_NAME: 'project_domain_name',
  OS_PROJECT_DOMAIN_ID: 'project_domain_id',
  OS_DOMAIN_NAME: 'domain_name',
  OS_DOMAIN_ID: 'domain_id',
  OS_APPLICATION_CREDENTIAL_ID: 'application_credential_id',
  OS_APPLICATION_CREDENTIAL_NAME: 'application_credential_name',
  OS_APPLICATION_CREDENTIAL_SECRET: 'application_credential_secret',
  OS_TOKEN: 'token',
};

/** The `OS_*` variables as a cloud named `envvars`. */
export function fromEnv(env: NodeJS.ProcessEnv = process.env): CloudConfig {
  const auth: Obj = {};
  for (const [k, field] of Object.entries(ENV_AUTH)) if (env[k] && auth[field] === undefined) auth[field] = env[k];
  const entry: Obj = {
    auth,
    auth_type: env.OS_AUTH_TYPE,
    region_name: env.OS_REGION_NAME,
    interface: env.OS_INTERFACE ?? env.OS_ENDPOINT_TYPE,
    default_domain: env.OS_DEFAULT_DOMAIN,
    api_timeout: env.OS_API_TIMEOUT,
  };
  for (const [k, v] of Object.entries(env)) {
    const m = /^OS_([A-Z_]+)_ENDPOINT_OVERRIDE$/.exec(k);
    if (m?.[1] && v) entry[`${m[1].toLowerCase()}_endpoint_override`] = v;
  }
  return normalise('envvars', 'environment', entry);
}

/** One clouds.yaml entry as a cloud, checked like `loadCloud` checks the entries it finds. */
export function cloudFromEntry(name: string, source: string, entry: Record<string, unknown>): CloudConfig {
  return normalise(name, source, entry);
}

const SERVICE_ALIASES: Record<string, string> = { block_storage: 'block-storage', volumev3: 'block-storage', object_store: 'object-store' };

function normalise(name: string, source: string, entry: Obj): CloudConfig {
  const where = source === 'environment' ? 'OS_* variables' : `cloud '${name}' in ${source}`;
  const rawAuth = isObj(entry.auth) ? entry.auth : {};
  const auth: Obj = {};
  for (const [k, v] of Object.entries(rawAuth))
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') auth[k] = String(v);
  const defaultDomain = typeof entry.default_domain === 'string' ? entry.default_domain : undefined;
  if (defaultDomain) {
    if (!auth.user_domain_id && !auth.user_domain_name) auth.user_domain_id = defaultDomain;
    if (!auth.project_domain_id && !auth.project_domain_name) auth.project_domain_id = defaultDomain;
  }
  if (typeof auth.auth_url !== 'string' || !auth.auth_url) throw new CloudConfigError(`${where}: auth.auth_url is missing`);
  const declared = typeof entry.auth_type === 'string' ? entry.auth_type.toLowerCase() : '';
  let authType: AuthType;
  if (['password', 'v3password'].includes(declared)) authType = 'password';
  else if (['v3applicationcredential', 'applicationcredential'].includes(declared)) authType = 'v3applicationcredential';
  else if (['token', 'v3token'].includes(declared)) authType = 'token';
  else if (declared)
    throw new CloudConfigError(`${where}: auth_type '${declared}' is not supported (password, v3applicationcredential, token)`);
  else if (auth.application_credential_secret) authType = 'v3applicationcredential';
  else if (auth.token && !auth.password) authType = 'token';
  else authType = 'password';
  if (authType === 'password') {
    if (!auth.username && !auth.user_id) throw new CloudConfigError(`${where}: auth.username or auth.user_id is missing`);
    if (!auth.password) throw new CloudConfigError(`${where}: auth.password is missing`);
  } else if (authType === 'v3applicationcredential') {
    if (!auth.application_credential_secret) throw new CloudConfigError(`${where}: auth.application_credential_secret is missing`);
    if (!auth.application_credential_id && !(auth.application_credential_name && (auth.username || auth.user_id))) {
      throw new CloudConfigError(`${where}: auth.application_credential_id (or a name and the user) is missing`);
    }
  } else if (!auth.token) throw new CloudConfigError(`${where}: auth.token is missing`);
  const iface = (typeof entry.interface === 'string' && entry.interface ? entry.interface : 'public').replace(/URL$/, '');
  if (!['public', 'internal', 'admin'].includes(iface))
    throw new CloudConfigError(`${where}: interface '${iface}' is not public, internal or admin`);
  const overrides: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry)) {
    const m = /^(.+)_endpoint_override$/.exec(k);
    if (m?.[1] && typeof v === 'string' && v) overrides[SERVICE_ALIASES[m[1]] ?? m[1]] = v;
  }
  const timeout = Number(entry.api_timeout);
  return {
    name,
    source,
    auth_type: authType,
    auth: auth as unknown as AuthSettings,
    region_name: typeof entry.region_name === 'string' && entry.region_name ? entry.region_name : undefined,
    interface: iface as Interface,
    endpoint_overrides: overrides,
    api_timeout: Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
  };
}

const SECRET_KEYS = new Set(['password', 'application_credential_secret', 'token']);

/** The cloud with its secrets replaced by `***`, for messages and logs. */
export function redactCloud(c: CloudConfig): CloudConfig {
  const auth = Object.fromEntries(Object.entries(c.auth).map(([k, v]) => [k, SECRET_KEYS.has(k) ? '***' : v])) as unknown as AuthSettings;
  return { ...c, auth };
}
