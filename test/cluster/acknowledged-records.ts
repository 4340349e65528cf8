/**
 * Producers that keep count of what a cluster acknowledged, and the check that every
 * acknowledged record is in the log exactly once at the offset its acknowledgement gave: the
 * support of the failover proof and the kill loop.
 *
 *  - KafkajsProducerLoop: kafkajs with acks=all (idempotent), keyed records in sends of
 *    `recordsPerSend`, each send's offsets taken from its answer.
 *  - KcatProducer: kcat (librdkafka) with acks=all and idempotence, fed keyed lines through its
 *    stdin as the test allows; `-vvv` prints a delivery report per record, with partition and offset.
 *  - readPartition / auditRecords: the partition read back from its leader, and the counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { recordsOf } from '../broker/broker-test-helpers.js';
import { TestClient } from '../server/helpers.js';

/** An acknowledged record: where its acknowledgement said it is. */
export interface Placement {
  readonly partition: number;
  readonly offset: number;
}

/**
 * kcat ends itself when all its broker connections are down at once ("All broker connections are
 * down: terminating"); librdkafka connects only to the brokers it needs, so killing the one it
 * talks to would end it. Connected to every broker, it rides out a kill as a client should.
 */
export const KCAT_CONNECT_ALL = ['-X', 'enable.sparse.connections=false'];

/** Keys cycle over this many values: every partition gets records, each key always the same partition. */
const KEYS = 97;

/** kafkajs producing `${prefix}-<n>` values with acks=all until stopped; a send that fails is counted, its records not acknowledged. */
export class KafkajsProducerLoop {
  readonly acknowledged = new Map<string, Placement>();
  failedSends = 0;
  /** The last failed send's error, for a failure message. */
  lastError = '';
  private running = true;
  private readonly producer: Producer;
  private readonly done: Promise<void>;

  constructor(
    bootstrap: string[],
    private readonly topic: string,
    private readonly partitions: number,
    private readonly prefix: string,
    private readonly recordsPerSend: number,
    private readonly limit: number,
    /** Called with the count of acknowledged records after each acknowledged send. */
    private readonly onProgress: (acknowledged: number) => void = () => undefined,
  ) {
    const kafka = new Kafka({ clientId: `${prefix}-producer`, brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1000 } });
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.done = this.run();
  }

  private async run(): Promise<void> {
    await this.producer.connect();
    try {
      for (let sent = 0; this.running && sent < this.limit; sent += this.recordsPerSend) {
        const count = Math.min(this.recordsPerSend, this.limit - sent);
        // One partition per send: kafkajs 2.2.4 answers a send whose partitions were led by two brokers
        // without resending the part whose leader moved to the other one meanwhile (sendMessages keeps
        // that broker's earlier response), so a multi-leader send can "succeed" without some records.
        const partition = (sent / this.recordsPerSend) % this.partitions;
        const messages = Array.from({ length: count }, (_, i) => {
          const key = ((sent + i) % KEYS) * this.partitions + partition;
          return { key: `key-${key}`, value: `${this.prefix}-${sent + i}`, partition };
        });
        try {
          const answers = await this.producer.send({ topic: this.topic, acks: -1, messages });
          const answer = answers.find((entry) => entry.partition === partition);
          if (answer === undefined) throw new Error(`kafkajs answered a send to partition ${partition} without it`);
          for (const [i, message] of messages.entries()) this.acknowledged.set(message.value, { partition, offset: Number(answer.baseOffset) + i });
          this.onProgress(this.acknowledged.size);
        } catch (error) {
          this.failedSends++;
          this.lastError = (error as Error).message;
        }
      }
    } finally {
      await this.producer.disconnect();
    }
  }

  /** Resolves once every record is sent (or the loop was stopped) and the producer disconnected. */
  finished(): Promise<void> {
    return this.done;
  }

  stop(): Promise<void> {
    this.running = false;
    return this.done;
  }
}

