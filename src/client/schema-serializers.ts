/**
 * Serializers backed by a Schema Registry, writing and reading Confluent's wire format, so records
 * interoperate with other clients' Confluent serializers and deserializers:
 *
 *   byte 0      magic 0
 *   bytes 1-4   the schema's global id, big-endian
 *   (protobuf)  the message indexes: a zigzag varint count then each index; [0] is one byte 0
 *   the rest    the value: Avro binary, JSON text, or the Protobuf message
 *
 *   const valueSerializer = await avro({ registry: 'http://127.0.0.1:8081', subject: 'users-value', schema });
 *   sluice.producer({ valueSerializer });  sluice.consumer({ valueDeserializer: valueSerializer });
 *
 * Making one is asynchronous (it registers its schema, or takes the subject's latest, and loads
 * the subject's versions); serializing and deserializing then are not, as the Serializer
 * interface asks. A record written with a version registered later than that is refused by
 * deserialize with a message saying so: make the serializer again to load it.
 */
import avsc from 'avsc';
import type { ValidateFunction } from 'ajv';
import { ajvFor } from './json-schema-ajv.js';
import protobuf from 'protobufjs';
import { InvalidRecordError } from '../errors.js';
import { addWellKnownImport, declarationsOf, messageAt, messageIndexes, type OwnMessage } from './protobuf-files.js';
import { SchemaRegistryClient, type RegistryReference, type RegistrySchema, type RegistrySchemaType } from './schema-registry-client.js';
import type { Serializer } from './serializers.js';

const MAGIC = 0;
const HEADER_BYTES = 5;
/** The avro serializer's encode buffer to start with; it grows to the largest record seen. */
const SCRATCH_INITIAL_BYTES = 1024;

export interface RegistrySerializerOptions {
  /** The registry: a client, or its base URL. */
  registry: SchemaRegistryClient | string;
  subject: string;
}

/** A Serializer that also says which registered schema it writes with. */
export interface RegistrySerializer<T> extends Serializer<T> {
  /** The global id of the schema records are written with. */
  readonly schemaId: number;
}

function clientOf(registry: SchemaRegistryClient | string): SchemaRegistryClient {
  return typeof registry === 'string' ? new SchemaRegistryClient(registry) : registry;
}

/** Registers `schema` (when given) or takes the subject's latest version; resolves with its id and text. */
async function writerSchema(
  client: SchemaRegistryClient,
  subject: string,
  schemaType: RegistrySchemaType,
  schema: string | undefined,
  references: RegistryReference[] = [],
): Promise<{ id: number; schema: string; references: RegistryReference[] }> {
  if (schema !== undefined) return { id: await client.register(subject, { schemaType, schema, references }), schema, references };
  const latest = await client.version(subject, 'latest');
  if (latest.schemaType !== schemaType) {
    throw new InvalidRecordError(`subject ${subject}'s latest schema is ${latest.schemaType}, not ${schemaType}; pick the serializer of its type`);
  }
  return { id: latest.id, schema: latest.schema, references: latest.references ?? [] };
}

/** The texts of the schemas `references` name, transitively, each after the ones it refers to. */
async function referencedSchemas(client: SchemaRegistryClient, references: readonly RegistryReference[], into: string[] = []): Promise<string[]> {
  for (const reference of references) {
    const entry = await client.version(reference.subject, reference.version);
    await referencedSchemas(client, entry.references ?? [], into);
    into.push(entry.schema);
  }
  return into;
}

/** An Avro schema with its references' named types defined first, as the registry resolves them. */
async function avroType(client: SchemaRegistryClient, schema: string, references: readonly RegistryReference[]): Promise<avsc.Type> {
  const options = { registry: {} as Record<string, avsc.Type>, wrapUnions: 'auto' as const };
  for (const text of await referencedSchemas(client, references)) avsc.Type.forSchema(JSON.parse(text) as avsc.Schema, options);
  return avsc.Type.forSchema(JSON.parse(schema) as avsc.Schema, options);
}

