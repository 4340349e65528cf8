/**
 * AVRO schemas through avsc. Compatibility is Avro's own schema resolution: avsc's
 * `reader.createResolver(writer)` succeeds exactly when the reader can read the writer's data
 * (fields matched by name or alias, defaults for added fields, numeric promotions, union
 * branches), which is the rule Confluent's Avro checker applies.
 *
 * Canonical text: avsc's schema export (full names, `"string"` for `{"type":"string"}`, docs,
 * defaults and custom attributes kept), minified, like Avro's Schema.toString that Confluent
 * stores. A schema with references keeps its own minified JSON instead: the export would inline
 * the referenced types, which the referrer must not define again.
 */
import avro from 'avsc';
import { invalidSchema, type ParsedSchema, type ResolvedReference, type SchemaProvider } from './schema.js';

class AvroSchema implements ParsedSchema {
  readonly schemaType = 'AVRO' as const;

  constructor(
    readonly canonical: string,
    readonly type: avro.Type,
  ) {}

  readerIncompatibilities(writer: ParsedSchema): string[] {
    if (!(writer instanceof AvroSchema)) return [`a ${writer.schemaType} schema cannot be compared with an AVRO one`];
    try {
      this.type.createResolver(writer.type);
      return [];
    } catch (error) {
      // avsc's verdict stands; the walk only says where and why, as Avro's SchemaCompatibility does.
      const found = differences(this.type, writer.type, '', new Set());
      return found.length > 0 ? found : [`{errorType:'READER_CANNOT_READ_WRITER', description:'${(error as Error).message}'}`];
    }
  }
}

/** Avro's promotions: what a reader of each primitive type also reads. */
const PROMOTIONS: Record<string, readonly string[]> = {
  long: ['int'],
  float: ['int', 'long'],
  double: ['int', 'long', 'float'],
  string: ['bytes'],
  bytes: ['string'],
};

/** A union's branches, or null for another type. */
function unionBranches(type: avro.Type): avro.Type[] | null {
  return type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType ? type.types : null;
}

function underlying(type: avro.Type): avro.Type {
  return type instanceof avro.types.LogicalType ? type.underlyingType : type;
}

function readable(reader: avro.Type, writer: avro.Type): boolean {
  try {
    reader.createResolver(writer);
    return true;
  } catch {
    return false;
  }
}

function difference(errorType: string, path: string, description: string, additionalInfo?: string): string {
  const info = additionalInfo === undefined ? '' : `, additionalInfo:'${additionalInfo}'`;
  return `{errorType:'${errorType}', description:'${description} at path '${path || '/'}'${info}}`;
}

/** Where a reader of `readerIn` fails on data of `writerIn`: Avro's incompatibility types, each with its path. */
function differences(readerIn: avro.Type, writerIn: avro.Type, path: string, visiting: Set<string>): string[] {
  const reader = underlying(readerIn);
  const writer = underlying(writerIn);
  const pairKey = `${reader.name ?? reader.typeName}\u0000${writer.name ?? writer.typeName}`;
  if (visiting.has(pairKey)) return [];
  const writerBranches = unionBranches(writer);
  if (writerBranches !== null) {
    return writerBranches.flatMap((branch, index) => (readable(reader, branch) ? [] : differences(reader, branch, `${path}/${index}`, visiting)));
  }
  const readerBranches = unionBranches(reader);
  if (readerBranches !== null) {
    if (readerBranches.some((branch) => readable(branch, writer))) return [];
    return [difference('MISSING_UNION_BRANCH', path, `reader union lacking writer type: ${writer.typeName}`, writer.typeName)];
  }
  if (reader.typeName !== writer.typeName) {
    if (PROMOTIONS[reader.typeName]?.includes(writer.typeName)) return [];
    return [difference('TYPE_MISMATCH', path, `reader type: ${reader.typeName} not compatible with writer type: ${writer.typeName}`)];
  }
  const names = (type: avro.Type): string[] => [type.name ?? '', ...((type as { aliases?: string[] }).aliases ?? [])];
  if (reader.name !== undefined && !names(reader).includes(writer.name ?? '')) {
    return [difference('NAME_MISMATCH', `${path}/name`, `expected: ${writer.name}`, writer.name)];
  }
  visiting.add(pairKey);
  try {
    if (reader instanceof avro.types.RecordType && writer instanceof avro.types.RecordType) {
      return reader.fields.flatMap((field, index) => {
        const source = writer.fields.find((candidate) => [field.name, ...field.aliases].includes(candidate.name));
        if (source !== undefined) return differences(field.type, source.type, `${path}/fields/${index}/type`, visiting);
        if (field.defaultValue() !== undefined) return [];
        return [difference('READER_FIELD_MISSING_DEFAULT_VALUE', `${path}/fields/${index}`, `the field '${field.name}' has no default value and is missing in the writer's schema`, field.name)];
      });
    }
    if (reader instanceof avro.types.EnumType && writer instanceof avro.types.EnumType) {
      const missing = writer.symbols.filter((symbol) => !reader.symbols.includes(symbol));
      if (missing.length === 0 || (reader as unknown as { default?: string }).default !== undefined) return [];
      return [difference('MISSING_ENUM_SYMBOLS', `${path}/symbols`, `the reader's enum lacks ${missing.join(', ')}`, `[${missing.join(', ')}]`)];
    }
    if (reader instanceof avro.types.FixedType && writer instanceof avro.types.FixedType && reader.size !== writer.size) {
      return [difference('FIXED_SIZE_MISMATCH', `${path}/size`, `expected: ${writer.size}, found: ${reader.size}`)];
    }
    if (reader instanceof avro.types.ArrayType && writer instanceof avro.types.ArrayType) return differences(reader.itemsType, writer.itemsType, `${path}/items`, visiting);
    if (reader instanceof avro.types.MapType && writer instanceof avro.types.MapType) return differences(reader.valuesType, writer.valuesType, `${path}/values`, visiting);
    return [];
  } finally {
    visiting.delete(pairKey);
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidSchema(`Invalid schema ${text}, details: ${what} is not JSON (${(error as Error).message})`);
  }
}

export const avroProvider: SchemaProvider = {
  schemaType: 'AVRO',
  parse(text: string, references: readonly ResolvedReference[]): ParsedSchema {
    // One registry per parse: named types of the references are defined into it first, so the
    // schema can use them by name, and nothing leaks between subjects.
    const registry: Record<string, avro.Type> = {};
    const options = { registry, wrapUnions: 'auto' as const };
    for (const reference of references) {
      if (reference.schemaType !== 'AVRO') {
        throw invalidSchema(`Invalid schema ${text}, details: reference ${reference.name} is a ${reference.schemaType} schema, not AVRO`);
      }
      try {
        avro.Type.forSchema(parseJson(reference.schema, `reference ${reference.name}`) as avro.Schema, options);
      } catch (error) {
        throw invalidSchema(`Invalid schema ${text}, details: reference ${reference.name}: ${(error as Error).message}`);
      }
    }
    const json = parseJson(text, 'the schema');
    let type: avro.Type;
    try {
      type = avro.Type.forSchema(json as avro.Schema, options);
    } catch (error) {
      throw invalidSchema(`Invalid schema ${text}, details: ${(error as Error).message}`);
    }
    const canonical = references.length === 0 ? JSON.stringify(type.schema({ exportAttrs: true })) : JSON.stringify(json);
    return new AvroSchema(canonical, type);
  },
};
