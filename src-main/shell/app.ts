import { app, BrowserWindow, shell } from 'electron';
import path from 'node:path';
import { createEngine, type Engine } from '../engine';
import { consoleLog } from '../engine/log';
import { startServer, type RunningServer } from '../server';
import { secureWindowOptions } from './window-options';

/**
 * The desktop app: one engine in the main process, the REST API on 127.0.0.1, and a window on
 * the built renderer. Data lives in Electron's `userData` (or KARBOR_DATA_DIR).
 */
export function startDesktop(): void {
  const log = consoleLog();
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  let engine: Engine | undefined;
  let server: RunningServer | undefined;
  let window: BrowserWindow | undefined;

  const openWindow = (): void => {
    if (window && !window.isDestroyed()) {
      window.show();
      window.focus();
      return;
    }
    window = new BrowserWindow(secureWindowOptions(path.join(__dirname, '../preload/index.js')));
    window.webContents.setWindowOpenHandler(({ url }) => {
      if (/^https?:\/\//.test(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
    window.webContents.on('will-navigate', (event) => event.preventDefault());
    void window.loadFile(path.join(__dirname, '../renderer/index.html'));
  };

  app.on('second-instance', openWindow);
  app.on('window-all-closed', () => undefined);
  app.on('before-quit', () => {
    void server?.close().then(() => engine?.close());
  });
  void app.whenReady().then(async () => {
    const dataDir = process.env.KARBOR_DATA_DIR ?? app.getPath('userData');
    engine = createEngine({ dataDir, log });
    server = await startServer({ engine, log, port: Number(process.env.KARBOR_PORT ?? 8799), rendererDir: false });
    log.info(`API listening on ${server.endpoint}`);
    openWindow();
  });
}
