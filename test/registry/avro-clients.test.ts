/**
 * Sluice's Schema Registry against two registry clients written elsewhere, with Avro:
 * @kafkajs/confluent-schema-registry and @confluentinc/schemaregistry register, fetch by id,
 * encode and decode; BACKWARD refuses an incompatible change with 409 and NONE takes it; ids
 * survive a restart of the registry and its broker on the same data directory.
 */
import { COMPATIBILITY, SchemaRegistry as KafkajsRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { AvroDeserializer, AvroSerializer, SchemaRegistryClient, SerdeType } from '@confluentinc/schemaregistry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegistryHarness } from './registry-harness.js';

const USER_V1 = {
  type: 'record',
  name: 'User',
  namespace: 'com.example',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'age', type: 'int' },
  ],
};
/** Adds a field with a default: a reader of V2 fills it in for V1 data, so BACKWARD holds. */
const USER_V2 = { ...USER_V1, fields: [...USER_V1.fields, { name: 'email', type: ['null', 'string'], default: null }] };
/** Adds a field without a default: a reader of it cannot read V1 data. */
const USER_BAD = { ...USER_V1, fields: [...USER_V1.fields, { name: 'country', type: 'string' }] };

let harness: RegistryHarness;

beforeEach(async () => {
  harness = await RegistryHarness.start();
});

afterEach(async () => {
  await harness.stop();
});

describe('the registry with @kafkajs/confluent-schema-registry', () => {
  it('registers, returns the same id for the same schema, fetches by id, encodes and decodes', async () => {
    const client = new KafkajsRegistry({ host: harness.url });
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(USER_V1) }, { subject: 'users-value' });
    expect(id).toBe(1);
    // The same schema written differently (spacing, key order of a field) is the same schema.
    const respaced = JSON.stringify(USER_V1, null, 2);
    expect((await client.register({ type: SchemaType.AVRO, schema: respaced }, { subject: 'users-value' })).id).toBe(1);
    expect(await client.getLatestSchemaId('users-value')).toBe(1);

    const encoded = await client.encode(id, { name: 'Ada', age: 36 });
    expect(encoded[0]).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(1);
    const fresh = new KafkajsRegistry({ host: harness.url });
    expect(await fresh.decode(encoded)).toEqual({ name: 'Ada', age: 36 });
    expect(JSON.parse(JSON.stringify(await fresh.getSchema(id)))).toBeTruthy();
  });

  it('refuses an incompatible change with 409 under BACKWARD and takes it under NONE', async () => {
    const client = new KafkajsRegistry({ host: harness.url });
    await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(USER_V1) }, { subject: 'users-value' });
    const refused = await client
      .register({ type: SchemaType.AVRO, schema: JSON.stringify(USER_BAD) }, { subject: 'users-value' })
      .then(() => null, (error: { status?: number; message: string }) => error);
    expect(refused?.status).toBe(409);
    const raw = await harness.call('POST', '/subjects/users-value/versions', { schema: JSON.stringify(USER_BAD) });
    expect(raw.status).toBe(409);
    expect(raw.body.error_code).toBe(409);
    expect(raw.body.message).toContain('Schema being registered is incompatible with an earlier schema for subject "users-value"');

    expect((await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(USER_V2) }, { subject: 'users-value' })).id).toBe(2);

    expect(await harness.call('PUT', '/config/users-value', { compatibility: 'NONE' })).toEqual({ status: 200, body: { compatibility: 'NONE' } });
    // This client reads the subject's level back and checks it is the one it was told to expect.
    const { id } = await client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(USER_BAD) },
      { subject: 'users-value', compatibility: COMPATIBILITY.NONE },
    );
    expect(id).toBe(3);
    expect((await harness.call('GET', '/subjects/users-value/versions')).body).toEqual([1, 2, 3]);
  });
});

describe('the registry with @confluentinc/schemaregistry', () => {
  it('registers, fetches by id and round-trips records through its Avro serializer and deserializer', async () => {
    const client = new SchemaRegistryClient({ baseURLs: [harness.url] });
    const id = await client.register('orders-value', { schemaType: 'AVRO', schema: JSON.stringify(USER_V1) }, false);
    expect(id).toBe(1);
    const info = await client.getBySubjectAndId('orders-value', id);
    expect(JSON.parse(info.schema)).toMatchObject({ name: 'com.example.User', type: 'record' });
    const latest = await client.getLatestSchemaMetadata('orders-value');
    expect(latest).toMatchObject({ id: 1, version: 1, subject: 'orders-value' });

    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true, autoRegisterSchemas: false });
    const bytes = await serializer.serialize('orders', { name: 'Grace', age: 45 });
    expect(bytes.readInt32BE(1)).toBe(1);
    const reader = new SchemaRegistryClient({ baseURLs: [harness.url] });
    const deserializer = new AvroDeserializer(reader, SerdeType.VALUE, {});
    expect(await deserializer.deserialize('orders', bytes)).toEqual({ name: 'Grace', age: 45 });

    // The kafkajs-side client decodes what Confluent's serializer wrote, and the other way round.
    const other = new KafkajsRegistry({ host: harness.url });
    expect(await other.decode(bytes)).toEqual({ name: 'Grace', age: 45 });
    expect(await deserializer.deserialize('orders', await other.encode(1, { name: 'Alan', age: 41 }))).toEqual({ name: 'Alan', age: 41 });
  });

  it('is refused an incompatible schema with a 409 error', async () => {
    const client = new SchemaRegistryClient({ baseURLs: [harness.url] });
    await client.register('orders-value', { schemaType: 'AVRO', schema: JSON.stringify(USER_V1) }, false);
    const refused = await client
      .register('orders-value', { schemaType: 'AVRO', schema: JSON.stringify(USER_BAD) }, false)
      .then(() => null, (error: { status?: number; errorCode?: number }) => error);
    expect(refused).toMatchObject({ status: 409, errorCode: 409 });
  });
});

describe('ids across a restart', () => {
  it('gives the same ids back after the registry and its broker restart on the same data', async () => {
    const client = new KafkajsRegistry({ host: harness.url });
    await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(USER_V1) }, { subject: 'a-value' });
    await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(USER_V2) }, { subject: 'a-value' });
    await harness.call('PUT', '/config', { compatibility: 'FULL' });
    const encoded = await client.encode(2, { name: 'Ada', age: 36, email: null });

    await harness.restart();

    const after = new KafkajsRegistry({ host: harness.url });
    expect(await after.decode(encoded)).toEqual({ name: 'Ada', age: 36, email: null });
    expect((await harness.call('GET', '/subjects/a-value/versions')).body).toEqual([1, 2]);
    expect((await harness.call('GET', '/config')).body).toEqual({ compatibilityLevel: 'FULL' });
    // The same schema under another subject keeps its id; a new one gets the next id, never a reused one.
    expect((await after.register({ type: SchemaType.AVRO, schema: JSON.stringify(USER_V1) }, { subject: 'b-value' })).id).toBe(1);
    const other = { type: 'record', name: 'Other', fields: [{ name: 'x', type: 'long' }] };
    expect((await after.register({ type: SchemaType.AVRO, schema: JSON.stringify(other) }, { subject: 'c-value' })).id).toBe(3);
  });
});
