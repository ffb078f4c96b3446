import type { JsonObject } from '../db/schema/common';

export type JsonSchema = JsonObject;

/** Karbor's `extended_info_schema`: one JSON Schema per resource type for each purpose. */
export interface ExtendedInfoSchema {
  options_schema: Record<string, JsonSchema>;
  saved_info_schema: Record<string, JsonSchema>;
  restore_schema: Record<string, JsonSchema>;
  verify_schema?: Record<string, JsonSchema>;
}

/**
 * A protection plugin: which resource types it protects and their schemas. The lifecycle hooks
 * (prepare → main → complete for protect, restore, verify, delete) run in the protection runner;
 * a plugin without them protects nothing and succeeds, like Karbor's No-Op plugin.
 */
export interface ProtectionPlugin {
  readonly name: string;
  /** Types protected; `'*'` means every registered protectable type. */
  readonly supportedTypes: readonly string[] | '*';
  schemas(type: string): { options: JsonSchema; savedInfo: JsonSchema; restore: JsonSchema; verify?: JsonSchema };
}

export interface BankConfig {
  type: string;
  [key: string]: unknown;
}

/** A provider as defined in a built-in definition or a `providers.d/*.json` file. */
export interface ProviderDefinition {
  id: string;
  name: string;
  description?: string;
  plugins: string[];
  bank?: BankConfig;
  enabled?: boolean;
}

/** A provider as the API shows it. */
export interface ProviderView {
  id: string;
  name: string;
  description: string;
  extended_info_schema: ExtendedInfoSchema;
}

export interface LoadedProviderFile {
  file: string;
  providerId?: string;
  error?: string;
}
