import { setTimeout as sleep } from 'node:timers/promises';
import { OpenStackStateError } from './errors';

export interface WaitOptions {
  /** What is waited for, for messages: `cinder backup 1f…`. */
  what: string;
  /** Statuses that end the wait successfully (compared case-insensitively). */
  ready: string[];
  /** Statuses that fail it; any status with `error` in it fails too. */
  failed?: string[];
  timeoutMs?: number;
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Polls `read` until the resource reaches a ready status. `read` returns undefined when the
 * resource is gone, which ends the wait when `ready` includes `deleted`, else fails it.
 */
export async function waitForStatus<T extends { status?: string }>(
  read: () => Promise<T | undefined>,
  opts: WaitOptions,
): Promise<T | undefined> {
  const ready = opts.ready.map((s) => s.toLowerCase());
  const failed = (opts.failed ?? []).map((s) => s.toLowerCase());
  const end = Date.now() + (opts.timeoutMs ?? 600_000);
  let interval = Math.min(opts.intervalMs ?? 1000, 250);
  let last = '';
  for (;;) {
    opts.signal?.throwIfAborted();
    const r = await read();
    if (!r) {
      if (ready.includes('deleted')) return undefined;
      throw new OpenStackStateError(`${opts.what} disappeared while waiting for ${opts.ready.join('/')}`);
    }
    last = (r.status ?? '').toLowerCase();
    if (ready.includes(last)) return r;
    if (failed.includes(last) || (last.includes('error') && !ready.includes(last))) {
      const reason = (r as { fail_reason?: string }).fail_reason;
      throw new OpenStackStateError(`${opts.what} went to status '${r.status}'${reason ? `: ${reason}` : ''}`);
    }
    if (Date.now() > end) {
      throw new OpenStackStateError(
        `${opts.what} still '${r.status}' after ${Math.round((opts.timeoutMs ?? 600_000) / 1000)} s (waited for ${opts.ready.join('/')})`,
      );
    }
    await sleep(interval, undefined, opts.signal ? { signal: opts.signal } : undefined);
    interval = Math.min(interval * 1.5, opts.intervalMs ?? 1000);
  }
}
