/** Converters, ConfigDef and properties files as Kafka Connect defines them. */
import { describe, expect, it } from 'vitest';
import { ConfigDef, atLeast, ByteArrayConverter, JsonConverter, parseProperties, SimpleHeaderConverter, Schemas, StringConverter, structSchema } from '../../src/connect/index.js';
import { ConnectDataError } from '../../src/errors.js';

describe('JsonConverter', () => {
  const schema = structSchema(
    [
      { name: 'id', schema: Schemas.INT32 },
      { name: 'name', schema: Schemas.OPTIONAL_STRING },
      { name: 'blob', schema: Schemas.BYTES },
    ],
    { name: 'com.example.Row' },
  );

  it('writes the schema and payload envelope with schemas.enable=true, in Kafka\'s JSON names, and reads it back', () => {
    const converter = new JsonConverter();
    converter.configure({}, false);
    const bytes = converter.fromConnectData('t', schema, { id: 7, name: null, blob: Buffer.from('hi') })!;
    expect(JSON.parse(bytes.toString())).toEqual({
      schema: {
        type: 'struct',
        optional: false,
        name: 'com.example.Row',
        fields: [
          { type: 'int32', optional: false, field: 'id' },
          { type: 'string', optional: true, field: 'name' },
          { type: 'bytes', optional: false, field: 'blob' },
        ],
      },
      payload: { id: 7, name: null, blob: 'aGk=' },
    });
    const back = converter.toConnectData('t', bytes);
    expect(back.value).toEqual({ id: 7, name: null, blob: Buffer.from('hi') });
    expect(back.schema?.fields?.map((field) => field.name)).toEqual(['id', 'name', 'blob']);
  });

  it('writes bare JSON with schemas.enable=false and reads any JSON schemaless', () => {
    const converter = new JsonConverter();
    converter.configure({ 'schemas.enable': 'false' }, true);
    expect(converter.fromConnectData('t', null, { a: [1, 'x'] })!.toString()).toBe('{"a":[1,"x"]}');
    expect(converter.toConnectData('t', Buffer.from('{"a":1}'))).toEqual({ schema: null, value: { a: 1 } });
  });

  it('refuses plain JSON with schemas.enable=true, naming the setting to change', () => {
    const converter = new JsonConverter();
    converter.configure({}, false);
    expect(() => converter.toConnectData('t', Buffer.from('{"a":1}'))).toThrow(/set schemas.enable=false/);
    expect(() => converter.toConnectData('t', Buffer.from('{not json'))).toThrow(ConnectDataError);
  });

  it('refuses a value that does not fit its schema, and a bad schemas.enable', () => {
    const converter = new JsonConverter();
    converter.configure({}, false);
    expect(() => converter.fromConnectData('t', schema, { id: 'seven', name: null, blob: Buffer.alloc(0) })).toThrow(/value.id: .* does not match schema type int32/);
    expect(() => new JsonConverter().configure({ 'schemas.enable': 'maybe' }, false)).toThrow(/Invalid value maybe for configuration schemas.enable/);
  });
});

describe('StringConverter and ByteArrayConverter', () => {
  it('StringConverter writes UTF-8 and reads an optional string', () => {
    const converter = new StringConverter();
    expect(converter.fromConnectData('t', Schemas.STRING, 'é')).toEqual(Buffer.from('é'));
    expect(converter.fromConnectData('t', null, null)).toBeNull();
    expect(converter.toConnectData('t', Buffer.from('é'))).toEqual({ schema: Schemas.OPTIONAL_STRING, value: 'é' });
  });

  it('ByteArrayConverter passes bytes and refuses anything else', () => {
    const converter = new ByteArrayConverter();
    expect(converter.fromConnectData('t', Schemas.BYTES, Buffer.from([1, 2]))).toEqual(Buffer.from([1, 2]));
    expect(() => converter.fromConnectData('t', Schemas.STRING, 'x')).toThrow(/Invalid schema type for ByteArrayConverter: string/);
    expect(() => converter.fromConnectData('t', null, 42)).toThrow(/not compatible with objects of type number/);
  });
});

