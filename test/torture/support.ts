/**
 * The torture suite's shared parts: its two sizes (a short one inside `npm test`, a long one for
 * `npm run torture`, each figure overridable by environment), `sluice serve` as a child process
 * that can be SIGKILLed and restarted on the same port, and the read-back that checks a log
 * against what was acknowledged, through two independent readers: kcat (librdkafka) and kafkajs
 * (with lz4-kafkajs, not Sluice's own codec, for LZ4).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Kafka, CompressionCodecs, CompressionTypes, logLevel } from 'kafkajs';
import { CliProcess } from '../cli/run-cli.js';
import { within } from '../support/eventually.js';

const require = createRequire(import.meta.url);
const LZ4Codec = require('lz4-kafkajs') as new () => { codec: () => unknown };
(CompressionCodecs as Record<number, unknown>)[CompressionTypes.LZ4] = new LZ4Codec().codec;

/** `SLUICE_TORTURE=long` (what `npm run torture` sets) selects the long figures. */
export const LONG = process.env.SLUICE_TORTURE === 'long';

/**
 * A figure of a scenario: the short or the long default, or SLUICE_TORTURE_<NAME> when set (for
 * example SLUICE_TORTURE_SERVE_KILLS=200).
 */
export function figure(name: string, short: number, long: number): number {
  const text = process.env[`SLUICE_TORTURE_${name}`];
  if (text === undefined || text === '') return LONG ? long : short;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`SLUICE_TORTURE_${name}=${text}: expected a non-negative integer`);
  return value;
}

/** The seed of every scenario's choices (SLUICE_TORTURE_SEED), so a failure replays. */
export const SEED = figure('SEED', 0x7047_2026, 0x7047_2026);

/** A test's time budget: the long run's scenarios take minutes. */
export function budgetMs(shortMs: number): number {
  return LONG ? 60 * 60_000 : shortMs;
}

/**
 * `sluice serve` on a data directory, one shard, groups rebalancing at once. The first start
 * picks a free port; restarts reuse it, so clients reconnect to the same address.
 */
export async function startServe(dataDir: string, port = 0, extra: readonly string[] = []): Promise<{ server: CliProcess; port: number }> {
  const server = new CliProcess(['serve', '--data-dir', dataDir, '--port', String(port), '--shards', '1', '--group-initial-rebalance-delay-ms', '0', ...extra]);
  await within(
    server.waitForStdout((stdout) => stdout.includes('\n'), 'the listening line'),
    { timeoutMs: 60_000, what: 'sluice serve listening' },
  );
  const match = /^listening on 127\.0\.0\.1:(\d+)\n$/.exec(server.stdout);
  if (match === null) throw new Error(`unexpected first line from sluice serve: ${JSON.stringify(server.stdout)}; stderr: ${server.stderr}`);
  return { server, port: Number(match[1]) };
}

/** Stops a server child: SIGKILL (a crash) or SIGTERM (a clean stop, which must exit 0). */
export async function stopServe(server: CliProcess, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  server.child.kill(signal);
  const result = await within(server.exited, { timeoutMs: 60_000, what: `sluice serve stopping on ${signal}` });
  if (signal === 'SIGTERM' && result.code !== 0) throw new Error(`sluice serve exited ${result.code} on SIGTERM; stderr: ${result.stderr}`);
}

/** One acknowledged send: `values[i]` was acknowledged at offset `baseOffset + i` of the partition. */
export interface AckedSend {
  topic: string;
  partition: number;
  baseOffset: number;
  values: string[];
}

export interface TopicToCheck {
  name: string;
  partitions: number;
  /** Idempotent producers: a value in the log twice is a failure, not a reported duplicate. */
  exactlyOnce: boolean;
}

/** What the read-back found in one topic. */
export interface TopicReport {
  topic: string;
  exactlyOnce: boolean;
  /** Records in the log (read by kcat), and records acknowledged. */
  records: number;
  acknowledged: number;
  /** Acknowledged records absent from their offset (beyond the log end or another value there). */
  lost: number;
  /** Extra copies of a value: failures when exactlyOnce, allowed (reported) otherwise. */
  duplicated: number;
  /** Records whose value does not have the producers' shape, or readers that disagree on a record. */
  corrupted: number;
  /** Partitions that kcat or kafkajs could not read to the high watermark. */
  unreadable: number;
  problems: string[];
}

