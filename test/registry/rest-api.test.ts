/**
 * The REST API's paths, shapes and Confluent's error codes, over real HTTP: lookups, deletes soft
 * and permanent, levels and modes, references, and bad input (malformed schemas, unknown
 * references, oversized bodies, wrong content types, bodies that are not JSON), none of which
 * stops the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY_CONTENT_TYPE, RegistryHarness } from './registry-harness.js';

const RECORD = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] };
const avroBody = (schema: unknown) => ({ schema: JSON.stringify(schema) });

let harness: RegistryHarness;

beforeAll(async () => {
  harness = await RegistryHarness.start();
});

afterAll(async () => {
  await harness.stop();
});

describe('reads and lookups', () => {
  it('answers subjects, versions, schemas by id and their pairs, raw schemas and the types', async () => {
    const { body } = await harness.call('POST', '/subjects/s1/versions', avroBody(RECORD));
    expect(body).toEqual({ id: expect.any(Number) });
    const id = body.id as number;
    await harness.call('POST', '/subjects/s2/versions', avroBody(RECORD));

    expect((await harness.call('GET', '/subjects')).body).toEqual(expect.arrayContaining(['s1', 's2']));
    expect((await harness.call('GET', '/subjects/s1/versions')).body).toEqual([1]);
    expect((await harness.call('GET', '/subjects/s1/versions/latest')).body).toEqual({ subject: 's1', version: 1, id, schema: '{"name":"R","type":"record","fields":[{"name":"a","type":"int"}]}' });
    expect((await harness.call('GET', '/subjects/s1/versions/1/schema')).body).toEqual({ name: 'R', type: 'record', fields: [{ name: 'a', type: 'int' }] });
    expect((await harness.call('GET', `/schemas/ids/${id}`)).body).toEqual({ schema: '{"name":"R","type":"record","fields":[{"name":"a","type":"int"}]}' });
    expect((await harness.call('GET', `/schemas/ids/${id}/subjects`)).body).toEqual(['s1', 's2']);
    expect((await harness.call('GET', `/schemas/ids/${id}/versions`)).body).toEqual([{ subject: 's1', version: 1 }, { subject: 's2', version: 1 }]);
    expect((await harness.call('GET', '/schemas/types')).body).toEqual(['AVRO', 'JSON', 'PROTOBUF']);
    expect((await harness.call('GET', '/schemas?subjectPrefix=s&latestOnly=true')).body).toEqual([
      { subject: 's1', version: 1, id, schema: expect.any(String) },
      { subject: 's2', version: 1, id, schema: expect.any(String) },
    ]);

    const lookup = await harness.call('POST', '/subjects/s1', avroBody(RECORD));
    expect(lookup.body).toMatchObject({ subject: 's1', version: 1, id });
    const response = await fetch(`${harness.url}/subjects`);
    expect(response.headers.get('content-type')).toBe(REGISTRY_CONTENT_TYPE);
  });

  it("answers Confluent's not-found codes", async () => {
    await harness.call('POST', '/subjects/nf/versions', avroBody(RECORD));
    expect(await harness.call('GET', '/subjects/nope/versions')).toEqual({ status: 404, body: { error_code: 40401, message: "Subject 'nope' not found." } });
    expect(await harness.call('GET', '/subjects/nf/versions/7')).toEqual({ status: 404, body: { error_code: 40402, message: 'Version 7 not found.' } });
    expect(await harness.call('GET', '/schemas/ids/9999')).toEqual({ status: 404, body: { error_code: 40403, message: 'Schema 9999 not found' } });
    expect((await harness.call('POST', '/subjects/nf', avroBody({ type: 'record', name: 'Other', fields: [] }))).body.error_code).toBe(40403);
    expect((await harness.call('GET', '/subjects/nf/versions/zero')).body.error_code).toBe(42202);
    expect((await harness.call('GET', '/config/nf')).body.error_code).toBe(40408);
    expect((await harness.call('GET', '/config/nf?defaultToGlobal=true')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
    expect((await harness.call('GET', '/mode/nf')).body.error_code).toBe(40409);
    expect(await harness.call('GET', '/no/such/path')).toEqual({ status: 404, body: { error_code: 404, message: 'HTTP 404 Not Found' } });
  });
});

describe('deletes', () => {
  it('soft deletes, refuses a second soft delete, then deletes permanently', async () => {
    await harness.call('POST', '/subjects/del/versions', avroBody(RECORD));
    await harness.call('POST', '/subjects/del/versions', avroBody({ ...RECORD, fields: [...RECORD.fields, { name: 'b', type: 'int', default: 0 }] }));
    expect((await harness.call('DELETE', '/subjects/del?permanent=true')).body.error_code).toBe(40405);
    expect((await harness.call('DELETE', '/subjects/del/versions/2?permanent=true')).body.error_code).toBe(40407);
    expect(await harness.call('DELETE', '/subjects/del/versions/2')).toEqual({ status: 200, body: 2 });
    expect((await harness.call('DELETE', '/subjects/del/versions/2')).body.error_code).toBe(40406);
    expect((await harness.call('GET', '/subjects/del/versions')).body).toEqual([1]);
    expect((await harness.call('GET', '/subjects/del/versions?deleted=true')).body).toEqual([1, 2]);
    expect(await harness.call('DELETE', '/subjects/del')).toEqual({ status: 200, body: [1] });
    expect((await harness.call('GET', '/subjects')).body).not.toContain('del');
    expect((await harness.call('GET', '/subjects?deleted=true')).body).toContain('del');
    expect((await harness.call('DELETE', '/subjects/del')).body.error_code).toBe(40404);
    expect(await harness.call('DELETE', '/subjects/del?permanent=true')).toEqual({ status: 200, body: [1, 2] });
    expect((await harness.call('GET', '/subjects/del/versions?deleted=true')).body.error_code).toBe(40401);
    // Registered again after deletion: versions start over at 1.
    await harness.call('POST', '/subjects/del/versions', avroBody(RECORD));
    expect((await harness.call('GET', '/subjects/del/versions')).body).toEqual([1]);
  });
});

describe('levels, modes and compatibility tests', () => {
  it('sets and reads levels, refuses unknown ones, and tests compatibility without registering', async () => {
    expect(await harness.call('PUT', '/config/lv', { compatibility: 'full_transitive' })).toEqual({ status: 200, body: { compatibility: 'FULL_TRANSITIVE' } });
    expect((await harness.call('GET', '/config/lv')).body).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
    expect((await harness.call('PUT', '/config/lv', { compatibility: 'SIDEWAYS' })).body.error_code).toBe(42203);
    expect(await harness.call('DELETE', '/config/lv')).toEqual({ status: 200, body: { compatibilityLevel: 'FULL_TRANSITIVE' } });

    await harness.call('POST', '/subjects/lv/versions', avroBody(RECORD));
    const bad = avroBody({ ...RECORD, fields: [{ name: 'a', type: 'string' }] });
    expect((await harness.call('POST', '/compatibility/subjects/lv/versions/latest', bad)).body).toEqual({ is_compatible: false });
    const verbose = await harness.call('POST', '/compatibility/subjects/lv/versions/latest?verbose=true', bad);
    expect(verbose.body.is_compatible).toBe(false);
    expect(verbose.body.messages).toEqual(["{errorType:'TYPE_MISMATCH', description:'reader type: string not compatible with writer type: int at path '/fields/0/type'}"]);
    expect((await harness.call('POST', '/compatibility/subjects/lv/versions/1', avroBody(RECORD))).body).toEqual({ is_compatible: true });
    expect((await harness.call('GET', '/subjects/lv/versions')).body).toEqual([1]);
  });

  it('READONLY refuses registrations with 42205; unknown modes get 42204', async () => {
    expect(await harness.call('PUT', '/mode/ro', { mode: 'READONLY' })).toEqual({ status: 200, body: { mode: 'READONLY' } });
    expect((await harness.call('POST', '/subjects/ro/versions', avroBody(RECORD))).body.error_code).toBe(42205);
    expect((await harness.call('PUT', '/mode/ro', { mode: 'SOMETIMES' })).body.error_code).toBe(42204);
    await harness.call('DELETE', '/mode/ro');
    expect((await harness.call('POST', '/subjects/ro/versions', avroBody(RECORD))).status).toBe(200);
    expect((await harness.call('GET', '/mode')).body).toEqual({ mode: 'READWRITE' });
  });
});

describe('references', () => {
  it('resolves an Avro named type from another subject and refuses to delete what is referenced', async () => {
    const address = { type: 'record', name: 'Address', namespace: 'geo', fields: [{ name: 'city', type: 'string' }] };
    await harness.call('POST', '/subjects/address/versions', avroBody(address));
    const person = { type: 'record', name: 'Person', fields: [{ name: 'home', type: 'geo.Address' }] };
    const references = [{ name: 'geo.Address', subject: 'address', version: 1 }];
    const registered = await harness.call('POST', '/subjects/person/versions', { ...avroBody(person), references });
    expect(registered.status).toBe(200);
    expect((await harness.call('GET', `/schemas/ids/${registered.body.id}`)).body.references).toEqual(references);
    expect((await harness.call('GET', '/subjects/address/versions/1/referencedby')).body).toEqual([registered.body.id]);
    expect((await harness.call('DELETE', '/subjects/address/versions/1')).body.error_code).toBe(42206);

    const unknown = await harness.call('POST', '/subjects/person2/versions', { ...avroBody(person), references: [{ name: 'geo.Address', subject: 'nowhere', version: 1 }] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error_code).toBe(42201);
    const missing = await harness.call('POST', '/subjects/person3/versions', avroBody(person));
    expect(missing.body.error_code).toBe(42201);
  });
});

describe('references of JSON and Protobuf schemas', () => {
  it('resolves a JSON Schema $ref and a .proto import to the referenced subjects', async () => {
    const money = { type: 'object', properties: { cents: { type: 'integer' } }, required: ['cents'] };
    await harness.call('POST', '/subjects/money/versions', { schemaType: 'JSON', schema: JSON.stringify(money) });
    const invoice = { type: 'object', properties: { total: { $ref: 'money.json' } } };
    const jsonRefs = [{ name: 'money.json', subject: 'money', version: 1 }];
    expect((await harness.call('POST', '/subjects/invoice/versions', { schemaType: 'JSON', schema: JSON.stringify(invoice), references: jsonRefs })).status).toBe(200);
    // Through the reference, a narrowed money type is seen by the compatibility check.
    const narrowed = { type: 'object', properties: { total: { type: 'string' } } };
    const check = await harness.call('POST', '/compatibility/subjects/invoice/versions/latest?verbose=true', { schemaType: 'JSON', schema: JSON.stringify(narrowed) });
    expect(check.body.is_compatible).toBe(false);

    await harness.call('POST', '/subjects/common/versions', { schemaType: 'PROTOBUF', schema: 'syntax = "proto3"; package common; message Money { int64 cents = 1; }' });
    const order = 'syntax = "proto3"; package shop; import "common/money.proto"; message Order { common.Money total = 1; }';
    const protoRefs = [{ name: 'common/money.proto', subject: 'common', version: 1 }];
    expect((await harness.call('POST', '/subjects/order/versions', { schemaType: 'PROTOBUF', schema: order, references: protoRefs })).status).toBe(200);
    const unresolved = await harness.call('POST', '/subjects/order2/versions', { schemaType: 'PROTOBUF', schema: order });
    expect(unresolved.body.error_code).toBe(42201);
    expect(unresolved.body.message).toContain('common/money.proto');
  });
});

describe('JSON Schema drafts', () => {
  it('takes draft-04, draft-06, draft-07, 2019-09 and 2020-12 schemas, each checked by its own meta-schema', async () => {
    const drafts = [
      'http://json-schema.org/draft-04/schema#',
      'http://json-schema.org/draft-06/schema#',
      'http://json-schema.org/draft-07/schema#',
      'https://json-schema.org/draft/2019-09/schema',
      'https://json-schema.org/draft/2020-12/schema',
    ];
    for (const [index, draft] of drafts.entries()) {
      const schema = JSON.stringify({ $schema: draft, type: 'object', properties: { n: { type: 'integer' } } });
      const answer = await harness.call('POST', `/subjects/draft-${index}/versions`, { schemaType: 'JSON', schema });
      expect(answer.status, draft).toBe(200);
    }
    // 2020-12 knows prefixItems; its meta-schema refuses a malformed one.
    const bad = JSON.stringify({ $schema: drafts[4], type: 'array', prefixItems: 'not-a-list' });
    expect((await harness.call('POST', '/subjects/draft-bad/versions', { schemaType: 'JSON', schema: bad })).body.error_code).toBe(42201);
  });
});

describe('IMPORT mode', () => {
  it('takes ids and versions from the request only in IMPORT mode', async () => {
    const body = { ...avroBody({ type: 'record', name: 'Imported', fields: [] }), id: 500, version: 7 };
    expect((await harness.call('POST', '/subjects/imp/versions', body)).body.error_code).toBe(42205);
    await harness.call('PUT', '/mode/imp', { mode: 'IMPORT' });
    expect(await harness.call('POST', '/subjects/imp/versions', body)).toEqual({ status: 200, body: { id: 500 } });
    expect((await harness.call('GET', '/subjects/imp/versions/7')).body).toMatchObject({ id: 500, version: 7 });
    const clash = { ...avroBody({ type: 'record', name: 'Clash', fields: [] }), id: 500, version: 8 };
    expect((await harness.call('POST', '/subjects/imp/versions', clash)).body.error_code).toBe(42207);
    await harness.call('DELETE', '/mode/imp');
  });
});

describe('bad input', () => {
  it('answers malformed schemas with 42201 for each type', async () => {
    for (const body of [
      { schema: '{"type": "record", "name": "X"' },
      { schema: '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nosuchtype"}]}' },
      { schema: '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "int", "default": "text"}]}' },
      { schema: '{"type": 12}', schemaType: 'JSON' },
      { schema: '[1, 2]', schemaType: 'JSON' },
      { schema: 'message { broken', schemaType: 'PROTOBUF' },
      { schema: 'syntax = "proto3"; message M { Missing m = 1; }', schemaType: 'PROTOBUF' },
      { schema: '' },
      { schema: 42 },
      { schema: '"string"', schemaType: 'XML' },
    ]) {
      const answer = await harness.call('POST', '/subjects/bad/versions', body);
      expect(answer.status, JSON.stringify(body)).toBe(422);
      expect(answer.body.error_code, JSON.stringify(body)).toBe(42201);
    }
  });

  it('answers a wrong content type with 415, a body that is not JSON with 400 and an oversized body with 413', async () => {
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${harness.url}/subjects/ct/versions`, { method: 'POST', headers, body }).then(async (response) => ({ status: response.status, body: (await response.json()) as { error_code: number; message: string } }));
    expect(await post({ 'content-type': 'text/xml' }, '<schema/>')).toEqual({ status: 415, body: { error_code: 415, message: 'HTTP 415 Unsupported Media Type' } });
    const notJson = await post({ 'content-type': REGISTRY_CONTENT_TYPE }, '{"schema": ');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error_code).toBe(400);
    const huge = await post({ 'content-type': REGISTRY_CONTENT_TYPE }, JSON.stringify({ schema: `"${'x'.repeat(11 * 1024 * 1024)}"` }));
    expect(huge.status).toBe(413);
    expect(huge.body.error_code).toBe(413);
    // Every accepted content type reads the same body.
    for (const type of ['application/vnd.schemaregistry+json', 'application/json', 'application/octet-stream']) {
      expect((await post({ 'content-type': type }, JSON.stringify(avroBody(RECORD)))).status).toBe(200);
    }
    expect((await harness.call('GET', '/schemas/types')).status).toBe(200);
  });
});
