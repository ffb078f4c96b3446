import { Session } from '../../plugins/openstack/client/keystone';
import type { CloudConfig } from '../../plugins/openstack/client/clouds';
import type { SwiftAuth } from './swift-http';

/**
 * Swift auth through the OpenStack client's Keystone session, so a bank can name a cloud of
 * `clouds.yaml` (or use `OS_*`) like the OpenStack plugins do: password, application credential
 * or token authentication, region, interface and `object_store_endpoint_override` included.
 */
export class CloudSessionAuth implements SwiftAuth {
  private readonly keystone: Session;

  constructor(cloud: CloudConfig) {
    this.keystone = new Session(cloud);
  }

  async session(): Promise<{ token: string; storageUrl: string }> {
    const token = await this.keystone.getToken();
    return { token, storageUrl: await this.keystone.endpoint('object-store') };
  }

  invalidate(): void {
    this.keystone.invalidate();
  }
}
