/**
 * The built renderer (out/renderer) in headless Debian Chromium via playwright-core, against a
 * real engine in headless serve mode (`node out/main/serve.js`). Drives the UI like a user: token
 * screen, plan of a real folder, backup with its progress bar, checkpoint graph, verify, restore
 * with per-resource results, trigger preview and retention schedule, failures in words, logs,
 * settings and the add-cloud form's checks. Saves a screenshot of each page under test-results/ and checks none is blank.
 * `npx electron-vite build` must have run first (scripts/test.sh does).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOTS, startHeadlessUi, type HeadlessUi } from './headless';

const shots = SHOTS;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-e2e-'));
const dataDir = path.join(work, 'data');
const sourceRoot = path.join(work, 'home');
const source = path.join(sourceRoot, 'photos');
const doomed = path.join(sourceRoot, 'scratch');
const restoreTarget = path.join(work, 'restored');
const OFFSITE = '0d4c3f5e-8a61-4c57-b0c2-6f3d2a9e7b14';

let ui: HeadlessUi | undefined;
let page: Page;
let base = '';
let token = '';

const started = (): HeadlessUi => {
  if (!ui) throw new Error('the headless app did not start');
  return ui;
};
const waitUntil = <T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms?: number): Promise<T> =>
  started().waitUntil(probe, what, ms);
const invoke = <T>(method: string, input: unknown): Promise<T> => started().invoke<T>(method, input);
const shot = (name: string): Promise<void> => started().shot(name);
const go = (route: string, heading: string): Promise<void> => started().go(route, heading);
const expectNoRawErrors = (): Promise<void> => started().expectNoRawErrors();

beforeAll(async () => {
  fs.mkdirSync(path.join(source, 'summer'), { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(source, 'summer', `img-${i}.jpg`), `picture ${i} `.repeat(400));
  fs.writeFileSync(path.join(source, 'notes.txt'), 'not wanted in the backup');
  // A second provider with its own bank, so a checkpoint can be copied there.
  fs.mkdirSync(path.join(dataDir, 'providers.d'), { recursive: true });
  fs.writeFileSync(
    path.join(dataDir, 'providers.d', 'offsite.json'),
    JSON.stringify({
      id: OFFSITE,
      name: 'Offsite disk',
      plugins: ['local-directory'],
      bank: { type: 'local', path: path.join(work, 'offsite') },
    }),
  );
  fs.mkdirSync(doomed, { recursive: true });
  fs.writeFileSync(path.join(doomed, 'a.txt'), 'soon gone');

  ui = await startHeadlessUi({ work, dataDir });
  ({ page, base, token } = ui);
}, 40_000);

afterAll(async () => {
  await ui?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('web UI (headless serve mode)', () => {
  it('asks for the token when the address has none, explains a wrong one, then connects', async () => {
    await page.goto(`${base}/ui/`);
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('alert').getByText('The token was not accepted').waitFor();
    await shot('connect');
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  });

  it('takes the token from the address fragment and removes it from the address bar', async () => {
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${base}/ui/#token=${encodeURIComponent(token)}`);
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    expect(page.url()).not.toContain('token');
    await page.getByText('No plans yet — create one in Plans').waitFor();
    await shot('dashboard-empty');
  });

  it('builds a plan of a real folder by browsing to it, with validated options', async () => {
    await go('plans', 'Plans');
    await page.getByText('No plans yet').waitFor();
    await page.getByLabel('Resource type').selectOption('Local::FS::Directory');
    await page.getByLabel('Folder', { exact: true }).fill(sourceRoot);
    await page.getByRole('button', { name: 'Go', exact: true }).click();
    await page.getByRole('button', { name: `Open ${source}` }).click();
    await page.getByText(`This folder: ${source}`).waitFor();
    await expect(page.getByTestId('folder-list').innerText()).resolves.toContain('summer');
    await page.getByRole('button', { name: 'Up', exact: true }).click();
    await page.getByRole('button', { name: `Add ${source}` }).click();
    await expect(page.getByTestId('selected').innerText()).resolves.toContain(source);

    // The No-Op provider's schemas have no properties, and the form says so.
    await page.getByLabel('Provider').selectOption({ label: 'No-Op Provider' });
    await page.getByText('No-Op Provider has no options for Local::FS::Directory').waitFor();
    await page.getByLabel('Provider').selectOption({ label: 'Local Provider' });

    // Saving without a name is refused in words before anything is sent.
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.getByText('Give the plan a name.').first().waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Photos');
    await page.getByRole('group', { name: 'Options for Local::FS::Directory' }).getByLabel('Exclude').fill('*.txt');
    // Options for one resource only overlay the type's.
    await page.getByText(`Options for ${source} only`, { exact: false }).first().click();
    await page
      .getByRole('group', { name: `Options for ${source} only` })
      .getByLabel('Include')
      .fill('summer/*, summer/**');
    await shot('plan-builder');
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.getByText('Plan “Photos” saved.').waitFor();
    const [saved] = await invoke<{ parameters: Record<string, Record<string, unknown>> }[]>('plans.list', {});
    expect(saved?.parameters['Local::FS::Directory']).toEqual({ exclude: ['*.txt'] });
    const own = Object.entries(saved?.parameters ?? {}).find(([k]) => k.startsWith('Local::FS::Directory#'));
    expect(own?.[1]).toEqual({ include: ['summer/*', 'summer/**'] });
    await page.getByRole('cell', { name: 'Photos', exact: true }).waitFor();
    await shot('plans');
  });

  it('backs the plan up and shows the progress bar reach done', async () => {
    await go('', 'Dashboard');
    await page.getByRole('button', { name: 'Back up Photos now' }).click();
    await page.getByTestId('run').first().waitFor();
    await page.locator('[data-testid="progress"][data-state="done"]').waitFor({ timeout: 30_000 });
    await page.getByRole('cell', { name: /available/ }).waitFor();
    await shot('dashboard-done');
  });

  it('opens the checkpoint, draws its resource graph and verifies it', async () => {
    await go('checkpoints', 'Checkpoints');
    await page.getByTestId('checkpoint-status').first().getByText('available').waitFor();
    await page
      .getByRole('button', { name: /^Open the checkpoint of/ })
      .first()
      .click();
    const graph = page.getByTestId('resource-graph');
    await graph.waitFor();
    expect(await graph.evaluate((el) => el.tagName.toLowerCase())).toBe('svg');
    await expect(page.getByTestId('graph-node').count()).resolves.toBe(1);
    await expect(graph.locator('rect').count()).resolves.toBeGreaterThanOrEqual(1);
    await expect(graph.textContent()).resolves.toContain('photos');
    await page.getByTestId('graph-node').first().click();
    await page.getByText('20', { exact: true }).first().waitFor(); // saved info: 20 files (notes.txt excluded)
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Verification passed').waitFor({ timeout: 20_000 });
    // Dedup numbers: the 20 pictures (84,000 bytes) plus the tree index are the data; what the bank
    // added is far less (the repetitive pictures compress well).
    const data = await page.getByTestId('data-bytes').innerText();
    expect(Number(/^([\d.]+) KiB$/.exec(data)?.[1])).toBeGreaterThanOrEqual(82);
    const added = await page.getByTestId('new-bytes').innerText();
    expect(added).toMatch(new RegExp(`^[\\d.]+ (B|KiB) of ${data.replace('.', '\\.')} \\((\\d+)% deduplicated or compressed away\\)$`));
    expect(Number(/\((\d+)%/.exec(added)?.[1])).toBeGreaterThan(50);
    await shot('checkpoint-detail');

    await page.getByLabel('Copy into provider').selectOption({ label: 'Offsite disk' });
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByRole('status').getByText('Copying 1 checkpoint of Photos into Offsite disk.').waitFor();
    await waitUntil(async () => {
      const list = await invoke<{ status: string }[]>('checkpoints.list', { providerId: OFFSITE });
      return list.length === 1 && list[0]?.status === 'available' ? true : undefined;
    }, 'the copy to become available');
  });

  it('restores the checkpoint through the wizard and shows the per-resource result', async () => {
    await page.getByRole('link', { name: 'Restore…' }).click();
    await page.getByRole('heading', { level: 1, name: 'Restore' }).waitFor();
    await page.getByRole('heading', { name: /^2\. Resources of Photos/ }).waitFor();
    await page.getByRole('button', { name: 'Next: parameters' }).click();
    await page.getByLabel('Restore to').fill(restoreTarget);
    // Only OpenStack checkpoints can go into another project (test/openstack/ui-restore-target.test.ts).
    await expect(page.getByTestId('restore-target').count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Run restore' }).click();
    await page.getByTestId('restore-status').getByText('success').waitFor({ timeout: 30_000 });
    const results = await page.getByTestId('restore-results').innerText();
    expect(results).toContain(source);
    expect(results).toContain('restored');
    expect(fs.readFileSync(path.join(restoreTarget, 'summer', 'img-7.jpg'), 'utf8')).toBe('picture 7 '.repeat(400));
    expect(fs.existsSync(path.join(restoreTarget, 'notes.txt'))).toBe(false);
    await expect(page.getByTestId('restore-into').count()).resolves.toBe(0);
    await shot('restore');
  });

  it('builds a daily trigger with a live 5-run preview and a retention schedule', async () => {
    await go('schedules', 'Schedules');
    await page.getByLabel('Trigger name').fill('Nightly');
    await page.getByLabel('Every day').check();
    await page.getByLabel('At', { exact: true }).fill('03:30');
    await page.getByTestId('pattern').getByText('crontab 30 3 * * *').waitFor();
    const preview = page.getByTestId('preview').locator('li');
    // The preview follows the pattern once the engine answered for it: wait for runs at :30.
    await waitUntil(async () => {
      const texts = await preview.allInnerTexts();
      return (texts.length === 5 && texts.every((t) => /\d{1,2}:30/.test(t))) || undefined;
    }, 'a preview of 5 runs at :30');
    const runs = await preview.allInnerTexts();
    expect(new Set(runs).size).toBe(5);
    for (const r of runs) expect(r).toMatch(/\d{1,2}:30/);
    await page.getByRole('button', { name: 'Create trigger' }).click();
    await page.getByTestId('triggers').getByText('Every day at 03:30').waitFor();

    await page.getByLabel('Operation', { exact: true }).selectOption('retention_protect');
    await page.getByRole('button', { name: 'Create scheduled operation' }).click();
    await page.getByText('Say how many checkpoints to keep').waitFor();
    await page.getByLabel('Keep the newest (checkpoints)').fill('7');
    await page.getByLabel('Delete checkpoints older than (days)').fill('30');
    await page.getByRole('button', { name: 'Create scheduled operation' }).click();
    const ops = page.getByTestId('operations');
    await ops.getByText('Back up, then prune (keep 7, 30 days)').waitFor();
    await waitUntil(async () => ((await ops.getByTestId('next-run').first().innerText()) !== '—' ? true : undefined), 'a next run');

    const toggle = ops.getByRole('checkbox', { name: /^Enabled:/ });
    await toggle.uncheck();
    await ops.getByTestId('next-run').getByText('Disabled').waitFor();
    await toggle.check();
    await waitUntil(async () => ((await ops.getByTestId('next-run').first().innerText()) !== 'Disabled' ? true : undefined), 're-enabled');
    await shot('schedules');
  });

  it('shows an invalid crontab as the engine’s message in words', async () => {
    await page.getByLabel('Custom (crontab or RRULE)').check();
    await page.getByLabel('Pattern').fill('61 * * * *');
    const alert = page.getByRole('alert').filter({ hasText: 'This schedule is not valid' });
    await alert.waitFor();
    const text = await alert.innerText();
    expect(text).toContain("trigger_info.properties.pattern '61 * * * *' is invalid");
    expect(text).toContain('61');
    await expect(page.getByRole('button', { name: 'Create trigger' }).isDisabled()).resolves.toBe(true);
    await expectNoRawErrors();
    await shot('schedules-error');
  });

  it('shows a failed backup with its reason on the dashboard and in the logs', async () => {
    const [dir] = await invoke<{ id: string; type: string; name: string }[]>('protectables.instances', {
      type: 'Local::FS::Directory',
      parameters: { path: doomed },
    });
    const providers = await invoke<{ id: string; name: string }[]>('providers.list', {});
    const local = providers.find((p) => p.name === 'Local Provider');
    await invoke('plans.create', {
      name: 'Scratch',
      providerId: local?.id,
      resources: [{ id: dir?.id, type: dir?.type, name: dir?.name }],
      parameters: {},
    });
    fs.rmSync(doomed, { recursive: true });

    await go('', 'Dashboard');
    await page.getByRole('button', { name: 'Back up Scratch now' }).click();
    const failed = page.locator('[data-testid="progress"][data-state="failed"]');
    await failed.waitFor({ timeout: 30_000 });
    await page.getByTestId('failures').getByText('Scratch', { exact: true }).waitFor({ timeout: 10_000 });
    const reason = await failed.innerText();
    expect(reason).toContain(doomed);
    await expectNoRawErrors();
    await shot('dashboard-failure');

    await go('logs?status=error', 'Operation logs');
    await page
      .getByRole('button', { name: /^Details of protect/ })
      .first()
      .click();
    await expect(page.getByTestId('error-info').first().innerText()).resolves.toContain(doomed);
    await expectNoRawErrors();
    await shot('logs');
  });

  it('shows the API endpoint, project, token file, data folder and desktop preferences', async () => {
    await go('settings', 'Settings');
    await page.getByText(dataDir, { exact: true }).waitFor();
    await expect(page.getByTestId('api-endpoint').innerText()).resolves.toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/[0-9a-f]+$/);
    await page.getByText(path.join(dataDir, 'api-token')).waitFor();
    await page.getByRole('button', { name: 'Copy the API endpoint' }).waitFor();
    await page.getByText('apply to the desktop app').waitFor();
    await page.getByLabel('Notify when a backup succeeds').check();
    await page.getByRole('status').getByText('Saved.').waitFor();
    await expect(invoke<{ notifyOnSuccess: boolean }>('settings.get', {})).resolves.toMatchObject({ notifyOnSuccess: true });
    await shot('settings');
  });

  it('checks the add-cloud form in words, before sending and from the engine, and keeps no secret', async () => {
    await go('clouds', 'Clouds');
    await page.getByRole('button', { name: 'Add cloud' }).click();
    await page.getByText('Give the cloud a name.').waitFor();
    await page.getByText('Keystone’s address is needed.').waitFor();
    await page.getByText('The password is needed.').waitFor();
    await page.getByLabel('Cloud name').fill('lab');
    await page.getByLabel('Auth URL').fill('keystone:5000');
    await page.getByLabel('Username').fill('backup');
    await page.locator('#cloud-password').fill('do-not-show-me');
    await page.getByLabel('Project name').fill('backups');
    await page.getByRole('button', { name: 'Add cloud' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'The cloud was not added' });
    await alert.getByText("Auth URL 'keystone:5000' is not an http:// or https:// address").waitFor();
    await expect(page.locator('body').innerText()).resolves.not.toContain('do-not-show-me');
    expect(fs.existsSync(path.join(dataDir, 'clouds.yaml'))).toBe(false);
    await expectNoRawErrors();
    await shot('clouds');
  });

  it('saved a non-blank screenshot of every page', () => {
    const expected = [
      'connect',
      'dashboard-empty',
      'plan-builder',
      'plans',
      'dashboard-done',
      'checkpoint-detail',
      'restore',
      'schedules',
      'schedules-error',
      'dashboard-failure',
      'logs',
      'settings',
      'clouds',
    ];
    for (const name of expected) expect(fs.existsSync(path.join(shots, `${name}.png`)), name).toBe(true);
  });
});
