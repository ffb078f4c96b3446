import { parseArgs } from 'node:util';
import { defaultDataDir } from './app-paths';
import { DEFAULT_PORT } from './server';

export interface CommonArgs {
  dataDir: string;
  port: number;
  rest: string[];
  values: Record<string, string | boolean | undefined>;
}

/** `--data-dir DIR` (or KARBOR_DATA_DIR) and `--port N` (or KARBOR_PORT), shared by the entries. */
export function parseCommonArgs(argv: string[], extra: Record<string, { type: 'string' | 'boolean' }> = {}): CommonArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { 'data-dir': { type: 'string' }, port: { type: 'string' }, ...extra },
  });
  const rawPort = values.port ?? process.env.KARBOR_PORT ?? String(DEFAULT_PORT);
  if (!/^\d+$/.test(rawPort) || Number(rawPort) > 65535) throw new Error(`--port must be a number from 0 to 65535, got '${rawPort}'`);
  const dataDir = values['data-dir'] ?? defaultDataDir();
  return { dataDir, port: Number(rawPort), rest: positionals, values: values };
}
