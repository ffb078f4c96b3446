import { LocalBank } from '../../banks/local/local-bank';
import { bankPath, type BankFactory } from './provider-stores';

/** Bank backends that ship with the engine, by `bank.type`. */
export const BUILTIN_BANKS: Record<string, BankFactory> = {
  local: (config, dataDir) => new LocalBank(bankPath(config, dataDir)),
};
