/**
 * Sluice Streams word count throughput (examples/word-count.ts): input lines of 10 words, 4
 * partitions, counted through the repartition topic into the counts store with its changelog,
 * every count update written to the output topic. Measured embedded (at_least_once with an
 * in-memory store, exactly_once_v2 with the default LMDB store) and over the Kafka protocol
 * (kafkajs against the same broker served on 127.0.0.1), beside the peer of the same run: a plain
 * consumer counting the same words into a Map (no repartition, state store, changelog or output).
 *
 *   npm run build && node dist/bench/streams.bench.js [--words 200000] [--dir /path] [--json]
 *
 * Each scenario uses a fresh data directory, removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { INPUT_TOPIC, OUTPUT_TOPIC, countUntilDone } from '../examples/word-count.js';
import { KafkaServer } from '../src/server/server.js';
import { Sluice } from '../src/sluice.js';
import type { ProcessingGuarantee } from '../src/streams/index.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs } from './support.js';

export interface StreamsBenchOptions {
  /** Words in the input. Default 200,000. */
  words?: number;
  /** Parent directory of the data directories. Default the OS temp dir. */
  dir?: string;
}

export interface StreamsScenarioRate {
  name: string;
  seconds: number;
  wordsPerSec: number;
  /** Input records (lines) per second. */
  recordsPerSec: number;
  /** wordsPerSec / the plain consumer's. */
  ratioToPlain: number;
}

const PARTITIONS = 4;
/** No record cache (statestoreCacheMaxBytes 0): every count update is written, the workload measured since the first run. */
const EVERY_UPDATE = 0;
const WORDS_PER_LINE = 10;
const VOCABULARY = 10_000;

interface Scenario {
  name: string;
  run(sluice: Sluice, stateDir: string, words: number): Promise<void>;
}

function streamsScenario(name: string, guarantee: ProcessingGuarantee, storeType: 'persistent' | 'in-memory', overTheWire: boolean): Scenario {
  return {
    name,
    async run(sluice, stateDir, words) {
      if (!overTheWire) return countUntilDone(sluice, stateDir, guarantee, words, () => undefined, () => undefined, storeType, 1, EVERY_UPDATE);
      const server = new KafkaServer(sluice.broker, { port: 0 });
      const { port } = await server.listen();
      try {
        await countUntilDone(`127.0.0.1:${port}`, stateDir, guarantee, words, () => undefined, () => undefined, storeType, 1, EVERY_UPDATE);
      } finally {
        await server.close();
      }
    },
  };
}

export const PLAIN_SCENARIO = 'plain consumer into a Map';

/** The peer: the same words counted by a plain consumer into a Map. */
const plainScenario: Scenario = {
  name: PLAIN_SCENARIO,
  async run(sluice, _stateDir, words) {
    const consumer = sluice.consumer();
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: INPUT_TOPIC, partition, offset: 0 })));
    const counts = new Map<string, number>();
    let counted = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              for (const word of message.value!.toString('utf8').toLowerCase().split(/\W+/)) {
                if (word === '') continue;
                counts.set(word, (counts.get(word) ?? 0) + 1);
                counted++;
              }
            }
            if (counted >= words) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
  },
};

export async function runStreamsBench(options: StreamsBenchOptions = {}): Promise<StreamsScenarioRate[]> {
  const words = options.words ?? 200_000;
  let seed = 7;
  const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32);
  const lines: string[] = [];
  for (let i = 0; i < words; i += WORDS_PER_LINE) {
    lines.push(Array.from({ length: Math.min(WORDS_PER_LINE, words - i) }, () => `w${Math.floor(random() * random() * VOCABULARY)}`).join(' '));
  }
  const scenarios = [
    plainScenario,
    streamsScenario('embedded, at_least_once, in-memory store', 'at_least_once', 'in-memory', false),
    streamsScenario('embedded, exactly_once_v2, LMDB store', 'exactly_once_v2', 'persistent', false),
    streamsScenario('Kafka protocol (kafkajs), exactly_once_v2, LMDB store', 'exactly_once_v2', 'persistent', true),
  ];
  const results: StreamsScenarioRate[] = [];
  for (const scenario of scenarios) {
    const dataDir = mkdtempSync(join(options.dir ?? os.tmpdir(), 'sluice-streams-bench-'));
    const sluice = await Sluice.open({ dataDir, groupInitialRebalanceDelayMs: 0 });
    try {
      await sluice.admin().createTopics({ topics: [{ topic: INPUT_TOPIC, numPartitions: PARTITIONS }, { topic: OUTPUT_TOPIC, numPartitions: PARTITIONS }] });
      const producer = sluice.producer({ batchSize: 256 * 1024 });
      for (let i = 0; i < lines.length; i += 1_000) await producer.send({ topic: INPUT_TOPIC, messages: lines.slice(i, i + 1_000).map((value) => ({ value })) });
      await producer.disconnect();
      const start = performance.now();
      await scenario.run(sluice, join(dataDir, 'state'), words);
      const seconds = (performance.now() - start) / 1000;
      results.push({
        name: scenario.name,
        seconds,
        wordsPerSec: words / seconds,
        recordsPerSec: lines.length / seconds,
        ratioToPlain: words / seconds / (results[0]?.wordsPerSec ?? words / seconds),
      });
    } finally {
      await sluice.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return results;
}

const USAGE = 'node dist/bench/streams.bench.js [--words N] [--dir DIR] [--json]';

if (isMainModule(import.meta.url)) {
  const flags = parseBenchArgs(process.argv.slice(2), { words: { type: 'positive-integer' }, dir: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  const environment = benchEnvironment();
  const results = await runStreamsBench({ words: flags.words, dir: flags.dir });
  if (flags.json) {
    console.log(JSON.stringify({ environment, results }, null, 2));
  } else {
    console.log(`environment: ${describeEnvironment(environment)}`);
    console.log(`word count, ${flags.words ?? 200_000} words in lines of ${WORDS_PER_LINE}, ${PARTITIONS} partitions, commit interval at Kafka's defaults`);
    for (const result of results) {
      console.log(
        `${result.name.padEnd(54)} ${Math.round(result.wordsPerSec).toLocaleString('en-US').padStart(10)} words/s ${Math.round(result.recordsPerSec).toLocaleString('en-US').padStart(9)} records/s   ${result.ratioToPlain.toFixed(3)} x plain   (${result.seconds.toFixed(2)} s)`,
      );
    }
  }
}
