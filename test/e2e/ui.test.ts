/**
 * The built renderer in headless Debian Chromium (playwright-core), against a real engine in
 * headless serve mode (`node out/main/serve.js`): plan, checkpoint, graph, restore, schedule,
 * error rendering, and a screenshot of each page under test-results/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, tempDir } from '../helpers/harness';

const root = path.resolve(__dirname, '../..');
const shots = path.join(root, 'test-results');
let child: ChildProcess;
let context: BrowserContext;
let page: Page;
let uiUrl = '';
const dataDir = tempDir('karbor-e2e-');
const source = path.join(tempDir('karbor-e2e-src-'), 'photos');

/** A PNG's decoded pixels vary: a blank page would be one colour. */
function distinctColours(file: string): number {
  const buf = fs.readFileSync(file);
  const chunks: Buffer[] = [];
  let width = 0;
  for (let o = 8; o < buf.length;) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('ascii', o + 4, o + 8);
    if (type === 'IHDR') width = buf.readUInt32BE(o + 8);
    if (type === 'IDAT') chunks.push(buf.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(chunks));
  const colours = new Set<string>();
  const stride = width * 4 + 1;
  for (let i = 0; i + stride <= raw.length && colours.size < 50; i += stride * 7) {
    for (let x = 1; x < stride - 4; x += 4 * 13) colours.add(raw.subarray(i + x, i + x + 3).toString('hex'));
  }
  return colours.size;
}

async function shot(name: string): Promise<void> {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  expect(fs.statSync(file).size).toBeGreaterThan(5000);
  expect(distinctColours(file)).toBeGreaterThan(3);
}

async function go(route: string, heading: string): Promise<void> {
  await page.goto(`${uiUrl.split('#')[0]}#/${route}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  fs.mkdirSync(path.join(source, 'summer'), { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(source, 'summer', `img-${i}.jpg`), `picture ${i}`.repeat(100));
  child = spawn(process.execPath, [path.join(root, 'out/main/serve.js'), '--data-dir', dataDir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  uiUrl = await eventually(async () => /Web UI:\s+(\S+)/.exec(out)?.[1], 'serve to print the UI address', 20_000);
  context = await chromium.launchPersistentContext(tempDir('karbor-chromium-'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  await page.goto(uiUrl);
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
});

afterAll(async () => {
  await context?.close();
  child?.kill('SIGTERM');
});

describe('web UI', () => {
  it('shows an empty dashboard that says what to do first', async () => {
    await expect(page.getByText('No plans yet').isVisible()).resolves.toBe(true);
    await shot('dashboard-empty');
  });

  it('builds a plan of a local directory', async () => {
    await go('plans', 'Plans');
    await page.getByLabel('Name').fill('Photos');
    await page.getByLabel('Resource type').selectOption('Local::FS::Directory');
    await page.getByLabel('Folder').fill(path.dirname(source));
    await page.getByRole('button', { name: 'List' }).click();
    const row = page.locator('ul.tree > li', { hasText: source }).first();
    await row.getByRole('button', { name: 'Add' }).click();
    await expect(page.getByTestId('selected').textContent()).resolves.toContain(source);
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.getByText('Plan "Photos" saved.').waitFor();
    await shot('plans');
  });

  it('starts a checkpoint and sees the progress bar reach done', async () => {
    await go('', 'Dashboard');
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.locator('[data-testid="progress"][data-done="true"]').waitFor({ timeout: 30_000 });
    await shot('dashboard-done');
  });

  it('opens the checkpoint, sees its graph, restores it', async () => {
    await go('checkpoints', 'Checkpoints');
    await page.getByTestId('checkpoint-status').first().getByText('available').waitFor();
    await page.getByTestId('checkpoint-status').first().click();
    await page.getByTestId('resource-graph').waitFor();
    await expect(page.getByTestId('graph-node').count()).resolves.toBe(1);
    await expect(page.getByTestId('resource-graph').textContent()).resolves.toContain('photos');
    await shot('checkpoint-detail');
    await page.getByRole('button', { name: 'Restore…' }).click();
    const target = path.join(tempDir('karbor-e2e-restore-'), 'restored');
    await page.getByLabel('Restore to').fill(target);
    await page.getByRole('button', { name: 'Run restore' }).click();
    await page.getByTestId('restore-status').getByText('Restore success').waitFor({ timeout: 30_000 });
    await expect(page.getByTestId('restore-results').textContent()).resolves.toContain('restored');
    expect(fs.readFileSync(path.join(target, 'summer', 'img-7.jpg'), 'utf8')).toBe('picture 7'.repeat(100));
    await shot('restore');
  });

  it('creates a daily trigger with a 5-run preview and a retention operation', async () => {
    await go('schedules', 'Schedules');
    await page.getByLabel('Name').first().fill('Nightly');
    await page.getByLabel('When').selectOption('daily');
    await page.getByLabel('At', { exact: true }).fill('03:30');
    await expect(page.getByTestId('preview').locator('li').count()).resolves.toBeGreaterThanOrEqual(0);
    await eventually(async () => (await page.getByTestId('preview').locator('li').count()) === 5, 'preview of 5 runs');
    await page.getByRole('button', { name: 'Create trigger' }).click();
    await page.getByText('Nightly —').waitFor();
    await page.getByLabel('Type').selectOption('retention_protect');
    await page.getByLabel('Keep the newest').fill('7');
    await page.getByRole('button', { name: 'Create scheduled operation' }).click();
    await eventually(async () => ((await page.getByTestId('next-run').first().textContent()) ?? '—') !== '—', 'next run shown');
    await shot('schedules');
  });

  it('renders a failure as a readable message', async () => {
    await page.getByLabel('When').selectOption('expert');
    await page.locator('textarea[name="pattern"]').fill('61 * * * *');
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('trigger_info.properties.pattern');
    expect(text).not.toContain('[object Object]');
    expect(text).not.toMatch(/at .*\.js:\d+/);
    await shot('schedules-error');
  });

  it('shows logs and settings', async () => {
    await go('logs', 'Operation logs');
    await page.getByRole('cell', { name: 'restore' }).first().waitFor();
    await shot('logs');
    await go('settings', 'Settings');
    await page.getByText(dataDir).first().waitFor();
    await shot('settings');
  });
});
