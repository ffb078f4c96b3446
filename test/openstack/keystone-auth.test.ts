import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromEnv, jsonCall, loadCloud, Session, type OpenStack } from '../../src-main/plugins/openstack/client';
import { NOOP, capturingLog, startHarness, tempDir, type Harness } from '../helpers/harness';
import { karborKeystone, parseShowTable, type CliResult, type KeystoneCreds } from '../helpers/karbor-cli';
import { admin } from './helpers';

/**
 * Keystone mode against the real Keystone: the API is registered as a `data-protect` endpoint
 * in a region of its own (so nobody else's catalog lookups find it) and the real `karbor` CLI
 * logs in as ordinary users of two scratch projects. Tokens are validated with a service user
 * that holds only the `service` role. Everything created here is removed at the end.
 */
const RUN = randomBytes(4).toString('hex');
const REGION = `karbor-kauth-${RUN}`;
const SERVICE = `karbor-kauth-${RUN}`;
const root = path.resolve(__dirname, '../..');
const run = promisify(execFile);

interface User {
  id: string;
  name: string;
  password: string;
}

let os: OpenStack;
let dir: string;
let cloudsFile: string;
let h: Harness;
let projectA: string;
let projectB: string;
const users: User[] = [];
let memberA: KeystoneCreds;
let memberB: KeystoneCreds;
let adminCreds: KeystoneCreds;
let planA: string;
let planB: string;
let second: ChildProcess | undefined;
const logged: string[] = [];
/** Every Keystone token a test sent: none may appear in a log. */
const tokensSeen: string[] = [];

const log = capturingLog(logged);

async function identity<T>(method: string, p: string, json?: unknown): Promise<T> {
  return jsonCall<T>(os.session, 'keystone', 'identity', { method, path: p, json });
}

async function createProject(name: string): Promise<string> {
  return (await identity<{ project: { id: string } }>('POST', '/projects', { project: { name, domain_id: 'default' } })).project.id;
}

async function createUser(name: string, project: string, role: string): Promise<User> {
  const password = randomBytes(12).toString('hex');
  const { user } = await identity<{ user: { id: string } }>('POST', '/users', {
    user: { name, password, domain_id: 'default', default_project_id: project },
  });
  const u = { id: user.id, name, password };
  users.push(u);
  const { roles } = await jsonCall<{ roles: { id: string }[] }>(os.session, 'keystone', 'identity', {
    method: 'GET',
    path: '/roles',
    query: { name: role },
  });
  if (!roles[0]) throw new Error(`no '${role}' role in this cloud`);
  await os.session.identity({ method: 'PUT', path: `/projects/${project}/users/${user.id}/roles/${roles[0].id}` });
  return u;
}

