/**
 * 200 connections at once: 100 produce to the partitions while 100 long-poll them until they have
 * read every record written there. Every record is stored once, offsets are dense, and each
 * producer's records appear in the order it sent them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { decodeRecordBatches } from '../../src/protocol/record-batch-reader.js';
import { TestClient, eventually, startServer, type TestServer } from './helpers.js';

const CONNECTIONS = 200;
const PRODUCERS = CONNECTIONS / 2;
const PARTITIONS = 4;
const BATCHES = 10;
const RECORDS_PER_BATCH = 10;
const PER_PARTITION = (PRODUCERS / PARTITIONS) * BATCHES * RECORDS_PER_BATCH;

let t: TestServer;

beforeAll(async () => {
  t = await startServer({ server: { connectionsMax: CONNECTIONS + 10 } });
  await t.broker.createTopic('load', { partitions: PARTITIONS });
});

afterAll(async () => {
  await t?.close();
});

async function produceAll(client: TestClient, id: number): Promise<void> {
  for (let b = 0; b < BATCHES; b++) {
    const records = Array.from({ length: RECORDS_PER_BATCH }, (_, r) => ({ value: Buffer.from(`${id}:${b * RECORDS_PER_BATCH + r}`) }));
    const response = await client.send(Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'load', partitionData: [{ index: id % PARTITIONS, records: encodeRecordBatch({ records }) }] }],
    });
    expect(response.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
  }
}

async function consumeAll(client: TestClient, partition: number): Promise<string[]> {
  const values: string[] = [];
  let offset = 0;
  while (values.length < PER_PARTITION) {
    const response = await client.send(Fetch, 11, {
      maxWaitMs: 5_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ topic: 'load', partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }],
    });
    const data = response.responses[0].partitions[0];
    expect(data.errorCode).toBe(ErrorCode.NONE);
    for (const batch of decodeRecordBatches(data.records!)) {
      for (const record of batch.records) {
        if (record.offset < offset) continue;
        expect(record.offset).toBe(offset);
        values.push(record.value!.toString());
        offset++;
      }
    }
  }
  return values;
}

describe('200 concurrent connections', () => {
  it('produce and consume at once, every record once, in order per producer', async () => {
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => TestClient.connect(t.port)));
    await eventually(() => t.server.connectionCount === CONNECTIONS);
    const producing = clients.slice(0, PRODUCERS).map((client, id) => produceAll(client, id));
    const consuming = clients.slice(PRODUCERS).map((client, i) => consumeAll(client, i % PARTITIONS));
    const [, results] = await Promise.all([Promise.all(producing), Promise.all(consuming)]);
    results.forEach((values, i) => {
      expect(values).toHaveLength(PER_PARTITION);
      expect(new Set(values).size).toBe(PER_PARTITION);
      const lastByProducer = new Map<string, number>();
      for (const value of values) {
        const [producer, sequence] = value.split(':');
        expect(Number(producer) % PARTITIONS).toBe(i % PARTITIONS);
        expect(Number(sequence)).toBe((lastByProducer.get(producer) ?? -1) + 1);
        lastByProducer.set(producer, Number(sequence));
      }
    });
    for (const client of clients) client.close();
  });
});
