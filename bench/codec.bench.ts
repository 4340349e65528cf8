/**
 * RecordBatch v2 codec throughput on one core: encode (the producer's builder) and decode (every
 * record's offset, timestamp, key and value), uncompressed and with each of Kafka's codecs, in
 * records/s. Targets: encode >= 5 M records/s, decode >= 10 M records/s (100-byte values).
 *
 * Peers measured in the same run on the same records: kafkajs 2.2.4's own RecordBatch encoder
 * and decoder, and, when the `lz4` tool is on the PATH, its C implementation (`lz4 -b1`) on the
 * same records section next to the codec's lz4 frames. For snappy and zstd, the packages that
 * were candidates for the codec, on the same records section: snappyjs (pure JavaScript), the
 * `snappy` package's default external output buffers, and @toondepauw/node-zstd (prebuilt Rust
 * bindings), next to the codec's own calls.
 *
 * LZ4 against the machine's limit: the codec's frame functions on native-bench's payload, one
 * 64 KiB frame per call as native-bench frames it, beside lz4-napi (the previous codec); with
 * `--native`, native-bench (liblz4 in C) runs in the same process run on the same payload and
 * each lz4 row is stated as a share of its figure.
 *
 *   npx tsc -p . && node dist/bench/codec.bench.js [--time-ms 2000] [--native] [--json]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompressSync, uncompressSync as snappyUncompressSync } from 'snappy';
import snappyjs from 'snappyjs';
import { Bench } from 'tinybench';
import { BATCH_HEADER_BYTES } from '../src/protocol/batch-header.js';
import {
  COMPRESSION_CODEC_IDS,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  compressRecords,
  decompressRecords,
  lz4CompressFrame,
  lz4DecompressFrames,
  lz4FrameBound,
  lz4FramesDecompressedBound,
} from '../src/protocol/compression.js';
import { BENCH_RECORD_BYTES, benchmarkPayload, runNativeBench, type NativeBenchOptions, type NativeLimits } from '../src/perf/native-bench.js';
import {
  RecordBatchBuilder,
  decodeRecordBatch,
  forEachRecord,
  type CompressionType,
  type RecordView,
} from '../src/protocol/record-batch.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs, type BenchEnvironment } from './support.js';

export interface CodecBenchOptions {
  /** Time budget per task in ms. Default 2000. */
  timeMs?: number;
  /** Default 1000. */
  recordsPerBatch?: number;
  /** Default 8. */
  keyBytes?: number;
  /** Default 100. */
  valueBytes?: number;
  /** Default ['none', 'lz4', 'gzip', 'snappy', 'zstd']. */
  compressions?: CompressionType[];
  /** Measure kafkajs on the same records. Default true. */
  includePeer?: boolean;
  /** Run native-bench's LZ4 passes in the same run and state the lz4 rows against them. Default false. */
  native?: boolean;
  /** Size of native-bench's LZ4 payload, cut into 64 KiB frames. Default 16. */
  lz4PayloadMiB?: number;
}

/** One LZ4 frame per 64 KiB of payload, as native-bench frames it by default (and Kafka's block size). */
const LZ4_FRAME_BYTES = 64 * 1024;

export interface Lz4LimitRow {
  name: string;
  /** Uncompressed payload MB (10^6 bytes) per second, as native-bench and `lz4 -b` count. */
  mbPerSecond: number;
  /** Share of native-bench's liblz4 figure for the same direction, from the same run; null without --native. */
  shareOfNative: number | null;
  rmePercent: number;
}

export interface CodecBenchTaskResult {
  name: string;
  recordsPerSecond: number;
  /** Uncompressed record bytes (key + value) per second, in MB (10^6). */
  payloadMBPerSecond: number;
  /** Relative margin of error of the mean, in percent. */
  rmePercent: number;
  samples: number;
}

export interface CodecBenchReport {
  environment: BenchEnvironment;
  config: Required<CodecBenchOptions>;
  batchBytes: Record<string, number>;
  results: CodecBenchTaskResult[];
  /** LZ4 on native-bench's payload, 64 KiB frames. */
  lz4: Lz4LimitRow[];
  /** native-bench's LZ4 figures from the same run, when `native` was set. */
  nativeLz4: { compressMBps: number; decompressMBps: number; liblz4: string } | null;
}

const require = createRequire(import.meta.url);
const T0 = 1_700_000_000_000;

