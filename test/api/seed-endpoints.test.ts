import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, NOOP, startHarness, type Harness } from '../helpers/harness';

/**
 * Every endpoint of the seed API document (`karbor-api.md`): the seed's request example with
 * ids adapted, and the response checked against the seed's response shape.
 */
type Obj = Record<string, unknown>;

const PLAN_KEYS = ['id', 'name', 'resources', 'status', 'provider_id', 'parameters'];
const CHECKPOINT_KEYS = ['id', 'project_id', 'status', 'protection_plan', 'resource_graph'];
const RESTORE_KEYS = ['id', 'project_id', 'provider_id', 'checkpoint_id', 'restore_target', 'parameters', 'status'];
const TRIGGER_KEYS = ['id', 'name', 'type', 'properties'];
const OPERATION_KEYS = ['id', 'name', 'description', 'operation_type', 'trigger_id', 'operation_definition', 'enabled'];
const LOG_KEYS = [
  'id',
  'status',
  'provider_id',
  'restore_id',
  'checkpoint_id',
  'error_info',
  'ended_at',
  'started_at',
  'extra_info',
  'plan_id',
  'scheduled_operation_id',
  'operation_type',
];

function expectKeys(obj: unknown, keys: string[]): void {
  expect(obj).toBeTypeOf('object');
  for (const k of keys) expect(obj, `missing ${k}`).toHaveProperty(k);
}

let h: Harness;
let resources: { id: string; type: string; name: string; extra_info?: Obj }[];
let planId: string;
let checkpointId: string;
let triggerId: string;

beforeAll(async () => {
  h = await startHarness();
  const a = await h.directory('app-server');
  const b = await h.directory('data-volume');
  resources = [a, { ...b, extra_info: { availability_zone: 'az1' } }];
});
afterAll(async () => h.close());

describe('Protection Provider', () => {
  it('GET /providers lists providers with extended_info_schema', async () => {
    const r = await h.api<{ providers: Obj[] }>('GET', '/providers');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
    const noop = r.body.providers.find((p) => p.id === NOOP);
    expectKeys(noop, ['id', 'name', 'description', 'extended_info_schema']);
    expectKeys(noop?.extended_info_schema, ['options_schema', 'saved_info_schema', 'restore_schema']);
    expect((noop?.extended_info_schema as Obj).options_schema).toHaveProperty(['Local::FS::Directory']);
  });
  it('GET /providers/{id}', async () => {
    const r = await h.api<{ provider: Obj }>('GET', `/providers/${NOOP}`);
    expect(r.status).toBe(200);
    expect(r.body.provider.name).toBe('No-Op Provider');
  });
});

describe('Plan', () => {
  it('POST /plans creates a suspended plan', async () => {
    const r = await h.api<{ plan: Obj & { id: string } }>('POST', '/plans', {
      plan: {
        name: 'My 3 tier application',
        resources,
        provider_id: NOOP,
        parameters: { 'Local::FS::Directory': {}, [`Local::FS::Directory#${resources[0]?.id}`]: {} },
      },
    });
    expect(r.status).toBe(200);
    expectKeys(r.body.plan, PLAN_KEYS);
    expect(r.body.plan.status).toBe('suspended');
    expect(r.body.plan.resources).toEqual(resources);
    planId = r.body.plan.id;
  });
  it('GET /plans lists it', async () => {
    const r = await h.api<{ plans: Obj[] }>('GET', '/plans');
    expect(r.status).toBe(200);
    expect(r.body.plans.map((p) => p.id)).toContain(planId);
    expectKeys(r.body.plans[0], PLAN_KEYS);
    expect(r.body).toHaveProperty('plans_links');
  });
  it('GET /plans/{id}', async () => {
    const r = await h.api<{ plan: Obj }>('GET', `/plans/${planId}`);
    expect(r.body.plan.name).toBe('My 3 tier application');
  });
  it('PUT /plans/{id} starts it', async () => {
    const r = await h.api<{ plan: Obj }>('PUT', `/plans/${planId}`, { plan: { status: 'started' } });
    expect(r.status).toBe(200);
    expect(r.body.plan.status).toBe('started');
  });
});

