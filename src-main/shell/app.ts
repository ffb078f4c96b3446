import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, Notification, powerMonitor, shell, Tray } from 'electron';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Caller, Engine } from '../engine';
import { createEngine } from '../engine';
import { consoleLog } from '../engine/log';
import { resourceFile } from '../app-paths';
import { keystoneAuthArgs } from '../cli-args';
import { startServer, type RunningServer } from '../server';
import { createUiHandlers } from '../ui/handlers';
import { forwardEvents, registerIpc } from './ipc';
import { watchForNotifications } from './notify';
import { buildTrayMenu, readTrayState, trayIconName } from './tray-menu';
import { secureWindowOptions } from './window-options';

export interface DesktopHandle {
  engine: Engine;
  server: RunningServer;
  window(): BrowserWindow | undefined;
  refreshTray(): void;
}

/**
 * The desktop app: one engine in the main process, the REST API on 127.0.0.1, a window on the
 * built renderer, a tray that stays when the window closes. Data lives in Electron's `userData`
 * (or KARBOR_DATA_DIR). Resolves once everything runs (tests use the handle).
 */
export async function startDesktop(): Promise<DesktopHandle | undefined> {
  const log = consoleLog();
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return undefined;
  }
  let window: BrowserWindow | undefined;
  let quitting = false;
  const rendererFile = path.join(__dirname, '../renderer/index.html');
  const rendererUrl = pathToFileURL(rendererFile).toString();

  const openWindow = (): void => {
    if (window && !window.isDestroyed()) {
      window.show();
      window.focus();
      return;
    }
    const win = new BrowserWindow(secureWindowOptions(path.join(__dirname, '../preload/index.js')));
    window = win;
    win.webContents.setWindowOpenHandler(({ url }) => {
      if (/^https?:\/\//.test(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
    win.webContents.on('will-navigate', (event, url) => {
      if (url !== rendererUrl) event.preventDefault();
    });
    // Closing the window keeps the app (and its schedules) running in the tray.
    win.on('close', (event) => {
      if (!quitting) {
        event.preventDefault();
        win.hide();
      }
    });
    void win.loadFile(rendererFile);
  };

  app.on('second-instance', openWindow);
  app.on('window-all-closed', () => undefined);
  await app.whenReady();
  const dataDir = process.env.KARBOR_DATA_DIR ?? app.getPath('userData');
  // Keystone mode through KARBOR_KEYSTONE_AUTH, as in the headless mode.
  let engine: Engine;
  try {
    engine = createEngine({ dataDir, log, keystoneAuth: keystoneAuthArgs({}) });
  } catch (err) {
    // Nobody reads a desktop app's stderr: another engine has the data folder, a providers.d file is bad…
    dialog.showErrorBox('Karbor Desktop could not start', err instanceof Error ? err.message : String(err));
    throw err;
  }
  const server = await startServer({ engine, log, port: Number(process.env.KARBOR_PORT ?? 8799), rendererDir: false, mode: 'desktop' });
  const caller: Caller = { projectId: server.projectId, isAdmin: true };
  registerIpc(
    ipcMain,
    createUiHandlers(engine, caller, () => ({ ...appInfoOf(server, engine), mode: 'desktop' })),
    rendererUrl,
    log,
  );
  forwardEvents(engine, () => window?.webContents);

  const icons = {
    idle: nativeImage.createFromPath(resourceFile('icons/tray-idle.png')),
    running: nativeImage.createFromPath(resourceFile('icons/tray-running.png')),
    failed: nativeImage.createFromPath(resourceFile('icons/tray-failed.png')),
  };
  const tray = new Tray(icons.idle);
  tray.setToolTip('Karbor Desktop');
  const refreshTray = (): void => {
    const state = readTrayState(engine, caller);
    tray.setImage(icons[trayIconName(state)]);
    tray.setContextMenu(
      Menu.buildFromTemplate(
        buildTrayMenu(state, {
          open: openWindow,
          backUp: (planId, providerId) => {
            try {
              engine.checkpoints.create(caller, providerId, planId, { extraInfo: { created_by: 'tray' } });
            } catch (err) {
              new Notification({ title: 'Backup could not start', body: err instanceof Error ? err.message : String(err) }).show();
            }
            refreshTray();
          },
          quit: () => {
            quitting = true;
            app.quit();
          },
        }),
      ),
    );
  };
  engine.events.on('checkpoint.status', refreshTray);
  refreshTray();
  watchForNotifications(engine, { show: (title, body) => new Notification({ title, body }).show() }, () => {
    const s = engine.settings.get();
    return { onFailure: s.notifyOnFailure, onSuccess: s.notifyOnSuccess };
  });
  const applyLogin = (openAtLogin: boolean): void => app.setLoginItemSettings({ openAtLogin });
  applyLogin(engine.settings.get().startAtLogin);
  engine.settings.onChange = (s) => applyLogin(s.startAtLogin);
  // Timers drift or stall across suspend: re-check the schedule against the wall clock.
  powerMonitor.on('resume', () => engine.scheduler.check());
  powerMonitor.on('unlock-screen', () => engine.scheduler.check());
  app.on('before-quit', () => {
    quitting = true;
    void server.close().then(() => engine.close());
  });
  openWindow();
  log.info(`API listening on ${server.endpoint}`);
  return { engine, server, window: () => window, refreshTray };
}

function appInfoOf(server: RunningServer, engine: Engine) {
  return {
    version: app.getVersion(),
    dataDir: engine.dataDir,
    apiEndpoint: server.endpoint,
    tokenFile: server.tokenFile,
    projectId: server.projectId,
    providerFiles: engine.providers.loadedFiles(),
  };
}
