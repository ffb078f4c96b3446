import type { BankConfig } from '../../engine/providers/types';
import { loadCloud, type CloudConfig } from '../../plugins/openstack/client/clouds';
import { BankError } from '../errors';
import { ConfigReader } from '../remote/bank-config';
import { SwiftBank } from './swift-bank';

/**
 * A Swift bank from a provider's `bank: {type: 'swift', container, …}`. The login is either given
 * in the config (`authUrl`, `username`, `password` or better `passwordEnv`, the name of a variable
 * holding it, `projectName`, domains, `region`, `interface`) or, without `authUrl`, a cloud found
 * like the OpenStack plugins find theirs: `cloud` (a `clouds.yaml` entry), else `OS_CLOUD`, else
 * the `OS_*` variables of an openrc, else the only cloud in `clouds.yaml`; a cloud added in the
 * app (`appCloudsFile`) is found by its name too.
 */
export function swiftBankFromConfig(config: BankConfig, env: NodeJS.ProcessEnv = process.env, appCloudsFile?: string): SwiftBank {
  const c = new ConfigReader(config, 'swift', env);
  const common = {
    container: c.required('container'),
    prefix: c.string('prefix'),
    leaseSettleMs: c.number('leaseSettleMs'),
    timeoutMs: c.number('timeoutMs'),
    segmentBytes: c.number('segmentBytes'),
  };
  if (config.authUrl === undefined) {
    const name = c.string('cloud');
    let cloud: CloudConfig;
    try {
      cloud = loadCloud({ cloud: name, env, appFile: appCloudsFile });
    } catch (err) {
      throw new BankError(`swift bank config: ${(err as Error).message}`, { code: 'BANK_INVALID_CONFIG', status: 400, cause: err });
    }
    return new SwiftBank({ ...common, auth: { cloud } });
  }
  return new SwiftBank({
    ...common,
    auth: {
      authUrl: c.required('authUrl'),
      username: c.required('username'),
      password: c.secret('password') ?? c.required('password'),
      projectName: c.required('projectName'),
      userDomainId: c.string('userDomainId'),
      userDomainName: c.string('userDomainName'),
      projectDomainId: c.string('projectDomainId'),
      projectDomainName: c.string('projectDomainName'),
      region: c.string('region'),
      interface: c.oneOf('interface', ['public', 'internal', 'admin'] as const),
    },
  });
}
