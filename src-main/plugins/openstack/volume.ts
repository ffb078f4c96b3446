import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonObject } from '../../engine/db/schema/common';
import type { ProtectContext, ProtectionPlugin } from '../../engine/providers/types';
import type { OpenStack } from './client';
import type { CinderBackup } from './client/cinder';
import { OpenStackError } from './client/errors';
import { VOLUME_TYPE, type OpenStackConnections } from './connections';
import { restoreVolume } from './volume-restore';

const str = { type: 'string' };
/** Marks a backup whose checkpoint is gone but whose incrementals still need it. */
export const PENDING_DELETE = 'karbor_desktop_delete';

async function chooseIncremental(os: OpenStack, mode: string, previous?: JsonObject): Promise<boolean> {
  if (mode === 'full') return false;
  if (mode === 'incremental') return true;
  // auto: incremental when this plan's previous checkpoint left a usable backup of the volume
  const prev = typeof previous?.backup_id === 'string' ? await os.cinder.getBackup(previous.backup_id) : undefined;
  return prev?.status === 'available';
}

/**
 * One backup at a time per cloud connection: Cinder's backup service handles concurrent backups
 * poorly (on the test rig two at once hang in `get_backup_device`), and a cloud gains nothing
 * from them. The graph's other work still runs in parallel.
 */
const backupQueues = new WeakMap<OpenStack, Promise<unknown>>();

function oneBackupAtATime<T>(os: OpenStack, fn: () => Promise<T>): Promise<T> {
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
async function createOnce<T>(create: () => Promise<T>, find: () => Promise<T | undefined>, signal: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      const unsure = err instanceof OpenStackError && (err.status === undefined || err.status >= 500);
      if (!unsure || attempt >= 4) throw err;
      await sleep(2000 * attempt, undefined, { signal });
      const made = await find();
      if (made) return made;
    }
  }
}

