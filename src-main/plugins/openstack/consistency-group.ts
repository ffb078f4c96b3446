import type { JsonObject } from '../../engine/db/schema/common';
import type { ProtectContext, ProtectionPlugin } from '../../engine/providers/types';
import { backupMode, chooseIncremental, createOnce, deleteBackupChain, oneBackupAtATime } from './cinder-backups';
import type { OpenStack } from './client';
import type { CinderGroup, CinderVolume } from './client/cinder';
import { asText, GROUP_TYPE, VOLUME_TYPE, type OpenStackConnections } from './connections';
import { recordGroupMembers } from './group-members';

const str = { type: 'string' };
const GiB = 2 ** 30;

/** One member volume as the group's saved info records it. */
export interface SavedMember {
  volume_id: string;
  name: string;
  size: number;
  volume_type: string;
  bootable: boolean;
  backup_id: string;
  is_incremental: boolean;
  parent_backup_id?: string;
}

/** The description marking what a checkpoint made in Cinder, by which a retry or a delete finds it. */
const checkpointMark = (checkpointId: string): string => `Karbor Desktop checkpoint ${checkpointId}`;

const members = (info: JsonObject): SavedMember[] => (Array.isArray(info.members) ? (info.members as unknown as SavedMember[]) : []);

/** Waits for a group snapshot to settle, deletes it (with its member snapshots) and waits until it is gone. */
async function dropGroupSnapshot(os: OpenStack, id: string): Promise<void> {
  const c = os.cinder;
  await c.waitGroupSnapshot(id, ['available', 'error'], undefined, 300_000).catch(() => undefined);
  await c.deleteGroupSnapshot(id);
  await c.waitGroupSnapshot(id, ['deleted'], undefined, 300_000);
}

/**
 * Takes the group snapshot (one point in time for every member), backs each member up from its
 * snapshot in the group snapshot, then deletes the group snapshot. Nothing stays behind on
 * failure: backups made so far are deleted, and so is the group snapshot.
 */
async function backupGroup(ctx: ProtectContext, os: OpenStack, group: CinderGroup, vols: CinderVolume[]): Promise<SavedMember[]> {
  const c = os.cinder;
  const p = ctx.parameters;
  const description = checkpointMark(ctx.checkpointId);
  const tag = `karbor ${ctx.checkpointId.slice(0, 8)}`;
  const previous = members(ctx.previous ?? {});
  const made: string[] = [];
  let snapshotId: string | undefined;
  try {
    const gs = await createOnce(
      () => c.createGroupSnapshot(group.id, { name: tag, description }),
      async () => (await c.listGroupSnapshots()).find((x) => x.group_id === group.id && x.description === description),
      ctx.signal,
    );
    snapshotId = gs.id;
    await c.waitGroupSnapshot(gs.id, ['available'], ctx.signal);
    const out: SavedMember[] = [];
    for (const vol of vols) {
      const snap = (await c.listSnapshots({ volume_id: vol.id })).find((x) => x.group_snapshot_id === gs.id);
      if (!snap) throw new Error(`cinder: group snapshot ${gs.id} holds no snapshot of volume ${vol.id}`);
      const prev = previous.find((m) => m.volume_id === vol.id);
      const incremental = await chooseIncremental(os, backupMode(p), prev?.backup_id);
      const backup = await oneBackupAtATime(os, async () => {
        const created = await createOnce(
          () =>
            c.createBackup({
              volume_id: vol.id,
              snapshot_id: snap.id,
              name: `${tag} ${vol.name ?? vol.id}`.slice(0, 255),
              description,
              incremental,
              force: vol.status === 'in-use',
              container: typeof p.container === 'string' && p.container ? p.container : undefined,
              metadata: { karbor_checkpoint: ctx.checkpointId, karbor_group: group.id },
            }),
          async () => (await c.listBackups({ volume_id: vol.id })).find((b) => b.description === description),
          ctx.signal,
        );
        made.push(created.id);
        return (await c.waitBackup(created.id, ['available'], ctx.signal))!;
      });
      ctx.progress({ items: 1 });
      const parent = backup.parent_id ?? (backup.is_incremental ? prev?.backup_id : undefined);
      out.push({
        volume_id: vol.id,
        name: vol.name ?? '',
        size: vol.size,
        volume_type: vol.volume_type ?? '',
        bootable: vol.bootable === 'true',
        backup_id: backup.id,
        is_incremental: backup.is_incremental,
        ...(parent ? { parent_backup_id: parent } : {}),
      });
    }
    return out;
  } catch (err) {
    // Backups of a failed checkpoint would be kept by nobody.
    for (const id of made.reverse()) {
      await c
        .waitBackup(id, ['available', 'error'], undefined, 600_000)
        .then(() => c.deleteBackup(id))
        .then(() => c.waitBackup(id, ['deleted'], undefined, 600_000))
        .catch(() => undefined);
    }
    throw err;
  } finally {
    if (snapshotId) await dropGroupSnapshot(os, snapshotId).catch(() => undefined);
  }
}

