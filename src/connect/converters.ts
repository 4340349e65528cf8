/**
 * Converters turn a record's key or value between Connect data (a schema and a value) and the
 * bytes written to Kafka, as Kafka Connect's: StringConverter, ByteArrayConverter and JsonConverter
 * (schemas.enable: the {"schema": ..., "payload": ...} envelope). A converter is configured once
 * for keys or for values, from the worker's (or connector's) `key.converter.*` /
 * `value.converter.*` settings.
 */
import { ConnectDataError } from '../errors.js';
import type { Props } from './api.js';
import { ConfigDef } from './config-def.js';
import { Schemas, validateValue, type Field, type Schema, type SchemaAndValue, type SchemaType } from './data.js';

export interface Converter {
  configure(configs: Props, isKey: boolean): void | Promise<void>;
  /** Bytes for the record (null for a null value). May resolve later, e.g. after a schema registry call. */
  fromConnectData(topic: string, schema: Schema | null, value: unknown): Buffer | null | Promise<Buffer | null>;
  toConnectData(topic: string, bytes: Buffer | null): SchemaAndValue | Promise<SchemaAndValue>;
  config(): ConfigDef;
  close?(): void | Promise<void>;
}

const NULL_VALUE: SchemaAndValue = Object.freeze({ schema: null, value: null });

/** Strings as UTF-8; any other value is written as its String() form. Reads give an optional string. */
export class StringConverter implements Converter {
  configure(): void {}

  fromConnectData(_topic: string, _schema: Schema | null, value: unknown): Buffer | null {
    if (value === null || value === undefined) return null;
    return Buffer.from(typeof value === 'string' ? value : String(value), 'utf8');
  }

  toConnectData(_topic: string, bytes: Buffer | null): SchemaAndValue {
    return bytes === null ? { schema: Schemas.OPTIONAL_STRING, value: null } : { schema: Schemas.OPTIONAL_STRING, value: bytes.toString('utf8') };
  }

  config(): ConfigDef {
    return new ConfigDef();
  }
}

/**
 * Kafka's default header.converter: a header's value is written as its string form (strings as
 * UTF-8, bytes unchanged, maps and arrays as JSON) and read back with its type inferred from the
 * text, as Kafka's Values.parseString does for its scalars: true/false is a boolean, an integer
 * the narrowest of int8..int64 that holds it, a decimal float32 when exact else float64, any
 * other text a string.
 */
export class SimpleHeaderConverter implements Converter {
  configure(): void {}

  fromConnectData(_topic: string, _schema: Schema | null, value: unknown): Buffer | null {
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return value;
    if (typeof value === 'string') return Buffer.from(value, 'utf8');
    if (typeof value === 'object') return Buffer.from(JSON.stringify(value instanceof Map ? Object.fromEntries(value) : value), 'utf8');
    return Buffer.from(String(value), 'utf8');
  }

  toConnectData(_topic: string, bytes: Buffer | null): SchemaAndValue {
    if (bytes === null) return NULL_VALUE;
    const text = bytes.toString('utf8');
    if (text === 'true' || text === 'false') return { schema: Schemas.BOOLEAN, value: text === 'true' };
    if (/^-?\d+$/.test(text)) {
      const number = Number(text);
      if (Number.isSafeInteger(number)) {
        const type: SchemaType = number >= -128 && number <= 127 ? 'int8' : number >= -32768 && number <= 32767 ? 'int16' : number >= -(2 ** 31) && number < 2 ** 31 ? 'int32' : 'int64';
        return { schema: { type, optional: false }, value: number };
      }
    }
    if (/^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(text)) {
      const number = Number(text);
      if (Number.isFinite(number)) return { schema: { type: Math.fround(number) === number ? 'float32' : 'float64', optional: false }, value: number };
    }
    return { schema: Schemas.STRING, value: text };
  }

  config(): ConfigDef {
    return new ConfigDef();
  }
}

/** Bytes through unchanged: the schema, when given, must be bytes. */
export class ByteArrayConverter implements Converter {
  configure(): void {}

  fromConnectData(_topic: string, schema: Schema | null, value: unknown): Buffer | null {
    if (schema !== null && schema.type !== 'bytes') throw new ConnectDataError(`Invalid schema type for ByteArrayConverter: ${schema.type}; it writes only bytes`);
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    throw new ConnectDataError(`ByteArrayConverter is not compatible with objects of type ${typeof value}; use StringConverter or JsonConverter`);
  }

