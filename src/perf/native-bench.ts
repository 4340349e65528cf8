/**
 * The machine's limits, measured by native-bench (C) in the same run as a Node benchmark, so the
 * benchmark can state its figures as a percentage of what this machine can do.
 *
 *   const limits = await runNativeBench({ fileMiB: 256 });
 *   const pct = (100 * nodeReadMBps) / limits.results.readMBps;
 *
 * Also the benchmark payload generator, byte-identical to native-bench's (see
 * native-bench/README.md), so LZ4 figures compare the same data.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const BENCH_RECORD_BYTES = 100;

export interface NativeBenchOptions {
  /** Parent of the temporary directory for the file passes; default $TMPDIR or /tmp. Use the data directory's file system. */
  dir?: string;
  memcpyMiB?: number;
  /** Bytes appended then read back. */
  fileMiB?: number;
  /** write()/read() size. */
  chunkKiB?: number;
  fsyncCount?: number;
  /** Bytes appended before each fsync. */
  fsyncBytes?: number;
  /** Benchmark payload size for LZ4. */
  lz4MiB?: number;
  /** Uncompressed bytes per LZ4 frame: set it to the batch size the Node side compresses. */
  lz4FrameKiB?: number;
  /** SPSC ring capacity, a power of two. */
  ringKiB?: number;
  ring8Messages?: number;
  ring100Messages?: number;
  /** Repetitions of each throughput pass; the best is reported. */
  reps?: number;
  /** Kill the run after this long; default 120 s. */
  timeoutMs?: number;
}

export interface NativeEnv {
  cpuModel: string;
  logicalCpus: number;
  os: string;
  kernel: string;
  arch: string;
  memTotalBytes: number;
  pageBytes: number;
  compiler: string;
  lz4Version: string;
  tmpDir: string;
  /** ext4, xfs, btrfs, tmpfs, overlayfs, ... ("other" or "unknown" when not recognised). */
  tmpDirFsType: string;
}

export interface NativeConfig {
  memcpyBytes: number;
  fileBytes: number;
  chunkBytes: number;
  fsyncCount: number;
  fsyncAppendBytes: number;
  lz4PayloadBytes: number;
  lz4RecordBytes: number;
  lz4FrameBytes: number;
  ringBytes: number;
  ring8Messages: number;
  ring100Messages: number;
  reps: number;
}

/** MBps = 10^6 bytes/s, GBps = 10^9 bytes/s, Us = microseconds. */
export interface NativeResults {
  memcpyGBps: number;
  appendMBps: number;
  readMBps: number;
  fsyncP50Us: number;
  fsyncP99Us: number;
  fsyncMaxUs: number;
  lz4FrameCompressMBps: number;
  lz4FrameDecompressMBps: number;
  lz4BlockCompressMBps: number;
  lz4BlockDecompressMBps: number;
  lz4CompressionRatio: number;
  spsc8ByteMsgsPerSec: number;
  spsc100ByteMsgsPerSec: number;
  spsc100ByteMBps: number;
}

export interface NativeLimits {
  tool: 'sluice-native-bench';
  version: 1;
  env: NativeEnv;
  config: NativeConfig;
  results: NativeResults;
  /** FNV-1a (32 bits) of the LZ4 payload: benchmarkPayload() of the same size hashes the same. */
  payloadFnv1a32: number;
  durationMs: number;
}

/** Every figure native-bench reports, in its output order. */
export const RESULT_KEYS: readonly (keyof NativeResults)[] = [
  'memcpyGBps',
  'appendMBps',
  'readMBps',
  'fsyncP50Us',
  'fsyncP99Us',
  'fsyncMaxUs',
  'lz4FrameCompressMBps',
  'lz4FrameDecompressMBps',
  'lz4BlockCompressMBps',
  'lz4BlockDecompressMBps',
  'lz4CompressionRatio',
  'spsc8ByteMsgsPerSec',
  'spsc100ByteMsgsPerSec',
  'spsc100ByteMBps',
];

const OPTION_FLAGS: Readonly<Record<Exclude<keyof NativeBenchOptions, 'dir' | 'timeoutMs'>, string>> = {
  memcpyMiB: 'memcpy-mib',
  fileMiB: 'file-mib',
  chunkKiB: 'chunk-kib',
  fsyncCount: 'fsync-count',
  fsyncBytes: 'fsync-bytes',
  lz4MiB: 'lz4-mib',
  lz4FrameKiB: 'lz4-frame-kib',
  ringKiB: 'ring-kib',
  ring8Messages: 'ring8-messages',
  ring100Messages: 'ring100-messages',
  reps: 'reps',
};

