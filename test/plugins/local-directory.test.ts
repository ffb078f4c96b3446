import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { deserialize } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBank } from '../../src-main/banks/local/local-bank';
import { WRITER_LEASE } from '../../src-main/engine/protection/provider-stores';
import { LOCAL_PROVIDER_ID as LOCAL } from '../../src-main/plugins/local/provider';
import { eventually, settleRun, startHarness, tempDir, type Harness } from '../helpers/harness';

type Obj = Record<string, unknown>;

/** Every file, directory and symlink under `root` with content hash and metadata. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs);
    const meta = `${(st.mode & 0o7777).toString(8)}`;
    if (st.isSymbolicLink()) out[rel] = `l ${fs.readlinkSync(abs)}`;
    else if (st.isDirectory()) {
      out[rel] = `d ${meta}`;
      for (const n of fs.readdirSync(abs)) walk(rel ? path.join(rel, n) : n);
    } else out[rel] = `f ${meta} ${Math.floor(st.mtimeMs)} ${fs.readFileSync(abs).toString('base64').slice(0, 64)}:${st.size}`;
  };
  walk('');
  return out;
}

/** Bytes of the regular files under `dir` (what a checkpoint of it holds). */
function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += fs.lstatSync(path.join(e.parentPath, e.name)).size;
  }
  return n;
}

function dirSize(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return n;
}

let h: Harness;
let src: string;
let resource: { id: string; type: string; name: string };

beforeAll(async () => {
  h = await startHarness();
  src = path.join(tempDir('karbor-src-'), 'tree');
  fs.mkdirSync(path.join(src, 'docs', 'ünïcödé 文件'), { recursive: true });
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(src, 'docs', `note-${i}.txt`), `note ${i}\n`.repeat(i));
  fs.writeFileSync(path.join(src, 'docs', 'ünïcödé 文件', 'ß.bin'), randomBytes(3000));
  fs.writeFileSync(path.join(src, 'empty'), '');
  fs.writeFileSync(path.join(src, 'big.bin'), randomBytes(12 * 1024 * 1024));
  fs.chmodSync(path.join(src, 'empty'), 0o600);
  fs.symlinkSync('docs/note-1.txt', path.join(src, 'link'));
  fs.symlinkSync('/nonexistent/target', path.join(src, 'dangling'));
  const list = await h.api<{ instances: { id: string; name: string }[] }>(
    'GET',
    `/protectables/Local::FS::Directory/instances?parameters=${encodeURIComponent(JSON.stringify({ path: path.dirname(src) }))}`,
  );
  const inst = list.body.instances.find((i) => i.name === src);
  if (!inst) throw new Error('tree not listed');
  resource = { id: inst.id, type: 'Local::FS::Directory', name: src };
});
afterAll(async () => h.close());

async function checkpoint(planId: string): Promise<Obj & { id: string }> {
  const r = await h.api<{ checkpoint: Obj & { id: string } }>('POST', `/providers/${LOCAL}/checkpoints`, {
    checkpoint: { plan_id: planId },
  });
  expect(r.status, r.text).toBe(200);
  return eventually(
    async () => {
      const s = await h.api<{ checkpoint: Obj & { id: string } }>('GET', `/providers/${LOCAL}/checkpoints/${r.body.checkpoint.id}`);
      return s.body.checkpoint.status !== 'protecting' && s.body.checkpoint;
    },
    'checkpoint done',
    60_000,
  );
}

const run = (kind: 'restores' | 'verifications', body: Obj): Promise<Obj> => settleRun(h, kind, body);

/** Restores the checkpoint into a new folder and compares it with the source tree, file by file. */
async function expectRestoresSource(checkpointId: string): Promise<void> {
  const target = path.join(tempDir('karbor-restore-'), 'out');
  const res = await run('restores', {
    provider_id: LOCAL,
    checkpoint_id: checkpointId,
    parameters: { 'Local::FS::Directory': { restore_path: target } },
  });
  expect(res.status, JSON.stringify(res)).toBe('success');
  expect(snapshot(target)).toEqual(snapshot(src));
}

