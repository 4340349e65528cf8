/** `sluice connect` on the command line: help, and one error line (exit 1) for bad worker and connector settings. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { stringConverterProps, toProperties } from './helpers.js';

let dir: string;

beforeAll(() => {
  dir = makeTempDir('connect-cli');
});

afterAll(() => removeTempDir(dir));

function file(name: string, props: Record<string, string>): string {
  const path = join(dir, name);
  writeFileSync(path, toProperties(props));
  return path;
}

describe('sluice connect', () => {
  it('prints help for standalone and distributed', async () => {
    const [standalone, distributed] = await Promise.all([runCli(['connect', 'standalone', '--help']), runCli(['connect', 'distributed', '--help'])]);
    expect(standalone.code).toBe(0);
    expect(standalone.stdout).toContain('Usage: sluice connect standalone [options] <worker.properties> [connector.properties...]');
    expect(standalone.stdout).toContain('--data-dir <dir>');
    expect(distributed.code).toBe(0);
    expect(distributed.stdout).toContain('Usage: sluice connect distributed [options] <worker.properties>');
  });

  it('refuses bad worker and connector settings with one error line', async () => {
    const { 'offset.storage.file.filename': _offsets, ...noOffsets } = stringConverterProps(dir);
    const cases: [string[], RegExp][] = [
      [['connect', 'standalone', file('no-offsets.properties', noOffsets)], /^error: Missing required configuration "offset.storage.file.filename" which has no default value\./],
      [
        ['connect', 'standalone', file('bad-interval.properties', { ...stringConverterProps(dir), 'offset.flush.interval.ms': 'soon' })],
        /^error: Worker configuration is invalid and contains the following 1 error\(s\): Invalid value soon for configuration offset.flush.interval.ms: Not a number of type LONG$/,
      ],
      [
        ['connect', 'standalone', file('worker.properties', stringConverterProps(dir)), file('bad-source.properties', { name: 'src', 'connector.class': 'FileStreamSource', 'batch.size': '0' })],
        /^error: Connector configuration is invalid and contains the following 2 error\(s\): Missing required configuration "topic" which has no default value\. Invalid value 0 for configuration batch\.size: Value must be at least 1/,
      ],
      [['connect', 'standalone', join(dir, 'missing.properties')], /^error: cannot read properties file .*missing\.properties/],
      [['connect', 'distributed', file('dist.properties', { 'group.id': 'g', 'data.dir': join(dir, 'data') })], /^error: distributed workers share their topics through a broker they all reach: set bootstrap.servers/],
      [['connect', 'distributed', file('no-group.properties', { 'bootstrap.servers': '127.0.0.1:1' })], /^error: Worker configuration is invalid .*Missing required configuration "group.id"/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((result, i) => {
      expect(result.code, cases[i]![0].join(' ')).toBe(1);
      expect(result.stderr.trim()).toMatch(cases[i]![1]);
    });
  });
});
