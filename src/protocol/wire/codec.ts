/**
 * Turns a message schema (./schema.ts) into a reader and a writer for one version, once: which
 * fields exist, which are nullable, compact or tagged is decided when the version is first used,
 * so encoding and decoding do no version arithmetic per field, only a loop over prepared steps.
 *
 * Rules (Kafka's, KIP-482 for flexible versions):
 *  - A field absent from a version is not on the wire; decoding fills in its default.
 *  - Flexible versions write strings, bytes and arrays "compact" (unsigned varint length + 1)
 *    and end every struct with a tagged-field section.
 *  - A tagged field is written only when it differs from its default, in ascending tag order;
 *    on reading, unknown tags are skipped and a known tag must use exactly its declared size.
 */
import { Reader } from './reader.js';
import { Writer } from './writer.js';
import { FieldDef, type StructSchema, type Infer, type InferInput, type VersionRange, inVersions } from './schema.js';

export interface StructCodec<Out, In> {
  /** Fewest bytes one encoded struct takes in this version (bounds forged array counts). */
  readonly minBytes: number;
  read(reader: Reader): Out;
  write(writer: Writer, value: In): void;
  /** Whether `value` equals a default-constructed struct: decides if a tagged struct is sent. */
  isDefault(value: unknown): boolean;
}

interface ValueCodec {
  readonly minBytes: number;
  read(reader: Reader): unknown;
  write(writer: Writer, value: unknown): void;
  isDefault(value: unknown): boolean;
}

interface CompiledField {
  readonly name: string;
  readonly path: string;
  readonly def: FieldDef<unknown, unknown, boolean>;
  readonly codec: ValueCodec;
}

/** Compiles a struct schema for one version; `path` names it in error messages. */
export function compileStruct<S extends StructSchema>(
  schema: S,
  version: number,
  flexible: boolean,
  path: string,
): StructCodec<Infer<S>, InferInput<S>> {
  const names = Object.keys(schema);
  const regular: CompiledField[] = [];
  const tagged: CompiledField[] = [];
  // Every field, present or not, so decoded objects always have the same keys in the same order.
  const allNames: string[] = [];
  const allDefs: FieldDef<unknown, unknown, boolean>[] = [];
  const presentIndex: (CompiledField | undefined)[] = [];

  for (const name of names) {
    const def = schema[name];
    allNames.push(name);
    allDefs.push(def);
    const exists = inVersions(def.versions, version) && (def.tag === undefined || flexible);
    if (!exists) {
      presentIndex.push(undefined);
      continue;
    }
    const fieldPath = `${path}.${name}`;
    const field: CompiledField = { name, path: fieldPath, def, codec: compileValue(def, version, flexible, fieldPath) };
    presentIndex.push(field.def.tag === undefined ? field : undefined);
    if (def.tag === undefined) regular.push(field);
    else tagged.push(field);
  }
  tagged.sort((a, b) => (a.def.tag as number) - (b.def.tag as number));
  for (let i = 1; i < tagged.length; i++) {
    if (tagged[i].def.tag === tagged[i - 1].def.tag) {
      throw new TypeError(`${path}: fields ${tagged[i - 1].name} and ${tagged[i].name} share tag ${tagged[i].def.tag}`);
    }
  }
  const taggedByTag = new Map(tagged.map((field) => [field.def.tag as number, field]));
  const taggedPath = `${path} tagged fields`;
  let minBytes = flexible ? 1 : 0;
  for (const field of regular) minBytes += field.codec.minBytes;

  function read(reader: Reader): Infer<S> {
    const value: Record<string, unknown> = {};
    for (let i = 0; i < allNames.length; i++) {
      const field = presentIndex[i];
      if (field === undefined) {
        value[allNames[i]] = allDefs[i].makeDefault();
      } else {
        reader.context = field.path;
        value[field.name] = field.codec.read(reader);
      }
    }
    if (flexible) readTaggedFields(reader, value);
    return value as Infer<S>;
  }

  function readTaggedFields(reader: Reader, value: Record<string, unknown>): void {
    reader.context = taggedPath;
    const count = reader.taggedFieldCount();
    for (let i = 0; i < count; i++) {
      reader.context = taggedPath;
      const tag = reader.unsignedVarint();
      const sizeAt = reader.pos;
      const size = reader.unsignedVarint();
      if (size > reader.remaining) {
        throw reader.fail(sizeAt, `tagged field ${tag} of ${size} byte(s)`, `only ${reader.remaining} byte(s) remain`);
      }
      const field = taggedByTag.get(tag);
      if (field === undefined) {
        reader.skip(size);
        continue;
      }
      // Decode inside the declared size only, and insist the value fills it exactly.
      const end = reader.end;
      const valueEnd = reader.pos + size;
      reader.end = valueEnd;
      reader.context = field.path;
      value[field.name] = field.codec.read(reader);
      if (reader.pos !== valueEnd) {
        throw reader.fail(reader.pos, `end of tagged field ${tag}`, `${valueEnd - reader.pos} byte(s) of it are left over`);
      }
      reader.end = end;
    }
  }

  function write(writer: Writer, input: InferInput<S>): void {
    if (input === null || typeof input !== 'object') {
      throw new TypeError(`cannot encode ${path}: expected an object, got ${input === null ? 'null' : typeof input}`);
    }
    const value = input as Record<string, unknown>;
    for (const field of regular) {
      writer.context = field.path;
      let fieldValue = value[field.name];
      if (fieldValue === undefined) {
        if (!field.def.optional) {
          throw new TypeError(`cannot encode ${field.path}: the field is required and missing`);
        }
        fieldValue = field.def.makeDefault();
      }
      field.codec.write(writer, fieldValue);
    }
    if (!flexible) return;
    let count = 0;
    for (const field of tagged) {
      const fieldValue = value[field.name];
      if (fieldValue !== undefined && !field.codec.isDefault(fieldValue)) count++;
    }
    writer.context = taggedPath;
    writer.unsignedVarint(count);
    if (count === 0) return;
    for (const field of tagged) {
      const fieldValue = value[field.name];
      if (fieldValue === undefined || field.codec.isDefault(fieldValue)) continue;
      writer.context = field.path;
      writer.taggedField(field.def.tag as number, (w) => field.codec.write(w, fieldValue));
    }
  }

  const everyField = regular.concat(tagged);
  function isDefault(value: unknown): boolean {
    if (value === null || typeof value !== 'object') return false;
    const record = value as Record<string, unknown>;
    for (const field of everyField) {
      const fieldValue = record[field.name];
      if (fieldValue !== undefined && !field.codec.isDefault(fieldValue)) return false;
    }
    return true;
  }

  return { minBytes, read, write, isDefault };
}

