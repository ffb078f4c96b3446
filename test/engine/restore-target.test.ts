import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Caller, type Engine } from '../../src-main/engine';
import type { ProtectablePlugin, Resource } from '../../src-main/engine/protectables/types';
import type { ProtectionPlugin, RestoreTarget } from '../../src-main/engine/providers/types';
import { eventually, capturingLog, startHarness, tempDir, type Harness } from '../helpers/harness';

const caller: Caller = { projectId: 'p1', isAdmin: false };
const PROVIDER = '0c3c1b7e-0000-4000-8000-000000000002';
const SECRET = 'pw-that-must-not-be-stored';
const server: Resource = { type: 'Test::Server', id: randomUUID(), name: 'app' };
const disk: Resource = { type: 'Test::Disk', id: randomUUID(), name: 'disk' };

const protectables: ProtectablePlugin[] = ['Test::Server', 'Test::Disk'].map((type) => ({
  type,
  dependentTypes: type === 'Test::Server' ? ['Test::Disk'] : [],
  listInstances: () => Promise.resolve([]),
  showInstance: () => Promise.resolve(undefined),
  dependents: (_c, r) => Promise.resolve(r.id === server.id ? [disk] : []),
}));

/** Restores through one shared "login" per run, made from the target it is handed. */
function targetPlugin() {
  const seen: (RestoreTarget | null)[] = [];
  const logins: string[] = [];
  const disposed: string[] = [];
  const gate = { hold: undefined as Promise<void> | undefined, started: false };
  const plugin: ProtectionPlugin = {
    name: 'targeted',
    supportedTypes: ['Test::Server', 'Test::Disk'],
    schemas: () => ({ options: { type: 'object' }, savedInfo: { type: 'object' }, restore: { type: 'object' } }),
    protect: { main: async () => ({ ok: true }) },
    restore: async (c) => {
      seen.push(c.target);
      gate.started = true;
      if (gate.hold) await gate.hold;
      const session = await c.run.shared(
        'login',
        async () => {
          const id = `session-${logins.length + 1}`;
          logins.push(id);
          return id;
        },
        (id) => void disposed.push(id),
      );
      return { newId: `${session}:${c.resource.name}` };
    },
  };
  return { plugin, seen, logins, disposed, gate };
}

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

async function setup() {
  const t = targetPlugin();
  const dataDir = tempDir();
  const e = createEngine({
    dataDir,
    protectables,
    protectionPlugins: [t.plugin],
    providers: [{ id: PROVIDER, name: 'Targeted', plugins: ['targeted'] }],
    scheduler: false,
  });
  engines.push(e);
  const plan = e.plans.create(caller, { name: 'app', provider_id: PROVIDER, resources: [server], parameters: {} });
  const cp = e.checkpoints.create(caller, PROVIDER, plan.id);
  await e.idle();
  return { e, cp, dataDir, ...t };
}

/** Every byte of the database files (the WAL included), to prove a secret never reached them. */
function databaseBytes(dataDir: string): string {
  return fs
    .readdirSync(dataDir)
    .filter((f) => f.startsWith('karbor.sqlite'))
    .map((f) => fs.readFileSync(path.join(dataDir, f)).toString('latin1'))
    .join('');
}

describe('restore targets', () => {
  it('hands restore_auth in clear to the plugins only, while the database never holds it', async () => {
    const { e, cp, dataDir, seen, logins, disposed, gate } = await setup();
    let release: () => void = () => undefined;
    gate.hold = new Promise((r) => (release = r));
    const auth = { type: 'password', username: 'bob', password: SECRET };
    const r = e.restores.create(caller, {
      provider_id: PROVIDER,
      checkpoint_id: cp.id,
      parameters: {},
      restore_target: 'http://keystone.example:5000/v3?project_name=web',
      restore_auth: auth,
    });
    expect(r.restore_auth).toEqual({ type: 'password', username: 'bob', password: '***' });
    await eventually(async () => gate.started, 'restore started');
    // while the restore runs
    expect(e.restores.get(caller, r.id).restore_auth).toEqual({ type: 'password', username: 'bob', password: '***' });
    expect(databaseBytes(dataDir)).not.toContain(SECRET);
    release();
    await e.idle();
    const done = e.restores.get(caller, r.id);
    expect(done.status).toBe('success');
    expect(done.restore_target).toBe('http://keystone.example:5000/v3?project_name=web');
    expect(seen).toEqual([
      { url: 'http://keystone.example:5000/v3?project_name=web', auth },
      { url: 'http://keystone.example:5000/v3?project_name=web', auth },
    ]);
    // one login shared by both resources, disposed of when the restore ended
    expect(logins).toEqual(['session-1']);
    expect(disposed).toEqual(['session-1']);
    expect(databaseBytes(dataDir)).not.toContain(SECRET);
    const log = e.operationLogs.list(caller, { restore_id: r.id })[0];
    expect(JSON.stringify(log)).not.toContain(SECRET);
  });

  it('gives each restore its own shared values, and no target when none is named (restore_auth alone is dropped)', async () => {
    const { e, cp, dataDir, seen, logins, disposed } = await setup();
    const r = e.restores.create(caller, {
      provider_id: PROVIDER,
      checkpoint_id: cp.id,
      parameters: {},
      restore_auth: { type: 'password', username: 'bob', password: SECRET },
    });
    await e.idle();
    const second = e.restores.create(caller, { provider_id: PROVIDER, checkpoint_id: cp.id, parameters: {} });
    await e.idle();
    expect(e.restores.get(caller, r.id).status).toBe('success');
    expect(e.restores.get(caller, second.id).status).toBe('success');
    expect(seen).toEqual([null, null, null, null]);
    expect(logins).toEqual(['session-1', 'session-2']);
    expect(disposed).toEqual(['session-1', 'session-2']);
    expect(databaseBytes(dataDir)).not.toContain(SECRET);
  });
});

