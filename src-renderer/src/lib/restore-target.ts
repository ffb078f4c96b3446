import type { RestorePasswordAuth } from '../../../src-main/contract';

/** The restore wizard's "another project" fields, as typed. */
export interface TargetFields {
  authUrl: string;
  projectBy: 'name' | 'id';
  project: string;
  projectDomain: string;
  username: string;
  userDomain: string;
  password: string;
}

export type TargetField = Exclude<keyof TargetFields, 'projectBy'>;

export const blankTarget = (): TargetFields => ({
  authUrl: '',
  projectBy: 'name',
  project: '',
  projectDomain: 'Default',
  username: '',
  userDomain: 'Default',
  password: '',
});

/** What is wrong with the fields, by field, in the words shown under them. */
export function targetErrors(f: TargetFields): Partial<Record<TargetField, string>> {
  const out: Partial<Record<TargetField, string>> = {};
  const raw = f.authUrl.trim();
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!raw) out.authUrl = 'The Keystone address of the target is needed.';
  else if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    out.authUrl = 'Give an http:// or https:// address, e.g. https://keystone.example.org:5000/v3.';
  else if (url.username || url.password) out.authUrl = 'No user or password in the address: they go in their own fields.';
  else if (url.search || url.hash) out.authUrl = 'Only the address: the project and domains go in their own fields.';
  if (!f.username.trim()) out.username = 'The user to log in to the target as is needed.';
  if (!f.password) out.password = 'The password of that user is needed.';
  if (f.projectBy === 'name' && f.project.trim() && !f.projectDomain.trim())
    out.projectDomain = 'A project named by its name needs its domain (e.g. Default).';
  return out;
}

/**
 * Karbor's `restore_target` and `restore_auth` from valid fields: the Keystone URL with the
 * project and the user's domain in its query (what the OpenStack plugins read), and the login.
 * Without a project Keystone scopes the login to the user's default project.
 */
export function buildTarget(f: TargetFields): { restoreTarget: string; restoreAuth: RestorePasswordAuth } {
  const url = new URL(f.authUrl.trim());
  const project = f.project.trim();
  if (project && f.projectBy === 'id') url.searchParams.set('project_id', project);
  if (project && f.projectBy === 'name') {
    url.searchParams.set('project_name', project);
    url.searchParams.set('project_domain_name', f.projectDomain.trim());
  }
  if (f.userDomain.trim()) url.searchParams.set('user_domain_name', f.userDomain.trim());
  return {
    restoreTarget: url.toString(),
    restoreAuth: { type: 'password', username: f.username.trim(), password: f.password },
  };
}
