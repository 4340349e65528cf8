import { describe, expect, it } from 'vitest';
import { Metadata } from '../../../src/protocol/api/metadata.js';
import { decodeRequest } from '../../../src/protocol/api/registry.js';
import { Reader } from '../../../src/protocol/wire/reader.js';
import { Writer } from '../../../src/protocol/wire/writer.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

describe('Metadata requests from kafkajs', () => {
  it.each([0, 1, 2, 3, 4, 5, 6])('v%i: decodes the topic list', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('metadata', version, { topics: ['orders', 'payments'] }));
    expect(request.apiKey).toBe(3);
    expect(request.body).toMatchObject({ topics: [{ name: 'orders' }, { name: 'payments' }] });
  });

  it('v4+: carries allowAutoTopicCreation', async () => {
    const request = decodeRequest(await kafkajsRequestFrame('metadata', 6, { topics: ['a'], allowAutoTopicCreation: false }));
    expect(request.body).toMatchObject({ allowAutoTopicCreation: false });
    const older = decodeRequest(await kafkajsRequestFrame('metadata', 3, { topics: ['a'] }));
    expect(older.body).toMatchObject({ allowAutoTopicCreation: true });
  });

  it('"every topic" is null at every version: v0 sends [], v1+ sends null', async () => {
    expect(decodeRequest(await kafkajsRequestFrame('metadata', 0, { topics: [] })).body).toMatchObject({ topics: null });
    // kafkajs writes an empty nullable array as null (-1).
    expect(decodeRequest(await kafkajsRequestFrame('metadata', 1, { topics: [] })).body).toMatchObject({ topics: null });
  });

  it('from v1 an empty list means no topics at all (brokers only)', () => {
    const w = new Writer();
    Metadata.encodeRequest(w, 1, { topics: [] });
    expect(w.toBuffer().toString('hex')).toBe('00000000');
    expect(Metadata.decodeRequest(new Reader(w.toBuffer()), 1).topics).toEqual([]);
  });

  it('encodes null as [] at v0, the only way v0 says "every topic"', () => {
    const w = new Writer();
    Metadata.encodeRequest(w, 0, { topics: null });
    expect(w.toBuffer().toString('hex')).toBe('00000000');
    expect(Metadata.decodeRequest(new Reader(w.toBuffer()), 0).topics).toBeNull();
  });
});

describe('Metadata responses read by kafkajs', () => {
  const body = {
    throttleTimeMs: 4,
    brokers: [
      { nodeId: 0, host: 'localhost', port: 9092, rack: 'rack-a' },
      { nodeId: 1, host: 'other', port: 9093, rack: null },
    ],
    clusterId: 'sluice-cluster',
    controllerId: 0,
    topics: [
      {
        errorCode: 0,
        name: 'orders',
        isInternal: false,
        partitions: [
          { errorCode: 0, partitionIndex: 0, leaderId: 0, leaderEpoch: 3, replicaNodes: [0, 1], isrNodes: [0], offlineReplicas: [1] },
          { errorCode: 0, partitionIndex: 1, leaderId: 1, replicaNodes: [1], isrNodes: [1] },
        ],
      },
      { errorCode: 0, name: '__consumer_offsets', isInternal: true, partitions: [] },
    ],
  };

  it.each([0, 1, 2, 3, 4, 5, 6])('v%i', async (version) => {
    const decoded = await decodeWithKafkajs('metadata', Metadata, version, body, { parse: true });
    const brokers = decoded.brokers as Record<string, unknown>[];
    expect(brokers.map((b) => [b.nodeId, b.host, b.port])).toEqual([
      [0, 'localhost', 9092],
      [1, 'other', 9093],
    ]);
    if (version >= 1) {
      expect(brokers.map((b) => b.rack)).toEqual(['rack-a', null]);
      expect(decoded.controllerId).toBe(0);
    }
    if (version >= 2) expect(decoded.clusterId).toBe('sluice-cluster');
    if (version >= 3) expect(version >= 6 ? decoded.clientSideThrottleTime : decoded.throttleTime).toBe(4);

    const topics = decoded.topicMetadata as Record<string, unknown>[];
    expect(topics.map((t) => t.topic)).toEqual(['orders', '__consumer_offsets']);
    if (version >= 1) expect(topics.map((t) => t.isInternal)).toEqual([false, true]);
    const partitions = topics[0].partitionMetadata as Record<string, unknown>[];
    expect(partitions.map((p) => [p.partitionErrorCode, p.partitionId, p.leader, p.replicas, p.isr])).toEqual([
      [0, 0, 0, [0, 1], [0]],
      [0, 1, 1, [1], [1]],
    ]);
    if (version >= 5) expect(partitions.map((p) => p.offlineReplicas)).toEqual([[1], []]);
  });

  it('kafkajs sees a topic error code', async () => {
    const unknown = { brokers: [], topics: [{ errorCode: 3, name: 'missing', partitions: [] }] };
    await expect(decodeWithKafkajs('metadata', Metadata, 4, unknown, { parse: true })).rejects.toMatchObject({
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
  });
});