/** Backs up through a snapshot when Cinder cannot back the volume up directly (attached, or it has snapshots). */
async function backupVolume(
  ctx: ProtectContext,
  os: OpenStack,
  incremental: boolean,
): Promise<{ backup: CinderBackup; viaSnapshot: boolean }> {
  const c = os.cinder;
  const vol = await c.getVolume(ctx.resource.id);
  if (!vol) throw new Error(`cinder: volume ${ctx.resource.id} does not exist`);
  if (!['available', 'in-use'].includes(vol.status))
    throw new Error(`cinder: volume ${vol.id} is '${vol.status}', not available or in-use`);
  const p = ctx.parameters;
  const name =
    typeof p.backup_name === 'string' && p.backup_name
      ? p.backup_name
      : `karbor ${ctx.checkpointId.slice(0, 8)} ${vol.name ?? vol.id}`.slice(0, 255);
  const description = `Karbor Desktop checkpoint ${ctx.checkpointId}`;
  const viaSnapshot = vol.status === 'in-use' || (await c.listSnapshots({ volume_id: vol.id })).length > 0;
  let snapshotId: string | undefined;
  let backupId: string | undefined;
  try {
    if (viaSnapshot) {
      const snapName = `karbor ${ctx.checkpointId.slice(0, 8)}`;
      const snap = await createOnce(
        () => c.createSnapshot(vol.id, { name: snapName, description, force: true }),
        async () => (await c.listSnapshots({ volume_id: vol.id })).find((x) => x.name === snapName && x.description === description),
        ctx.signal,
      );
      snapshotId = snap.id;
      await c.waitSnapshot(snap.id, ['available'], ctx.signal);
    }
    const created = await createOnce(
      () =>
        c.createBackup({
          volume_id: vol.id,
          name,
          description,
          incremental,
          force: vol.status === 'in-use',
          snapshot_id: snapshotId,
          container: typeof p.container === 'string' && p.container ? p.container : undefined,
          metadata: { karbor_checkpoint: ctx.checkpointId },
        }),
      async () => (await c.listBackups({ volume_id: vol.id })).find((b) => b.description === description),
      ctx.signal,
    );
    backupId = created.id;
    const backup = (await c.waitBackup(created.id, ['available'], ctx.signal)) as CinderBackup;
    return { backup, viaSnapshot };
  } catch (err) {
    // A backup of a failed checkpoint would be kept by nobody.
    if (backupId) await c.deleteBackup(backupId).catch(() => undefined);
    throw err;
  } finally {
    if (snapshotId) {
      const id = snapshotId;
      await c
        .waitSnapshot(id, ['available', 'error'], undefined, 120_000)
        .then(() => c.deleteSnapshot(id))
        .then(() => c.waitSnapshot(id, ['deleted'], undefined, 300_000))
        .catch(() => undefined);
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

/**
 * `OS::Cinder::Volume` through Cinder backups. `backup_mode` `auto` (the default) makes an
 * incremental backup when the plan's previous checkpoint holds an available backup of the
 * volume, else a full one. Attached volumes are backed up from a forced snapshot, which is
 * deleted afterwards. Restore creates a new volume from the backup (in another project through
 * a volume transfer, see `volume-restore.ts`); deleting the checkpoint deletes the backup.
 */
export function volumeProtection(conns: OpenStackConnections): ProtectionPlugin {
  return {
    name: 'os-cinder-volume',
    supportedTypes: [VOLUME_TYPE],
    schemas: () => ({
      options: {
        title: 'Volume options',
        type: 'object',
        properties: {
          backup_mode: {
            type: 'string',
            enum: ['auto', 'full', 'incremental'],
            default: 'auto',
            title: 'Backup mode',
            description: 'auto: incremental when the previous checkpoint of this plan has a backup of the volume.',
          },
          backup_name: { ...str, title: 'Backup name' },
          container: { ...str, title: 'Backup container' },
        },
        additionalProperties: false,
      },
      savedInfo: {
        title: 'Volume saved info',
        type: 'object',
        properties: {
          volume_id: str,
          backup_id: str,
          parent_backup_id: str,
          name: str,
          size: { type: 'integer' },
          is_incremental: { type: 'boolean' },
          via_snapshot: { type: 'boolean' },
          bootable: { type: 'boolean' },
          volume_type: str,
          attachments: { type: 'array' },
        },
      },
      restore: {
        title: 'Volume restore',
        type: 'object',
        properties: {
          restore_name: { ...str, title: 'Name of the new volume', description: 'The original name when empty.' },
          volume_id: { ...str, title: 'Restore over this existing volume', description: 'A new volume is created when empty.' },
        },
        additionalProperties: false,
      },
    }),
    protect: {
      async main(ctx) {
        const os = conns.forResource(ctx.providerId, ctx.resource);
        const mode = typeof ctx.parameters.backup_mode === 'string' ? ctx.parameters.backup_mode : 'auto';
        const incremental = await chooseIncremental(os, mode, ctx.previous);
        const vol = await os.cinder.getVolume(ctx.resource.id);
        ctx.progress({ totalItems: 1, totalBytes: (vol?.size ?? 0) * 2 ** 30 });
        const { backup, viaSnapshot } = await oneBackupAtATime(os, () => backupVolume(ctx, os, incremental));
        ctx.progress({ items: 1 });
        const info: JsonObject = {
          volume_id: ctx.resource.id,
          backup_id: backup.id,
          name: vol?.name ?? '',
          size: vol?.size ?? backup.size,
          is_incremental: backup.is_incremental,
          via_snapshot: viaSnapshot,
          bootable: vol?.bootable === 'true',
          volume_type: vol?.volume_type ?? '',
          attachments: (vol?.attachments ?? []).map((a) => ({ server_id: a.server_id, device: a.device ?? null })),
        };
        const parent =
          backup.parent_id ?? (backup.is_incremental && typeof ctx.previous?.backup_id === 'string' ? ctx.previous.backup_id : undefined);
        if (parent) info.parent_backup_id = parent;
        return info;
      },
    },
    restore: (ctx) => restoreVolume(conns, ctx),
    async verify(ctx) {
      const os = conns.forResource(ctx.providerId, ctx.resource);
      const id = ctx.savedInfo.backup_id;
      const b = typeof id === 'string' ? await os.cinder.getBackup(id) : undefined;
      if (!b) throw new Error(`cinder: backup ${typeof id === 'string' ? id : '(none)'} no longer exists`);
      if (b.status !== 'available') throw new Error(`cinder: backup ${b.id} is '${b.status}'`);
    },
    async delete(ctx) {
      const id = ctx.savedInfo.backup_id;
      if (typeof id !== 'string') return;
      const hint = typeof ctx.savedInfo.parent_backup_id === 'string' ? ctx.savedInfo.parent_backup_id : undefined;
      await deleteBackupChain(conns.forResource(ctx.providerId, ctx.resource), id, hint);
    },
  };
}