/**
 * `OS::Cinder::ConsistencyGroup`: a Cinder generic volume group, protected consistently. Protect
 * takes a group snapshot, so that every member volume is captured at the same point in time,
 * backs each member up from its snapshot in it (one backup at a time per cloud, shared with the
 * volume plugin), and deletes the group snapshot. The member volumes are the group's children in
 * the graph; their nodes record the group's backups (`via_group`) instead of making their own.
 * Restore creates a group of the same group type and volume types and restores every member
 * volume from its backup into it, mapping the old volume ids to the new ones for the resources
 * restored after it (a server attaching them). Deleting the checkpoint deletes the backups.
 */
export function consistencyGroupProtection(conns: OpenStackConnections): ProtectionPlugin {
  return {
    name: 'os-cinder-consistency-group',
    supportedTypes: [GROUP_TYPE],
    schemas: () => ({
      options: {
        title: 'Consistency group options',
        type: 'object',
        properties: {
          backup_mode: {
            type: 'string',
            enum: ['auto', 'full', 'incremental'],
            default: 'auto',
            title: 'Backup mode',
            description: 'auto: incremental for members the previous checkpoint of this plan has a backup of.',
          },
          container: { ...str, title: 'Backup container' },
        },
        additionalProperties: false,
      },
      savedInfo: {
        title: 'Consistency group saved info',
        type: 'object',
        properties: {
          group_id: str,
          name: str,
          description: str,
          group_type: { ...str, description: 'Group type id.' },
          volume_types: { type: 'array', items: str, description: 'Volume type ids.' },
          members: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                volume_id: str,
                name: str,
                size: { type: 'integer' },
                volume_type: str,
                bootable: { type: 'boolean' },
                backup_id: str,
                is_incremental: { type: 'boolean' },
                parent_backup_id: str,
              },
            },
          },
        },
      },
      restore: {
        title: 'Consistency group restore',
        type: 'object',
        properties: {
          restore_name: {
            ...str,
            title: 'Name of the new group',
            description: 'Also prefixes its volumes: <name>-<original volume name>. The original names when empty.',
          },
        },
        additionalProperties: false,
      },
    }),
    protect: {
      async main(ctx) {
        const os = conns.forResource(ctx.providerId, ctx.resource);
        const group = await os.cinder.getGroup(ctx.resource.id);
        if (!group) throw new Error(`cinder: group ${ctx.resource.id} does not exist`);
        if (group.status !== 'available') throw new Error(`cinder: group ${group.id} is '${group.status}', not available`);
        const vols: CinderVolume[] = [];
        for (const id of group.volumes ?? []) {
          const v = await os.cinder.getVolume(id);
          if (!v) throw new Error(`cinder: volume ${id} of group ${group.id} does not exist`);
          vols.push(v);
        }
        ctx.progress({ totalItems: vols.length, totalBytes: vols.reduce((n, v) => n + v.size * GiB, 0) });
        // Cinder refuses to snapshot an empty group; there is nothing to back up then.
        const saved = vols.length ? await backupGroup(ctx, os, group, vols) : [];
        recordGroupMembers(
          ctx.signal,
          saved.map((m) => ({ volumeId: m.volume_id, info: { ...m, group_id: group.id, via_group: true } })),
        );
        return {
          group_id: group.id,
          name: group.name ?? '',
          description: group.description ?? '',
          group_type: group.group_type,
          volume_types: group.volume_types,
          members: saved as unknown as JsonObject[],
        };
      },
    },
    async restore(ctx) {
      // A group's volumes would have to move one by one (volume transfers cannot carry a group),
      // which would give up the one point in time that is the group's reason to exist.
      if (ctx.target) {
        throw new Error(
          'a consistency group restores only into its own project: restore it without restore_target, or protect its volumes on their own',
        );
      }
      const os = conns.forResource(ctx.providerId, ctx.resource);
      const c = os.cinder;
      const s = ctx.savedInfo;
      const prefix = typeof ctx.parameters.restore_name === 'string' && ctx.parameters.restore_name ? ctx.parameters.restore_name : '';
      for (const m of members(s)) if (!(await c.getBackup(m.backup_id))) throw new Error(`cinder: backup ${m.backup_id} no longer exists`);
      const description = `Restored by Karbor Desktop from checkpoint ${ctx.checkpointId} (group ${asText(s.group_id)})`;
      const group = await createOnce(
        () =>
          c.createGroup({
            name: prefix || asText(s.name) || `restored ${asText(s.group_id)}`,
            description,
            group_type: asText(s.group_type),
            volume_types: Array.isArray(s.volume_types) ? s.volume_types.filter((t): t is string => typeof t === 'string') : [],
          }),
        async () => (await c.listGroups()).find((g) => g.description === description && g.status !== 'deleting'),
        ctx.signal,
      );
      const restoredIds: Record<string, string> = {};
      try {
        await c.waitGroup(group.id, ['available'], ctx.signal);
        for (const m of members(s)) {
          const name = prefix ? `${prefix}-${m.name || m.volume_id}` : m.name || `restored ${m.volume_id}`;
          const vol = await createOnce(
            () =>
              c.createVolume({
                name,
                size: m.size,
                backup_id: m.backup_id,
                group_id: group.id,
                ...(m.volume_type ? { volume_type: m.volume_type } : {}),
              }),
            async () => (await c.listVolumes()).find((v) => v.group_id === group.id && v.metadata?.src_backup_id === m.backup_id),
            ctx.signal,
          );
          await c.waitVolume(vol.id, ['available'], ctx.signal);
          restoredIds[`${VOLUME_TYPE}#${m.volume_id}`] = vol.id;
          ctx.progress({ items: 1 });
        }
      } catch (err) {
        // A half-restored group is removed with the volumes restored into it so far.
        await c
          .waitGroup(group.id, ['available', 'error'], undefined, 300_000)
          .then(() => c.deleteGroup(group.id, true))
          .then(() => c.waitGroup(group.id, ['deleted'], undefined, 600_000))
          .catch(() => undefined);
        throw err;
      }
      return { newId: group.id, restoredIds };
    },
    async verify(ctx) {
      const os = conns.forResource(ctx.providerId, ctx.resource);
      for (const m of members(ctx.savedInfo)) {
        const b = await os.cinder.getBackup(m.backup_id);
        if (!b) throw new Error(`cinder: backup ${m.backup_id} of volume ${m.volume_id} no longer exists`);
        if (b.status !== 'available') throw new Error(`cinder: backup ${b.id} of volume ${m.volume_id} is '${b.status}'`);
      }
    },
    async delete(ctx) {
      const os = conns.forResource(ctx.providerId, ctx.resource);
      for (const m of members(ctx.savedInfo)) await deleteBackupChain(os, m.backup_id, m.parent_backup_id);
      // A group snapshot whose deletion failed during protect is found by its checkpoint's mark.
      const mark = checkpointMark(ctx.checkpointId);
      for (const gs of await os.cinder.listGroupSnapshots())
        if (gs.group_id === ctx.resource.id && gs.description === mark) await dropGroupSnapshot(os, gs.id);
    },
  };
}
