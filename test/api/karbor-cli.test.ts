import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIR_TYPE, eventually, NOOP, startHarness, type Harness } from '../helpers/harness';
import { karbor, parseShowTable } from '../helpers/karbor-cli';

/**
 * Drives the real `karbor` CLI (python3-karborclient) against the real server: every command the
 * client offers for the v1 API, checking the values it prints (ids, names, statuses), plus error
 * paths. Steps build on each other (vitest runs a file's tests in order).
 */
type Row = Record<string, string>;

let h: Harness;
let dirA: { id: string; name: string };
let dirB: { id: string; name: string };

/** Runs the CLI, requiring exit 0; returns stdout. */
async function ok(...args: string[]): Promise<string> {
  const r = await karbor(h, args);
  if (r.code !== 0) throw new Error(`karbor ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** Runs the CLI, requiring a non-zero exit; returns everything it printed. */
async function fails(...args: string[]): Promise<string> {
  const r = await karbor(h, args);
  expect(r.code, `karbor ${args.join(' ')} should fail; stdout: ${r.stdout}`).not.toBe(0);
  return `${r.stdout}\n${r.stderr}`;
}

async function show(...args: string[]): Promise<Row> {
  return parseShowTable(await ok(...args));
}

/** Reads a `karbor ...-list` table into rows keyed by column header (multi-line cells joined). */
function parseListTable(out: string): Row[] {
  const lines = out
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.startsWith('|') && l.endsWith('|'));
  const cells = (l: string) =>
    l
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
  const [head, ...body] = lines;
  if (!head) return [];
  const header = cells(head);
  const rows: Row[] = [];
  for (const line of body) {
    const c = cells(line);
    const prev = rows[rows.length - 1];
    if (c[0] === '' && prev) {
      header.forEach((k, i) => {
        if (c[i]) prev[k] = prev[k] ? `${prev[k]}\n${c[i]}` : (c[i] ?? '');
      });
    } else {
      rows.push(Object.fromEntries(header.map((k, i) => [k, c[i] ?? ''])));
    }
  }
  return rows;
}

async function list(...args: string[]): Promise<Row[]> {
  return parseListTable(await ok(...args));
}

const ids = (rows: Row[]) => rows.map((r) => r.Id);
const json = (v: string | undefined): unknown => JSON.parse(v ?? 'null');

function day(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

beforeAll(async () => {
  h = await startHarness();
  const root = path.join(h.dataDir, 'cli-sources');
  for (const n of ['alpha', 'beta']) fs.mkdirSync(path.join(root, n), { recursive: true });
  // The server only knows instances it has listed: list them through the CLI first.
  const rows = await list('protectable-list-instances', DIR_TYPE, '--parameters', `path=${root}`);
  const find = (n: string) => {
    const r = rows.find((x) => x.Name === path.join(root, n));
    if (!r?.Id) throw new Error(`${n} not listed:\n${JSON.stringify(rows)}`);
    return { id: r.Id, name: r.Name ?? '' };
  };
  dirA = find('alpha');
  dirB = find('beta');
  expect(rows.every((r) => r.Type === DIR_TYPE)).toBe(true);
  expect(rows.find((r) => r.Id === dirA.id)?.['Dependent resources']).toBe('[]');
});
afterAll(async () => h?.close());

describe('karbor CLI against the server', () => {
  let planMain: string;
  let planMulti: string;
  let planDoomed: string;
  let cpMain: string;
  let cpMulti: string;
  let restorePlain: string;
  let restoreTarget: string;
  let verification: string;
  let cronTrigger: string;
  let calTrigger: string;
  let soProtect: string;
  let soRetention: string;

  it('provider-list, provider-show, protectable-list, protectable-show, protectable-show-instance', async () => {
    const [providers, provider, protectables, protectable, inst, instWithParams] = await Promise.all([
      list('provider-list'),
      show('provider-show', NOOP),
      list('protectable-list'),
      show('protectable-show', DIR_TYPE),
      show('protectable-show-instance', DIR_TYPE, dirA.id),
      show('protectable-show-instance', DIR_TYPE, dirB.id, '--parameters', `path=${path.dirname(dirB.name)}`),
    ]);
    expect(providers.find((p) => p.Id === NOOP)?.Name).toBe('No-Op Provider');

    expect(provider.id).toBe(NOOP);
    expect(provider.name).toBe('No-Op Provider');
    const schema = json(provider.extended_info_schema) as Record<string, Record<string, unknown>>;
    for (const k of ['options_schema', 'saved_info_schema', 'restore_schema']) expect(schema[k]).toHaveProperty([DIR_TYPE]);

    expect(protectables.map((r) => r['Protectable type'])).toContain(DIR_TYPE);
    expect(protectable.name).toBe(DIR_TYPE);
    expect(json(protectable.dependent_types)).toEqual([]);

    expect(inst).toMatchObject({ id: dirA.id, type: DIR_TYPE, name: dirA.name, dependent_resources: '[]' });
    expect(instWithParams).toMatchObject({ id: dirB.id, type: DIR_TYPE, name: dirB.name });
  });

  it('plan-create (plain, --parameters-json, --parameters), plan-list, plan-show', async () => {
    const [main, multi, doomed] = await Promise.all([
      show(
        'plan-create',
        'cli-main',
        NOOP,
        `${dirA.id}=${DIR_TYPE}=${dirA.name}`,
        '--parameters-json',
        '{}',
        '--description',
        'made by the CLI',
      ),
      show(
        'plan-create',
        'cli-multi',
        NOOP,
        `${dirA.id}=${DIR_TYPE}=${dirA.name},${dirB.id}=${DIR_TYPE}=${dirB.name}={"note": "beta"}`,
        '--parameters-json',
        JSON.stringify({ [DIR_TYPE]: {} }),
      ),
      show(
        'plan-create',
        'cli-doomed',
        NOOP,
        `${dirB.id}=${DIR_TYPE}=${dirB.name}`,
        '--parameters',
        `resource_type=${DIR_TYPE},resource_id=${dirB.id}`,
      ),
    ]);
    planMain = main.id ?? '';
    planMulti = multi.id ?? '';
    planDoomed = doomed.id ?? '';
    expect(main).toMatchObject({
      name: 'cli-main',
      description: 'made by the CLI',
      provider_id: NOOP,
      status: 'suspended',
      project_id: h.projectId,
    });
    expect(json(main.parameters)).toEqual({});
    expect(json(main.resources)).toEqual([{ id: dirA.id, type: DIR_TYPE, name: dirA.name }]);
    expect(json(multi.parameters)).toEqual({ [DIR_TYPE]: {} });
    expect(json(multi.resources)).toEqual([
      { id: dirA.id, type: DIR_TYPE, name: dirA.name },
      { id: dirB.id, type: DIR_TYPE, name: dirB.name, extra_info: { note: 'beta' } },
    ]);
    expect(json(doomed.parameters)).toEqual({ [`${DIR_TYPE}#${dirB.id}`]: {} });

    const [all, byName, sorted, legacySorted, allTenants, tenant, shown] = await Promise.all([
      list('plan-list'),
      list('plan-list', '--name', 'cli-multi'),
      list('plan-list', '--sort', 'name:asc', '--limit', '2'),
      list('plan-list', '--sort_key', 'name', '--sort_dir', 'desc'),
      list('plan-list', '--all-tenants'),
      list('plan-list', '--tenant', h.projectId),
      show('plan-show', planMain),
    ]);
    expect(ids(all).sort()).toEqual([planMain, planMulti, planDoomed].sort());
    expect(all.find((r) => r.Id === planMain)).toMatchObject({
      Name: 'cli-main',
      Description: 'made by the CLI',
      'Provider id': NOOP,
      Status: 'suspended',
    });
    expect(ids(byName)).toEqual([planMulti]);
    expect(sorted.map((r) => r.Name)).toEqual(['cli-doomed', 'cli-main']);
    expect(legacySorted.map((r) => r.Name)).toEqual(['cli-multi', 'cli-main', 'cli-doomed']);
    expect(ids(allTenants).sort()).toEqual(ids(all).sort());
    expect(ids(tenant).sort()).toEqual(ids(all).sort());
    const nextPage = await list('plan-list', '--sort', 'name:asc', '--limit', '2', '--marker', planMain);
    expect(nextPage.map((r) => r.Name)).toEqual(['cli-multi']);
    expect(shown).toMatchObject({ id: planMain, name: 'cli-main', status: 'suspended', provider_id: NOOP });
    expect(json(shown.resources)).toEqual([{ id: dirA.id, type: DIR_TYPE, name: dirA.name }]);
  });

  it('plan-update (name, description, status) and plan-list --status', async () => {
    const renamed = await show('plan-update', planMain, '--name', 'cli-main-renamed', '--description', 'renamed');
    expect(renamed).toMatchObject({ id: planMain, name: 'cli-main-renamed', description: 'renamed', status: 'suspended' });
    const started = await show('plan-update', planMain, '--status', 'started');
    expect(started).toMatchObject({ id: planMain, name: 'cli-main-renamed', status: 'started' });
    const [startedList, suspendedList, shown] = await Promise.all([
      list('plan-list', '--status', 'started'),
      list('plan-list', '--status', 'suspended'),
      show('plan-show', planMain),
    ]);
    expect(ids(startedList)).toEqual([planMain]);
    expect(ids(suspendedList).sort()).toEqual([planMulti, planDoomed].sort());
    expect(shown).toMatchObject({ name: 'cli-main-renamed', description: 'renamed', status: 'started' });
    const back = await show('plan-update', planMulti, '--status', 'started');
    expect(back.status).toBe('started');
    expect((await show('plan-update', planMulti, '--status', 'suspended')).status).toBe('suspended');
  });

  it('checkpoint-create, checkpoint-show (resource graph), checkpoint-list (plan and date filters)', async () => {
    const [a, b] = await Promise.all([
      show('checkpoint-create', NOOP, planMain, '--extra_info', 'note=first', 'by=cli'),
      show('checkpoint-create', NOOP, planMulti),
    ]);
    cpMain = a.id ?? '';
    cpMulti = b.id ?? '';
    expect(a).toMatchObject({ status: 'protecting', project_id: h.projectId });
    expect(a.extra_info).toContain("'note': 'first'");
    expect(a.extra_info).toContain("'by': 'cli'");
    expect(json(a.protection_plan)).toMatchObject({ id: planMain, name: 'cli-main-renamed', provider_id: NOOP });
    expect(json(b.protection_plan)).toMatchObject({ id: planMulti, name: 'cli-multi' });

    for (const id of [cpMain, cpMulti]) {
      await eventually(async () => {
        const r = await h.api<{ checkpoint: { status: string } }>('GET', `/providers/${NOOP}/checkpoints/${id}`);
        return r.body.checkpoint?.status === 'available';
      }, `checkpoint ${id} available`);
    }

    const [showMain, showMulti] = await Promise.all([show('checkpoint-show', NOOP, cpMain), show('checkpoint-show', NOOP, cpMulti)]);
    expect(showMain).toMatchObject({ id: cpMain, status: 'available', project_id: h.projectId });
    expect(json(showMain.protection_plan)).toMatchObject({
      id: planMain,
      provider_id: NOOP,
      resources: [{ id: dirA.id, type: DIR_TYPE, name: dirA.name }],
    });
    // resource_graph: [{serial: [type, id, name, extra_info]}, [[parent, [children]], ...]]
    const [nodesMain, edgesMain] = json(showMain.resource_graph) as [Record<string, unknown[]>, unknown[]];
    expect(Object.values(nodesMain)).toEqual([[DIR_TYPE, dirA.id, dirA.name, {}]]);
    expect(Object.keys(nodesMain)).toEqual(['0x0']);
    expect(edgesMain).toEqual([]);
    const [nodesMulti, edgesMulti] = json(showMulti.resource_graph) as [Record<string, unknown[]>, unknown[]];
    expect(Object.keys(nodesMulti).sort()).toEqual(['0x0', '0x1']);
    const byId = Object.fromEntries(Object.values(nodesMulti).map((n) => [n[1] as string, n]));
    expect(byId[dirA.id]?.slice(0, 3)).toEqual([DIR_TYPE, dirA.id, dirA.name]);
    expect(byId[dirB.id]).toEqual([DIR_TYPE, dirB.id, dirB.name, { note: 'beta' }]);
    expect(edgesMulti).toEqual([]);

    const [all, byPlan, inRange, beforeRange] = await Promise.all([
      list('checkpoint-list', NOOP),
      list('checkpoint-list', NOOP, '--plan_id', planMulti),
      list('checkpoint-list', NOOP, '--plan_id', planMain, '--start_date', day(-1), '--end_date', day(1)),
      list('checkpoint-list', NOOP, '--end_date', '2000-01-01'),
    ]);
    expect(ids(all).sort()).toEqual([cpMain, cpMulti].sort());
    expect(all.find((r) => r.Id === cpMain)).toMatchObject({
      Status: 'available',
      'Project id': h.projectId,
      'Protection plan': `Name: cli-main-renamed\nId: ${planMain}`,
    });
    expect(ids(byPlan)).toEqual([cpMulti]);
    expect(ids(inRange)).toEqual([cpMain]);
    expect(beforeRange).toEqual([]);
  });

  it('checkpoint-reset-state (error, then --available)', async () => {
    expect(await ok('checkpoint-reset-state', NOOP, cpMulti)).toBe('');
    expect((await show('checkpoint-show', NOOP, cpMulti)).status).toBe('error');
    await ok('checkpoint-reset-state', NOOP, cpMulti, '--available');
    expect((await show('checkpoint-show', NOOP, cpMulti)).status).toBe('available');
  });

  it('restore-create, restore-list, restore-show; verification-create, -list, -show', async () => {
    const [plain, target, ver] = await Promise.all([
      show('restore-create', NOOP, cpMain, '--parameters-json', '{}'),
      show(
        'restore-create',
        NOOP,
        cpMulti,
        '--restore_target',
        'http://restore.example',
        '--restore_username',
        'admin',
        '--restore_password',
        's3cret',
        '--parameters',
        `resource_type=${DIR_TYPE}`,
      ),
      show('verification-create', NOOP, cpMain),
    ]);
    restorePlain = plain.id ?? '';
    restoreTarget = target.id ?? '';
    verification = ver.id ?? '';
    expect(plain).toMatchObject({
      provider_id: NOOP,
      checkpoint_id: cpMain,
      status: 'in_progress',
      parameters: '{}',
      restore_target: 'None',
    });
    expect(target).toMatchObject({ provider_id: NOOP, checkpoint_id: cpMulti, restore_target: 'http://restore.example' });
    expect(json(target.parameters)).toEqual({ [DIR_TYPE]: {} });
    expect(target.restore_auth).toContain("'username': 'admin'");
    expect(target.restore_auth).toContain("'password': '***'");
    expect(target.restore_auth).not.toContain('s3cret');
    expect(ver).toMatchObject({ provider_id: NOOP, checkpoint_id: cpMain, status: 'in_progress', project_id: h.projectId });

    await eventually(async () => {
      const [r1, r2, v] = await Promise.all([
        h.api<{ restore: { status: string } }>('GET', `/restores/${restorePlain}`),
        h.api<{ restore: { status: string } }>('GET', `/restores/${restoreTarget}`),
        h.api<{ verification: { status: string } }>('GET', `/verifications/${verification}`),
      ]);
      return r1.body.restore?.status === 'success' && r2.body.restore?.status === 'success' && v.body.verification?.status === 'success';
    }, 'restores and verification to succeed');

    const [restores, successful, failed, shownPlain, shownTarget, verifications, shownVer] = await Promise.all([
      list('restore-list'),
      list('restore-list', '--status', 'success'),
      list('restore-list', '--status', 'fail'),
      show('restore-show', restorePlain),
      show('restore-show', restoreTarget),
      list('verification-list'),
      show('verification-show', verification),
    ]);
    expect(ids(restores).sort()).toEqual([restorePlain, restoreTarget].sort());
    expect(restores.find((r) => r.Id === restoreTarget)).toMatchObject({
      'Project id': h.projectId,
      'Provider id': NOOP,
      'Checkpoint id': cpMulti,
      'Restore target': 'http://restore.example',
      Status: 'success',
    });
    expect(restores.find((r) => r.Id === restorePlain)).toMatchObject({ 'Restore target': '-', Parameters: '{}', Status: 'success' });
    expect(ids(successful).sort()).toEqual([restorePlain, restoreTarget].sort());
    expect(failed).toEqual([]);
    expect(shownPlain).toMatchObject({ id: restorePlain, status: 'success', checkpoint_id: cpMain });
    expect(shownPlain.resources_status).toContain(`'${DIR_TYPE}#${dirA.id}': 'restored'`);
    expect(shownTarget.resources_status).toContain(`'${DIR_TYPE}#${dirA.id}'`);
    expect(shownTarget.resources_status).toContain(`'${DIR_TYPE}#${dirB.id}'`);
    expect(shownTarget.restore_auth).toContain("'password': '***'");

    expect(verifications.map((r) => [r.Id, r['Checkpoint id'], r['Provider id'], r.Status])).toEqual([
      [verification, cpMain, NOOP, 'success'],
    ]);
    expect(shownVer).toMatchObject({ id: verification, status: 'success', checkpoint_id: cpMain, provider_id: NOOP });
    expect(shownVer.resources_status).toContain(`'${DIR_TYPE}#${dirA.id}': 'success'`);
  });

  it('trigger-create (crontab, calendar RRULE), trigger-list, trigger-show, trigger-update', async () => {
    const [cron, cal] = await Promise.all([
      show('trigger-create', 'cli-nightly', 'time', 'format=crontab,pattern=0 3 * * *,window=7200'),
      // As typed in a shell (Karbor's documented form): a literal backslash-n between iCalendar lines.
      show(
        'trigger-create',
        'cli-weekly',
        'time',
        'format=calendar,pattern=BEGIN:VEVENT\\nRRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=4;BYMINUTE=0\\nEND:VEVENT,start_time=2024-01-01 00:00:00',
      ),
    ]);
    cronTrigger = cron.id ?? '';
    calTrigger = cal.id ?? '';
    expect(cron).toMatchObject({ name: 'cli-nightly', type: 'time', project_id: h.projectId });
    expect(json(cron.properties)).toMatchObject({ format: 'crontab', pattern: '0 3 * * *', window: 7200 });
    expect(cal).toMatchObject({ name: 'cli-weekly', type: 'time' });
    const calProps = json(cal.properties) as Record<string, unknown>;
    expect(calProps).toMatchObject({ format: 'calendar', start_time: '2024-01-01 00:00:00' });
    expect(String(calProps.pattern)).toContain('RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=4;BYMINUTE=0');

    const [all, byName, shown] = await Promise.all([
      list('trigger-list'),
      list('trigger-list', '--name', 'cli-weekly', '--type', 'time'),
      show('trigger-show', cronTrigger),
    ]);
    expect(ids(all).sort()).toEqual([cronTrigger, calTrigger].sort());
    const cronRow = all.find((r) => r.Id === cronTrigger);
    expect(cronRow).toMatchObject({ Name: 'cli-nightly', Type: 'time' });
    expect(json(cronRow?.Properties)).toMatchObject({ format: 'crontab', pattern: '0 3 * * *' });
    expect(ids(byName)).toEqual([calTrigger]);
    expect(shown).toMatchObject({ id: cronTrigger, name: 'cli-nightly', type: 'time' });

    const updated = await show(
      'trigger-update',
      cronTrigger,
      '--name',
      'cli-nightly-2',
      '--properties',
      'format=crontab,pattern=30 2 * * *,window=3600',
    );
    expect(updated).toMatchObject({ id: cronTrigger, name: 'cli-nightly-2' });
    expect(json(updated.properties)).toMatchObject({ format: 'crontab', pattern: '30 2 * * *', window: 3600 });
    // Without --properties the client still sends `properties: {}`: the name changes, the schedule stays.
    const renamed = await show('trigger-update', cronTrigger, '--name', 'cli-nightly-3');
    expect(renamed.name).toBe('cli-nightly-3');
    expect(json(renamed.properties)).toMatchObject({ format: 'crontab', pattern: '30 2 * * *' });
    expect((await show('trigger-show', cronTrigger)).name).toBe('cli-nightly-3');
  });

  it('scheduledoperation-create (protect, retention_protect max_backups=2), -list, -show', async () => {
    const [prot, ret] = await Promise.all([
      show('scheduledoperation-create', 'cli-protect', 'protect', cronTrigger, `provider_id=${NOOP},plan_id=${planMain}`),
      show(
        'scheduledoperation-create',
        'cli-retention',
        'retention_protect',
        calTrigger,
        `provider_id=${NOOP},plan_id=${planMain},max_backups=2`,
      ),
    ]);
    soProtect = prot.id ?? '';
    soRetention = ret.id ?? '';
    expect(prot).toMatchObject({
      name: 'cli-protect',
      operation_type: 'protect',
      trigger_id: cronTrigger,
      enabled: 'True',
      project_id: h.projectId,
    });
    expect(json(prot.operation_definition)).toEqual({ provider_id: NOOP, plan_id: planMain });
    expect(ret).toMatchObject({ name: 'cli-retention', operation_type: 'retention_protect', trigger_id: calTrigger });
    const retDef = json(ret.operation_definition) as Record<string, unknown>;
    expect(retDef).toMatchObject({ provider_id: NOOP, plan_id: planMain });
    expect(String(retDef.max_backups)).toBe('2');

    const [all, byType, byTrigger, noMatch, shown] = await Promise.all([
      list('scheduledoperation-list'),
      list('scheduledoperation-list', '--operation_type', 'retention_protect'),
      list('scheduledoperation-list', '--trigger_id', cronTrigger, '--name', 'cli-protect'),
      // Every filter applies, not only the last one.
      list('scheduledoperation-list', '--name', 'cli-protect', '--trigger_id', calTrigger),
      show('scheduledoperation-show', soRetention),
    ]);
    expect(ids(all).sort()).toEqual([soProtect, soRetention].sort());
    expect(all.find((r) => r.Id === soProtect)?.Name).toBe('cli-protect');
    expect(ids(byType)).toEqual([soRetention]);
    expect(ids(byTrigger)).toEqual([soProtect]);
    expect(noMatch).toEqual([]);
    expect(shown).toMatchObject({
      id: soRetention,
      name: 'cli-retention',
      operation_type: 'retention_protect',
      trigger_id: calTrigger,
      enabled: 'True',
    });
    expect(String((json(shown.operation_definition) as Record<string, unknown>).max_backups)).toBe('2');
  });

  it('error paths: unknown plan, trigger in use, bad plan parameters print a clear message and exit non-zero', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const [planShow, inUse, badParams, cpShow] = await Promise.all([
      fails('plan-show', unknown),
      fails('trigger-delete', cronTrigger),
      fails(
        'plan-create',
        'bad',
        NOOP,
        `${dirA.id}=${DIR_TYPE}=${dirA.name}`,
        '--parameters-json',
        JSON.stringify({ [DIR_TYPE]: { nope: 1 } }),
      ),
      fails('checkpoint-show', NOOP, unknown),
    ]);
    expect(planShow).toContain(`Plan ${unknown} could not be found`);
    expect(planShow).toContain('HTTP 404');
    expect(inUse).toContain(`Trigger ${cronTrigger} is being used by scheduled operation ${soProtect}`);
    expect(inUse).toContain('HTTP 424');
    expect(badParams).toMatch(/unknown property 'nope'/);
    expect(badParams).toContain('HTTP 400');
    expect(cpShow).toContain(unknown);
    expect(cpShow).toContain('HTTP 404');
    // Nothing was deleted or created by the failures.
    expect(ids(await list('trigger-list')).sort()).toEqual([cronTrigger, calTrigger].sort());
    expect(ids(await list('plan-list', '--name', 'bad'))).toEqual([]);
  });

  it('scheduledoperation-delete, trigger-delete, plan-delete', async () => {
    expect(await ok('scheduledoperation-delete', soProtect)).toBe('');
    expect(await ok('trigger-delete', cronTrigger)).toBe('');
    expect(await ok('plan-delete', planDoomed)).toBe('');
    const [ops, triggers, plans, goneSo, gonePlan] = await Promise.all([
      list('scheduledoperation-list'),
      list('trigger-list'),
      list('plan-list'),
      fails('scheduledoperation-show', soProtect),
      fails('plan-show', planDoomed),
    ]);
    expect(ids(ops)).toEqual([soRetention]);
    expect(ids(triggers)).toEqual([calTrigger]);
    expect(ids(plans).sort()).toEqual([planMain, planMulti].sort());
    expect(goneSo).toContain('HTTP 404');
    expect(gonePlan).toContain('HTTP 404');
  });

  it('checkpoint-delete', async () => {
    expect(await ok('checkpoint-delete', NOOP, cpMulti)).toBe('');
    await eventually(async () => {
      const r = await h.api<{ checkpoint: { status: string } }>('GET', `/providers/${NOOP}/checkpoints/${cpMulti}`);
      return r.body.checkpoint?.status === 'deleted';
    }, 'checkpoint deleted');
    const [shown, remaining] = await Promise.all([show('checkpoint-show', NOOP, cpMulti), list('checkpoint-list', NOOP)]);
    expect(shown).toMatchObject({ id: cpMulti, status: 'deleted' });
    expect(ids(remaining)).toEqual([cpMain]);
  });

  it('operationlog-list, operationlog-show', async () => {
    const [logs, successful] = await Promise.all([list('operationlog-list'), list('operationlog-list', '--status', 'success')]);
    const of = (type: string) => logs.filter((r) => r['Operation Type'] === type);
    expect(
      of('protect')
        .map((r) => r['Checkpoint id'])
        .sort(),
    ).toEqual([cpMain, cpMulti].sort());
    expect(of('protect').every((r) => r['Provider id'] === NOOP)).toBe(true);
    const restoreRow = of('restore').find((r) => r['Restore Id'] === restorePlain);
    expect(restoreRow).toMatchObject({ 'Checkpoint id': cpMain, 'Plan Id': planMain, Status: 'success' });
    expect(
      of('restore')
        .map((r) => r['Restore Id'])
        .sort(),
    ).toEqual([restorePlain, restoreTarget].sort());
    expect(of('verify').map((r) => r['Checkpoint id'])).toEqual([cpMain]);
    expect(of('delete').map((r) => r['Checkpoint id'])).toEqual([cpMulti]);
    expect(successful.length).toBeGreaterThan(0);
    expect(successful.every((r) => r.Status === 'success')).toBe(true);
    expect(ids(successful)).toContain(restoreRow?.Id);

    const [restoreLog, verifyLog] = await Promise.all([
      show('operationlog-show', restoreRow?.Id ?? ''),
      show('operationlog-show', of('verify')[0]?.Id ?? ''),
    ]);
    expect(restoreLog).toMatchObject({
      id: restoreRow?.Id,
      operation_type: 'restore',
      restore_id: restorePlain,
      checkpoint_id: cpMain,
      plan_id: planMain,
      provider_id: NOOP,
      status: 'success',
      project_id: h.projectId,
    });
    expect(restoreLog.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    expect(restoreLog.ended_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    expect(verifyLog).toMatchObject({ operation_type: 'verify', checkpoint_id: cpMain, status: 'success' });
    expect(verifyLog.extra_info).toContain(verification);
  });

  it('quota-show, quota-defaults, quota-update, quota-class-show, quota-class-update', async () => {
    const p = h.projectId;
    const [quota, detail, defaults, cls] = await Promise.all([
      show('quota-show', '--tenant', p),
      show('quota-show', '--tenant', p, '--detail'),
      show('quota-defaults', '--tenant', p),
      show('quota-class-show', 'default'),
    ]);
    expect(quota).toEqual({ id: p, plans: '50', checkpoints: '-1' });
    expect(detail.id).toBe(p);
    expect(detail.plans?.split('\n')).toEqual(['in_use = 2', 'limit = 50', 'reserved = 0']);
    expect(detail.checkpoints).toContain('limit = -1');
    expect(defaults).toEqual({ id: p, plans: '50', checkpoints: '-1' });
    expect(cls).toEqual({ id: 'default', plans: '50', checkpoints: '-1' });

    const updated = await show('quota-update', p, '--plans', '20');
    expect(updated).toMatchObject({ id: p, plans: '20' });
    const clsUpdated = await show('quota-class-update', 'default', '--plans', '40');
    expect(clsUpdated).toMatchObject({ id: 'default', plans: '40' });
    const [after, defaultsAfter] = await Promise.all([show('quota-show', '--tenant', p), show('quota-defaults', '--tenant', p)]);
    expect(after.plans).toBe('20');
    expect(defaultsAfter.plans).toBe('40');
  });

  it('service-list, service-disable, service-enable', async () => {
    const services = await list('service-list');
    expect(services.map((s) => s.Binary).sort()).toEqual(['karbor-operationengine', 'karbor-protection']);
    expect(services.every((s) => s.Status === 'enabled' && s.State === 'up')).toBe(true);
    const protection = services.find((s) => s.Binary === 'karbor-protection');
    const id = protection?.Id ?? '';
    const disabled = parseListTable(await ok('service-disable', id, '--reason', 'maintenance'));
    expect(disabled).toEqual([
      expect.objectContaining({ Id: id, Binary: 'karbor-protection', Status: 'disabled', 'Disabled Reason': 'maintenance' }),
    ]);
    const byBinary = await list('service-list', '--binary', 'karbor-protection');
    expect(byBinary).toEqual([expect.objectContaining({ Id: id, Status: 'disabled' })]);
    const enabled = parseListTable(await ok('service-enable', id));
    expect(enabled).toEqual([expect.objectContaining({ Id: id, Status: 'enabled', 'Disabled Reason': '-' })]);
  });
});