/**
 * kcat producing `${prefix}-<n>` values with acks=all, as many as allow() lets it. kcat serves
 * its delivery reports only between reading records from stdin, so it is paced by the caller
 * (by another producer's progress), not by its own reports, which would never come while it waits.
 */
export class KcatProducer {
  /** Delivered records, in the order of kcat's reports (per partition, the order they were sent). */
  readonly delivered: Placement[] = [];
  failedDeliveries = 0;
  /** kcat's last line that was not a delivery report, for a failure message. */
  lastLine = '';
  /** Times kcat ended itself and was started again (see KCAT_CONNECT_ALL). */
  restarts = 0;
  private written = 0;
  private stopped = false;
  private child!: ChildProcess;
  private exited!: Promise<number | null>;

  constructor(
    private readonly bootstrap: string[],
    private readonly topic: string,
    readonly prefix: string,
    private readonly limit: number,
  ) {
    this.start();
  }

  /**
   * Starts kcat. Should it end itself while records are still to come, it is started again: the
   * records it was sent and did not report are not acknowledged, and the new one takes the next.
   */
  private start(): void {
    const child = spawn(
      'kcat',
      ['-P', '-b', this.bootstrap.join(','), '-t', this.topic, '-K', ':', '-X', 'acks=all', '-X', 'enable.idempotence=true', '-X', 'message.timeout.ms=300000', ...KCAT_CONNECT_ALL, '-vvv'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    this.child = child;
    child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        resolve(code);
        if (this.stopped) return;
        this.restarts++;
        this.start();
      }),
    );
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const match = /^% Message delivered to partition (\d+) \(offset (\d+)\)/.exec(line);
      if (match !== null) {
        this.delivered.push({ partition: Number(match[1]), offset: Number(match[2]) });
      } else {
        if (line.includes('Delivery failed')) this.failedDeliveries++;
        this.lastLine = line;
      }
    });
  }

  /** Hands kcat records until it has had `total` (at most its limit); the last closes its input. */
  allow(total: number): void {
    if (this.stopped) return;
    let lines = '';
    for (; this.written < Math.min(total, this.limit); this.written++) lines += `key-${this.written % KEYS}:${this.prefix}-${this.written}\n`;
    if (lines !== '') this.child.stdin!.write(lines);
    if (this.written === this.limit) this.end();
  }

  /** Records handed to kcat, delivered or not. */
  get sent(): number {
    return this.written;
  }

  private end(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.child.stdin!.end();
  }

  /** Hands kcat no more records; resolves with its exit code once it delivered (or gave up on) the rest. */
  stop(): Promise<number | null> {
    this.end();
    return this.exited;
  }

  /** Kills kcat at once (a failed test). */
  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** Every record of `topic`-`partition` as [offset, value], fetched from broker `port` from offset 0 to its high watermark. */
export async function readPartition(port: number, topic: string, partition: number): Promise<[number, string][]> {
  const client = await TestClient.connect(port);
  try {
    const records: [number, string][] = [];
    for (;;) {
      const fetchOffset = records.length === 0 ? 0 : records.at(-1)![0] + 1;
      const [answer] = (
        await client.send(Fetch, 11, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 8 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1, partitionMaxBytes: 8 << 20 }] }],
          forgottenTopicsData: [],
          rackId: '',
        })
      ).responses[0].partitions;
      if (answer.errorCode !== ErrorCode.NONE) throw new Error(`fetching ${topic}-${partition} at ${fetchOffset}: error code ${answer.errorCode}`);
      const fetched = recordsOf(answer.records ?? Buffer.alloc(0));
      if (fetched.length === 0) return records;
      // One at a time: a spread of a whole 8 MiB fetch's records overflows the call stack.
      for (const record of fetched) records.push(record);
    }
  } finally {
    client.close();
  }
}

