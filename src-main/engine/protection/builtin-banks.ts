import type { BankFactory } from './provider-stores';

/** Bank backends that ship with the engine, by `bank.type`. */
export const BUILTIN_BANKS: Record<string, BankFactory> = {};
