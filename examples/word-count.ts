/**
 * Word count, Kafka Streams' canonical example, on Sluice Streams: lines from
 * `streams-plaintext-input` are split into words, re-keyed by word (through a repartition topic),
 * counted in a state store backed by a changelog, and every new count is written to
 * `streams-wordcount-output` (key: the word, value: the count as Kafka's 8-byte long).
 *
 *   npm run build && node dist/examples/word-count.js
 *     writes some text into a new data directory, counts it with exactly_once_v2, prints the
 *     topology and the most frequent words, and checks every count against a direct count.
 *
 *   node dist/examples/word-count.js --data-dir DIR --words N [--state-dir DIR] [--guarantee at_least_once] [--threads N] [--cache-bytes N]
 *     counts the N words an existing data directory's input topic holds, printing
 *     `progress <words counted>` as it goes and `done` once all are counted, then exits.
 *     --cache-bytes 0 turns the record cache off: every count update reaches the output.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Sluice } from '../src/index.js';
import { KafkaStreams, Serdes, StreamsBuilder, type ProcessingGuarantee, type Topology } from '../src/streams/index.js';

export const INPUT_TOPIC = 'streams-plaintext-input';
export const OUTPUT_TOPIC = 'streams-wordcount-output';
export const APPLICATION_ID = 'streams-wordcount';

/** `storeType`: the counts store on disk (LMDB, the default, as Kafka's RocksDB) or in memory; both have a changelog. */
export function wordCountTopology(storeType: 'persistent' | 'in-memory' = 'persistent'): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(INPUT_TOPIC, { valueSerde: Serdes.String() })
    .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter((word) => word !== ''))
    .groupBy((_key, word) => word, { keySerde: Serdes.String() })
    .count({ storeName: 'counts-store', storeType })
    .toStream()
    .to(OUTPUT_TOPIC, { keySerde: Serdes.String(), valueSerde: Serdes.Long() });
  return builder.build();
}

/**
 * Runs the application on `target` until its counts store has counted `words` words (queried
 * interactively), then closes it, which commits the last counts. `onProgress` hears the words
 * counted so far as that number changes.
 */
export async function countUntilDone(
  /** An embedded Sluice, or a Kafka-protocol server's address ('host:port'). */
  target: Sluice | string,
  stateDir: string,
  processingGuarantee: ProcessingGuarantee,
  words: number,
  onProgress: (counted: number) => void,
  beforeClose: (streams: KafkaStreams) => void = () => undefined,
  storeType: 'persistent' | 'in-memory' = 'persistent',
  numStreamThreads = 1,
  /** The record cache (statestoreCacheMaxBytes; default Kafka's 10 MiB): 0 writes every count update to the output. */
  statestoreCacheMaxBytes?: number,
): Promise<void> {
  const where = typeof target === 'string' ? { bootstrapServers: target } : { sluice: target };
  const cache = statestoreCacheMaxBytes === undefined ? {} : { statestoreCacheMaxBytes };
  const streams = new KafkaStreams(wordCountTopology(storeType), { applicationId: APPLICATION_ID, ...where, stateDir, processingGuarantee, numStreamThreads, ...cache });
  let failure: Error | null = null;
  streams.setUncaughtExceptionHandler((error) => {
    failure = error;
  });
  await streams.start();
  try {
    let reported = -1;
    for (;;) {
      if (failure !== null) throw failure;
      const counted = streams.state === 'RUNNING' ? streams.store<string, number>('counts-store').all().reduce((sum, [, count]) => sum + count, 0) : 0;
      if (counted !== reported) onProgress((reported = counted));
      if (counted >= words) break;
      // Each look is a full scan of the store: often enough to stop soon after the end, rarely enough not to slow the counting.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    beforeClose(streams);
  } finally {
    await streams.close();
  }
}

const SAMPLE = 'the quick brown fox jumps over the lazy dog and the dog sleeps while the fox runs';

async function demo(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-word-count-'));
  const sluice = await Sluice.open({ dataDir });
  try {
    await sluice.admin().createTopics({ topics: [{ topic: INPUT_TOPIC, numPartitions: 2 }, { topic: OUTPUT_TOPIC, numPartitions: 2 }] });
    const lines = Array.from({ length: 1_000 }, (_, i) => SAMPLE.split(' ').slice(i % 7).join(' '));
    const producer = sluice.producer();
    await producer.send({ topic: INPUT_TOPIC, messages: lines.map((value) => ({ value })) });
    await producer.disconnect();
    console.log(wordCountTopology().describe().toString());
    let counted = new Map<string, number>();
    const words = lines.reduce((sum, line) => sum + line.split(' ').length, 0);
    await countUntilDone(sluice, join(dataDir, 'state'), 'exactly_once_v2', words, () => undefined, (streams) => {
      // An interactive query of the counts store, before the application closes.
      counted = new Map(streams.store<string, number>('counts-store').all());
    });

    const expected = new Map<string, number>();
    for (const line of lines) for (const word of line.split(' ')) expected.set(word, (expected.get(word) ?? 0) + 1);
    const top = [...counted].sort((a, b) => b[1] - a[1]).slice(0, 5);
    console.log(`top words: ${top.map(([word, count]) => `${word}=${count}`).join(' ')}`);
    const exact = expected.size === counted.size && [...expected].every(([word, count]) => counted.get(word) === count);
    console.log(exact ? `all ${expected.size} counts equal a direct count of the input` : 'COUNTS DIFFER from a direct count');
    if (!exact) process.exitCode = 1;
  } finally {
    await sluice.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      'state-dir': { type: 'string' },
      words: { type: 'string' },
      guarantee: { type: 'string', default: 'exactly_once_v2' },
      threads: { type: 'string', default: '1' },
      'cache-bytes': { type: 'string' },
    },
  });
  if (values['data-dir'] === undefined) return demo();
  const words = Number(values.words);
  if (!Number.isSafeInteger(words) || words < 1) throw new Error('--words N: the number of words the input holds, to stop once all are counted');
  const sluice = await Sluice.open({ dataDir: values['data-dir'], groupInitialRebalanceDelayMs: 0 });
  try {
    await countUntilDone(
      sluice,
      values['state-dir'] ?? join(values['data-dir'], 'streams-state'),
      values.guarantee as ProcessingGuarantee,
      words,
      (counted) => console.log(`progress ${counted}`),
      () => undefined,
      'persistent',
      Number(values.threads),
      values['cache-bytes'] === undefined ? undefined : Number(values['cache-bytes']),
    );
    console.log('done');
  } finally {
    await sluice.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
