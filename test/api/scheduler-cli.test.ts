import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPlan, NOOP, startHarness, type Harness } from '../helpers/harness';
import { karbor, parseShowTable } from '../helpers/karbor-cli';

/**
 * Real time, real timers: a trigger every 2 seconds (the minimum interval lowered by config)
 * drives a retention_protect operation created with the real `karbor` CLI.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ timeModel: { minIntervalSeconds: 1, minWindowSeconds: 1 } });
});
afterAll(async () => h.close());

it('fires on time, keeps max_backups=2, and logs every run', async () => {
  const plan = await createPlan(h, 'every-2s');
  const trig = await karbor(h, ['trigger-create', 'fast', 'time', 'format=crontab,pattern=*/2 * * * * *,window=5']);
  expect(trig.code, trig.stderr).toBe(0);
  const triggerId = parseShowTable(trig.stdout).id as string;
  expect(triggerId).toMatch(/^[0-9a-f-]{36}$/);
  const op = await karbor(h, [
    'scheduledoperation-create',
    'keep-two',
    'retention_protect',
    triggerId,
    `provider_id=${NOOP},plan_id=${plan.id},max_backups=2`,
  ]);
  const created = Date.now();
  expect(op.code, op.stderr).toBe(0);
  const opId = parseShowTable(op.stdout).id as string;

  await new Promise((r) => setTimeout(r, 9_000));
  const del = await karbor(h, ['scheduledoperation-delete', opId]);
  const deleted = Date.now();
  expect(del.code, del.stderr).toBe(0);
  await h.engine.scheduler.idle();
  await h.engine.idle();

  const logs = await h.api<{ operation_logs: { operation_type: string; status: string; checkpoint_id: string | null }[] }>(
    'GET',
    `/operation_logs?scheduled_operation_id=${opId}&limit=1000`,
  );
  const protects = logs.body.operation_logs.filter((l) => l.operation_type === 'protect' && l.status === 'available');
  // One run every 2 s while the operation existed (9 s plus however long the CLI took on a busy
  // machine), never a burst.
  expect(protects.length).toBeGreaterThanOrEqual(3);
  expect(protects.length).toBeLessThanOrEqual(Math.floor((deleted - created) / 2000) + 1);
  expect(logs.body.operation_logs.filter((l) => l.operation_type === 'retention' && l.status === 'success').length).toBe(protects.length);

  const list = await karbor(h, ['checkpoint-list', NOOP]);
  expect(list.code, list.stderr).toBe(0);
  const available = list.stdout.split('\n').filter((l) => l.includes('| available |'));
  expect(available).toHaveLength(2);
  const cli = await karbor(h, ['operationlog-list']);
  expect(cli.code, cli.stderr).toBe(0);
  expect(cli.stdout).toContain('retention');
});
