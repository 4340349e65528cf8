/**
 * JSON schemas: ajv compiles each one (so a schema ajv refuses is an invalid schema), and the
 * compatibility rules are Confluent's documented JSON Schema rules, checked here as "does every
 * document the writer schema accepts also pass the reader schema":
 *
 * - types: a reader may widen (add a type, number for integer), not narrow;
 * - objects: under an open content model (additionalProperties absent or true) any property may
 *   appear with any value, so a reader adding a property is incompatible and removing one is
 *   fine; under a closed model (false) the reverse; a partially open model (a schema) checks the
 *   property against it; a reader requiring a property the writer did not is incompatible;
 * - strings, numbers, arrays: a reader may relax a bound (maxLength, minimum, maxItems...), not
 *   add or tighten one; enum values may be added, not removed; const must stay;
 * - oneOf/anyOf: each writer branch must fit some reader branch; allOf: every reader branch must
 *   accept the writer.
 *
 * `$ref`s to the schema's own definitions and to references are followed, a pair of schemas
 * being compared once (recursive definitions terminate).
 *
 * Canonical text: the schema minified, keys in the order written (Confluent stores Jackson's
 * compact form, likewise).
 */
import { ajvFor } from '../client/json-schema-ajv.js';
import { invalidSchema, type ParsedSchema, type ResolvedReference, type SchemaProvider } from './schema.js';

type JsonSchemaNode = boolean | Record<string, unknown>;

/** The documents a schema (and its references) can point into with $ref. */
interface RefScope {
  root: JsonSchemaNode;
  references: ReadonlyMap<string, JsonSchemaNode>;
}

class JsonSchema implements ParsedSchema {
  readonly schemaType = 'JSON' as const;

  constructor(
    readonly canonical: string,
    readonly scope: RefScope,
  ) {}

  readerIncompatibilities(writer: ParsedSchema): string[] {
    if (!(writer instanceof JsonSchema)) return [`a ${writer.schemaType} schema cannot be compared with a JSON one`];
    const check = new JsonCompatibility(writer.scope, this.scope);
    check.compare(writer.scope.root, this.scope.root, '#');
    return check.differences;
  }
}

const NUMERIC_BOUNDS_LOWER = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] as const;
const NUMERIC_BOUNDS_UPPER = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] as const;