function compileValue(
  def: FieldDef<unknown, unknown, boolean>,
  version: number,
  flexible: boolean,
  path: string,
): ValueCodec {
  const nullable = inVersions(def.nullableVersions, version);
  const defaultValue = def.kind === 'array' || def.kind === 'struct' ? undefined : def.makeDefault();
  const equalsDefault = (value: unknown): boolean => value === defaultValue;
  switch (def.kind) {
    case 'int8':
      return { minBytes: 1, read: (r) => r.int8(), write: (w, v) => w.int8(v as number), isDefault: equalsDefault };
    case 'int16':
      return { minBytes: 2, read: (r) => r.int16(), write: (w, v) => w.int16(v as number), isDefault: equalsDefault };
    case 'int32':
      return { minBytes: 4, read: (r) => r.int32(), write: (w, v) => w.int32(v as number), isDefault: equalsDefault };
    case 'int64':
      return { minBytes: 8, read: (r) => r.int64(), write: (w, v) => w.int64(v as number), isDefault: equalsDefault };
    case 'bool':
      return { minBytes: 1, read: (r) => r.bool(), write: (w, v) => w.bool(v as boolean), isDefault: equalsDefault };
    case 'uuid':
      return { minBytes: 16, read: (r) => r.uuid(), write: (w, v) => w.uuid(v as string), isDefault: equalsDefault };
    case 'string':
      return stringCodec(nullable, flexible, equalsDefault);
    case 'bytes':
    case 'records':
      return bytesCodec(nullable, flexible, defaultValue as Buffer | null);
    case 'array':
      return arrayCodec(def, nullable, version, flexible, path);
    case 'struct':
      return nullable
        ? nullableStructCodec(compileStruct(def.fields as StructSchema, version, flexible, path) as ValueCodec)
        : (compileStruct(def.fields as StructSchema, version, flexible, path) as ValueCodec);
  }
}

/** A nullable struct (e.g. ConsumerGroupHeartbeat's Assignment): int8 -1 for null, 1 then the struct. */
function nullableStructCodec(inner: ValueCodec): ValueCodec {
  return {
    minBytes: 1,
    read: (r) => (r.int8() < 0 ? null : inner.read(r)),
    write: (w, v) => {
      if (v === null) {
        w.int8(-1);
        return;
      }
      w.int8(1);
      inner.write(w, v);
    },
    isDefault: (value) => value === null,
  };
}

