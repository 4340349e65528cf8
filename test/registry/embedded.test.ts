/**
 * The registry as the package entry point offers it, embedded: a Sluice, its registry served over
 * HTTP, and a producer and consumer with registry serializers of each type (the README's example).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sluice, avro, jsonSchema, openSchemaRegistry, protobuf, startRegistryServer, type RunningRegistryServer, type Serializer } from '../../src/index.js';
import { quietLogger } from '../broker/broker-test-helpers.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

let dataDir: string;
let sluice: Sluice;
let server: RunningRegistryServer;
let closeRegistry: () => Promise<void>;

beforeEach(async () => {
  dataDir = makeTempDir('registry-embedded');
  sluice = await Sluice.open({ dataDir, shards: 1, groupInitialRebalanceDelayMs: 0, logger: quietLogger });
  const registry = await openSchemaRegistry({ sluice });
  server = await startRegistryServer(registry, { port: 0 });
  closeRegistry = () => registry.close();
});

afterEach(async () => {
  await server.close();
  await closeRegistry();
  await sluice.close();
  removeTempDir(dataDir);
});

async function roundTrip<T>(topic: string, serializer: Serializer<T>, values: T[]): Promise<T[]> {
  await sluice.admin().createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = sluice.producer({ valueSerializer: serializer });
  await producer.connect();
  await producer.send({ topic, messages: values.map((value) => ({ value })) });
  const seen: T[] = [];
  const consumer = sluice.consumer({ valueDeserializer: serializer });
  await consumer.connect();
  consumer.assign([{ topic, partition: 0, offset: 0 }]);
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value as T) });
  await eventually(() => seen.length === values.length, { what: `reading ${topic} back` });
  await consumer.disconnect();
  return seen;
}

describe('registry serializers on an embedded Sluice', () => {
  it('round-trips Avro, JSON Schema and Protobuf values through the broker', async () => {
    const user = { type: 'record', name: 'User', fields: [{ name: 'name', type: 'string' }] };
    const avroSerializer = await avro<{ name: string }>({ registry: server.url, subject: 'users-value', schema: user });
    expect(await roundTrip('users', avroSerializer, [{ name: 'Ada' }, { name: 'Alan' }])).toEqual([{ name: 'Ada' }, { name: 'Alan' }]);

    // A schema using another subject's named type, through a reference.
    const address = { type: 'record', name: 'Address', namespace: 'geo', fields: [{ name: 'city', type: 'string' }] };
    await avro({ registry: server.url, subject: 'address-value', schema: address });
    const person = { type: 'record', name: 'Person', fields: [{ name: 'home', type: 'geo.Address' }] };
    const references = [{ name: 'geo.Address', subject: 'address-value', version: 1 }];
    const personSerializer = await avro({ registry: server.url, subject: 'people-value', schema: person, references });
    expect(await roundTrip('people', personSerializer, [{ home: { city: 'Turin' } }])).toEqual([{ home: { city: 'Turin' } }]);
    const latest = await avro({ registry: server.url, subject: 'people-value' });
    expect(latest.deserialize(personSerializer.serialize({ home: { city: 'Oslo' } }))).toEqual({ home: { city: 'Oslo' } });

    const jsonSerializer = await jsonSchema<{ n: number }>({ registry: server.url, subject: 'n-value', schema: { type: 'object', properties: { n: { type: 'integer' } } } });
    expect(await roundTrip('numbers', jsonSerializer, [{ n: 1 }])).toEqual([{ n: 1 }]);

    const proto = 'syntax = "proto3"; package demo; message Outer { message Inner { string s = 1; } } message Event { Outer.Inner inner = 1; }';
    const protobufSerializer = await protobuf({ registry: server.url, subject: 'events-value', schema: proto, messageType: 'demo.Event' });
    // Event is the second top-level message: its indexes are [1], written as count 1 then 1, zigzag.
    expect([...protobufSerializer.serialize({ inner: { s: 'x' } }).subarray(5, 7)]).toEqual([2, 2]);
    expect(await roundTrip('events', protobufSerializer, [{ inner: { s: 'x' } }])).toEqual([{ inner: { s: 'x' } }]);

    // An import of another subject's file in the same package: only the file's own messages count in the indexes.
    await protobuf({ registry: server.url, subject: 'money-value', schema: 'syntax = "proto3"; package shop; message Money { int64 cents = 1; }' });
    const invoice = 'syntax = "proto3"; package shop; import "money.proto"; message Invoice { Money total = 1; }';
    const moneyReference = [{ name: 'money.proto', subject: 'money-value', version: 1 }];
    const invoiceSerializer = await protobuf({ registry: server.url, subject: 'invoices-value', schema: invoice, references: moneyReference });
    const invoiceBytes = invoiceSerializer.serialize({ total: { cents: 12 } });
    expect(invoiceBytes[5]).toBe(0);
    expect(await roundTrip('invoices', invoiceSerializer, [{ total: { cents: 12 } }])).toEqual([{ total: { cents: '12' } }]);
  });
});
