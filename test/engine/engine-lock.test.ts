/**
 * One engine per data folder: a second app or `serve` on the same folder would run the scheduler
 * twice and, at its start, "repair" the first one's running operations. The lock names the holder;
 * a crashed holder's lock is taken over; tools attach beside the running engine without repairing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src-main/engine';
import { ENGINE_LOCK, EngineLocked } from '../../src-main/engine/engine-lock';
import { createPlan, NOOP, startHarness, tempDir } from '../helpers/harness';

const LIB = path.resolve(__dirname, '..', '..', 'out', 'main', 'engine.js');
const open: Engine[] = [];
const children: ChildProcess[] = [];

function engine(dataDir: string, attach = false): Engine {
  const e = createEngine({ dataDir, scheduler: false, attach });
  open.push(e);
  return e;
}

/** Another process with an engine open on `dataDir` until it is killed. */
async function otherEngine(dataDir: string): Promise<ChildProcess> {
  const script = `
    const { createEngine } = require(${JSON.stringify(LIB)});
    createEngine({ dataDir: ${JSON.stringify(dataDir)}, scheduler: false });
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`engine child exited with ${code}`)));
  });
  return child;
}

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const e of open.splice(0)) await e.close();
});

describe('the data folder lock', () => {
  it('a second engine on the folder fails naming the first; after it closes the folder opens again', async () => {
    const dir = tempDir('karbor-lock-');
    const first = engine(dir);
    expect(() => createEngine({ dataDir: dir, scheduler: false })).toThrow(EngineLocked);
    expect(() => createEngine({ dataDir: dir, scheduler: false })).toThrow(`pid ${process.pid}`);
    await first.close();
    open.splice(0);
    expect(fs.existsSync(path.join(dir, ENGINE_LOCK))).toBe(false);
    engine(dir);
  });

  it("another process's engine keeps the folder; once that process is killed, its lock is taken over", async () => {
    const dir = tempDir('karbor-lock-');
    const child = await otherEngine(dir);
    expect(() => createEngine({ dataDir: dir, scheduler: false })).toThrow(`in use by another Karbor engine (pid ${child.pid}`);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const e = engine(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, ENGINE_LOCK), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(e.dataDir).toBe(dir);
  });

  it('a lock cut short by a crash, or left by a process that is gone, does not keep the folder', () => {
    const dir = tempDir('karbor-lock-');
    fs.writeFileSync(path.join(dir, ENGINE_LOCK), '{"pid": 12');
    const e = engine(dir);
    open.pop();
    void e.close();
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(path.join(dir, ENGINE_LOCK), JSON.stringify({ pid: gone, host: os.hostname(), since: 'then' }));
    engine(dir);
  });

  it('a lock of another host is respected and named, with what to do', () => {
    const dir = tempDir('karbor-lock-');
    fs.writeFileSync(path.join(dir, ENGINE_LOCK), JSON.stringify({ pid: 1, host: 'other-host', since: 'then' }));
    expect(() => createEngine({ dataDir: dir, scheduler: false })).toThrow(/in use by an engine on other-host .*delete .*engine\.lock/);
  });

  it('a tool attaches beside the running engine without repairing its running operations', async () => {
    const dir = tempDir('karbor-lock-');
    const h = await startHarness({ dataDir: dir });
    const running = h.engine;
    const plan = await createPlan(h);
    const cp = await h.api<{ checkpoint: { id: string } }>('POST', `/providers/${NOOP}/checkpoints`, { checkpoint: { plan_id: plan.id } });
    expect(cp.status, cp.text).toBe(200);
    await running.idle();
    // As if its protect were still running.
    running.db.$client.prepare("UPDATE checkpoints SET status = 'protecting' WHERE id = ?").run(cp.body.checkpoint.id);
    const tool = engine(dir, true);
    expect(tool.recovered).toEqual({});
    await tool.close();
    open.pop();
    const status = (): unknown =>
      (running.db.$client.prepare('SELECT status FROM checkpoints WHERE id = ?').get(cp.body.checkpoint.id) as { status: string }).status;
    expect(status()).toBe('protecting');
    // The running engine still holds the folder; once it is gone, the next one repairs.
    expect(() => createEngine({ dataDir: dir, scheduler: false })).toThrow(EngineLocked);
    await h.close();
    expect(engine(dir).recovered).toMatchObject({ checkpoints: 1 });
  });
});
