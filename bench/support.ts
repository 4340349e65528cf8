/**
 * What every benchmark shares: its command-line flags (node:util parseArgs, numbers validated),
 * the environment block it prints with its figures (a throughput means little without the
 * machine it came from, and the load on it), and the "run when executed directly" check that
 * lets a benchmark module also be imported.
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from '../src/perf/machine.js';

export type FlagSpec =
  | { type: 'boolean' }
  | { type: 'string'; choices?: readonly string[] }
  | { type: 'positive-integer' | 'non-negative-integer' | 'positive-number' };

export type FlagValues<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: S[K] extends { type: 'boolean' } ? boolean : S[K] extends { type: 'string' } ? string | undefined : number | undefined;
};

/**
 * Parses `argv` (without node and the script) against `spec`, keyed by flag name without the
 * dashes. Booleans default to false, other flags to undefined when absent. `--help` prints
 * `usage` and exits; an unknown flag, a missing value or a number out of range throws an error
 * that names the flag and shows `usage`.
 */
export function parseBenchArgs<S extends Record<string, FlagSpec>>(argv: string[], spec: S, usage: string): FlagValues<S> {
  const options: Record<string, { type: 'boolean' | 'string' }> = { help: { type: 'boolean' } };
  for (const [name, flag] of Object.entries(spec)) options[name] = { type: flag.type === 'boolean' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\nusage: ${usage}`);
  }
  if (values.help === true) {
    console.log(`usage: ${usage}`);
    process.exit(0);
  }
  const parsed: Record<string, string | number | boolean | undefined> = {};
  for (const [name, flag] of Object.entries(spec)) {
    const raw = values[name];
    if (flag.type === 'boolean') parsed[name] = raw === true;
    else if (raw === undefined) parsed[name] = undefined;
    else if (flag.type === 'string') parsed[name] = checkedChoice(name, raw as string, flag.choices, usage);
    else parsed[name] = checkedNumber(name, raw as string, flag.type, usage);
  }
  return parsed as FlagValues<S>;
}

function checkedChoice(name: string, raw: string, choices: readonly string[] | undefined, usage: string): string {
  if (choices !== undefined && !choices.includes(raw)) {
    throw new Error(`--${name} must be one of ${choices.join(', ')}, got ${raw}\nusage: ${usage}`);
  }
  return raw;
}

function checkedNumber(name: string, raw: string, type: 'positive-integer' | 'non-negative-integer' | 'positive-number', usage: string): number {
  const value = raw.trim() === '' ? NaN : Number(raw);
  const valid =
    type === 'positive-number'
      ? Number.isFinite(value) && value > 0
      : Number.isSafeInteger(value) && (type === 'positive-integer' ? value > 0 : value >= 0);
  if (!valid) throw new Error(`--${name} needs a ${type.replaceAll('-', ' ')}, got ${raw}\nusage: ${usage}`);
  return value;
}

export interface BenchEnvironment {
  node: string;
  v8: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  /** 1-minute load average when the run started: other work on the machine skews results. */
  loadAverage1m: number;
}

/** The machine and runtime a benchmark runs on, taken when it starts. */
export function benchEnvironment(): BenchEnvironment {
  const machine = machineInfo();
  return {
    node: machine.node,
    v8: process.versions.v8,
    cpu: machine.cpu,
    cores: machine.cores,
    memoryGiB: Math.round((machine.memoryBytes / 2 ** 30) * 10) / 10,
    platform: `${machine.os} ${machine.kernel} ${machine.arch}`,
    loadAverage1m: os.loadavg()[0],
  };
}

/** One line for the human-readable report. */
export function describeEnvironment(env: BenchEnvironment): string {
  return (
    `node ${env.node} (V8 ${env.v8}), ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB, ${env.platform}, ` +
    `load average ${env.loadAverage1m.toFixed(2)} at start`
  );
}

/** True when the module at `moduleUrl` (its import.meta.url) is the script node was started with. */
export function isMainModule(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}
