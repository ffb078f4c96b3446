/**
 * The restore wizard's "Restore into another project" against the real cloud, in headless
 * Chromium: a volume of one project (the app's cloud is that project's member user) is backed
 * up, then restored through the wizard into a second project as that project's own user, who
 * exists only in what is typed into the form. The restored volume must live in the target
 * project and nowhere else; the password must show nowhere (screen, answers, data folder) and
 * be gone from the form once the restore is sent. Run by
 * `bash scripts/test-openstack.sh test/openstack/ui-restore-target.test.ts` after `npx electron-vite build`.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromEnv } from '../../src-main/plugins/openstack/client';
import { startHeadlessUi, type HeadlessUi } from '../e2e/headless';
import { tempDir } from '../helpers/harness';
import {
  dropMemberProject,
  memberProject,
  OS_INFRA,
  readVolume,
  retried,
  writeMemberCloud,
  writeVolume,
  type MemberProject,
} from './helpers';

const name = `karbor-ui-rt-${Date.now()}`;
const authUrl = fromEnv().auth.auth_url.replace(/\/+$/, '');
const work = tempDir('karbor-ui-rtarget-');
const dataDir = path.join(work, 'data');
const mark = randomBytes(1 << 20);
const MARK_AT = 2 << 20;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

let ui: HeadlessUi | undefined;
let page: Page;
let source: MemberProject | undefined;
let target: MemberProject | undefined;
let volumeId = '';
let checkpointId = '';
let markWritten = false;

const started = (): { ui: HeadlessUi; source: MemberProject; target: MemberProject } => {
  if (!ui || !source || !target) throw new Error('the setup did not finish');
  return { ui, source, target };
};

/** Every file of the data folder, to prove the password reached none of them. */
function dataFolderBytes(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name)).toString('latin1'))
    .join('');
}

beforeAll(async () => {
  source = await memberProject(`${name}-src`);
  target = await memberProject(`${name}-dst`);
  const cloudsFile = path.join(work, 'clouds.yaml');
  writeMemberCloud(cloudsFile, name, authUrl, source);
  const src = source;
  volumeId = (await retried(() => src.os.cinder.createVolume({ size: 1, name: `${name}-vol` }))).id;
  await src.os.cinder.waitVolume(volumeId, ['available'], undefined, 180_000);
  markWritten = writeVolume(volumeId, MARK_AT, mark);
  if (!markWritten) console.warn('the volume backend hides its images: restored data is not compared');

  ui = await startHeadlessUi({ work, dataDir, env: { ...process.env, OS_CLIENT_CONFIG_FILE: cloudsFile, OS_CLOUD: name } });
  page = ui.page;
  const plan = await ui.invoke<{ id: string }>('plans.create', {
    name,
    providerId: OS_INFRA,
    resources: [{ id: volumeId, type: 'OS::Cinder::Volume', name: `${name}-vol` }],
    parameters: {},
  });
  checkpointId = (await ui.invoke<{ id: string }>('checkpoints.create', { providerId: OS_INFRA, planId: plan.id })).id;
  const app = ui;
  const cp = await ui.waitUntil(
    async () => {
      const c = await app.invoke<{ status: string }>('checkpoints.get', { providerId: OS_INFRA, id: checkpointId });
      return c.status === 'protecting' ? undefined : c;
    },
    'the checkpoint',
    900_000,
  );
  expect(cp.status).toBe('available');
  await page.goto(`${ui.base}/ui/#token=${encodeURIComponent(ui.token)}`);
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
}, 1_200_000);

afterAll(async () => {
  await ui?.close();
  fs.rmSync(work, { recursive: true, force: true });
  // KARBOR_OS_KEEP=1 keeps both projects for a look after a failure
  if (process.env.KARBOR_OS_KEEP) return;
  if (target) await dropMemberProject(target);
  if (source) await dropMemberProject(source);
}, 600_000);