function isObject(node: unknown): node is Record<string, unknown> {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

function typesOf(node: Record<string, unknown>): Set<string> | null {
  const type = node.type;
  if (typeof type === 'string') return new Set([type]);
  if (Array.isArray(type)) return new Set(type.filter((entry): entry is string => typeof entry === 'string'));
  return null;
}

class JsonCompatibility {
  readonly differences: string[] = [];
  private readonly compared = new Set<string>();

  constructor(
    private readonly writerScope: RefScope,
    private readonly readerScope: RefScope,
  ) {}

  compare(writerIn: unknown, readerIn: unknown, path: string): void {
    const writer = this.deref(writerIn, this.writerScope);
    const reader = this.deref(readerIn, this.readerScope);
    if (reader === true || (isObject(reader) && Object.keys(reader).length === 0)) return;
    if (writer === false) return;
    if (reader === false) return this.add('SCHEMA_REMOVED', path, 'the reader accepts nothing');
    if (!isObject(reader)) return;
    const writerNode = isObject(writer) ? writer : {};
    // Recursive definitions meet the same pair again: once compared, it holds.
    const pairKey = `${JSON.stringify(writerNode)}\u0000${JSON.stringify(reader)}`;
    if (this.compared.has(pairKey)) return;
    this.compared.add(pairKey);

    if (this.compareCombined(writerNode, reader, path)) return;
    this.compareTypes(writerNode, reader, path);
    this.compareBounds(writerNode, reader, path);
    this.compareValues(writerNode, reader, path);
    this.compareObjects(writerNode, reader, path);
    this.compareArrays(writerNode, reader, path);
  }

  private add(kind: string, path: string, description: string): void {
    this.differences.push(`{errorType:'${kind}', path:'${path}', description:'${description}'}`);
  }

  private deref(node: unknown, scope: RefScope): unknown {
    const seen = new Set<string>();
    let current = node;
    while (isObject(current) && typeof current.$ref === 'string') {
      const ref = current.$ref;
      if (seen.has(ref)) return true;
      seen.add(ref);
      current = resolveRef(ref, scope);
    }
    return current;
  }

  /** Returns true when a combined schema settled the comparison. */
  private compareCombined(writer: Record<string, unknown>, reader: Record<string, unknown>, path: string): boolean {
    const readerBranches = (reader.oneOf ?? reader.anyOf) as unknown[] | undefined;
    const writerBranches = (writer.oneOf ?? writer.anyOf) as unknown[] | undefined;
    if (Array.isArray(reader.allOf)) {
      reader.allOf.forEach((branch, index) => this.compare(writer, branch, `${path}/allOf/${index}`));
      return true;
    }
    if (Array.isArray(writerBranches)) {
      writerBranches.forEach((branch, index) => this.compare(branch, reader, `${path}/${writer.oneOf ? 'oneOf' : 'anyOf'}/${index}`));
      return true;
    }
    if (Array.isArray(readerBranches)) {
      const fits = readerBranches.some((branch) => {
        const trial = new JsonCompatibility(this.writerScope, this.readerScope);
        trial.compare(writer, branch, path);
        return trial.differences.length === 0;
      });
      if (!fits) this.add('COMBINED_TYPE_SUBSCHEMAS_CHANGED', path, 'no branch of the reader accepts what the writer writes');
      return true;
    }
    return false;
  }

  private compareTypes(writer: Record<string, unknown>, reader: Record<string, unknown>, path: string): void {
    const readerTypes = typesOf(reader);
    if (readerTypes === null) return;
    const writerTypes = typesOf(writer);
    if (writerTypes === null) return this.add('TYPE_NARROWED', `${path}/type`, `the reader limits the type to ${[...readerTypes].join(', ')}`);
    for (const type of writerTypes) {
      const accepted = readerTypes.has(type) || (type === 'integer' && readerTypes.has('number'));
      if (!accepted) this.add('TYPE_NARROWED', `${path}/type`, `the reader no longer accepts type ${type}`);
    }
  }

  private compareBounds(writer: Record<string, unknown>, reader: Record<string, unknown>, path: string): void {
    for (const bound of NUMERIC_BOUNDS_LOWER) {
      const readerBound = reader[bound];
      if (typeof readerBound !== 'number') continue;
      const writerBound = writer[bound];
      if (typeof writerBound !== 'number') this.add(`${bound.toUpperCase()}_ADDED`, `${path}/${bound}`, `the reader adds ${bound} ${readerBound}`);
      else if (readerBound > writerBound) this.add(`${bound.toUpperCase()}_INCREASED`, `${path}/${bound}`, `${bound} rose from ${writerBound} to ${readerBound}`);
    }
    for (const bound of NUMERIC_BOUNDS_UPPER) {
      const readerBound = reader[bound];
      if (typeof readerBound !== 'number') continue;
      const writerBound = writer[bound];
      if (typeof writerBound !== 'number') this.add(`${bound.toUpperCase()}_ADDED`, `${path}/${bound}`, `the reader adds ${bound} ${readerBound}`);
      else if (readerBound < writerBound) this.add(`${bound.toUpperCase()}_DECREASED`, `${path}/${bound}`, `${bound} fell from ${writerBound} to ${readerBound}`);
    }
    for (const exact of ['pattern', 'multipleOf', 'format'] as const) {
      if (reader[exact] !== undefined && JSON.stringify(reader[exact]) !== JSON.stringify(writer[exact])) {
        this.add(`${exact.toUpperCase()}_CHANGED`, `${path}/${exact}`, `the reader's ${exact} differs from the writer's`);
      }
    }
    if (reader.uniqueItems === true && writer.uniqueItems !== true) this.add('UNIQUE_ITEMS_ADDED', `${path}/uniqueItems`, 'the reader requires unique items');
  }

  private compareValues(writer: Record<string, unknown>, reader: Record<string, unknown>, path: string): void {
    if (Array.isArray(reader.enum)) {
      const readerValues = new Set(reader.enum.map((value) => JSON.stringify(value)));
      if (!Array.isArray(writer.enum)) this.add('ENUM_ARRAY_NARROWED', `${path}/enum`, 'the reader limits the values to an enum');
      else if (writer.enum.some((value) => !readerValues.has(JSON.stringify(value)))) {
        this.add('ENUM_ARRAY_NARROWED', `${path}/enum`, 'the reader drops enum values the writer allows');
      }
    }
    if (reader.const !== undefined && JSON.stringify(reader.const) !== JSON.stringify(writer.const)) {
      this.add('CONST_CHANGED', `${path}/const`, 'the reader requires another constant');
    }
  }

  private compareObjects(writer: Record<string, unknown>, reader: Record<string, unknown>, path: string): void {
    // Object keywords constrain objects only: a writer that writes no object is not narrowed by them.
    if (typesOf(writer)?.has('object') === false) return;
    const writerProperties = isObject(writer.properties) ? writer.properties : {};
    const readerProperties = isObject(reader.properties) ? reader.properties : {};
    const writerAdditional = writer.additionalProperties ?? true;
    const readerAdditional = reader.additionalProperties ?? true;
    for (const [name, writerProperty] of Object.entries(writerProperties)) {
      const propertyPath = `${path}/properties/${name}`;
      if (Object.hasOwn(readerProperties, name)) this.compare(writerProperty, readerProperties[name], propertyPath);
      else if (readerAdditional === false) this.add('PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL', propertyPath, `the reader's closed content model drops property ${name}`);
      else if (isObject(readerAdditional)) this.compare(writerProperty, readerAdditional, propertyPath);
    }
    for (const [name, readerProperty] of Object.entries(readerProperties)) {
      if (Object.hasOwn(writerProperties, name)) continue;
      const propertyPath = `${path}/properties/${name}`;
      if (writerAdditional === false) continue;
      if (isObject(writerAdditional)) this.compare(writerAdditional, readerProperty, propertyPath);
      else this.add('PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL', propertyPath, `the writer's open content model may write ${name} with any value`);
    }
    if (readerAdditional === false && writerAdditional !== false) {
      this.add('ADDITIONAL_PROPERTIES_REMOVED', `${path}/additionalProperties`, 'the reader closes a content model the writer leaves open');
    } else if (isObject(readerAdditional) && writerAdditional !== false) {
      this.compare(writerAdditional, readerAdditional, `${path}/additionalProperties`);
    }
    const writerRequired = new Set(Array.isArray(writer.required) ? writer.required : []);
    for (const name of Array.isArray(reader.required) ? reader.required : []) {
      if (!writerRequired.has(name)) this.add('REQUIRED_ATTRIBUTE_ADDED', `${path}/required`, `the reader requires ${String(name)}`);
    }
  }

  private compareArrays(writer: Record<string, unknown>, reader: Record<string, unknown>, path: string): void {
    if (reader.items === undefined || Array.isArray(reader.items)) return;
    this.compare(Array.isArray(writer.items) ? { anyOf: writer.items } : (writer.items ?? true), reader.items, `${path}/items`);
  }
}

/** A $ref within the schema (`#/definitions/x`) or to a reference by name (`other.json#/...`). */
function resolveRef(ref: string, scope: RefScope): unknown {
  const hash = ref.indexOf('#');
  const documentName = hash < 0 ? ref : ref.slice(0, hash);
  const pointer = hash < 0 ? '' : ref.slice(hash + 1);
  const document = documentName === '' ? scope.root : scope.references.get(documentName);
  if (document === undefined) return true;
  let node: unknown = document;
  for (const token of pointer.split('/').slice(1)) {
    const key = decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[key] : undefined;
  }
  return node ?? true;
}

function parseJson(text: string, what: string): JsonSchemaNode {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalidSchema(`Invalid schema ${text}, details: ${what} is not JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'boolean' && !isObject(json)) throw invalidSchema(`Invalid schema ${text}, details: ${what} is neither an object nor a boolean`);
  return json;
}

export const jsonSchemaProvider: SchemaProvider = {
  schemaType: 'JSON',
  parse(text: string, references: readonly ResolvedReference[]): ParsedSchema {
    const root = parseJson(text, 'the schema');
    const ajv = ajvFor(root, { strict: false, allErrors: false, validateFormats: false });
    const referenced = new Map<string, JsonSchemaNode>();
    for (const reference of references) {
      if (reference.schemaType !== 'JSON') {
        throw invalidSchema(`Invalid schema ${text}, details: reference ${reference.name} is a ${reference.schemaType} schema, not JSON`);
      }
      const document = parseJson(reference.schema, `reference ${reference.name}`);
      referenced.set(reference.name, document);
      try {
        ajv.addSchema(document as object, reference.name);
      } catch (error) {
        throw invalidSchema(`Invalid schema ${text}, details: reference ${reference.name}: ${(error as Error).message}`);
      }
    }
    try {
      ajv.compile(root as object);
    } catch (error) {
      throw invalidSchema(`Invalid schema ${text}, details: ${(error as Error).message}`);
    }
    return new JsonSchema(JSON.stringify(root), { root, references: referenced });
  },
};
