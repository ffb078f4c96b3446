import { LocalBank } from '../../banks/local/local-bank';
import { s3BankFromConfig } from '../../banks/s3/s3-config';
import { swiftBankFromConfig } from '../../banks/swift/swift-config';
import { appCloudsPath } from '../../plugins/openstack/client/app-clouds';
import { bankPath, type BankFactory } from './provider-stores';

/** Bank backends that ship with the engine, by `bank.type`. */
export const BUILTIN_BANKS: Record<string, BankFactory> = {
  local: (config, dataDir) => new LocalBank(bankPath(config, dataDir)),
  swift: (config, dataDir) => swiftBankFromConfig(config, process.env, appCloudsPath(dataDir)),
  s3: (config) => s3BankFromConfig(config),
};
