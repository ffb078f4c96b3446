/**
 * The OpenStack part of the web UI against the real cloud, in headless Chromium: a user adds a
 * cloud through the form (a scratch project and user of their own), tests the login, sees a
 * wrong password named as Keystone's refusal, builds a plan by choosing the cloud and browsing
 * its project down to a volume, saves it, and backs it up. The saved plan is checked through the
 * Karbor REST API (ids, types, the cloud in `extra_info`), the secret in the data folder (0600)
 * and nowhere on screen or in answers. Run by `bash scripts/test-openstack.sh test/openstack/ui-cloud.test.ts`
 * after `npx electron-vite build`.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, fromEnv, jsonCall, type OpenStack } from '../../src-main/plugins/openstack/client';
import { startHeadlessUi, type HeadlessUi } from '../e2e/headless';
import { tempDir } from '../helpers/harness';
import { admin, dropProject, OS_INFRA, retried } from './helpers';

const stamp = Date.now();
const project = `karbor-ui-${stamp}`;
const user = `karbor-ui-user-${stamp}`;
const password = `pw-${randomBytes(9).toString('base64url')}#"x`;
const cloud = `ui-${stamp}`;
const wrongCloud = `${cloud}-wrong`;
const work = tempDir('karbor-ui-cloud-');
const dataDir = path.join(work, 'data');

let ui: HeadlessUi | undefined;
let page: Page;
let os: OpenStack | undefined;
let projectId = '';
let userId = '';
let imageId = '';
let serverId = '';
const volumes: Record<'data' | 'spare', string> = { data: '', spare: '' };

const started = (): HeadlessUi => {
  if (!ui) throw new Error('the headless app did not start');
  return ui;
};

/** A scratch project, and a user who is only a member of it (not the admin of the openrc). */
async function scratchUser(): Promise<void> {
  const s = admin().session;
  projectId = (
    await jsonCall<{ project: { id: string } }>(s, 'keystone', 'identity', {
      method: 'POST',
      path: '/projects',
      json: { project: { name: project, domain_id: 'default' } },
    })
  ).project.id;
  userId = (
    await jsonCall<{ user: { id: string } }>(s, 'keystone', 'identity', {
      method: 'POST',
      path: '/users',
      json: { user: { name: user, password, domain_id: 'default', default_project_id: projectId } },
    })
  ).user.id;
  const { roles } = await jsonCall<{ roles: { id: string }[] }>(s, 'keystone', 'identity', {
    method: 'GET',
    path: '/roles',
    query: { name: 'member' },
  });
  await s.identity({ method: 'PUT', path: `/projects/${projectId}/users/${userId}/roles/${roles[0]?.id ?? ''}` });
}

/**
 * A 1 GiB volume that reached `available`. Under load the rig's SQLite-backed cinder-volume can
 * fail a create half-way ("database is locked"), leaving the volume `creating` for ever: the admin
 * resets such a one to `error`, deletes it, and the volume is created again.
 */
async function availableVolume(name: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const id = (await retried(() => os!.cinder.createVolume({ size: 1, name }))).id;
    const ok = await os!.cinder.waitVolume(id, ['available'], undefined, 120_000).catch((err: unknown) => {
      if (attempt >= 3) throw err;
    });
    if (ok) return id;
    const s = admin().session;
    await s.request('cinder', 'block-storage', {
      method: 'POST',
      path: `/volumes/${id}/action`,
      json: { 'os-reset_status': { status: 'error' } },
    });
    await os!.cinder.deleteVolume(id);
  }
}

beforeAll(async () => {
  await scratchUser();
  const env = fromEnv();
  os = connect({
    ...env,
    name: project,
    auth_type: 'password',
    auth: { auth_url: env.auth.auth_url, username: user, password, user_domain_id: 'default', project_id: projectId },
  });
  const img = await retried(() => os!.glance.create({ name: `${project}-image`, disk_format: 'raw', container_format: 'bare' }));
  imageId = img.id;
  await os.glance.upload(imageId, randomBytes(1 << 20));
  await os.glance.waitActive(imageId);
  for (const n of ['data', 'spare'] as const) volumes[n] = await availableVolume(`${project}-${n}`);
  const flavor = (await os.nova.listFlavors()).find((f) => f.name === 'm1.tiny');
  // The rig's SQLite-backed Nova sometimes loses a boot under load ("database is locked"): boot again.
  for (let attempt = 1; ; attempt++) {
    serverId = (
      await retried(() => os!.nova.createServer({ name: `${project}-server`, imageRef: imageId, flavorRef: flavor?.id, networks: 'none' }))
    ).id;
    const up = await os.nova.waitServer(serverId, ['ACTIVE'], undefined, 180_000).catch((err: unknown) => {
      if (attempt >= 3) throw err;
    });
    if (up) break;
    await os.nova.deleteServer(serverId);
    await os.nova.waitServer(serverId, ['deleted'], undefined, 120_000).catch(() => undefined);
  }
  await os.nova.attachVolume(serverId, volumes.data);
  await os.cinder.waitVolume(volumes.data, ['in-use'], undefined, 300_000);

  ui = await startHeadlessUi({ work, dataDir });
  page = ui.page;
  await page.goto(`${ui.base}/ui/#token=${encodeURIComponent(ui.token)}`);
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
}, 900_000);

