import type { BrowserWindowConstructorOptions } from 'electron';

/** The main window: isolated, sandboxed renderer without Node. */
export function secureWindowOptions(preload: string): BrowserWindowConstructorOptions {
  return {
    width: 1200,
    height: 800,
    show: true,
    title: 'Karbor Desktop',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  };
}
