// `npm start`: installs what is missing, builds, then runs the desktop app — or, where the
// Electron binary is not available (no display, or it could not be downloaded), explains why
// and runs the headless mode (engine + API + web UI on 127.0.0.1) instead of failing.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

execFileSync('bash', ['scripts/ensure-deps.sh'], { cwd: root, stdio: 'inherit' });
if (!fs.existsSync(path.join(root, 'out/main/serve.js')) || process.env.KARBOR_REBUILD !== '0') {
  console.log('==> build');
  run('npx', ['electron-vite', 'build']);
}

function electronBinary() {
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    return { ok: true, bin: path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron') };
  }
  const pkg = path.join(root, 'node_modules/electron');
  const pathTxt = path.join(pkg, 'path.txt');
  if (!fs.existsSync(pathTxt))
    return {
      ok: false,
      why: 'the Electron binary is not installed (it is downloaded from the internet on first use, and this machine cannot reach it)',
    };
  const bin = path.join(pkg, 'dist', fs.readFileSync(pathTxt, 'utf8').trim());
  if (!fs.existsSync(bin)) return { ok: false, why: `the Electron binary ${bin} is missing` };
  return { ok: true, bin };
}

const args = process.argv.slice(2);
const electron = electronBinary();
const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
if (electron.ok && hasDisplay) {
  const child = spawn(electron.bin, [root, ...args], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const why = electron.ok ? 'there is no display (DISPLAY/WAYLAND_DISPLAY unset)' : electron.why;
  console.log(`\nThe desktop window cannot start here: ${why}.`);
  console.log('Starting the headless mode instead: the same engine, the Karbor API and the web UI on 127.0.0.1.\n');
  const child = spawn(process.execPath, [path.join(root, 'out/main/serve.js'), ...args], { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 0));
}
