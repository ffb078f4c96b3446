import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, fromEnv, jsonCall, type OpenStack } from '../../src-main/plugins/openstack/client';
import { eventually, type Harness } from '../helpers/harness';

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

/** The file backing a Cinder volume of the NFS backend, when this rig's layout has it. */
export function volumeFile(id: string): string | undefined {
  const f = path.join(OSBOX, 'data', 'nfs-export', `volume-${id}`);
  return fs.existsSync(f) ? f : undefined;
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
      return !['protecting', 'deleting'].includes(s.body.checkpoint.status) && s.body.checkpoint;
    },
    'checkpoint done',
    timeoutMs,
  );
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