function cloudEntry(name: string, authUrl: string, user: { name: string; password: string }, project: string): string[] {
  return [
    `  ${name}:`,
    '    auth:',
    `      auth_url: "${authUrl}"`,
    `      username: "${user.name}"`,
    `      password: "${user.password}"`,
    '      user_domain_id: default',
    `      project_id: ${project}`,
    `    region_name: ${REGION}`,
  ];
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The built tool (`npm run register-endpoint`), as an operator runs it. */
async function registerTool(...args: string[]): Promise<string> {
  const tool = path.join(root, 'out/main/register-endpoint.js');
  if (!fs.existsSync(tool)) throw new Error(`${tool} is missing: run npx electron-vite build first`);
  const { stdout } = await run(process.execPath, [tool, '--cloud', 'kauth-admin', '--region', REGION, '--service-name', SERVICE, ...args], {
    env: { ...process.env, OS_CLIENT_CONFIG_FILE: cloudsFile },
  });
  return stdout;
}

/** A project-scoped Keystone token of a user, straight from Keystone. */
async function tokenOf(creds: KeystoneCreds): Promise<{ token: string; session: Session }> {
  const session = new Session(
    loadCloud({
      env: {
        OS_AUTH_URL: creds.authUrl,
        OS_USERNAME: creds.username,
        OS_PASSWORD: creds.password,
        OS_USER_DOMAIN_ID: 'default',
        OS_PROJECT_ID: creds.projectId,
      },
    }),
  );
  const token = await session.getToken();
  tokensSeen.push(token);
  return { token, session };
}

async function call(base: string, project: string, p: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/v1/${project}${p}`, { headers: { 'X-Auth-Token': token } });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function cli(creds: KeystoneCreds, ...args: string[]): Promise<string> {
  const r = await karborKeystone(creds, args);
  if (r.code !== 0) throw new Error(`karbor ${args.join(' ')} as ${creds.username} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function cliFails(creds: KeystoneCreds, ...args: string[]): Promise<CliResult> {
  const r = await karborKeystone(creds, args);
  expect(r.code, `karbor ${args.join(' ')} as ${creds.username} should fail: ${r.stdout}`).not.toBe(0);
  return r;
}

beforeAll(async () => {
  os = admin();
  dir = tempDir('karbor-kauth-');
  projectA = await createProject(`karbor-kauth-a-${RUN}`);
  projectB = await createProject(`karbor-kauth-b-${RUN}`);
  const userA = await createUser(`karbor-kauth-a-${RUN}`, projectA, 'member');
  const userB = await createUser(`karbor-kauth-b-${RUN}`, projectB, 'member');
  // The API's own identity: allowed to validate tokens (keystone's `service_role`), nothing more.
  const svc = await createUser(`karbor-kauth-svc-${RUN}`, projectA, 'service');
  const env = fromEnv();
  const authUrl = env.auth.auth_url;
  const adminProject = await os.session.projectId();
  cloudsFile = path.join(dir, 'clouds.yaml');
  fs.writeFileSync(
    cloudsFile,
    [
      'clouds:',
      ...cloudEntry('kauth-admin', authUrl, { name: env.auth.username ?? '', password: env.auth.password ?? '' }, adminProject),
      ...cloudEntry('kauth-service', authUrl, svc, projectA),
      ...cloudEntry('kauth-broken', `http://127.0.0.1:${await closedPort()}/v3`, svc, projectA),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  memberA = { authUrl, username: userA.name, password: userA.password, projectId: projectA, region: REGION };
  memberB = { authUrl, username: userB.name, password: userB.password, projectId: projectB, region: REGION };
  adminCreds = { authUrl, username: env.auth.username ?? '', password: env.auth.password ?? '', projectId: adminProject, region: REGION };

  h = await startHarness({ log, keystoneAuth: { clouds: ['kauth-service'], cloudOptions: { files: [cloudsFile] } } });
  const out = await registerTool('--url', `${h.server.baseUrl}/v1/%(project_id)s`);
  expect(out).toContain(`service '${SERVICE}' created`);
  expect(out).toContain('public endpoint created');
});

afterAll(async () => {
  second?.kill();
  const note = (what: string) => (err: unknown) => console.warn(`cleanup: ${what}: ${err instanceof Error ? err.message : String(err)}`);
  if (cloudsFile) await registerTool('--remove').catch(note('endpoint'));
  if (os) {
    await os.session.identity({ method: 'DELETE', path: `/regions/${REGION}`, ok: (s) => s === 204 || s === 404 }).catch(note('region'));
    for (const u of users) await os.session.identity({ method: 'DELETE', path: `/users/${u.id}` }).catch(note(`user ${u.name}`));
    for (const p of [projectA, projectB])
      if (p) await os.session.identity({ method: 'DELETE', path: `/projects/${p}` }).catch(note(`project ${p}`));
  }
  await h?.close();
});

describe('the karbor CLI with Keystone auth', () => {
  it('registering again changes nothing', async () => {
    expect(await registerTool('--url', `${h.server.baseUrl}/v1/%(project_id)s`)).toContain('already registered');
  });

  it('provider-list works for a member of a project', async () => {
    expect(await cli(memberA, 'provider-list')).toContain('No-Op Provider');
  });

  it('plan-create and plan-list work, and the plan belongs to the member’s project', async () => {
    const res = await h.directory('kauth-a');
    const plan = parseShowTable(await cli(memberA, 'plan-create', `kauth-${RUN}`, NOOP, `${res.id}=${res.type}=${res.name}`));
    planA = plan.id ?? '';
    expect(plan).toMatchObject({ name: `kauth-${RUN}`, provider_id: NOOP, project_id: projectA, status: 'suspended' });
    expect(await cli(memberA, 'plan-list')).toContain(planA);
    expect(parseShowTable(await cli(memberA, 'plan-show', planA)).project_id).toBe(projectA);
  });

  it('a member of another project neither sees nor reads it', async () => {
    const res = await h.directory('kauth-b');
    planB = parseShowTable(await cli(memberB, 'plan-create', `kauth-b-${RUN}`, NOOP, `${res.id}=${res.type}=${res.name}`)).id ?? '';
    const listB = await cli(memberB, 'plan-list');
    expect(listB).toContain(planB);
    expect(listB).not.toContain(planA);
    expect(`${(await cliFails(memberB, 'plan-show', planA)).stderr}`).toMatch(/404/);
    // A member asking with all_tenants still sees only its own project (admin only).
    expect(await cli(memberA, 'plan-list', '--all-tenants', '1')).not.toContain(planB);
    // B's token with A's project in the path: Karbor's "Malformed request url".
    const { token } = await tokenOf(memberB);
    const r = await call(h.server.baseUrl, projectA, `/plans/${planA}`, token);
    expect(r).toEqual({ status: 400, body: { badRequest: { code: 400, message: 'Malformed request url' } } });
  });

  it('an admin of the cloud gets the engine’s admin behaviour', async () => {
    const all = await cli(adminCreds, 'plan-list', '--all-tenants', '1');
    expect(all).toContain(planA);
    expect(all).toContain(planB);
    expect(await cli(adminCreds, 'service-list')).toContain('karbor-protection');
    expect((await cliFails(memberA, 'service-list')).stderr).toMatch(/403/);
  });
});

describe('token validation', () => {
  it('answers 401 with Karbor’s fault body for an unknown and for a revoked token', async () => {
    const bogus = 'gAAAAABnot-a-token-keystone-ever-issued';
    tokensSeen.push(bogus);
    const unknown = await call(h.server.baseUrl, projectA, '/plans', bogus);
    expect(unknown).toEqual({
      status: 401,
      body: { unauthorized: { code: 401, message: 'The request you have made requires authentication: invalid token' } },
    });
    const { token, session } = await tokenOf(memberA);
    await session.revoke();
    expect((await call(h.server.baseUrl, projectA, '/plans', token)).status).toBe(401);
  });

  it('asks Keystone once per token, not once per request', async () => {
    const validator = h.engine.auth.keystones[0];
    if (!validator) throw new Error('Keystone mode is off');
    const { token } = await tokenOf(memberA);
    const before = validator.calls;
    for (let i = 0; i < 3; i++) expect((await call(h.server.baseUrl, projectA, '/plans', token)).status).toBe(200);
    expect(validator.calls).toBe(before + 1);
  });

  it('answers 503 naming Keystone when the cloud’s Keystone cannot be reached, and local tokens go on working', async () => {
    const data = path.join(dir, 'second');
    second = spawn(
      process.execPath,
      [path.join(root, 'out/main/serve.js'), '--data-dir', data, '--port', '0', '--keystone-auth', 'kauth-broken'],
      {
        env: { ...process.env, OS_CLIENT_CONFIG_FILE: cloudsFile, KARBOR_LOG_LEVEL: 'debug' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    second.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    second.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the second server did not start:\n${output}`)), 60_000);
      const check = (): void => {
        const m = /API:\s+(http:\/\/127\.0\.0\.1:\d+)\/v1\//.exec(output);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      second?.stdout?.on('data', check);
      second?.on('exit', (code) => reject(new Error(`the second server exited ${code}:\n${output}`)));
    });
    expect(output).toMatch(/Keystone: +tokens of 'kauth-broken' \(http:\/\/127\.0\.0\.1:\d+\/v3\) accepted/);
    const { token } = await tokenOf(memberA);
    const r = await call(base, projectA, '/plans', token);
    expect(r.status).toBe(503);
    const fault = r.body.serviceUnavailable as { code: number; message: string };
    expect(fault.code).toBe(503);
    expect(fault.message).toMatch(
      /^Keystone of cloud 'kauth-broken' \(http:\/\/127\.0\.0\.1:\d+\/v3\) cannot validate the token now: keystone: /,
    );
    expect(fault.message).toContain('connection refused');
    const local = fs.readFileSync(path.join(data, 'api-token'), 'utf8').trim();
    const endpoint = fs.readFileSync(path.join(data, 'api-endpoint'), 'utf8').trim();
    expect((await fetch(`${endpoint}/providers`, { headers: { 'X-Auth-Token': local } })).status).toBe(200);
    second.kill();
    for (const t of tokensSeen) expect(output).not.toContain(t);
  });

  it('never logs a token', () => {
    expect(logged.some((l) => l.includes('keystone token accepted'))).toBe(true);
    const all = logged.join('\n');
    for (const t of [...tokensSeen, h.token]) expect(all).not.toContain(t);
  });
});
