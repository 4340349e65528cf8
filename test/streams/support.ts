/** What the streams tests share: an embedded Sluice in a temp dir, input writers and output readers. */
import { Sluice } from '../../src/sluice.js';
import type { KafkaStreams, KafkaStreamsState } from '../../src/streams/index.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

export interface Harness {
  sluice: Sluice;
  dataDir: string;
  stateDir: string;
  close(): Promise<void>;
}

export async function openHarness(area: string): Promise<Harness> {
  const dataDir = makeTempDir(`${area}-data`);
  const stateDir = makeTempDir(`${area}-state`);
  // One member per group here: no reason to wait for others to join.
  const sluice = await Sluice.open({ dataDir, groupInitialRebalanceDelayMs: 0 });
  return {
    sluice,
    dataDir,
    stateDir,
    async close() {
      await sluice.close();
      removeTempDir(dataDir);
      removeTempDir(stateDir);
    },
  };
}

export async function createTopic(sluice: Sluice, topic: string, numPartitions: number): Promise<void> {
  await sluice.admin().createTopics({ topics: [{ topic, numPartitions }] });
}

export interface InputRecord {
  key: string | null;
  value: string | null;
  timestamp?: number;
  partition?: number;
}

export async function produce(sluice: Sluice, topic: string, records: InputRecord[]): Promise<void> {
  const producer = sluice.producer();
  try {
    for (let i = 0; i < records.length; i += 1000) {
      await producer.send({
        topic,
        messages: records.slice(i, i + 1000).map(({ key, value, timestamp, partition }) => ({
          key,
          value,
          ...(timestamp === undefined ? {} : { timestamp }),
          ...(partition === undefined ? {} : { partition }),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface OutputRecord {
  key: Buffer | null;
  value: Buffer | null;
  partition: number;
  offset: number;
  timestamp: number;
}

/** Every committed record of the topic now, in partition then offset order. */
export async function readAll(sluice: Sluice, topic: string): Promise<OutputRecord[]> {
  const out: OutputRecord[] = [];
  const { broker } = sluice;
  const partitions = broker.topicMetadata(topic).partitionCount;
  const { decodeFetchedRecords } = await import('../../src/client/fetcher.js');
  for (let partition = 0; partition < partitions; partition++) {
    const end = broker.partitionOffsets(topic, partition).lastStableOffset;
    let offset = 0;
    while (offset < end) {
      const fetched = broker.fetch(topic, partition, offset, 4 * 1024 * 1024, 'read_committed');
      const messages: import('../../src/client/fetcher.js').ConsumedMessage[] = [];
      decodeFetchedRecords(topic, partition, fetched.records, offset, null, messages, fetched.abortedTransactions);
      for (const message of messages) {
        if (message.offset < end) out.push({ key: message.key, value: message.value, partition, offset: message.offset, timestamp: message.timestamp });
      }
      if (fetched.nextOffset === offset) break;
      offset = fetched.nextOffset;
    }
  }
  return out;
}

export function waitForState(streams: KafkaStreams, state: KafkaStreamsState, timeoutMs = 60_000): Promise<void> {
  return eventually(() => streams.state === state, { timeoutMs, what: `streams state ${state} (now ${streams.state})` });
}

/** The latest value per key of a table's output topic. */
export function latestByKey<V>(records: OutputRecord[], decode: (value: Buffer) => V): Map<string, V> {
  const latest = new Map<string, V>();
  for (const record of records) {
    const key = record.key?.toString('utf8') ?? '';
    if (record.value === null) latest.delete(key);
    else latest.set(key, decode(record.value));
  }
  return latest;
}