describe('Local Provider: directories', () => {
  let planId: string;
  let first: Obj & { id: string };

  it('protects a tree and restores it byte for byte with metadata', async () => {
    const plan = await h.api<{ plan: { id: string } }>('POST', '/plans', {
      plan: { name: 'tree', provider_id: LOCAL, resources: [resource], parameters: { 'Local::FS::Directory': { exclude: ['**/*.tmp'] } } },
    });
    expect(plan.status, plan.text).toBe(200);
    planId = plan.body.plan.id;
    fs.writeFileSync(path.join(src, 'skip.tmp'), 'excluded');
    first = await checkpoint(planId);
    expect(first.status).toBe('available');
    fs.rmSync(path.join(src, 'skip.tmp'));
    await expectRestoresSource(first.id);
  });

  it('stores only what changed the second time', async () => {
    const bank = path.join(h.dataDir, 'bank');
    const before = dirSize(bank);
    fs.appendFileSync(path.join(src, 'docs', 'note-5.txt'), 'one more line\n');
    fs.writeFileSync(path.join(src, 'new.txt'), 'new file');
    const second = await checkpoint(planId);
    expect(second.status).toBe('available');
    const growth = dirSize(bank) - before;
    expect(growth).toBeGreaterThan(0);
    expect(growth / before).toBeLessThan(0.02);
    // The dedup numbers the checkpoint view shows: the whole tree is in it, almost none of it new.
    const caller = { projectId: h.projectId, isAdmin: true };
    const [firstRes] = h.engine.checkpoints.resources(caller, LOCAL, first.id);
    const [secondRes] = h.engine.checkpoints.resources(caller, LOCAL, second.id);
    const treeBytes = dirBytes(src);
    expect(firstRes?.data_bytes).toBeGreaterThanOrEqual(treeBytes);
    expect(firstRes?.new_bytes).toBeGreaterThan(12 * 1024 * 1024 * 0.9);
    expect(secondRes?.data_bytes).toBeGreaterThanOrEqual(treeBytes);
    expect(secondRes?.new_bytes).toBeGreaterThan(0);
    expect(secondRes?.new_bytes).toBeLessThanOrEqual(growth);
  });

  it('keeps the last index in the engine cache; a damaged cache is not trusted', async () => {
    const caller = { projectId: h.projectId, isAdmin: true };
    const [dir] = fs.readdirSync(path.join(h.dataDir, 'cache', LOCAL));
    const file = path.join(h.dataDir, 'cache', LOCAL, dir!, 'tree-index.v8');
    const latest = await checkpoint(planId);
    expect(latest.status).toBe('available');
    const index = h.engine.checkpoints.resources(caller, LOCAL, latest.id)[0]?.saved_info?.index as Obj;
    const cached = fs.readFileSync(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const body = deserialize(cached.subarray(32)) as { sha256: string; entries: { p: string; data?: { chunks: { id: string }[] } }[] };
    expect(body.sha256).toBe(index.sha256);
    expect(body.entries.map((e) => e.p)).toContain('docs/note-7.txt');

    // One hex digit of an unchanged file's chunk id, changed in the cache: trusted, the new
    // checkpoint would name a chunk that does not exist.
    const id = body.entries.find((e) => e.p === 'docs/note-7.txt')?.data?.chunks[0]?.id ?? '';
    const at = cached.indexOf(id, 32, 'latin1');
    expect(at).toBeGreaterThan(32);
    cached[at] = cached[at] === 0x61 ? 0x62 : 0x61;
    fs.writeFileSync(file, cached);
    const next = await checkpoint(planId);
    expect(next.status).toBe('available');
    const verified = await run('verifications', { provider_id: LOCAL, checkpoint_id: next.id, parameters: {} });
    expect(verified.status, JSON.stringify(verified)).toBe('success');
    await expectRestoresSource(next.id);
    // ...and rewritten whole by that protect
    expect(cached.equals(fs.readFileSync(file))).toBe(false);
    expect((deserialize(fs.readFileSync(file).subarray(32)) as { sha256: string }).sha256).toBe(
      (h.engine.checkpoints.resources(caller, LOCAL, next.id)[0]?.saved_info?.index as Obj).sha256,
    );
  });

  it('refuses to restore into a non-empty folder unless overwrite is set', async () => {
    const res = await run('restores', {
      provider_id: LOCAL,
      checkpoint_id: first.id,
      parameters: { 'Local::FS::Directory': { restore_path: src } },
    });
    expect(res.status).toBe('fail');
    expect(JSON.stringify(res.resources_reason)).toContain('is not empty');
  });

  it('verifies, then names the damaged resource after a chunk is corrupted', async () => {
    const ok = await run('verifications', { provider_id: LOCAL, checkpoint_id: first.id, parameters: {} });
    expect(ok.status).toBe('success');
    const chunksDir = path.join(h.dataDir, 'bank', 'chunks');
    const files = fs.readdirSync(chunksDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const biggest = files
      .map((e) => path.join(e.parentPath, e.name))
      .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0] as string;
    const buf = fs.readFileSync(biggest);
    buf[buf.length >> 1] = (buf[buf.length >> 1] ?? 0) ^ 0xff;
    fs.writeFileSync(biggest, buf);
    const bad = await run('verifications', { provider_id: LOCAL, checkpoint_id: first.id, parameters: {} });
    expect(bad.status).toBe('fail');
    expect(Object.keys(bad.resources_reason as Obj)).toEqual([`Local::FS::Directory#${resource.id}`]);
    expect(JSON.stringify(bad.resources_reason)).toMatch(/big\.bin/);
  });

  it('deleting checkpoints frees their space', async () => {
    const bank = path.join(h.dataDir, 'bank');
    const before = dirSize(bank);
    const list = await h.api<{ checkpoints: { id: string }[] }>('GET', `/providers/${LOCAL}/checkpoints?plan_id=${planId}`);
    for (const c of list.body.checkpoints) await h.api('DELETE', `/providers/${LOCAL}/checkpoints/${c.id}`);
    await h.engine.idle();
    expect(dirSize(bank)).toBeLessThan(before * 0.05);
  });

  it('a missing directory ends the checkpoint in error with the reason, earlier ones intact', async () => {
    const gone = path.join(tempDir('karbor-gone-'), 'will-vanish');
    fs.mkdirSync(gone);
    const list = await h.api<{ instances: { id: string; name: string }[] }>(
      'GET',
      `/protectables/Local::FS::Directory/instances?parameters=${encodeURIComponent(JSON.stringify({ path: path.dirname(gone) }))}`,
    );
    const inst = list.body.instances.find((i) => i.name === gone) as { id: string; name: string };
    const plan = await h.api<{ plan: { id: string } }>('POST', '/plans', {
      plan: {
        name: 'gone',
        provider_id: LOCAL,
        resources: [{ id: inst.id, name: inst.name, type: 'Local::FS::Directory' }],
        parameters: {},
      },
    });
    fs.rmdirSync(gone);
    const cp = await checkpoint(plan.body.plan.id);
    expect(cp.status).toBe('error');
    const logs = await h.api<{ operation_logs: { error_info: string }[] }>('GET', `/operation_logs?checkpoint_id=${cp.id}`);
    expect(logs.body.operation_logs[0]?.error_info).toContain('no such directory');
  });
});

describe('Local Provider: one writer per bank', () => {
  it('a bank another engine is writing fails the checkpoint naming the holder; once free it protects, then lets go', async () => {
    const plan = await h.api<{ plan: { id: string } }>('POST', '/plans', {
      plan: { name: 'leased', provider_id: LOCAL, resources: [resource], parameters: {} },
    });
    // Another engine (a second LocalBank handle on the same folder, other owner) holds the writer lease.
    const other = new LocalBank(path.join(h.dataDir, 'bank'));
    const held = await other.acquireLease(WRITER_LEASE, { owner: 'laptop-2:/home/me/karbor', ttlMs: 60_000 });
    const blocked = await checkpoint(plan.body.plan.id);
    expect(blocked.status).toBe('error');
    const logs = await h.api<{ operation_logs: { error_info: string }[] }>('GET', `/operation_logs?checkpoint_id=${blocked.id}`);
    expect(logs.body.operation_logs[0]?.error_info).toContain("the bank is in use: lease 'writer' is held by 'laptop-2:/home/me/karbor'");

    await held.release();
    const ok = await checkpoint(plan.body.plan.id);
    expect(ok.status).toBe('available');
    // An idle engine does not keep the bank: the other engine can take the lease now.
    const again = await other.acquireLease(WRITER_LEASE, { owner: 'laptop-2:/home/me/karbor', ttlMs: 200 });
    // ...and when that engine dies without releasing, its lease goes stale and this engine takes over.
    await new Promise((r) => setTimeout(r, 400));
    const after = await checkpoint(plan.body.plan.id);
    expect(after.status).toBe('available');
    await expect(again.renew()).rejects.toThrow(/lease/);
  });
});

describe('Local Provider: SQLite', () => {
  it('protects a database while it is written to and restores it to a new file', async () => {
    const dir = tempDir('karbor-sqlite-');
    const file = path.join(dir, 'app.sqlite');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < 2000; i++) insert.run(`row ${i}`);
    const list = await h.api<{ instances: { id: string; name: string }[] }>(
      'GET',
      `/protectables/Local::SQLite::Database/instances?parameters=${encodeURIComponent(JSON.stringify({ path: dir }))}`,
    );
    const inst = list.body.instances.find((i) => i.name === file) as { id: string; name: string };
    expect(inst).toBeDefined();
    const plan = await h.api<{ plan: { id: string } }>('POST', '/plans', {
      plan: {
        name: 'db',
        provider_id: LOCAL,
        resources: [{ id: inst.id, name: inst.name, type: 'Local::SQLite::Database' }],
        parameters: {},
      },
    });
    const writer = setInterval(() => insert.run('while protecting'), 2);
    const cp = await checkpoint(plan.body.plan.id).finally(() => clearInterval(writer));
    expect(cp.status).toBe('available');
    const target = path.join(dir, 'restored.sqlite');
    const res = await run('restores', {
      provider_id: LOCAL,
      checkpoint_id: cp.id,
      parameters: { 'Local::SQLite::Database': { restore_path: target } },
    });
    expect(res.status, JSON.stringify(res)).toBe('success');
    const restored = new Database(target, { readonly: true });
    const count = (restored.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
    expect(restored.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(count).toBeGreaterThanOrEqual(2000);
    expect((restored.prepare('SELECT v FROM t WHERE id = 1500').get() as { v: string }).v).toBe('row 1499');
    restored.close();
    db.close();
    const again = await run('restores', {
      provider_id: LOCAL,
      checkpoint_id: cp.id,
      parameters: { 'Local::SQLite::Database': { restore_path: target } },
    });
    expect(again.status).toBe('fail');
    expect(JSON.stringify(again.resources_reason)).toContain('already exists');
  });
});
