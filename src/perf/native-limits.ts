/**
 * The machine's page-cache limits (native-bench, C) for `--native`: run now, or read from a JSON
 * file native-bench printed earlier (`npm run native-bench > limits.json`), then Sluice's MB/s
 * stated as a share of them. Produce and e2e write the log, so they are set against page-cache
 * append; consume reads it, so against page-cache read. The share compares value bytes with raw
 * file bytes: the log also holds record framing and batch headers, so 100 % is out of reach.
 */
import { readFileSync } from 'node:fs';
import { parseNativeLimits, runNativeBench, type NativeLimits } from './native-bench.js';
import { InvalidConfigError } from '../errors.js';
import type { PerfMode } from './config.js';
import type { NativeShare } from './machine.js';

/** Bytes native-bench appends and reads back: enough to leave the CPU caches, short enough to wait for. */
const NATIVE_FILE_MIB = 256;

/** `source` is true to run native-bench in `dir` (the data directory's file system), or a JSON file's path. */
export async function loadNativeLimits(source: true | string, dir: string): Promise<NativeLimits> {
  if (source === true) return runNativeBench({ dir, fileMiB: NATIVE_FILE_MIB });
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    throw new InvalidConfigError(`--native ${source} cannot be read: ${(error as Error).message}`);
  }
  try {
    return parseNativeLimits(text);
  } catch (error) {
    throw new InvalidConfigError(`--native ${source}: ${(error as Error).message}`);
  }
}

export function nativeShare(mode: PerfMode, mbPerSec: number, limits: NativeLimits): NativeShare {
  const { appendMBps, readMBps } = limits.results;
  const reads = mode === 'consume';
  const limitMBps = reads ? readMBps : appendMBps;
  return {
    limit: reads ? 'page-cache read' : 'page-cache append',
    limitMBps,
    appendMBps,
    readMBps,
    percentOfLimit: (100 * mbPerSec) / limitMBps,
  };
}
