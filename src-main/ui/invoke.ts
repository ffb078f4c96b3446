import type { UiMethod, UiResult } from '../contract';
import { isEngineError } from '../engine/errors';
import type { Logger } from '../engine/log';
import type { UiHandlers } from './handlers';

/**
 * Dispatches one UI call and wraps the outcome as `{ok, value}` / `{ok: false, error}`:
 * Electron keeps only `message` of a thrown error, and the UI needs the code too. Unexpected
 * errors are logged with their stack and shown to the user as a plain sentence.
 */
export async function invokeUi(handlers: UiHandlers, method: unknown, input: unknown, log: Logger): Promise<UiResult<unknown>> {
  if (typeof method !== 'string' || !Object.hasOwn(handlers, method)) {
    return { ok: false, error: { code: 'UNKNOWN_METHOD', message: `Unknown operation '${String(method)}'` } };
  }
  const handler = handlers[method as UiMethod] as (i: unknown) => unknown;
  try {
    const value = await handler(input ?? {});
    return { ok: true, value };
  } catch (err) {
    if (isEngineError(err)) return { ok: false, error: { code: err.code, message: err.message } };
    log.error('UI operation failed', { method, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    return { ok: false, error: { code: 'INTERNAL', message: 'Something went wrong inside Karbor Desktop; the details are in its log.' } };
  }
}
