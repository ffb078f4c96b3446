import { loadCloud, type CloudConfig, type HttpOptions, type LoadCloudOptions } from '../../plugins/openstack/client';
import type { Caller } from '../context';
import { Unauthorized, Unavailable } from '../errors';
import type { Logger } from '../log';
import { KeystoneValidator } from './keystone-validator';
import { DEFAULT_TOKEN_CACHE, TokenCache, type TokenCacheOptions, type Validation } from './token-cache';
import { LOCAL_TOKEN_PREFIX, type TokenService } from './tokens';

/** The optional mode in which clouds' Keystones vouch for tokens this engine did not issue. */
export interface KeystoneAuthOptions {
  /** clouds.yaml names (or resolved clouds) whose Keystone validates tokens, asked in this order. */
  clouds: (string | CloudConfig)[];
  /** Where clouds.yaml is looked for (tests); the standard places otherwise. */
  cloudOptions?: Omit<LoadCloudOptions, 'cloud'>;
  cache?: Partial<TokenCacheOptions>;
  http?: HttpOptions;
}

const NO_HEADER = 'The request you have made requires authentication: no X-Auth-Token header';
const INVALID = 'The request you have made requires authentication: invalid token';

/**
 * Who is calling the API: the engine's own tokens first (`kbd_…`, looked up in SQLite), then, in
 * Keystone mode, each configured cloud's Keystone. Only tokens that are not the engine's own are
 * ever sent to a Keystone.
 */
export class Authenticator {
  readonly keystones: KeystoneValidator[];
  private readonly cache: TokenCache;

  constructor(
    private readonly tokens: TokenService,
    private readonly log: Logger,
    keystone?: KeystoneAuthOptions,
  ) {
    this.keystones = (keystone?.clouds ?? []).map(
      (c) => new KeystoneValidator(typeof c === 'string' ? loadCloud({ ...keystone?.cloudOptions, cloud: c }) : c, keystone?.http),
    );
    this.cache = new TokenCache({ ...DEFAULT_TOKEN_CACHE, ...keystone?.cache });
  }

  /** Whether Keystone tokens are accepted. */
  get keystoneMode(): boolean {
    return this.keystones.length > 0;
  }

  /** The caller a token stands for; `Unauthorized` (401) when nobody vouches for it, `Unavailable` (503) when Keystone cannot say. */
  async authenticate(token: string | undefined): Promise<Caller> {
    if (!token) throw new Unauthorized(NO_HEADER);
    const local = this.tokens.lookup(token);
    if (local) return local;
    if (!this.keystoneMode || token.startsWith(LOCAL_TOKEN_PREFIX)) throw new Unauthorized(INVALID);
    const v = await this.cache.get(token, () => this.askKeystones(token));
    if (!v.valid) throw new Unauthorized(INVALID);
    return v.caller;
  }

  /**
   * The first cloud that knows the token decides. When none knows it but one could not be
   * asked, the answer is that failure (503): the token may well be that cloud's.
   */
  private async askKeystones(token: string): Promise<Validation> {
    let failure: Unavailable | undefined;
    for (const k of this.keystones) {
      try {
        const v = await k.validate(token);
        if (v.valid) {
          this.log.debug('keystone token accepted', {
            cloud: k.name,
            user: v.userId,
            project: v.caller.projectId,
            admin: v.caller.isAdmin,
          });
          return v;
        }
      } catch (err) {
        if (!(err instanceof Unavailable)) throw err;
        this.log.warn('keystone cannot validate tokens', { cloud: k.name, reason: err.message });
        failure ??= err;
      }
    }
    if (failure) throw failure;
    return { valid: false };
  }
}
