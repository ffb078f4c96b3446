import { describe, expect, it } from 'vitest';
import { targetCloud, targetLabel } from '../../../src-main/plugins/openstack/restore-target';

const auth = { type: 'password', username: 'bob', password: 'pw' };

describe('restore_target for the OpenStack plugins', () => {
  it('is a Keystone auth URL whose query names the scope, region and interface', () => {
    const url =
      'https://keystone.example:5000/v3?project_name=web&project_domain_name=Dept&user_domain_name=Dept&region_name=R2&interface=internal';
    const c = targetCloud({ url, auth });
    expect(c).toMatchObject({
      auth_type: 'password',
      auth: {
        auth_url: 'https://keystone.example:5000/v3',
        username: 'bob',
        password: 'pw',
        project_name: 'web',
        project_domain_name: 'Dept',
        user_domain_name: 'Dept',
      },
      region_name: 'R2',
      interface: 'internal',
    });
    expect(targetLabel({ url, auth })).toBe('https://keystone.example:5000/v3');
  });

  it('without a query leaves the scope to the user’s default project, on public endpoints', () => {
    const c = targetCloud({ url: 'http://127.0.0.1:5000/v3', auth: { username: 'bob', password: 'pw' } });
    expect(c.auth).toEqual({ auth_url: 'http://127.0.0.1:5000/v3', username: 'bob', password: 'pw' });
    expect(c.interface).toBe('public');
    expect(c.region_name).toBeUndefined();
  });

  it('refuses what it cannot use, before anything is called, never showing the password', () => {
    const bad: [string, Record<string, unknown> | null, RegExp][] = [
      ['http://127.0.0.1:5000/v3', null, /needs restore_auth \{"type": "password"/],
      ['http://127.0.0.1:5000/v3', { type: 'token', username: 'bob', password: 'pw' }, /needs restore_auth/],
      ['http://127.0.0.1:5000/v3', { type: 'password', username: 'bob' }, /needs restore_auth/],
      ['keystone', auth, /is not a URL/],
      ['ftp://keystone/v3', auth, /not an http\(s\) Keystone auth URL/],
      ['http://bob:pw@keystone/v3', auth, /must not carry credentials/],
      ['http://keystone/v3?project=web', auth, /unknown query parameter 'project'/],
      ['http://keystone/v3?interface=private', auth, /interface 'private'/],
    ];
    for (const [url, a, msg] of bad) {
      let err: unknown;
      try {
        targetCloud({ url, auth: a });
      } catch (e) {
        err = e;
      }
      expect(err, url).toBeInstanceOf(Error);
      expect((err as Error).message, url).toMatch(msg);
      expect((err as Error).message).not.toContain(':pw');
    }
  });
});
