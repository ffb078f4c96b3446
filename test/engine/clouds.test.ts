/**
 * The cloud operations of the UI contract (`clouds.*`), called through the headless bridge on a
 * real 127.0.0.1 port against a real engine and data folder: listing from a clouds.yaml on the
 * search path and `OS_*`, adding to the app's own clouds.yaml (0600), refusing bad input, and
 * never showing a secret in an answer or a log line. Logins against a real Keystone are in
 * test/openstack/ui-cloud.test.ts.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCloud } from '../../src-main/plugins/openstack/client';
import { renderCloudsYaml } from '../../src-main/plugins/openstack/client/app-clouds';
import { parseYaml } from '../../src-main/plugins/openstack/client/yaml';
import { capturingLog, startHarness, tempDir, type Harness } from '../helpers/harness';

const OS_INFRA = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
// Characters that break naive YAML or shell quoting, so the round trip is really tested.
const SECRET = `p@ss "w#rd": it's ü\\ {x} - [y]`;
const APP_SECRET = 'app-cred-secret-7d1e';
const FILE_SECRET = 'file-secret-91ab';
const ENV_SECRET = 'env-secret-55cc';
const SECRETS = [SECRET, APP_SECRET, FILE_SECRET, ENV_SECRET];

let h: Harness;
let home: string;
let refusedPort: number;
const logged: string[] = [];
const captureLog = capturingLog(logged);
const answers: string[] = [];

type Result<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };

/** One contract call over `POST /ui/invoke`; every answer's text is kept to check for secrets. */
async function invoke<T = unknown>(method: string, input: unknown): Promise<Result<T>> {
  const res = await fetch(`${h.server.baseUrl}/ui/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': h.token },
    body: JSON.stringify({ method, input }),
  });
  const text = await res.text();
  answers.push(text);
  return JSON.parse(text) as Result<T>;
}

async function ok<T>(method: string, input: unknown): Promise<T> {
  const r = await invoke<T>(method, input);
  if (!r.ok) throw new Error(`${method}: ${r.error.code} ${r.error.message}`);
  return r.value;
}

async function failure(method: string, input: unknown): Promise<{ code: string; message: string }> {
  const r = await invoke(method, input);
  if (r.ok) throw new Error(`${method} succeeded: ${JSON.stringify(r.value)}`);
  return r.error;
}

interface CloudView {
  name: string;
  origin: string;
  source: string;
  isDefault: boolean;
  removable: boolean;
  problem: string | null;
  user: string | null;
  project: string | null;
  authType: string | null;
}

const form = (over: Record<string, unknown> = {}) => ({
  name: 'lab',
  authUrl: `http://127.0.0.1:${refusedPort}/v3`,
  authType: 'password',
  username: 'backup',
  password: SECRET,
  userDomainName: 'Default',
  projectName: 'backups',
  projectDomainName: 'Default',
  regionName: 'RegionOne',
  interface: 'public',
  ...over,
});

beforeAll(async () => {
  // A port nothing listens on: Keystone "does not answer" there.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  refusedPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));

  home = tempDir('karbor-clouds-home-');
  fs.mkdirSync(path.join(home, '.config', 'openstack'), { recursive: true });
  fs.writeFileSync(
    path.join(home, '.config', 'openstack', 'clouds.yaml'),
    [
      'clouds:',
      '  staging:',
      '    auth:',
      '      auth_url: https://keystone.staging.example:5000/v3',
      '      username: ops',
      `      password: ${FILE_SECRET}`,
      '      project_name: web',
      '    region_name: RegionTwo',
      '  half:',
      '    auth:',
      '      auth_url: https://keystone.half.example:5000/v3',
      '      username: nobody',
      '',
    ].join('\n'),
  );
  const env = {
    OS_AUTH_URL: 'https://keystone.env.example:5000/v3',
    OS_USERNAME: 'admin',
    OS_PASSWORD: ENV_SECRET,
    OS_PROJECT_NAME: 'admin',
  };
  h = await startHarness({ log: captureLog, openstack: { env, cwd: home, home } });
});

afterAll(async () => {
  await h?.close();
});

