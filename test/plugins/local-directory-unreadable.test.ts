/**
 * Unreadable source paths. Root reads everything, so when the tests run as root the app runs as
 * `nobody` (setpriv from util-linux): the built headless server (`node out/main/serve.js`) in its
 * own process, driven over the REST API, against files only root may read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_PROVIDER_ID as LOCAL } from '../../src-main/plugins/local/provider';
import { tempDir } from '../helpers/harness';

const ROOT = path.resolve(__dirname, '../..');
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
type Obj = Record<string, unknown>;

let child: ChildProcess;
let endpoint = '';
let token = '';
let work = '';
const output: string[] = [];

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${output.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api<T = Obj>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${endpoint}${p}`, {
    method,
    headers: { 'X-Auth-Token': token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** A folder the app's user may write (the app runs as nobody when the tests run as root). */
function appDir(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  if (asRoot) fs.chownSync(dir, NOBODY, NOBODY);
  return dir;
}

async function planOver(dir: string): Promise<string> {
  const list = await api<{ instances: { id: string; name: string }[] }>(
    'GET',
    `/protectables/Local::FS::Directory/instances?parameters=${encodeURIComponent(JSON.stringify({ path: path.dirname(dir) }))}`,
  );
  const inst = list.body.instances.find((i) => i.name === dir);
  expect(inst, JSON.stringify(list.body)).toBeDefined();
  const plan = await api<{ plan: { id: string } }>('POST', '/plans', {
    plan: {
      name: path.basename(dir),
      provider_id: LOCAL,
      resources: [{ id: inst!.id, name: dir, type: 'Local::FS::Directory' }],
      parameters: {},
    },
  });
  expect(plan.status).toBe(200);
  return plan.body.plan.id;
}

async function protect(planId: string): Promise<Obj & { id: string; status: string }> {
  const created = await api<{ checkpoint: { id: string } }>('POST', `/providers/${LOCAL}/checkpoints`, { checkpoint: { plan_id: planId } });
  expect(created.status).toBe(200);
  return until(async () => {
    const cp = await api<{ checkpoint: Obj & { id: string; status: string } }>(
      'GET',
      `/providers/${LOCAL}/checkpoints/${created.body.checkpoint.id}`,
    );
    return cp.body.checkpoint.status === 'protecting' ? undefined : cp.body.checkpoint;
  }, 'the checkpoint to settle');
}

async function reason(checkpointId: string): Promise<string> {
  const logs = await api<{ operation_logs: { error_info: string | null }[] }>('GET', `/operation_logs?checkpoint_id=${checkpointId}`);
  return logs.body.operation_logs[0]?.error_info ?? '';
}

beforeAll(async () => {
  work = tempDir('karbor-unreadable-');
  fs.chmodSync(work, 0o755);
  const dataDir = appDir('data');
  const cmd = [process.execPath, path.join(ROOT, 'out/main/serve.js'), '--data-dir', dataDir, '--port', '0'];
  const argv = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...cmd] : cmd;
  child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: dataDir, KARBOR_LOG_LEVEL: 'warn' },
  });
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const ui = await until(() => /Web UI:\s+(\S+)/.exec(output.join(''))?.[1], 'the server to start');
  const project = await until(() => /Project id:\s+(\S+)/.exec(output.join(''))?.[1], 'the project id');
  endpoint = `${new URL(ui).origin}/v1/${project}`;
  token = fs.readFileSync(path.join(dataDir, 'api-token'), 'utf8').trim();
}, 60_000);

afterAll(async () => {
  if (child?.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('unreadable source paths', () => {
  it('an unreadable directory or file ends the checkpoint in error naming it; the earlier checkpoint still restores', async () => {
    const src = path.join(work, 'source');
    fs.mkdirSync(path.join(src, 'docs'), { recursive: true });
    fs.writeFileSync(path.join(src, 'docs', 'a.txt'), 'readable\n');
    fs.chmodSync(src, 0o755);
    const planId = await planOver(src);
    const first = await protect(planId);
    expect(first.status, await reason(first.id)).toBe('available');

    // A directory only root may read.
    const secret = path.join(src, 'secret');
    fs.mkdirSync(secret, { mode: 0o700 });
    fs.writeFileSync(path.join(secret, 'key'), 'k');
    if (!asRoot) fs.chmodSync(secret, 0o000);
    const second = await protect(planId);
    expect(second.status).toBe('error');
    expect(await reason(second.id)).toContain(secret);
    expect(await reason(second.id)).toMatch(/permission denied/i);

    // A file only root may read, beside readable ones.
    fs.rmSync(secret, { recursive: true, force: true });
    const locked = path.join(src, 'docs', 'locked.txt');
    fs.writeFileSync(locked, 'locked\n', { mode: 0o600 });
    if (!asRoot) fs.chmodSync(locked, 0o000);
    const third = await protect(planId);
    expect(third.status).toBe('error');
    expect(await reason(third.id)).toContain(locked);
    expect(await reason(third.id)).toMatch(/permission denied/i);

    // The first checkpoint is intact: it restores what it held.
    const target = path.join(appDir('restored'), 'tree');
    const restore = await api<{ restore: { id: string } }>('POST', '/restores', {
      restore: {
        provider_id: LOCAL,
        checkpoint_id: first.id,
        parameters: { 'Local::FS::Directory': { restore_path: target } },
      },
    });
    expect(restore.status).toBe(200);
    const done = await until(async () => {
      const r = await api<{ restore: Obj & { status: string } }>('GET', `/restores/${restore.body.restore.id}`);
      return r.body.restore.status === 'in_progress' ? undefined : r.body.restore;
    }, 'the restore');
    expect(done.status, JSON.stringify(done)).toBe('success');
    expect(fs.readFileSync(path.join(target, 'docs', 'a.txt'), 'utf8')).toBe('readable\n');
    expect(fs.existsSync(path.join(target, 'secret'))).toBe(false);
  }, 120_000);
});
