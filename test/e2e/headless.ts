/**
 * The built app in headless serve mode (`node out/main/serve.js`) on a free 127.0.0.1 port,
 * driven by playwright-core in Debian Chromium: what every browser test starts with, plus the
 * helpers they share (bridge calls, screenshots checked to be real renderings, page checks).
 * `npx electron-vite build` must have run first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { pngStats, type PngStats } from './png';

const root = path.resolve(__dirname, '../..');
export const SHOTS = path.join(root, 'test-results');

export interface HeadlessUi {
  page: Page;
  /** `http://127.0.0.1:PORT` */
  base: string;
  /** The admin API token of the data folder. */
  token: string;
  /** What the server printed (shown when a wait times out). */
  output: string[];
  waitUntil: <T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms?: number) => Promise<T>;
  /** A UI operation straight through the headless bridge, for setup a test is not about. */
  invoke: <T>(method: string, input: unknown) => Promise<T>;
  /** Saves a full-page screenshot under test-results/ and checks it is a real, non-blank rendering. */
  shot: (name: string) => Promise<void>;
  /** Opens a page of the app by its route and waits for its heading. */
  go: (route: string, heading: string) => Promise<void>;
  /** The visible text of the page must never show a raw object or a stack. */
  expectNoRawErrors: () => Promise<void>;
  close: () => Promise<void>;
}

export interface HeadlessOptions {
  /** A scratch folder for the browser profile. */
  work: string;
  dataDir: string;
  /** The server's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export async function startHeadlessUi(opts: HeadlessOptions): Promise<HeadlessUi> {
  fs.mkdirSync(SHOTS, { recursive: true });
  const output: string[] = [];
  let child: ChildProcess | undefined;
  let context: BrowserContext | undefined;

  async function waitUntil<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${output.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function close(): Promise<void> {
    await context?.close().catch(() => undefined);
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }

  try {
    child = spawn(process.execPath, [path.join(root, 'out/main/serve.js'), '--data-dir', opts.dataDir, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...(opts.env ?? process.env), KARBOR_LOG_LEVEL: 'warn' },
    });
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const uiUrl = await waitUntil(() => /Web UI:\s+(\S+)/.exec(output.join(''))?.[1], 'serve to print the web UI address');
    const base = new URL(uiUrl).origin;
    const token = fs.readFileSync(path.join(opts.dataDir, 'api-token'), 'utf8').trim();
    expect(uiUrl).toBe(`${base}/ui/#token=${encodeURIComponent(token)}`);

    context = await chromium.launchPersistentContext(path.join(opts.work, 'chromium'), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1280, height: 860 },
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
    const page = context.pages()[0] ?? (await context.newPage());
    // The blank reference for screenshots: an empty white page.
    await page.setContent('<html><body></body></html>');
    const blankFile = path.join(SHOTS, `.blank-${process.pid}.png`);
    await page.screenshot({ path: blankFile, fullPage: true });
    const blank: PngStats = pngStats(blankFile);
    fs.rmSync(blankFile);

    return {
      page,
      base,
      token,
      output,
      waitUntil,
      close,
      async invoke<T>(method: string, input: unknown): Promise<T> {
        const res = await fetch(`${base}/ui/invoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-auth-token': token },
          body: JSON.stringify({ method, input }),
        });
        const body = (await res.json()) as { ok: boolean; value: T; error?: { message: string } };
        if (!body.ok) throw new Error(body.error?.message);
        return body.value;
      },
      async shot(name: string): Promise<void> {
        const file = path.join(SHOTS, `${name}.png`);
        await page.mouse.move(0, 0);
        await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
        const s = pngStats(file);
        expect(s.width).toBe(1280);
        // Measured here: a blank page is ~1 colour, nothing inked and a few KB; pages are far above.
        expect(s.bytes).toBeGreaterThan(Math.max(15_000, blank.bytes * 4));
        expect(s.colours).toBeGreaterThan(blank.colours + 40);
        expect(s.inked).toBeGreaterThan(Math.max(0.05, blank.inked + 0.05));
      },
      async go(route: string, heading: string): Promise<void> {
        await page.goto(`${base}/ui/#/${route}`);
        await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      },
      async expectNoRawErrors(): Promise<void> {
        const text = await page.locator('body').innerText();
        expect(text).not.toContain('[object Object]');
        expect(text).not.toMatch(/\bError:/);
        expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}