/** The bytes of every segment of `topic`-`partition` on broker `id`, concatenated in offset order. */
export function segmentBytes(cluster: LocalCluster, id: number, topic: string, partition: number): Buffer {
  const partitionDir = join(cluster.brokers.get(id)!.dataDir, `${topic}-${partition}`);
  const names = readdirSync(partitionDir)
    .filter((name) => name.endsWith('.log'))
    .sort();
  return Buffer.concat(names.map((name) => readFileSync(join(partitionDir, name))));
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What the log holds of what producers were acknowledged. */
export interface Audit {
  acknowledged: number;
  /** Acknowledged, but not in the log. */
  lost: number;
  /** Acknowledged, in the log, but at another offset than the acknowledgement's. */
  misplaced: number;
  /** Values (acknowledged or not) found more than once. */
  duplicated: number;
  /** Records in the log that no acknowledgement names (sends that failed, records written with acks=1). */
  unacknowledgedInLog: number;
  /** The first few lost or misplaced records, for a failure message. */
  examples: string[];
}

/**
 * Checks `log` (each partition's records by offset) against the kafkajs acknowledgements and
 * kcat's delivery reports. kcat's reports name offsets, not values: each reported offset must
 * hold one of kcat's records, and since an idempotent producer's reports for a partition come in
 * the order it sent the records there, the records at the reported offsets, in report order,
 * are kcat's in increasing send order (a record at another record's offset breaks it).
 */
export function auditRecords(log: ReadonlyMap<number, [number, string][]>, kafkajs: readonly KafkajsProducerLoop[], kcats: readonly KcatProducer[]): Audit {
  const found = new Map<string, Placement[]>();
  for (const [partition, records] of log) {
    for (const [offset, value] of records) {
      const places = found.get(value);
      if (places === undefined) found.set(value, [{ partition, offset }]);
      else places.push({ partition, offset });
    }
  }
  const audit: Audit = { acknowledged: 0, lost: 0, misplaced: 0, duplicated: 0, unacknowledgedInLog: 0, examples: [] };
  const example = (text: string): void => void (audit.examples.length < 8 && audit.examples.push(text));
  for (const places of found.values()) if (places.length > 1) audit.duplicated++;
  const claimed = new Set<string>();
  for (const producer of kafkajs) {
    for (const [value, placement] of producer.acknowledged) {
      audit.acknowledged++;
      claimed.add(value);
      const places = found.get(value);
      if (places === undefined) {
        audit.lost++;
        example(`${value} lost (acknowledged at ${placement.partition}/${placement.offset})`);
      } else if (!places.some((place) => place.partition === placement.partition && place.offset === placement.offset)) {
        audit.misplaced++;
        example(`${value} acknowledged at ${placement.partition}/${placement.offset}, found at ${places.map((place) => `${place.partition}/${place.offset}`).join(', ')}`);
      }
    }
  }
  for (const producer of kcats) {
    const prefix = `${producer.prefix}-`;
    for (const [partition, records] of log) {
      const at = new Map(records.map(([offset, value]) => [offset, value]));
      let previous = -1;
      for (const placement of producer.delivered) {
        if (placement.partition !== partition) continue;
        audit.acknowledged++;
        const value = at.get(placement.offset);
        if (value === undefined || !value.startsWith(prefix)) {
          audit.lost++;
          example(`kcat's delivery at ${partition}/${placement.offset} lost (found ${value ?? 'nothing'})`);
          continue;
        }
        claimed.add(value);
        // Reported in the order kcat sent them to this partition: each holds a later record than the one before.
        const sequence = Number(value.slice(prefix.length));
        if (sequence <= previous) {
          audit.misplaced++;
          example(`${value} at ${partition}/${placement.offset} reported after ${prefix}${previous}`);
        }
        previous = sequence;
      }
    }
  }
  for (const value of found.keys()) if (!claimed.has(value)) audit.unacknowledgedInLog++;
  return audit;
}
