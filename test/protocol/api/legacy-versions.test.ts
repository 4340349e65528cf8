/**
 * Produce v0-v2 and Fetch v0-v3 against kafkajs's own request encoders and response decoders:
 * the fields each version carries, and MessageSets carried through as the records bytes.
 */
import { describe, expect, it } from 'vitest';
import { Fetch } from '../../../src/protocol/api/fetch.js';
import { Produce } from '../../../src/protocol/api/produce.js';
import { decodeRequest } from '../../../src/protocol/api/registry.js';
import { downConvertFetched, fetchMagic, upConvertMessageSet } from '../../../src/protocol/legacy-message-set.js';
import { decodeRecordBatch, encodeRecordBatch } from '../../../src/protocol/record-batch.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

const T0 = 1_700_000_000_000;
const GZIP = 1;

describe('Produce v0-v2 requests from kafkajs', () => {
  it.each([0, 1, 2])('v%i: the MessageSet arrives as the records bytes and converts to its records', async (version) => {
    const frame = await kafkajsRequestFrame('produce', version, {
      acks: -1,
      timeout: 30000,
      compression: GZIP,
      topicData: [{ topic: 'orders', partitions: [{ partition: 2, messages: [{ key: 'k1', value: 'v1', timestamp: T0 }, { key: null, value: 'v2', timestamp: T0 + 1 }] }] }],
    });
    const request = decodeRequest(frame);
    if (request.apiKey !== Produce.apiKey) throw new Error('not a produce request');
    expect(request).toMatchObject({ apiVersion: version, body: { transactionalId: null, acks: -1, timeoutMs: 30000 } });
    const partition = request.body.topicData[0].partitionData[0];
    expect(partition.index).toBe(2);
    const batch = decodeRecordBatch(upConvertMessageSet(partition.records!));
    // kafkajs writes magic 0 uncompressed for v0-v1 (no timestamps: -1), magic 1 in a gzip wrapper for v2.
    expect(batch.compression).toBe(version === 2 ? 'gzip' : 'none');
    expect(batch.records.map((r) => [r.key?.toString() ?? null, r.value!.toString(), r.timestamp])).toEqual([
      ['k1', 'v1', version === 2 ? T0 : -1],
      [null, 'v2', version === 2 ? T0 + 1 : -1],
    ]);
  });
});

describe('Produce v0-v2 responses read by kafkajs', () => {
  it.each([0, 1, 2])('v%i', async (version) => {
    const decoded = await decodeWithKafkajs('produce', Produce, version, {
      responses: [{ name: 'orders', partitionResponses: [{ index: 2, errorCode: 0, baseOffset: 41, logAppendTimeMs: T0, logStartOffset: 0, recordErrors: [], errorMessage: null }] }],
      throttleTimeMs: 7,
    });
    const [topic] = decoded.topics as { topicName: string; partitions: Record<string, unknown>[] }[];
    expect(topic.topicName).toBe('orders');
    expect(topic.partitions[0]).toMatchObject({ partition: 2, errorCode: 0, offset: '41' });
    if (version >= 1) expect(decoded.throttleTime).toBe(7);
    if (version >= 2) expect(topic.partitions[0].timestamp).toBe(String(T0));
  });
});

describe('Fetch v0-v3 requests from kafkajs', () => {
  it.each([0, 1, 2, 3])('v%i', async (version) => {
    const frame = await kafkajsRequestFrame('fetch', version, {
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 4096,
      topics: [{ topic: 'orders', partitions: [{ partition: 1, fetchOffset: 7, maxBytes: 2048 }] }],
    });
    const request = decodeRequest(frame);
    if (request.apiKey !== Fetch.apiKey) throw new Error('not a fetch request');
    expect(request.body).toMatchObject({ replicaId: -1, maxWaitMs: 500, minBytes: 1, isolationLevel: 0, sessionId: 0 });
    // maxBytes arrives with v3; before it, Kafka's default (no response-wide limit).
    expect(request.body.maxBytes).toBe(version >= 3 ? 4096 : 0x7fffffff);
    expect(request.body.topics[0].partitions[0]).toMatchObject({ partition: 1, fetchOffset: 7, partitionMaxBytes: 2048 });
  });
});

describe('Fetch v0-v3 responses read by kafkajs', () => {
  it.each([0, 1, 2, 3])('v%i: kafkajs decodes the down-converted records at their offsets', async (version) => {
    const stored = encodeRecordBatch({
      baseOffset: 10,
      compression: 'gzip',
      records: [{ key: Buffer.from('a'), value: Buffer.from('first'), timestampMs: T0 }, { key: Buffer.from('b'), value: Buffer.from('second'), timestampMs: T0 + 1 }],
    });
    const records = downConvertFetched(stored, () => Buffer.alloc(0), fetchMagic(version)!, 10, 1 << 20).records;
    const decoded = await decodeWithKafkajs('fetch', Fetch, version, {
      throttleTimeMs: 3,
      errorCode: 0,
      sessionId: 0,
      responses: [{ topic: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 12, records }] }],
    });
    const [topic] = decoded.responses as { topicName: string; partitions: Record<string, unknown>[] }[];
    expect(topic.partitions[0]).toMatchObject({ partition: 0, errorCode: 0, highWatermark: '12' });
    const messages = topic.partitions[0].messages as { offset: string; magicByte: number; key: Buffer; value: Buffer; timestamp?: string }[];
    expect(messages.map((m) => [m.offset, m.magicByte, m.key.toString(), m.value.toString()])).toEqual([
      ['10', version <= 1 ? 0 : 1, 'a', 'first'],
      ['11', version <= 1 ? 0 : 1, 'b', 'second'],
    ]);
    if (version >= 2) expect(messages.map((m) => m.timestamp)).toEqual([String(T0), String(T0 + 1)]);
    if (version >= 1) expect(decoded.throttleTime).toBe(3);
  });
});
