import { createRequire } from 'node:module';
import type * as AjvModule from 'ajv';
import type { Ajv, ValidateFunction } from 'ajv';
import fs from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../db/schema/common';
import { Invalid, NotFound } from '../errors';
import { isUuidLike } from '../paging';
import type { ProtectableRegistry } from '../protectables/registry';
import type { ExtendedInfoSchema, LoadedProviderFile, ProtectionPlugin, ProviderDefinition, ProviderView } from './types';

export class ProviderLoadError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`provider file ${file}: ${reason}`);
    this.name = 'ProviderLoadError';
  }
}

const definitionSchema = {
  type: 'object',
  required: ['id', 'name', 'plugins'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', minLength: 1 },
    name: { type: 'string', minLength: 1, maxLength: 255 },
    description: { type: 'string' },
    plugins: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    bank: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
    enabled: { type: 'boolean' },
    config: { type: 'object' },
  },
} as const;

export interface Provider {
  definition: ProviderDefinition;
  plugins: ProtectionPlugin[];
  /** Resource type → the plugin that protects it. */
  byType: Map<string, ProtectionPlugin>;
  source: string;
}

type Purpose = 'options' | 'restore' | 'verify';

/**
 * Providers: built-in definitions plus `providers.d/*.json`. Each names protection plugins; a
 * file that is not valid JSON, breaks the schema, reuses an id or names an unknown plugin stops
 * the start with an error naming the file.
 */
export class ProviderRegistry {
  private readonly providers = new Map<string, Provider>();
  private readonly files: LoadedProviderFile[] = [];
  private ajvInstance: Ajv | undefined;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(
    private readonly plugins: Map<string, ProtectionPlugin>,
    private readonly protectables: ProtectableRegistry,
  ) {}

  add(definition: ProviderDefinition, source = 'built-in'): void {
    if (!isUuidLike(definition.id)) throw new ProviderLoadError(source, `id '${definition.id}' is not a UUID`);
    if (this.providers.has(definition.id)) {
      throw new ProviderLoadError(
        source,
        `provider id ${definition.id} is already defined by ${this.providers.get(definition.id)?.source}`,
      );
    }
    const plugins = definition.plugins.map((name) => {
      const p = this.plugins.get(name);
      if (!p) throw new ProviderLoadError(source, `unknown protection plugin '${name}' (known: ${[...this.plugins.keys()].join(', ')})`);
      return p;
    });
    const provider: Provider = { definition, plugins, byType: new Map(), source };
    this.providers.set(definition.id, provider);
    this.refreshTypes(provider);
  }

  /** Loads every `*.json` in `dir` (sorted by name); a missing folder holds no providers. */
  loadDirectory(dir: string): void {
    if (!fs.existsSync(dir)) return;
    const validate = this.ajv.compile(definitionSchema);
    for (const name of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const file = path.join(dir, name);
      let parsed: unknown;
      try {
        parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        throw new ProviderLoadError(file, `not valid JSON: ${(err as Error).message}`);
      }
      if (!validate(parsed)) {
        const e = validate.errors?.[0];
        throw new ProviderLoadError(file, `${e?.instancePath || '(top level)'} ${e?.message ?? 'is invalid'}`);
      }
      const def = parsed as ProviderDefinition;
      this.add({ ...def, id: def.id.toLowerCase() }, file);
      this.files.push({ file, providerId: def.id });
    }
  }

  loadedFiles(): LoadedProviderFile[] {
    return [...this.files];
  }

  /** Re-reads which types each provider supports (plugins registering types later). */
  private refreshTypes(provider: Provider): void {
    provider.byType.clear();
    for (const plugin of provider.plugins) {
      const types = plugin.supportedTypes === '*' ? this.protectables.types() : plugin.supportedTypes;
      for (const t of types) if (!provider.byType.has(t)) provider.byType.set(t, plugin);
    }
  }

  list(): Provider[] {
    return [...this.providers.values()]
      .filter((p) => p.definition.enabled !== false)
      .map((p) => {
        this.refreshTypes(p);
        return p;
      })
      .sort((a, b) => a.definition.id.localeCompare(b.definition.id));
  }

  get(id: string): Provider {
    if (!isUuidLike(id)) throw new Invalid(`provider_id '${id}' is not a valid UUID`);
    const p = this.providers.get(id.toLowerCase());
    if (!p || p.definition.enabled === false) throw new NotFound(`Provider ${id} could not be found.`, 'PROVIDER_NOT_FOUND');
    this.refreshTypes(p);
    return p;
  }

  view(p: Provider): ProviderView {
    const schema: ExtendedInfoSchema = { options_schema: {}, saved_info_schema: {}, restore_schema: {}, verify_schema: {} };
    for (const [type, plugin] of [...p.byType.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const s = plugin.schemas(type);
      schema.options_schema[type] = s.options;
      schema.saved_info_schema[type] = s.savedInfo;
      schema.restore_schema[type] = s.restore;
      if (s.verify && schema.verify_schema) schema.verify_schema[type] = s.verify;
    }
    return {
      id: p.definition.id,
      name: p.definition.name,
      description: p.definition.description ?? '',
      extended_info_schema: schema,
    };
  }

  /**
   * Checks plan / restore / verify `parameters`: keys are `<Type>` or `<Type>#<resource id>`,
   * the type must be one the provider protects and every value must satisfy its schema.
   */
  validateParameters(p: Provider, parameters: JsonObject, purpose: Purpose, field = 'parameters'): void {
    for (const [key, value] of Object.entries(parameters)) {
      const [type = '', resourceId, extra] = key.split('#');
      if (extra !== undefined || resourceId === '')
        throw new Invalid(`${field}: malformed key '${key}' (expected '<type>' or '<type>#<resource id>')`);
      const plugin = p.byType.get(type);
      if (!plugin) throw new Invalid(`${field}: resource type '${type}' is not supported by provider '${p.definition.name}'`);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new Invalid(`${field}.${key} must be an object`);
      }
      const schemas = plugin.schemas(type);
      const schema =
        purpose === 'options' ? schemas.options : purpose === 'restore' ? schemas.restore : (schemas.verify ?? schemas.restore);
      const props = (schema.properties ?? {}) as Record<string, unknown>;
      for (const prop of Object.keys(value)) {
        if (!(prop in props)) throw new Invalid(`${field}.${key}: unknown property '${prop}' for ${type}`);
      }
      const validate = this.compile(`${p.definition.id}|${purpose}|${type}`, schema);
      if (!validate(value)) {
        const e = validate.errors?.[0];
        throw new Invalid(`${field}.${key}${e?.instancePath.replace(/\//g, '.') ?? ''} ${e?.message ?? 'is invalid'}`);
      }
    }
  }

  /** Ajv, loaded with the first schema to check: loading it is a sixth of the engine's start. */
  private get ajv(): Ajv {
    if (!this.ajvInstance) {
      const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof AjvModule;
      this.ajvInstance = new AjvClass({ allErrors: false, strict: false });
    }
    return this.ajvInstance;
  }

  private compile(key: string, schema: JsonObject): ValidateFunction {
    let v = this.validators.get(key);
    if (!v) {
      v = this.ajv.compile(schema);
      this.validators.set(key, v);
    }
    return v;
  }
}
