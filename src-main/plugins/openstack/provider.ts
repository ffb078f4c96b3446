import type { ProtectablePlugin } from '../../engine/protectables/types';
import type { ProtectionPlugin, ProviderDefinition } from '../../engine/providers/types';
import { consistencyGroupProtection } from './consistency-group';
import { OpenStackConnections, type OpenStackFamilyOptions } from './connections';
import { imageProtection } from './image';
import { openstackProtectables } from './protectables';
import { projectProtection, serverProtection } from './server';
import { volumeProtection } from './volume';

/** The OS Infra Provider (Karbor's id for its OpenStack infrastructure provider). */
export const OS_INFRA_PROVIDER_ID = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

/** Protection plugin names a provider definition may list. */
export const OPENSTACK_PLUGINS = [
  'os-keystone-project',
  'os-nova-server',
  'os-cinder-volume',
  'os-cinder-consistency-group',
  'os-glance-image',
];

/**
 * The built-in OS Infra Provider: its cloud is `OS_CLOUD` (a clouds.yaml entry) or the `OS_*`
 * variables of the process; image data goes to its own deduplicated bank in the data folder.
 * Another cloud: a `providers.d/*.json` with these plugins and `"config": {"cloud": "<name>"}`.
 */
export const osInfraProvider: ProviderDefinition = {
  id: OS_INFRA_PROVIDER_ID,
  name: 'OS Infra Provider',
  description:
    'Protects OpenStack projects, servers, volumes and volume groups (Cinder backups) and images (into the bank) of the configured cloud',
  plugins: OPENSTACK_PLUGINS,
  bank: { type: 'local', path: 'bank-openstack' },
  enabled: true,
};

export interface OpenStackFamily {
  connections: OpenStackConnections;
  protectables: ProtectablePlugin[];
  protectionPlugins: ProtectionPlugin[];
  providers: ProviderDefinition[];
}

/** The OpenStack resource family: protectables, protection plugins and the built-in provider. */
export function openstackFamily(opts: OpenStackFamilyOptions = {}): OpenStackFamily {
  const connections = new OpenStackConnections(opts);
  return {
    connections,
    protectables: openstackProtectables(connections),
    protectionPlugins: [
      projectProtection(connections),
      serverProtection(connections),
      volumeProtection(connections),
      consistencyGroupProtection(connections),
      imageProtection(connections),
    ],
    providers: [osInfraProvider],
  };
}
