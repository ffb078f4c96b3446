import { CinderClient } from './cinder';
import { loadCloud, type CloudConfig, type LoadCloudOptions } from './clouds';
import { GlanceClient } from './glance';
import { Http, type HttpOptions } from './http';
import { Session, jsonCall } from './keystone';
import { NovaClient } from './nova';
import { SwiftClient } from './swift';

export { CinderClient } from './cinder';
export { DATA_PROTECT, hasProjectPlaceholder, registerEndpoint, unregisterEndpoint } from './catalog';
export type { EndpointRegistration, Registered } from './catalog';
export { CloudConfigError, cloudFromEntry, cloudsYamlPaths, fromEnv, loadCloud, readCloudsFile, redactCloud } from './clouds';
export type { AuthSettings, CloudConfig, LoadCloudOptions } from './clouds';
export { OpenStackError, OpenStackStateError } from './errors';
export { GlanceClient } from './glance';
export { Http } from './http';
export type { HttpOptions } from './http';
export { Session, jsonCall } from './keystone';
export type { TokenInfo } from './keystone';
export { NovaClient } from './nova';
export { SwiftClient } from './swift';

export interface KeystoneProject {
  id: string;
  name: string;
  domain_id: string;
  description?: string;
  enabled?: boolean;
}

/** One cloud's session and a client per service, created on first use. */
export class OpenStack {
  readonly glance: GlanceClient;
  readonly cinder: CinderClient;
  readonly nova: NovaClient;
  readonly swift: SwiftClient;

  constructor(readonly session: Session) {
    this.glance = new GlanceClient(session);
    this.cinder = new CinderClient(session);
    this.nova = new NovaClient(session);
    this.swift = new SwiftClient(session);
  }

  get cloud(): CloudConfig {
    return this.session.cloud;
  }

  /** The project the session is scoped to. */
  async project(): Promise<KeystoneProject> {
    const id = await this.session.projectId();
    try {
      return (
        await jsonCall<{ project: KeystoneProject }>(this.session, 'keystone', 'identity', { method: 'GET', path: `/projects/${id}` })
      ).project;
    } catch {
      // Non-admin users may not read projects; the token names the project anyway.
      const info = await this.session.tokenInfo();
      return { id, name: info.project?.name ?? id, domain_id: info.project?.domain?.id ?? '' };
    }
  }
}

/** Opens a session on a cloud from clouds.yaml or `OS_*` (see `loadCloud`). Nothing is called until first use. */
export function connect(cloud: CloudConfig | LoadCloudOptions = {}, http?: HttpOptions): OpenStack {
  const config = 'auth' in cloud ? cloud : loadCloud(cloud);
  return new OpenStack(
    new Session(config, { http: new Http({ timeoutMs: config.api_timeout ? config.api_timeout * 1000 : undefined, ...http }) }),
  );
}
