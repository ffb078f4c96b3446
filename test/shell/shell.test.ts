/**
 * The Electron shell against a stand-in `electron` module (./fake-electron.ts): the Electron
 * binary cannot be downloaded on this machine, so window, tray, notifications, IPC and power
 * events are checked through the calls the shell makes. The engine and API behind it are real.
 */
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MenuItemConstructorOptions } from 'electron';
import type { UiResult } from '../../src-main/contract';
import { IPC_INVOKE } from '../../src-main/contract';
import type { DesktopHandle } from '../../src-main/shell/app';
import { secureWindowOptions } from '../../src-main/shell/window-options';
import { DIR_TYPE, eventually, NOOP, tempDir } from '../helpers/harness';
import { makeFakeElectron } from './fake-electron';

const dataDir = tempDir();
const fake = vi.hoisted(() => ({ current: {} }));
vi.mock('electron', () => fake.current);

let handle: DesktopHandle;
let electron: ReturnType<typeof makeFakeElectron>;

beforeAll(async () => {
  electron = makeFakeElectron(dataDir);
  fake.current = electron;
  process.env.KARBOR_PORT = '0';
  const { startDesktop } = await import('../../src-main/shell/app');
  const h = await startDesktop();
  if (!h) throw new Error('desktop did not start');
  handle = h;
});
afterAll(async () => {
  electron.app.quit();
  await eventually(async () => handle.engine.jobs.size === 0, 'engine idle');
  delete process.env.KARBOR_PORT;
});

const rendererUrl = () => pathToFileURL(path.join(__dirname, '../../src-main/renderer/index.html')).toString();
const invoke = (url: string, method: string, input: unknown) =>
  electron.ipcMain.handlers.get(IPC_INVOKE)?.({ senderFrame: { url } }, method, input) as Promise<UiResult<unknown>>;
const items = () => (electron.trays[0]?.menu ?? []) as MenuItemConstructorOptions[];

describe('window', () => {
  it('is isolated, sandboxed and without Node', () => {
    const opts = secureWindowOptions('/p.js');
    expect(opts.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, preload: '/p.js' });
    expect(electron.windows[0]?.options).toMatchObject({
      webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false },
    });
  });
  it('denies window.open (opening http links outside) and hides instead of closing', () => {
    const win = electron.windows[0];
    expect(win?.openHandler?.({ url: 'https://example.invalid/' })).toEqual({ action: 'deny' });
    expect(electron.shell.opened).toEqual(['https://example.invalid/']);
    expect(win?.openHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    win?.close();
    expect(win?.destroyed).toBe(false);
    expect(win?.visible).toBe(false);
    electron.app.emit('second-instance');
    expect(win?.visible).toBe(true);
  });
  it('guards navigation', () => {
    let prevented = false;
    electron.windows[0]?.webContents.emit('will-navigate', { preventDefault: () => (prevented = true) }, 'https://evil.invalid/');
    expect(prevented).toBe(true);
  });
});

describe('IPC', () => {
  it('answers the renderer with {ok, value} envelopes', async () => {
    const r = await invoke(rendererUrl(), 'providers.list', {});
    expect(r.ok).toBe(true);
    expect((r as { value: { id: string }[] }).value.map((p) => p.id)).toContain(NOOP);
  });
  it('turns engine errors into {ok:false, error:{code, message}}', async () => {
    const r = await invoke(rendererUrl(), 'plans.get', { id: '00000000-0000-0000-0000-000000000000' });
    expect(r).toEqual({ ok: false, error: { code: 'PLAN_NOT_FOUND', message: expect.stringMatching(/could not be found/) as unknown } });
    const u = await invoke(rendererUrl(), 'plans.explode', {});
    expect(u).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
  });
  it('refuses a sender that is not our renderer', async () => {
    const r = await invoke('https://evil.invalid/', 'providers.list', {});
    expect(r).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });
});

