import type { RestoreContext, RestoreTarget } from '../../engine/providers/types';
import { connect, type CloudConfig, type OpenStack } from './client';
import type { OpenStackConnections } from './connections';

/** Query keys `restore_target` may carry: the project to restore into, domains, and which endpoints. */
const QUERY_KEYS = [
  'project_id',
  'project_name',
  'project_domain_id',
  'project_domain_name',
  'user_domain_id',
  'user_domain_name',
  'region_name',
  'interface',
] as const;

const AUTH_HINT =
  'restore_auth {"type": "password", "username": …, "password": …} (karbor restore-create --restore_username … --restore_password …)';

/**
 * Reads Karbor's `restore_target` + `restore_auth` for the OpenStack plugins.
 *
 * `restore_target` is the Keystone v3 auth URL of the cloud to restore into (the same cloud as
 * the checkpoint's or another), optionally with the target's scope in its query:
 * `http://keystone:5000/v3?project_name=web&project_domain_name=Default&user_domain_name=Default&region_name=RegionOne&interface=public`
 * (or `project_id=…`). Without a project there, Keystone scopes the login to the user's default
 * project. Karbor's client sends only `type`, `username` and `password` in `restore_auth`, so
 * everything that is not secret travels in the URL, which the API shows; credentials in the URL
 * itself are refused, so no secret is ever shown.
 */
export function targetCloud(target: RestoreTarget): CloudConfig {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    throw new Error(`restore_target '${target.url}' is not a URL: OpenStack restores take the target's Keystone auth URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`restore_target '${target.url}' is not an http(s) Keystone auth URL`);
  if (url.username || url.password) throw new Error('restore_target must not carry credentials: give them in restore_auth');
  const query: Partial<Record<(typeof QUERY_KEYS)[number], string>> = {};
  for (const [k, v] of url.searchParams) {
    if (!(QUERY_KEYS as readonly string[]).includes(k))
      throw new Error(`restore_target: unknown query parameter '${k}' (known: ${QUERY_KEYS.join(', ')})`);
    if (v) query[k as (typeof QUERY_KEYS)[number]] = v;
  }
  const a = target.auth;
  const username = typeof a?.username === 'string' ? a.username : '';
  const password = typeof a?.password === 'string' ? a.password : '';
  if (!a || (a.type !== undefined && a.type !== 'password') || !username || !password) throw new Error(`restore_target needs ${AUTH_HINT}`);
  const iface = query.interface ?? 'public';
  if (!['public', 'internal', 'admin'].includes(iface))
    throw new Error(`restore_target: interface '${iface}' is not public, internal or admin`);
  const { region_name, interface: _i, ...scope } = query;
  return {
    name: 'restore target',
    source: 'restore_target',
    auth_type: 'password',
    auth: { auth_url: `${url.origin}${url.pathname}`, username, password, ...scope },
    region_name,
    interface: iface as CloudConfig['interface'],
    endpoint_overrides: {},
  };
}

/** The target as messages show it: the URL without its query (the caller knows the scope it asked for). */
export function targetLabel(target: RestoreTarget): string {
  try {
    const u = new URL(target.url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return target.url;
  }
}

/**
 * Logs in to the target once per restore: the first resource that needs the target makes the
 * session and every other resource shares it (a refused login is reported by each resource but
 * tried only once, so a wrong password cannot lock the account out). When the restore ends
 * the token is revoked and the session, which holds the password, is forgotten.
 */
async function login(target: RestoreTarget): Promise<OpenStack> {
  const cloud = targetCloud(target);
  const os = connect(cloud);
  const where = `restore target ${targetLabel(target)}`;
  try {
    const info = await os.session.tokenInfo();
    if (!info.project)
      throw new Error(
        `keystone gave user '${cloud.auth.username ?? ''}' a token without a project (the user has no default project): name one in restore_target (?project_name=…)`,
      );
  } catch (err) {
    throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return os;
}

/**
 * The connection a restore acts through: the target's session when the restore names a
 * `restore_target`, else the cloud the resource came from.
 */
export function restoreConnection(conns: OpenStackConnections, ctx: RestoreContext): Promise<OpenStack> {
  const target = ctx.target;
  if (!target) return Promise.resolve(conns.forResource(ctx.providerId, ctx.resource));
  return ctx.run.shared(
    'openstack:restore-target',
    () => login(target),
    (os) => os.session.revoke(),
  );
}

/** Cinder's endpoint without the project segment: two sessions reach the same Cinder when these match. */
export async function cinderRoot(os: OpenStack): Promise<string> {
  const ep = await os.session.endpoint('block-storage');
  const project = await os.session.projectId();
  return ep.replace(new RegExp(`/${project}$`), '');
}
