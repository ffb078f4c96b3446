import { setTimeout as sleep } from 'node:timers/promises';
import type { RestoreContext } from '../../engine/providers/types';
import type { OpenStack } from './client';
import { OpenStackError } from './client/errors';
import { asText, type OpenStackConnections } from './connections';
import { cinderRoot, restoreConnection } from './restore-target';

/** Whether a volume now belongs to a project (an admin sees every volume, so the owner field decides when shown). */
async function ownedBy(os: OpenStack, volumeId: string, projectId: string): Promise<boolean> {
  const v = await os.cinder.getVolume(volumeId).catch(() => undefined);
  if (!v) return false;
  const owner = v['os-vol-tenant-attr:tenant_id'];
  return owner ? owner === projectId : true;
}

/**
 * Undoes a restore into another project that failed on the way: withdraws the volume's
 * transfer offers and deletes the volume wherever it ended up, so neither project keeps a
 * half-restored volume.
 */
async function undo(source: OpenStack, target: OpenStack, volumeId: string, targetProject: string): Promise<void> {
  for (const t of await source.cinder.listTransfers().catch(() => []))
    if (t.volume_id === volumeId) await source.cinder.deleteTransfer(t.id).catch(() => undefined);
  const holder = (await ownedBy(target, volumeId, targetProject)) ? target : source;
  await holder.cinder
    .waitVolume(volumeId, ['available', 'error', 'error_restoring'], undefined, 600_000)
    .then(() => holder.cinder.deleteVolume(volumeId))
    .then(() => holder.cinder.waitVolume(volumeId, ['deleted'], undefined, 300_000))
    .catch(() => undefined);
}

/**
 * A Cinder backup belongs to the project that made it, and Cinder restores it only into a
 * volume that project can see. Into another project of the same cloud, the volume is therefore
 * restored in the backup's project (with the provider's session), offered with a Cinder volume
 * transfer, and accepted with the target's session: the volume, its data and its id move
 * without a copy, and members may do both steps (importing backup records would need admins on
 * both sides). Another cloud's Cinder cannot reach the backup at all, which is refused before
 * anything is made.
 */
async function restoreIntoProject(
  ctx: RestoreContext,
  source: OpenStack,
  target: OpenStack,
  backupId: string,
  name: string,
): Promise<string> {
  if (typeof ctx.parameters.volume_id === 'string' && ctx.parameters.volume_id)
    throw new Error("volume_id (restore over an existing volume) works only in the backup's own project, not with a restore_target");
  const [from, to] = await Promise.all([cinderRoot(source), cinderRoot(target)]);
  if (from !== to)
    throw new Error(
      `cinder: backup ${backupId} is kept by the Cinder at ${from}, the restore target's Cinder is ${to}: a Cinder backup can be restored only within its own cloud`,
    );
  const targetProject = await target.session.projectId();
  if (!(await source.cinder.getBackup(backupId))) throw new Error(`cinder: backup ${backupId} no longer exists`);
  const volumeId = await source.cinder.restoreBackup(backupId, { name });
  try {
    await source.cinder.waitVolume(volumeId, ['available'], ctx.signal);
    const offer = await source.cinder.createTransfer(volumeId, `karbor restore ${ctx.checkpointId.slice(0, 8)}`);
    for (let attempt = 1; ; attempt++) {
      try {
        await target.cinder.acceptTransfer(offer.id, offer.auth_key);
        break;
      } catch (err) {
        // An answer lost after Cinder moved the volume still moved it.
        if (await ownedBy(target, volumeId, targetProject)) break;
        const unsure = err instanceof OpenStackError && (err.status === undefined || err.status >= 500);
        if (!unsure || attempt >= 3) throw err;
        await sleep(2000 * attempt, undefined, { signal: ctx.signal });
      }
    }
    await target.cinder.waitVolume(volumeId, ['available'], ctx.signal);
    return volumeId;
  } catch (err) {
    await undo(source, target, volumeId, targetProject);
    throw err;
  }
}

/**
 * Restores `OS::Cinder::Volume` from its backup: into a new volume (`restore_name`, default the
 * original name) or over `volume_id`, in the backup's project; with a `restore_target`, into
 * the target's project (see `restoreIntoProject`).
 */
export async function restoreVolume(conns: OpenStackConnections, ctx: RestoreContext): Promise<{ newId: string }> {
  const s = ctx.savedInfo;
  if (typeof s.backup_id !== 'string') throw new Error('saved info names no backup');
  const p = ctx.parameters;
  const over = typeof p.volume_id === 'string' && p.volume_id ? p.volume_id : undefined;
  const name =
    typeof p.restore_name === 'string' && p.restore_name
      ? p.restore_name
      : typeof s.name === 'string' && s.name
        ? s.name
        : `restored ${asText(s.volume_id)}`;
  const source = conns.forResource(ctx.providerId, ctx.resource);
  const target = await restoreConnection(conns, ctx);
  let volumeId: string;
  if (ctx.target && (await target.session.projectId()) !== (await source.session.projectId())) {
    volumeId = await restoreIntoProject(ctx, source, target, s.backup_id, name);
  } else {
    const backup = await target.cinder.getBackup(s.backup_id);
    if (!backup) throw new Error(`cinder: backup ${s.backup_id} no longer exists`);
    volumeId = await target.cinder.restoreBackup(s.backup_id, over ? { volume_id: over } : { name });
    await target.cinder.waitVolume(volumeId, ['available'], ctx.signal);
  }
  ctx.progress({ items: 1 });
  return { newId: volumeId };
}