function stringCodec(nullable: boolean, flexible: boolean, isDefault: (value: unknown) => boolean): ValueCodec {
  if (flexible) {
    return nullable
      ? { minBytes: 1, read: (r) => r.compactNullableString(), write: (w, v) => w.compactNullableString(v as string | null), isDefault }
      : { minBytes: 1, read: (r) => r.compactString(), write: (w, v) => w.compactString(v as string), isDefault };
  }
  return nullable
    ? { minBytes: 2, read: (r) => r.nullableString(), write: (w, v) => w.nullableString(v as string | null), isDefault }
    : { minBytes: 2, read: (r) => r.string(), write: (w, v) => w.string(v as string), isDefault };
}

function bytesCodec(nullable: boolean, flexible: boolean, defaultValue: Buffer | null): ValueCodec {
  const isDefault = (value: unknown): boolean =>
    defaultValue === null ? value === null : Buffer.isBuffer(value) && value.length === 0;
  if (flexible) {
    return nullable
      ? { minBytes: 1, read: (r) => r.compactNullableBytes(), write: (w, v) => w.compactNullableBytes(v as Buffer | null), isDefault }
      : { minBytes: 1, read: (r) => r.compactBytes(), write: (w, v) => w.compactBytes(v as Buffer), isDefault };
  }
  return nullable
    ? { minBytes: 4, read: (r) => r.nullableBytes(), write: (w, v) => w.nullableBytes(v as Buffer | null), isDefault }
    : { minBytes: 4, read: (r) => r.bytes(), write: (w, v) => w.bytes(v as Buffer), isDefault };
}

function arrayCodec(
  def: FieldDef<unknown, unknown, boolean>,
  nullable: boolean,
  version: number,
  flexible: boolean,
  path: string,
): ValueCodec {
  const element: Pick<ValueCodec, 'minBytes' | 'read' | 'write'> =
    def.fields !== undefined
      ? compileStruct(def.fields, version, flexible, `${path}[]`)
      : compileValue(def.element as FieldDef<unknown, unknown, boolean>, version, flexible, `${path}[]`);
  // A zero-byte element would let a forged count loop without consuming input.
  if (element.minBytes < 1) throw new TypeError(`${path}: array elements must take at least one byte in version ${version}`);
  const elementMinBytes = element.minBytes;
  const elementPath = `${path}[]`;

  function read(reader: Reader): unknown[] | null {
    const count = flexible ? reader.compactArrayLength(elementMinBytes) : reader.arrayLength(elementMinBytes);
    if (count < 0) {
      if (nullable) return null;
      throw reader.fail(reader.pos, 'non-null array', 'it is null, which this version does not allow');
    }
    const items: unknown[] = [];
    for (let i = 0; i < count; i++) items.push(element.read(reader));
    return items;
  }

  function write(writer: Writer, value: unknown): void {
    if (value === null) {
      if (!nullable) throw new TypeError(`cannot encode ${path}: null is not allowed in version ${version}`);
      if (flexible) writer.compactArrayLength(null);
      else writer.arrayLength(null);
      return;
    }
    if (!Array.isArray(value)) throw new TypeError(`cannot encode ${path}: expected an array, got ${typeof value}`);
    if (flexible) writer.compactArrayLength(value.length);
    else writer.arrayLength(value.length);
    for (let i = 0; i < value.length; i++) {
      writer.context = elementPath;
      element.write(writer, value[i]);
    }
  }

  return {
    minBytes: flexible ? 1 : 4,
    read,
    write,
    isDefault: (value) => Array.isArray(value) && value.length === 0,
  };
}

/** A message (request or response body) with one compiled codec per version, built on first use. */
export class MessageCodec<S extends StructSchema> {
  private readonly compiled: (StructCodec<Infer<S>, InferInput<S>> | undefined)[] = [];

  constructor(
    readonly name: string,
    readonly schema: S,
    readonly validVersions: VersionRange,
    readonly flexibleVersions: VersionRange,
  ) {}

  codec(version: number): StructCodec<Infer<S>, InferInput<S>> {
    let codec = this.compiled[version];
    if (codec === undefined) {
      if (!Number.isInteger(version) || !inVersions(this.validVersions, version)) {
        throw new RangeError(`${this.name} has no version ${version}`);
      }
      codec = compileStruct(this.schema, version, inVersions(this.flexibleVersions, version), `${this.name} v${version}`);
      this.compiled[version] = codec;
    }
    return codec;
  }

  read(reader: Reader, version: number): Infer<S> {
    const value = this.codec(version).read(reader);
    reader.context = '';
    return value;
  }

  write(writer: Writer, version: number, value: InferInput<S>): void {
    this.codec(version).write(writer, value);
    writer.context = '';
  }
}
