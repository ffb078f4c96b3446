import type { ProtectionPlugin, ProviderDefinition } from './types';

/** Karbor's No-Op Provider id, kept so existing scripts work unchanged. */
export const NOOP_PROVIDER_ID = 'b766f37c-d011-4026-8228-28730d734a3f';

/** Protects every registered type by doing nothing: the whole lifecycle works without data. */
export const noopProtectionPlugin: ProtectionPlugin = {
  name: 'noop',
  supportedTypes: '*',
  schemas: (type) => ({
    options: { title: `No-Op ${type} options`, type: 'object', properties: {}, additionalProperties: false },
    savedInfo: { title: `No-Op ${type} saved info`, type: 'object', properties: {} },
    restore: { title: `No-Op ${type} restore`, type: 'object', properties: {}, additionalProperties: false },
    verify: { title: `No-Op ${type} verify`, type: 'object', properties: {}, additionalProperties: false },
  }),
};

export const noopProvider: ProviderDefinition = {
  id: NOOP_PROVIDER_ID,
  name: 'No-Op Provider',
  description: 'This provider does nothing for each protect and restore operation. Used for testing',
  plugins: ['noop'],
  bank: { type: 'none' },
  enabled: true,
};
