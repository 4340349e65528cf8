import { describe, expect, it } from 'vitest';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsets } from '../../../src/protocol/api/list-offsets.js';
import { decodeRequest } from '../../../src/protocol/api/registry.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

const args = {
  replicaId: -1,
  isolationLevel: 1,
  topics: [
    {
      topic: 'orders',
      partitions: [
        { partition: 0, timestamp: EARLIEST_TIMESTAMP },
        { partition: 1, timestamp: LATEST_TIMESTAMP },
        { partition: 2, timestamp: 1700000000000 },
      ],
    },
  ],
};

describe('ListOffsets requests from kafkajs', () => {
  it.each([0, 1, 2, 3])('v%i', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('listOffsets', version, args));
    if (request.apiKey !== 2) throw new Error('not a ListOffsets request');
    expect(request.body.replicaId).toBe(-1);
    expect(request.body.isolationLevel).toBe(version >= 2 ? 1 : 0);
    expect(request.body.topics[0].name).toBe('orders');
    expect(request.body.topics[0].partitions.map((p) => [p.partitionIndex, p.timestamp, p.maxNumOffsets])).toEqual([
      [0, -2, 1],
      [1, -1, 1],
      [2, 1700000000000, 1],
    ]);
  });
});

describe('ListOffsets responses read by kafkajs', () => {
  it('v0: a list of offsets per partition', async () => {
    const decoded = await decodeWithKafkajs('listOffsets', ListOffsets, 0, {
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0, oldStyleOffsets: [42, 0] }] }],
    });
    expect(decoded.responses).toEqual([{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0, offsets: ['42', '0'] }] }]);
  });

  it.each([1, 2, 3])('v%i: one offset and its timestamp per partition', async (version) => {
    const decoded = await decodeWithKafkajs(
      'listOffsets',
      ListOffsets,
      version,
      {
        throttleTimeMs: 6,
        topics: [
          {
            name: 'orders',
            partitions: [
              { partitionIndex: 0, errorCode: 0, timestamp: -1, offset: 2 ** 45 },
              { partitionIndex: 2, errorCode: 0, timestamp: 1700000000000, offset: 17 },
            ],
          },
        ],
      },
      { parse: true },
    );
    expect(decoded.responses).toEqual([
      {
        topic: 'orders',
        partitions: [
          { partition: 0, errorCode: 0, timestamp: '-1', offset: String(2 ** 45) },
          { partition: 2, errorCode: 0, timestamp: '1700000000000', offset: '17' },
        ],
      },
    ]);
    if (version >= 2) expect(version === 3 ? decoded.clientSideThrottleTime : decoded.throttleTime).toBe(6);
  });
});