  toConnectData(_topic: string, bytes: Buffer | null): SchemaAndValue {
    return { schema: Schemas.OPTIONAL_BYTES, value: bytes };
  }

  config(): ConfigDef {
    return new ConfigDef();
  }
}

/** Kafka's JSON names of the schema types. */
const JSON_TYPE_NAMES: Record<SchemaType, string> = {
  int8: 'int8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  float32: 'float',
  float64: 'double',
  boolean: 'boolean',
  string: 'string',
  bytes: 'bytes',
  array: 'array',
  map: 'map',
  struct: 'struct',
};
const SCHEMA_TYPE_OF_JSON = new Map(Object.entries(JSON_TYPE_NAMES).map(([type, json]) => [json, type as SchemaType]));

interface JsonSchema {
  type: string;
  optional: boolean;
  field?: string;
  name?: string;
  version?: number;
  doc?: string;
  default?: unknown;
  parameters?: Record<string, string>;
  fields?: JsonSchema[];
  items?: JsonSchema;
  keys?: JsonSchema;
  values?: JsonSchema;
}

export const SCHEMAS_ENABLE_CONFIG = 'schemas.enable';

/**
 * JSON, as Kafka's JsonConverter writes it. schemas.enable=true (the default) wraps each value in
 * {"schema": ..., "payload": ...}; false writes the bare value and reads any JSON as schemaless
 * data. Bytes are base64 strings; maps with string keys are objects, others arrays of [key, value].
 */
export class JsonConverter implements Converter {
  private schemasEnabled = true;

  configure(configs: Props, _isKey: boolean): void {
    this.schemasEnabled = this.config().parse(configs, 'JsonConverter configuration')[SCHEMAS_ENABLE_CONFIG] as boolean;
  }

  config(): ConfigDef {
    return new ConfigDef().define({
      name: SCHEMAS_ENABLE_CONFIG,
      type: 'BOOLEAN',
      defaultValue: true,
      importance: 'HIGH',
      documentation: 'Include schemas within each of the serialized values and keys.',
    });
  }

  fromConnectData(_topic: string, schema: Schema | null, value: unknown): Buffer | null {
    if (schema === null && (value === null || value === undefined)) return null;
    if (schema !== null) validateValue(schema, value);
    const payload = toJsonValue(schema, value);
    const json = this.schemasEnabled ? { schema: schema === null ? null : toJsonSchema(schema), payload } : payload;
    return Buffer.from(JSON.stringify(json), 'utf8');
  }

  toConnectData(_topic: string, bytes: Buffer | null): SchemaAndValue {
    if (bytes === null || bytes.length === 0) return NULL_VALUE;
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new ConnectDataError(`Converting byte[] to Kafka Connect data failed due to serialization error: ${(error as Error).message}`, { cause: error });
    }
    if (!this.schemasEnabled) return { schema: null, value: fromJsonValue(null, json) };
    if (json === null || typeof json !== 'object' || Array.isArray(json) || Object.keys(json).length !== 2 || !('schema' in json) || !('payload' in json)) {
      throw new ConnectDataError(
        'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. ' +
          'If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.',
      );
    }
    const envelope = json as { schema: unknown; payload: unknown };
    const schema = envelope.schema === null ? null : fromJsonSchema(envelope.schema);
    return { schema, value: fromJsonValue(schema, envelope.payload) };
  }
}

/** The JsonConverter's JSON form of a schema. */
export function toJsonSchema(schema: Schema, fieldName?: string): JsonSchema {
  const json: JsonSchema = { type: JSON_TYPE_NAMES[schema.type], optional: schema.optional };
  if (schema.type === 'struct') json.fields = (schema.fields ?? []).map((field) => toJsonSchema(field.schema, field.name));
  if (schema.type === 'array') json.items = toJsonSchema(schema.valueSchema!);
  if (schema.type === 'map') {
    json.keys = toJsonSchema(schema.keySchema!);
    json.values = toJsonSchema(schema.valueSchema!);
  }
  if (schema.name !== undefined) json.name = schema.name;
  if (schema.version !== undefined) json.version = schema.version;
  if (schema.doc !== undefined) json.doc = schema.doc;
  if (schema.parameters !== undefined) json.parameters = { ...schema.parameters };
  if (schema.defaultValue !== undefined) json.default = toJsonValue(schema, schema.defaultValue);
  if (fieldName !== undefined) json.field = fieldName;
  return json;
}

