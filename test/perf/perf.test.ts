/**
 * `sluice perf produce|consume|e2e`: the flags reach the broker (partitions, value sizes,
 * compression, acks, throughput, idempotence, transactions), the JSON has exactly its documented
 * shape, the table prints, and the same workloads run over the Kafka protocol.
 * Every run uses a real data directory under the OS temp dir.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerPerfCommand } from '../../src/cli/commands/perf.js';
import { Sluice } from '../../src/sluice.js';
import { KafkaServer } from '../../src/server/server.js';
import { InvalidConfigError } from '../../src/errors.js';
import {
  batchSizeAt,
  COMPRESSION_CODEC_MASK,
  isControlBatch,
  isTransactionalBatch,
  readAttributes,
  readBaseSequence,
  readProducerId,
  readRecordCount,
} from '../../src/protocol/batch-header.js';
import { resolvePerfConfig } from '../../src/perf/config.js';
import { LatencyRecorder } from '../../src/perf/latency.js';
import { filePayloads, randomPayloads } from '../../src/perf/payload.js';
import { runPerf } from '../../src/perf/run-perf.js';
import { runSendLoop } from '../../src/perf/send-loop.js';
import { formatCount, formatFigure } from '../../src/format.js';
import { formatTable } from '../../src/perf/table.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-perf-test-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** Runs `sluice perf ...args` through commander, as main.ts does, and returns stdout. */
async function perfCli(args: string[]): Promise<string> {
  const stdout = new Collect();
  const program = new Command('sluice').exitOverride();
  registerPerfCommand(program, { stdout, stderr: null });
  await program.parseAsync(['node', 'sluice', 'perf', ...args]);
  return stdout.text;
}

/** Every batch of every segment of the topic's partitions: [partition, attributes, record count]. */
interface StoredBatch {
  partition: number;
  attributes: number;
  records: number;
  producerId: number;
  baseSequence: number;
}

function storedBatches(dataDir: string, topic: string): StoredBatch[] {
  const out: StoredBatch[] = [];
  for (const entry of readdirSync(dataDir)) {
    const match = entry.match(new RegExp(`^${topic}-(\\d+)$`));
    if (match === null) continue;
    for (const file of readdirSync(path.join(dataDir, entry)).filter((name) => name.endsWith('.log'))) {
      const log = readFileSync(path.join(dataDir, entry, file));
      for (let pos = 0; pos + 12 <= log.length; ) {
        const size = batchSizeAt(log, pos);
        if (size <= 12 || pos + size > log.length) break;
        out.push({
          partition: Number(match[1]),
          attributes: readAttributes(log, pos),
          records: readRecordCount(log, pos),
          producerId: readProducerId(log, pos),
          baseSequence: readBaseSequence(log, pos),
        });
        pos += size;
      }
    }
  }
  return out;
}

async function consumeAll(dataDir: string, topic: string, partitions: number, expected: number): Promise<Buffer[]> {
  const sluice = await Sluice.open({ dataDir, shards: 1 });
  try {
    const consumer = sluice.consumer();
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
    const values: Buffer[] = [];
    for await (const message of consumer) {
      values.push(Buffer.from(message.value!));
      if (values.length === expected) break;
    }
    await consumer.disconnect();
    return values;
  } finally {
    await sluice.close();
  }
}

const RESULT_KEYS = ['recordsPerSec', 'mbPerSec', 'records', 'seconds', 'latencyMs', 'runtime', 'stagesMs', 'config', 'machine', 'threads'];
const LATENCY_KEYS = ['p50', 'p95', 'p99', 'p999', 'max'];

