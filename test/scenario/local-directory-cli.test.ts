import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decompressChunk } from '../../src-main/banks/dedup/compress';
import { LOCAL_PROVIDER_ID as LOCAL } from '../../src-main/plugins/local/provider';
import { DIR_TYPE, eventually, startHarness, tempDir, type Harness } from '../helpers/harness';
import { karbor, parseShowTable } from '../helpers/karbor-cli';
import { diskUsage, snapshotTree, type EntryMeta } from '../helpers/tree';
import { BIG_FILE, changeTree, dataSize, makeTree, NFC_NAME, NFD_NAME } from './tree-fixture';

/**
 * End to end, as a user would: a 5,000-file tree with a 200 MiB file, symlinks, Unicode names,
 * modes and mtimes is protected by the Local Provider through the real `karbor` CLI, restored and
 * compared entry by entry; a small change costs little bank space; a damaged chunk is found by
 * verification; deleting a checkpoint frees exactly its own chunks. Mutations go through the CLI,
 * polling through the REST API (each CLI start costs a second of Python). Steps build on each
 * other; timings are printed at the end.
 */
const SEED = 'karbor-scenario-1';
const STEP_TIMEOUT = 180_000;
type Obj = Record<string, unknown>;

let h: Harness;
let work: string;
let src: string;
let bank: string;
let resource: { id: string; name: string };
const timings: Record<string, number> = {};

async function timed<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[name] = Math.round(performance.now() - t0);
  }
}

