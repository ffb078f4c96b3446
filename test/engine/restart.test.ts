import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src-main/engine';
import { ProviderLoadError } from '../../src-main/engine/providers/registry';
import { createPlan, NOOP, startHarness, tempDir } from '../helpers/harness';

describe('restart on the same data folder', () => {
  it('keeps every object and the token, and repairs a checkpoint left protecting by a crash', async () => {
    const dataDir = tempDir();
    const h1 = await startHarness({ dataDir });
    const plan = await createPlan(h1, 'survives');
    const trig = await h1.api<{ trigger_info: { id: string } }>('POST', '/triggers', {
      trigger_info: { name: 't', type: 'time', properties: { format: 'crontab', pattern: '0 3 * * *' } },
    });
    const op = await h1.api<{ scheduled_operation: { id: string } }>('POST', '/scheduled_operations', {
      scheduled_operation: {
        name: 'nightly',
        operation_type: 'retention_protect',
        trigger_id: trig.body.trigger_info.id,
        operation_definition: { provider_id: NOOP, plan_id: plan.id, max_backups: '3' },
      },
    });
    const cp = await h1.api<{ checkpoint: { id: string } }>('POST', `/providers/${NOOP}/checkpoints`, { checkpoint: { plan_id: plan.id } });
    await h1.engine.idle();
    const token = h1.token;
    const projectId = h1.projectId;
    await h1.close();

    // Simulate a crash in the middle of a protect and of a restore: rows stay "running".
    const db = new Database(path.join(dataDir, 'karbor.sqlite'));
    db.prepare("UPDATE checkpoints SET status = 'protecting' WHERE id = ?").run(cp.body.checkpoint.id);
    db.prepare("UPDATE operation_logs SET status = 'protecting', ended_at = NULL WHERE checkpoint_id = ?").run(cp.body.checkpoint.id);
    db.close();

    const h2 = await startHarness({ dataDir });
    try {
      expect(h2.token).toBe(token);
      expect(h2.projectId).toBe(projectId);
      expect(h2.engine.recovered.checkpoints).toBe(1);
      const p = await h2.api<{ plan: { name: string } }>('GET', `/plans/${plan.id}`);
      expect(p.body.plan.name).toBe('survives');
      const o = await h2.api<{ scheduled_operation: { operation_definition: Record<string, unknown> } }>(
        'GET',
        `/scheduled_operations/${op.body.scheduled_operation.id}`,
      );
      expect(o.body.scheduled_operation.operation_definition.max_backups).toBe(3);
      const c = await h2.api<{ checkpoint: { status: string } }>('GET', `/providers/${NOOP}/checkpoints/${cp.body.checkpoint.id}`);
      expect(c.body.checkpoint.status).toBe('error');
      const logs = await h2.api<{ operation_logs: { status: string; error_info: string | null; ended_at: string | null }[] }>(
        'GET',
        `/operation_logs?checkpoint_id=${cp.body.checkpoint.id}`,
      );
      expect(logs.body.operation_logs).toHaveLength(1);
      expect(logs.body.operation_logs[0]).toMatchObject({ status: 'error' });
      expect(logs.body.operation_logs[0]?.error_info).toMatch(/interrupted/);
      expect(logs.body.operation_logs[0]?.ended_at).not.toBeNull();
    } finally {
      await h2.close();
    }
  });

  it('writes the token file with mode 0600', async () => {
    const h = await startHarness();
    try {
      expect(fs.statSync(path.join(h.dataDir, 'api-token')).mode & 0o777).toBe(0o600);
    } finally {
      await h.close();
    }
  });
});

describe('provider files', () => {
  it('loads a valid providers.d file and refuses to start on an invalid one, naming it', async () => {
    const dataDir = tempDir();
    fs.mkdirSync(path.join(dataDir, 'providers.d'));
    fs.writeFileSync(
      path.join(dataDir, 'providers.d', 'a-noop.json'),
      JSON.stringify({ id: '11111111-2222-3333-4444-555555555555', name: 'Second No-Op', plugins: ['noop'] }),
    );
    const e = createEngine({ dataDir });
    expect(e.providers.list().map((p) => p.definition.name)).toContain('Second No-Op');
    await e.close();

    const bad = path.join(dataDir, 'providers.d', 'b-bad.json');
    fs.writeFileSync(bad, '{"id": "x", ');
    expect(() => createEngine({ dataDir })).toThrow(ProviderLoadError);
    expect(() => createEngine({ dataDir })).toThrow(bad);
    fs.writeFileSync(bad, JSON.stringify({ id: '21111111-2222-3333-4444-555555555555', name: 'X', plugins: ['nope'] }));
    expect(() => createEngine({ dataDir })).toThrow(/b-bad\.json: unknown protection plugin 'nope'/);
  });
});
