import { Type, type TSchema } from '@sinclair/typebox';

/** Body schemas: shapes and JSON types only; the engine checks meaning (ids exist, enums, schemas). */
export const JsonObject = Type.Record(Type.String(), Type.Unknown());
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const Resource = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 255 }),
    type: Type.String({ minLength: 1, maxLength: 255 }),
    name: Type.String({ minLength: 1, maxLength: 255 }),
    extra_info: Type.Optional(JsonObject),
  },
  { additionalProperties: false },
);

/** An envelope `{ key: inner }` that allows nothing else at the top level. */
export const envelope = <K extends string, T extends TSchema>(key: K, inner: T) =>
  Type.Object({ [key]: inner } as { [P in K]: T }, { additionalProperties: false });