async function cli(...args: string[]): Promise<Record<string, string>> {
  const r = await karbor(h, args);
  if (r.code !== 0) throw new Error(`karbor ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return parseShowTable(r.stdout);
}

/** Polls a checkpoint, restore or verification over the API until it leaves its running state. */
async function settled(p: string, key: string, running: string): Promise<Obj> {
  return eventually(
    async () => {
      const r = await h.api<Record<string, Obj>>('GET', p);
      return r.body[key]?.status !== running && r.body[key];
    },
    `${p} to finish`,
    STEP_TIMEOUT,
  );
}

async function checkpoint(planId: string): Promise<string> {
  const created = await cli('checkpoint-create', LOCAL, planId);
  expect(created.status).toBe('protecting');
  const cp = await settled(`/providers/${LOCAL}/checkpoints/${created.id}`, 'checkpoint', 'protecting');
  expect(cp.status, JSON.stringify(cp)).toBe('available');
  expect((await cli('checkpoint-show', LOCAL, created.id ?? '')).status).toBe('available');
  return created.id ?? '';
}

async function restore(checkpointId: string, params: Obj): Promise<Obj> {
  const created = await cli('restore-create', LOCAL, checkpointId, '--parameters-json', JSON.stringify({ [DIR_TYPE]: params }));
  return settled(`/restores/${created.id}`, 'restore', 'in_progress');
}

async function verify(checkpointId: string): Promise<Obj> {
  const created = await cli('verification-create', LOCAL, checkpointId);
  return settled(`/verifications/${created.id}`, 'verification', 'in_progress');
}

/**
 * Chunk ids a committed checkpoint refers to, as the bank records them: `refs.json` lists pieces
 * (chunks holding JSON lists of ids), read here straight from the chunk files.
 */
function refs(checkpointId: string): Set<string> {
  const listed = JSON.parse(fs.readFileSync(path.join(bank, 'checkpoints', checkpointId, 'refs.json'), 'utf8')) as {
    pieces: { chunks: { id: string }[] }[];
  };
  const out = new Set<string>();
  for (const piece of listed.pieces) {
    const json = Buffer.concat(piece.chunks.map((c) => decompressChunk(fs.readFileSync(chunkFile(c.id))))).toString('utf8');
    for (const id of JSON.parse(json) as string[]) out.add(id);
    piece.chunks.forEach((c) => out.add(c.id));
  }
  return out;
}
const chunkFile = (id: string): string => path.join(bank, 'chunks', id.slice(0, 2), id);
const pick = (snap: Record<string, EntryMeta>, keep: (p: string) => boolean): Record<string, EntryMeta> =>
  Object.fromEntries(Object.entries(snap).filter(([p]) => keep(p)));

beforeAll(async () => {
  h = await startHarness();
  bank = path.join(h.dataDir, 'bank');
  work = tempDir('karbor-scenario-');
  src = path.join(work, 'source');
  await timed('generate tree', () => makeTree(src, SEED));
}, STEP_TIMEOUT);

afterAll(async () => {
  await h?.close();
  for (const d of [work, h?.dataDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  console.log(`scenario timings (ms): ${JSON.stringify(timings)}`);
});

describe('Local Provider over the karbor CLI: a real tree, end to end', () => {
  let planId: string;
  let cp1: string;
  let cp2: string;
  let total: number;
  let before: Record<string, EntryMeta>;
  let after: Record<string, EntryMeta>;
  let oldMiddle: Buffer;

  it('the tree has what the scenario promises', () => {
    before = snapshotTree(src);
    total = dataSize(src);
    const entries = Object.values(before);
    const files = entries.filter((e) => e.type === 'file');
    expect(files.length).toBeGreaterThanOrEqual(5000);
    expect(files.filter((e) => e.size === 0).length).toBeGreaterThan(100);
    expect(before[BIG_FILE]?.size).toBe(200 * 1024 * 1024);
    expect(entries.filter((e) => e.type === 'symlink').length).toBe(5);
    expect([...new Set(files.map((e) => e.mode))]).toEqual(expect.arrayContaining(['600', '755', '444']));
    expect(entries.filter((e) => e.type === 'dir').map((e) => e.mode)).toEqual(expect.arrayContaining(['700', '555']));
    expect(before[`unicode/${NFC_NAME}`]?.sha256).not.toBe(before[`unicode/${NFD_NAME}`]?.sha256);
    expect(new Set(entries.map((e) => e.mtimeUs.slice(-6))).size).toBeGreaterThan(1000);
  });

  it('plan-create over the directory listed by protectable-list-instances', async () => {
    const listed = await karbor(h, ['protectable-list-instances', DIR_TYPE, '--parameters', `path=${work}`]);
    expect(listed.code, listed.stderr).toBe(0);
    const row = listed.stdout.split('\n').find((l) => l.includes(`| ${src} `));
    const id = /\|\s*([0-9a-f-]{36})\s*\|/.exec(row ?? '')?.[1];
    expect(id, listed.stdout).toBeDefined();
    resource = { id: id ?? '', name: src };
    const plan = await cli('plan-create', 'scenario', LOCAL, `${resource.id}=${DIR_TYPE}=${src}`);
    expect(plan.provider_id).toBe(LOCAL);
    expect(plan.resources).toContain(resource.id);
    planId = plan.id ?? '';
  });

  it(
    'checkpoint-create protects the tree; restore-create reproduces every byte and all metadata',
    async () => {
      cp1 = await timed('first checkpoint', () => checkpoint(planId));
      timings['bank after first checkpoint (MiB)'] = Math.round(diskUsage(bank).bytes / 2 ** 20);
      const target = path.join(work, 'restored-1');
      const res = await timed('full restore', () => restore(cp1, { restore_path: target }));
      expect(res.status, JSON.stringify(res)).toBe('success');
      const restored = await timed('compare restore', () => snapshotTree(target));
      expect(Object.keys(restored).sort()).toEqual(Object.keys(before).sort());
      for (const [p, e] of Object.entries(before)) expect(restored[p], p).toEqual(e);
      fs.rmSync(target, { recursive: true });
    },
    STEP_TIMEOUT,
  );

  it(
    'a small change costs less than 2% of the data in new bank space',
    async () => {
      ({ oldMiddle } = changeTree(src, SEED));
      after = snapshotTree(src);
      const b0 = diskUsage(bank);
      cp2 = await timed('second checkpoint', () => checkpoint(planId));
      const b1 = diskUsage(bank);
      timings['bank growth (KiB)'] = Math.round((b1.bytes - b0.bytes) / 1024);
      timings['bank growth on disk (KiB)'] = Math.round((b1.onDisk - b0.onDisk) / 1024);
      // The inserted MiB is random, so at least that much is new; the rest of the 200 MiB is not.
      expect(b1.bytes - b0.bytes).toBeGreaterThan(1024 * 1024);
      expect(b1.bytes - b0.bytes).toBeLessThan(0.02 * total);
      expect(b1.onDisk - b0.onDisk).toBeLessThan(0.02 * total);
    },
    STEP_TIMEOUT,
  );

  it(
    'verification-create passes, then fails naming the resource and file of a damaged chunk',
    async () => {
      const ok = await timed('verification', () => verify(cp2));
      expect(ok.status, JSON.stringify(ok)).toBe('success');
      // A chunk of the big file's old middle: only the first checkpoint uses it.
      const second = refs(cp2);
      const onlyFirst = [...refs(cp1)].filter((id) => !second.has(id));
      const damaged = onlyFirst.find((id) => {
        const data = decompressChunk(fs.readFileSync(chunkFile(id)));
        return data.length > 4096 && oldMiddle.includes(data.subarray(0, 4096));
      });
      expect(damaged, 'a chunk of the big file used only by the first checkpoint').toBeDefined();
      const file = chunkFile(damaged ?? '');
      const buf = fs.readFileSync(file);
      for (let i = buf.length >> 1; i < (buf.length >> 1) + 16; i++) buf[i] = (buf[i] ?? 0) ^ 0xff;
      fs.writeFileSync(file, buf);

      const bad = await timed('verification of damaged checkpoint', () => verify(cp1));
      expect(bad.status).toBe('fail');
      const reasons = bad.resources_reason as Record<string, string>;
      expect(Object.keys(reasons)).toEqual([`${DIR_TYPE}#${resource.id}`]);
      expect(reasons[`${DIR_TYPE}#${resource.id}`]).toContain(BIG_FILE);
      expect(reasons[`${DIR_TYPE}#${resource.id}`]).toContain(damaged);
      const shown = await cli('verification-show', bad.id as string);
      expect(shown.status).toBe('fail');
      expect(shown.resources_reason).toContain(BIG_FILE);
      // The second checkpoint does not use the damaged chunk.
      expect((await verify(cp2)).status).toBe('success');
    },
    STEP_TIMEOUT,
  );

  it(
    'checkpoint-delete frees the chunks only it used; the second checkpoint still restores',
    async () => {
      const kept = refs(cp2);
      const onlyFirst = [...refs(cp1)].filter((id) => !kept.has(id));
      const freed = onlyFirst.reduce((n, id) => n + fs.statSync(chunkFile(id)).size, 0);
      const b0 = diskUsage(bank);
      expect((await karbor(h, ['checkpoint-delete', LOCAL, cp1])).code).toBe(0);
      await timed('delete checkpoint', () => settled(`/providers/${LOCAL}/checkpoints/${cp1}`, 'checkpoint', 'deleting'));
      const gone = await h.api<{ checkpoint: Obj }>('GET', `/providers/${LOCAL}/checkpoints/${cp1}`);
      expect(gone.body.checkpoint.status).toBe('deleted');
      const b1 = diskUsage(bank);
      timings['bank freed (KiB)'] = Math.round((b0.bytes - b1.bytes) / 1024);
      expect(onlyFirst.filter((id) => fs.existsSync(chunkFile(id)))).toEqual([]);
      expect([...kept].filter((id) => !fs.existsSync(chunkFile(id)))).toEqual([]);
      expect(fs.existsSync(path.join(bank, 'checkpoints', cp1))).toBe(false);
      expect(b0.bytes - b1.bytes).toBeGreaterThanOrEqual(freed);

      const only = ['media', 'unicode'];
      const target = path.join(work, 'restored-2');
      const res = await timed('sub-path restore', () => restore(cp2, { restore_path: target, paths: only }));
      expect(res.status, JSON.stringify(res)).toBe('success');
      const inScope = (p: string) => p === '' || only.some((o) => p === o || p.startsWith(`${o}/`));
      // Every chunk read back is checked against its id, so this also shows cp2's data is intact.
      expect(snapshotTree(target)).toEqual(pick(after, inScope));
    },
    STEP_TIMEOUT,
  );
});
