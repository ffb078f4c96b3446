import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, fromEnv, jsonCall, OpenStackError, type OpenStack } from '../../src-main/plugins/openstack/client';
import { eventually, tempDir, type Harness } from '../helpers/harness';

export const OSBOX = process.env.OSBOX ?? '/tmp/osbox';
export const OS_INFRA = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
type Obj = Record<string, unknown>;

/** The admin connection of the openrc the test script sourced. */
export function admin(): OpenStack {
  return connect(fromEnv());
}

/**
 * A fresh project (admin has the admin role in it) and a clouds.yaml naming it, so a test sees
 * only its own servers, volumes and images. Returns the cloud name and the file.
 */
export async function scratchProject(os: OpenStack, name: string, dir: string): Promise<{ projectId: string; cloudsFile: string }> {
  const s = os.session;
  const { project } = await jsonCall<{ project: { id: string } }>(s, 'keystone', 'identity', {
    method: 'POST',
    path: '/projects',
    json: { project: { name, domain_id: 'default' } },
  });
  const info = await s.tokenInfo();
  const { roles } = await jsonCall<{ roles: { id: string }[] }>(s, 'keystone', 'identity', {
    method: 'GET',
    path: '/roles',
    query: { name: 'admin' },
  });
  await s.identity({ method: 'PUT', path: `/projects/${project.id}/users/${info.user.id}/roles/${roles[0]?.id ?? ''}` });
  const env = fromEnv();
  const cloudsFile = path.join(dir, 'clouds.yaml');
  fs.writeFileSync(
    cloudsFile,
    [
      'clouds:',
      `  ${name}:`,
      '    auth:',
      `      auth_url: "${env.auth.auth_url}"`,
      `      username: "${env.auth.username ?? ''}"`,
      `      password: "${env.auth.password ?? ''}"`,
      '      user_domain_id: default',
      `      project_id: ${project.id}`,
      `    region_name: ${env.region_name ?? 'RegionOne'}`,
      '    interface: public',
      '  wrong-password:',
      '    auth:',
      `      auth_url: "${env.auth.auth_url}"`,
      `      username: "${env.auth.username ?? ''}"`,
      '      password: "certainly-not-it"',
      '      user_domain_id: default',
      `      project_id: ${project.id}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return { projectId: project.id, cloudsFile };
}

/** A project with its own user (role `member`, the project as its default), for tests that must not run as admin. */
/** Writes a clouds.yaml (0600) whose one cloud `name` is a member project's user, scoped to it. */
export function writeMemberCloud(
  file: string,
  name: string,
  authUrl: string,
  p: Pick<MemberProject, 'username' | 'password' | 'projectId'>,
): void {
  fs.writeFileSync(
    file,
    [
      'clouds:',
      `  ${name}:`,
      '    auth:',
      `      auth_url: "${authUrl}"`,
      `      username: "${p.username}"`,
      `      password: "${p.password}"`,
      '      user_domain_id: default',
      `      project_id: ${p.projectId}`,
      `    region_name: ${fromEnv().region_name ?? 'RegionOne'}`,
      '    interface: public',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

export interface MemberProject {
  projectId: string;
  userId: string;
  username: string;
  password: string;
  /** The user's connection, scoped to the project. */
  os: OpenStack;
}

export async function memberProject(name: string): Promise<MemberProject> {
  const s = admin().session;
  const call = <T>(method: string, p: string, json?: unknown): Promise<T> =>
    jsonCall<T>(s, 'keystone', 'identity', { method, path: p, json });
  const { project } = await call<{ project: { id: string } }>('POST', '/projects', { project: { name, domain_id: 'default' } });
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  const { user } = await call<{ user: { id: string } }>('POST', '/users', {
    user: { name: `${name}-user`, password, domain_id: 'default', default_project_id: project.id },
  });
  const { roles } = await call<{ roles: { id: string }[] }>('GET', '/roles?name=member');
  await s.identity({ method: 'PUT', path: `/projects/${project.id}/users/${user.id}/roles/${roles[0]?.id ?? ''}` });
  const env = fromEnv();
  const os = connect({
    ...env,
    name,
    auth: { auth_url: env.auth.auth_url, username: `${name}-user`, password, user_domain_id: 'default', project_id: project.id },
  });
  return { projectId: project.id, userId: user.id, username: `${name}-user`, password, os };
}

/** Deletes a member project's content, the project and its user (best effort, like `dropProject`). */
export async function dropMemberProject(p: MemberProject): Promise<void> {
  await dropProject(p.os, p.projectId);
  await admin()
    .session.identity({ method: 'DELETE', path: `/users/${p.userId}` })
    .catch((err: unknown) => console.warn(`cleanup: user ${p.userId}: ${err instanceof Error ? err.message : String(err)}`));
}

/**
 * The active image of a Cinder volume of this rig's NFS backend, when its layout has it:
 * `volume-<id>` (raw) at first; once a snapshot of the attached volume was deleted, the qcow2
 * overlay its `volume-<id>.info` names (Cinder's RemoteFS driver deletes the raw base then).
 */
export function volumeImage(id: string): { file: string; format: string } | undefined {
  const dir = path.join(OSBOX, 'data', 'nfs-export');
  const infoFile = path.join(dir, `volume-${id}.info`);
  let name = `volume-${id}`;
  if (fs.existsSync(infoFile)) {
    const active = (JSON.parse(fs.readFileSync(infoFile, 'utf8')) as { active?: unknown }).active;
    if (typeof active === 'string') name = active;
  }
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) return undefined;
  const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '-U', file], { encoding: 'utf8' })) as { format: string };
  return { file, format: info.format };
}

/** Reads `n` bytes at `offset` of a volume's image (undefined when the backend hides it). */
export function readVolume(id: string, offset: number, n: number): Buffer | undefined {
  const img = volumeImage(id);
  if (!img) return undefined;
  let file = img.file;
  if (img.format !== 'raw') {
    // qcow2: read from a (sparse) raw copy
    file = path.join(tempDir('karbor-os-read-'), 'volume.raw');
    execFileSync('qemu-img', ['convert', '-U', '-f', img.format, '-O', 'raw', img.file, file]);
  }
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    fs.readSync(fd, b, 0, n, offset);
    return b;
  } finally {
    fs.closeSync(fd);
    if (file !== img.file) fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

/** Writes `data` at `offset` of a volume's image; false when the backend hides it. */
export function writeVolume(id: string, offset: number, data: Buffer): boolean {
  const img = volumeImage(id);
  if (!img) return false;
  if (img.format !== 'raw') {
    const src = path.join(tempDir('karbor-os-write-'), 'part');
    fs.writeFileSync(src, data);
    execFileSync('qemu-io', ['-f', img.format, '-c', `write -q -s ${src} ${offset} ${data.length}`, img.file]);
    return true;
  }
  const fd = fs.openSync(img.file, 'r+');
  fs.writeSync(fd, data, 0, data.length, offset);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return true;
}

export async function checkpoint(
  h: Harness,
  provider: string,
  planId: string,
  timeoutMs = 900_000,
): Promise<Obj & { id: string; status: string }> {
  const r = await h.api<{ checkpoint: Obj & { id: string } }>('POST', `/providers/${provider}/checkpoints`, {
    checkpoint: { plan_id: planId },
  });
  if (r.status !== 200) throw new Error(`checkpoint create: ${r.text}`);
  return waitCheckpoint(h, provider, r.body.checkpoint.id, timeoutMs);
}

export function waitCheckpoint(
  h: Harness,
  provider: string,
  id: string,
  timeoutMs = 900_000,
): Promise<Obj & { id: string; status: string }> {
  return eventually(
    async () => {
      const s = await h.api<{ checkpoint: Obj & { id: string; status: string } }>('GET', `/providers/${provider}/checkpoints/${id}`);
      const cp = s.body.checkpoint;
      if (['protecting', 'deleting'].includes(cp.status)) return false;
      return cp.status === 'error' || cp.status === 'error-deleting' ? { ...cp, ...failureOf(h, id) } : cp;
    },
    'checkpoint done',
    timeoutMs,
  );
}

/**
 * Why a checkpoint failed: Karbor's checkpoint view has no reason field, so assertion messages
 * (`JSON.stringify(cp)`) show the operation log's error and the failed resources' errors.
 */
export function failureOf(h: Harness, checkpointId: string): { error_info: unknown; resource_errors: unknown } {
  const db = h.engine.ctx.db.$client;
  return {
    error_info: db
      .prepare('select operation_type, error_info from operation_logs where checkpoint_id = ? and error_info is not null')
      .all(checkpointId),
    resource_errors: db
      .prepare('select resource_key, error from checkpoint_resources where checkpoint_id = ? and error is not null')
      .all(checkpointId),
  };
}

export async function restore(h: Harness, body: Obj, timeoutMs = 900_000): Promise<Obj> {
  const r = await h.api<{ restore: Obj & { id: string } }>('POST', '/restores', { restore: body });
  if (r.status !== 200) throw new Error(`restore create: ${r.text}`);
  return eventually(
    async () => {
      const s = await h.api<{ restore: Obj }>('GET', `/restores/${r.body.restore.id}`);
      return s.body.restore.status !== 'in_progress' && s.body.restore;
    },
    'restore done',
    timeoutMs,
  );
}

/** Stops glance-api (the rig records its pid); returns a function that starts it again and waits for it. */
export function stopGlance(): () => Promise<void> {
  const pidFile = path.join(OSBOX, 'run', 'glance-api.pid');
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  return async () => {
    await eventually(async () => !alive(pid), 'glance-api to exit', 30_000);
    const log = fs.openSync(path.join(OSBOX, 'log', 'glance-api.out'), 'a');
    const child = spawn('/usr/bin/glance-api', ['--config-file', path.join(OSBOX, 'etc', 'glance', 'glance-api.conf')], {
      detached: true,
      stdio: ['ignore', log, log],
      env: { PATH: '/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    child.unref();
    fs.writeFileSync(pidFile, `${child.pid}\n`);
    await eventually(
      async () => {
        const r = await fetch('http://127.0.0.1:9292/').catch(() => undefined);
        return !!r;
      },
      'glance-api to answer again',
      120_000,
    );
    await sleep(500);
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Deletes a scratch project and what a test left in it (servers, backups, snapshots, groups,
 * volumes, images), through the project's own connection; the project itself through the admin one.
 * Best effort: a leftover is reported, never fails the run.
 */
export async function dropProject(os: OpenStack, projectId: string): Promise<void> {
  const note = (what: string) => (err: unknown) => console.warn(`cleanup: ${what}: ${err instanceof Error ? err.message : String(err)}`);
  const servers = await os.nova.listServers().catch(() => []);
  for (const s of servers) await os.nova.deleteServer(s.id).catch(note(`server ${s.id}`));
  for (const s of servers) await os.nova.waitServer(s.id, ['deleted'], undefined, 120_000).catch(note(`server ${s.id}`));
  // incrementals first: a backup with dependents cannot be deleted
  for (let round = 0; round < 5; round++) {
    const backups = (await os.cinder.listBackups().catch(() => [])).filter((b) => b.status !== 'deleting');
    if (!backups.length) break;
    for (const b of backups.filter((x) => !x.has_dependent_backups)) {
      await os.cinder.waitBackup(b.id, ['available', 'error'], undefined, 300_000).catch(note(`backup ${b.id}`));
      await os.cinder.deleteBackup(b.id).catch(note(`backup ${b.id}`));
    }
    for (const b of backups) await os.cinder.waitBackup(b.id, ['deleted'], undefined, 120_000).catch(() => undefined);
  }
  const groupSnapshots = await os.cinder.listGroupSnapshots().catch(() => []);
  for (const gs of groupSnapshots) await os.cinder.deleteGroupSnapshot(gs.id).catch(note(`group snapshot ${gs.id}`));
  for (const gs of groupSnapshots) await os.cinder.waitGroupSnapshot(gs.id, ['deleted'], undefined, 120_000).catch(() => undefined);
  for (const sn of await os.cinder.listSnapshots().catch(() => [])) await os.cinder.deleteSnapshot(sn.id).catch(note(`snapshot ${sn.id}`));
  // a group goes with its volumes (a volume in a group cannot be deleted alone)
  const groups = await os.cinder.listGroups().catch(() => []);
  for (const g of groups) await os.cinder.deleteGroup(g.id, true).catch(note(`group ${g.id}`));
  for (const g of groups) await os.cinder.waitGroup(g.id, ['deleted'], undefined, 300_000).catch(note(`group ${g.id}`));
  const volumes = await os.cinder.listVolumes().catch(() => []);
  for (const v of volumes) {
    await os.cinder.waitVolume(v.id, ['available', 'error'], undefined, 120_000).catch(note(`volume ${v.id}`));
    await os.cinder.deleteVolume(v.id, true).catch(note(`volume ${v.id}`));
  }
  for (const v of volumes) await os.cinder.waitVolume(v.id, ['deleted'], undefined, 120_000).catch(note(`volume ${v.id}`));
  for (const i of await os.glance.list({ owner: projectId }).catch(() => [])) await os.glance.delete(i.id).catch(note(`image ${i.id}`));
  const left = await os.cinder.listBackups().catch(() => []);
  if (left.length) {
    console.warn(`cleanup: project ${projectId} kept: backups ${left.map((b) => `${b.id} (${b.status})`).join(', ')}`);
    return;
  }
  await admin()
    .session.identity({ method: 'DELETE', path: `/projects/${projectId}` })
    .catch(note(`project ${projectId}`));
}

/**
 * Boots a server and waits until it is ACTIVE. The rig's SQLite-backed Nova sometimes loses a boot
 * under load ("database is locked"): it is booted again.
 */
export async function bootServer(os: OpenStack, body: Record<string, unknown>): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const srv = await retried(() => os.nova.createServer(body));
    const ok = await os.nova.waitServer(srv.id, ['ACTIVE'], undefined, 180_000).catch((err: unknown) => {
      if (attempt >= 3) throw err;
    });
    if (ok) return srv.id;
    await os.nova.deleteServer(srv.id);
    await os.nova.waitServer(srv.id, ['deleted'], undefined, 120_000).catch(() => undefined);
  }
}

/** The rig's SQLite-backed services answer 500 "database is locked" under load; such a create made nothing. */
export async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 4 || !(err instanceof OpenStackError) || err.status !== 500) throw err;
      await new Promise((r) => setTimeout(r, 2000 * i));
    }
  }
}