/** Every version of the subject, by id, to read records written with any of them. */
async function subjectSchemas(client: SchemaRegistryClient, subject: string): Promise<Map<number, RegistrySchema>> {
  const byId = new Map<number, RegistrySchema>();
  for (const version of await client.versions(subject)) {
    const entry = await client.version(subject, version);
    byId.set(entry.id, entry);
  }
  return byId;
}

function frame(id: number, payload: Uint8Array, prefix?: Uint8Array): Buffer {
  const prefixBytes = prefix?.length ?? 0;
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + prefixBytes + payload.length);
  bytes[0] = MAGIC;
  bytes.writeInt32BE(id, 1);
  if (prefix !== undefined) bytes.set(prefix, HEADER_BYTES);
  bytes.set(payload, HEADER_BYTES + prefixBytes);
  return bytes;
}

function schemaIdOf(bytes: Buffer, name: string): number {
  if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC) {
    throw new InvalidRecordError(`record bytes are not in Confluent's wire format (magic byte 0 and a schema id); the producer did not use a registry ${name} serializer`);
  }
  return bytes.readInt32BE(1);
}

function unknownId(id: number, subject: string): InvalidRecordError {
  return new InvalidRecordError(
    `record written with schema id ${id}, which is not a version of subject ${subject} loaded when this deserializer was made; make it again to load newer versions`,
  );
}

export interface AvroSerializerOptions extends RegistrySerializerOptions {
  /** The schema to write with (registered under the subject); default: the subject's latest. */
  schema?: object | string;
  /** The registered schemas `schema` uses named types of, as the registry's references. */
  references?: RegistryReference[];
}

/**
 * Avro binary under a registered schema. Reading resolves each record's writer schema to this
 * serializer's one (Avro schema resolution: defaults filled in, promotions applied).
 */
export async function avro<T = unknown>(options: AvroSerializerOptions): Promise<RegistrySerializer<T>> {
  const client = clientOf(options.registry);
  const given = options.schema === undefined ? undefined : typeof options.schema === 'string' ? options.schema : JSON.stringify(options.schema);
  const { id, schema, references } = await writerSchema(client, options.subject, 'AVRO', given, options.references);
  const type = await avroType(client, schema, references);
  const readers = new Map<number, avsc.Resolver | null>([[id, null]]);
  for (const [otherId, other] of await subjectSchemas(client, options.subject)) {
    if (otherId !== id && other.schemaType === 'AVRO') {
      readers.set(otherId, type.createResolver(await avroType(client, other.schema, other.references ?? [])));
    }
  }
  // Records are encoded after a header in one reused buffer, then copied out once at their size.
  let scratch = Buffer.allocUnsafe(SCRATCH_INITIAL_BYTES);
  return {
    name: 'avro',
    schemaId: id,
    serialize(value: T): Buffer {
      if (!type.isValid(value)) {
        // Only a refused value pays for finding where it went wrong.
        const paths: string[] = [];
        type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(the value itself)') });
        throw new InvalidRecordError(`the value does not match subject ${options.subject}'s Avro schema at ${paths.join(', ')}`);
      }
      let end = type.encode(value, scratch, HEADER_BYTES);
      if (end < 0) {
        // avsc answers a short buffer with minus the bytes missing.
        scratch = Buffer.allocUnsafe(scratch.length - end);
        end = type.encode(value, scratch, HEADER_BYTES);
      }
      const bytes = Buffer.allocUnsafe(end);
      scratch.copy(bytes, 0, 0, end);
      bytes[0] = MAGIC;
      bytes.writeInt32BE(id, 1);
      return bytes;
    },
    deserialize(bytes: Buffer): T {
      const writerId = schemaIdOf(bytes, 'avro');
      const resolver = readers.get(writerId);
      if (resolver === undefined) throw unknownId(writerId, options.subject);
      const payload = bytes.subarray(HEADER_BYTES);
      return (resolver === null ? type.fromBuffer(payload) : type.fromBuffer(payload, resolver)) as T;
    },
  };
}

export interface JsonSchemaSerializerOptions extends RegistrySerializerOptions {
  /** The JSON Schema to write with (registered under the subject); default: the subject's latest. */
  schema?: object | string;
}