afterAll(async () => {
  await ui?.close();
  fs.rmSync(work, { recursive: true, force: true });
  // KARBOR_OS_KEEP=1 keeps the scratch project for a look after a failure
  if (process.env.KARBOR_OS_KEEP) return;
  if (os && projectId) await dropProject(os, projectId);
  if (userId)
    await admin()
      .session.identity({ method: 'DELETE', path: `/users/${userId}` })
      .catch((err: unknown) => console.warn(`cleanup: user ${userId}: ${String(err)}`));
});

/** Fills the add-cloud form as a user would, from what an openrc holds. */
async function fillCloudForm(name: string, pw: string): Promise<void> {
  await page.getByLabel('Cloud name').fill(name);
  await page.getByLabel('Auth URL').fill(process.env.OS_AUTH_URL ?? '');
  await page.getByRole('radio', { name: 'Password' }).check();
  await page.getByLabel('Username').fill(user);
  await page.locator('#cloud-password').fill(pw);
  await page.getByLabel('User domain').fill('Default');
  await page.getByLabel('Project name').fill(project);
  await page.getByLabel('Project domain').fill('Default');
  await page.getByLabel('Region').fill(process.env.OS_REGION_NAME ?? 'RegionOne');
  await page.getByLabel('Interface').selectOption('public');
}

