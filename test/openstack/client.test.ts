import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { connect, fromEnv, jsonCall, OpenStackError, Session } from '../../src-main/plugins/openstack/client';

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of r) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

describe('OpenStack client against the real cloud', () => {
  const os = connect(fromEnv());

  it('authenticates with a password, scopes to the project and finds every endpoint', async () => {
    const project = await os.project();
    expect(project.name).toBe(process.env.OS_PROJECT_NAME);
    for (const t of ['image', 'block-storage', 'compute', 'object-store']) {
      expect(await os.session.endpoint(t)).toMatch(/^http:\/\/127\.0\.0\.1:/);
    }
    expect(await os.cinder.microversion()).toMatch(/^3\.\d+$/);
    expect(await os.nova.microversion()).toMatch(/^2\.\d+$/);
  });

  it('names keystone and hides the password when it is wrong', async () => {
    const bad = connect({ ...fromEnv(), auth: { ...fromEnv().auth, password: 'not-the-password' } });
    const err = (await bad.session.getToken().catch((e: unknown) => e)) as OpenStackError;
    expect(err).toBeInstanceOf(OpenStackError);
    expect(err.message).toMatch(/^keystone: POST \/v3\/auth\/tokens failed: 401/);
    expect(err.message).not.toContain('not-the-password');
  });

  it('renews a token that Keystone revoked mid-run, and one about to expire', async () => {
    // Services cache validated tokens for minutes; Keystone itself notices a revocation at once.
    const projects = (): Promise<unknown> => jsonCall(os.session, 'keystone', 'identity', { method: 'GET', path: '/auth/projects' });
    await projects();
    const before = os.session.authCount;
    await os.session.revoke();
    await projects();
    expect(os.session.authCount).toBe(before + 1);
    // A clock three days ahead: the token is past its expiry, so the session renews it before calling.
    const late = new Session(fromEnv(), { now: () => Date.now() + 3 * 86_400_000 });
    await late.getToken();
    await late.getToken();
    expect(late.authCount).toBe(2);
  });

  it('streams an image into Glance and back', async () => {
    const data = randomBytes(3 << 20);
    const img = await os.glance.create({ name: 'karbor-client-test', disk_format: 'raw', container_format: 'bare' });
    try {
      await os.glance.upload(img.id, Readable.from([data.subarray(0, 1 << 20), data.subarray(1 << 20)]));
      const active = await os.glance.waitActive(img.id);
      expect(active.checksum).toBe(createHash('md5').update(data).digest('hex'));
      expect((await readAll(await os.glance.download(img.id))).equals(data)).toBe(true);
    } finally {
      await os.glance.delete(img.id);
    }
    expect(await os.glance.get(img.id)).toBeUndefined();
  });

  it('stores, lists, reads and deletes Swift objects', async () => {
    const c = `karbor-client-test-${Date.now()}`;
    await os.swift.ensureContainer(c);
    const body = randomBytes(100_000);
    const etag = await os.swift.putObject(c, 'dir/a b', body);
    expect(etag).toBe(createHash('md5').update(body).digest('hex'));
    await os.swift.putObject(c, 'dir/c', Readable.from([Buffer.from('streamed')]));
    expect((await os.swift.listObjects(c, { prefix: 'dir/' })).map((o) => o.name)).toEqual(['dir/a b', 'dir/c']);
    expect((await readAll((await os.swift.getObject(c, 'dir/a b')) as Readable)).equals(body)).toBe(true);
    expect(await os.swift.getObject(c, 'missing')).toBeUndefined();
    expect(await os.swift.deleteObject(c, 'dir/a b')).toBe(true);
    expect(await os.swift.deleteObject(c, 'dir/a b')).toBe(false);
    await os.swift.deleteObject(c, 'dir/c');
    await os.swift.deleteContainer(c);
  });

  it('lists Nova flavors and Cinder volumes', async () => {
    expect((await os.nova.listFlavors()).some((f) => f.name === 'm1.tiny')).toBe(true);
    expect(Array.isArray(await os.cinder.listVolumes())).toBe(true);
  });
});
