import type { ProviderDefinition } from '../../engine/providers/types';

/** The Local Provider: local resources into a bank in the data folder. */
export const LOCAL_PROVIDER_ID = '3f9d1c52-6b8e-4d7a-9f21-7c0e5a4b2d18';

export const localProvider: ProviderDefinition = {
  id: LOCAL_PROVIDER_ID,
  name: 'Local Provider',
  description:
    'Protects directories and SQLite databases of this machine, and PostgreSQL databases, into a deduplicated, compressed bank in the data folder',
  plugins: ['local-directory', 'local-sqlite', 'local-postgresql'],
  bank: { type: 'local', path: 'bank' },
  enabled: true,
};
