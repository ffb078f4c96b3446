import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const APP_NAME = 'karbor-desktop';
/** Kept equal to package.json's version (a test checks it). */
export const APP_VERSION = '0.1.0';

/** The same folder Electron's `userData` uses, so serve mode and the desktop app share data. */
export function defaultDataDir(env = process.env, platform = process.platform): string {
  if (env.KARBOR_DATA_DIR) return path.resolve(env.KARBOR_DATA_DIR);
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), APP_NAME);
  if (platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', APP_NAME);
  return path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), APP_NAME);
}

/** Finds the built renderer (`out/renderer`) from the bundle or the source tree. */
export function findRendererDir(start = __dirname): string | undefined {
  for (let dir = start; ; dir = path.dirname(dir)) {
    for (const c of [path.join(dir, 'renderer'), path.join(dir, 'out', 'renderer')]) {
      if (fs.existsSync(path.join(c, 'index.html'))) return c;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * A file under `resources/`: in a packaged app it lives in Electron's `resourcesPath`
 * (electron-builder's extraResources); in development and tests, in the repository.
 */
export function resourceFile(rel: string, start = __dirname): string {
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  if (resourcesPath && fs.existsSync(path.join(resourcesPath, rel))) return path.join(resourcesPath, rel);
  for (let dir = start; ; dir = path.dirname(dir)) {
    const c = path.join(dir, 'resources', rel);
    if (fs.existsSync(c)) return c;
    if (path.dirname(dir) === dir) return path.join(start, 'resources', rel);
  }
}
