import { on } from './bridge';

/**
 * Follows a restore or verification until it leaves `in_progress`: each matching status event
 * re-reads it at once, and a slow poll covers events missed while the event stream reconnects.
 * `onUpdate` sees every state read; the promise resolves with the final one.
 */
export function watchRun<T extends { id: string; status: string }>(
  first: T,
  read: (id: string) => Promise<T>,
  event: 'restore.status' | 'verification.status',
  onUpdate: (run: T) => void,
  pollMs = 2000,
): Promise<T> {
  onUpdate(first);
  if (first.status !== 'in_progress') return Promise.resolve(first);
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const stop = (): void => {
      done = true;
      off();
      clearInterval(timer);
    };
    const refresh = (): void => {
      if (done) return;
      read(first.id)
        .then((run) => {
          if (done) return;
          onUpdate(run);
          if (run.status !== 'in_progress') {
            stop();
            resolve(run);
          }
        })
        .catch((err: unknown) => {
          stop();
          reject(err instanceof Error ? err : new Error(String(err)));
        });
    };
    const off = on(event, (e) => {
      const id = 'restoreId' in e ? e.restoreId : e.verificationId;
      if (id === first.id) refresh();
    });
    const timer = setInterval(refresh, pollMs);
    refresh();
  });
}
