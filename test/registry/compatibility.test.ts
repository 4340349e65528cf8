/**
 * The seven compatibility levels and each schema type's rules, on parsed schemas.
 */
import { describe, expect, it } from 'vitest';
import { avroProvider } from '../../src/registry/avro-schema.js';
import { checkCompatibility, COMPATIBILITY_LEVELS, type CompatibilityLevel } from '../../src/registry/compatibility.js';
import { jsonSchemaProvider } from '../../src/registry/json-schema.js';
import { protobufProvider } from '../../src/registry/protobuf-schema.js';
import type { ParsedSchema, SchemaProvider } from '../../src/registry/schema.js';

const parse = (provider: SchemaProvider, schema: unknown): ParsedSchema =>
  provider.parse(typeof schema === 'string' ? schema : JSON.stringify(schema), []);

const avro = (fields: object[]): ParsedSchema => parse(avroProvider, { type: 'record', name: 'T', fields });

describe('the levels, with Avro', () => {
  const a = { name: 'a', type: 'int' };
  const v1 = avro([a]);
  // v2 adds b with a default: readable both ways with v1.
  const v2 = avro([a, { name: 'b', type: 'string', default: '' }]);
  // v3 drops b's default: a v3 reader cannot read v1 data (no b, no default), but can read v2's.
  const v3 = avro([a, { name: 'b', type: 'string' }]);
  // removes a: old readers (without a default for a) cannot read it.
  const dropped = avro([{ name: 'b', type: 'string', default: '' }]);

  const verdicts = (candidate: ParsedSchema, previous: ParsedSchema[]): Record<CompatibilityLevel, boolean> =>
    Object.fromEntries(COMPATIBILITY_LEVELS.map((level) => [level, checkCompatibility(level, candidate, previous).length === 0])) as Record<CompatibilityLevel, boolean>;

  it('a field added with a default passes every level', () => {
    expect(Object.values(verdicts(v2, [v1])).every(Boolean)).toBe(true);
  });

  it('the transitive levels look past the latest version', () => {
    expect(verdicts(v3, [v1, v2])).toEqual({
      BACKWARD: true,
      BACKWARD_TRANSITIVE: false,
      FORWARD: true,
      FORWARD_TRANSITIVE: true,
      FULL: true,
      FULL_TRANSITIVE: false,
      NONE: true,
    });
  });

  it('a field removed without a default breaks forward, not backward', () => {
    expect(verdicts(dropped, [v2])).toEqual({
      BACKWARD: true,
      BACKWARD_TRANSITIVE: true,
      FORWARD: false,
      FORWARD_TRANSITIVE: false,
      FULL: false,
      FULL_TRANSITIVE: false,
      NONE: true,
    });
  });

  it("follows Avro's resolution: promotions, unions, renames by alias", () => {
    const int = avro([{ name: 'n', type: 'int' }]);
    const long = avro([{ name: 'n', type: 'long' }]);
    expect(checkCompatibility('BACKWARD', long, [int])).toEqual([]);
    expect(checkCompatibility('FORWARD', long, [int])).not.toEqual([]);
    const optional = avro([{ name: 'n', type: ['null', 'int'], default: null }]);
    expect(checkCompatibility('BACKWARD', optional, [int])).toEqual([]);
    const renamed = avro([{ name: 'm', type: 'int', aliases: ['n'] }]);
    expect(checkCompatibility('BACKWARD', renamed, [int])).toEqual([]);
    expect(checkCompatibility('BACKWARD', parse(avroProvider, '"string"'), [int])).not.toEqual([]);
  });

  it("names each problem as Avro's SchemaCompatibility does, with its path", () => {
    const types = (reader: ParsedSchema, writer: ParsedSchema): string[] =>
      reader.readerIncompatibilities(writer).map((message) => /errorType:'(\w+)'.*at path '([^']*)'/.exec(message)!.slice(1).join(' '));
    expect(types(v3, v1)).toEqual(['READER_FIELD_MISSING_DEFAULT_VALUE /fields/1']);
    expect(types(avro([{ name: 'a', type: 'string' }]), v1)).toEqual(['TYPE_MISMATCH /fields/0/type']);
    const enumOf = (symbols: string[]) => avro([{ name: 'e', type: { type: 'enum', name: 'E', symbols } }]);
    expect(types(enumOf(['A']), enumOf(['A', 'B']))).toEqual(['MISSING_ENUM_SYMBOLS /fields/0/type/symbols']);
    const fixedOf = (size: number) => avro([{ name: 'f', type: { type: 'fixed', name: 'F', size } }]);
    expect(types(fixedOf(4), fixedOf(8))).toEqual(['FIXED_SIZE_MISMATCH /fields/0/type/size']);
    expect(types(avro([{ name: 'u', type: ['null', 'int'] }]), avro([{ name: 'u', type: ['null', 'string'] }]))).toEqual(['MISSING_UNION_BRANCH /fields/0/type/1']);
    expect(types(parse(avroProvider, { type: 'record', name: 'Other', fields: [] }), v1)).toEqual(['NAME_MISMATCH /name']);
    expect(types(avro([{ name: 'xs', type: { type: 'array', items: 'string' } }]), avro([{ name: 'xs', type: { type: 'array', items: 'int' } }]))).toEqual([
      'TYPE_MISMATCH /fields/0/type/items',
    ]);
  });

  it('gives the same canonical text for the same schema written differently', () => {
    expect(parse(avroProvider, '{"type":"record","name":"T","fields":[{"name":"a","type":{"type":"int"}}]}').canonical).toBe(
      parse(avroProvider, { fields: [{ type: 'int', name: 'a' }], name: 'T', type: 'record' }).canonical,
    );
  });
});

