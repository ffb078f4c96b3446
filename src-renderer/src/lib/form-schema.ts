/** The part of a JSON Schema the generated forms understand (flat objects). */
export interface FormProp {
  type?: string;
  title?: string;
  description?: string;
  enum?: unknown[];
  default?: unknown;
  items?: { type?: string };
}

export interface FormSchema {
  properties?: Record<string, FormProp>;
  required?: string[];
}

/** A provider schema entry (typed as JSON) seen as a form schema. */
export function asFormSchema(schema: unknown): FormSchema | undefined {
  return schema && typeof schema === 'object' ? schema : undefined;
}
