import { describe, expect, it } from 'vitest';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs } from '../../bench/support.js';

const SPEC = {
  'time-ms': { type: 'positive-integer' },
  'linger-ms': { type: 'non-negative-integer' },
  scale: { type: 'positive-number' },
  compression: { type: 'string', choices: ['none', 'lz4'] },
  dir: { type: 'string' },
  json: { type: 'boolean' },
} as const;
const USAGE = 'node bench.js [--time-ms N] [--json]';

describe('parseBenchArgs', () => {
  it('reads every kind of flag, in both --flag value and --flag=value forms', () => {
    expect(parseBenchArgs(['--time-ms', '500', '--linger-ms=0', '--scale', '0.25', '--compression', 'lz4', '--dir', '/d', '--json'], SPEC, USAGE)).toEqual({
      'time-ms': 500,
      'linger-ms': 0,
      scale: 0.25,
      compression: 'lz4',
      dir: '/d',
      json: true,
    });
  });

  it('leaves absent flags undefined and absent booleans false', () => {
    expect(parseBenchArgs([], SPEC, USAGE)).toEqual({
      'time-ms': undefined,
      'linger-ms': undefined,
      scale: undefined,
      compression: undefined,
      dir: undefined,
      json: false,
    });
  });

  it('refuses numbers out of their range, naming the flag and showing the usage', () => {
    for (const [flag, value] of [
      ['--time-ms', '0'],
      ['--time-ms', '1.5'],
      ['--time-ms', 'abc'],
      ['--time-ms', ''],
      ['--linger-ms', '-1'],
      ['--scale', '0'],
      ['--scale', 'Infinity'],
    ]) {
      expect(() => parseBenchArgs([`${flag}=${value}`], SPEC, USAGE), `${flag} ${value}`).toThrow(
        new RegExp(`^${flag} needs a .*, got ${value}\\nusage: node bench\\.js`),
      );
    }
  });

  it('refuses an unknown flag, a missing value and a value outside the choices', () => {
    expect(() => parseBenchArgs(['--bogus'], SPEC, USAGE)).toThrow(/bogus[\s\S]*usage: node bench\.js/);
    expect(() => parseBenchArgs(['--time-ms'], SPEC, USAGE)).toThrow(/time-ms[\s\S]*usage: node bench\.js/);
    expect(() => parseBenchArgs(['--compression', 'zstd'], SPEC, USAGE)).toThrow(/--compression must be one of none, lz4, got zstd/);
  });
});

describe('the environment block', () => {
  it('names the runtime, the machine and its load', () => {
    const env = benchEnvironment();
    expect(env.node).toBe(process.version);
    expect(env.v8).toBe(process.versions.v8);
    expect(env.cores).toBeGreaterThan(0);
    expect(env.memoryGiB).toBeGreaterThan(0);
    expect(env.loadAverage1m).toBeGreaterThanOrEqual(0);
    const line = describeEnvironment(env);
    for (const part of [env.node, env.v8, env.cpu, `${env.cores} cores`, `${env.memoryGiB} GiB`, env.platform]) expect(line).toContain(part);
  });
});

describe('isMainModule', () => {
  it('is false for a module that is not the script node started', () => {
    expect(isMainModule(import.meta.url)).toBe(false);
  });
});