describe("JSON Schema's rules (BACKWARD: the new schema accepts every document the old accepted)", () => {
  const json = (schema: object): ParsedSchema => parse(jsonSchemaProvider, schema);
  const backward = (next: object, previous: object): string[] => checkCompatibility('BACKWARD', json(next), [json(previous)]);
  const base = { type: 'object', properties: { a: { type: 'string' } } };
  const closed = { ...base, additionalProperties: false };

  it('open content model: removing a property is compatible, adding one is not', () => {
    expect(backward({ type: 'object', properties: {} }, base)).toEqual([]);
    expect(backward({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'integer' } } }, base).join()).toContain('PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL');
  });

  it('closed content model: adding an optional property is compatible, removing one is not', () => {
    expect(backward({ ...closed, properties: { a: { type: 'string' }, b: { type: 'integer' } } }, closed)).toEqual([]);
    expect(backward({ ...closed, properties: {} }, closed).join()).toContain('PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL');
    expect(backward(closed, base).join()).toContain('ADDITIONAL_PROPERTIES_REMOVED');
    expect(backward(base, closed)).toEqual([]);
  });

  it('types may widen, not narrow; required properties may not be added', () => {
    expect(backward({ type: ['string', 'null'] }, { type: 'string' })).toEqual([]);
    expect(backward({ type: 'number' }, { type: 'integer' })).toEqual([]);
    expect(backward({ type: 'integer' }, { type: 'number' }).join()).toContain('TYPE_NARROWED');
    expect(backward({ ...closed, required: ['a'] }, closed).join()).toContain('REQUIRED_ATTRIBUTE_ADDED');
  });

  it('bounds and enums may relax, not tighten', () => {
    expect(backward({ type: 'string', maxLength: 20 }, { type: 'string', maxLength: 10 })).toEqual([]);
    expect(backward({ type: 'string', maxLength: 5 }, { type: 'string', maxLength: 10 }).join()).toContain('MAXLENGTH_DECREASED');
    expect(backward({ type: 'integer', minimum: 1 }, { type: 'integer' }).join()).toContain('MINIMUM_ADDED');
    expect(backward({ enum: ['a', 'b', 'c'] }, { enum: ['a', 'b'] })).toEqual([]);
    expect(backward({ enum: ['a'] }, { enum: ['a', 'b'] }).join()).toContain('ENUM_ARRAY_NARROWED');
  });

  it('follows $ref into definitions, arrays into items, and branches of oneOf', () => {
    const withRef = (type: string) => ({ definitions: { n: { type } }, type: 'array', items: { $ref: '#/definitions/n' } });
    expect(backward(withRef('number'), withRef('integer'))).toEqual([]);
    expect(backward(withRef('integer'), withRef('number')).join()).toContain('TYPE_NARROWED');
    expect(backward({ oneOf: [{ type: 'string' }, { type: 'integer' }] }, { type: 'string' })).toEqual([]);
    expect(backward({ type: 'string' }, { oneOf: [{ type: 'string' }, { type: 'integer' }] }).join()).toContain('TYPE_NARROWED');
  });
});

