import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryId } from '../../src-main/plugins/local/directory/protectable';
import { eventually, settleRun, startHarness, tempDir, type Harness } from '../helpers/harness';

type Obj = Record<string, unknown>;

/** A provider file: the Local Provider's directory plugin over an encrypted bank in `bank-enc/`. */
const ENC = '5b0e2c8a-1f4d-4e6b-9a3c-2d7e8f901234';
const MARKER = 'KARBOR-ENCRYPTED-BANK-MARKER';
const FILE_NAME = 'quarterly-salaries-marker.csv';

let dataDir: string;
let src: string;
let h: Harness | undefined;
const passFile = () => path.join(dataDir, 'secrets', 'bank-passphrase');
const bankDir = () => path.join(dataDir, 'bank-enc');

async function start(passphrase: string): Promise<Harness> {
  await h?.close();
  fs.writeFileSync(passFile(), `${passphrase}\n`, { mode: 0o600 });
  h = await startHarness({ dataDir, scheduler: false });
  return h;
}

async function checkpoint(planId: string): Promise<Obj & { id: string }> {
  const api = h as Harness;
  const r = await api.api<{ checkpoint: Obj & { id: string } }>('POST', `/providers/${ENC}/checkpoints`, {
    checkpoint: { plan_id: planId },
  });
  expect(r.status, r.text).toBe(200);
  return eventually(
    async () => {
      const s = await api.api<{ checkpoint: Obj & { id: string } }>('GET', `/providers/${ENC}/checkpoints/${r.body.checkpoint.id}`);
      return s.body.checkpoint.status !== 'protecting' && s.body.checkpoint;
    },
    'checkpoint done',
    60_000,
  );
}

const run = (kind: 'restores' | 'verifications', body: Obj): Promise<Obj> => settleRun(h as Harness, kind, body);

/** Every object file of a bank (leases and temp files aside) with its SHA-256. */
function bankObjects(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(bankDir(), { recursive: true, withFileTypes: true })) {
    const rel = path.relative(bankDir(), path.join(e.parentPath, e.name));
    if (e.isFile() && !rel.split(path.sep).some((p) => p.startsWith('.'))) {
      out[rel] = createHash('sha256')
        .update(fs.readFileSync(path.join(bankDir(), rel)))
        .digest('hex');
    }
  }
  return out;
}

const resource = () => ({ id: directoryId(src), type: 'Local::FS::Directory', name: src });
const restoreTo = (checkpointId: string, target: string) => ({
  provider_id: ENC,
  checkpoint_id: checkpointId,
  parameters: { 'Local::FS::Directory': { restore_path: target } },
});

beforeAll(async () => {
  dataDir = tempDir();
  src = path.join(tempDir('karbor-enc-src-'), 'tree');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  const secret = randomBytes(3 << 20);
  for (let i = 0; i < secret.length - MARKER.length; i += 50_000) secret.write(MARKER, i);
  fs.writeFileSync(path.join(src, 'sub', FILE_NAME), secret);
  fs.writeFileSync(path.join(src, 'notes.txt'), `${MARKER}\n`.repeat(1000));
  fs.mkdirSync(path.join(dataDir, 'providers.d'), { recursive: true });
  fs.mkdirSync(path.dirname(passFile()), { recursive: true });
  fs.writeFileSync(
    path.join(dataDir, 'providers.d', 'encrypted.json'),
    JSON.stringify({
      id: ENC,
      name: 'Encrypted Local',
      plugins: ['local-directory'],
      bank: { type: 'local', path: 'bank-enc', encryption: { passphrase_file: 'secrets/bank-passphrase' } },
    }),
  );
});
afterAll(async () => h?.close());

