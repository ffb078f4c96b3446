import { startDesktop } from './shell/app';

// Electron entry: everything that imports `electron` lives in ./shell.
startDesktop().catch((err: unknown) => {
  process.stderr.write(`Karbor Desktop could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