describe('sluice perf produce', () => {
  it('honours --partitions, --record-size, --compression lz4 and --acks, and prints the documented JSON', async () => {
    const dataDir = path.join(dir, 'data');
    const out = await perfCli([
      'produce', '--data-dir', dataDir, '--topic', 't', '--records', '3000', '--record-size', '37', '--partitions', '3',
      '--compression', 'lz4', '--acks', '1', '--batch-size', '4096', '--linger-ms', '1', '--shards', '2', '--json',
    ]);
    const result = JSON.parse(out);
    expect(Object.keys(result).sort()).toEqual([...RESULT_KEYS].sort());
    expect(Object.keys(result.latencyMs).sort()).toEqual([...LATENCY_KEYS].sort());
    expect(result.records).toBe(3000);
    expect(result.recordsPerSec).toBeGreaterThan(0);
    expect(result.mbPerSec).toBeCloseTo((3000 * 37) / result.seconds / 1e6, 6);
    expect(result.latencyMs.p50).toBeLessThanOrEqual(result.latencyMs.p99);
    expect(result.latencyMs.p99).toBeLessThanOrEqual(result.latencyMs.max);
    expect(result.config).toMatchObject({
      mode: 'produce', topic: 't', records: 3000, recordSizeBytes: 37, partitions: 3, shards: 2, batchSizeBytes: 4096,
      lingerMs: 1, compression: 'lz4', acks: 1, throughput: -1, client: 'sluice', dataDir,
    });
    expect(Object.keys(result.machine)).toEqual(['cpu', 'cores', 'memoryBytes', 'kernel', 'os', 'arch', 'node', 'nativeLimits']);
    expect(out.endsWith('}\n')).toBe(true);
    expect(out.split('\n').filter((line) => line.length > 0)).toHaveLength(1);

    const batches = storedBatches(dataDir, 't');
    expect(new Set(batches.map((batch) => batch.partition))).toEqual(new Set([0, 1, 2]));
    expect(batches.every((batch) => (batch.attributes & COMPRESSION_CODEC_MASK) === 3)).toBe(true);
    expect(batches.reduce((sum, batch) => sum + batch.records, 0)).toBe(3000);

    const values = await consumeAll(dataDir, 't', 3, 3000);
    expect(values).toHaveLength(3000);
    expect(values.every((value) => value.length === 37)).toBe(true);
  });

  it('--compression snappy and zstd store batches in that codec, which read back', async () => {
    for (const [codec, codecId] of [['snappy', 2], ['zstd', 4]] as const) {
      const dataDir = path.join(dir, `data-${codec}`);
      await perfCli(['produce', '--data-dir', dataDir, '--topic', 't', '--records', '2000', '--record-size', '40', '--compression', codec, '--acks', '1', '--json']);
      const batches = storedBatches(dataDir, 't');
      expect(batches.every((batch) => (batch.attributes & COMPRESSION_CODEC_MASK) === codecId), codec).toBe(true);
      expect(batches.reduce((sum, batch) => sum + batch.records, 0)).toBe(2000);
      const values = await consumeAll(dataDir, 't', 1, 2000);
      expect(values.every((value) => value.length === 40), codec).toBe(true);
    }
  });

  it('prints a table with the figures, the config and the machine, and removes its temporary data directory', async () => {
    const before = readdirSync(os.tmpdir()).filter((name) => name.startsWith('sluice-perf-') && !name.startsWith('sluice-perf-test-'));
    const out = await perfCli(['produce', '--records', '500', '--acks', '0', '--compression', 'gzip']);
    expect(out).toMatch(/^mode +records +seconds +records\/s +MB\/s +p50 ms/);
    expect(out).toMatch(/\nproduce +500 /);
    expect(out).toContain('gzip, acks 0');
    expect(out).toMatch(/\nmachine: .+ cores/);
    const after = readdirSync(os.tmpdir()).filter((name) => name.startsWith('sluice-perf-') && !name.startsWith('sluice-perf-test-'));
    expect(after.sort()).toEqual(before.sort());
  });

  it('sends at most --throughput records per second: the last record is not due before (n - 1) / rate', async () => {
    const result = await runPerf({ mode: 'produce', dataDir: path.join(dir, 'data'), records: 200, throughput: 1000, shards: 1 }, { progressStream: null });
    expect(result.config.throughput).toBe(1000);
    expect(result.records).toBe(200);
    expect(result.seconds).toBeGreaterThanOrEqual(199 / 1000);
  });

  it('runs an idempotent producer: every batch carries a producer id and sequence', async () => {
    const dataDir = path.join(dir, 'data');
    const result = JSON.parse(await perfCli(['produce', '--records', '1200', '--partitions', '2', '--send-records', '100', '--idempotent', '--data-dir', dataDir, '--json']));
    expect(result.config).toMatchObject({ idempotent: true, transactional: false, transactionDurationMs: null, acks: -1 });
    const batches = storedBatches(dataDir, 'sluice-perf');
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.every((batch) => batch.producerId >= 0 && batch.baseSequence >= 0 && !isTransactionalBatch(batch.attributes))).toBe(true);
    expect(batches.reduce((sum, batch) => sum + batch.records, 0)).toBe(1200);
  });

  it('sends inside transactions with --transactional and commits them all, the last one at the end', async () => {
    const dataDir = path.join(dir, 'data');
    const result = JSON.parse(
      await perfCli(['produce', '--records', '1000', '--send-records', '50', '--sends-in-flight', '1', '--transactional', '--transaction-duration-ms', '1', '--data-dir', dataDir, '--json']),
    );
    expect(result.config).toMatchObject({ idempotent: true, transactional: true, transactionDurationMs: 1 });
    const batches = storedBatches(dataDir, 'sluice-perf');
    const data = batches.filter((batch) => !isControlBatch(batch.attributes));
    const markers = batches.filter((batch) => isControlBatch(batch.attributes));
    expect(data.every((batch) => isTransactionalBatch(batch.attributes))).toBe(true);
    expect(data.reduce((sum, batch) => sum + batch.records, 0)).toBe(1000);
    expect(markers.length).toBeGreaterThanOrEqual(1);
    // Every record is committed: a read_committed reader sees them all.
    const sluice = await Sluice.open({ dataDir, shards: 1 });
    try {
      const offsets = sluice.broker.partitionOffsets('sluice-perf', 0);
      expect(offsets.lastStableOffset).toBe(offsets.highWatermark);
      expect(offsets.highWatermark).toBe(1000 + markers.length);
    } finally {
      await sluice.close();
    }
  });

  it('runs the producers on --producer-threads worker threads: every record stored once, by one producer per thread, each thread reported', async () => {
    const dataDir = path.join(dir, 'data');
    const result = JSON.parse(
      await perfCli(['produce', '--records', '4001', '--record-size', '37', '--partitions', '3', '--send-records', '100', '--idempotent', '--producer-threads', '2', '--data-dir', dataDir, '--json']),
    );
    expect(result.config).toMatchObject({ producerThreads: 2, records: 4001 });
    expect(result.records).toBe(4001);
    expect(result.threads).toHaveLength(2);
    expect(result.threads.map((thread: { records: number }) => thread.records)).toEqual([2001, 2000]);
    for (const thread of result.threads) {
      expect(thread.recordsPerSec).toBeCloseTo(thread.records / thread.seconds, 6);
      // The total spans every thread's run, so it is at least as long as each.
      expect(result.seconds).toBeGreaterThanOrEqual(thread.seconds);
    }
    expect(result.latencyMs.p50).toBeLessThanOrEqual(result.latencyMs.max);
    const batches = storedBatches(dataDir, 'sluice-perf');
    expect(batches.reduce((sum, batch) => sum + batch.records, 0)).toBe(4001);
    // Each thread's idempotent producer took its own producer id.
    expect(new Set(batches.map((batch) => batch.producerId)).size).toBe(2);
    const values = await consumeAll(dataDir, 'sluice-perf', 3, 4001);
    expect(values.every((value) => value.length === 37)).toBe(true);

    const table = await perfCli(['produce', '--records', '300', '--producer-threads', '3', '--send-records', '10']);
    expect(table).toMatch(/^thread 0 +100 /m);
    expect(table).toMatch(/^thread 2 +100 /m);
    expect(table).toMatch(/3 producer threads/);
  });

  it('refuses --producer-threads outside embedded produce runs, with transactions, and out of range', async () => {
    await expect(perfCli(['produce', '--records', '10', '--producer-threads', '0'])).rejects.toThrow(/--producer-threads must be an integer from 1 to 64/);
    await expect(perfCli(['produce', '--records', '10', '--producer-threads', '65'])).rejects.toThrow(/--producer-threads/);
    await expect(perfCli(['produce', '--records', '10', '--producer-threads', '2', '--transactional'])).rejects.toThrow(/--producer-threads and --transactional/);
    await expect(perfCli(['consume', '--records', '10', '--producer-threads', '2'])).rejects.toThrow(/unknown option '--producer-threads'/);
    expect(() => resolvePerfConfig({ mode: 'e2e', producerThreads: 2 })).toThrow(/perf produce only/);
    expect(() => resolvePerfConfig({ mode: 'produce', producerThreads: 2, bootstrapServer: 'localhost:9092' })).toThrow(/--bootstrap-server/);
  });

  it('refuses idempotence and transactions without acks all', async () => {
    await expect(perfCli(['produce', '--records', '10', '--idempotent', '--acks', '1'])).rejects.toThrow(/--idempotent needs --acks all/);
    await expect(perfCli(['produce', '--records', '10', '--transactional', '--acks', '0'])).rejects.toThrow(/--transactional needs --acks all/);
    await expect(perfCli(['produce', '--records', '10', '--transaction-duration-ms', '5'])).rejects.toThrow(/--transactional runs only/);
  });

  it('rejects bad flag values with the flag named', async () => {
    await expect(perfCli(['produce', '--records', 'ten'])).rejects.toThrow(/--records/);
    await expect(perfCli(['produce', '--compression', 'brotli'])).rejects.toThrow(/--compression/);
    await expect(perfCli(['produce', '--acks', '2'])).rejects.toThrow(/--acks/);
    expect(() => resolvePerfConfig({ mode: 'produce', compressibility: 1.5 })).toThrow(InvalidConfigError);
    expect(() => resolvePerfConfig({ mode: 'produce', throughput: 0 })).toThrow(/--throughput/);
    expect(() => resolvePerfConfig({ mode: 'e2e', recordSizeBytes: 4 })).toThrow(/--record-size/);
    expect(() => resolvePerfConfig({ mode: 'produce', bootstrapServer: 'localhost:9092', lingerMs: 5 })).toThrow(/--linger-ms/);
    expect(() => resolvePerfConfig({ mode: 'produce', bootstrapServer: 'localhost', })).toThrow(/host:port/);
  });

  it('sends the lines of --payload-file as values', async () => {
    const file = path.join(dir, 'lines.txt');
    writeFileSync(file, 'first line\r\nsecond\n\nthird one here\n');
    const dataDir = path.join(dir, 'data');
    const result = await runPerf({ mode: 'produce', dataDir, topic: 'lines', records: 6, payloadFile: file, shards: 1 }, { progressStream: null });
    expect(result.mbPerSec * result.seconds * 1e6).toBeCloseTo(2 * (10 + 6 + 14), 3);
    const values = (await consumeAll(dataDir, 'lines', 1, 6)).map((value) => value.toString());
    expect(values).toEqual(['first line', 'second', 'third one here', 'first line', 'second', 'third one here']);
  });

  it('states MB/s as a share of the page-cache limits read from a native-bench JSON file (--native FILE)', async () => {
    const limits = {
      tool: 'sluice-native-bench', version: 1, env: {}, config: {}, payloadFnv1a32: 1, durationMs: 1,
      results: Object.fromEntries(
        ['memcpyGBps', 'appendMBps', 'readMBps', 'fsyncP50Us', 'fsyncP99Us', 'fsyncMaxUs', 'lz4FrameCompressMBps', 'lz4FrameDecompressMBps',
          'lz4BlockCompressMBps', 'lz4BlockDecompressMBps', 'lz4CompressionRatio', 'spsc8ByteMsgsPerSec', 'spsc100ByteMsgsPerSec', 'spsc100ByteMBps']
          .map((key) => [key, key === 'appendMBps' ? 2000 : key === 'readMBps' ? 5000 : 1]),
      ),
    };
    const file = path.join(dir, 'limits.json');
    writeFileSync(file, JSON.stringify(limits));
    const out = await perfCli(['produce', '--records', '300', '--native', file, '--data-dir', path.join(dir, 'data')]);
    expect(out).toMatch(/native: .* % of this machine's page-cache append \(2000 MB\/s, native-bench\)/);
    const result = JSON.parse(await perfCli(['consume', '--records', '300', '--native', file, '--data-dir', path.join(dir, 'data'), '--json']));
    expect(result.machine.nativeLimits).toMatchObject({ limit: 'page-cache read', limitMBps: 5000, appendMBps: 2000, readMBps: 5000 });
    expect(result.machine.nativeLimits.percentOfLimit).toBeCloseTo((100 * result.mbPerSec) / 5000, 9);
  });
});