export async function runCodecBench(options: CodecBenchOptions = {}): Promise<CodecBenchReport> {
  const config: Required<CodecBenchOptions> = {
    timeMs: options.timeMs ?? 2000,
    recordsPerBatch: options.recordsPerBatch ?? 1000,
    keyBytes: options.keyBytes ?? 8,
    valueBytes: options.valueBytes ?? 100,
    compressions: options.compressions ?? ['none', 'lz4', 'gzip', 'snappy', 'zstd'],
    includePeer: options.includePeer ?? true,
    native: options.native ?? false,
    lz4PayloadMiB: options.lz4PayloadMiB ?? 16,
  };
  const { recordsPerBatch, keyBytes, valueBytes } = config;

  // Record-like payloads: distinct keys, values with some structure (compressible, not trivially).
  const keys = Array.from({ length: recordsPerBatch }, (_, i) => {
    const key = Buffer.alloc(keyBytes);
    key.write(`k${i.toString(16).padStart(keyBytes - 1, '0')}`.slice(0, keyBytes));
    return key;
  });
  const values = Array.from({ length: recordsPerBatch }, (_, i) => {
    const text = `{"id":${i},"user":"user-${i % 977}","event":"click","ts":${T0 + i},"pad":"`;
    const value = Buffer.alloc(valueBytes, 0x78);
    value.write(text.slice(0, valueBytes));
    return value;
  });

  const builders = new Map<CompressionType, RecordBatchBuilder>();
  const batches = new Map<CompressionType, Buffer>();
  const encode = (builder: RecordBatchBuilder): Buffer => {
    builder.reset();
    for (let i = 0; i < recordsPerBatch; i++) builder.append(keys[i], values[i], null, T0 + i);
    return builder.build();
  };
  for (const compression of config.compressions) {
    const builder = new RecordBatchBuilder({ compression, initialCapacityBytes: 64 * 1024 });
    builders.set(compression, builder);
    batches.set(compression, Buffer.from(encode(builder)));
  }

  const environment = benchEnvironment();
  const bench = new Bench({ time: config.timeMs, warmupTime: Math.min(500, config.timeMs) });
  let sink = 0;
  for (const compression of config.compressions) {
    const builder = builders.get(compression)!;
    const batch = batches.get(compression)!;
    bench.add(`encode ${compression}`, () => {
      sink += encode(builder).length;
    });
    bench.add(`decode ${compression} (forEachRecord: offset, timestamp, key/value positions)`, () => {
      forEachRecord(batch, (r: RecordView) => {
        sink += r.offset + r.timestamp + r.keyStart + r.keyLength + r.valueStart + r.valueLength;
      });
    });
    bench.add(`decode ${compression} (forEachRecord + key()/value() slices)`, () => {
      forEachRecord(batch, (r: RecordView) => {
        sink += r.offset + r.timestamp + r.key()!.length + r.value()!.length;
      });
    });
    bench.add(`decode ${compression} (decodeRecordBatch: record objects with slices)`, () => {
      sink += decodeRecordBatch(batch).records.length;
    });
  }

  // The codecs alone on one batch's records section, beside the C tool (lz4) and the candidates
  // they were chosen over.
  const section = Buffer.from(encode(new RecordBatchBuilder()).subarray(BATCH_HEADER_BYTES));
  for (const codec of ['lz4', 'snappy', 'zstd'] as const) {
    const compressed = compressRecords(codec, section);
    bench.add(`${codec} compress of the records section (Sluice codec)`, () => {
      sink += compressRecords(codec, section).length;
    });
    bench.add(`${codec} decompress of the records section (Sluice codec)`, () => {
      sink += decompressRecords(COMPRESSION_CODEC_IDS[codec], compressed, DEFAULT_MAX_DECOMPRESSED_BYTES, 0).length;
    });
  }
  if (config.includePeer) {
    addCodecCandidates(bench, section, (n) => (sink += n));
    addKafkajsPeer(bench, keys, values, batches.get('none'), (n) => (sink += n));
  }

  await bench.run();
  if (sink === 0) throw new Error('benchmark sink unused: the work may have been optimised away');

  const results = bench.tasks.map((task): CodecBenchTaskResult => {
    const result = task.result;
    if (result.state !== 'completed') {
      throw new Error(`task "${task.name}" ended ${result.state}${'error' in result ? `: ${result.error.message}` : ''}`);
    }
    const batchesPerSecond = 1000 / result.period;
    return {
      name: task.name,
      recordsPerSecond: batchesPerSecond * recordsPerBatch,
      payloadMBPerSecond: (batchesPerSecond * recordsPerBatch * (keyBytes + valueBytes)) / 1e6,
      rmePercent: result.latency.rme,
      samples: result.latency.samplesCount,
    };
  });
  if (config.includePeer) results.push(...measureLz4Tool(section, recordsPerBatch, keyBytes + valueBytes));

  const native = config.native ? await runNativeBench(nativeLz4Options(config.lz4PayloadMiB)) : null;
  return {
    environment,
    config,
    batchBytes: Object.fromEntries([...batches].map(([compression, batch]) => [compression, batch.length])),
    results,
    lz4: await measureLz4OnNativePayload(config, native),
    nativeLz4:
      native === null
        ? null
        : {
            compressMBps: native.results.lz4FrameCompressMBps,
            decompressMBps: native.results.lz4FrameDecompressMBps,
            liblz4: native.env.lz4Version,
          },
  };
}

