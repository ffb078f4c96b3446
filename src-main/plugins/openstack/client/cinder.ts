import { OpenStackError } from './errors';
import { jsonCall, type Session, type SessionCall } from './keystone';
import { compareVersions, negotiateMicroversion } from './microversion';
import { waitForStatus } from './wait';

export interface CinderAttachment {
  server_id: string;
  attachment_id?: string;
  device?: string;
  volume_id?: string;
}

export interface CinderVolume {
  id: string;
  name: string | null;
  status: string;
  size: number;
  bootable?: string;
  volume_type?: string | null;
  availability_zone?: string;
  description?: string | null;
  metadata?: Record<string, string>;
  attachments: CinderAttachment[];
  group_id?: string | null;
  snapshot_id?: string | null;
  'os-vol-tenant-attr:tenant_id'?: string;
}

export interface CinderSnapshot {
  id: string;
  name: string | null;
  description?: string | null;
  status: string;
  volume_id: string;
  size: number;
  /** The group snapshot this snapshot is a member of (microversion 3.14 and newer). */
  group_snapshot_id?: string | null;
}

export interface CinderBackup {
  id: string;
  name: string | null;
  status: string;
  volume_id: string;
  snapshot_id?: string | null;
  size: number;
  is_incremental: boolean;
  has_dependent_backups: boolean;
  container?: string | null;
  fail_reason?: string | null;
  created_at?: string;
  data_timestamp?: string;
  description?: string | null;
  metadata?: Record<string, string>;
  parent_id?: string | null;
}

export interface CinderGroup {
  id: string;
  name: string | null;
  status: string;
  group_type: string;
  volume_types: string[];
  volumes?: string[];
  group_snapshot_id?: string | null;
  availability_zone?: string;
  description?: string | null;
}

export interface CinderGroupSnapshot {
  id: string;
  name: string | null;
  description?: string | null;
  status: string;
  group_id: string;
  group_type_id?: string;
}

/** A volume transfer; `auth_key` is in the create answer only and is as secret as a password. */
export interface CinderTransfer {
  id: string;
  volume_id: string;
  name: string | null;
  auth_key?: string;
}

export interface BackupRequest {
  volume_id: string;
  name?: string;
  description?: string;
  incremental?: boolean;
  force?: boolean;
  snapshot_id?: string;
  container?: string;
  metadata?: Record<string, string>;
}

const okOr404 = (s: number): boolean => (s >= 200 && s < 300) || s === 404;

/**
 * Cinder v3: volumes, snapshots, backups (full and incremental, restore), generic volume groups
 * and group snapshots. The microversion is negotiated once (3.47 or newer is needed: volumes
 * from backups, groups with volumes listed; up to 3.64).
 */
export class CinderClient {
  private version?: Promise<string>;

  constructor(private readonly session: Session) {}

  /** The negotiated microversion. */
  microversion(): Promise<string> {
    this.version ??= negotiateMicroversion(this.session, 'cinder', 'block-storage', '3', '3.47', '3.64').catch((err: unknown) => {
      this.version = undefined;
      throw err;
    });
    return this.version;
  }

  private async json<T>(c: SessionCall): Promise<T> {
    const mv = await this.microversion();
    return jsonCall<T>(this.session, 'cinder', 'block-storage', {
      ...c,
      headers: { ...c.headers, 'OpenStack-API-Version': `volume ${mv}` },
    });
  }

  private async maybe<T>(c: SessionCall, key: string): Promise<T | undefined> {
    try {
      return (await this.json<Record<string, T>>(c))[key];
    } catch (err) {
      if (err instanceof OpenStackError && err.notFound) return undefined;
      throw err;
    }
  }

  // ---- volumes
  async listVolumes(filters: Record<string, string> = {}): Promise<CinderVolume[]> {
    return (await this.json<{ volumes: CinderVolume[] }>({ method: 'GET', path: '/volumes/detail', query: filters })).volumes;
  }

  getVolume(id: string): Promise<CinderVolume | undefined> {
    return this.maybe<CinderVolume>({ method: 'GET', path: `/volumes/${id}` }, 'volume');
  }

  async createVolume(body: Record<string, unknown>): Promise<CinderVolume> {
    return (await this.json<{ volume: CinderVolume }>({ method: 'POST', path: '/volumes', json: { volume: body } })).volume;
  }

  async deleteVolume(id: string, cascade = false): Promise<void> {
    await this.json({ method: 'DELETE', path: `/volumes/${id}`, query: cascade ? { cascade: true } : undefined, ok: okOr404 });
  }

