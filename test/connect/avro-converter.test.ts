/**
 * The AvroConverter against a real Schema Registry over HTTP: Connect structs become registered
 * Avro records in Confluent's wire format, readable by Sluice's own avro deserializer, and a file
 * goes through a topic as Avro strings and comes out identical.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvroConverter, Schemas, startStandalone, structSchema, optionalOf, type StandaloneWorker } from '../../src/connect/index.js';
import { avro } from '../../src/client/schema-serializers.js';
import { SchemaRegistryClient } from '../../src/client/schema-registry-client.js';
import { openSchemaRegistry, startRegistryServer, type RunningRegistryServer } from '../../src/registry/index.js';
import { Sluice } from '../../src/sluice.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { fileLines, stringConverterProps, writeInput } from './helpers.js';

let dir: string;
let registrySluice: Sluice;
let registry: RunningRegistryServer;
let worker: StandaloneWorker | null = null;

beforeAll(async () => {
  dir = makeTempDir('connect-avro');
  registrySluice = await Sluice.open({ dataDir: join(dir, 'registry-data') });
  registry = await startRegistryServer(await openSchemaRegistry({ sluice: registrySluice }), { port: 0 });
});

afterAll(async () => {
  await worker?.close();
  await registry?.close();
  await registrySluice?.close();
  removeTempDir(dir);
});

const order = structSchema(
  [
    { name: 'id', schema: Schemas.INT64 },
    { name: 'customer', schema: Schemas.STRING },
    { name: 'note', schema: Schemas.OPTIONAL_STRING },
    { name: 'tags', schema: { type: 'array', optional: false, valueSchema: Schemas.STRING } },
    { name: 'address', schema: optionalOf(structSchema([{ name: 'city', schema: Schemas.STRING }])) },
  ],
  { name: 'com.example.Order' },
);

describe('AvroConverter', () => {
  it('registers the Avro form of a struct under <topic>-value and round-trips the value', async () => {
    const converter = new AvroConverter();
    converter.configure({ 'schema.registry.url': registry.url }, false);
    const value = { id: 42, customer: 'ada', note: null, tags: ['a', 'b'], address: { city: 'Paris' } };
    const bytes = (await converter.fromConnectData('orders', order, value))!;
    const client = new SchemaRegistryClient(registry.url);
    const latest = await client.version('orders-value');
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(latest.id);
    // The registry keeps the schema's canonical form: full names, no namespace attribute.
    expect(JSON.parse(latest.schema)).toEqual({
      type: 'record',
      name: 'com.example.Order',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'customer', type: 'string' },
        { name: 'note', type: ['null', 'string'], default: null },
        { name: 'tags', type: { type: 'array', items: 'string' } },
        { name: 'address', type: ['null', { type: 'record', name: 'io.confluent.connect.avro.ConnectDefault2', fields: [{ name: 'city', type: 'string' }] }], default: null },
      ],
    });
    // Another Confluent-format reader sees the same record.
    const reader = await avro({ registry: client, subject: 'orders-value' });
    expect(reader.deserialize(bytes)).toMatchObject({ id: 42, customer: 'ada', note: null, tags: ['a', 'b'], address: { city: 'Paris' } });
    const back = await converter.toConnectData('orders', bytes);
    expect(back.value).toEqual(value);
    expect(back.schema!.name).toBe('com.example.Order');
    expect(back.schema!.fields![4]!.schema.name).toBeUndefined();
    expect(back.schema!.fields!.map((field) => [field.name, field.schema.type, field.schema.optional])).toEqual([
      ['id', 'int64', false],
      ['customer', 'string', false],
      ['note', 'string', true],
      ['tags', 'array', false],
      ['address', 'struct', true],
    ]);
  });

  it('refuses schemaless values and a missing registry url', async () => {
    const converter = new AvroConverter();
    converter.configure({ 'schema.registry.url': registry.url }, true);
    await expect(converter.fromConnectData('t', null, { a: 1 })).rejects.toThrow(/AvroConverter needs a schema/);
    expect(() => new AvroConverter().configure({}, false)).toThrow(/Missing required configuration "schema.registry.url"/);
  });

  it('carries a file through a topic as Avro and back, identical', async () => {
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    writeInput(input, 500);
    const avroProps = { 'value.converter': 'io.confluent.connect.avro.AvroConverter', 'value.converter.schema.registry.url': registry.url };
    worker = await startStandalone({
      workerProps: { ...stringConverterProps(dir), ...avroProps },
      connectorProps: [
        { name: 'src', 'connector.class': 'FileStreamSource', file: input, topic: 'avro-lines' },
        { name: 'sink', 'connector.class': 'FileStreamSink', file: output, topics: 'avro-lines' },
      ],
      log: { info: () => {}, error: () => {} },
    });
    await eventually(() => fileLines(output).length === 500, { what: '500 lines through Avro' });
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(input, 'utf8'));
    expect(JSON.parse((await new SchemaRegistryClient(registry.url).version('avro-lines-value')).schema)).toBe('string');
  });
});