describe('Local Provider over an encrypted bank (REST API)', () => {
  let planId: string;
  let first: Obj & { id: string };

  it('protects and restores; the bank shows no content, names or plain SHA-256 ids', async () => {
    const api = await start('correct horse battery staple');
    const plan = await api.api<{ plan: { id: string } }>('POST', '/plans', {
      plan: { name: 'secret', provider_id: ENC, resources: [resource()], parameters: {} },
    });
    expect(plan.status, plan.text).toBe(200);
    planId = plan.body.plan.id;
    first = await checkpoint(planId);
    expect(first.status).toBe('available');

    const target = path.join(tempDir('karbor-enc-restore-'), 'out');
    const res = await run('restores', restoreTo(first.id, target));
    expect(res.status, JSON.stringify(res)).toBe('success');
    for (const f of ['notes.txt', path.join('sub', FILE_NAME)]) {
      expect(fs.readFileSync(path.join(target, f)).equals(fs.readFileSync(path.join(src, f)))).toBe(true);
    }

    const plainIds = ['notes.txt', path.join('sub', FILE_NAME)].map((f) =>
      createHash('sha256')
        .update(fs.readFileSync(path.join(src, f)))
        .digest('hex'),
    );
    const objects = Object.keys(bankObjects());
    expect(objects).toContain('keys/config.json');
    for (const rel of objects) {
      const bytes = fs.readFileSync(path.join(bankDir(), rel));
      for (const needle of [MARKER, FILE_NAME, src, 'correct horse', ...plainIds]) {
        expect(rel.includes(needle) || bytes.includes(needle), `${rel} reveals ${needle.slice(0, 24)}`).toBe(false);
      }
    }
  });

  it('with a wrong passphrase after a restart, a checkpoint and a restore fail with the reason and the bank is untouched', async () => {
    const before = bankObjects();
    const api = await start('not the passphrase');
    const cp = await checkpoint(planId);
    expect(cp.status).toBe('error');
    const logs = await api.api<{ operation_logs: { error_info: string }[] }>('GET', `/operation_logs?checkpoint_id=${cp.id}`);
    expect(logs.body.operation_logs[0]?.error_info).toContain(`wrong passphrase for the bank at ${bankDir()}`);

    const res = await run('restores', restoreTo(first.id, path.join(tempDir('karbor-enc-restore-'), 'out')));
    expect(res.status).toBe('fail');
    expect(JSON.stringify(res.resources_reason)).toContain(`wrong passphrase for the bank at ${bankDir()}`);
    expect(bankObjects()).toEqual(before);
  });

  it('with the right passphrase after another restart, the earlier checkpoint restores', async () => {
    await start('correct horse battery staple');
    const target = path.join(tempDir('karbor-enc-restore-'), 'out');
    const res = await run('restores', restoreTo(first.id, target));
    expect(res.status, JSON.stringify(res)).toBe('success');
    expect(fs.readFileSync(path.join(target, 'sub', FILE_NAME)).equals(fs.readFileSync(path.join(src, 'sub', FILE_NAME)))).toBe(true);
  });

  it('a tampered chunk fails verification (authentication) naming the resource and the file', async () => {
    const ok = await run('verifications', { provider_id: ENC, checkpoint_id: first.id, parameters: {} });
    expect(ok.status).toBe('success');
    const chunks = Object.keys(bankObjects())
      .filter((k) => k.startsWith('chunks'))
      .map((k) => path.join(bankDir(), k))
      .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size);
    const biggest = chunks[0] as string;
    const buf = fs.readFileSync(biggest);
    buf[buf.length >> 1]! ^= 0x01;
    fs.writeFileSync(biggest, buf);
    const bad = await run('verifications', { provider_id: ENC, checkpoint_id: first.id, parameters: {} });
    expect(bad.status).toBe('fail');
    expect(Object.keys(bad.resources_reason as Obj)).toEqual([`Local::FS::Directory#${directoryId(src)}`]);
    const reason = JSON.stringify(bad.resources_reason);
    expect(reason).toContain(FILE_NAME);
    expect(reason).toContain('authentication failed');
  });
});
