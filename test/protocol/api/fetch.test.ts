import { describe, expect, it } from 'vitest';
import { Fetch } from '../../../src/protocol/api/fetch.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../src/protocol/api/registry.js';
import { Writer } from '../../../src/protocol/wire/writer.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

/** A real record batch: what a kafkajs producer sends, cut out of its Produce request. */
async function kafkajsBatch(): Promise<Buffer> {
  const frame = await kafkajsRequestFrame('produce', 7, {
    acks: 1,
    timeout: 1000,
    topicData: [
      {
        topic: 't',
        partitions: [
          {
            partition: 0,
            messages: [
              { key: 'a', value: 'first', timestamp: 1700000000000 },
              { key: 'b', value: 'second', timestamp: 1700000000001, headers: { trace: 'x' } },
            ],
          },
        ],
      },
    ],
  });
  const request = decodeRequest(frame);
  if (request.apiKey !== 0) throw new Error('not a produce request');
  return request.body.topicData[0].partitionData[0].records as Buffer;
}

const fetchArgs = {
  replicaId: -1,
  maxWaitTime: 500,
  minBytes: 1,
  maxBytes: 10485760,
  isolationLevel: 1,
  sessionId: 0,
  sessionEpoch: -1,
  rackId: 'rack-a',
  topics: [
    {
      topic: 'orders',
      partitions: [
        { partition: 0, fetchOffset: '1099511627776', maxBytes: 1048576, logStartOffset: 0, currentLeaderEpoch: 4 },
        { partition: 1, fetchOffset: 5, maxBytes: 2048 },
      ],
    },
  ],
};

describe('Fetch requests from kafkajs', () => {
  it.each([4, 5, 6, 7, 8, 9, 10, 11])('v%i', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('fetch', version, fetchArgs));
    if (request.apiKey !== 1) throw new Error('not a fetch request');
    const body = request.body;
    expect(body).toMatchObject({ replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 10485760, isolationLevel: 1 });
    expect(body.topics).toHaveLength(1);
    expect(body.topics[0].topic).toBe('orders');
    const partitions = body.topics[0].partitions;
    expect(partitions.map((p) => [p.partition, p.fetchOffset, p.partitionMaxBytes])).toEqual([
      [0, 2 ** 40, 1048576],
      [1, 5, 2048],
    ]);
    if (version >= 5) expect(partitions.map((p) => p.logStartOffset)).toEqual([0, -1]);
    if (version >= 7) expect(body).toMatchObject({ sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [] });
    expect(partitions[0].currentLeaderEpoch).toBe(version >= 9 ? 4 : -1);
    expect(body.rackId).toBe(version >= 11 ? 'rack-a' : '');
  });

  it('v7+: decodes forgotten topics of an incremental fetch session', async () => {
    const args = { ...fetchArgs, sessionId: 12, sessionEpoch: 3, forgottenTopics: [{ topic: 'old', partitions: [2, 5] }] };
    const request = decodeRequest(await kafkajsRequestFrame('fetch', 7, args));
    expect(request.body).toMatchObject({ sessionId: 12, sessionEpoch: 3, forgottenTopicsData: [{ topic: 'old', partitions: [2, 5] }] });
  });
});

describe('Fetch responses read by kafkajs', () => {
  async function responseBody() {
    return {
      throttleTimeMs: 2,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 2,
              lastStableOffset: 2,
              logStartOffset: 0,
              abortedTransactions: [{ producerId: 9, firstOffset: 0 }],
              preferredReadReplica: -1,
              records: await kafkajsBatch(),
            },
            { partitionIndex: 1, errorCode: 1, highWatermark: 10, records: null },
          ],
        },
      ],
    };
  }

  it.each([4, 5, 6, 7, 8, 9, 10, 11])('v%i: kafkajs decodes the records a kafkajs producer wrote', async (version) => {
    const decoded = await decodeWithKafkajs('fetch', Fetch, version, await responseBody());
    const [topic] = decoded.responses as { topicName: string; partitions: Record<string, unknown>[] }[];
    expect(topic.topicName).toBe('orders');
    const [first, second] = topic.partitions;
    expect(first).toMatchObject({ partition: 0, errorCode: 0, highWatermark: '2', lastStableOffset: '2' });
    expect(first.abortedTransactions).toEqual([{ producerId: '9', firstOffset: '0' }]);
    const messages = first.messages as { key: Buffer; value: Buffer; offset: string; headers: Record<string, Buffer> }[];
    expect(messages.map((m) => [m.offset, m.key.toString(), m.value.toString()])).toEqual([
      ['0', 'a', 'first'],
      ['1', 'b', 'second'],
    ]);
    expect(messages[1].headers.trace.toString()).toBe('x');
    expect(second).toMatchObject({ partition: 1, errorCode: 1, highWatermark: '10', messages: [] });
    if (version >= 5) expect(first.lastStartOffset).toBe('0');
    if (version >= 7) expect(decoded).toMatchObject({ errorCode: 0, sessionId: 0 });
    if (version >= 11) expect(first.preferredReadReplica).toBe(-1);
  });

  it('hands record batches to the socket by reference, not by copy', async () => {
    const body = await responseBody();
    const records = body.responses[0].partitions[0].records as Buffer;
    const writer = new Writer({ zeroCopyMinBytes: 64 });
    encodeResponse(writer, Fetch, 11, 1, body);
    expect(records.length).toBeGreaterThanOrEqual(64);
    expect(writer.chunks().filter((chunk) => chunk === records)).toHaveLength(1);
    const copied = new Writer({ zeroCopyMinBytes: Infinity });
    encodeResponse(copied, Fetch, 11, 1, body);
    expect(writer.toBuffer().equals(copied.toBuffer())).toBe(true);
  });
});

