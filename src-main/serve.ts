import { parseCommonArgs } from './cli-args';
import { createEngine } from './engine';
import { consoleLog } from './engine/log';
import { startServer } from './server';

/**
 * Headless entry: the engine, the Karbor v1 API and the web UI on 127.0.0.1, without Electron.
 * `node out/main/serve.js [--data-dir DIR] [--port N]`
 */
async function main(): Promise<void> {
  const args = parseCommonArgs(process.argv.slice(2));
  const log = consoleLog((process.env.KARBOR_LOG_LEVEL as 'info' | undefined) ?? 'info');
  const engine = createEngine({ dataDir: args.dataDir, log });
  const server = await startServer({ engine, log, port: args.port });
  const lines = [
    'Karbor Desktop (headless) is running.',
    `  API:        ${server.endpoint}`,
    `  Project id: ${server.projectId}`,
    `  Token file: ${server.tokenFile}`,
    `  Data dir:   ${engine.dataDir}`,
  ];
  if (server.uiUrl) lines.push(`  Web UI:     ${server.uiUrl}  (paste the token from the token file when asked)`);
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
