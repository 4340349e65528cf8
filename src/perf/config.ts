/**
 * The settings of one perf run (`sluice perf produce|consume|e2e`, each point of `sluice tune`,
 * the Sluice rows of the peer comparison), their defaults, and their validation: every setting
 * is checked here once, with an InvalidConfigError that names the flag and the fix, so the
 * runners can trust what they get.
 */
import { InvalidConfigError } from '../errors.js';
import type { Acks } from '../broker/broker-api.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_LINGER_MS } from '../client/producer.js';
import { BATCH_HEADER_BYTES } from '../protocol/batch-header.js';
import { COMPRESSION_TYPES, type CompressionType } from '../protocol/compression.js';
import { SEND_TIME_BYTES } from './send-time.js';

export type PerfMode = 'produce' | 'consume' | 'e2e';
export type PerfCompression = CompressionType;

export const PERF_MODES: readonly PerfMode[] = ['produce', 'consume', 'e2e'];
export const PERF_COMPRESSIONS: readonly PerfCompression[] = COMPRESSION_TYPES;

/** What a caller may set; everything has a default but the mode. */
export interface PerfOptions {
  mode: PerfMode;
  /** Existing data directory to use and keep; default a fresh temporary one, removed after the run. */
  dataDir?: string;
  topic?: string;
  records?: number;
  recordSizeBytes?: number;
  partitions?: number;
  /** Shard threads of the embedded broker. */
  shards?: number;
  batchSizeBytes?: number;
  lingerMs?: number;
  compression?: PerfCompression;
  acks?: Acks;
  /** Kafka's enable.idempotence: producer id and sequence numbers. Needs acks all. */
  idempotent?: boolean;
  /** Sends inside transactions committed every transactionDurationMs (implies idempotence). */
  transactional?: boolean;
  transactionDurationMs?: number;
  /** Lines of this file are the record values, cycled; otherwise random values. */
  payloadFile?: string;
  /** 0 (random bytes) to 1 (one repeated byte): the share of each value drawn from a small alphabet. */
  compressibility?: number;
  /** Target records per second; -1 sends as fast as the producer takes them. */
  throughput?: number;
  /** Records per send() call at full speed; under a target rate, the records due at once (at most this many). */
  sendRecords?: number;
  /** send() calls awaiting their acknowledgement at once. */
  sendsInFlight?: number;
  /**
   * produce: run the producers on this many worker threads attached to the broker (Sluice.attach),
   * each sending its share of the records with its own sendsInFlight; default: one producer on
   * the thread that opened the broker.
   */
  producerThreads?: number;
  /** host:port of a Kafka-protocol server; the workload then runs through kafkajs. */
  bootstrapServer?: string;
}

/** Every setting resolved; echoed as the `config` of the result. */
export interface PerfConfig {
  readonly mode: PerfMode;
  readonly dataDir: string | null;
  readonly topic: string;
  readonly records: number;
  readonly recordSizeBytes: number;
  readonly partitions: number;
  readonly shards: number | null;
  /** null over --bootstrap-server: kafkajs has no accumulator, each send() is one request. */
  readonly batchSizeBytes: number | null;
  readonly lingerMs: number | null;
  readonly compression: PerfCompression;
  readonly acks: Acks;
  readonly idempotent: boolean;
  readonly transactional: boolean;
  /** null unless transactional. */
  readonly transactionDurationMs: number | null;
  readonly payloadFile: string | null;
  readonly compressibility: number;
  readonly throughput: number;
  readonly sendRecords: number;
  readonly sendsInFlight: number;
  /** null: the producer runs on the thread that opened the broker. */
  readonly producerThreads: number | null;
  readonly bootstrapServer: string | null;
  /** 'sluice' (the embedded clients) or 'kafkajs' (over the Kafka protocol). */
  readonly client: 'sluice' | 'kafkajs';
}