describe('clouds.* (UI contract)', () => {
  it('lists the clouds of clouds.yaml on the search path and of OS_*, without their secrets', async () => {
    const list = await ok<{ clouds: CloudView[]; appFile: string; searchPaths: string[]; problems: string[] }>('clouds.list', {});
    expect(list.appFile).toBe(path.join(h.dataDir, 'clouds.yaml'));
    expect(list.searchPaths).toContain(path.join(home, '.config', 'openstack', 'clouds.yaml'));
    expect(list.problems).toEqual([]);
    const byName = Object.fromEntries(list.clouds.map((c) => [c.name, c]));
    expect(byName.staging).toMatchObject({
      origin: 'file',
      user: 'ops',
      project: 'web',
      removable: false,
      problem: null,
      isDefault: false,
    });
    expect(byName.half?.problem).toMatch(/auth\.password is missing/);
    // OS_AUTH_URL without OS_CLOUD: the environment is what the plugins use by default.
    expect(byName.envvars).toMatchObject({ origin: 'environment', source: 'OS_* variables', isDefault: true, removable: false });
  });

  it('adds a cloud from the form into a 0600 clouds.yaml of the data folder that the loader reads', async () => {
    const added = await ok<CloudView>('clouds.add', form());
    expect(added).toMatchObject({ name: 'lab', origin: 'app', removable: true, user: 'backup', project: 'backups', authType: 'password' });
    const file = path.join(h.dataDir, 'clouds.yaml');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // No temporary file is left beside it.
    expect(fs.readdirSync(h.dataDir).filter((f) => f.startsWith('clouds.yaml'))).toEqual(['clouds.yaml']);
    const cloud = loadCloud({ cloud: 'lab', env: {}, files: [], appFile: file });
    expect(cloud).toMatchObject({ name: 'lab', source: file, auth_type: 'password', region_name: 'RegionOne', interface: 'public' });
    expect(cloud.auth).toMatchObject({ username: 'backup', password: SECRET, user_domain_name: 'Default', project_name: 'backups' });

    await ok('clouds.add', {
      name: 'lab-appcred',
      authUrl: `http://127.0.0.1:${refusedPort}`,
      authType: 'application_credential',
      applicationCredentialId: 'a1b2c3',
      applicationCredentialSecret: APP_SECRET,
    });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const appCred = loadCloud({ cloud: 'lab-appcred', env: {}, files: [], appFile: file });
    expect(appCred.auth_type).toBe('v3applicationcredential');
    expect(appCred.auth.application_credential_secret).toBe(APP_SECRET);

    const list = await ok<{ clouds: CloudView[] }>('clouds.list', {});
    expect(list.clouds.filter((c) => c.origin === 'app').map((c) => c.name)).toEqual(['lab', 'lab-appcred']);
  });

  it('writes YAML that reads back exactly, whatever the values hold', () => {
    const entry = { auth: { password: SECRET, 'odd key: #1': 'yes', n: 3 }, regions: ['a', 'b"c'], interface: 'public' };
    expect(parseYaml(renderCloudsYaml({ c: entry, true: { x: null } }))).toEqual({ clouds: { c: entry, true: { x: null } } });
    expect(parseYaml(renderCloudsYaml({}))).toEqual({ clouds: {} });
  });

  it('refuses bad input with the fields named, and never repeats a secret', async () => {
    const missing = await failure('clouds.add', { name: 'x', authType: 'password' });
    expect(missing.code).toBe('CLOUD_INVALID');
    for (const part of ['Auth URL is required', 'Username is required', 'Password is required', 'Project name or Project id is required'])
      expect(missing.message).toContain(part);
    const cases: [Record<string, unknown>, RegExp][] = [
      [form({ name: 'two words' }), /Name 'two words' may only hold letters/],
      [form({ name: 'envvars' }), /reserved for the OS_\* variables/],
      [form({ authUrl: 'keystone:5000' }), /Auth URL 'keystone:5000' is not an http/],
      [form({ authUrl: 'ftp://keystone.example/v3' }), /is not an http/],
      [form({ interface: 'private' }), /Interface must be public, internal or admin/],
      [form({ authType: 'token' }), /Authentication must be 'password' or 'application_credential'/],
      [form({ username: 42 }), /Username must be text/],
      [form({ regionName: 'One\nTwo' }), /Region must not contain control characters/],
      [form({ token: 'abc' }), /unknown field 'token'/],
      [form({ authType: 'application_credential' }), /Application credential id is required.*Application credential secret is required/],
    ];
    for (const [input, message] of cases) {
      const e = await failure('clouds.add', input);
      expect(e.code, JSON.stringify(input)).toBe('CLOUD_INVALID');
      expect(e.message).toMatch(message);
    }
    const inUrl = await failure('clouds.add', form({ authUrl: `https://backup:${encodeURIComponent(SECRET)}@keystone.example/v3` }));
    expect(inUrl.message).toMatch(/must not carry a user or password/);
    expect((await failure('clouds.add', 'lab')).code).toBe('CLOUD_INVALID');
    // Names the engine knows already, wherever they come from.
    for (const name of ['lab', 'staging', 'half']) {
      const dup = await failure('clouds.add', form({ name }));
      expect(dup.code).toBe('CLOUD_EXISTS');
    }
    const list = await ok<{ clouds: CloudView[] }>('clouds.list', {});
    expect(list.clouds.map((c) => c.name).sort()).toEqual(['envvars', 'half', 'lab', 'lab-appcred', 'staging']);
  });

  it('reports a Keystone that does not answer, naming it, with an engine error', async () => {
    const e = await failure('clouds.test', { name: 'lab' });
    expect(e.code).toBe('KEYSTONE_UNREACHABLE');
    expect(e.message).toContain(`Keystone at http://127.0.0.1:${refusedPort}/v3 did not answer for cloud 'lab'`);
    expect((await failure('clouds.test', { name: 'nowhere' })).code).toBe('CLOUD_NOT_FOUND');
    const half = await failure('clouds.test', { name: 'half' });
    expect(half).toMatchObject({ code: 'CLOUD_INVALID' });
    expect(half.message).toMatch(/auth\.password is missing/);
  });

  it('lets the OpenStack plugins use an added cloud by name, with their failures in words', async () => {
    const e = await failure('protectables.instances', { type: 'OS::Keystone::Project', parameters: { cloud: 'lab' } });
    expect(e.code).toBe('CLOUD_UNREACHABLE');
    expect(e.message).toMatch(/^keystone: POST \/v3\/auth\/tokens failed/);
    const unknown = await failure('protectables.instances', { type: 'OS::Cinder::Volume', parameters: { cloud: 'nowhere' } });
    expect(unknown.code).toBe('CLOUD_INVALID');
    expect(unknown.message).toContain("cloud 'nowhere' not found");
  });

  it('removes only clouds added in the app, and not while a plan uses them', async () => {
    expect((await failure('clouds.remove', { name: 'staging' })).code).toBe('CLOUD_NOT_REMOVABLE');
    expect((await failure('clouds.remove', { name: 'envvars' })).code).toBe('CLOUD_NOT_REMOVABLE');
    expect((await failure('clouds.remove', { name: 'nowhere' })).code).toBe('CLOUD_NOT_FOUND');
    const plan = await ok<{ id: string }>('plans.create', {
      name: 'lab volumes',
      providerId: OS_INFRA,
      resources: [{ id: 'b4f1c0de-0000-4000-8000-000000000001', type: 'OS::Cinder::Volume', name: 'data', extra_info: { cloud: 'lab' } }],
      parameters: {},
    });
    const inUse = await failure('clouds.remove', { name: 'lab' });
    expect(inUse.code).toBe('CLOUD_IN_USE');
    expect(inUse.message).toContain("plan 'lab volumes'");
    await ok('plans.delete', { id: plan.id });
    expect(await ok('clouds.remove', { name: 'lab' })).toBeNull();
    const file = path.join(h.dataDir, 'clouds.yaml');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).not.toContain(SECRET);
    expect(() => loadCloud({ cloud: 'lab', env: {}, files: [], appFile: file })).toThrow(/cloud 'lab' not found/);
    const list = await ok<{ clouds: CloudView[] }>('clouds.list', {});
    expect(list.clouds.map((c) => c.name)).not.toContain('lab');
    expect((await failure('clouds.remove', { name: 'lab' })).code).toBe('CLOUD_NOT_FOUND');
  });

  it('never put a secret in an answer or a log line', () => {
    expect(answers.length).toBeGreaterThan(20);
    expect(logged.some((l) => l.includes('OpenStack cloud added'))).toBe(true);
    for (const text of [...answers, ...logged]) {
      for (const s of SECRETS) {
        expect(text).not.toContain(s);
        expect(text).not.toContain(JSON.stringify(s).slice(1, -1));
      }
    }
  });
});
