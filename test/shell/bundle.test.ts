/**
 * Smoke test of the built Electron entry (`out/main/index.js`, from `npm run build`) with the
 * stand-in `electron` module: the real binary cannot be downloaded here. The engine must start,
 * the API answer, and the window load the built renderer.
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { eventually, tempDir } from '../helpers/harness';
import { makeFakeElectron } from './fake-electron';

const root = path.resolve(__dirname, '../..');
const entry = path.join(root, 'out/main/index.js');
const dataDir = tempDir();
const electron = makeFakeElectron(dataDir);

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const mod = Module as unknown as { _load: Loader };
const originalLoad = mod._load;

afterAll(async () => {
  mod._load = originalLoad;
  electron.app.quit();
  await new Promise((r) => setTimeout(r, 200));
  delete process.env.KARBOR_PORT;
  delete process.env.KARBOR_DATA_DIR;
});

it('starts the engine and API and loads the built renderer', async () => {
  expect(fs.existsSync(entry), 'run `npm run build` first').toBe(true);
  expect(fs.existsSync(path.join(root, 'out/preload/index.js'))).toBe(true);
  mod._load = (request, parent, isMain) => (request === 'electron' ? electron : originalLoad(request, parent, isMain));
  process.env.KARBOR_PORT = '0';
  process.env.KARBOR_DATA_DIR = dataDir;
  Module.createRequire(entry)(entry);
  const endpointFile = path.join(dataDir, 'api-endpoint');
  await eventually(async () => fs.existsSync(endpointFile) && electron.windows.length > 0, 'desktop start');
  const endpoint = fs.readFileSync(endpointFile, 'utf8').trim();
  const token = fs.readFileSync(path.join(dataDir, 'api-token'), 'utf8').trim();
  const res = await fetch(`${endpoint}/providers`, { headers: { 'X-Auth-Token': token } });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { providers: { name: string }[] }).providers.map((p) => p.name)).toContain('No-Op Provider');
  const loaded = electron.windows[0]?.loaded ?? '';
  expect(path.resolve(loaded)).toBe(path.join(root, 'out/renderer/index.html'));
  expect(fs.existsSync(loaded)).toBe(true);
  expect((electron.windows[0]?.options as { webPreferences: { preload: string } }).webPreferences.preload).toBe(
    path.join(root, 'out/preload/index.js'),
  );
  expect(electron.trays).toHaveLength(1);
});