  waitVolume(id: string, ready: string[], signal?: AbortSignal, timeoutMs = 900_000): Promise<CinderVolume | undefined> {
    return waitForStatus(() => this.getVolume(id), { what: `cinder volume ${id}`, ready, timeoutMs, signal });
  }

  // ---- snapshots
  async createSnapshot(volumeId: string, opts: { name?: string; force?: boolean; description?: string } = {}): Promise<CinderSnapshot> {
    const body = { snapshot: { volume_id: volumeId, force: opts.force ?? false, name: opts.name, description: opts.description } };
    return (await this.json<{ snapshot: CinderSnapshot }>({ method: 'POST', path: '/snapshots', json: body })).snapshot;
  }

  getSnapshot(id: string): Promise<CinderSnapshot | undefined> {
    return this.maybe<CinderSnapshot>({ method: 'GET', path: `/snapshots/${id}` }, 'snapshot');
  }

  async listSnapshots(filters: Record<string, string> = {}): Promise<CinderSnapshot[]> {
    return (await this.json<{ snapshots: CinderSnapshot[] }>({ method: 'GET', path: '/snapshots/detail', query: filters })).snapshots;
  }

  async deleteSnapshot(id: string): Promise<void> {
    await this.json({ method: 'DELETE', path: `/snapshots/${id}`, ok: okOr404 });
  }

  waitSnapshot(id: string, ready: string[], signal?: AbortSignal, timeoutMs = 600_000): Promise<CinderSnapshot | undefined> {
    return waitForStatus(() => this.getSnapshot(id), { what: `cinder snapshot ${id}`, ready, timeoutMs, signal });
  }

  // ---- backups
  async createBackup(req: BackupRequest): Promise<CinderBackup> {
    // Not idempotent: a repeated POST would make a second backup.
    return (await this.json<{ backup: CinderBackup }>({ method: 'POST', path: '/backups', json: { backup: req } })).backup;
  }

  getBackup(id: string): Promise<CinderBackup | undefined> {
    return this.maybe<CinderBackup>({ method: 'GET', path: `/backups/${id}` }, 'backup');
  }

  async listBackups(filters: Record<string, string> = {}): Promise<CinderBackup[]> {
    return (await this.json<{ backups: CinderBackup[] }>({ method: 'GET', path: '/backups/detail', query: filters })).backups;
  }

  async updateBackup(
    id: string,
    fields: { name?: string; description?: string; metadata?: Record<string, string> },
  ): Promise<CinderBackup> {
    return (await this.json<{ backup: CinderBackup }>({ method: 'PUT', path: `/backups/${id}`, json: { backup: fields } })).backup;
  }

  async deleteBackup(id: string): Promise<void> {
    await this.json({ method: 'DELETE', path: `/backups/${id}`, ok: okOr404 });
  }

  /** Restores into a new volume (`name`) or over `volume_id`; returns the target volume's id. */
  async restoreBackup(id: string, opts: { name?: string; volume_id?: string }): Promise<string> {
    const res = await this.json<{ restore: { volume_id: string } }>({
      method: 'POST',
      path: `/backups/${id}/restore`,
      json: { restore: opts },
    });
    return res.restore.volume_id;
  }

  waitBackup(id: string, ready: string[], signal?: AbortSignal, timeoutMs = 3_600_000): Promise<CinderBackup | undefined> {
    return waitForStatus(() => this.getBackup(id), { what: `cinder backup ${id}`, ready, timeoutMs, signal });
  }

  // ---- volume transfers: the owning project offers a volume, another project accepts it with the key
  private async transfers(): Promise<string> {
    return compareVersions(await this.microversion(), '3.55') >= 0 ? '/volume-transfers' : '/os-volume-transfer';
  }

  /** Offers a volume to another project. Not retried: a repeated POST would answer 400 (the volume is awaiting transfer). */
  async createTransfer(volumeId: string, name?: string): Promise<CinderTransfer & { auth_key: string }> {
    const path = await this.transfers();
    const res = await this.json<{ transfer: CinderTransfer }>({ method: 'POST', path, json: { transfer: { volume_id: volumeId, name } } });
    const t = res.transfer;
    if (!t.auth_key) throw new OpenStackError('cinder', 'POST', path, undefined, 'the transfer came without its auth key');
    return { ...t, auth_key: t.auth_key };
  }

  async listTransfers(): Promise<CinderTransfer[]> {
    return (await this.json<{ transfers: CinderTransfer[] }>({ method: 'GET', path: `${await this.transfers()}/detail` })).transfers;
  }

