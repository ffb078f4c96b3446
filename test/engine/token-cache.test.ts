import { describe, expect, it } from 'vitest';
import { TokenCache, type Validation } from '../../src-main/engine/auth/token-cache';
import { Unavailable } from '../../src-main/engine/errors';

/** A clock the test moves by hand, and a validator that counts how often it was asked. */
function rig(opts: { maxTtlMs?: number; negativeTtlMs?: number; maxEntries?: number } = {}) {
  let now = 1_000_000;
  const cache = new TokenCache({ maxTtlMs: 300_000, negativeTtlMs: 10_000, maxEntries: 100, ...opts, now: () => now });
  const asked: string[] = [];
  const valid = (token: string, lifetimeMs: number) => async (): Promise<Validation> => {
    asked.push(token);
    return { valid: true, caller: { projectId: `p-${token}`, isAdmin: false }, expiresAt: now + lifetimeMs };
  };
  const invalid = (token: string) => async (): Promise<Validation> => {
    asked.push(token);
    return { valid: false };
  };
  return { cache, asked, valid, invalid, advance: (ms: number) => (now += ms) };
}

describe('token cache', () => {
  it('keeps a valid token until it expires, then asks again', async () => {
    const r = rig();
    expect(await r.cache.get('a', r.valid('a', 60_000))).toMatchObject({ valid: true, caller: { projectId: 'p-a' } });
    r.advance(59_000);
    await r.cache.get('a', r.valid('a', 60_000));
    expect(r.asked).toEqual(['a']);
    r.advance(1_000);
    await r.cache.get('a', r.valid('a', 60_000));
    expect(r.asked).toEqual(['a', 'a']);
  });

  it('trusts a long-lived token no longer than maxTtlMs, so a revocation shows within it', async () => {
    const r = rig({ maxTtlMs: 5_000 });
    await r.cache.get('a', r.valid('a', 3_600_000));
    r.advance(4_999);
    await r.cache.get('a', r.valid('a', 3_600_000));
    expect(r.asked).toEqual(['a']);
    r.advance(1);
    expect(await r.cache.get('a', r.invalid('a'))).toEqual({ valid: false });
    expect(r.asked).toEqual(['a', 'a']);
  });

  it('remembers an invalid token for negativeTtlMs only', async () => {
    const r = rig({ negativeTtlMs: 10_000 });
    await r.cache.get('bad', r.invalid('bad'));
    r.advance(9_999);
    expect(await r.cache.get('bad', r.valid('bad', 60_000))).toEqual({ valid: false });
    r.advance(1);
    expect(await r.cache.get('bad', r.valid('bad', 60_000))).toMatchObject({ valid: true });
    expect(r.asked).toEqual(['bad', 'bad']);
  });

  it('does not keep a failed validation: the next request asks again', async () => {
    const r = rig();
    const down = async (): Promise<Validation> => {
      r.asked.push('down');
      throw new Unavailable('Keystone is down');
    };
    await expect(r.cache.get('a', down)).rejects.toThrow('Keystone is down');
    await expect(r.cache.get('a', down)).rejects.toThrow('Keystone is down');
    expect(r.asked).toEqual(['down', 'down']);
    expect(r.cache.size).toBe(0);
    expect(await r.cache.get('a', r.valid('a', 60_000))).toMatchObject({ valid: true });
  });

  it('shares one validation between concurrent requests with the same token', async () => {
    const r = rig();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((res) => (release = res));
    const slow = async (): Promise<Validation> => {
      await gate;
      return r.valid('a', 60_000)();
    };
    const all = Promise.all([r.cache.get('a', slow), r.cache.get('a', slow), r.cache.get('a', slow)]);
    release();
    const results = await all;
    expect(r.asked).toEqual(['a']);
    expect(new Set(results).size).toBe(1);
  });

  it('holds at most maxEntries, dropping the least recently used', async () => {
    const r = rig({ maxEntries: 2 });
    await r.cache.get('a', r.valid('a', 60_000));
    await r.cache.get('b', r.valid('b', 60_000));
    await r.cache.get('a', r.valid('a', 60_000)); // a is now the most recently used
    await r.cache.get('c', r.valid('c', 60_000)); // evicts b
    expect(r.cache.size).toBe(2);
    await r.cache.get('a', r.valid('a', 60_000));
    await r.cache.get('b', r.valid('b', 60_000));
    expect(r.asked).toEqual(['a', 'b', 'c', 'b']);
  });

  it('does not keep a token that has already expired', async () => {
    const r = rig();
    await r.cache.get('old', r.valid('old', 0));
    await r.cache.get('old', r.valid('old', 0));
    expect(r.asked).toEqual(['old', 'old']);
    expect(r.cache.size).toBe(0);
  });
});