describe('restores.create of the UI contract with a target (headless bridge on a real port)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('starts the restore with restore_target and the login, and no answer, log line or database byte holds the password', async () => {
    const t = targetPlugin();
    const logged: string[] = [];
    const log = capturingLog(logged);
    h = await startHarness({
      protectables,
      protectionPlugins: [t.plugin],
      providers: [{ id: PROVIDER, name: 'Targeted', plugins: ['targeted'] }],
      scheduler: false,
      log,
    });
    const hh = h;
    const answers: string[] = [];
    const invoke = async <T>(method: string, input: unknown): Promise<{ ok: true; value: T } | { ok: false; error: { code: string } }> => {
      const res = await fetch(`${hh.server.baseUrl}/ui/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-token': hh.token },
        body: JSON.stringify({ method, input }),
      });
      const text = await res.text();
      answers.push(text);
      return JSON.parse(text) as never;
    };
    const ok = async <T>(method: string, input: unknown): Promise<T> => {
      const r = await invoke<T>(method, input);
      if (!r.ok) throw new Error(`${method}: ${JSON.stringify(r.error)}`);
      return r.value;
    };
    const plan = await ok<{ id: string }>('plans.create', { name: 'app', providerId: PROVIDER, resources: [server], parameters: {} });
    const cp = await ok<{ id: string }>('checkpoints.create', { providerId: PROVIDER, planId: plan.id });
    await h.engine.idle();

    let release: () => void = () => undefined;
    t.gate.hold = new Promise((r) => (release = r));
    const url = 'https://keystone.example:5000/v3?project_name=web&project_domain_name=Default&user_domain_name=Default';
    const masked = { type: 'password', username: 'bob', password: '***' };
    const created = await ok<{ id: string; restore_target: string; restore_auth: unknown; status: string }>('restores.create', {
      providerId: PROVIDER,
      checkpointId: cp.id,
      parameters: {},
      restoreTarget: url,
      restoreAuth: { type: 'password', username: 'bob', password: SECRET },
    });
    expect(created).toMatchObject({ restore_target: url, restore_auth: masked, status: 'in_progress' });
    await eventually(async () => t.gate.started, 'restore started');
    // While the restore runs: every read, by the UI and by the Karbor API.
    expect(await ok('restores.get', { id: created.id })).toMatchObject({ restore_target: url, restore_auth: masked });
    const listed = await ok<{ id: string; restore_auth: unknown }[]>('restores.list', { checkpointId: cp.id });
    expect(listed.map((r) => [r.id, r.restore_auth])).toEqual([[created.id, masked]]);
    const rest = await h.api<{ restore: { restore_target: string; restore_auth: unknown } }>('GET', `/restores/${created.id}`);
    expect(rest.body.restore).toMatchObject({ restore_target: url, restore_auth: masked });
    answers.push(rest.text, (await h.api('GET', '/restores')).text);
    expect(databaseBytes(h.dataDir)).not.toContain(SECRET);
    release();
    await h.engine.idle();

    const done = await ok<{ status: string; restore_auth: unknown }>('restores.get', { id: created.id });
    expect(done).toMatchObject({ status: 'success', restore_auth: masked });
    // The plugins, and only they, had the password in clear.
    expect(t.seen).toEqual([
      { url, auth: { type: 'password', username: 'bob', password: SECRET } },
      { url, auth: { type: 'password', username: 'bob', password: SECRET } },
    ]);
    answers.push(JSON.stringify(await ok('logs.list', { operationType: 'restore' })));
    answers.push((await h.api('GET', `/operation_logs?restore_id=${created.id}`)).text);
    for (const a of answers) expect(a).not.toContain(SECRET);
    expect(logged.join('\n')).not.toContain(SECRET);
    expect(databaseBytes(h.dataDir)).not.toContain(SECRET);

    const bad = await invoke('restores.create', {
      providerId: PROVIDER,
      checkpointId: cp.id,
      parameters: {},
      restoreTarget: url,
      restoreAuth: 'bob',
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID' } });
  });
});
