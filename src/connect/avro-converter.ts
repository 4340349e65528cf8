/**
 * Confluent's AvroConverter (io.confluent.connect.avro.AvroConverter) over the Schema Registry:
 * a record's Connect schema becomes an Avro schema, registered under the topic's subject
 * (TopicNameStrategy: `<topic>-key` / `<topic>-value`), and the value is written in Confluent's
 * wire format (magic 0, the schema id, Avro binary). Reading looks the writer schema up by its id
 * and gives back the Connect schema and value. Optional schemas are Avro unions with null;
 * structs are records (named by the schema's name, else io.confluent.connect.avro.ConnectDefault).
 */
import { avro, decodeWithWriterSchema, type RegistrySerializer } from '../client/schema-serializers.js';
import { SchemaRegistryClient } from '../client/schema-registry-client.js';
import { ConnectDataError } from '../errors.js';
import type { Props } from './api.js';
import { ConfigDef } from './config-def.js';
import type { Converter } from './converters.js';
import { validateValue, type Field, type Schema, type SchemaAndValue, type SchemaType } from './data.js';

const DEFAULT_NAMESPACE = 'io.confluent.connect.avro';
const DEFAULT_RECORD_NAME = 'ConnectDefault';
const CONNECT_TYPE_PROP = 'connect.type';
const DEFAULT_RECORD_NAME_PATTERN = new RegExp(`^${DEFAULT_NAMESPACE.replaceAll('.', '\\.')}\\.${DEFAULT_RECORD_NAME}\\d*$`);

type AvroSchema = string | AvroSchema[] | { [key: string]: unknown };

const PRIMITIVE_TO_AVRO: Partial<Record<SchemaType, string>> = {
  int32: 'int',
  int64: 'long',
  float32: 'float',
  float64: 'double',
  boolean: 'boolean',
  string: 'string',
  bytes: 'bytes',
};

/** The Avro schema of a Connect schema; `names` numbers the unnamed records of one schema. */
export function toAvroSchema(schema: Schema, names = { next: 1 }): AvroSchema {
  let avroType: AvroSchema;
  switch (schema.type) {
    case 'int8':
    case 'int16':
      avroType = { type: 'int', [CONNECT_TYPE_PROP]: schema.type };
      break;
    case 'array':
      avroType = { type: 'array', items: toAvroSchema(schema.valueSchema!, names) };
      break;
    case 'map':
      if (schema.keySchema!.type !== 'string') throw new ConnectDataError(`AvroConverter writes maps with string keys only, not ${schema.keySchema!.type} keys`);
      avroType = { type: 'map', values: toAvroSchema(schema.valueSchema!, names) };
      break;
    case 'struct': {
      const suffix = names.next === 1 ? '' : String(names.next);
      names.next += 1;
      const fullName = schema.name ?? `${DEFAULT_NAMESPACE}.${DEFAULT_RECORD_NAME}${suffix}`;
      const dot = fullName.lastIndexOf('.');
      avroType = {
        type: 'record',
        name: fullName.slice(dot + 1),
        ...(dot === -1 ? {} : { namespace: fullName.slice(0, dot) }),
        ...(schema.doc === undefined ? {} : { doc: schema.doc }),
        fields: (schema.fields ?? []).map((field) => ({
          name: field.name,
          type: toAvroSchema(field.schema, names),
          ...(field.schema.optional ? { default: null } : {}),
        })),
      };
      break;
    }
    default:
      avroType = schema.name === undefined ? PRIMITIVE_TO_AVRO[schema.type]! : { type: PRIMITIVE_TO_AVRO[schema.type]!, 'connect.name': schema.name };
  }
  return schema.optional ? ['null', avroType] : avroType;
}

/** The Connect schema of an Avro schema (as the registry stores it). */
export function toConnectSchema(avroSchema: AvroSchema, optional = false): Schema {
  if (Array.isArray(avroSchema)) {
    const others = avroSchema.filter((branch) => branch !== 'null');
    if (others.length !== 1) throw new ConnectDataError(`AvroConverter reads unions of null and one type only, not ${JSON.stringify(avroSchema)}`);
    return toConnectSchema(others[0]!, optional || others.length !== avroSchema.length);
  }
  const spec = typeof avroSchema === 'string' ? { type: avroSchema } : avroSchema;
  const connectName = typeof spec['connect.name'] === 'string' ? { name: spec['connect.name'] } : {};
  switch (spec.type) {
    case 'int': {
      const declared = spec[CONNECT_TYPE_PROP];
      return { type: declared === 'int8' || declared === 'int16' ? declared : 'int32', optional, ...connectName };
    }
    case 'long':
      return { type: 'int64', optional, ...connectName };
    case 'float':
      return { type: 'float32', optional };
    case 'double':
      return { type: 'float64', optional };
    case 'boolean':
    case 'string':
    case 'bytes':
      return { type: spec.type, optional, ...connectName };
    case 'enum':
      return { type: 'string', optional };
    case 'fixed':
      return { type: 'bytes', optional };
    case 'array':
      return { type: 'array', optional, valueSchema: toConnectSchema(spec.items as AvroSchema) };
    case 'map':
      return { type: 'map', optional, keySchema: { type: 'string', optional: false }, valueSchema: toConnectSchema(spec.values as AvroSchema) };
    case 'record': {
      const fields = (spec.fields as { name: string; type: AvroSchema }[]).map((field, index): Field => ({ name: field.name, index, schema: toConnectSchema(field.type) }));
      const name = typeof spec.namespace === 'string' ? `${spec.namespace}.${String(spec.name)}` : String(spec.name);
      // The names this converter gives unnamed structs stay unnamed on the way back.
      return { type: 'struct', optional, fields, ...(DEFAULT_RECORD_NAME_PATTERN.test(name) ? {} : { name }) };
    }
    default:
      throw new ConnectDataError(`AvroConverter cannot read Avro type ${JSON.stringify(spec.type)}`);
  }
}