function fromJsonSchema(json: unknown): Schema {
  if (json === null || typeof json !== 'object' || typeof (json as JsonSchema).type !== 'string') {
    throw new ConnectDataError(`Schema must contain 'type' field: ${JSON.stringify(json)}`);
  }
  const raw = json as JsonSchema;
  const type = SCHEMA_TYPE_OF_JSON.get(raw.type);
  if (type === undefined) throw new ConnectDataError(`Unknown schema type: ${raw.type}`);
  const fields: Field[] | undefined =
    type === 'struct'
      ? (raw.fields ?? []).map((field, index) => {
          if (typeof field.field !== 'string') throw new ConnectDataError(`Struct schema's field must have a 'field' name: ${JSON.stringify(field)}`);
          return { name: field.field, index, schema: fromJsonSchema(field) };
        })
      : undefined;
  const schema: Schema = {
    type,
    optional: raw.optional === true,
    ...(raw.name === undefined ? {} : { name: raw.name }),
    ...(raw.version === undefined ? {} : { version: raw.version }),
    ...(raw.doc === undefined ? {} : { doc: raw.doc }),
    ...(raw.parameters === undefined ? {} : { parameters: raw.parameters }),
    ...(fields === undefined ? {} : { fields }),
    ...(type === 'array' ? { valueSchema: fromJsonSchema(raw.items) } : {}),
    ...(type === 'map' ? { keySchema: fromJsonSchema(raw.keys), valueSchema: fromJsonSchema(raw.values) } : {}),
  };
  return raw.default === undefined ? schema : { ...schema, defaultValue: fromJsonValue(schema, raw.default) };
}

function toJsonValue(schema: Schema | null, value: unknown): unknown {
  if (value === null || value === undefined) return schema?.defaultValue === undefined ? null : toJsonValue(schema, schema.defaultValue);
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Map) {
    const entries = [...value.entries()];
    const stringKeys = schema === null ? entries.every(([key]) => typeof key === 'string') : schema.keySchema?.type === 'string';
    const values = entries.map(([key, entry]) => [toJsonValue(schema?.keySchema ?? null, key), toJsonValue(schema?.valueSchema ?? null, entry)] as const);
    return stringKeys ? Object.fromEntries(values) : values;
  }
  if (Array.isArray(value)) return value.map((element) => toJsonValue(schema?.valueSchema ?? null, element));
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (schema?.type === 'struct') return Object.fromEntries((schema.fields ?? []).map((field) => [field.name, toJsonValue(field.schema, record[field.name])]));
    return Object.fromEntries(Object.entries(record).map(([key, entry]) => [key, toJsonValue(schema?.valueSchema ?? null, entry)]));
  }
  return value;
}

function fromJsonValue(schema: Schema | null, json: unknown): unknown {
  if (json === null || json === undefined) {
    if (schema === null || schema.optional) return null;
    if (schema.defaultValue !== undefined) return schema.defaultValue;
    throw new ConnectDataError(`Invalid null value for required ${schema.type} field`);
  }
  if (schema === null) return json;
  const wrong = (): never => {
    throw new ConnectDataError(`Invalid JSON for ${schema.type} schema: ${JSON.stringify(json).slice(0, 80)}`);
  };
  switch (schema.type) {
    case 'bytes':
      if (typeof json !== 'string') wrong();
      return Buffer.from(json as string, 'base64');
    case 'array':
      if (!Array.isArray(json)) wrong();
      return (json as unknown[]).map((element) => fromJsonValue(schema.valueSchema!, element));
    case 'map': {
      if (schema.keySchema!.type === 'string') {
        if (typeof json !== 'object' || Array.isArray(json)) wrong();
        return new Map(Object.entries(json as object).map(([key, entry]) => [key, fromJsonValue(schema.valueSchema!, entry)]));
      }
      if (!Array.isArray(json)) wrong();
      return new Map((json as [unknown, unknown][]).map(([key, entry]) => [fromJsonValue(schema.keySchema!, key), fromJsonValue(schema.valueSchema!, entry)]));
    }
    case 'struct': {
      if (typeof json !== 'object' || Array.isArray(json)) wrong();
      const record = json as Record<string, unknown>;
      return Object.fromEntries((schema.fields ?? []).map((field) => [field.name, fromJsonValue(field.schema, record[field.name])]));
    }
    default:
      validateValue(schema, json);
      return json;
  }
}
