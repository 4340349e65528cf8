/**
 * The same topology against a Kafka protocol server (`sluice serve`'s KafkaServer, through kafkajs)
 * and embedded gives the same output: word count with exactly_once_v2.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { APPLICATION_ID, INPUT_TOPIC, OUTPUT_TOPIC, countUntilDone } from '../../examples/word-count.js';
import { KafkaServer } from '../../src/server/server.js';
import { KafkaJsConnection } from '../../src/streams/kafkajs-connection.js';
import type { Sluice } from '../../src/sluice.js';
import { Serdes } from '../../src/streams/index.js';
import { seededIntBelow } from '../support/prng.js';
import { createTopic, openHarness, produce, readAll, type Harness } from './support.js';

const WORDS = 3_000;

async function outputOf(sluice: Sluice): Promise<Map<string, { partition: number; counts: number[] }>> {
  const long = Serdes.Long();
  const byWord = new Map<string, { partition: number; counts: number[] }>();
  for (const record of await readAll(sluice, OUTPUT_TOPIC)) {
    const word = record.key!.toString('utf8');
    let entry = byWord.get(word);
    if (entry === undefined) byWord.set(word, (entry = { partition: record.partition, counts: [] }));
    expect(entry.partition).toBe(record.partition);
    entry.counts.push(long.deserialize(record.value!));
  }
  return byWord;
}

describe('Sluice Streams over the Kafka protocol', () => {
  const harnesses: Harness[] = [];
  let server: KafkaServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
    for (const harness of harnesses.splice(0)) await harness.close();
  });

  it('runs word count against a served broker with the same output as embedded', { timeout: 120_000 }, async () => {
    const below = seededIntBelow(21);
    const lines = Array.from({ length: WORDS / 6 }, () => Array.from({ length: 6 }, () => `w${below(300)}`).join(' '));
    const input = lines.map((value, i) => ({ key: `line${i}`, value }));
    const prepare = async (): Promise<Harness> => {
      const harness = await openHarness('streams-remote');
      harnesses.push(harness);
      await createTopic(harness.sluice, INPUT_TOPIC, 3);
      await createTopic(harness.sluice, OUTPUT_TOPIC, 3);
      return harness;
    };
    const embedded = await prepare();
    await produce(embedded.sluice, INPUT_TOPIC, input);
    await countUntilDone(embedded.sluice, embedded.stateDir, 'exactly_once_v2', WORDS, () => undefined, () => undefined, 'persistent', 1, 0);

    // Over the wire in two runs: the second, with an empty state directory and two stream threads
    // (two kafkajs consumers in the group, two transactional producers), restores the counts from
    // the changelog through kafkajs (to its end past the last transaction marker) first.
    const served = await prepare();
    server = new KafkaServer(served.sluice.broker, { port: 0 });
    const { port } = await server.listen();
    await produce(served.sluice, INPUT_TOPIC, input.slice(0, input.length / 2));
    await countUntilDone(`127.0.0.1:${port}`, served.stateDir, 'exactly_once_v2', WORDS / 2, () => undefined, () => undefined, 'persistent', 1, 0);
    await produce(served.sluice, INPUT_TOPIC, input.slice(input.length / 2));
    await countUntilDone(`127.0.0.1:${port}`, `${served.stateDir}/second-run`, 'exactly_once_v2', WORDS, () => undefined, () => undefined, 'persistent', 2, 0);

    const expected = await outputOf(embedded.sluice);
    expect(expected.size).toBe(300);
    expect(await outputOf(served.sluice)).toEqual(expected);
    // Over the wire, the group and the internal topics are the same as embedded.
    const [committed] = await served.sluice.admin().fetchOffsets({ groupId: APPLICATION_ID, topics: [INPUT_TOPIC] });
    expect(committed.partitions.reduce((sum, { offset }) => sum + offset, 0)).toBe(lines.length);
    expect(served.sluice.broker.topicMetadata(`${APPLICATION_ID}-counts-store-changelog`).configs['cleanup.policy']).toBe('compact');
  });

  it('sends a large batch through kafkajs in slices, every record committed once and in order', { timeout: 60_000 }, async () => {
    // kafkajs's sendBatch costs the square of its messages per partition; the connection sends
    // slices of 2,000: 9,001 messages over 2 topics are 5 Produce requests, not 1 that runs for seconds.
    const harness = await openHarness('streams-remote-slices');
    harnesses.push(harness);
    await createTopic(harness.sluice, 'slices-a', 2);
    await createTopic(harness.sluice, 'slices-b', 2);
    await createTopic(harness.sluice, 'slices-c', 1);
    const produced: string[] = [];
    server = new KafkaServer(harness.sluice.broker, { port: 0, requestObserver: { requestCompleted: (api) => void produced.push(api) } });
    const { port } = await server.listen();
    const connection = await KafkaJsConnection.open(`127.0.0.1:${port}`, 'slices');
    try {
      const producer = await connection.producer('slices-txn');
      const message = (i: number) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(String(i)), timestamp: 1_000 + i, partition: i % 2 });
      const transaction = await producer.transaction();
      produced.length = 0;
      await transaction.sendBatch([
        { topic: 'slices-a', messages: Array.from({ length: 6_000 }, (_, i) => message(i)) },
        { topic: 'slices-b', messages: Array.from({ length: 3_001 }, (_, i) => message(i)) },
      ]);
      await transaction.commit();
      expect(produced.filter((api) => api === 'Produce')).toHaveLength(5);
      // And within 512 KB of keys and values a call: three values of 300 KB are three requests.
      const large = await producer.transaction();
      produced.length = 0;
      await large.sendBatch([{ topic: 'slices-c', messages: [0, 1, 2].map((i) => ({ key: null, value: Buffer.alloc(300 * 1024, i), timestamp: 1_000, partition: 0 })) }]);
      await large.commit();
      expect(produced.filter((api) => api === 'Produce')).toHaveLength(3);
      expect((await readAll(harness.sluice, 'slices-c')).map((record) => record.value![0])).toEqual([0, 1, 2]);
      for (const [topic, count] of [['slices-a', 6_000], ['slices-b', 3_001]] as const) {
        const records = await readAll(harness.sluice, topic);
        expect(records).toHaveLength(count);
        for (const partition of [0, 1]) {
          const values = records.filter((record) => record.partition === partition).map((record) => Number(record.value!.toString()));
          expect(values).toEqual(Array.from({ length: count }, (_, i) => i).filter((i) => i % 2 === partition));
        }
      }
    } finally {
      await connection.close();
    }
  });
});