/** native-bench with its LZ4 passes on `lz4MiB` of payload in 64 KiB frames, and its other passes small. */
function nativeLz4Options(lz4MiB: number): NativeBenchOptions {
  return { lz4MiB, lz4FrameKiB: LZ4_FRAME_BYTES / 1024, memcpyMiB: 16, fileMiB: 16, fsyncCount: 20, ring8Messages: 100_000, ring100Messages: 100_000 };
}

/**
 * The codec's LZ4 frame functions on native-bench's payload, one 64 KiB frame per call, walking
 * the payload as native-bench does; beside lz4-napi's frame functions on the same frames.
 */
async function measureLz4OnNativePayload(config: Required<CodecBenchOptions>, native: NativeLimits | null): Promise<Lz4LimitRow[]> {
  const payload = benchmarkPayload(Math.ceil((config.lz4PayloadMiB * 1024 * 1024) / BENCH_RECORD_BYTES));
  const frameCount = Math.floor(payload.length / LZ4_FRAME_BYTES);
  const inputs = Array.from({ length: frameCount }, (_, i) => payload.subarray(i * LZ4_FRAME_BYTES, (i + 1) * LZ4_FRAME_BYTES));
  const frames = inputs.map((input) => compressRecords('lz4', input));
  const napiFrames = inputs.map((input) => compressFrameSync(input));
  const out = Buffer.allocUnsafe(lz4FrameBound(LZ4_FRAME_BYTES));
  const back = Buffer.allocUnsafe(Math.max(...frames.map((frame) => lz4FramesDecompressedBound(frame, 0))));
  for (let i = 0; i < frameCount; i++) {
    if (!back.subarray(0, lz4DecompressFrames(frames[i], back, 0)).equals(inputs[i])) throw new Error(`lz4 frame ${i} does not round-trip`);
  }
  const bench = new Bench({ time: config.timeMs, warmupTime: Math.min(500, config.timeMs) });
  let next = 0;
  let sink = 0;
  const step = (): number => (next = next + 1 === frameCount ? 0 : next + 1);
  const tasks: [string, 'compress' | 'decompress', () => void][] = [
    ['lz4 compress: lz4CompressFrame into a reused buffer', 'compress', () => (sink += lz4CompressFrame(inputs[step()], out, 0))],
    ['lz4 compress: compressRecords (a new buffer per frame)', 'compress', () => (sink += compressRecords('lz4', inputs[step()]).length)],
    ['lz4 decompress: lz4DecompressFrames into a reused buffer', 'decompress', () => (sink += lz4DecompressFrames(frames[step()], back, 0))],
    ['lz4 decompress: decompressRecords (a slice of a 1 MiB slab)', 'decompress', () => (sink += decompressRecords(COMPRESSION_CODEC_IDS.lz4, frames[step()], LZ4_FRAME_BYTES, 0).length)],
    ['candidate: lz4-napi compressFrameSync', 'compress', () => (sink += compressFrameSync(inputs[step()]).length)],
    ['candidate: lz4-napi decompressFrameSync', 'decompress', () => (sink += decompressFrameSync(napiFrames[step()]).length)],
  ];
  for (const [name, , fn] of tasks) bench.add(name, fn);
  await bench.run();
  if (sink === 0) throw new Error('benchmark sink unused: the work may have been optimised away');
  return bench.tasks.map((task, i): Lz4LimitRow => {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`task "${task.name}" ended ${result.state}`);
    const mbPerSecond = (LZ4_FRAME_BYTES * (1000 / result.period)) / 1e6;
    const limit = native === null ? null : tasks[i][1] === 'compress' ? native.results.lz4FrameCompressMBps : native.results.lz4FrameDecompressMBps;
    return { name: task.name, mbPerSecond, shareOfNative: limit === null ? null : mbPerSecond / limit, rmePercent: result.latency.rme };
  });
}