describe('tray and notifications', () => {
  it('shows next run, last result and backs up a plan from the menu', async () => {
    const engine = handle.engine;
    const caller = { projectId: handle.server.projectId, isAdmin: true };
    const plan = engine.plans.create(caller, {
      name: 'Photos',
      provider_id: NOOP,
      resources: [{ id: '6f1b1b8e-3c36-5a8e-9a43-0c5d9e0c6a12', type: DIR_TYPE, name: '/photos' }],
      parameters: {},
    });
    const trig = engine.triggers.create(caller, { name: 'daily', type: 'time', properties: { format: 'crontab', pattern: '0 3 * * *' } });
    engine.scheduledOperations.create(caller, {
      name: 'nightly',
      operation_type: 'protect',
      trigger_id: trig.id,
      operation_definition: { provider_id: NOOP, plan_id: plan.id },
    });
    handle.refreshTray();
    expect(items()[0]?.label).toMatch(/^Next run: .*\(nightly\)$/);
    expect(items()[1]?.label).toBe('Last run: none yet');
    const backUp = items().find((i) => i.label === 'Back up now');
    const entry = (backUp?.submenu as MenuItemConstructorOptions[]).find((i) => i.label === 'Photos');
    (entry?.click as () => void)();
    await eventually(async () => engine.checkpoints.list(caller, NOOP, { plan_id: plan.id })[0]?.status === 'available', 'backup');
    handle.refreshTray();
    expect(items()[1]?.label).toMatch(/^Last run: succeeded \(Photos\)/);
    expect((electron.trays[0]?.image as { path: string }).path).toMatch(/tray-idle\.png$/);
  });

  it('notifies on failure and shows the failed icon', async () => {
    const engine = handle.engine;
    const caller = { projectId: handle.server.projectId, isAdmin: true };
    const plan = engine.plans.create(caller, {
      name: 'Broken',
      provider_id: NOOP,
      resources: [{ id: '6f1b1b8e-3c36-5a8e-9a43-0c5d9e0c6a13', type: DIR_TYPE, name: '/gone' }],
      parameters: {},
    });
    // Make this protect fail: the directory type's dependents throw for this one resource.
    const plugin = engine.protectables.get(DIR_TYPE);
    const original = plugin.dependents.bind(plugin);
    plugin.dependents = (ctx, r) => (r.name === '/gone' ? Promise.reject(new Error('/gone: no such directory')) : original(ctx, r));
    engine.checkpoints.create(caller, NOOP, plan.id);
    await eventually(async () => electron.notifications.length > 0, 'notification');
    plugin.dependents = original;
    expect(electron.notifications[0]).toEqual({ title: 'Backup failed', body: 'Broken: /gone: no such directory' });
    expect((electron.trays[0]?.image as { path: string }).path).toMatch(/tray-failed\.png$/);
  });

  it('applies start at login and the success-notification setting from the UI', async () => {
    expect(electron.app.loginItem).toEqual({ openAtLogin: false });
    const r = await invoke(rendererUrl(), 'settings.update', { startAtLogin: true, notifyOnSuccess: true });
    expect(r).toMatchObject({ ok: true, value: { startAtLogin: true, notifyOnSuccess: true, notifyOnFailure: true } });
    expect(electron.app.loginItem).toEqual({ openAtLogin: true });
    const bad = await invoke(rendererUrl(), 'settings.update', { startAtLogin: 'yes' });
    expect(bad).toMatchObject({ ok: false, error: { message: "setting 'startAtLogin' must be true or false" } });
    const before = electron.notifications.length;
    const caller = { projectId: handle.server.projectId, isAdmin: true };
    const plan = handle.engine.plans.list(caller, { name: 'Photos' })[0];
    handle.engine.checkpoints.create(caller, NOOP, plan?.id ?? '');
    await eventually(async () => electron.notifications.length > before, 'success notification');
    expect(electron.notifications.at(-1)?.title).toBe('Backup finished');
  });

  it('re-checks the schedule on resume and unlock', () => {
    const spy = vi.spyOn(handle.engine.scheduler, 'check');
    electron.powerMonitor.emit('resume');
    electron.powerMonitor.emit('unlock-screen');
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
  });
});

describe('start', () => {
  it('says in a dialog why it cannot start when another engine has the data folder', async () => {
    // A second app whose single-instance lock is its own (another profile, or `serve`) on this
    // data folder, which the running app's engine holds.
    const { startDesktop } = await import('../../src-main/shell/app');
    await expect(startDesktop()).rejects.toThrow(/in use by another Karbor engine/);
    expect(electron.dialog.shown).toEqual([
      { title: 'Karbor Desktop could not start', content: expect.stringContaining(`pid ${process.pid}`) as unknown },
    ]);
  });
});
