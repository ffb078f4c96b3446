import type { CloudEntry } from '../../plugins/openstack/client/app-clouds';
import { Invalid } from '../errors';

/** A cloud as the add form gives it: Keystone v3 password or application credential login. */
export interface CloudInput {
  /** The name plans and providers use for it (`parameters.cloud`, `config.cloud`). */
  name: string;
  /** Keystone's address, e.g. `https://keystone.example.org:5000/v3`. */
  authUrl: string;
  authType: 'password' | 'application_credential';
  username?: string;
  password?: string;
  userDomainName?: string;
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  applicationCredentialId?: string;
  applicationCredentialSecret?: string;
  regionName?: string;
  interface?: 'public' | 'internal' | 'admin';
}

const FIELDS: Record<keyof CloudInput, string> = {
  name: 'Name',
  authUrl: 'Auth URL',
  authType: 'Authentication',
  username: 'Username',
  password: 'Password',
  userDomainName: 'User domain',
  projectName: 'Project name',
  projectId: 'Project id',
  projectDomainName: 'Project domain',
  applicationCredentialId: 'Application credential id',
  applicationCredentialSecret: 'Application credential secret',
  regionName: 'Region',
  interface: 'Interface',
};
const SECRETS = new Set<string>(['password', 'applicationCredentialSecret']);
/** Names become YAML keys and identifiers in plans: keep them plain. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const INTERFACES = ['public', 'internal', 'admin'];

/**
 * Checks the add form's input (it arrives as untyped JSON) and turns it into a clouds.yaml entry.
 * Every problem is reported at once, by field label; messages never repeat a secret's value.
 */
export function cloudEntryFromInput(raw: unknown): { name: string; entry: CloudEntry } {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Invalid('A cloud must be given as an object', 'CLOUD_INVALID');
  const input = raw as Record<string, unknown>;
  const problems: string[] = [];
  const v: Partial<Record<keyof CloudInput, string>> = {};
  for (const [k, value] of Object.entries(input)) {
    if (!Object.hasOwn(FIELDS, k)) {
      problems.push(`unknown field '${k}'`);
      continue;
    }
    if (value === undefined || value === null || value === '') continue;
    const label = FIELDS[k as keyof CloudInput];
    if (typeof value !== 'string') problems.push(`${label} must be text`);
    else if (SECRETS.has(k) ? value.length > 1024 : value.length > 255) problems.push(`${label} is too long`);
    // Control characters have no place in any of these and could only confuse the file or a log.
    else if (/\p{Cc}/u.test(value)) problems.push(`${label} must not contain control characters (line breaks, tabs)`);
    else v[k as keyof CloudInput] = SECRETS.has(k) ? value : value.trim();
  }
  const need = (k: keyof CloudInput, why: string): void => {
    if (!v[k]) problems.push(`${FIELDS[k]} is required${why}`);
  };
  need('name', '');
  if (v.name && !NAME.test(v.name))
    problems.push(`Name '${v.name}' may only hold letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit`);
  if (v.name === 'envvars') problems.push("Name 'envvars' is reserved for the OS_* variables");
  need('authUrl', '');
  if (v.authUrl) {
    const url = httpUrl(v.authUrl);
    if (!url) problems.push(`Auth URL '${v.authUrl}' is not an http:// or https:// address`);
    // Not repeated in the message: it would show the password.
    else if (url.username || url.password) problems.push('Auth URL must not carry a user or password: use the fields for them');
  }
  if (v.interface && !INTERFACES.includes(v.interface)) problems.push(`Interface must be public, internal or admin, not '${v.interface}'`);
  const authType = v.authType ?? 'password';
  const auth: CloudEntry = { auth_url: v.authUrl ?? '' };
  if (authType === 'password') {
    need('username', ' for a password login');
    need('password', ' for a password login');
    if (!v.projectName && !v.projectId) problems.push('Project name or Project id is required for a password login');
    Object.assign(auth, {
      username: v.username ?? '',
      password: v.password ?? '',
      user_domain_name: v.userDomainName ?? 'Default',
      ...(v.projectId
        ? { project_id: v.projectId }
        : { project_name: v.projectName ?? '', project_domain_name: v.projectDomainName ?? 'Default' }),
    });
  } else if (authType === 'application_credential') {
    // An application credential carries its own user and project.
    need('applicationCredentialId', ' for an application credential login');
    need('applicationCredentialSecret', ' for an application credential login');
    Object.assign(auth, {
      application_credential_id: v.applicationCredentialId ?? '',
      application_credential_secret: v.applicationCredentialSecret ?? '',
    });
  } else problems.push(`Authentication must be 'password' or 'application_credential', not '${authType}'`);
  if (problems.length) throw new Invalid(`The cloud cannot be added: ${problems.join('; ')}.`, 'CLOUD_INVALID');
  const entry: CloudEntry = {
    auth_type: authType === 'password' ? 'password' : 'v3applicationcredential',
    auth,
    interface: v.interface ?? 'public',
  };
  if (v.regionName) entry.region_name = v.regionName;
  return { name: v.name ?? '', entry };
}

function httpUrl(s: string): URL | undefined {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname ? u : undefined;
  } catch {
    return undefined;
  }
}
