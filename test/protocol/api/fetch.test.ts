import { describe, expect, it } from 'vitest';
import { Fetch } from '../../../src/protocol/api/fetch.js';
import { decodeRequest, encodeResponse } from '../../../src/protocol/api/registry.js';
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
