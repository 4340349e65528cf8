/**
 * Sluice's registry-backed serializers against clients written elsewhere: a kafkajs producer
 * encoding with @kafkajs/confluent-schema-registry is read by a Sluice consumer with Sluice's avro
 * deserializer, and a Sluice producer with the avro serializer is read by a kafkajs consumer
 * decoding with the same library. The registry here keeps _schemas on the Kafka protocol server
 * (its --bootstrap-server storage), through kafkajs.
 */
import { SchemaRegistry as KafkajsRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { avro, jsonSchema } from '../../src/client/schema-serializers.js';
import { InvalidRecordError } from '../../src/errors.js';
import { openSchemaRegistry, startRegistryServer, type RunningRegistryServer } from '../../src/registry/index.js';
import type { SchemaRegistry } from '../../src/registry/registry.js';
import { startServer, type TestServer } from '../server/helpers.js';
import { eventually } from '../support/eventually.js';

const PAYMENT_V1 = { type: 'record', name: 'Payment', namespace: 'shop', fields: [{ name: 'id', type: 'string' }, { name: 'cents', type: 'long' }] };
const PAYMENT_V2 = { ...PAYMENT_V1, fields: [...PAYMENT_V1.fields, { name: 'currency', type: 'string', default: 'EUR' }] };

let kafka: TestServer;
let registry: SchemaRegistry;
let http: RunningRegistryServer;

beforeEach(async () => {
  kafka = await startServer();
  registry = await openSchemaRegistry({ bootstrapServer: kafka.bootstrap });
  http = await startRegistryServer(registry, { port: 0 });
});

afterEach(async () => {
  await http.close();
  await registry.close();
  await kafka.close();
});

function kafkajsClient(): Kafka {
  return new Kafka({ clientId: 'interop', brokers: [kafka.bootstrap], logLevel: logLevel.NOTHING });
}

describe('avro() with kafkajs and @kafkajs/confluent-schema-registry', () => {
  it('a Sluice consumer reads what a kafkajs producer encoded, and a kafkajs consumer what a Sluice producer wrote', async () => {
    await kafka.broker.createTopic('payments', { partitions: 1 });
    const theirRegistry = new KafkajsRegistry({ host: http.url });
    const { id } = await theirRegistry.register({ type: SchemaType.AVRO, schema: JSON.stringify(PAYMENT_V1) }, { subject: 'payments-value' });

    const theirProducer = kafkajsClient().producer();
    await theirProducer.connect();
    await theirProducer.send({ topic: 'payments', messages: [{ value: await theirRegistry.encode(id, { id: 'p1', cents: 250 }) }] });
    await theirProducer.disconnect();

    const serializer = await avro<{ id: string; cents: number }>({ registry: http.url, subject: 'payments-value', schema: PAYMENT_V1 });
    expect(serializer.schemaId).toBe(id);
    const producer = new Producer(kafka.broker, { valueSerializer: serializer });
    await producer.connect();
    await producer.send({ topic: 'payments', messages: [{ value: { id: 'p2', cents: 990 } }] });
    await producer.disconnect();

    const ours: unknown[] = [];
    const consumer = new Consumer(kafka.broker, { valueDeserializer: serializer });
    await consumer.connect();
    consumer.assign([{ topic: 'payments', partition: 0, offset: 0 }]);
    await consumer.run({ eachMessage: async ({ message }) => void ours.push(message.value) });
    await eventually(() => ours.length === 2, { what: 'the Sluice consumer reading both records' });
    await consumer.disconnect();
    expect(ours).toEqual([{ id: 'p1', cents: 250 }, { id: 'p2', cents: 990 }]);

    const theirs: unknown[] = [];
    const theirConsumer = kafkajsClient().consumer({ groupId: 'interop-readers' });
    await theirConsumer.connect();
    await theirConsumer.subscribe({ topic: 'payments', fromBeginning: true });
    await theirConsumer.run({ eachMessage: async ({ message }) => void theirs.push(await theirRegistry.decode(message.value!)) });
    await eventually(() => theirs.length === 2, { what: 'the kafkajs consumer decoding both records' });
    await theirConsumer.disconnect();
    expect(theirs).toEqual([{ id: 'p1', cents: 250 }, { id: 'p2', cents: 990 }]);
  });

  it('reads a record of an older version with the newer reader schema, filling in the default', async () => {
    const v1 = await avro({ registry: http.url, subject: 'payments-value', schema: PAYMENT_V1 });
    const old = v1.serialize({ id: 'p1', cents: 5 });
    const v2 = await avro({ registry: http.url, subject: 'payments-value', schema: PAYMENT_V2 });
    expect(v2.schemaId).not.toBe(v1.schemaId);
    expect(v2.deserialize(old)).toEqual({ id: 'p1', cents: 5, currency: 'EUR' });
    // Without a schema it writes with the subject's latest version.
    const latest = await avro({ registry: http.url, subject: 'payments-value' });
    expect(latest.schemaId).toBe(v2.schemaId);
  });

  it('refuses values that do not fit the schema, bytes not in the wire format, and unknown schema ids', async () => {
    const serializer = await avro({ registry: http.url, subject: 'payments-value', schema: PAYMENT_V1 });
    expect(() => serializer.serialize({ id: 'p1', cents: 'many' })).toThrow(/does not match subject payments-value's Avro schema at cents/);
    expect(() => serializer.deserialize(Buffer.from('{"id":"p1"}'))).toThrow(InvalidRecordError);
    const unknown = Buffer.from([0, 0, 0, 0, 99, 2, 65]);
    expect(() => serializer.deserialize(unknown)).toThrow(/schema id 99/);
  });
});

describe('a registry keeping _schemas on a Kafka server', () => {
  it('reads the topic back through kafkajs when reopened: same ids, next id after them', async () => {
    const v1 = await avro({ registry: http.url, subject: 'payments-value', schema: PAYMENT_V1 });
    const v2 = await avro({ registry: http.url, subject: 'payments-value', schema: PAYMENT_V2 });
    await http.close();
    await registry.close();

    registry = await openSchemaRegistry({ bootstrapServer: kafka.bootstrap });
    http = await startRegistryServer(registry, { port: 0 });
    const again = await avro({ registry: http.url, subject: 'payments-value', schema: PAYMENT_V2 });
    expect(again.schemaId).toBe(v2.schemaId);
    expect(again.deserialize(v1.serialize({ id: 'p', cents: 1 }))).toEqual({ id: 'p', cents: 1, currency: 'EUR' });
    const other = await avro({ registry: http.url, subject: 'other-value', schema: { type: 'record', name: 'O', fields: [] } });
    expect(other.schemaId).toBe(v2.schemaId + 1);
  });
});

describe('jsonSchema()', () => {
  it('writes JSON in the wire format that the kafkajs-side client decodes, refusing invalid values', async () => {
    const schema = { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer', minimum: 1 } }, required: ['sku'] };
    const serializer = await jsonSchema({ registry: http.url, subject: 'stock-value', schema });
    const bytes = serializer.serialize({ sku: 'A-1', qty: 3 });
    expect(bytes.readInt32BE(1)).toBe(serializer.schemaId);
    expect(await new KafkajsRegistry({ host: http.url }).decode(bytes)).toEqual({ sku: 'A-1', qty: 3 });
    expect(serializer.deserialize(bytes)).toEqual({ sku: 'A-1', qty: 3 });
    expect(() => serializer.serialize({ qty: 0 })).toThrow(/must have required property 'sku'/);
  });
});