/** How long kcat may take to read one partition to its end. */
const KCAT_DEADLINE_MS = 20_000;

/** One record as a reader saw it. */
interface ReadRecord {
  offset: number;
  value: string;
}

/**
 * Every record of a partition through kcat, from the start to the end, as JSON lines (values may
 * hold any byte); throws with kcat's error when it cannot.
 */
async function readWithKcat(bootstrap: string, topic: string, partition: number): Promise<ReadRecord[]> {
  const args = ['-b', bootstrap, '-C', '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-J'];
  // Not test/server/helpers' kcat: on some poisoned batches librdkafka spins and ignores SIGTERM, so the deadline kills.
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = execFile('kcat', args, { timeout: KCAT_DEADLINE_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 30, encoding: 'utf8' }, (error, out, err) => {
      if (error) reject(new Error(`kcat ${error.killed ? `killed after ${KCAT_DEADLINE_MS} ms` : 'failed'}: ${err.trim() || error.message}`));
      else resolve({ stdout: out, stderr: err });
    });
    // kcat may exit before its empty stdin is closed: the exit status above decides, not an EPIPE.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end();
  });
  if (/ERROR/.test(stderr)) throw new Error(`kcat: ${stderr.trim()}`);
  const records: ReadRecord[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const message = JSON.parse(line) as { offset: number; payload: string | null };
    records.push({ offset: message.offset, value: message.payload ?? '' });
  }
  return records;
}

/**
 * Every record of every partition of the topics through one new kafkajs consumer group, up to
 * the high watermarks kafkajs's admin reports; partitions not read to their end within the
 * deadline, or a consumer crash, are returned as failures.
 */