describe('Protectable', () => {
  it('GET /protectables', async () => {
    const r = await h.api<{ protectable_type: string[] }>('GET', '/protectables');
    expect(r.body.protectable_type).toContain('Local::FS::Directory');
  });
  it('GET /protectables/{type}', async () => {
    const r = await h.api<{ protectable_type: Obj }>('GET', '/protectables/Local::FS::Directory');
    expect(r.body.protectable_type).toEqual({ name: 'Local::FS::Directory', dependent_types: [] });
  });
  it('GET /protectables/{type}/instances with a Python-literal parameters dict', async () => {
    const parent = resources[0]?.name.replace(/\/[^/]+$/, '');
    const q = encodeURIComponent(`{'path': '${parent}'}`);
    const r = await h.api<{ instances: Obj[] }>('GET', `/protectables/Local::FS::Directory/instances?parameters=${q}`);
    expect(r.status).toBe(200);
    const names = r.body.instances.map((i) => i.name);
    expect(names).toContain(resources[0]?.name);
    expectKeys(r.body.instances[0], ['id', 'type', 'name', 'dependent_resources']);
    expect(r.body).toHaveProperty('instances_links');
  });
  it('GET /protectables/{type}/instances/{id}', async () => {
    const r = await h.api<{ instance: Obj }>('GET', `/protectables/Local::FS::Directory/instances/${resources[0]?.id}`);
    expect(r.status).toBe(200);
    expect(r.body.instance).toMatchObject({ id: resources[0]?.id, type: 'Local::FS::Directory', dependent_resources: [] });
  });
});

describe('Checkpoint', () => {
  it('POST /providers/{id}/checkpoints returns protecting, then available with a graph', async () => {
    const r = await h.api<{ checkpoint: Obj & { id: string } }>('POST', `/providers/${NOOP}/checkpoints`, {
      checkpoint: { plan_id: planId, extra_info: { 'create-by': 'operation-engine' } },
    });
    expect(r.status).toBe(200);
    expectKeys(r.body.checkpoint, CHECKPOINT_KEYS);
    expect(r.body.checkpoint.status).toBe('protecting');
    checkpointId = r.body.checkpoint.id;
    const done = await eventually(async () => {
      const s = await h.api<{ checkpoint: Obj }>('GET', `/providers/${NOOP}/checkpoints/${checkpointId}`);
      return s.body.checkpoint.status === 'available' && s.body.checkpoint;
    }, 'checkpoint available');
    expect(done.extra_info).toEqual({ 'create-by': 'operation-engine' });
    const graph = JSON.parse(done.resource_graph as string) as [Record<string, unknown[]>, unknown[]];
    expect(
      Object.values(graph[0])
        .map((n) => n[1])
        .sort(),
    ).toEqual(resources.map((x) => x.id).sort());
  });
  it('GET /providers/{id}/checkpoints', async () => {
    const r = await h.api<{ checkpoints: Obj[] }>('GET', `/providers/${NOOP}/checkpoints`);
    expect(r.body.checkpoints.map((c) => c.id)).toContain(checkpointId);
    expectKeys(r.body.checkpoints[0], CHECKPOINT_KEYS);
    expect((r.body.checkpoints[0]?.protection_plan as Obj).id).toBe(planId);
  });
});

describe('Restores', () => {
  it('POST /restores masks the password and ends in success', async () => {
    const r = await h.api<{ restore: Obj & { id: string } }>('POST', '/restores', {
      restore: {
        provider_id: NOOP,
        checkpoint_id: checkpointId,
        restore_target: 'http://127.0.0.1/identity/',
        restore_auth: { type: 'password', username: 'admin', password: 'secretadmin' },
        parameters: { 'Local::FS::Directory': {} },
      },
    });
    expect(r.status).toBe(200);
    expectKeys(r.body.restore, RESTORE_KEYS);
    expect(r.body.restore.status).toBe('in_progress');
    expect(r.text).not.toContain('secretadmin');
    expect(r.body.restore.restore_auth).toEqual({ type: 'password', username: 'admin', password: '***' });
    const id = r.body.restore.id;
    const done = await eventually(async () => {
      const s = await h.api<{ restore: Obj }>('GET', `/restores/${id}`);
      return s.body.restore.status !== 'in_progress' && s.body.restore;
    }, 'restore done');
    expect(done.status).toBe('success');
    expect(Object.keys(done.resources_status as Obj).sort()).toEqual(resources.map((x) => `${x.type}#${x.id}`).sort());
    const list = await h.api<{ restores: Obj[] }>('GET', '/restores');
    expect(list.body.restores.map((x) => x.id)).toContain(id);
    expect(list.text).not.toContain('secretadmin');
  });
});