describe('ConfigDef', () => {
  const def = new ConfigDef()
    .define({ name: 'file', type: 'STRING', importance: 'HIGH', documentation: 'f' })
    .define({ name: 'batch.size', type: 'INT', defaultValue: 2000, validator: atLeast(1), importance: 'LOW', documentation: 'b' });

  it("reports Kafka's messages for a missing setting, a non-number and a value out of range", () => {
    expect(def.validate({ 'batch.size': 'x' }).flatMap((value) => value.errors)).toEqual([
      'Missing required configuration "file" which has no default value.',
      'Invalid value x for configuration batch.size: Not a number of type INT',
    ]);
    expect(def.validate({ file: 'a', 'batch.size': '0' }).flatMap((value) => value.errors)).toEqual(['Invalid value 0 for configuration batch.size: Value must be at least 1']);
    expect(def.parse({ file: 'a' })).toEqual({ file: 'a', 'batch.size': 2000 });
  });

  it('answers ConfigInfos with definitions, values and the error count', () => {
    const infos = def.configInfos('X', def.validate({}));
    expect(infos.error_count).toBe(1);
    expect(infos.configs[1]).toEqual({
      definition: { name: 'batch.size', type: 'INT', required: false, default_value: '2000', importance: 'LOW', documentation: 'b', group: null, width: 'NONE', display_name: 'batch.size', dependents: [], order: -1 },
      value: { name: 'batch.size', value: null, recommended_values: [], errors: [], visible: true },
    });
  });
});

describe('properties files', () => {
  it('parse as java.util.Properties: comments, separators, continuations and escapes', () => {
    expect(parseProperties('# comment\n! also\nname = my-source\ntopic:lines\nfile /tmp/a\\\n  b.txt\nkey\\ with\\ space=\\u00e9\n')).toEqual({
      name: 'my-source',
      topic: 'lines',
      file: '/tmp/ab.txt',
      'key with space': 'é',
    });
  });
});

describe('SimpleHeaderConverter', () => {
  const headers = new SimpleHeaderConverter();
  const read = (text: string) => headers.toConnectData('t', Buffer.from(text, 'utf8'));

  it('infers booleans, the narrowest integer, floats and strings from the text, as Kafka does', () => {
    expect(read('true')).toEqual({ schema: Schemas.BOOLEAN, value: true });
    expect(read('-128')).toEqual({ schema: { type: 'int8', optional: false }, value: -128 });
    expect(read('300')).toEqual({ schema: { type: 'int16', optional: false }, value: 300 });
    expect(read('70000')).toEqual({ schema: { type: 'int32', optional: false }, value: 70000 });
    expect(read('5000000000')).toEqual({ schema: { type: 'int64', optional: false }, value: 5000000000 });
    expect(read('1.5')).toEqual({ schema: { type: 'float32', optional: false }, value: 1.5 });
    expect(read('0.1')).toEqual({ schema: { type: 'float64', optional: false }, value: 0.1 });
    expect(read('trace-7')).toEqual({ schema: Schemas.STRING, value: 'trace-7' });
    expect(headers.toConnectData('t', null)).toEqual({ schema: null, value: null });
  });

  it('writes strings as UTF-8, bytes unchanged, scalars as their text and maps as JSON', () => {
    expect(headers.fromConnectData('t', null, 'é')).toEqual(Buffer.from('é', 'utf8'));
    expect(headers.fromConnectData('t', null, Buffer.from([0, 1]))).toEqual(Buffer.from([0, 1]));
    expect(headers.fromConnectData('t', Schemas.INT32, 42)!.toString()).toBe('42');
    expect(headers.fromConnectData('t', null, false)!.toString()).toBe('false');
    expect(headers.fromConnectData('t', null, new Map([['a', 1]]))!.toString()).toBe('{"a":1}');
    expect(headers.fromConnectData('t', null, null)).toBeNull();
    expect(read(headers.fromConnectData('t', null, 42)!.toString())).toEqual({ schema: { type: 'int8', optional: false }, value: 42 });
  });
});
