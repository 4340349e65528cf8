/**
 * The same topology against a Kafka protocol server (`sluice serve`'s KafkaServer, through kafkajs)
 * and embedded gives the same output: word count with exactly_once_v2.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { APPLICATION_ID, INPUT_TOPIC, OUTPUT_TOPIC, countUntilDone } from '../../examples/word-count.js';
import { KafkaServer } from '../../src/server/server.js';
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
    await countUntilDone(embedded.sluice, embedded.stateDir, 'exactly_once_v2', WORDS, () => undefined);

    // Over the wire in two runs: the second, with an empty state directory, restores the counts
    // from the changelog through kafkajs (to its end past the last transaction marker) first.
    const served = await prepare();
    server = new KafkaServer(served.sluice.broker, { port: 0 });
    const { port } = await server.listen();
    await produce(served.sluice, INPUT_TOPIC, input.slice(0, input.length / 2));
    await countUntilDone(`127.0.0.1:${port}`, served.stateDir, 'exactly_once_v2', WORDS / 2, () => undefined);
    await produce(served.sluice, INPUT_TOPIC, input.slice(input.length / 2));
    await countUntilDone(`127.0.0.1:${port}`, `${served.stateDir}/second-run`, 'exactly_once_v2', WORDS, () => undefined);

    const expected = await outputOf(embedded.sluice);
    expect(expected.size).toBe(300);
    expect(await outputOf(served.sluice)).toEqual(expected);
    // Over the wire, the group and the internal topics are the same as embedded.
    const [committed] = await served.sluice.admin().fetchOffsets({ groupId: APPLICATION_ID, topics: [INPUT_TOPIC] });
    expect(committed.partitions.reduce((sum, { offset }) => sum + offset, 0)).toBe(lines.length);
    expect(served.sluice.broker.topicMetadata(`${APPLICATION_ID}-counts-store-changelog`).configs['cleanup.policy']).toBe('compact');
  });
});
