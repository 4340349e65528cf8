/**
 * kafka-ts, a client that uses incremental fetch sessions (KIP-227) as Kafka's Java consumer does:
 * after one full fetch it sends only partitions whose position moved, and reads partitions left
 * out of an answer as unchanged. It must consume everything through one session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogLevel, createKafkaClient, setLogLevel } from 'kafka-ts';
import { eventually, startServer, type TestServer } from './helpers.js';

const PARTITIONS = 3;

let t: TestServer;

beforeAll(async () => {
  setLogLevel(LogLevel.ERROR);
  t = await startServer();
  await t.broker.createTopic('sessions', { partitions: PARTITIONS });
});

afterAll(async () => {
  await t.close();
});

describe('kafka-ts', () => {
  it('consumes two rounds of records through one incremental fetch session', async () => {
    const kafka = createKafkaClient({ clientId: 'kafka-ts-test', bootstrapServers: [{ host: '127.0.0.1', port: t.port }] });
    const producer = kafka.createProducer({});
    const received: { partition: number; offset: bigint; value: string }[] = [];
    const round = (from: number) =>
      producer.send(
        Array.from({ length: 30 }, (_, i) => ({ topic: 'sessions', partition: (from + i) % PARTITIONS, key: null, value: `v${from + i}` })),
      );
    let consumer: Awaited<ReturnType<typeof kafka.startConsumer>> | undefined;
    try {
      await round(0);
      consumer = await kafka.startConsumer({
        groupId: 'kafka-ts-group',
        topics: ['sessions'],
        fromBeginning: true,
        maxWaitMs: 200,
        onBatch: (messages) => {
          for (const m of messages) received.push({ partition: m.partition, offset: m.offset, value: m.value!.toString() });
        },
      });
      await eventually(() => received.length === 30, { what: 'the first 30 records consumed' });
      // The consumer goes on polling with incremental fetches that find nothing new, then the second round.
      await round(30);
      await eventually(() => received.length === 60, { what: 'all 60 records consumed' });
      expect(new Set(received.map((r) => r.value)).size).toBe(60);
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const offsets = received.filter((r) => r.partition === partition).map((r) => Number(r.offset));
        expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => i));
      }
      // Every fetch after the first went on in the same session: a client falling back to full
      // fetches with epoch 0 would have left one session per fetch.
      expect(t.server.fetchSessionStats()).toEqual({ sessions: 1, partitions: PARTITIONS });
    } finally {
      await consumer?.close();
      await producer.close();
    }
  });
});