/** The snappy and zstd packages the codec was chosen over (raw blocks, one frame), on the same section. */
function addCodecCandidates(bench: Bench, section: Buffer, consume: (n: number) => void): void {
  const rawSnappy = snappyCompressSync(section);
  bench.add('candidate: snappyjs compress (raw block)', () => {
    consume(snappyjs.compress(section).length);
  });
  bench.add('candidate: snappyjs uncompress (raw block)', () => {
    consume(snappyjs.uncompress(rawSnappy).length);
  });
  bench.add('candidate: snappy package compressSync, external output buffer', () => {
    consume(snappyCompressSync(section).length);
  });
  bench.add('candidate: snappy package uncompressSync, external output buffer', () => {
    consume(snappyUncompressSync(rawSnappy).length);
  });
  const toondepauw = require('@toondepauw/node-zstd') as {
    Encoder: new (level: number) => { encodeSync(data: Buffer): Buffer };
    Decoder: new () => { decodeSync(data: Buffer): Buffer };
  };
  const encoder = new toondepauw.Encoder(3);
  const decoder = new toondepauw.Decoder();
  const frame = encoder.encodeSync(section);
  bench.add('candidate: @toondepauw/node-zstd encodeSync (level 3)', () => {
    consume(encoder.encodeSync(section).length);
  });
  bench.add('candidate: @toondepauw/node-zstd decodeSync', () => {
    consume(decoder.decodeSync(frame).length);
  });
}

/** kafkajs's RecordBatch v2 encoder and decoder (async, as kafkajs calls them) on the same records. */
function addKafkajsPeer(
  bench: Bench,
  keys: Buffer[],
  values: Buffer[],
  ourBatch: Buffer | undefined,
  consume: (n: number) => void,
): void {
  const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: number): unknown };
  const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buf: Buffer) => unknown;
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => unknown;
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
    RecordBatch: (b: object) => Promise<{ buffer: Buffer }>;
  };
  const decode = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
    d: unknown,
  ) => Promise<{ records: { offset: string; timestamp: string; key: Buffer; value: Buffer }[] }>;
  const encodeKafkajs = async (): Promise<Buffer> => {
    const records = keys.map((key, i) => Record({ offsetDelta: i, timestampDelta: i, key, value: values[i], headers: {} }));
    const batch = await RecordBatch({
      firstOffset: Long.fromValue(0),
      firstTimestamp: T0,
      maxTimestamp: T0 + keys.length - 1,
      lastOffsetDelta: keys.length - 1,
      records,
    });
    return batch.buffer;
  };
  bench.add('peer: kafkajs encode none', async () => {
    consume((await encodeKafkajs()).length);
  });
  if (ourBatch !== undefined) {
    bench.add('peer: kafkajs decode none', async () => {
      consume((await decode(new Decoder(ourBatch))).records.length);
    });
  }
}

/**
 * The reference C implementation's in-memory benchmark (`lz4 -b1`: level 1, what the codec's
 * frame encoder also does) on the same records section, in the same units. Empty when the tool
 * is not installed.
 */
