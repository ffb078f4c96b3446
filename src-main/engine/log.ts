/** Minimal structured logger interface; the shell and serve entry supply real sinks. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLog: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export function consoleLog(level: 'debug' | 'info' | 'warn' | 'error' = 'info'): Logger {
  const order = ['debug', 'info', 'warn', 'error'];
  const min = order.indexOf(level);
  const emit =
    (lvl: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (order.indexOf(lvl) < min) return;
      const line = fields ? `${msg} ${JSON.stringify(fields)}` : msg;
      process.stderr.write(`[${new Date().toISOString()}] ${lvl.toUpperCase()} ${line}\n`);
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
