import fs from 'node:fs';
import { KEYSTONE_ARGS, keystoneAuthArgs, parseCommonArgs } from './cli-args';
import { createEngine } from './engine';
import { consoleLog } from './engine/log';
import { startServer } from './server';

/**
 * Headless entry: the engine, the Karbor v1 API and the web UI on 127.0.0.1, without Electron.
 * `node out/main/serve.js [--data-dir DIR] [--port N] [--min-interval S] [--keystone-auth CLOUD,…] [--keystone-cache-seconds S]`
 */
async function main(): Promise<void> {
  const args = parseCommonArgs(process.argv.slice(2), { 'min-interval': { type: 'string' }, ...KEYSTONE_ARGS });
  const log = consoleLog((process.env.KARBOR_LOG_LEVEL as 'info' | undefined) ?? 'info');
  const rawInterval = (args.values['min-interval'] as string | undefined) ?? process.env.KARBOR_MIN_INTERVAL;
  if (rawInterval !== undefined && !/^\d+$/.test(rawInterval))
    throw new Error(`--min-interval must be a whole number of seconds, got '${rawInterval}'`);
  const minInterval = rawInterval === undefined ? undefined : Number(rawInterval);
  const keystoneAuth = keystoneAuthArgs(args.values);
  const engine = createEngine({
    dataDir: args.dataDir,
    log,
    keystoneAuth,
    timeModel:
      minInterval === undefined ? undefined : { minIntervalSeconds: minInterval, minWindowSeconds: Math.min(60, Math.max(1, minInterval)) },
  });
  const server = await startServer({ engine, log, port: args.port });
  const lines = [
    'Karbor Desktop (headless) is running.',
    `  API:        ${server.endpoint}`,
    `  Project id: ${server.projectId}`,
    `  Token file: ${server.tokenFile}`,
    `  Data dir:   ${engine.dataDir}`,
  ];
  if (keystoneAuth)
    lines.push(`  Keystone:   tokens of ${engine.auth.keystones.map((k) => `'${k.name}' (${k.session.identityUrl})`).join(', ')} accepted`);
  if (server.uiUrl) {
    const token = fs.readFileSync(server.tokenFile, 'utf8').trim();
    lines.push(`  Web UI:     ${server.uiUrl}#token=${encodeURIComponent(token)}`);
  }
  lines.push(
    `  Try:        karbor --os-no-client-auth --karbor-url ${server.endpoint} --os-auth-token "$(cat '${server.tokenFile}')" provider-list`,
    'Press Ctrl+C to stop.',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`received ${signal}, stopping`);
    void server
      .close()
      .then(() => engine.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`karbor-desktop: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
