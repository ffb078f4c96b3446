import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Caller, type Engine } from '../../src-main/engine';
import type { JsonObject } from '../../src-main/engine/db/schema/common';
import type { CheckpointProgress } from '../../src-main/engine/protection/progress';
import type { ProtectablePlugin, Resource } from '../../src-main/engine/protectables/types';
import type { ProtectionPlugin } from '../../src-main/engine/providers/types';
import { eventually, tempDir } from '../helpers/harness';

const caller: Caller = { projectId: 'p1', isAdmin: false };
const PROVIDER = '0c3c1b7e-0000-4000-8000-000000000001';
const server: Resource = { type: 'Test::Server', id: randomUUID(), name: 'app' };
const disk1: Resource = { type: 'Test::Disk', id: randomUUID(), name: 'disk1' };
const disk2: Resource = { type: 'Test::Disk', id: randomUUID(), name: 'disk2' };

const protectables: ProtectablePlugin[] = ['Test::Server', 'Test::Disk'].map((type) => ({
  type,
  dependentTypes: type === 'Test::Server' ? ['Test::Disk'] : [],
  listInstances: () => Promise.resolve([]),
  showInstance: () => Promise.resolve(undefined),
  dependents: (_c, r) => Promise.resolve(r.id === server.id ? [disk1, disk2] : []),
}));

/** A protection plugin that records what the runner asked of it. */
function recordingPlugin() {
  const events: string[] = [];
  const seenPrevious: (JsonObject | undefined)[] = [];
  const control = {
    failOn: '' as string,
    hold: undefined as Promise<void> | undefined,
    verifyFail: '',
    /** Ids a resource's restore reports for further resources it created, by resource name. */
    alsoRestored: {} as Record<string, Record<string, string>>,
  };
  const plugin: ProtectionPlugin = {
    name: 'recording',
    supportedTypes: ['Test::Server', 'Test::Disk'],
    schemas: () => ({
      options: { type: 'object', properties: { level: { type: 'integer' } } },
      savedInfo: { type: 'object' },
      restore: { type: 'object', properties: { restore_name: { type: 'string' } } },
    }),
    protect: {
      prepare: async (c) => void events.push(`prepare ${c.resource.name}`),
      main: async (c) => {
        events.push(`main ${c.resource.name} level=${JSON.stringify(c.parameters.level) ?? 'undefined'}`);
        if (c.resource.type === 'Test::Server') seenPrevious.push(c.previous);
        c.progress({ bytes: 1000, items: 1, totalBytes: 1000, totalItems: 1 });
        if (control.hold) await control.hold;
        c.signal.throwIfAborted();
        if (c.resource.name === control.failOn) throw new Error(`${c.resource.name} is unreadable`);
        return { size: 1000, at: c.checkpointId };
      },
      complete: async (c) => void events.push(`complete ${c.resource.name}`),
    },
    restore: async (c) => {
      events.push(
        `restore ${c.resource.name} knows ${[...c.restoredIds.keys()].length} name=${typeof c.parameters.restore_name === 'string' ? c.parameters.restore_name : 'undefined'}`,
      );
      return { newId: `new-${c.resource.name}`, restoredIds: control.alsoRestored[c.resource.name] };
    },
    verify: async (c) => {
      if (c.resource.name === control.verifyFail) throw new Error(`chunk of ${c.resource.name} does not match its hash`);
    },
    delete: async (c) => void events.push(`delete ${c.resource.name} size=${JSON.stringify(c.savedInfo.size)}`),
  };
  return { plugin, events, seenPrevious, control };
}

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

function setup() {
  const rec = recordingPlugin();
  const e = createEngine({
    dataDir: tempDir(),
    protectables,
    protectionPlugins: [rec.plugin],
    providers: [{ id: PROVIDER, name: 'Recording', plugins: ['recording'] }],
    scheduler: false,
  });
  engines.push(e);
  const plan = e.plans.create(caller, {
    name: 'app',
    provider_id: PROVIDER,
    resources: [server],
    parameters: { 'Test::Disk': { level: 1 }, [`Test::Disk#${disk2.id}`]: { level: 9 } },
  });
  return { e, plan, ...rec };
}

async function protect(e: Engine, planId: string) {
  const cp = e.checkpoints.create(caller, PROVIDER, planId);
  await e.idle();
  return e.checkpoints.get(caller, PROVIDER, cp.id);
}