function measureLz4Tool(section: Buffer, recordsPerSection: number, payloadBytesPerRecord: number): CodecBenchTaskResult[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-codec-bench-'));
  try {
    const file = path.join(dir, 'records-section.bin');
    fs.writeFileSync(file, section);
    const run = spawnSync('lz4', ['-b1', '-i1', file], { encoding: 'utf8' });
    if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return [];
    if (run.error !== undefined || run.status !== 0) {
      throw new Error(`lz4 -b failed (status ${run.status}): ${run.error?.message ?? run.stderr}`);
    }
    // It redraws its progress line with carriage returns; the last one holds the result.
    const pattern = /([\d.]+) MB\/s ,\s*([\d.]+) MB\/s/;
    const last = `${run.stdout}${run.stderr}`.split(/[\r\n]/).filter((line) => pattern.test(line)).pop();
    const match = last === undefined ? null : pattern.exec(last);
    if (match === null) throw new Error(`unexpected output from lz4 -b: ${JSON.stringify(run.stderr)}`);
    // lz4 reports MB as 10^6 bytes of its input (the records section).
    return [
      ['peer: C lz4 tool compress of the records section (lz4 -b1)', Number(match[1])],
      ['peer: C lz4 tool decompress of the records section (lz4 -b1)', Number(match[2])],
    ].map(([name, sectionMBPerSecond]) => {
      const recordsPerSecond = ((sectionMBPerSecond as number) * 1e6 * recordsPerSection) / section.length;
      return {
        name: name as string,
        recordsPerSecond,
        payloadMBPerSecond: (recordsPerSecond * payloadBytesPerRecord) / 1e6,
        rmePercent: Number.NaN,
        samples: 1,
      };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function formatReport(report: CodecBenchReport): string {
  const { environment: env, config } = report;
  const lines = [
    `RecordBatch v2 codec benchmark (one core)`,
    `environment: ${describeEnvironment(env)}`,
    `config: ${config.recordsPerBatch} records/batch, ${config.keyBytes}-byte keys, ${config.valueBytes}-byte values, ` +
      `${config.timeMs} ms per task; batch bytes: ${Object.entries(report.batchBytes).map(([c, b]) => `${c} ${b}`).join(', ')}`,
    `targets: encode >= 5 M records/s, decode >= 10 M records/s`,
    '',
    `${'task'.padEnd(76)} ${'records/s'.padStart(14)} ${'MB/s'.padStart(8)} ${'±%'.padStart(6)}`,
  ];
  for (const r of report.results) {
    lines.push(
      `${r.name.padEnd(76)} ${Math.round(r.recordsPerSecond).toLocaleString('en-US').padStart(14)} ` +
        `${r.payloadMBPerSecond.toFixed(0).padStart(8)} ${(Number.isNaN(r.rmePercent) ? '' : r.rmePercent.toFixed(1)).padStart(6)}`,
    );
  }
  const native = report.nativeLz4;
  lines.push(
    '',
    `LZ4 on native-bench's payload (${config.lz4PayloadMiB} MiB, 64 KiB frames), uncompressed MB/s` +
      (native === null
        ? ' (run with --native for the liblz4 limit)'
        : `; native-bench, liblz4 ${native.liblz4}, same run: compress ${native.compressMBps.toFixed(0)}, decompress ${native.decompressMBps.toFixed(0)}`),
    `${'task'.padEnd(76)} ${'MB/s'.padStart(8)} ${'vs C'.padStart(6)} ${'±%'.padStart(6)}`,
  );
  for (const r of report.lz4) {
    lines.push(
      `${r.name.padEnd(76)} ${r.mbPerSecond.toFixed(0).padStart(8)} ` +
        `${(r.shareOfNative === null ? '' : `${(r.shareOfNative * 100).toFixed(0)}%`).padStart(6)} ${r.rmePercent.toFixed(1).padStart(6)}`,
    );
  }
  return lines.join('\n');
}

const USAGE =
  'node dist/bench/codec.bench.js [--time-ms N] [--records-per-batch N] [--value-bytes N] [--no-peer] [--native] [--lz4-payload-mib N] [--json]';

function parseArgs(argv: string[]): { options: CodecBenchOptions; json: boolean } {
  const flags = parseBenchArgs(
    argv,
    {
      'time-ms': { type: 'positive-integer' },
      'records-per-batch': { type: 'positive-integer' },
      'value-bytes': { type: 'positive-integer' },
      'no-peer': { type: 'boolean' },
      native: { type: 'boolean' },
      'lz4-payload-mib': { type: 'positive-integer' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const options: CodecBenchOptions = {
    timeMs: flags['time-ms'],
    recordsPerBatch: flags['records-per-batch'],
    valueBytes: flags['value-bytes'],
    includePeer: !flags['no-peer'],
    native: flags.native,
    lz4PayloadMiB: flags['lz4-payload-mib'],
  };
  return { options, json: flags.json };
}

if (isMainModule(import.meta.url)) {
  const { options, json } = parseArgs(process.argv.slice(2));
  const report = await runCodecBench(options);
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
}