describe('sluice perf consume', () => {
  it('fills the topic, reads every record back, and reports no latency', async () => {
    const out = await perfCli(['consume', '--records', '2500', '--record-size', '64', '--partitions', '2', '--json', '--data-dir', path.join(dir, 'data')]);
    const result = JSON.parse(out);
    expect(Object.keys(result).sort()).toEqual([...RESULT_KEYS].sort());
    expect(result.latencyMs).toBeNull();
    expect(result.runtime).toBeNull();
    expect(result.records).toBe(2500);
    expect(result.config).toMatchObject({ mode: 'consume', partitions: 2, recordSizeBytes: 64 });
    expect(result.mbPerSec * result.seconds * 1e6).toBeCloseTo(2500 * 64, 3);
  });

  it('reads what an earlier produce run left in --data-dir without producing more', async () => {
    const dataDir = path.join(dir, 'data');
    await perfCli(['produce', '--records', '1000', '--data-dir', dataDir, '--json']);
    await perfCli(['consume', '--records', '1000', '--data-dir', dataDir, '--json']);
    expect(storedBatches(dataDir, 'sluice-perf').reduce((sum, batch) => sum + batch.records, 0)).toBe(1000);
  });
});

describe('sluice perf e2e', () => {
  it('consumes while producing and measures every record from send to delivery', async () => {
    const result = JSON.parse(await perfCli(['e2e', '--records', '400', '--throughput', '4000', '--partitions', '2', '--json', '--data-dir', path.join(dir, 'data')]));
    expect(result.records).toBe(400);
    expect(Object.keys(result.latencyMs).sort()).toEqual([...LATENCY_KEYS].sort());
    expect(result.latencyMs.p50).toBeGreaterThan(0);
    expect(result.config).toMatchObject({ mode: 'e2e', throughput: 4000, partitions: 2 });
    // The main thread's suspects of a latency tail, over the timed part.
    const { eventLoopDelayMs, gc, scheduler } = result.runtime;
    expect(Object.keys(eventLoopDelayMs).sort()).toEqual(['max', 'p50', 'p99', 'p999']);
    expect(eventLoopDelayMs.p50).toBeLessThanOrEqual(eventLoopDelayMs.p99);
    expect(eventLoopDelayMs.p999).toBeLessThanOrEqual(eventLoopDelayMs.max);
    expect(gc.count).toBeGreaterThanOrEqual(0);
    expect(gc.maxMs).toBeLessThanOrEqual(gc.totalMs);
    // Linux has /proc/thread-self/schedstat: the thread ran for part of the run.
    expect(scheduler.runningMs).toBeGreaterThan(0);
    expect(scheduler.runnableWaitingMs).toBeGreaterThanOrEqual(0);
    // The path, both from the intended send time: a record is acknowledged after the send() call
    // that carried it, so every percentile of the second lies at or above the first's.
    const { sendCall, acknowledged } = result.stagesMs;
    expect(Object.keys(sendCall).sort()).toEqual([...LATENCY_KEYS].sort());
    for (const key of LATENCY_KEYS) expect(acknowledged[key]).toBeGreaterThanOrEqual(sendCall[key]);
    expect(acknowledged.p50).toBeGreaterThan(0);
  });

  it('prints the event loop delay, the GC pauses and the main thread scheduling beside the latency table', async () => {
    const out = await perfCli(['e2e', '--records', '300', '--throughput', '3000', '--data-dir', path.join(dir, 'data')]);
    expect(out).toMatch(/p99\.9 ms\s+max ms/);
    expect(out).toMatch(/^event loop delay past due \(1 ms samples\): p50 [\d.]+ ms, p99 [\d.]+ ms, p99\.9 [\d.]+ ms, max [\d.]+ ms$/m);
    expect(out).toMatch(/^gc pauses \(main thread\): \d+, total [\d.]+ ms, max [\d.]+ ms$/m);
    expect(out).toMatch(/^main thread: [\d.]+ ms on a core, [\d.]+ ms runnable waiting for one$/m);
    expect(out).toMatch(/^from the intended send time to the send\(\) call: p50 [\d.]+ ms, p99 [\d.]+ ms, p99\.9 [\d.]+ ms, max [\d.]+ ms$/m);
    expect(out).toMatch(/^from the intended send time to its acknowledgement: p50 [\d.]+ ms, p99 [\d.]+ ms, p99\.9 [\d.]+ ms, max [\d.]+ ms$/m);
  });
});

