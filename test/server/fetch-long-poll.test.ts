/**
 * The Fetch long poll over many partitions: each partition's wait listens on the request's abort
 * signal, so a fetch of more than 10 partitions must not trip Node's listener-leak warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { TestClient, eventually, startServer, type TestServer } from './helpers.js';

const PARTITIONS = 12;

let t: TestServer;

beforeAll(async () => {
  t = await startServer();
  await t.broker.createTopic('wide', { partitions: PARTITIONS });
});

afterAll(async () => {
  await t.close();
});

describe('Fetch long poll', () => {
  it('waits on 12 partitions without a MaxListenersExceededWarning, and wakes on a produce to the last one', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    const reader = await TestClient.connect(t.port);
    const writer = await TestClient.connect(t.port);
    try {
      const pending = reader.send(Fetch, 11, {
        maxWaitMs: 60_000,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [{ topic: 'wide', partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, fetchOffset: 0, partitionMaxBytes: 1 << 20 })) }],
      });
      // The fetch is parked on every partition before the produce that ends it: the broker's
      // partition waits are what add the listeners.
      await eventually(() => Array.from({ length: PARTITIONS }, (_, partition) => t.broker.parkedWaits('wide', partition)).every((waits) => waits === 1), {
        what: 'the fetch parked on every partition',
      });
      const records = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('wake'), timestampMs: 1_700_000_000_000 }] });
      const produced = await writer.send(Produce, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1000,
        topicData: [{ name: 'wide', partitionData: [{ index: PARTITIONS - 1, records }] }],
      });
      expect(produced.responses[0].partitionResponses[0].errorCode).toBe(0);
      const response = await pending;
      const partitions = response.responses[0].partitions;
      expect(partitions).toHaveLength(PARTITIONS);
      expect(partitions[PARTITIONS - 1].records!.length).toBe(records.length);
      // Warnings are emitted on the next tick after the listener that exceeds the limit.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      reader.close();
      writer.close();
    }
  });
});
