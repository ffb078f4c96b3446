import { createHash } from 'node:crypto';
import type { Caller } from '../context';

/** What an identity service said about a token. */
export type Validation =
  { valid: true; caller: Caller; expiresAt: number; /** For logs: who the token belongs to. */ userId?: string } | { valid: false };

export interface TokenCacheOptions {
  /**
   * Longest time a valid token is trusted without asking again, whatever its expiry: a revoked
   * token stops working within it (keystonemiddleware's `token_cache_time`, 300 s by default).
   */
  maxTtlMs: number;
  /** How long an invalid token is remembered, so a client retrying a bad token does not flood the identity service. */
  negativeTtlMs: number;
  /** Entries kept at most; the least recently used one goes first. */
  maxEntries: number;
  now?: () => number;
}

export const DEFAULT_TOKEN_CACHE: TokenCacheOptions = { maxTtlMs: 300_000, negativeTtlMs: 10_000, maxEntries: 1000 };

const keyOf = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * Remembers token validations so that each request does not ask the identity service again.
 * Valid tokens are kept until they expire (at most `maxTtlMs`), invalid ones for `negativeTtlMs`;
 * a validation that failed (the service could not be reached) is not kept, so the next request
 * asks again. Concurrent requests with the same token share one validation. Keys are SHA-256
 * digests: the cache never holds token text.
 */
export class TokenCache {
  private readonly entries = new Map<string, { value: Validation; until: number }>();
  private readonly pending = new Map<string, Promise<Validation>>();
  private readonly now: () => number;

  constructor(private readonly opts: TokenCacheOptions = DEFAULT_TOKEN_CACHE) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached validation of `token`, or `validate()`'s answer (then cached). */
  async get(token: string, validate: () => Promise<Validation>): Promise<Validation> {
    const key = keyOf(token);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      if (hit.until > this.now()) {
        this.entries.set(key, hit);
        return hit.value;
      }
    }
    let running = this.pending.get(key);
    if (!running) {
      running = validate()
        .then((value) => {
          this.store(key, value);
          return value;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, running);
    }
    return running;
  }

  /** Forgets every entry (a configuration change, or a test). */
  clear(): void {
    this.entries.clear();
  }

  private store(key: string, value: Validation): void {
    const now = this.now();
    const until = value.valid ? Math.min(value.expiresAt, now + this.opts.maxTtlMs) : now + this.opts.negativeTtlMs;
    if (until <= now) return;
    this.entries.delete(key);
    while (this.entries.size >= this.opts.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, until });
  }
}