describe('the send loop', () => {
  it('records one latency per record, at full speed and under a target rate', async () => {
    const dataDir = path.join(dir, 'data');
    const sluice = await Sluice.open({ dataDir, shards: 1 });
    try {
      const producer = sluice.producer({ acks: 1 });
      for (const throughput of [-1, 5000]) {
        const recorder = new LatencyRecorder();
        const sent = await runSendLoop((messages) => producer.send({ topic: 'loop', messages }), {
          records: 250, partitions: 1, sendRecords: 40, sendsInFlight: 2, throughput, payloads: randomPayloads(10, 0, 5),
          stampValues: false, recorder,
        });
        expect(sent.records).toBe(250);
        expect(sent.bytes).toBe(2500);
        expect(recorder.count).toBe(250);
      }
      await producer.disconnect();
    } finally {
      await sluice.close();
    }
  });

  it('ends with the error of a send() that throws instead of rejecting, also when an acknowledgement resumed the loop', async () => {
    let calls = 0;
    const send = (): Promise<void> => {
      if (calls++ === 2) throw new Error('send threw');
      return Promise.resolve();
    };
    // One send in flight: the third call runs from the second's acknowledgement, not the first turn.
    await expect(
      runSendLoop(send, { records: 100, partitions: 1, sendRecords: 10, sendsInFlight: 1, throughput: -1, payloads: randomPayloads(10, 0, 1), stampValues: false, recorder: null }),
    ).rejects.toThrow('send threw');
    expect(calls).toBe(3);
  });
});

