/** OffsetCommit and OffsetFetch against kafkajs. */
import { describe, expect, it } from 'vitest';
import { OffsetCommit } from '../../../src/protocol/api/offset-commit.js';
import { OffsetFetch } from '../../../src/protocol/api/offset-fetch.js';
import { decodeRequest } from '../../../src/protocol/api/registry.js';
import { Reader } from '../../../src/protocol/wire/reader.js';
import { Writer } from '../../../src/protocol/wire/writer.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

describe('OffsetCommit', () => {
  const args = {
    groupId: 'g',
    groupGenerationId: 7,
    memberId: 'member-1',
    retentionTime: -1,
    topics: [
      {
        topic: 'orders',
        partitions: [
          { partition: 0, offset: '1099511627776', timestamp: 1700000000000, metadata: null },
          { partition: 1, offset: 5, timestamp: 1700000000000, metadata: 'note' },
        ],
      },
    ],
  };

  it.each([0, 1, 2, 3, 4, 5])('decodes kafkajs v%i requests', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('offsetCommit', version, args));
    if (request.apiKey !== 8) throw new Error('not an OffsetCommit request');
    const body = request.body;
    expect(body.groupId).toBe('g');
    expect([body.generationId, body.memberId]).toEqual(version >= 1 ? [7, 'member-1'] : [-1, '']);
    expect(body.retentionTimeMs).toBe(-1);
    const partitions = body.topics[0].partitions;
    expect(partitions.map((p) => [p.partitionIndex, p.committedOffset, p.committedMetadata])).toEqual([
      [0, 2 ** 40, null],
      [1, 5, 'note'],
    ]);
    expect(partitions[0].commitTimestamp).toBe(version === 1 ? 1700000000000 : -1);
  });

  it.each([0, 1, 2, 3, 4, 5])('encodes v%i responses kafkajs reads', async (version) => {
    const body = { throttleTimeMs: 2, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 1, errorCode: 0 }] }] };
    const decoded = await decodeWithKafkajs('offsetCommit', OffsetCommit, version, body, { parse: true });
    expect(decoded.responses).toEqual([{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0 }, { partition: 1, errorCode: 0 }] }]);
  });

  it('kafkajs sees ILLEGAL_GENERATION on a partition', async () => {
    const body = { topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 22 }] }] };
    await expect(decodeWithKafkajs('offsetCommit', OffsetCommit, 2, body, { parse: true })).rejects.toMatchObject({
      type: 'ILLEGAL_GENERATION',
    });
  });
});

describe('OffsetFetch', () => {
  const args = { groupId: 'g', topics: [{ topic: 'orders', partitions: [{ partition: 0 }, { partition: 1 }] }] };

  it.each([1, 2, 3, 4])('decodes kafkajs v%i requests', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('offsetFetch', version, args));
    expect(request.body).toEqual({
      groupId: 'g',
      topics: [{ name: 'orders', partitionIndexes: [0, 1] }],
      groups: [],
      requireStable: false,
    });
  });

  it('v2+: a null topic list asks for every committed partition', async () => {
    const request = decodeRequest(await kafkajsRequestFrame('offsetFetch', 3, { groupId: 'g', topics: [] }));
    expect(request.body).toMatchObject({ topics: null });
  });

  it('v8: a batch of groups (KIP-709)', () => {
    const w = new Writer();
    OffsetFetch.encodeRequest(w, 8, { groups: [{ groupId: 'g', topics: null }], requireStable: true });
    // groups: compact array of 1 | group id "g" | topics: null | group tags | require stable | tags
    expect(w.toBuffer().toString('hex')).toBe('02' + '0267' + '00' + '00' + '01' + '00');
    expect(OffsetFetch.decodeRequest(new Reader(w.toBuffer()), 8)).toEqual({
      groupId: '',
      topics: [],
      groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics: null }],
      requireStable: true,
    });
  });

  it.each([1, 2, 3, 4])('encodes v%i responses kafkajs reads', async (version) => {
    const body = {
      throttleTimeMs: 3,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, committedOffset: 2 ** 40, metadata: '', errorCode: 0 },
            { partitionIndex: 1, committedOffset: -1, metadata: null, errorCode: 0 },
          ],
        },
      ],
      errorCode: 0,
    };
    const decoded = await decodeWithKafkajs('offsetFetch', OffsetFetch, version, body, { parse: true });
    expect(decoded.responses).toEqual([
      {
        topic: 'orders',
        partitions: [
          { partition: 0, offset: String(2 ** 40), metadata: '', errorCode: 0 },
          { partition: 1, offset: '-1', metadata: null, errorCode: 0 },
        ],
      },
    ]);
    if (version >= 2) expect(decoded.errorCode).toBe(0);
  });
});
