import type { BankConfig } from '../../engine/providers/types';
import { ConfigReader } from '../remote/bank-config';
import { SwiftBank } from './swift-bank';

/**
 * A Swift bank from a provider's `bank: {type: 'swift', …}`. Without `authUrl` the Keystone login
 * comes from the `OS_*` variables of an openrc in the engine's environment, so
 * `{type: 'swift', container: 'karbor'}` is enough there. The password: `password`, or better
 * `passwordEnv` (the name of a variable holding it).
 */
export function swiftBankFromConfig(config: BankConfig, env: NodeJS.ProcessEnv = process.env): SwiftBank {
  const c = new ConfigReader(config, 'swift', env);
  // Either the config describes the Keystone login or the environment does, never a mix.
  const os = (name: string): string | undefined => (config.authUrl === undefined ? `OS_${name}` : undefined);
  return new SwiftBank({
    auth: {
      authUrl: c.required('authUrl', os('AUTH_URL')),
      username: c.required('username', os('USERNAME')),
      password: c.secret('password', os('PASSWORD')) ?? c.required('password', os('PASSWORD')),
      projectName: c.required('projectName', os('PROJECT_NAME')),
      userDomainId: c.string('userDomainId', os('USER_DOMAIN_ID')),
      userDomainName: c.string('userDomainName', os('USER_DOMAIN_NAME')),
      projectDomainId: c.string('projectDomainId', os('PROJECT_DOMAIN_ID')),
      projectDomainName: c.string('projectDomainName', os('PROJECT_DOMAIN_NAME')),
      region: c.string('region', os('REGION_NAME')),
      interface: c.oneOf('interface', ['public', 'internal', 'admin'] as const, os('INTERFACE')),
    },
    container: c.required('container'),
    prefix: c.string('prefix'),
    leaseSettleMs: c.number('leaseSettleMs'),
    timeoutMs: c.number('timeoutMs'),
  });
}