export const DEFAULT_PERF_TOPIC = 'sluice-perf';
export const DEFAULT_PERF_RECORDS = 1_000_000;
export const DEFAULT_RECORD_SIZE_BYTES = 100;
export const DEFAULT_COMPRESSIBILITY = 0.5;
export const DEFAULT_SEND_RECORDS = 1_000;
export const DEFAULT_SENDS_IN_FLIGHT = 8;
/** Kafka's producer perf tool commits its transactions every 3 s by default. */
export const DEFAULT_TRANSACTION_DURATION_MS = 3_000;
/** e2e carries the send time in the first 8 bytes of each value. */
export const E2E_TIMESTAMP_BYTES = SEND_TIME_BYTES;
/** Bounds that keep a mistyped flag from exhausting memory. */
export const MAX_RECORD_SIZE_BYTES = 1_000_000;
export const MAX_PERF_RECORDS = 1_000_000_000;
export const MAX_SEND_RECORDS = 100_000;
export const MAX_PRODUCER_THREADS = 64;

const OPTION_NAMES = new Set<string>([
  'mode', 'dataDir', 'topic', 'records', 'recordSizeBytes', 'partitions', 'shards', 'batchSizeBytes', 'lingerMs',
  'compression', 'acks', 'idempotent', 'transactional', 'transactionDurationMs', 'payloadFile', 'compressibility', 'throughput', 'sendRecords',
  'sendsInFlight', 'producerThreads', 'bootstrapServer',
]);