/** A Connect value as avsc encodes it for `schema` (maps as objects). */
function toAvroValue(schema: Schema, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (schema.type) {
    case 'array':
      return (value as unknown[]).map((element) => toAvroValue(schema.valueSchema!, element));
    case 'map': {
      const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as object);
      return Object.fromEntries(entries.map(([key, entry]) => [key, toAvroValue(schema.valueSchema!, entry)]));
    }
    case 'struct':
      return Object.fromEntries((schema.fields ?? []).map((field) => [field.name, toAvroValue(field.schema, (value as Record<string, unknown>)[field.name])]));
    default:
      return value;
  }
}

/** An avsc-decoded value as Connect data for `schema` (maps as Maps, structs as plain objects). */
function toConnectValue(schema: Schema, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (schema.type) {
    case 'array':
      return (value as unknown[]).map((element) => toConnectValue(schema.valueSchema!, element));
    case 'map':
      return new Map(Object.entries(value as object).map(([key, entry]) => [key, toConnectValue(schema.valueSchema!, entry)]));
    case 'struct':
      return Object.fromEntries((schema.fields ?? []).map((field) => [field.name, toConnectValue(field.schema, (value as Record<string, unknown>)[field.name])]));
    default:
      return value;
  }
}

export const SCHEMA_REGISTRY_URL_CONFIG = 'schema.registry.url';

export class AvroConverter implements Converter {
  private client: SchemaRegistryClient | null = null;
  private isKey = false;
  /** Per subject and Avro schema text: its registered serializer. */
  private readonly serializers = new Map<string, Promise<RegistrySerializer<unknown>>>();

  config(): ConfigDef {
    return new ConfigDef().define({
      name: SCHEMA_REGISTRY_URL_CONFIG,
      type: 'LIST',
      importance: 'HIGH',
      documentation: 'Comma-separated list of URLs for Schema Registry instances that can be used to register or look up schemas.',
    });
  }

  configure(configs: Props, isKey: boolean): void {
    const urls = this.config().parse(configs, 'AvroConverter configuration')[SCHEMA_REGISTRY_URL_CONFIG] as string[];
    if (urls.length === 0) throw new ConnectDataError(`AvroConverter needs ${SCHEMA_REGISTRY_URL_CONFIG}, e.g. value.converter.${SCHEMA_REGISTRY_URL_CONFIG}=http://127.0.0.1:8081`);
    this.client = new SchemaRegistryClient(urls[0]!);
    this.isKey = isKey;
  }

  async fromConnectData(topic: string, schema: Schema | null, value: unknown): Promise<Buffer | null> {
    if (value === null || value === undefined) return null;
    if (schema === null) throw new ConnectDataError('AvroConverter needs a schema to write a value; use JsonConverter with schemas.enable=false for schemaless data');
    validateValue(schema, value);
    const subject = `${topic}-${this.isKey ? 'key' : 'value'}`;
    const avroSchema = JSON.stringify(toAvroSchema(schema));
    const cacheKey = `${subject}\u0000${avroSchema}`;
    let serializer = this.serializers.get(cacheKey);
    if (serializer === undefined) {
      serializer = avro({ registry: this.registry(), subject, schema: avroSchema });
      // A failed registration is not remembered: the registry may be back next time.
      serializer.catch(() => this.serializers.delete(cacheKey));
      this.serializers.set(cacheKey, serializer);
    }
    return (await serializer).serialize(toAvroValue(schema, value));
  }

  async toConnectData(_topic: string, bytes: Buffer | null): Promise<SchemaAndValue> {
    if (bytes === null) return { schema: null, value: null };
    const client = this.registry();
    const decoded = await decodeWithWriterSchema(client, bytes);
    if (decoded.schemaType !== 'AVRO') throw new ConnectDataError(`record written with ${decoded.schemaType} schema ${decoded.schemaId}, not Avro`);
    const schema = toConnectSchema(JSON.parse((await client.schemaById(decoded.schemaId)).schema) as AvroSchema);
    return { schema, value: toConnectValue(schema, decoded.value) };
  }

  private registry(): SchemaRegistryClient {
    if (this.client === null) throw new ConnectDataError('AvroConverter used before configure()');
    return this.client;
  }
}