describe('coordinated omission', () => {
  it('charges a stall to every record it held back: latency runs from the intended send time', async () => {
    // A client whose first send takes 200 ms: all 100 records (due within 100 ms at 1000/s) wait
    // behind it, so each one's latency is at least 200 ms minus its due time, >= 100 ms. Measured
    // from the send() call instead, all but the first would show next to nothing.
    let calls = 0;
    const recorder = new LatencyRecorder();
    const lagRecorder = new LatencyRecorder();
    await runSendLoop(
      () => (calls++ === 0 ? new Promise((resolve) => setTimeout(resolve, 200)) : Promise.resolve()),
      { records: 100, partitions: 1, sendRecords: 100, sendsInFlight: 1, throughput: 1000, payloads: randomPayloads(10, 0, 1), stampValues: false, recorder, lagRecorder },
    );
    expect(calls).toBeGreaterThan(1);
    expect(recorder.count).toBe(100);
    expect(recorder.summary()!.p50).toBeGreaterThanOrEqual(100);
    // The same stall, seen from the sending side: the records held back went out at least 100 ms late.
    expect(lagRecorder.count).toBe(100);
    expect(lagRecorder.summary()!.p50).toBeGreaterThanOrEqual(100);
  });
});

describe('payloads', () => {
  it('makes values of the size asked whose compressibility follows --compressibility', () => {
    const sizes = [0, 0.5, 0.9].map((compressibility) => {
      const values = randomPayloads(1000, compressibility, 50);
      expect(values).toHaveLength(50);
      expect(values.every((value) => value.length === 1000)).toBe(true);
      return gzipSync(Buffer.concat(values)).length;
    });
    expect(sizes[0]).toBeGreaterThan(50 * 1000 * 0.95);
    expect(sizes[1]).toBeLessThan(sizes[0] * 0.6);
    expect(sizes[2]).toBeLessThan(sizes[0] * 0.2);
    expect(new Set(randomPayloads(1, 1, 3).map((value) => value[0]))).toEqual(new Set([0x61]));
  });

  it('refuses a payload file without lines, or with lines too short for e2e', () => {
    const empty = path.join(dir, 'empty.txt');
    writeFileSync(empty, '\n\n');
    expect(() => filePayloads(empty)).toThrow(/no non-empty line/);
    const short = path.join(dir, 'short.txt');
    writeFileSync(short, 'abc\n');
    expect(() => filePayloads(short, 8)).toThrow(/at least 8/);
    expect(() => filePayloads(path.join(dir, 'missing.txt'))).toThrow(/cannot be read/);
  });
});

