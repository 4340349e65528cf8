import { describe, expect, it } from 'vitest';
import { readRecordCount, readAttributes, COMPRESSION_CODEC_MASK, TRANSACTIONAL_FLAG_MASK, validateBatchAt, readProducerId } from '../../../src/protocol/batch-header.js';
import { Produce } from '../../../src/protocol/api/produce.js';
import { decodeRequest } from '../../../src/protocol/api/registry.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

const GZIP = 1;

function produceArgs(compression = 0) {
  return {
    acks: -1,
    timeout: 30000,
    compression,
    topicData: [
      {
        topic: 'orders',
        partitions: [
          {
            partition: 0,
            messages: [
              { key: 'k1', value: 'v1', timestamp: 1700000000000, headers: { h: 'x' } },
              { key: null, value: 'v2', timestamp: 1700000000001 },
            ],
          },
          { partition: 3, messages: [{ key: 'k3', value: 'v3', timestamp: 1700000000002 }] },
        ],
      },
    ],
  };
}

describe('Produce requests from kafkajs', () => {
  it.each([3, 4, 5, 6, 7])('v%i: decodes header fields and hands each record batch over as a valid slice of the frame', async (version) => {
    const frame = await kafkajsRequestFrame('produce', version, produceArgs());
    const request = decodeRequest(frame);
    expect(request).toMatchObject({ apiKey: 0, apiVersion: version });
    if (request.apiKey !== 0) throw new Error('not a produce request');
    expect(request.body).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30000 });
    const [topic] = request.body.topicData;
    expect(topic.name).toBe('orders');
    expect(topic.partitionData.map((p) => p.index)).toEqual([0, 3]);
    const counts = topic.partitionData.map(({ records }) => {
      if (records === null) throw new Error('records missing');
      // Not a copy: the batch is the frame's own memory, ready to append as it is.
      expect(records.buffer).toBe(frame.buffer);
      expect(records.byteOffset).toBeGreaterThan(frame.byteOffset);
      expect(validateBatchAt(records, 0, records.length)).toBe(records.length);
      return readRecordCount(records, 0);
    });
    expect(counts).toEqual([2, 1]);
  });

  it('carries compressed and transactional batches untouched', async () => {
    const frame = await kafkajsRequestFrame('produce', 7, {
      ...produceArgs(GZIP),
      transactionalId: 'tx-1',
      producerId: 77,
      producerEpoch: 2,
    });
    const request = decodeRequest(frame);
    if (request.apiKey !== 0) throw new Error('not a produce request');
    expect(request.body.transactionalId).toBe('tx-1');
    const records = request.body.topicData[0].partitionData[0].records as Buffer;
    expect(validateBatchAt(records, 0, records.length)).toBe(records.length);
    expect(readAttributes(records, 0) & COMPRESSION_CODEC_MASK).toBe(GZIP);
    expect(readAttributes(records, 0) & TRANSACTIONAL_FLAG_MASK).not.toBe(0);
    expect(readProducerId(records, 0)).toBe(77);
  });
});

describe('Produce responses read by kafkajs', () => {
  const body = {
    responses: [
      {
        name: 'orders',
        partitionResponses: [
          { index: 0, errorCode: 0, baseOffset: 2 ** 40 + 7, logAppendTimeMs: -1, logStartOffset: 12 },
          { index: 3, errorCode: 0, baseOffset: 0, logAppendTimeMs: 1700000000123, logStartOffset: 0 },
        ],
      },
    ],
    throttleTimeMs: 9,
  };

  it.each([3, 4, 5, 6, 7])('v%i', async (version) => {
    const decoded = await decodeWithKafkajs('produce', Produce, version, body, { parse: true });
    const [topic] = decoded.topics as { topicName: string; partitions: Record<string, unknown>[] }[];
    expect(topic.topicName).toBe('orders');
    expect(topic.partitions.map((p) => [p.partition, p.errorCode, p.baseOffset, p.logAppendTime])).toEqual([
      [0, 0, String(2 ** 40 + 7), '-1'],
      [3, 0, '0', '1700000000123'],
    ]);
    if (version >= 5) expect(topic.partitions.map((p) => p.logStartOffset)).toEqual(['12', '0']);
    expect(version >= 6 ? decoded.clientSideThrottleTime : decoded.throttleTime).toBe(9);
  });

  it('kafkajs sees a partition error', async () => {
    const failed = { responses: [{ name: 'orders', partitionResponses: [{ index: 0, errorCode: 2, baseOffset: -1 }] }] };
    await expect(decodeWithKafkajs('produce', Produce, 7, failed, { parse: true })).rejects.toMatchObject({
      type: 'CORRUPT_MESSAGE',
    });
  });
});
