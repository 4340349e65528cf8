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
      return [`{errorType:'READER_CANNOT_READ_WRITER', description:'${(error as Error).message}'}`];
    }
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