describe('tables', () => {
  it('aligns columns and formats figures', () => {
    expect(formatTable(['a', 'num'], [['xx', '1'], ['y', '100']], ['left', 'right'])).toBe('a   num\n--  ---\nxx    1\ny   100\n');
    expect(formatCount(1234567.8)).toBe('1,234,568');
    expect(formatFigure(0.04123)).toBe('0.0412');
    expect(formatFigure(12.345)).toBe('12.3');
    expect(formatFigure(1234.5)).toBe('1235');
    expect(formatFigure(null)).toBe('-');
  });
});

describe('over --bootstrap-server (kafkajs)', () => {
  it('produces, consumes and measures e2e against a Sluice server', async () => {
    const sluice = await Sluice.open({ dataDir: path.join(dir, 'server'), shards: 1, groupInitialRebalanceDelayMs: 0 });
    const server = new KafkaServer(sluice.broker, { port: 0 });
    const { port } = await server.listen();
    try {
      const bootstrap = `127.0.0.1:${port}`;
      const produced = JSON.parse(await perfCli(['produce', '--bootstrap-server', bootstrap, '--records', '900', '--partitions', '3', '--send-records', '100', '--compression', 'lz4', '--acks', '1', '--json']));
      expect(produced.records).toBe(900);
      expect(produced.config).toMatchObject({ client: 'kafkajs', bootstrapServer: bootstrap, batchSizeBytes: null, lingerMs: null, partitions: 3 });
      const lz4Batches = storedBatches(path.join(dir, 'server'), 'sluice-perf');
      expect(lz4Batches.reduce((sum, batch) => sum + batch.records, 0)).toBe(900);
      expect(lz4Batches.every((batch) => (batch.attributes & COMPRESSION_CODEC_MASK) === 3)).toBe(true);

      const consumed = JSON.parse(await perfCli(['consume', '--bootstrap-server', bootstrap, '--records', '900', '--partitions', '3', '--json']));
      expect(consumed.records).toBe(900);
      expect(consumed.latencyMs).toBeNull();

      const e2e = JSON.parse(await perfCli(['e2e', '--bootstrap-server', bootstrap, '--topic', 'e2e', '--records', '300', '--throughput', '3000', '--acks', '1', '--json']));
      expect(e2e.records).toBe(300);
      expect(e2e.latencyMs.p50).toBeGreaterThan(0);

      // kafkajs with Sluice's snappy and zstd codecs plugged in: stored in that codec, read back.
      for (const [codec, codecId] of [['snappy', 2], ['zstd', 4]] as const) {
        await perfCli(['produce', '--bootstrap-server', bootstrap, '--topic', codec, '--records', '300', '--send-records', '100', '--compression', codec, '--acks', '1', '--json']);
        const stored = storedBatches(path.join(dir, 'server'), codec);
        expect(stored.reduce((sum, batch) => sum + batch.records, 0), codec).toBe(300);
        expect(stored.every((batch) => (batch.attributes & COMPRESSION_CODEC_MASK) === codecId), codec).toBe(true);
        const read = JSON.parse(await perfCli(['consume', '--bootstrap-server', bootstrap, '--topic', codec, '--records', '300', '--json']));
        expect(read.records, codec).toBe(300);
      }

      // Idempotent and transactional kafkajs producers: batches carry a producer id, the
      // transactional ones end in commit markers (control batches, attribute bit 5).
      await perfCli(['produce', '--bootstrap-server', bootstrap, '--topic', 'idem', '--records', '300', '--send-records', '100', '--idempotent', '--acks', 'all', '--json']);
      const idempotent = storedBatches(path.join(dir, 'server'), 'idem');
      expect(idempotent.reduce((sum, batch) => sum + batch.records, 0)).toBe(300);
      expect(idempotent.every((batch) => batch.producerId >= 0 && batch.baseSequence >= 0)).toBe(true);
      await perfCli(['produce', '--bootstrap-server', bootstrap, '--topic', 'txn', '--records', '300', '--send-records', '100', '--transactional', '--acks', 'all', '--json']);
      const transactional = storedBatches(path.join(dir, 'server'), 'txn');
      const data = transactional.filter((batch) => (batch.attributes & 0x20) === 0);
      expect(data.reduce((sum, batch) => sum + batch.records, 0)).toBe(300);
      expect(data.every((batch) => (batch.attributes & 0x10) !== 0)).toBe(true);
      expect(transactional.some((batch) => (batch.attributes & 0x20) !== 0)).toBe(true);
    } finally {
      await server.close();
      await sluice.close();
    }
  });
});