describe('Trigger and Scheduled Operation', () => {
  it('POST /triggers with the seed properties (window as a string)', async () => {
    const r = await h.api<{ trigger_info: Obj & { id: string } }>('POST', '/triggers', {
      trigger_info: {
        name: 'My backup trigger',
        type: 'time',
        properties: { format: 'crontab', pattern: '0 9 * * *', start_time: '2015-12-17T08:30:00', window: '3600' },
      },
    });
    expect(r.status).toBe(200);
    expectKeys(r.body.trigger_info, TRIGGER_KEYS);
    expect(r.body.trigger_info.properties).toMatchObject({ format: 'crontab', pattern: '0 9 * * *', window: 3600 });
    triggerId = r.body.trigger_info.id;
  });
  it('PUT, GET and list /triggers', async () => {
    const u = await h.api<{ trigger_info: Obj }>('PUT', `/triggers/${triggerId}`, {
      trigger_info: { properties: { format: 'crontab', pattern: '0 10 * * *', start_time: '2015-12-17 08:30:00', window: 3600 } },
    });
    expect((u.body.trigger_info.properties as Obj).pattern).toBe('0 10 * * *');
    const g = await h.api<{ trigger_info: Obj }>('GET', `/triggers/${triggerId}`);
    expect(g.body.trigger_info.name).toBe('My backup trigger');
    const l = await h.api<{ triggers: Obj[] }>('GET', '/triggers');
    expect(l.body.triggers.map((t) => t.id)).toContain(triggerId);
  });
  it('scheduled operations: create, show, list, delete; then the trigger deletes', async () => {
    const c = await h.api<{ scheduled_operation: Obj & { id: string } }>('POST', '/scheduled_operations', {
      scheduled_operation: {
        name: 'My scheduled operation',
        description: 'It will run everyday',
        operation_type: 'protect',
        trigger_id: triggerId,
        operation_definition: { provider_id: NOOP, plan_id: planId },
      },
    });
    expect(c.status).toBe(200);
    expectKeys(c.body.scheduled_operation, OPERATION_KEYS);
    expect(c.body.scheduled_operation.enabled).toBe(true);
    const id = c.body.scheduled_operation.id;
    const s = await h.api<{ scheduled_operation: Obj }>('GET', `/scheduled_operations/${id}`);
    expect(s.body.scheduled_operation.trigger_id).toBe(triggerId);
    const l = await h.api<{ operations: Obj[] }>('GET', '/scheduled_operations');
    expect(l.body.operations.map((o) => o.id)).toContain(id);
    const inUse = await h.api('DELETE', `/triggers/${triggerId}`);
    expect(inUse.status).toBe(424);
    const d = await h.api('DELETE', `/scheduled_operations/${id}`);
    expect(d.status).toBe(200);
    expect(d.text).toBe('');
    const dt = await h.api('DELETE', `/triggers/${triggerId}`);
    expect(dt.status).toBe(200);
    expect((await h.api('GET', `/triggers/${triggerId}`)).status).toBe(404);
  });
});

