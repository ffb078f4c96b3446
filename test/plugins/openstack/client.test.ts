import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudConfigError, Http, OpenStackError, Session, loadCloud, redactCloud } from '../../../src-main/plugins/openstack/client';
import { parseYaml } from '../../../src-main/plugins/openstack/client/yaml';
import { tempDir } from '../../helpers/harness';

describe('clouds.yaml', () => {
  it('parses the YAML clouds.yaml files use', () => {
    const doc = parseYaml(`
# comment
clouds:
  osbox:   # trailing comment
    auth:
      auth_url: "http://127.0.0.1:5000/v3"
      username: admin
      password: 'it''s #secret'
      project_name: admin
    regions: [RegionOne, "Region Two"]
    flags: {verify: false, n: 3}
    list:
      - name: a
        size: 1.5
      - b
    empty:
`);
    expect(doc).toEqual({
      clouds: {
        osbox: {
          auth: { auth_url: 'http://127.0.0.1:5000/v3', username: 'admin', password: "it's #secret", project_name: 'admin' },
          regions: ['RegionOne', 'Region Two'],
          flags: { verify: false, n: 3 },
          list: [{ name: 'a', size: 1.5 }, 'b'],
          empty: null,
        },
      },
    });
    expect(() => parseYaml('a: &x 1')).toThrow(/line 1: anchors/);
  });

  it('finds the named cloud in the first clouds.yaml on the search path and merges secure.yaml', () => {
    const cwd = tempDir('clouds-cwd-');
    const home = tempDir('clouds-home-');
    fs.mkdirSync(path.join(home, '.config', 'openstack'), { recursive: true });
    fs.writeFileSync(
      path.join(home, '.config', 'openstack', 'clouds.yaml'),
      'clouds:\n  one:\n    auth:\n      auth_url: http://127.0.0.1:5000\n      username: u\n      project_name: p\n    region_name: R1\n    interface: internal\n    image_endpoint_override: http://127.0.0.1:9999\n  two:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      application_credential_id: abc\n      application_credential_secret: s3cr3t\n',
    );
    fs.writeFileSync(path.join(cwd, 'secure.yaml'), 'clouds:\n  one:\n    auth:\n      password: hunter2\n');
    const one = loadCloud({ cloud: 'one', env: {}, cwd, home });
    expect(one).toMatchObject({ name: 'one', auth_type: 'password', region_name: 'R1', interface: 'internal' });
    expect(one.auth.password).toBe('hunter2');
    expect(one.endpoint_overrides.image).toBe('http://127.0.0.1:9999');
    expect(loadCloud({ env: { OS_CLOUD: 'two' }, cwd, home }).auth_type).toBe('v3applicationcredential');
    expect(() => loadCloud({ env: {}, cwd, home })).toThrow(/defines 2 clouds \(one, two\)/);
    expect(() => loadCloud({ cloud: 'three', env: {}, cwd, home })).toThrow(/cloud 'three' not found .* \(it has: one, two\)/);
    // clouds.yaml in the working folder wins over the one in ~/.config
    const cwd2 = tempDir('clouds-cwd-');
    fs.writeFileSync(
      path.join(cwd2, 'clouds.yaml'),
      'clouds:\n  one:\n    auth:\n      auth_url: http://127.0.0.1:5001\n      token: t0k\n',
    );
    const local = loadCloud({ cloud: 'one', env: {}, cwd: cwd2, home });
    expect(local.auth_type).toBe('token');
    expect(local.auth.auth_url).toBe('http://127.0.0.1:5001');
    expect(JSON.stringify(redactCloud(one))).not.toContain('hunter2');
  });

  it('reads OS_* variables and names what is missing without echoing secrets', () => {
    const c = loadCloud({
      env: {
        OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
        OS_USERNAME: 'admin',
        OS_PASSWORD: 'pw',
        OS_PROJECT_NAME: 'admin',
        OS_REGION_NAME: 'RegionOne',
      },
    });
    expect(c).toMatchObject({ name: 'envvars', source: 'environment', auth_type: 'password', region_name: 'RegionOne' });
    try {
      loadCloud({ env: { OS_AUTH_URL: 'http://127.0.0.1:5000', OS_PASSWORD: 'topsecret' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CloudConfigError);
      expect((err as Error).message).toMatch(/auth.username or auth.user_id is missing/);
      expect((err as Error).message).not.toContain('topsecret');
    }
  });
});

describe('HTTP layer and session (fake services on 127.0.0.1)', () => {
  let server: http.Server;
  let base: string;
  const hits: Record<string, number> = {};
  let tokens = 0;
  let validToken = '';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      hits[url] = (hits[url] ?? 0) + 1;
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (url === '/v3/auth/tokens' && req.method === 'POST') {
          const auth = (JSON.parse(body) as { auth: { identity: { password: { user: { password: string } } } } }).auth;
          if (auth.identity.password.user.password !== 'right') {
            res.writeHead(401, { 'Content-Type': 'application/json' });
            return res.end(JSON.stringify({ error: { code: 401, message: 'The request you have made requires authentication.' } }));
          }
          validToken = `tok-${++tokens}`;
          res.writeHead(201, { 'X-Subject-Token': validToken, 'Content-Type': 'application/json' });
          return res.end(
            JSON.stringify({
              token: {
                expires_at: new Date(Date.now() + 3_600_000).toISOString(),
                user: { id: 'u', name: 'admin' },
                project: { id: 'p1', name: 'admin' },
                catalog: [
                  {
                    type: 'image',
                    endpoints: [
                      { interface: 'public', region_id: 'R2', url: 'http://127.0.0.1:1/wrong-region' },
                      { interface: 'internal', region_id: 'R1', url: `${base}/wrong-interface` },
                      { interface: 'public', region_id: 'R1', url: `${base}/image/` },
                    ],
                  },
                ],
              },
            }),
          );
        }
        if (req.headers['x-auth-token'] !== validToken) {
          res.writeHead(401);
          return res.end('unauthorized');
        }
        if (url.startsWith('/image/flaky') && (hits[url] ?? 0) < 3) {
          res.writeHead(503, { 'Content-Type': 'text/html' });
          return res.end('<html><body><h1>503 Service Unavailable</h1>No server is available</body></html>');
        }
        if (url.startsWith('/image/always-broken')) {
          res.writeHead(500, { 'Content-Type': 'application/json' });
          return res.end(JSON.stringify({ computeFault: { message: 'boom', code: 500 } }));
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ ok: url }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const session = (password = 'right'): Session =>
    new Session(
      loadCloud({
        env: { OS_AUTH_URL: base, OS_USERNAME: 'admin', OS_PASSWORD: password, OS_PROJECT_NAME: 'admin', OS_REGION_NAME: 'R1' },
      }),
      { http: new Http({ backoffMs: 5, retries: 3 }) },
    );

  it('picks the endpoint of the region and interface, retries 5xx with backoff', async () => {
    const s = session();
    expect(await s.endpoint('image')).toBe(`${base}/image`);
    const res = await s.request('glance', 'image', { method: 'GET', path: '/flaky' });
    expect(res.status).toBe(200);
    expect(hits['/image/flaky']).toBe(3);
  });

  it('names the service, call and status when retries run out; POSTs are not retried', async () => {
    const s = session();
    await expect(s.request('glance', 'image', { method: 'GET', path: '/always-broken/x?y=1' })).rejects.toThrow(
      'glance: GET /always-broken/x failed: 500 boom',
    );
    expect(hits['/image/always-broken/x?y=1']).toBe(4);
    await expect(s.request('glance', 'image', { method: 'POST', path: '/always-broken/post', json: {} })).rejects.toThrow(/500 boom/);
    expect(hits['/image/always-broken/post']).toBe(1);
  });

  it('re-authenticates once when a token is rejected', async () => {
    const s = session();
    await s.request('glance', 'image', { method: 'GET', path: '/a' });
    const before = s.authCount;
    validToken = 'revoked-elsewhere';
    const res = await s.request('glance', 'image', { method: 'GET', path: '/b' });
    expect(res.status).toBe(200);
    expect(s.authCount).toBe(before + 1);
  });

  it('reports a wrong password as a keystone 401 without the password', async () => {
    const err = (await session('wrong-pw')
      .getToken()
      .catch((e: unknown) => e)) as OpenStackError;
    expect(err).toBeInstanceOf(OpenStackError);
    expect(err.message).toBe('keystone: POST /v3/auth/tokens failed: 401 The request you have made requires authentication.');
    expect(err.message).not.toContain('wrong-pw');
  });

  it('retries connection failures of idempotent calls, then names the service', async () => {
    const h = new Http({ backoffMs: 5, retries: 2 });
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const t0 = Date.now();
    await expect(h.call({ service: 'cinder', method: 'GET', url: `http://127.0.0.1:${port}/v3/volumes` })).rejects.toThrow(
      'cinder: GET /v3/volumes failed: connection refused (ECONNREFUSED)',
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
