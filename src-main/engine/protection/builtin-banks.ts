import { FsObjectBank } from '../../banks/local/fs-object-bank';
import { bankPath, type BankFactory } from './provider-stores';

/** Bank backends that ship with the engine, by `bank.type`. */
export const BUILTIN_BANKS: Record<string, BankFactory> = {
  local: (config, dataDir) => new FsObjectBank(bankPath(config, dataDir)),
};