  /** Takes the offered volume into this session's project. */
  async acceptTransfer(id: string, authKey: string): Promise<void> {
    await this.json({ method: 'POST', path: `${await this.transfers()}/${id}/accept`, json: { accept: { auth_key: authKey } } });
  }

  async deleteTransfer(id: string): Promise<void> {
    await this.json({ method: 'DELETE', path: `${await this.transfers()}/${id}`, ok: okOr404 });
  }

  // ---- generic volume groups
  async listGroupTypes(): Promise<{ id: string; name: string; group_specs?: Record<string, string> }[]> {
    return (
      await this.json<{ group_types: { id: string; name: string; group_specs?: Record<string, string> }[] }>({
        method: 'GET',
        path: '/group_types',
      })
    ).group_types;
  }

  async createGroupType(name: string, specs: Record<string, string> = {}): Promise<{ id: string; name: string }> {
    const res = await this.json<{ group_type: { id: string; name: string } }>({
      method: 'POST',
      path: '/group_types',
      json: { group_type: { name, group_specs: specs } },
    });
    return res.group_type;
  }

  async deleteGroupType(id: string): Promise<void> {
    await this.json({ method: 'DELETE', path: `/group_types/${id}`, ok: okOr404 });
  }

  async listGroups(filters: Record<string, string> = {}): Promise<CinderGroup[]> {
    return (await this.json<{ groups: CinderGroup[] }>({ method: 'GET', path: '/groups/detail', query: { list_volume: true, ...filters } }))
      .groups;
  }

  getGroup(id: string): Promise<CinderGroup | undefined> {
    return this.maybe<CinderGroup>({ method: 'GET', path: `/groups/${id}`, query: { list_volume: true } }, 'group');
  }

  async createGroup(body: {
    name?: string;
    group_type: string;
    volume_types: string[];
    description?: string;
    availability_zone?: string;
  }): Promise<CinderGroup> {
    return (await this.json<{ group: CinderGroup }>({ method: 'POST', path: '/groups', json: { group: body } })).group;
  }

  /** A new group (and its volumes) from a group snapshot. */
  async createGroupFromSnapshot(groupSnapshotId: string, name?: string): Promise<CinderGroup> {
    const res = await this.json<{ group: CinderGroup }>({
      method: 'POST',
      path: '/groups/action',
      json: { 'create-from-src': { group_snapshot_id: groupSnapshotId, name } },
    });
    return res.group;
  }

  async deleteGroup(id: string, deleteVolumes = false): Promise<void> {
    await this.json({ method: 'POST', path: `/groups/${id}/action`, json: { delete: { 'delete-volumes': deleteVolumes } }, ok: okOr404 });
  }

  waitGroup(id: string, ready: string[], signal?: AbortSignal, timeoutMs = 600_000): Promise<CinderGroup | undefined> {
    return waitForStatus(() => this.getGroup(id), { what: `cinder group ${id}`, ready, timeoutMs, signal });
  }

  async createGroupSnapshot(groupId: string, opts: { name?: string; description?: string } = {}): Promise<CinderGroupSnapshot> {
    // Not idempotent: a repeated POST would make a second group snapshot.
    const res = await this.json<{ group_snapshot: CinderGroupSnapshot }>({
      method: 'POST',
      path: '/group_snapshots',
      json: { group_snapshot: { group_id: groupId, name: opts.name, description: opts.description } },
    });
    return res.group_snapshot;
  }

  async listGroupSnapshots(filters: Record<string, string> = {}): Promise<CinderGroupSnapshot[]> {
    return (await this.json<{ group_snapshots: CinderGroupSnapshot[] }>({ method: 'GET', path: '/group_snapshots/detail', query: filters }))
      .group_snapshots;
  }

  getGroupSnapshot(id: string): Promise<CinderGroupSnapshot | undefined> {
    return this.maybe<CinderGroupSnapshot>({ method: 'GET', path: `/group_snapshots/${id}` }, 'group_snapshot');
  }

  async deleteGroupSnapshot(id: string): Promise<void> {
    await this.json({ method: 'DELETE', path: `/group_snapshots/${id}`, ok: okOr404 });
  }

  waitGroupSnapshot(id: string, ready: string[], signal?: AbortSignal, timeoutMs = 600_000): Promise<CinderGroupSnapshot | undefined> {
    return waitForStatus(() => this.getGroupSnapshot(id), { what: `cinder group snapshot ${id}`, ready, timeoutMs, signal });
  }
}
