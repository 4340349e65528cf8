/**
 * Request parsing by Kafka's rules (RequestHeader#parse, RequestContext#parseRequest, the
 * generated message readers, SocketServer#parseRequestHeader), on raw frames over a real socket:
 * what Kafka tolerates is answered, what Kafka refuses closes the connection or gets Kafka's
 * error code. Frames marked "librdkafka 2.15.1" were captured from @confluentinc/kafka-javascript
 * 1.10.1 talking to Sluice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiVersions } from '../../src/protocol/api/api-versions.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Heartbeat } from '../../src/protocol/api/heartbeat.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { decodeResponse } from '../../src/protocol/api/registry.js';
import { TestClient, startServer, type TestServer } from './helpers.js';

/** A frame from hex with its size prefix, spaces allowed for readability. */
function frame(hex: string): Buffer {
  const body = Buffer.from(hex.replace(/\s+/g, ''), 'hex');
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** A hex string of a compact string: unsigned varint length + 1, then UTF-8 (names under 127 bytes). */
function compactString(text: string): string {
  return (text.length + 1).toString(16).padStart(2, '0') + Buffer.from(text).toString('hex');
}

let t: TestServer;

beforeAll(async () => {
  t = await startServer();
  await t.broker.createTopic('parsed', { partitions: 2 });
});

afterAll(async () => {
  await t.close();
});

describe('request parsing', () => {
  it('answers librdkafka 2.15.1 all-topics Metadata v12, ignoring the 3 bytes after its body', async () => {
    const client = await TestClient.connect(t.port);
    const raw = frame(
      '0003 000c 00000003 0007 72646b61666b61 00' + // header v2: Metadata v12, correlation 3, "rdkafka", no tags
        '00 00 00 00' + // topics null (all), allowAutoTopicCreation false, includeTopicAuthorizedOperations false, no tags
        '010000', // what librdkafka appends; Kafka's reader never looks at it
    );
    const { correlationId, body } = decodeResponse(await client.sendRaw(raw), Metadata, 12);
    expect(correlationId).toBe(3);
    expect(body.brokers).toEqual([expect.objectContaining({ host: '127.0.0.1', port: t.port })]);
    expect(body.topics.find((topic) => topic.name === 'parsed')?.partitions).toHaveLength(2);
    // The connection stays open for the next request.
    expect((await client.send(Metadata, 12, { topics: [] })).topics).toEqual([]);
    client.close();
  });

  it('ignores bytes after the body of a non-flexible request too', async () => {
    const client = await TestClient.connect(t.port);
    const heartbeat = client.frame(Heartbeat, 0, { groupId: 'nobody', generationId: 1, memberId: 'm' }, 41);
    const padded = Buffer.concat([heartbeat, Buffer.from('ffffffff', 'hex')]);
    padded.writeInt32BE(padded.length - 4, 0);
    const { correlationId, body } = decodeResponse(await client.sendRaw(padded), Heartbeat, 0);
    expect(correlationId).toBe(41);
    expect(body.errorCode).not.toBe(ErrorCode.NONE);
    client.close();
  });

  it('skips unknown tagged fields in the header, the body and nested structs', async () => {
    const client = await TestClient.connect(t.port);
    const raw = frame(
      '0003 000c 00000007 0004 74657374' + // Metadata v12, correlation 7, client "test"
        '01 05 03 aabbcc' + // header: one tagged field, tag 5, 3 bytes
        '02' + // one topic
        '00000000000000000000000000000000' + // topic id: zero
        compactString('parsed') +
        '02 07 01 ff 2a 02 dead' + // topic struct: two tagged fields (7: 1 byte, 42: 2 bytes)
        '00 00' + // allowAutoTopicCreation, includeTopicAuthorizedOperations
        '01 00 00', // body: one tagged field, tag 0, empty
    );
    const { correlationId, body } = decodeResponse(await client.sendRaw(raw), Metadata, 12);
    expect(correlationId).toBe(7);
    expect(body.topics).toEqual([expect.objectContaining({ name: 'parsed', errorCode: ErrorCode.NONE })]);
    client.close();
  });

  it('closes the connection when a tagged field claims more bytes than the frame has', async () => {
    const client = await TestClient.connect(t.port);
    client.write(frame('0003 000c 00000008 0004 74657374 01 05 09 aabb'));
    await client.closed;
    expect(t.logger.warns.some((line) => line.includes('malformed Kafka protocol message'))).toBe(true);
  });

  it('reads the header of an ApiVersions request from the future whole, tags included, and answers v0 UNSUPPORTED_VERSION', async () => {
    const client = await TestClient.connect(t.port);
    // ApiVersions v9, header v2 (flexible from v3) with a tagged field, and a body nobody reads.
    const raw = frame('0012 0009 0000002a 0003 616263 01 00 02 abcd' + '0601020304');
    const { correlationId, body } = decodeResponse(await client.sendRaw(raw), ApiVersions, 0);
    expect(correlationId).toBe(42);
    expect(body).toEqual({
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: [{ apiKey: ApiVersions.apiKey, minVersion: ApiVersions.minVersion, maxVersion: ApiVersions.maxVersion }],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1,
      finalizedFeatures: [],
      zkMigrationReady: false,
    });
    expect((await client.send(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' })).errorCode).toBe(ErrorCode.NONE);
    client.close();
  });

  it('answers an ApiVersions request of a negative version UNSUPPORTED_VERSION too (Kafka: not a supported version)', async () => {
    const client = await TestClient.connect(t.port);
    const { correlationId, body } = decodeResponse(await client.sendRaw(frame('0012 ffff 0000002b ffff')), ApiVersions, 0);
    expect([correlationId, body.errorCode]).toEqual([43, ErrorCode.UNSUPPORTED_VERSION]);
    client.close();
  });

  it('closes the connection when the header of an ApiVersions request from the future is malformed', async () => {
    // Header v2: the client id is whole, but 5 tagged fields are announced and none follows.
    const tags = await TestClient.connect(t.port);
    tags.write(frame('0012 0009 0000002c 0003 616263 05'));
    await tags.closed;
    // Header v2 announces a client id of 10 bytes and holds 3.
    const clientId = await TestClient.connect(t.port);
    clientId.write(frame('0012 0009 0000002c 000a 616263'));
    await clientId.closed;
  });

  it('closes the connection on a version of another API outside the served range, as Kafka does', async () => {
    const client = await TestClient.connect(t.port);
    client.write(frame('0003 0063 0000002d 0004 74657374 00 00 00 00 00'));
    await client.closed;
    expect(t.logger.warns.some((line) => line.includes('Metadata (API key 3) version 99 is not supported'))).toBe(true);
  });
});