async function readWithKafkajs(
  bootstrap: string,
  topics: readonly TopicToCheck[],
  deadlineMs: number,
): Promise<{ records: Map<string, ReadRecord[]>; failures: Map<string, string> }> {
  const kafka = new Kafka({ clientId: 'torture-reader', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  for (const topic of topics) {
    for (const { partition, high } of await admin.fetchTopicOffsets(topic.name)) ends.set(`${topic.name}/${partition}`, Number(high));
  }
  await admin.disconnect();
  const records = new Map<string, ReadRecord[]>([...ends.keys()].map((key) => [key, []]));
  const failures = new Map<string, string>();
  const next = new Map<string, number>([...ends.keys()].map((key) => [key, 0]));
  const done = (): boolean => [...ends].every(([key, end]) => next.get(key)! >= end || failures.has(key));
  if (done()) return { records, failures };

  // A fresh group per reader: readers started in the same millisecond must not join one group,
  // where topics would be assigned to members that did not subscribe to them and read nothing.
  const consumer = kafka.consumer({ groupId: `torture-reader-${randomUUID()}`, retry: { retries: 2 } });
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  consumer.on(consumer.events.CRASH, (event) => {
    const message = String((event.payload as { error?: Error }).error?.message ?? 'crash');
    for (const key of ends.keys()) if (next.get(key)! < ends.get(key)!) failures.set(key, `kafkajs consumer crashed: ${message}`);
    finish();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: topics.map((topic) => topic.name), fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const key = `${batch.topic}/${batch.partition}`;
      const list = records.get(key)!;
      for (const message of batch.messages) {
        list.push({ offset: Number(message.offset), value: message.value?.toString('utf8') ?? '' });
        next.set(key, Number(message.offset) + 1);
      }
      if (done()) finish();
    },
  });
  try {
    await within(finished, { timeoutMs: deadlineMs, what: 'kafkajs reading every partition to its high watermark' });
  } catch {
    for (const [key, end] of ends) if (next.get(key)! < end && !failures.has(key)) failures.set(key, `kafkajs read to offset ${next.get(key)} of ${end} within ${deadlineMs} ms`);
  }
  await consumer.disconnect();
  return { records, failures };
}

/**
 * Reads every partition back through kcat and kafkajs and checks it against what was
 * acknowledged: each acknowledged value at its offset, once in an exactly-once topic; every
 * record of the producers' shape (`isValue`); both readers agreeing record for record.
 */
export async function checkLog(
  bootstrap: string,
  topics: readonly TopicToCheck[],
  acked: readonly AckedSend[],
  isValue: (value: string) => boolean,
  deadlineMs = 120_000,
): Promise<TopicReport[]> {
  // One kafkajs group reads every topic; the topics it could not read to their end are read again one at a time,
  // each by a group of its own, so that a consumer crashing on one poisoned topic does not count the others.
  // (Many groups at once were tried first: on a loaded machine some read nothing by the deadline from topics
  // that kcat read whole.)
  const together = await readWithKafkajs(bootstrap, topics, deadlineMs);
  const reports: TopicReport[] = [];
  for (const topic of topics) {
    const failed = [...together.failures.keys()].some((key) => key.startsWith(`${topic.name}/`));
    const read = failed ? await readWithKafkajs(bootstrap, [topic], deadlineMs) : together;
    reports.push(await checkTopic(bootstrap, topic, read, acked, isValue));
  }
  return reports;
}

async function checkTopic(
  bootstrap: string,
  topic: TopicToCheck,
  viaKafkajs: { records: Map<string, ReadRecord[]>; failures: Map<string, string> },
  acked: readonly AckedSend[],
  isValue: (value: string) => boolean,
): Promise<TopicReport> {
  const report: TopicReport = {
    topic: topic.name,
    exactlyOnce: topic.exactlyOnce,
    records: 0,
    acknowledged: 0,
    lost: 0,
    duplicated: 0,
    corrupted: 0,
    unreadable: 0,
    problems: [],
  };
  const copies = new Map<string, number>();
  for (let partition = 0; partition < topic.partitions; partition++) {
    const key = `${topic.name}/${partition}`;
    let log: ReadRecord[];
    try {
      log = await readWithKcat(bootstrap, topic.name, partition);
    } catch (error) {
      report.unreadable++;
      report.problems.push(`${key}: unreadable by kcat: ${(error as Error).message}`);
      for (const send of acked) if (send.topic === topic.name && send.partition === partition) report.acknowledged += send.values.length;
      continue;
    }
    const failure = viaKafkajs.failures.get(key);
    if (failure !== undefined) {
      report.unreadable++;
      report.problems.push(`${key}: unreadable by kafkajs: ${failure}`);
    } else {
      const other = viaKafkajs.records.get(key)!;
      const differing = log.filter((record, i) => other[i]?.offset !== record.offset || other[i]?.value !== record.value).length;
      if (other.length !== log.length || differing > 0) {
        report.corrupted += Math.max(differing, 1);
        report.problems.push(`${key}: kcat read ${log.length} records, kafkajs ${other.length}, ${differing} differing`);
      }
    }
    report.records += log.length;
    const byOffset = new Map(log.map((record) => [record.offset, record.value]));
    for (const record of log) {
      if (!isValue(record.value)) {
        report.corrupted++;
        if (report.problems.length < 20) report.problems.push(`${key}@${record.offset}: value ${JSON.stringify(record.value.slice(0, 80))} of no producer`);
      }
      copies.set(record.value, (copies.get(record.value) ?? 0) + 1);
    }
    for (const send of acked) {
      if (send.topic !== topic.name || send.partition !== partition) continue;
      send.values.forEach((value, i) => {
        report.acknowledged++;
        const found = byOffset.get(send.baseOffset + i);
        if (found !== value) {
          report.lost++;
          if (report.problems.length < 20) report.problems.push(`${key}@${send.baseOffset + i}: acknowledged ${value}, found ${found ?? 'nothing'}`);
        }
      });
    }
  }
  for (const count of copies.values()) if (count > 1) report.duplicated += count - 1;
  return report;
}

/** One line per topic, for the test's output and RELIABILITY.md. */
export function describeReports(scenario: string, reports: readonly TopicReport[]): string {
  return reports
    .map(
      (r) =>
        `${scenario} ${r.topic} (${r.exactlyOnce ? 'each value once' : 'copies allowed'}): ${r.records} records in the log, ` +
        `${r.acknowledged} acknowledged, lost ${r.lost}, duplicated ${r.duplicated}, corrupted ${r.corrupted}, unreadable ${r.unreadable}` +
        (r.problems.length > 0 ? `\n  ${r.problems.join('\n  ')}` : ''),
    )
    .join('\n');
}
