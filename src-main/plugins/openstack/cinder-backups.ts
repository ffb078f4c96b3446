import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonObject } from '../../engine/db/schema/common';
import type { OpenStack } from './client';
import { OpenStackError } from './client/errors';

/** Marks a backup whose checkpoint is gone but whose incrementals still need it. */
export const PENDING_DELETE = 'karbor_desktop_delete';

/**
 * Whether the next backup of a volume is incremental: `full` and `incremental` say so; `auto`
 * makes one when `previousBackupId` (the same volume's backup in the plan's previous checkpoint)
 * is still available.
 */
export async function chooseIncremental(os: OpenStack, mode: string, previousBackupId?: unknown): Promise<boolean> {
  if (mode === 'full') return false;
  if (mode === 'incremental') return true;
  const prev = typeof previousBackupId === 'string' ? await os.cinder.getBackup(previousBackupId) : undefined;
  return prev?.status === 'available';
}

/** The `backup_mode` option of a plugin's parameters (`auto` when unset). */
export const backupMode = (p: JsonObject): string => (typeof p.backup_mode === 'string' ? p.backup_mode : 'auto');

/**
 * One backup at a time per cloud connection: Cinder's backup service handles concurrent backups
 * poorly (on the test rig two at once hang in `get_backup_device`), and a cloud gains nothing
 * from them. The graph's other work still runs in parallel. Volumes and consistency groups share
 * the queue.
 */
const backupQueues = new WeakMap<OpenStack, Promise<unknown>>();

export function oneBackupAtATime<T>(os: OpenStack, fn: () => Promise<T>): Promise<T> {
  const prev = backupQueues.get(os) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(fn);
  backupQueues.set(
    os,
    run.catch(() => undefined),
  );
  return run;
}

/**
 * Creates something with a POST whose failure may not say whether it happened: an answer can be
 * lost on any cloud, and the test rig's SQLite-backed Cinder answers 500 "database is locked"
 * under load. After a 5xx or no answer, the thing is looked up by its unique marks before the
 * POST is repeated, so a retry never makes a second one. Other failures are final.
 */
export async function createOnce<T>(create: () => Promise<T>, find: () => Promise<T | undefined>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      const unsure = err instanceof OpenStackError && (err.status === undefined || err.status >= 500);
      if (!unsure || attempt >= 4) throw err;
      await sleep(2000 * attempt, undefined, signal ? { signal } : undefined);
      const made = await find();
      if (made) return made;
    }
  }
}

/**
 * Deletes a backup; one that incrementals still depend on is marked and deleted later, when
 * the last of them goes (Cinder refuses to delete it before). Walks up the chain afterwards.
 */
export async function deleteBackupChain(os: OpenStack, backupId: string, parentHint?: string): Promise<void> {
  const c = os.cinder;
  const b = await c.getBackup(backupId);
  if (!b) return;
  if (b.has_dependent_backups) {
    await c.updateBackup(b.id, { metadata: { ...(b.metadata ?? {}), [PENDING_DELETE]: 'true' } });
    return;
  }
  await c.waitBackup(b.id, ['available', 'error'], undefined, 3_600_000);
  await c.deleteBackup(b.id);
  await c.waitBackup(b.id, ['deleted'], undefined, 600_000);
  const parentId = b.parent_id ?? parentHint;
  if (!b.is_incremental || !parentId) return;
  const parent = await c.getBackup(parentId);
  if (parent?.metadata?.[PENDING_DELETE] === 'true' && !parent.has_dependent_backups) await deleteBackupChain(os, parent.id);
}
