/**
 * JSON Schema and Protobuf through Sluice's registry with the two registry clients written
 * elsewhere: register, fetch by id, encode and decode, and the compatibility refusals.
 */
import { SchemaRegistry as KafkajsRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { create, createFileRegistry, createMutableRegistry, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { JsonDeserializer, JsonSerializer, ProtobufDeserializer, ProtobufSerializer, SchemaRegistryClient, SerdeType } from '@confluentinc/schemaregistry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { protobufSerializer } from '../../src/client/schema-serializers.js';
import { RegistryHarness } from './registry-harness.js';

const PRODUCT = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { sku: { type: 'string' }, price: { type: 'number' } },
  required: ['sku'],
  additionalProperties: false,
};

const ORDER_PROTO = `
syntax = "proto3";
package shop;

// An order line.
message Order {
  string id = 1;
  int64 cents = 2;
  repeated string tags = 3;
  Status status = 4;
  enum Status { NEW = 0; PAID = 1; }
}
`;

let harness: RegistryHarness;

beforeEach(async () => {
  harness = await RegistryHarness.start();
});

afterEach(async () => {
  await harness.stop();
});

describe('JSON Schema', () => {
  it('@kafkajs/confluent-schema-registry registers, encodes and decodes; the same schema keeps its id', async () => {
    const client = new KafkajsRegistry({ host: harness.url });
    const { id } = await client.register({ type: SchemaType.JSON, schema: JSON.stringify(PRODUCT) }, { subject: 'products-value' });
    expect((await client.register({ type: SchemaType.JSON, schema: JSON.stringify(PRODUCT, null, 4) }, { subject: 'products-value' })).id).toBe(id);
    const bytes = await client.encode(id, { sku: 'X1', price: 9.5 });
    expect(await new KafkajsRegistry({ host: harness.url }).decode(bytes)).toEqual({ sku: 'X1', price: 9.5 });
    const fetched = await harness.call('GET', `/schemas/ids/${id}`);
    expect(fetched.body.schemaType).toBe('JSON');
  });

  it("@confluentinc/schemaregistry's JSON serializer and deserializer round-trip through the registry", async () => {
    const client = new SchemaRegistryClient({ baseURLs: [harness.url] });
    const id = await client.register('products-value', { schemaType: 'JSON', schema: JSON.stringify(PRODUCT) }, false);
    const serializer = new JsonSerializer(client, SerdeType.VALUE, { useLatestVersion: true, autoRegisterSchemas: false });
    const bytes = await serializer.serialize('products', { sku: 'Y2', price: 3 });
    expect(bytes.readInt32BE(1)).toBe(id);
    const deserializer = new JsonDeserializer(new SchemaRegistryClient({ baseURLs: [harness.url] }), SerdeType.VALUE, {});
    expect(await deserializer.deserialize('products', bytes)).toEqual({ sku: 'Y2', price: 3 });
  });

  it('refuses a narrowing change under BACKWARD with 409 and takes it under NONE', async () => {
    const register = (schema: object) => harness.call('POST', '/subjects/p-value/versions', { schemaType: 'JSON', schema: JSON.stringify(schema) });
    expect((await register(PRODUCT)).status).toBe(200);
    // A new required property: documents written before lack it.
    const narrowed = { ...PRODUCT, properties: { ...PRODUCT.properties, stock: { type: 'integer' } }, required: ['sku', 'stock'] };
    const refused = await register(narrowed);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain('REQUIRED_ATTRIBUTE_ADDED');
    // An optional property added to a closed content model: every old document still passes.
    const widened = { ...PRODUCT, properties: { ...PRODUCT.properties, stock: { type: 'integer' } } };
    expect((await register(widened)).status).toBe(200);
    await harness.call('PUT', '/config/p-value', { compatibility: 'NONE' });
    expect((await register(narrowed)).status).toBe(200);
  });
});

describe('Protobuf', () => {
  it('@kafkajs/confluent-schema-registry registers a .proto, fetches it by id and decodes what Sluice encoded', async () => {
    const client = new KafkajsRegistry({ host: harness.url });
    const { id } = await client.register({ type: SchemaType.PROTOBUF, schema: ORDER_PROTO }, { subject: 'orders-value' });
    // Comments and spacing are not part of the schema.
    const respaced = ORDER_PROTO.replace('// An order line.\n', '').replace(/\n\s*/g, '\n    ');
    expect((await client.register({ type: SchemaType.PROTOBUF, schema: respaced }, { subject: 'orders-value' })).id).toBe(id);

    const serializer = await protobufSerializer({ registry: harness.url, subject: 'orders-value', schema: ORDER_PROTO });
    expect(serializer.schemaId).toBe(id);
    const bytes = serializer.serialize({ id: 'o1', cents: 1250, tags: ['gift'], status: 1 });
    // Confluent's framing: magic, id, then message indexes [0] as a single zero byte.
    expect([...bytes.subarray(0, 6)]).toEqual([0, 0, 0, 0, id, 0]);
    const decoded = (await new KafkajsRegistry({ host: harness.url }).decode(bytes)) as { id: string; tags: string[]; status: number };
    expect(decoded.id).toBe('o1');
    expect(decoded.tags).toEqual(['gift']);
    expect(decoded.status).toBe(1);
    expect(serializer.deserialize(bytes)).toEqual({ id: 'o1', cents: '1250', tags: ['gift'], status: 'PAID' });
  });

  it("@confluentinc/schemaregistry's Protobuf deserializer reads what Sluice's protobuf serializer wrote (format=serialized)", async () => {
    const serializer = await protobufSerializer({ registry: harness.url, subject: 'orders-value', schema: ORDER_PROTO });
    const bytes = serializer.serialize({ id: 'o2', cents: 77, tags: ['a', 'b'], status: 1 });
    const deserializer = new ProtobufDeserializer(new SchemaRegistryClient({ baseURLs: [harness.url] }), SerdeType.VALUE, {});
    const message = (await deserializer.deserialize('orders', bytes)) as Record<string, unknown>;
    expect(message).toMatchObject({ $typeName: 'shop.Order', id: 'o2', cents: 77n, tags: ['a', 'b'], status: 1 });

    // A nested message of the second top-level one: message indexes [1, 0].
    const nested = 'syntax = "proto3"; package demo; message A { int32 a = 1; } message B { message C { string c = 1; } C c = 1; }';
    const cSerializer = await protobufSerializer({ registry: harness.url, subject: 'c-value', schema: nested, messageType: 'demo.B.C' });
    const cBytes = cSerializer.serialize({ c: 'deep' });
    expect(await deserializer.deserialize('c', cBytes)).toMatchObject({ $typeName: 'demo.B.C', c: 'deep' });

    // A file importing another subject's file of the same package: the descriptor and indexes hold only its own messages.
    await protobufSerializer({ registry: harness.url, subject: 'money-value', schema: 'syntax = "proto3"; package shop; message Money { int64 cents = 1; }' });
    const invoice = 'syntax = "proto3"; package shop; import "money.proto"; message Invoice { Money total = 1; }';
    const references = [{ name: 'money.proto', subject: 'money-value', version: 1 }];
    const invoices = await protobufSerializer({ registry: harness.url, subject: 'invoices-value', schema: invoice, references });
    const invoiceBytes = invoices.serialize({ total: { cents: 99 } });
    const read = (await deserializer.deserialize('invoices', invoiceBytes)) as { $typeName: string; total: { cents: bigint } };
    expect(read.$typeName).toBe('shop.Invoice');
    expect(read.total.cents).toBe(99n);
  });

  it("@confluentinc/schemaregistry's Protobuf serializer writes records Sluice's protobuf deserializer reads", async () => {
    const client = new SchemaRegistryClient({ baseURLs: [harness.url] });
    const id = await client.register('orders-value', { schemaType: 'PROTOBUF', schema: ORDER_PROTO }, false);
    // The message type as that library knows it: from the registry's FileDescriptorProto.
    const info = await client.getBySubjectAndId('orders-value', id, 'serialized');
    const file = fromBinary(FileDescriptorProtoSchema, Buffer.from(info.schema, 'base64'));
    const order = createFileRegistry(file, () => undefined).getMessage('shop.Order')!;
    const serializer = new ProtobufSerializer(client, SerdeType.VALUE, { useLatestVersion: true, autoRegisterSchemas: false, registry: createMutableRegistry(order) });
    const bytes = await serializer.serialize('orders', create(order, { id: 'o9', cents: 12n, tags: ['x'] }));
    expect(bytes.readInt32BE(1)).toBe(id);
    const ours = await protobufSerializer({ registry: harness.url, subject: 'orders-value' });
    expect(ours.deserialize(bytes)).toEqual({ id: 'o9', cents: '12', tags: ['x'], status: 'NEW' });

    // Maps, nested messages and a well-known import survive the descriptor round trip.
    const rich = `syntax = "proto3"; package inv; import "google/protobuf/timestamp.proto";
      message Item { message Price { int64 cents = 1; } map<string, Price> prices = 1; google.protobuf.Timestamp at = 2; }`;
    const richId = await client.register('items-value', { schemaType: 'PROTOBUF', schema: rich }, false);
    const richFile = fromBinary(FileDescriptorProtoSchema, Buffer.from((await client.getBySubjectAndId('items-value', richId, 'serialized')).schema, 'base64'));
    expect(richFile.dependency).toEqual(['google/protobuf/timestamp.proto']);
    const ourItems = await protobufSerializer({ registry: harness.url, subject: 'items-value' });
    const itemBytes = ourItems.serialize({ prices: { eur: { cents: 250 } }, at: { seconds: 5, nanos: 0 } });
    const item = (await new ProtobufDeserializer(client, SerdeType.VALUE, {}).deserialize('items', itemBytes)) as { prices: Record<string, { cents: bigint }> };
    expect(item.prices.eur.cents).toBe(250n);
  });

  it('refuses a changed field type under BACKWARD with 409, accepts an added field, and takes anything under NONE', async () => {
    const register = (schema: string) => harness.call('POST', '/subjects/orders-value/versions', { schemaType: 'PROTOBUF', schema });
    expect((await register(ORDER_PROTO)).status).toBe(200);
    const retyped = ORDER_PROTO.replace('int64 cents = 2;', 'string cents = 2;');
    const refused = await register(retyped);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain('FIELD_SCALAR_KIND_CHANGED');
    // A new field: old data simply lacks it.
    expect((await register(ORDER_PROTO.replace('repeated string tags = 3;', 'repeated string tags = 3;\n  string note = 5;'))).status).toBe(200);
    await harness.call('PUT', '/config/orders-value', { compatibility: 'NONE' });
    expect((await register(retyped)).status).toBe(200);
  });
});
