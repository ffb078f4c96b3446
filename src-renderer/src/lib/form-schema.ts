/**
 * The part of JSON Schema that generated forms understand: a flat object of string, number,
 * integer, boolean, enum and string-array properties, with the usual bounds. The engine
 * validates again on save; checking here first lets the form point at the field.
 */
export interface FormProp {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: { type?: string; minLength?: number; enum?: unknown[] };
}

export interface FormSchema {
  title?: string;
  properties?: Record<string, FormProp>;
  required?: string[];
}

export type FormValue = Record<string, unknown>;

/** A provider schema entry (typed as JSON) seen as a form schema. */
export function asFormSchema(schema: unknown): FormSchema | undefined {
  return schema && typeof schema === 'object' && !Array.isArray(schema) ? schema : undefined;
}

export function fieldsOf(schema: FormSchema | undefined): [string, FormProp][] {
  return Object.entries(schema?.properties ?? {});
}

/** The property's main type (`["string","null"]` counts as string). */
export function typeOf(p: FormProp): string | undefined {
  return Array.isArray(p.type) ? p.type.find((t) => t !== 'null') : p.type;
}

const label = (key: string, p: FormProp): string => p.title ?? key;

function checkOne(key: string, p: FormProp, v: unknown, required: boolean): string | undefined {
  const name = label(key, p);
  const empty = v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
  if (empty) return required ? `${name} is required.` : undefined;
  if (p.enum && !p.enum.includes(v)) return `${name} must be one of: ${p.enum.map(String).join(', ')}.`;
  switch (typeOf(p)) {
    case 'integer':
    case 'number': {
      if (typeof v !== 'number' || Number.isNaN(v)) return `${name} must be a number.`;
      if (typeOf(p) === 'integer' && !Number.isInteger(v)) return `${name} must be a whole number.`;
      if (p.minimum !== undefined && v < p.minimum) return `${name} must be at least ${p.minimum}.`;
      if (p.maximum !== undefined && v > p.maximum) return `${name} must be at most ${p.maximum}.`;
      return undefined;
    }
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `${name} must be on or off.`;
    case 'array': {
      if (!Array.isArray(v)) return `${name} must be a list.`;
      const min = p.items?.minLength ?? 0;
      if (v.some((x) => typeof x !== 'string' || x.length < min)) return `${name} has an empty entry.`;
      return undefined;
    }
    case 'string':
    case undefined: {
      if (typeof v !== 'string') return `${name} must be text.`;
      if (p.minLength !== undefined && v.length < p.minLength) return `${name} must be at least ${p.minLength} characters.`;
      if (p.maxLength !== undefined && v.length > p.maxLength) return `${name} must be at most ${p.maxLength} characters.`;
      if (p.pattern !== undefined) {
        let re: RegExp | undefined;
        try {
          re = new RegExp(p.pattern, 'u');
        } catch {
          re = undefined;
        }
        if (re && !re.test(v)) return `${name} does not have the expected form (${p.pattern}).`;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Field errors of a value against a form schema, keyed by property; empty when valid. */
export function validateForm(schema: FormSchema | undefined, value: FormValue): Record<string, string> {
  const errors: Record<string, string> = {};
  const required = new Set(schema?.required ?? []);
  for (const [key, p] of fieldsOf(schema)) {
    const e = checkOne(key, p, value[key], required.has(key));
    if (e) errors[key] = e;
  }
  for (const key of Object.keys(value)) {
    if (schema?.properties && !(key in schema.properties)) errors[key] = `'${key}' is not an option here.`;
  }
  return errors;
}

/** Drops empty values, so an untouched form sends `{}` rather than blanks. */
export function compact(value: FormValue): FormValue {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)));
}