describe('protection runner', () => {
  it('runs prepare → main → complete with a parent completing after its children', async () => {
    const { e, plan, events } = setup();
    const progress: CheckpointProgress[] = [];
    e.events.on('checkpoint.progress', (p) => progress.push(p));
    const cp = await protect(e, plan.id);
    expect(cp.status).toBe('available');
    expect(events).toContain('main disk1 level=1');
    expect(events).toContain('main disk2 level=9');
    const parentComplete = events.indexOf('complete app');
    expect(parentComplete).toBeGreaterThan(events.indexOf('complete disk1'));
    expect(parentComplete).toBeGreaterThan(events.indexOf('complete disk2'));
    for (const r of ['app', 'disk1', 'disk2'])
      expect(events.indexOf(`prepare ${r}`)).toBeLessThan(
        events.indexOf(`main ${r} level=${r === 'app' ? 'undefined' : r === 'disk1' ? '1' : '9'}`),
      );
    const rows = e.checkpoints.resources(caller, PROVIDER, cp.id);
    expect(rows.map((r) => [r.name, r.status, r.bytes]).sort()).toEqual([
      ['app', 'available', 1000],
      ['disk1', 'available', 1000],
      ['disk2', 'available', 1000],
    ]);
    expect(progress.at(-1)).toMatchObject({ checkpointId: cp.id, bytesDone: 3000, bytesTotal: 3000, itemsDone: 3, itemsTotal: 3 });
  });

  it('hands each resource the saved info of the previous checkpoint', async () => {
    const { e, plan, seenPrevious } = setup();
    const first = await protect(e, plan.id);
    await protect(e, plan.id);
    expect(seenPrevious[0]).toBeUndefined();
    expect(seenPrevious[1]).toEqual({ size: 1000, at: first.id });
  });

  it('ends in error naming the failed resource, its parent failing with it', async () => {
    const { e, plan, control } = setup();
    control.failOn = 'disk2';
    const cp = await protect(e, plan.id);
    expect(cp.status).toBe('error');
    const log = e.operationLogs.list(caller, { checkpoint_id: cp.id })[0];
    expect(log?.error_info).toContain(`Test::Disk#${disk2.id} (disk2): disk2 is unreadable`);
    expect(log?.error_info).toContain('(app): a resource it depends on failed');
    const rows = Object.fromEntries(e.checkpoints.resources(caller, PROVIDER, cp.id).map((r) => [r.name, r.status]));
    expect(rows).toEqual({ app: 'error', disk1: 'available', disk2: 'error' });
  });

  it('a failed checkpoint undoes every resource whose main finished, a parent whose child failed too', async () => {
    const { e, plan, events, control } = setup();
    control.failOn = 'disk2';
    const cp = await protect(e, plan.id);
    expect(cp.status).toBe('error');
    expect(events.filter((x) => x.startsWith('delete')).sort()).toEqual(['delete app size=1000', 'delete disk1 size=1000']);
  });

  it('a restore may report new ids of further resources it created; later resources see them', async () => {
    const { e, plan, events, control } = setup();
    const cp = await protect(e, plan.id);
    control.alsoRestored = { disk1: { [`Test::Disk#${disk2.id}`]: 'made-by-disk1', 'Test::Extra#x': 'new-x' } };
    const r = e.restores.create(caller, { provider_id: PROVIDER, checkpoint_id: cp.id, parameters: {} });
    await e.idle();
    expect(e.restores.get(caller, r.id).status).toBe('success');
    expect(events.filter((x) => x.startsWith('restore'))).toEqual([
      'restore disk1 knows 0 name=undefined',
      'restore disk2 knows 3 name=undefined',
      'restore app knows 3 name=undefined',
    ]);
  });

  it('cancels a running protect', async () => {
    const { e, plan, control } = setup();
    let release: () => void = () => undefined;
    control.hold = new Promise((r) => (release = r));
    const cp = e.checkpoints.create(caller, PROVIDER, plan.id);
    await eventually(async () => e.checkpoints.resources(caller, PROVIDER, cp.id).length > 0, 'protect started');
    e.checkpoints.cancel(caller, PROVIDER, cp.id);
    release();
    await e.idle();
    const done = e.checkpoints.get(caller, PROVIDER, cp.id);
    expect(done.status).toBe('error');
    expect(e.operationLogs.list(caller, { checkpoint_id: cp.id })[0]?.error_info).toBe('cancelled by the user');
    expect(() => e.checkpoints.cancel(caller, PROVIDER, cp.id)).toThrow(/only a running protect/);
  });

  it('restores children first with their new ids, verifies per resource, deletes with saved info', async () => {
    const { e, plan, events, control } = setup();
    const cp = await protect(e, plan.id);
    const r = e.restores.create(caller, {
      provider_id: PROVIDER,
      checkpoint_id: cp.id,
      parameters: { 'Test::Server': { restore_name: 'app2' } },
    });
    await e.idle();
    const restored = e.restores.get(caller, r.id);
    expect(restored.status).toBe('success');
    expect(Object.values(restored.resources_status)).toEqual(['restored', 'restored', 'restored']);
    expect(events.filter((x) => x.startsWith('restore'))).toEqual([
      'restore disk1 knows 0 name=undefined',
      'restore disk2 knows 1 name=undefined',
      'restore app knows 2 name=app2',
    ]);
    control.verifyFail = 'disk1';
    const v = e.verifications.create(caller, { provider_id: PROVIDER, checkpoint_id: cp.id, parameters: {} });
    await e.idle();
    const verified = e.verifications.get(caller, v.id);
    expect(verified.status).toBe('fail');
    expect(verified.resources_reason).toEqual({ [`Test::Disk#${disk1.id}`]: 'chunk of disk1 does not match its hash' });
    e.checkpoints.delete(caller, PROVIDER, cp.id);
    await e.idle();
    expect(events.filter((x) => x.startsWith('delete')).sort()).toEqual([
      'delete app size=1000',
      'delete disk1 size=1000',
      'delete disk2 size=1000',
    ]);
  });
});
