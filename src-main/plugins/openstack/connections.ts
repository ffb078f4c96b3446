import type { JsonObject } from '../../engine/db/schema/common';
import type { Resource } from '../../engine/protectables/types';
import { connect, loadCloud, type OpenStack } from './client';

/** What the OpenStack plugins are given by the engine. */
export interface OpenStackFamilyOptions {
  /** The `config` of a provider definition (`{"cloud": "<clouds.yaml name>"}`), by provider id. */
  providerConfig?: (providerId: string) => JsonObject | undefined;
  /** Environment for `OS_CLOUD` / `OS_*` (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** Working and home folders for the clouds.yaml search path (tests pass their own). */
  cwd?: string;
  home?: string;
  /** The clouds.yaml the app owns (clouds added in the app): its clouds are found by name first. */
  appCloudsFile?: string;
}

/**
 * One session per cloud, kept for the life of the engine so tokens are reused and renewed, not
 * requested per call. The cloud is, in order: a resource's `extra_info.cloud` (instances listed
 * with `parameters.cloud`), the provider's `config.cloud`, then `OS_CLOUD` or the `OS_*`
 * variables of the process.
 */
export class OpenStackConnections {
  private readonly byCloud = new Map<string, OpenStack>();

  constructor(private readonly opts: OpenStackFamilyOptions = {}) {
    liveConnections.add(new WeakRef(this));
  }

  /** The connection for a cloud name; the default cloud when absent. */
  get(cloud?: string): OpenStack {
    const key = cloud ?? '';
    let os = this.byCloud.get(key);
    if (!os) {
      const { env, cwd, home, appCloudsFile: appFile } = this.opts;
      os = connect(loadCloud({ cloud, env, cwd, home, appFile }));
      this.byCloud.set(key, os);
    }
    return os;
  }

  /** Drops a cloud's session (it was added again or removed), so the next use reads its settings anew. */
  forget(cloud: string): void {
    this.byCloud.delete(cloud);
  }

  /** Every connection opened so far (tests use it to revoke tokens mid-run). */
  all(): OpenStack[] {
    return [...this.byCloud.values()];
  }

  /** The cloud a resource of a provider lives in. */
  forResource(providerId: string | undefined, r?: Resource): OpenStack {
    return this.get(cloudOf(r) ?? (providerId ? configCloud(this.opts.providerConfig?.(providerId)) : undefined));
  }

  /** The cloud named by listing parameters (`{"cloud": "name"}`), else the default. */
  forParameters(parameters: JsonObject): OpenStack {
    return this.get(typeof parameters.cloud === 'string' && parameters.cloud ? parameters.cloud : undefined);
  }
}

/** Every engine's connections in this process, for tests that expire or revoke tokens mid-run. */
export const liveConnections = new Set<WeakRef<OpenStackConnections>>();

export function cloudOf(r?: Resource): string | undefined {
  const c = r?.extra_info?.cloud;
  return typeof c === 'string' && c ? c : undefined;
}

function configCloud(config?: JsonObject): string | undefined {
  return typeof config?.cloud === 'string' && config.cloud ? config.cloud : undefined;
}

/** `extra_info` carrying the cloud name, only when it is not the default one. */
export function cloudExtra(cloud?: string): { extra_info?: JsonObject } {
  return cloud ? { extra_info: { cloud } } : {};
}

export const PROJECT_TYPE = 'OS::Keystone::Project';
export const SERVER_TYPE = 'OS::Nova::Server';
export const VOLUME_TYPE = 'OS::Cinder::Volume';
/** Karbor's name for Cinder's generic volume groups (the legacy `/consistencygroups` API is not used). */
export const GROUP_TYPE = 'OS::Cinder::ConsistencyGroup';
export const IMAGE_TYPE = 'OS::Glance::Image';

/** A saved-info value as text ('' when it is not a string). */
export const asText = (v: unknown): string => (typeof v === 'string' ? v : '');