describe('Operation logs, verifications, checkpoint delete, plan delete', () => {
  it('GET /operation_logs has protect and restore entries with their real types', async () => {
    const r = await h.api<{ operation_logs: Obj[] }>('GET', `/operation_logs?checkpoint_id=${checkpointId}`);
    expect(r.status).toBe(200);
    const types = r.body.operation_logs.map((l) => l.operation_type).sort();
    expect(types).toEqual(['protect', 'restore']);
    for (const l of r.body.operation_logs) expectKeys(l, LOG_KEYS);
    const protect = r.body.operation_logs.find((l) => l.operation_type === 'protect');
    expect(protect?.status).toBe('available');
    const one = await h.api<{ operation_log: Obj }>('GET', `/operation_logs/${protect?.id as string}`);
    expect(one.body.operation_log.plan_id).toBe(planId);
  });
  it('POST /verifications succeeds per resource', async () => {
    const r = await h.api<{ verification: Obj & { id: string } }>('POST', '/verifications', {
      verification: { provider_id: NOOP, checkpoint_id: checkpointId, parameters: {} },
    });
    expect(r.status).toBe(200);
    const done = await eventually(async () => {
      const s = await h.api<{ verification: Obj }>('GET', `/verifications/${r.body.verification.id}`);
      return s.body.verification.status !== 'in_progress' && s.body.verification;
    }, 'verification done');
    expect(done.status).toBe('success');
  });
  it('DELETE checkpoint: {} then deleting → deleted, readable by id, gone from lists', async () => {
    const r = await h.api('DELETE', `/providers/${NOOP}/checkpoints/${checkpointId}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({});
    await eventually(async () => {
      const s = await h.api<{ checkpoint: Obj }>('GET', `/providers/${NOOP}/checkpoints/${checkpointId}`);
      return s.body.checkpoint.status === 'deleted';
    }, 'checkpoint deleted');
    const l = await h.api<{ checkpoints: Obj[] }>('GET', `/providers/${NOOP}/checkpoints`);
    expect(l.body.checkpoints.map((c) => c.id)).not.toContain(checkpointId);
    const logs = await h.api<{ operation_logs: Obj[] }>('GET', `/operation_logs?checkpoint_id=${checkpointId}&operation_type=delete`);
    expect(logs.body.operation_logs.map((x) => x.status)).toEqual(['deleted']);
  });
  it('PUT checkpoint os-resetState', async () => {
    const c = await h.api<{ checkpoint: { id: string } }>('POST', `/providers/${NOOP}/checkpoints`, { checkpoint: { plan_id: planId } });
    const id = c.body.checkpoint.id;
    await h.engine.idle();
    const r = await h.api('PUT', `/providers/${NOOP}/checkpoints/${id}`, { 'os-resetState': { state: 'error' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({});
    const s = await h.api<{ checkpoint: Obj }>('GET', `/providers/${NOOP}/checkpoints/${id}`);
    expect(s.body.checkpoint.status).toBe('error');
  });
  it('DELETE /plans/{id} answers an empty 200', async () => {
    const r = await h.api('DELETE', `/plans/${planId}`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect((await h.api('GET', `/plans/${planId}`)).status).toBe(404);
  });
});

describe('Versions, quotas, quota classes, services', () => {
  it('GET / lists v1.0 without a token', async () => {
    const r = await h.api<{ versions: Obj[] }>('GET', '/', undefined, { token: null, absolute: true });
    expect(r.status).toBe(200);
    expect(r.body.versions[0]).toMatchObject({ id: 'v1.0', status: 'CURRENT' });
  });
  it('quotas: show, defaults, detail, update', async () => {
    const p = h.projectId;
    const s = await h.api<{ quota: Obj }>('GET', `/quotas/${p}`);
    expect(s.body.quota).toEqual({ id: p, plans: 50, checkpoints: -1 });
    const u = await h.api<{ quota: Obj }>('PUT', `/quotas/${p}`, { quota: { plans: 60 } });
    expect(u.body.quota.plans).toBe(60);
    const d = await h.api<{ quota: Obj }>('GET', `/quotas/${p}/defaults`);
    expect(d.body.quota.plans).toBe(50);
    const det = await h.api<{ quota: Obj }>('GET', `/quotas/${p}/detail`);
    expect(det.body.quota.plans).toMatchObject({ limit: 60, in_use: 0 });
  });
  it('quota classes: show, update', async () => {
    const u = await h.api<{ quota_class: Obj }>('PUT', '/quota_classes/default', { quota_class: { checkpoints: 500 } });
    expect(u.body.quota_class).toMatchObject({ id: 'default', checkpoints: 500 });
    const s = await h.api<{ quota_class: Obj }>('GET', '/quota_classes/default');
    expect(s.body.quota_class.checkpoints).toBe(500);
  });
  it('os-services: list and disable', async () => {
    const l = await h.api<{ services: Obj[] }>('GET', '/os-services');
    expect(l.body.services.map((s) => s.binary).sort()).toEqual(['karbor-operationengine', 'karbor-protection']);
    const id = l.body.services[0]?.id as number;
    const u = await h.api<{ service: Obj }>('PUT', `/os-services/${id}`, { status: 'disabled', disabled_reason: 'maintenance' });
    expect(u.body.service).toMatchObject({ status: 'disabled', disabled_reason: 'maintenance' });
  });
});