export function resolvePerfConfig(options: PerfOptions): PerfConfig {
  if (options === null || typeof options !== 'object') throw new InvalidConfigError('perf options must be an object with at least { mode }');
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) throw new InvalidConfigError(`unknown perf option "${name}"; known: ${[...OPTION_NAMES].join(', ')}`);
  }
  if (!PERF_MODES.includes(options.mode)) {
    throw new InvalidConfigError(`perf mode must be one of ${PERF_MODES.join(', ')} (got ${JSON.stringify(options.mode)})`);
  }
  for (const flag of ['idempotent', 'transactional'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw new InvalidConfigError(`--${flag} is a switch (got ${String(options[flag])})`);
  }
  const transactional = options.transactional === true;
  const idempotent = options.idempotent === true || transactional;
  if (options.transactionDurationMs !== undefined && !transactional) {
    throw new InvalidConfigError('--transaction-duration-ms applies to --transactional runs only');
  }
  const bootstrapServer = options.bootstrapServer ?? null;
  if (bootstrapServer !== null) {
    if (typeof bootstrapServer !== 'string' || !/^[^\s:]+:\d{1,5}$/.test(bootstrapServer)) {
      throw new InvalidConfigError(`--bootstrap-server must be host:port (got ${JSON.stringify(bootstrapServer)})`);
    }
    if (options.dataDir !== undefined) {
      throw new InvalidConfigError('--data-dir and --bootstrap-server exclude each other: over the Kafka protocol the server owns its data directory');
    }
    if (options.shards !== undefined) {
      throw new InvalidConfigError('--shards applies to the embedded broker only; set the shard count on the server you connect to');
    }
    if (options.batchSizeBytes !== undefined || options.lingerMs !== undefined) {
      throw new InvalidConfigError(
        '--batch-size and --linger-ms do not apply over --bootstrap-server: kafkajs has no accumulator, each send() call is one produce request; size requests with --send-records',
      );
    }
  }
  const mode = options.mode;
  const producerThreads =
    options.producerThreads === undefined ? null : integer(options.producerThreads, 1, '--producer-threads', 1, MAX_PRODUCER_THREADS);
  if (producerThreads !== null) {
    if (mode !== 'produce') throw new InvalidConfigError(`--producer-threads applies to perf produce only (got perf ${mode})`);
    if (bootstrapServer !== null) {
      throw new InvalidConfigError('--producer-threads runs producers on threads attached to the embedded broker; over --bootstrap-server run several perf processes');
    }
    if (transactional) {
      throw new InvalidConfigError('--producer-threads and --transactional exclude each other: transactional producers run on the thread that opened the broker');
    }
  }
  const recordSizeBytes = integer(options.recordSizeBytes, DEFAULT_RECORD_SIZE_BYTES, '--record-size', mode === 'e2e' ? E2E_TIMESTAMP_BYTES : 0, MAX_RECORD_SIZE_BYTES);
  const compression = options.compression ?? 'none';
  if (!PERF_COMPRESSIONS.includes(compression)) {
    throw new InvalidConfigError(`--compression must be one of ${PERF_COMPRESSIONS.join(', ')} (got ${JSON.stringify(compression)})`);
  }
  const acks = options.acks ?? -1;
  if (acks !== 0 && acks !== 1 && acks !== -1) throw new InvalidConfigError(`--acks must be 0, 1 or all (got ${JSON.stringify(acks)})`);
  if (idempotent && acks !== -1) {
    throw new InvalidConfigError(`--${transactional ? 'transactional' : 'idempotent'} needs --acks all, as Kafka's idempotent producer (got --acks ${acks})`);
  }
  if (mode === 'e2e' && acks === 0 && bootstrapServer !== null) {
    // kafkajs with acks 0 never reads a response, so its sends would race the consumer unboundedly.
    throw new InvalidConfigError('e2e over --bootstrap-server needs --acks 1 or all (kafkajs does not bound in-flight requests with acks 0)');
  }
  const compressibility = options.compressibility ?? DEFAULT_COMPRESSIBILITY;
  if (typeof compressibility !== 'number' || !(compressibility >= 0 && compressibility <= 1)) {
    throw new InvalidConfigError(`--compressibility must be a number from 0 (random bytes) to 1 (one repeated byte) (got ${String(compressibility)})`);
  }
  const throughput = options.throughput ?? -1;
  if (typeof throughput !== 'number' || !(throughput === -1 || (Number.isFinite(throughput) && throughput > 0))) {
    throw new InvalidConfigError(`--throughput must be a target rate in records/s above 0, or -1 for as fast as possible (got ${String(throughput)})`);
  }
  const topic = options.topic ?? DEFAULT_PERF_TOPIC;
  if (typeof topic !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) {
    throw new InvalidConfigError(`--topic must be 1-249 characters of [a-zA-Z0-9._-] (got ${JSON.stringify(topic)})`);
  }
  if (options.payloadFile !== undefined && (typeof options.payloadFile !== 'string' || options.payloadFile.length === 0)) {
    throw new InvalidConfigError('--payload-file must be a path');
  }
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir.length === 0)) {
    throw new InvalidConfigError('--data-dir must be a path');
  }
  return Object.freeze({
    mode,
    dataDir: options.dataDir ?? null,
    topic,
    records: integer(options.records, DEFAULT_PERF_RECORDS, '--records', 1, MAX_PERF_RECORDS),
    recordSizeBytes,
    partitions: integer(options.partitions, 1, '--partitions', 1, 10_000),
    shards: options.shards === undefined ? null : integer(options.shards, 1, '--shards', 1, 256),
    batchSizeBytes: bootstrapServer !== null ? null : integer(options.batchSizeBytes, DEFAULT_BATCH_SIZE, '--batch-size', BATCH_HEADER_BYTES, 64 * 1024 * 1024),
    lingerMs: bootstrapServer !== null ? null : integer(options.lingerMs, DEFAULT_LINGER_MS, '--linger-ms', 0, 60_000),
    compression,
    acks,
    idempotent,
    transactional,
    transactionDurationMs: transactional
      ? integer(options.transactionDurationMs, DEFAULT_TRANSACTION_DURATION_MS, '--transaction-duration-ms', 1, 3_600_000)
      : null,
    payloadFile: options.payloadFile ?? null,
    compressibility,
    throughput,
    sendRecords: integer(options.sendRecords, DEFAULT_SEND_RECORDS, '--send-records', 1, MAX_SEND_RECORDS),
    sendsInFlight: integer(options.sendsInFlight, DEFAULT_SENDS_IN_FLIGHT, '--sends-in-flight', 1, 10_000),
    producerThreads,
    bootstrapServer,
    client: bootstrapServer === null ? 'sluice' : 'kafkajs',
  });
}

function integer(value: number | undefined, fallback: number, flag: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidConfigError(`${flag} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

/** Kafka's names for acks, as the CLI takes and prints them. */
export function acksName(acks: Acks): string {
  return acks === -1 ? 'all' : String(acks);
}