describe('OpenStack in the web UI (real cloud)', () => {
  it('adds a cloud through the form into a 0600 file of the data folder, never showing the password', async () => {
    const { go, shot, invoke } = started();
    await go('clouds', 'Clouds');
    // The openrc's OS_* variables the server was started with are a cloud too, the default one.
    const envRow = page.locator('tr[data-cloud="envvars"]');
    await envRow.getByText('OS_* variables').waitFor();
    await envRow.getByText('default', { exact: true }).waitFor();

    await fillCloudForm(cloud, '');
    await page.getByRole('button', { name: 'Add cloud' }).click();
    await page.getByText('The password is needed.').waitFor();
    await page.locator('#cloud-password').fill(password);
    await page.getByRole('button', { name: 'Add cloud' }).click();
    await page.getByRole('status').getByText(`Cloud “${cloud}” added.`).waitFor();
    const row = page.locator(`tr[data-cloud="${cloud}"]`);
    await row.getByText('Added here').waitFor();
    await row.getByText(project).waitFor();
    // The form forgot the password once the cloud was added.
    await expect(page.locator('#cloud-password').inputValue()).resolves.toBe('');

    const file = path.join(dataDir, 'clouds.yaml');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toContain(JSON.stringify(password));
    const body = await page.locator('body').innerText();
    expect(body).not.toContain(password);
    const list = await invoke<{ clouds: Record<string, unknown>[] }>('clouds.list', {});
    const listed = JSON.stringify(list);
    expect(listed).not.toContain(password);
    expect(listed).not.toContain(JSON.stringify(password).slice(1, -1));
    // The openrc's password (a plain word here) is no value of any cloud either.
    const values = list.clouds.flatMap((c) => Object.values(c));
    expect(values).not.toContain(process.env.OS_PASSWORD);
    expect(values).not.toContain(password);
    await shot('clouds-added');
  });

  it('tests the login: the project, the user and the services of the catalog', async () => {
    const { shot, expectNoRawErrors } = started();
    await page.getByRole('button', { name: `Test ${cloud}` }).click();
    const result = page.getByTestId(`test-${cloud}`);
    await result.getByText('Connected').waitFor({ timeout: 60_000 });
    const text = await result.innerText();
    expect(text).toContain(`as ${user} (Default)`);
    expect(text).toContain(`to project ${project}`);
    expect(text).toContain(projectId);
    expect(text).toMatch(/member/);
    for (const service of ['compute', 'image', 'identity']) expect(text).toContain(service);
    expect(text).toMatch(/volumev3|block-storage/);
    expect(text).toContain('http://127.0.0.1:8774');
    await expectNoRawErrors();
    await shot('clouds-tested');
  });

  it('names Keystone when it refuses a login, and removes a cloud added here', async () => {
    const { shot, expectNoRawErrors } = started();
    await fillCloudForm(wrongCloud, 'certainly-not-it');
    await page.getByRole('button', { name: 'Add cloud' }).click();
    const row = page.locator(`tr[data-cloud="${wrongCloud}"]`);
    await row.waitFor();
    await page.getByRole('button', { name: `Test ${wrongCloud}` }).click();
    const alert = page.getByTestId(`test-${wrongCloud}`).getByRole('alert');
    await alert.waitFor({ timeout: 60_000 });
    const text = await alert.innerText();
    expect(text).toContain(
      `Keystone at ${(process.env.OS_AUTH_URL ?? '').replace(/\/+$/, '')} refused the login of cloud '${wrongCloud}' (401`,
    );
    expect(text).not.toContain('certainly-not-it');
    await expectNoRawErrors();
    await shot('clouds-login-refused');

    await row.getByRole('button', { name: 'Remove' }).click();
    await row.getByRole('button', { name: 'Yes, remove' }).click();
    await page.getByRole('status').getByText(`Cloud “${wrongCloud}” removed.`).waitFor();
    // The list reloads after the message: wait for the row to go, then check it stays gone.
    await row.waitFor({ state: 'detached' });
    await expect(row.count()).resolves.toBe(0);
    expect(fs.readFileSync(path.join(dataDir, 'clouds.yaml'), 'utf8')).not.toContain(wrongCloud);
  });

  it('builds a plan by choosing the cloud and browsing its project down to a volume', async () => {
    const { go, shot, expectNoRawErrors } = started();
    await go('plans', 'Plans');
    await page.getByLabel('Provider').selectOption({ label: 'OS Infra Provider' });
    const browser = page.getByTestId('openstack-browser');
    await browser.waitFor();
    await page.getByLabel('Cloud', { exact: true }).selectOption(cloud);
    await browser.getByText(`Project ${project}`).waitFor({ timeout: 60_000 });

    const servers = browser.getByTestId('os-servers');
    const vols = browser.getByTestId('os-volumes');
    const images = browser.getByTestId('os-images');
    await servers.getByText(`${project}-server`, { exact: true }).waitFor();
    for (const n of ['data', 'spare']) await vols.getByText(`${project}-${n}`, { exact: true }).waitFor();
    await images.getByText(`${project}-image`, { exact: true }).waitFor();
    // A server opens to what it depends on: its attached volume and its boot image.
    await servers.getByRole('button', { name: `Show what ${project}-server depends on` }).click();
    await servers.getByText(`${project}-data`, { exact: true }).waitFor({ timeout: 60_000 });
    await servers.getByText(`${project}-image`, { exact: true }).waitFor();

    await vols.getByRole('button', { name: `Add ${project}-spare` }).click();
    const selected = page.getByTestId('selected');
    await selected.getByText(`${project}-spare`).waitFor();
    await selected.getByText(cloud, { exact: true }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill(project);
    await expectNoRawErrors();
    await shot('plan-builder-openstack');
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.getByText(`Plan “${project}” saved.`).waitFor();
  });

  it('saved the plan with the volume’s id and type and its cloud (Karbor REST API)', async () => {
    const { base, token, shot } = started();
    const endpoint = fs.readFileSync(path.join(dataDir, 'api-endpoint'), 'utf8').trim();
    expect(endpoint.startsWith(`${base}/v1/`)).toBe(true);
    const res = await fetch(`${endpoint}/plans?name=${encodeURIComponent(project)}`, { headers: { 'X-Auth-Token': token } });
    expect(res.status).toBe(200);
    const { plans } = (await res.json()) as { plans: { id: string; provider_id: string; resources: unknown[] }[] };
    expect(plans).toHaveLength(1);
    expect(plans[0]?.provider_id).toBe(OS_INFRA);
    expect(plans[0]?.resources).toEqual([
      { id: volumes.spare, type: 'OS::Cinder::Volume', name: `${project}-spare`, extra_info: { cloud } },
    ]);
    await page.getByRole('cell', { name: project, exact: true }).waitFor();
    await page.getByText(`${project}-spare · ${cloud}`).waitFor();
    await shot('plans-openstack');
  });

  it('backs the volume up from that cloud', async () => {
    const { go, shot, invoke } = started();
    await go('', 'Dashboard');
    await page.getByRole('button', { name: `Back up ${project} now` }).click();
    await page.locator('[data-testid="progress"][data-state="done"]').waitFor({ timeout: 600_000 });
    const [cp] = await invoke<{ id: string; status: string; resource_graph: string }[]>('checkpoints.list', { providerId: OS_INFRA });
    expect(cp?.status).toBe('available');
    const resources = await invoke<{ id: string; type: string; status: string; error: string | null }[]>('checkpoints.resources', {
      providerId: OS_INFRA,
      id: cp?.id ?? '',
    });
    expect(resources.map((r) => [r.type, r.id, r.status, r.error])).toEqual([['OS::Cinder::Volume', volumes.spare, 'available', null]]);
    // The backup was made in the scratch project, by the cloud's own user.
    const backups = await os!.cinder.listBackups();
    expect(backups.map((b) => b.volume_id)).toEqual([volumes.spare]);
    await shot('dashboard-openstack');
  });
});