/**
 * v12-v17 frames written out byte by byte from Kafka's FetchRequest.json / FetchResponse.json:
 * v13 names topics by id, v15 moves the replica id into the tagged ReplicaState (tag 1), v16 adds
 * the response's tagged NodeEndpoints (tag 0), v17 the partitions' tagged ReplicaDirectoryId (tag 0).
 */
describe('Fetch v12-v17 frames', () => {
  const TOPIC_ID = 'AAECAwQFBgcICQoLDA0ODw';
  const DIRECTORY_ID = 'EBESExQVFhcYGRobHB0eHw';
  const int8 = (v: number): Buffer => Buffer.from([v]);
  const int16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return b;
  };
  const int32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  };
  const int64 = (v: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    return b;
  };
  /** Values below 128 only: one byte of unsigned varint. */
  const uvarint = (v: number): Buffer => Buffer.from([v]);
  const uuid = (id: string): Buffer => Buffer.from(id, 'base64url');
  const compactString = (s: string): Buffer => Buffer.concat([uvarint(s.length + 1), Buffer.from(s)]);
  const tagged = (fields: [number, Buffer][]): Buffer =>
    Buffer.concat([uvarint(fields.length), ...fields.flatMap(([tag, value]) => [uvarint(tag), uvarint(value.length), value])]);
  const NO_TAGS = tagged([]);

  /** Request header v2: api key, version, correlation id, nullable client id, no tags. */
  function header(version: number): Buffer {
    return Buffer.concat([int16(1), int16(version), int32(7), int16(4), Buffer.from('test'), NO_TAGS]);
  }

  function requestFrame(version: number): Buffer {
    const partitionTags = version >= 17 ? tagged([[0, uuid(DIRECTORY_ID)]]) : NO_TAGS;
    const topic =
      version >= 13
        ? Buffer.concat([uuid(TOPIC_ID), uvarint(2)])
        : Buffer.concat([compactString('orders'), uvarint(2)]);
    const partition = Buffer.concat([int32(3), int32(5), int64(2 ** 40), int32(4), int64(-1), int32(1 << 20), partitionTags]);
    const forgotten = Buffer.concat([uvarint(2), version >= 13 ? uuid(TOPIC_ID) : compactString('orders'), uvarint(3), int32(1), int32(2), NO_TAGS]);
    const replicaState = Buffer.concat([int32(2), int64(9), NO_TAGS]);
    return Buffer.concat([
      header(version),
      ...(version <= 14 ? [int32(2)] : []),
      int32(500),
      int32(1),
      int32(1 << 20),
      int8(1),
      int32(1234),
      int32(5),
      uvarint(2),
      topic,
      partition,
      NO_TAGS,
      forgotten,
      compactString('rack-a'),
      version >= 15 ? tagged([[1, replicaState]]) : NO_TAGS,
    ]);
  }

  function requestBody(version: number) {
    return {
      replicaId: 2,
      replicaState: { replicaId: 2, replicaEpoch: 9 },
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 1,
      sessionId: 1234,
      sessionEpoch: 5,
      topics: [
        {
          topic: 'orders',
          topicId: TOPIC_ID,
          partitions: [
            {
              partition: 3,
              currentLeaderEpoch: 5,
              fetchOffset: 2 ** 40,
              lastFetchedEpoch: 4,
              logStartOffset: -1,
              partitionMaxBytes: 1 << 20,
              ...(version >= 17 ? { replicaDirectoryId: DIRECTORY_ID } : {}),
            },
          ],
        },
      ],
      forgottenTopicsData: [{ topic: 'orders', topicId: TOPIC_ID, partitions: [1, 2] }],
      rackId: 'rack-a',
    };
  }

  it.each([12, 13, 14, 15, 16, 17])('v%i request: Kafka\'s bytes decode to its fields, and encode back to the same bytes', (version) => {
    const frame = requestFrame(version);
    const request = decodeRequest(frame);
    if (request.apiKey !== 1) throw new Error('not a fetch request');
    const body = request.body;
    expect(body).toMatchObject({ maxWaitMs: 500, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 1234, sessionEpoch: 5, rackId: 'rack-a' });
    expect(body.replicaId).toBe(version <= 14 ? 2 : -1);
    expect(body.replicaState).toEqual(version >= 15 ? { replicaId: 2, replicaEpoch: 9 } : { replicaId: -1, replicaEpoch: -1 });
    expect(body.topics[0].topic).toBe(version >= 13 ? '' : 'orders');
    expect(body.topics[0].topicId).toBe(version >= 13 ? TOPIC_ID : 'AAAAAAAAAAAAAAAAAAAAAA');
    expect(body.topics[0].partitions[0]).toMatchObject({ partition: 3, currentLeaderEpoch: 5, fetchOffset: 2 ** 40, lastFetchedEpoch: 4, partitionMaxBytes: 1 << 20 });
    expect(body.topics[0].partitions[0].replicaDirectoryId).toBe(version >= 17 ? DIRECTORY_ID : 'AAAAAAAAAAAAAAAAAAAAAA');
    expect(body.forgottenTopicsData).toEqual([{ topic: version >= 13 ? '' : 'orders', topicId: version >= 13 ? TOPIC_ID : 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [1, 2] }]);
    const writer = new Writer();
    encodeRequest(writer, Fetch, { apiVersion: version, correlationId: 7, clientId: 'test' }, requestBody(version));
    // The writer's frame starts with its 4-byte size.
    expect(Buffer.from(writer.toBuffer()).subarray(4).toString('hex')).toBe(frame.toString('hex'));
  });

  /** Response header v1 (correlation id, no tags) and a body with one partition that failed. */
  function responseFrame(version: number): Buffer {
    const partition = Buffer.concat([
      int32(3),
      int16(74),
      int64(-1),
      int64(-1),
      int64(-1),
      uvarint(0), // abortedTransactions: null
      int32(-1),
      uvarint(0), // records: null
      version >= 12 ? tagged([[1, Buffer.concat([int32(0), int32(6), NO_TAGS])]]) : NO_TAGS,
    ]);
    const endpoint = Buffer.concat([int32(0), compactString('localhost'), int32(9092), uvarint(0), NO_TAGS]);
    return Buffer.concat([
      int32(7),
      NO_TAGS,
      int32(0),
      int16(0),
      int32(1234),
      uvarint(2),
      version >= 13 ? uuid(TOPIC_ID) : compactString('orders'),
      uvarint(2),
      partition,
      NO_TAGS,
      version >= 16 ? tagged([[0, Buffer.concat([uvarint(2), endpoint])]]) : NO_TAGS,
    ]);
  }

  it.each([12, 13, 14, 15, 16, 17])('v%i response: encodes currentLeader and, from v16, nodeEndpoints as Kafka lays them out', (version) => {
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 1234,
      responses: [
        {
          topic: 'orders',
          topicId: TOPIC_ID,
          partitions: [
            {
              partitionIndex: 3,
              errorCode: 74,
              highWatermark: -1,
              lastStableOffset: -1,
              logStartOffset: -1,
              currentLeader: { leaderId: 0, leaderEpoch: 6 },
              abortedTransactions: null,
              preferredReadReplica: -1,
              records: null,
            },
          ],
        },
      ],
      nodeEndpoints: [{ nodeId: 0, host: 'localhost', port: 9092, rack: null }],
    };
    const writer = new Writer();
    encodeResponse(writer, Fetch, version, 7, body);
    const frame = responseFrame(version);
    expect(Buffer.from(writer.toBuffer()).subarray(4).toString('hex')).toBe(frame.toString('hex'));
    const decoded = decodeResponse(frame, Fetch, version).body;
    expect(decoded.responses[0].partitions[0].currentLeader).toEqual({ leaderId: 0, leaderEpoch: 6 });
    expect(decoded.nodeEndpoints).toEqual(version >= 16 ? [{ nodeId: 0, host: 'localhost', port: 9092, rack: null }] : []);
  });
});
