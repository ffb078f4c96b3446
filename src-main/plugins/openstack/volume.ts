import type { JsonObject } from '../../engine/db/schema/common';
import type { ProtectContext, ProtectionPlugin } from '../../engine/providers/types';
import { backupMode, chooseIncremental, createOnce, deleteBackupChain, oneBackupAtATime } from './cinder-backups';
import type { OpenStack } from './client';
import type { CinderBackup } from './client/cinder';
import { VOLUME_TYPE, type OpenStackConnections } from './connections';
import { groupMember } from './group-members';
import { restoreVolume } from './volume-restore';

const str = { type: 'string' };

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
 * `OS::Cinder::Volume` through Cinder backups. `backup_mode` `auto` (the default) makes an
 * incremental backup when the plan's previous checkpoint holds an available backup of the
 * volume, else a full one. Attached volumes are backed up from a forced snapshot, which is
 * deleted afterwards. Restore creates a new volume from the backup (in another project through
 * a volume transfer, see `volume-restore.ts`); deleting the checkpoint deletes the backup.
 *
 * A volume whose consistency group is in the same checkpoint (it is then the group's child in
 * the graph) is backed up by the group, from the group's snapshot, so that all members share one
 * point in time: its node records that backup (`via_group`) and leaves restore and delete to the
 * group, which owns it.
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
          via_group: { type: 'boolean', description: 'Backed up by its consistency group, which owns the backup.' },
          group_id: str,
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
        const fromGroup = groupMember(ctx.signal, ctx.resource.id);
        if (fromGroup) return fromGroup;
        const os = conns.forResource(ctx.providerId, ctx.resource);
        const incremental = await chooseIncremental(os, backupMode(ctx.parameters), ctx.previous?.backup_id);
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
    // The group restores its members into a new group after their nodes and maps their ids.
    restore: async (ctx) => (ctx.savedInfo.via_group ? undefined : restoreVolume(conns, ctx)),
    async verify(ctx) {
      const os = conns.forResource(ctx.providerId, ctx.resource);
      const id = ctx.savedInfo.backup_id;
      const b = typeof id === 'string' ? await os.cinder.getBackup(id) : undefined;
      if (!b) throw new Error(`cinder: backup ${typeof id === 'string' ? id : '(none)'} no longer exists`);
      if (b.status !== 'available') throw new Error(`cinder: backup ${b.id} is '${b.status}'`);
    },
    async delete(ctx) {
      const id = ctx.savedInfo.backup_id;
      if (typeof id !== 'string' || ctx.savedInfo.via_group) return;
      const hint = typeof ctx.savedInfo.parent_backup_id === 'string' ? ctx.savedInfo.parent_backup_id : undefined;
      await deleteBackupChain(conns.forResource(ctx.providerId, ctx.resource), id, hint);
    },
  };
}
