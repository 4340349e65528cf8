import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BENCH_RECORD_BYTES,
  RESULT_KEYS,
  benchmarkPayload,
  buildNativeBench,
  fnv1a32,
  nativeBenchArgs,
  nativeBenchDir,
  runNativeBench,
} from '../src/perf/native-bench.js';

const execFileAsync = promisify(execFile);

// A few megabytes and thousands of messages: seconds at most, whatever the machine.
const TINY_ARGS = [
  '--memcpy-mib=2',
  '--file-mib=2',
  '--chunk-kib=256',
  '--fsync-count=10',
  '--fsync-bytes=512',
  '--lz4-mib=1',
  '--lz4-frame-kib=16',
  '--ring-kib=16',
  '--ring8-messages=20000',
  '--ring100-messages=20000',
  '--reps=1',
];

const tempDirs: string[] = [];
let binary = '';

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-native-bench-test-'));
  tempDirs.push(dir);
  return dir;
}

beforeAll(async () => {
  binary = await buildNativeBench();
});

afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('native-bench', () => {
  it('prints exactly one JSON object on stdout through make run, with units in every result key', async () => {
    const dir = tempDir();
    const { stdout } = await execFileAsync('make', ['-s', '-C', nativeBenchDir(), 'run', `ARGS=${TINY_ARGS.join(' ')} --dir=${dir}`]);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const out = JSON.parse(stdout) as Record<string, any>;

    expect(Object.keys(out)).toEqual(['tool', 'version', 'env', 'config', 'results', 'payloadFnv1a32', 'durationMs']);
    expect(out.tool).toBe('sluice-native-bench');
    for (const key of ['cpuModel', 'os', 'kernel', 'arch', 'compiler', 'lz4Version', 'tmpDirFsType']) {
      expect(typeof out.env[key], key).toBe('string');
      expect(out.env[key].length, key).toBeGreaterThan(0);
    }
    expect(out.env.tmpDir).toBe(dir);
    for (const key of ['logicalCpus', 'memTotalBytes', 'pageBytes']) expect(out.env[key], key).toBeGreaterThan(0);

    expect(out.config).toEqual({
      memcpyBytes: 2 * 1024 * 1024,
      fileBytes: 2 * 1024 * 1024,
      chunkBytes: 256 * 1024,
      fsyncCount: 10,
      fsyncAppendBytes: 512,
      lz4PayloadBytes: Math.floor((1024 * 1024) / BENCH_RECORD_BYTES) * BENCH_RECORD_BYTES,
      lz4RecordBytes: BENCH_RECORD_BYTES,
      lz4FrameBytes: 16 * 1024,
      ringBytes: 16 * 1024,
      ring8Messages: 20000,
      ring100Messages: 20000,
      reps: 1,
    });

    expect(Object.keys(out.results)).toEqual(RESULT_KEYS);
    for (const key of RESULT_KEYS) {
      expect(Number.isFinite(out.results[key]), key).toBe(true);
      expect(out.results[key], key).toBeGreaterThan(0);
    }
    expect(out.results.fsyncP50Us).toBeLessThanOrEqual(out.results.fsyncP99Us);
    expect(out.results.fsyncP99Us).toBeLessThanOrEqual(out.results.fsyncMaxUs);
    expect(out.durationMs).toBeGreaterThan(0);
    expect(fs.readdirSync(dir)).toEqual([]); // temporary files removed
  });

  it('uses the same benchmark payload as benchmarkPayload()', async () => {
    const { stdout } = await execFileAsync(binary, [...TINY_ARGS, `--dir=${tempDir()}`]);
    const out = JSON.parse(stdout) as { payloadFnv1a32: number; config: { lz4PayloadBytes: number } };
    const payload = benchmarkPayload(out.config.lz4PayloadBytes / BENCH_RECORD_BYTES);
    expect(payload).toHaveLength(out.config.lz4PayloadBytes);
    expect(fnv1a32(payload)).toBe(out.payloadFnv1a32);
  });

  it('runs through runNativeBench() with typed options', async () => {
    const dir = tempDir();
    const limits = await runNativeBench({
      dir,
      memcpyMiB: 1,
      fileMiB: 1,
      chunkKiB: 64,
      fsyncCount: 5,
      lz4MiB: 1,
      lz4FrameKiB: 64,
      ringKiB: 8,
      ring8Messages: 5000,
      ring100Messages: 5000,
      reps: 1,
    });
    expect(limits.env.tmpDir).toBe(dir);
    expect(limits.config).toMatchObject({ fileBytes: 1024 * 1024, ringBytes: 8 * 1024, fsyncCount: 5, reps: 1 });
    for (const key of RESULT_KEYS) expect(limits.results[key as keyof typeof limits.results], key).toBeGreaterThan(0);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('rejects bad options with status 2 and a message naming them', async () => {
    for (const [args, message] of [
      [['--file-mib=0'], '--file-mib=0 is invalid: expected an integer from 1 to'],
      [['--reps=-1'], '--reps=-1 is invalid'],
      [['--reps= 3'], '--reps= 3 is invalid'],
      [['--ring-kib=12'], '--ring-kib must be a power of two'],
      [['--no-such=1'], 'unknown option "--no-such"'],
      [['file-mib=3'], 'unexpected argument "file-mib=3"'],
    ] as const) {
      const err = await execFileAsync(binary, [...args]).then(
        () => {
          throw new Error(`${args.join(' ')} was accepted`);
        },
        (e: { code: number; stderr: string; stdout: string }) => e,
      );
      expect(err.code, args.join(' ')).toBe(2);
      expect(err.stderr).toContain(message);
      expect(err.stdout).toBe('');
    }
    expect(() => nativeBenchArgs({ fileMiB: 1.5 })).toThrow(RangeError);
  });

  it('removes its temporary files when interrupted', async () => {
    const dir = tempDir();
    // Enough fsyncs to still be running when the signal arrives.
    const child = spawn(binary, [...TINY_ARGS, '--fsync-count=1000000', `--dir=${dir}`]);
    const lines = createInterface({ input: child.stderr });
    await new Promise<void>((resolve) => lines.on('line', (line) => line.includes('fsync') && resolve()));
    expect(fs.readdirSync(dir)).toHaveLength(1); // its temporary directory
    child.kill('SIGTERM');
    const signal = await new Promise((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGTERM');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('explains how to install liblz4 when its headers are missing', async () => {
    // -nostdinc hides every system header, as on a machine without liblz4-dev.
    const err = await execFileAsync('make', ['-s', '-C', nativeBenchDir(), 'check-lz4', 'CPPFLAGS=-nostdinc']).then(
      () => {
        throw new Error('check-lz4 passed without headers');
      },
      (e: { stderr: string }) => e,
    );
    expect(err.stderr).toContain('liblz4 headers');
    expect(err.stderr).toContain('apt-get install liblz4-dev');
  });
});