/** JSON text, checked against a registered JSON Schema before it is written. */
export async function jsonSchema<T = unknown>(options: JsonSchemaSerializerOptions): Promise<RegistrySerializer<T>> {
  const client = clientOf(options.registry);
  const given = options.schema === undefined ? undefined : typeof options.schema === 'string' ? options.schema : JSON.stringify(options.schema);
  const { id, schema } = await writerSchema(client, options.subject, 'JSON', given);
  const parsed = JSON.parse(schema) as object;
  const validate: ValidateFunction = ajvFor(parsed, { strict: false, allErrors: true }).compile(parsed);
  return {
    name: 'jsonSchema',
    schemaId: id,
    serialize(value: T): Buffer {
      if (!validate(value)) {
        const problems = (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`).join('; ');
        throw new InvalidRecordError(`the value does not match subject ${options.subject}'s JSON Schema: ${problems}`);
      }
      const text = JSON.stringify(value);
      if (text === undefined) throw new InvalidRecordError(`the jsonSchema serializer cannot encode a ${typeof value}`);
      const bytes = Buffer.allocUnsafe(HEADER_BYTES + Buffer.byteLength(text, 'utf8'));
      bytes[0] = MAGIC;
      bytes.writeInt32BE(id, 1);
      bytes.write(text, HEADER_BYTES, 'utf8');
      return bytes;
    },
    deserialize(bytes: Buffer): T {
      schemaIdOf(bytes, 'jsonSchema');
      try {
        return JSON.parse(bytes.toString('utf8', HEADER_BYTES)) as T;
      } catch (error) {
        throw new InvalidRecordError(`record value after the schema id is not JSON (${(error as Error).message})`);
      }
    },
  };
}

export interface ProtobufSerializerOptions extends RegistrySerializerOptions {
  /** The .proto file to write with (registered under the subject); default: the subject's latest. */
  schema?: string;
  /** The registered .proto files `schema` imports, by import path, as the registry's references. */
  references?: RegistryReference[];
  /** The message written, by full name (`pkg.Outer.Inner`); default: the file's first message. */
  messageType?: string;
}

interface ProtoFile {
  root: protobuf.Root;
  packageName: string;
  /** The file's own messages, not those of the files it imports (Confluent's indexes count only these). */
  own: OwnMessage;
}

/** Parses into `root`, adding the well-known google/protobuf imports protobufjs carries. */
function parseInto(text: string, root: protobuf.Root): protobuf.IParserResult {
  const parsed = protobuf.parse(text, root, { keepCase: true });
  for (const path of parsed.imports ?? []) addWellKnownImport(root, path);
  return parsed;
}

/** A .proto file with the files its references name parsed first, as the registry resolves them. */
async function parseProtoFile(client: SchemaRegistryClient, text: string, references: readonly RegistryReference[]): Promise<ProtoFile> {
  const root = new protobuf.Root();
  for (const dependency of await referencedSchemas(client, references)) parseInto(dependency, root);
  const imported = declarationsOf(root);
  const parsed = parseInto(text, root);
  root.resolveAll();
  return { root, packageName: parsed.package ?? '', own: (type) => !imported.has(type) && !type.fullName.startsWith('.google.protobuf.') };
}

/** The message after the schema id: its message indexes, then the message of `file` they name, as a plain object. */
function decodeProtoMessage(file: ProtoFile, id: number, payload: Uint8Array): Record<string, unknown> {
  const reader = protobuf.Reader.create(payload);
  const count = reader.sint32();
  const indexes = count === 0 ? [0] : Array.from({ length: count }, () => reader.sint32());
  const message = messageAt(file.root, file.packageName, indexes, file.own);
  if (message === undefined) throw new InvalidRecordError(`record names message indexes [${indexes.join(', ')}], which schema ${id} does not declare`);
  return message.toObject(message.decode(reader), { longs: String, enums: String, defaults: true });
}

/** Zigzag varints, as Confluent writes the message indexes. */
function encodeIndexes(indexes: readonly number[]): Uint8Array {
  if (indexes.length === 1 && indexes[0] === 0) return Uint8Array.of(0);
  const writer = protobuf.Writer.create();
  writer.sint32(indexes.length);
  for (const index of indexes) writer.sint32(index);
  return writer.finish();
}

/**
 * Protobuf messages under a registered .proto file. Reading decodes with the record's own
 * (writer) schema and message indexes and returns a plain object (protobufjs toObject, longs as
 * strings, enums as names).
 */
export async function protobufSerializer<T extends object = Record<string, unknown>>(options: ProtobufSerializerOptions): Promise<RegistrySerializer<T>> {
  const client = clientOf(options.registry);
  const { id, schema, references } = await writerSchema(client, options.subject, 'PROTOBUF', options.schema, options.references);
  const file = await parseProtoFile(client, schema, references);
  const type = options.messageType === undefined ? messageAt(file.root, file.packageName, [0], file.own) : file.root.lookupType(options.messageType);
  if (type === undefined) throw new InvalidRecordError(`subject ${options.subject}'s .proto file declares no message`);
  const prefix = encodeIndexes(messageIndexes(type, file.own));
  const files = new Map<number, ProtoFile>([[id, file]]);
  for (const [otherId, other] of await subjectSchemas(client, options.subject)) {
    if (!files.has(otherId) && other.schemaType === 'PROTOBUF') files.set(otherId, await parseProtoFile(client, other.schema, other.references ?? []));
  }
  return {
    name: 'protobuf',
    schemaId: id,
    serialize(value: T): Buffer {
      const problem = type.verify(value);
      if (problem !== null) throw new InvalidRecordError(`the value does not match message ${type.fullName.slice(1)}: ${problem}`);
      return frame(id, type.encode(type.fromObject(value)).finish(), prefix);
    },
    deserialize(bytes: Buffer): T {
      const writerId = schemaIdOf(bytes, 'protobuf');
      const writer = files.get(writerId);
      if (writer === undefined) throw unknownId(writerId, options.subject);
      return decodeProtoMessage(writer, writerId, bytes.subarray(HEADER_BYTES)) as T;
    },
  };
}

/** What a record written in Confluent's wire format holds, read with its own (writer) schema. */
export interface WriterSchemaDecoded {
  schemaId: number;
  schemaType: RegistrySchemaType;
  value: unknown;
}

type WriterDecoder = (payload: Buffer) => unknown;
/** Per client, each schema id's decoder: an id's schema never changes. */
const writerDecoders = new WeakMap<SchemaRegistryClient, Map<number, Promise<WriterDecoder>>>();

async function writerDecoder(client: SchemaRegistryClient, id: number): Promise<WriterDecoder> {
  const schema = await client.schemaById(id);
  const references = schema.references ?? [];
  if (schema.schemaType === 'AVRO') {
    const type = await avroType(client, schema.schema, references);
    return (payload) => type.fromBuffer(payload);
  }
  if (schema.schemaType === 'JSON') return (payload) => JSON.parse(payload.toString('utf8')) as unknown;
  const file = await parseProtoFile(client, schema.schema, references);
  return (payload) => decodeProtoMessage(file, id, payload);
}

/**
 * Reads any record in Confluent's wire format with the schema its id names (Avro, JSON Schema or
 * Protobuf), without a subject or a reader schema: for tools that show records as written.
 * Throws InvalidRecordError when the bytes are not in the wire format or do not decode, and
 * SchemaRegistryError when the registry knows no such id.
 */
export async function decodeWithWriterSchema(client: SchemaRegistryClient, bytes: Buffer): Promise<WriterSchemaDecoded> {
  const schemaId = schemaIdOf(bytes, 'schema');
  let decoders = writerDecoders.get(client);
  if (decoders === undefined) writerDecoders.set(client, (decoders = new Map()));
  let decoder = decoders.get(schemaId);
  if (decoder === undefined) {
    decoder = writerDecoder(client, schemaId);
    // A failed load is not remembered: the registry may be back, or the id registered, next time.
    decoder.catch(() => decoders.delete(schemaId));
    decoders.set(schemaId, decoder);
  }
  const decode = await decoder;
  const { schemaType } = await client.schemaById(schemaId);
  try {
    return { schemaId, schemaType, value: decode(bytes.subarray(HEADER_BYTES)) };
  } catch (error) {
    if (error instanceof InvalidRecordError) throw error;
    throw new InvalidRecordError(`record does not decode with schema ${schemaId} (${(error as Error).message})`);
  }
}