describe("Protobuf's rules", () => {
  const proto = (body: string, pkg = 'p'): ParsedSchema => parse(protobufProvider, `syntax = "proto3"; package ${pkg}; ${body}`);
  const backward = (next: ParsedSchema, previous: ParsedSchema): string[] => checkCompatibility('BACKWARD', next, [previous]);
  const base = proto('message M { int32 a = 1; string s = 2; N n = 3; } message N { int32 x = 1; }');

  it('adding, removing and renaming fields is compatible', () => {
    expect(backward(proto('message M { int32 renamed = 1; N n = 3; bool extra = 4; } message N { int32 x = 1; }'), base)).toEqual([]);
  });

  it('scalar types may change within a wire group only', () => {
    expect(backward(proto('message M { int64 a = 1; bytes s = 2; N n = 3; } message N { int32 x = 1; }'), base)).toEqual([]);
    expect(backward(proto('message M { sint32 a = 1; string s = 2; N n = 3; } message N { int32 x = 1; }'), base).join()).toContain('FIELD_SCALAR_KIND_CHANGED');
    expect(backward(proto('message M { N a = 1; string s = 2; N n = 3; } message N { int32 x = 1; }'), base).join()).toContain('FIELD_KIND_CHANGED');
    expect(backward(proto('message M { repeated int32 a = 1; string s = 2; N n = 3; } message N { int32 x = 1; }'), base).join()).toContain('FIELD_NUMERIC_LABEL_CHANGED');
  });

  it('refuses removed messages, changed packages, changed named types and fields merged into a oneof', () => {
    expect(backward(proto('message M { int32 a = 1; string s = 2; }'), base).join()).toContain('MESSAGE_REMOVED');
    expect(backward(proto('message M { int32 a = 1; string s = 2; N n = 3; } message N { int32 x = 1; }', 'q'), base).join()).toContain('PACKAGE_CHANGED');
    expect(backward(proto('message M { int32 a = 1; string s = 2; O n = 3; } message N { int32 x = 1; } message O { int32 x = 1; }'), base).join()).toContain('FIELD_NAMED_TYPE_CHANGED');
    expect(backward(proto('message M { oneof o { int32 a = 1; string s = 2; } N n = 3; } message N { int32 x = 1; }'), base).join()).toContain('MULTIPLE_FIELDS_MOVED_TO_ONEOF');
  });

  it('refuses required fields added or removed (proto2)', () => {
    const two = (body: string): ParsedSchema => parse(protobufProvider, `syntax = "proto2"; package p; ${body}`);
    expect(backward(two('message M { optional int32 a = 1; required int32 b = 2; }'), two('message M { optional int32 a = 1; }')).join()).toContain('REQUIRED_FIELD_ADDED');
    expect(backward(two('message M { optional int32 a = 1; }'), two('message M { optional int32 a = 1; required int32 b = 2; }')).join()).toContain('REQUIRED_FIELD_REMOVED');
  });

  it('keeps comments and spacing out of the canonical text', () => {
    expect(proto('// c\nmessage  M {\n  int32 a = 1; /* x */ }').canonical).toBe(proto('message M{int32 a=1;}').canonical);
  });
});

describe('types across a subject', () => {
  it('a schema of another type than the subject holds is incompatible', () => {
    const problems = checkCompatibility('BACKWARD', parse(jsonSchemaProvider, { type: 'string' }), [parse(avroProvider, '"string"')]);
    expect(problems.join()).toContain('TYPE_MISMATCH');
  });
});