/** The native-bench directory: found by walking up, so this works from the source tree and from the build output. */
export function nativeBenchDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'native-bench');
    if (existsSync(path.join(candidate, 'Makefile'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('native-bench/Makefile not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

function errorOutput(err: unknown): string {
  const e = err as { stderr?: string; message: string };
  return (e.stderr && e.stderr.trim()) || e.message;
}

/** Builds native-bench if needed (make) and returns the path of its binary. */
export async function buildNativeBench(): Promise<string> {
  const dir = nativeBenchDir();
  try {
    await execFileAsync('make', ['-s', '-C', dir, 'build']);
  } catch (err) {
    throw new Error(`building native-bench failed:\n${errorOutput(err)}`);
  }
  return path.join(dir, 'bin', 'native-bench');
}

/** The command-line arguments native-bench takes for these options. */
export function nativeBenchArgs(options: NativeBenchOptions): string[] {
  const args: string[] = [];
  if (options.dir !== undefined) args.push(`--dir=${options.dir}`);
  for (const [key, flag] of Object.entries(OPTION_FLAGS)) {
    const value = options[key as keyof typeof OPTION_FLAGS];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`native-bench option ${key} must be a positive integer, got ${value}`);
    }
    args.push(`--${flag}=${value}`);
  }
  return args;
}

/** Parses native-bench's stdout and checks that every figure is a positive finite number. */
export function parseNativeLimits(stdout: string): NativeLimits {
  let parsed: NativeLimits;
  try {
    parsed = JSON.parse(stdout) as NativeLimits;
  } catch {
    throw new Error(`native-bench printed something other than one JSON object:\n${stdout.slice(0, 500)}`);
  }
  if (parsed.tool !== 'sluice-native-bench' || parsed.version !== 1) {
    throw new Error(`unexpected native-bench output (tool ${parsed.tool}, version ${parsed.version})`);
  }
  for (const key of RESULT_KEYS) {
    const value = parsed.results?.[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new Error(`native-bench result ${key} is ${String(value)}, not a positive number`);
    }
  }
  return parsed;
}

/** Builds and runs native-bench, and returns what it measured. */
export async function runNativeBench(options: NativeBenchOptions = {}): Promise<NativeLimits> {
  const binary = await buildNativeBench();
  const args = nativeBenchArgs(options);
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(binary, args, { timeout: options.timeoutMs ?? 120_000, maxBuffer: 1024 * 1024 }));
  } catch (err) {
    throw new Error(`native-bench ${args.join(' ')} failed:\n${errorOutput(err)}`);
  }
  return parseNativeLimits(stdout);
}

const VOCABULARY = [
  'order', 'user', 'created', 'updated', 'payment', 'shipped', 'id', 'status',
  'amount', 'currency', 'EUR', 'USD', 'item', 'cart', 'session', 'login',
  'logout', 'error', 'warning', 'info', 'latency', 'ms', 'region', 'eu-west',
  'us-east', 'retry', 'ok', 'failed', 'true', 'false', 'null', 'event',
].map((word) => Buffer.from(word + ' ', 'latin1'));

/**
 * `recordCount` benchmark records of 100 bytes, back to back: the same bytes as native-bench's
 * payload (native-bench/README.md specifies the algorithm).
 */
export function benchmarkPayload(recordCount: number): Buffer {
  if (!Number.isSafeInteger(recordCount) || recordCount < 0) {
    throw new RangeError(`recordCount must be a non-negative integer, got ${recordCount}`);
  }
  const out = Buffer.allocUnsafe(recordCount * BENCH_RECORD_BYTES);
  const record = Buffer.alloc(BENCH_RECORD_BYTES + 16); // room for the longest word past the cut
  let state = 0x2545f491 | 0;
  for (let i = 0; i < recordCount; i++) {
    let counter = i % 1e10;
    for (let d = 9; d >= 0; d--) {
      record[d] = 0x30 + (counter % 10);
      counter = Math.floor(counter / 10);
    }
    record[10] = 0x20;
    let length = 11;
    while (length < BENCH_RECORD_BYTES) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const word = VOCABULARY[state & 31];
      length += word.copy(record, length);
    }
    record.copy(out, i * BENCH_RECORD_BYTES, 0, BENCH_RECORD_BYTES);
  }
  return out;
}

/** FNV-1a, 32 bits, as native-bench reports payloadFnv1a32. */
export function fnv1a32(data: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    hash ^= data[i];
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
