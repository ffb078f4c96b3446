import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keystoneAuthArgs } from '../../src-main/cli-args';
import { createEngine } from '../../src-main/engine';
import { capturingLog, startHarness, tempDir, type Harness } from '../helpers/harness';

/**
 * Keystone mode without a cloud: the configured Keystone listens nowhere (a port that was just
 * closed), so every foreign token meets a real refused connection. The real Keystone is used by
 * test/openstack/keystone-auth.test.ts.
 */
let h: Harness;
const logged: string[] = [];
const log = capturingLog(logged);
const FOREIGN = 'gAAAAABforeign-token-that-no-keystone-can-check';

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function writeClouds(dir: string, port: number): string {
  const file = path.join(dir, 'clouds.yaml');
  fs.writeFileSync(
    file,
    [
      'clouds:',
      '  down:',
      '    auth:',
      `      auth_url: http://127.0.0.1:${port}/v3`,
      '      username: svc',
      '      password: secret',
      '      project_name: service',
      '',
    ].join('\n'),
  );
  return file;
}

beforeAll(async () => {
  const dir = tempDir();
  const port = await closedPort();
  h = await startHarness({ log, keystoneAuth: { clouds: ['down'], cloudOptions: { files: [writeClouds(dir, port)] } } });
});
afterAll(async () => h?.close());

describe('Keystone mode', () => {
  const calls = () => h.engine.auth.keystones[0]?.calls ?? -1;

  it('keeps the engine’s own tokens working without asking Keystone', async () => {
    const r = await h.api('GET', '/providers');
    expect(r.status).toBe(200);
    expect(calls()).toBe(0);
  });

  it('answers 401 for a missing header and for an unknown token of the engine’s own form, which never goes to Keystone', async () => {
    const none = await h.api('GET', '/providers', undefined, { token: null });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ unauthorized: { code: 401, message: expect.stringContaining('no X-Auth-Token header') as unknown } });
    const unknown = await h.api('GET', '/providers', undefined, { token: 'kbd_not-issued-here' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ unauthorized: { code: 401, message: expect.stringContaining('invalid token') as unknown } });
    expect(calls()).toBe(0);
  });

  it('answers 503 naming Keystone when it cannot be reached, and asks again on the next request', async () => {
    const r = await h.api<{ serviceUnavailable: { code: number; message: string } }>('GET', '/plans', undefined, { token: FOREIGN });
    expect(r.status).toBe(503);
    expect(r.body.serviceUnavailable.code).toBe(503);
    expect(r.body.serviceUnavailable.message).toMatch(
      /^Keystone of cloud 'down' \(http:\/\/127\.0\.0\.1:\d+\/v3\) cannot validate the token now: /,
    );
    expect(r.body.serviceUnavailable.message).toContain('connection refused');
    expect(calls()).toBe(1);
    expect((await h.api('GET', '/plans', undefined, { token: FOREIGN })).status).toBe(503);
    expect(calls()).toBe(2);
  });

  it('never logs a token', () => {
    expect(logged.some((l) => l.includes('cannot validate'))).toBe(true);
    expect(logged.join('\n')).not.toContain(FOREIGN);
    expect(logged.join('\n')).not.toContain(h.token);
  });
});

describe('Keystone mode options', () => {
  it('is off unless a cloud is named, by option or environment', () => {
    expect(keystoneAuthArgs({}, {})).toBeUndefined();
    expect(keystoneAuthArgs({ 'keystone-auth': ' a, b ,' }, {})).toEqual({ clouds: ['a', 'b'], cache: undefined });
    expect(keystoneAuthArgs({}, { KARBOR_KEYSTONE_AUTH: 'prod', KARBOR_KEYSTONE_CACHE_SECONDS: '30' })).toEqual({
      clouds: ['prod'],
      cache: { maxTtlMs: 30_000 },
    });
    expect(() => keystoneAuthArgs({ 'keystone-auth': 'a', 'keystone-cache-seconds': '5m' }, {})).toThrow(/whole number of seconds/);
  });

  it('stops the start when a named cloud is not configured', () => {
    const dir = tempDir();
    const clouds = writeClouds(dir, 1);
    expect(() =>
      createEngine({ dataDir: path.join(dir, 'data'), keystoneAuth: { clouds: ['nowhere'], cloudOptions: { files: [clouds] } } }),
    ).toThrow(/cloud 'nowhere' not found/);
  });
});