describe('restore wizard: into another project (real cloud)', () => {
  it('offers the section for an OpenStack checkpoint and explains what is missing or wrong', async () => {
    const { ui: app } = started();
    await app.go(`restore?provider=${OS_INFRA}&checkpoint=${checkpointId}`, 'Restore');
    await page.getByRole('button', { name: 'Next: parameters' }).click();
    const section = page.getByTestId('restore-target');
    await section.getByText('Restore into another project', { exact: true }).waitFor();
    await section.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Run restore' }).click();
    await section.getByText('The Keystone address of the target is needed.').waitFor();
    await section.getByText('The user to log in to the target as is needed.').waitFor();
    await section.getByText('The password of that user is needed.').waitFor();
    await page.getByLabel('Keystone URL').fill('ftp://keystone.example.org/v3');
    await section.getByText('Give an http:// or https:// address').waitFor();
    await page.getByLabel('Keystone URL').fill(`${authUrl}?project_id=x`);
    await section.getByText('Only the address: the project and domains go in their own fields.').waitFor();
    await page.getByLabel('Project domain').fill('');
    await page.getByLabel('Project name').fill('web');
    await section.getByText('A project named by its name needs its domain').waitFor();
    await expect(page.getByLabel('Password').getAttribute('type')).resolves.toBe('password');
    await expect(page.getByLabel('Password').getAttribute('autocomplete')).resolves.toBe('off');
    await app.expectNoRawErrors();
    await app.shot('restore-target-invalid');
    // Nothing was started while the form was wrong.
    await expect(app.invoke<unknown[]>('restores.list', { checkpointId })).resolves.toEqual([]);
  });

  it('restores the volume into the target project as the target’s user, showing the password only as ***', async () => {
    const { ui: app, source: src, target: dst } = started();
    const sourceVolumes = (await src.os.cinder.listVolumes()).map((v) => v.id).sort();
    await page.getByLabel('Keystone URL').fill(authUrl);
    await page.getByLabel('Project name').fill(`${name}-dst`);
    await page.getByLabel('Project domain').fill('Default');
    await page.getByLabel('User name').fill(dst.username);
    await page.getByLabel('User domain').fill('Default');
    await page.getByLabel('Password').fill(dst.password);
    await app.shot('restore-target-form');
    await page.getByRole('button', { name: 'Run restore' }).click();
    await page.getByTestId('restore-status').getByText('success').waitFor({ timeout: 900_000 });
    const into = await page.getByTestId('restore-into').innerText();
    const expectedTarget = `${authUrl}?project_name=${encodeURIComponent(`${name}-dst`)}&project_domain_name=Default&user_domain_name=Default`;
    expect(into).toContain(expectedTarget);
    expect(into).toContain(`as ${dst.username}, password ***`);
    expect(await page.getByTestId('restore-results').innerText()).toContain(`${name}-vol`);
    expect(await page.locator('body').innerText()).not.toContain(dst.password);
    await app.expectNoRawErrors();
    await app.shot('restore-target-done');

    const [r] = await app.invoke<{ restore_target: string; restore_auth: unknown; status: string }[]>('restores.list', { checkpointId });
    expect(r).toMatchObject({
      status: 'success',
      restore_target: expectedTarget,
      restore_auth: { type: 'password', username: dst.username, password: '***' },
    });
    expect(dataFolderBytes(dataDir)).not.toContain(dst.password);

    // The volume lives in the target project (its user sees it), the source has nothing new.
    const restored = await dst.os.cinder.listVolumes();
    expect(restored.map((v) => [v.name, v.size])).toEqual([[`${name}-vol`, 1]]);
    const vol = await dst.os.cinder.getVolume(restored[0]!.id);
    expect(vol?.status).toBe('available');
    if (markWritten) expect(md5(readVolume(restored[0]!.id, MARK_AT, 1 << 20) ?? Buffer.alloc(0)), 'the volume’s data').toBe(md5(mark));
    expect((await src.os.cinder.listVolumes()).map((v) => v.id).sort()).toEqual(sourceVolumes);
    expect(await dst.os.cinder.listTransfers()).toEqual([]);
  });

  it('forgot the password: running again asks for it anew', async () => {
    await page.getByRole('button', { name: 'Change parameters and run again' }).click();
    const section = page.getByTestId('restore-target');
    await expect(page.getByLabel('Password').inputValue()).resolves.toBe('');
    await expect(page.getByLabel('User name').inputValue()).resolves.toBe(started().target.username);
    await page.getByRole('button', { name: 'Run restore' }).click();
    await section.getByText('The password of that user is needed.').waitFor();
    await expect(started().ui.invoke<unknown[]>('restores.list', { checkpointId })).resolves.toHaveLength(1);
  });
});
