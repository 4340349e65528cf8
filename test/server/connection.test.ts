/**
 * The connection layer over real sockets: framing (split and merged frames, size limits),
 * response order under pipelining, the in-flight limit, refusals that close the connection,
 * ApiVersions negotiation, acks=0, idle and connection limits, and graceful close.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { ApiVersions } from '../../src/protocol/api/api-versions.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { decodeResponse } from '../../src/protocol/api/registry.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { FrameSplitter } from '../../src/server/connection.js';
import { KafkaServer } from '../../src/server/server.js';
import { TestClient, eventually, startServer, type TestServer } from './helpers.js';

function batch(count: number, tag = 'v'): Buffer {
  return encodeRecordBatch({ records: Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`${tag}-${i}`), timestampMs: 1_700_000_000_000 + i })) });
}

function produceBody(topic: string, partition: number, records: Buffer, acks = 1) {
  return { transactionalId: null, acks, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] };
}

function fetchBody(topic: string, partition: number, fetchOffset: number, maxWaitMs: number, minBytes = 1) {
  return {
    maxWaitMs,
    minBytes,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    topics: [{ topic, partitions: [{ partition, fetchOffset, partitionMaxBytes: 1 << 20 }] }],
  };
}

function sizePrefixed(body: Buffer): Buffer {
  const frame = Buffer.alloc(4 + body.length);
  frame.writeInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

describe('FrameSplitter', () => {
  const frames = [Buffer.from('first frame'), Buffer.alloc(0), Buffer.from('x'.repeat(300))];
  const stream = Buffer.concat(frames.map(sizePrefixed));

  it('cuts frames out of any chunking of the stream, byte by byte included', () => {
    for (const chunkBytes of [1, 2, 3, 5, 7, 64, stream.length]) {
      const splitter = new FrameSplitter(1024);
      const out: Buffer[] = [];
      for (let pos = 0; pos < stream.length; pos += chunkBytes) {
        splitter.append(stream.subarray(pos, pos + chunkBytes));
        for (let frame = splitter.next(); frame !== null; frame = splitter.next()) out.push(Buffer.from(frame));
      }
      expect(out).toEqual(frames);
      expect(splitter.bufferedBytes).toBe(0);
    }
  });

  it('hands out a frame inside one chunk as a slice of it, without a copy', () => {
    const splitter = new FrameSplitter(1024);
    splitter.append(stream);
    const frame = splitter.next()!;
    expect(frame.buffer).toBe(stream.buffer);
  });

  it('refuses a negative or oversized size prefix before the frame arrives', () => {
    for (const size of [-1, 1025]) {
      const splitter = new FrameSplitter(1024);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(size, 0);
      splitter.append(prefix.subarray(0, 2));
      expect(splitter.next()).toBeNull();
      splitter.append(prefix.subarray(2));
      expect(() => splitter.next()).toThrow(ProtocolError);
    }
  });
});

describe('connections', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startServer({ server: { socketRequestMaxBytes: 4096, maxInFlightRequestsPerConnection: 4 } });
    await t.broker.createTopic('conn', { partitions: 2 });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers a request delivered one byte at a time', async () => {
    const client = await TestClient.connect(t.port);
    const frame = client.frame(Metadata, 9, { topics: [{ name: 'conn' }] });
    const response = client.expectResponse();
    for (const byte of frame) {
      client.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const { body } = decodeResponse(await response, Metadata, 9);
    expect(body.topics[0].partitions).toHaveLength(2);
    client.close();
  });

  it('closes the connection on a size prefix above socketRequestMaxBytes or below 0, with a log line', async () => {
    for (const size of [5000, -5]) {
      const client = await TestClient.connect(t.port);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(size, 0);
      client.write(prefix);
      await client.closed;
    }
    expect(t.logger.warns.some((line) => /socketRequestMaxBytes/.test(line))).toBe(true);
  });

  it('closes the connection on a truncated request body', async () => {
    const client = await TestClient.connect(t.port);
    const frame = client.frame(Metadata, 9, { topics: [{ name: 'conn' }] });
    const truncated = sizePrefixed(frame.subarray(4, frame.length - 3));
    client.write(truncated);
    await client.closed;
    expect(t.logger.warns.some((line) => /malformed Kafka protocol message/.test(line))).toBe(true);
  });

  it('writes responses in request order while a long poll is pending, and runs pipelined produces in order', async () => {
    const client = await TestClient.connect(t.port);
    const fetchFrame = client.frame(Fetch, 11, fetchBody('conn', 1, 0, 60_000));
    const versionsFrame = client.frame(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    const fetchResponse = client.expectResponse();
    const versionsResponse = client.expectResponse();
    client.write(Buffer.concat([fetchFrame, versionsFrame]));
    // The fetch waits for data; the ApiVersions behind it is answered only after it.
    const other = await TestClient.connect(t.port);
    const produced = await other.send(Produce, 9, produceBody('conn', 1, batch(3)));
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    const fetched = decodeResponse(await fetchResponse, Fetch, 11);
    expect(fetched.body.responses[0].partitions[0].highWatermark).toBe(3);
    expect(decodeResponse(await versionsResponse, ApiVersions, 3).correlationId).toBe(fetched.correlationId + 1);

    const frames = Array.from({ length: 30 }, (_, i) => client.frame(Produce, 9, produceBody('conn', 0, batch(2, `p${i}`))));
    const responses = frames.map(() => client.expectResponse());
    client.write(Buffer.concat(frames));
    const decoded = await Promise.all(responses.map(async (r) => decodeResponse(await r, Produce, 9)));
    decoded.forEach(({ body }, i) => expect(body.responses[0].partitionResponses[0].baseOffset).toBe(2 * i));
    for (let i = 1; i < decoded.length; i++) expect(decoded[i].correlationId).toBe(decoded[i - 1].correlationId + 1);
    client.close();
    other.close();
  });

  it('stops reading past maxInFlightRequestsPerConnection and resumes as requests are answered', async () => {
    const client = await TestClient.connect(t.port);
    const frames = [client.frame(Fetch, 11, fetchBody('conn', 1, 3, 60_000))];
    for (let i = 0; i < 20; i++) frames.push(client.frame(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }));
    const responses = frames.map(() => client.expectResponse());
    client.write(Buffer.concat(frames));
    await eventually(() => t.server.connectionStats().some((stats) => stats.inFlight === 4 && stats.bufferedBytes > 0));
    expect(Math.max(...t.server.connectionStats().map((stats) => stats.inFlight))).toBe(4);
    const other = await TestClient.connect(t.port);
    await other.send(Produce, 9, produceBody('conn', 1, batch(1)));
    const answered = await Promise.all(responses);
    expect(answered).toHaveLength(21);
    client.close();
    other.close();
  });

  it('answers ApiVersions of an unknown version with a v0 UNSUPPORTED_VERSION response', async () => {
    const client = await TestClient.connect(t.port);
    const frame = client.frame(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    frame.writeInt16BE(99, 6);
    const { body } = decodeResponse(await client.sendRaw(frame), ApiVersions, 0);
    expect(body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(body.apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 4 }]);
    // The connection stays usable.
    expect((await client.send(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' })).errorCode).toBe(0);
    client.close();
  });

  it('advertises exactly the served APIs', async () => {
    const client = await TestClient.connect(t.port);
    const { apiKeys } = await client.send(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    expect(apiKeys.map((k) => k.apiKey)).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 37, 42, 43, 44, 47, 60, 61, 65, 66, 68, 69]);
    expect(apiKeys.find((k) => k.apiKey === 1)).toEqual({ apiKey: 1, minVersion: 0, maxVersion: 17 });
    expect(apiKeys.find((k) => k.apiKey === 2)).toEqual({ apiKey: 2, minVersion: 0, maxVersion: 9 });
    expect(apiKeys.find((k) => k.apiKey === 0)).toEqual({ apiKey: 0, minVersion: 0, maxVersion: 11 });
    client.close();
  });

  it('closes the connection on an unknown API key, or a version outside the range', async () => {
    const unknownKey = await TestClient.connect(t.port);
    const frame = unknownKey.frame(Metadata, 1, { topics: null });
    frame.writeInt16BE(99, 4);
    unknownKey.write(frame);
    await unknownKey.closed;

    const oldProduce = await TestClient.connect(t.port);
    const produce = oldProduce.frame(Produce, 3, produceBody('conn', 0, batch(1)));
    produce.writeInt16BE(2, 6);
    oldProduce.write(produce);
    await oldProduce.closed;
    expect(t.broker.partitionOffsets('conn', 0).highWatermark).toBe(60);
  });

  it('sends nothing for acks=0, appends the records, and closes the connection when an acks=0 append fails', async () => {
    const client = await TestClient.connect(t.port);
    const before = t.broker.partitionOffsets('conn', 0).highWatermark;
    client.write(client.frame(Produce, 9, produceBody('conn', 0, batch(5), 0)));
    const metadata = await client.send(Metadata, 9, { topics: [{ name: 'conn' }] });
    expect(metadata.topics[0].errorCode).toBe(0);
    expect(t.broker.partitionOffsets('conn', 0).highWatermark).toBe(before + 5);

    client.write(client.frame(Produce, 9, produceBody('conn', 7, batch(1), 0)));
    await client.closed;
  });
});

describe('connection limits and close', () => {
  it('closes a connection with no traffic for idleTimeoutMs, even with a request in flight', async () => {
    const t = await startServer({ server: { idleTimeoutMs: 100 } });
    try {
      await t.broker.createTopic('idle', { partitions: 1 });
      const idle = await TestClient.connect(t.port);
      await idle.closed;
      const polling = await TestClient.connect(t.port);
      const poll = polling.sendRaw(polling.frame(Fetch, 11, fetchBody('idle', 0, 0, 60_000)));
      await polling.closed;
      await expect(poll).rejects.toThrow(/closed/);
      expect(t.logger.infos.filter((line) => /idle for 100 ms/.test(line))).toHaveLength(2);
    } finally {
      await t.close();
    }
  });

  it('rejects listen() on a port in use, and can still be closed', async () => {
    const t = await startServer();
    try {
      const second = new KafkaServer(t.broker, { port: t.port });
      await expect(second.listen()).rejects.toThrow(/EADDRINUSE/);
      await second.close();
      expect(second.address).toBeNull();
    } finally {
      await t.close();
    }
  });

  it('closes once a peer that sends its next request on the answer (as a replica fetcher does) sees the end, not after closeTimeoutMs', async () => {
    const t = await startServer({ server: { closeTimeoutMs: 600_000 } });
    try {
      await t.broker.createTopic('follow-up', { partitions: 1 });
      const client = await TestClient.connect(t.port);
      const poll = client.sendRaw(client.frame(Fetch, 11, fetchBody('follow-up', 0, 0, 60_000)));
      // The next long poll goes out as soon as the answer is in, before the server's end arrives.
      const followUp = poll
        .then(() => client.sendRaw(client.frame(Fetch, 11, fetchBody('follow-up', 0, 0, 60_000))))
        .then(
          () => 'answered',
          (error: unknown) => (error as Error).message,
        );
      await eventually(() => t.server.connectionStats().some((stats) => stats.inFlight === 1));
      await t.server.close();
      // Sent after the server stopped reading: never answered.
      expect(await followUp).toMatch(/closed/);
      await client.closed;
      expect(t.server.connectionCount).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('refuses connections past connectionsMax, and on close answers a pending long poll before ending', async () => {
    // closeTimeoutMs far beyond the test's deadline: close() must finish because the connections
    // closed, not because the timeout dropped them.
    const t = await startServer({ server: { connectionsMax: 2, closeTimeoutMs: 600_000 } });
    try {
      await t.broker.createTopic('limits', { partitions: 1 });
      const first = await TestClient.connect(t.port);
      const second = await TestClient.connect(t.port);
      const polls = [first, second].map((client) => client.sendRaw(client.frame(Fetch, 11, fetchBody('limits', 0, 0, 60_000))));
      await eventually(() => t.server.connectionStats().filter((stats) => stats.inFlight === 1).length === 2);
      const third = connect({ host: '127.0.0.1', port: t.port });
      await new Promise((resolve) => third.on('close', resolve));
      expect(t.logger.warns.some((line) => /connectionsMax/.test(line))).toBe(true);

      // close() ends the long polls: both get their (empty) answer before their connection ends.
      await t.server.close();
      const answers = await Promise.all(polls);
      for (const answer of answers) {
        const { body } = decodeResponse(answer, Fetch, 11);
        expect(body.responses[0].partitions[0]).toMatchObject({ errorCode: 0, highWatermark: 0 });
      }
      await Promise.all([first.closed, second.closed]);
      expect(t.server.connectionCount).toBe(0);
    } finally {
      await t.close();
    }
  });
});
