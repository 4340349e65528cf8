/**
 * Kafka Connect's data model: a Schema describes a key or value (primitive, array, map or struct)
 * and records carry the value beside it, so converters can write it in any format. A struct value
 * is a plain object with the schema's field names; bytes are Buffers; int64 values are numbers
 * (exact up to 2^53, which covers offsets and timestamps).
 */
import { ConnectDataError } from '../errors.js';

export const SCHEMA_TYPES = ['int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'boolean', 'string', 'bytes', 'array', 'map', 'struct'] as const;
export type SchemaType = (typeof SCHEMA_TYPES)[number];

export interface Field {
  readonly name: string;
  readonly index: number;
  readonly schema: Schema;
}

export interface Schema {
  readonly type: SchemaType;
  readonly optional: boolean;
  readonly defaultValue?: unknown;
  /** Logical or record name (org.apache.kafka.connect.data.Timestamp, com.example.Order). */
  readonly name?: string;
  readonly version?: number;
  readonly doc?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  /** struct only. */
  readonly fields?: readonly Field[];
  /** map only. */
  readonly keySchema?: Schema;
  /** array and map. */
  readonly valueSchema?: Schema;
}

export interface SchemaAndValue {
  readonly schema: Schema | null;
  readonly value: unknown;
}

const primitive = (type: SchemaType, optional: boolean): Schema => Object.freeze({ type, optional });

/** Kafka's Schema.STRING_SCHEMA, OPTIONAL_STRING_SCHEMA and kin. */
export const Schemas = Object.freeze({
  STRING: primitive('string', false),
  OPTIONAL_STRING: primitive('string', true),
  BYTES: primitive('bytes', false),
  OPTIONAL_BYTES: primitive('bytes', true),
  INT32: primitive('int32', false),
  INT64: primitive('int64', false),
  OPTIONAL_INT64: primitive('int64', true),
  BOOLEAN: primitive('boolean', false),
  FLOAT64: primitive('float64', false),
});

/** A struct schema from its fields in order. */
export function structSchema(fields: readonly { name: string; schema: Schema }[], options: { name?: string; optional?: boolean } = {}): Schema {
  return {
    type: 'struct',
    optional: options.optional ?? false,
    ...(options.name === undefined ? {} : { name: options.name }),
    fields: fields.map((field, index) => ({ name: field.name, index, schema: field.schema })),
  };
}

/** The schema with `optional` set, as SchemaBuilder.optional(). */
export function optionalOf(schema: Schema): Schema {
  return schema.optional ? schema : { ...schema, optional: true };
}

const INTEGER_RANGES: Partial<Record<SchemaType, readonly [number, number]>> = {
  int8: [-128, 127],
  int16: [-32_768, 32_767],
  int32: [-2_147_483_648, 2_147_483_647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Throws ConnectDataError unless `value` fits `schema` (ConnectSchema.validateValue). */
export function validateValue(schema: Schema, value: unknown, where = 'value'): void {
  if (value === null || value === undefined) {
    if (schema.optional || schema.defaultValue !== undefined) return;
    throw new ConnectDataError(`${where}: null for a required ${schema.type} schema; make the schema optional or give a value`);
  }
  const wrong = (expected: string): never => {
    throw new ConnectDataError(`${where}: ${describe(value)} does not match schema type ${schema.type} (expected ${expected})`);
  };
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64': {
      const [min, max] = INTEGER_RANGES[schema.type]!;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) wrong(`an integer in [${min}, ${max}]`);
      return;
    }
    case 'float32':
    case 'float64':
      if (typeof value !== 'number') wrong('a number');
      return;
    case 'boolean':
      if (typeof value !== 'boolean') wrong('a boolean');
      return;
    case 'string':
      if (typeof value !== 'string') wrong('a string');
      return;
    case 'bytes':
      if (!Buffer.isBuffer(value)) wrong('a Buffer');
      return;
    case 'array':
      if (!Array.isArray(value)) wrong('an array');
      (value as unknown[]).forEach((element, index) => validateValue(schema.valueSchema!, element, `${where}[${index}]`));
      return;
    case 'map':
      if (!(value instanceof Map) && (typeof value !== 'object' || Array.isArray(value))) wrong('a Map or an object');
      return;
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) wrong('an object with the struct fields');
      const record = value as Record<string, unknown>;
      for (const field of schema.fields ?? []) validateValue(field.schema, record[field.name], `${where}.${field.name}`);
      return;
    }
  }
}

function describe(value: unknown): string {
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40)})`;
}
