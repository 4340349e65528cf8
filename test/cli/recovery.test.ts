/**
 * Visible recovery from the command line, on real files: the inspection commands refuse a data
 * directory that recovery would change (a corrupt batch in the middle of a segment), leave every
 * file byte-identical and name the command that repairs it; `sluice recover` repairs it and says
 * what it cut; `sluice serve` prints the one-line recovery summary at start; a running server's
 * directory still gives an inspector DataDirLockedError.
 */
import { createHash } from 'node:crypto';
import { openSync, readFileSync, readdirSync, statSync, writeSync, closeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { CliProcess, killRunning, lines, removeDir, runCli, tempDir } from './run-cli.js';

let root: string;

beforeAll(() => {
  root = tempDir();
});

afterAll(() => {
  killRunning();
  removeDir(root);
});

/** Every file under `dir` with the SHA-256 of its bytes, by relative path. */
function hashTree(dir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else hashes[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return hashes;
}

/** A data directory with topic t (2,000 records in 4 produce runs, one group commit) closed cleanly, then a byte of the last batch flipped. */
async function damagedDataDir(name: string): Promise<{ dataDir: string; segment: string }> {
  const dataDir = join(root, name);
  expect((await runCli(['topics', 'create', 't', '--partitions', '1', '--data-dir', dataDir])).code).toBe(0);
  for (let run = 0; run < 4; run++) {
    const input = Array.from({ length: 500 }, (_, i) => `v${run * 500 + i}`).join('\n');
    expect((await runCli(['produce', 't', '--data-dir', dataDir], { input })).code).toBe(0);
  }
  const consumed = await runCli(['consume', 't', '--group', 'g', '--from-beginning', '--max-messages', '10', '--data-dir', dataDir]);
  expect(consumed.code, consumed.stderr).toBe(0);
  const segment = join(dataDir, 't-0', '00000000000000000000.log');
  const sizeBytes = statSync(segment).size;
  const fd = openSync(segment, 'r+');
  try {
    // Inside the last batch: its CRC fails, so recovery would cut it, keeping the batches before it.
    const at = sizeBytes - 10;
    const byte = readFileSync(segment)[at];
    writeSync(fd, Buffer.from([byte ^ 0xff]), 0, 1, at);
  } finally {
    closeSync(fd);
  }
  return { dataDir, segment };
}

/** Every file under `dir` with its size and mtime in ns, by relative path. */
function statTree(dir: string): Record<string, string> {
  const stats: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      const stat = statSync(path, { bigint: true });
      if (stat.isDirectory()) walk(path);
      else stats[relative(dir, path)] = `${stat.size} bytes, mtime ${stat.mtimeNs}`;
    }
  };
  walk(dir);
  return stats;
}

describe('recovery from the command line', () => {
  it('inspecting an undamaged directory changes no file, neither its bytes nor its mtime (the coordinator epoch included)', async () => {
    const dataDir = join(root, 'undamaged');
    expect((await runCli(['topics', 'create', 't', '--partitions', '1', '--data-dir', dataDir])).code).toBe(0);
    expect((await runCli(['produce', 't', '--data-dir', dataDir], { input: 'a\nb\nc' })).code).toBe(0);
    const consumed = await runCli(['consume', 't', '--group', 'g', '--from-beginning', '--max-messages', '3', '--data-dir', dataDir]);
    expect(consumed.code, consumed.stderr).toBe(0);
    const hashes = hashTree(dataDir);
    const stats = statTree(dataDir);
    expect(Object.keys(stats)).toContain(join('__sluice_meta', 'transactions.json'));
    for (const args of [['topics', 'describe', 't'], ['topics', 'list'], ['groups', 'list'], ['groups', 'describe', 'g']]) {
      const result = await runCli([...args, '--data-dir', dataDir]);
      expect(result.code, result.stderr).toBe(0);
      expect(hashTree(dataDir), args.join(' ')).toEqual(hashes);
      expect(statTree(dataDir), args.join(' ')).toEqual(stats);
    }
  });

  it('inspection refuses a directory that needs recovery and changes nothing; recover repairs it and says what it cut', async () => {
    const { dataDir, segment } = await damagedDataDir('damaged');
    const before = hashTree(dataDir);
    for (const args of [['topics', 'describe', 't'], ['topics', 'list'], ['groups', 'list'], ['groups', 'describe', 'g']]) {
      const result = await runCli([...args, '--data-dir', dataDir]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(lines(result.stderr)).toEqual([
        expect.stringMatching(
          new RegExp(`^error: data directory ".*damaged" needs recovery, and an inspection does not change it: t-0: recovery would cut \\d+ bytes from the end of .*00000000000000000000\\.log .*; run \`sluice recover --data-dir .*damaged\``),
        ),
      ]);
      expect(hashTree(dataDir), args.join(' ')).toEqual(before);
    }

    const recovered = await runCli(['recover', '--data-dir', dataDir]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(lines(recovered.stdout)).toEqual([
      expect.stringMatching(/^recovery: \d+ partition\(s\) opened, 1 repaired; [1-9]\d* byte\(s\) truncated, 0 segment\(s\) removed, /),
    ]);
    expect(recovered.stderr).toContain(`recovery cut `);
    expect(recovered.stderr).toContain(segment);

    const described = await runCli(['topics', 'describe', 't', '--json', '--data-dir', dataDir]);
    expect(described.code, described.stderr).toBe(0);
    const end = JSON.parse(described.stdout).partitions[0].logEndOffset as number;
    expect(end).toBeGreaterThan(0);
    expect(end).toBeLessThan(2_000);
    // Repaired: inspecting again changes no log or index file.
    const repaired = hashTree(join(dataDir, 't-0'));
    expect((await runCli(['topics', 'describe', 't', '--data-dir', dataDir])).code).toBe(0);
    expect(hashTree(join(dataDir, 't-0'))).toEqual(repaired);
  });

  it('sluice serve prints the recovery summary at start, and an inspector of its directory gets the lock error', async () => {
    const { dataDir } = await damagedDataDir('served');
    const server = new CliProcess(['serve', '--data-dir', dataDir, '--port', '0', '--shards', '1']);
    await server.waitForStdout((stdout) => stdout.includes('\n'), 'the listening line');
    expect(server.stdout).toMatch(/^listening on 127\.0\.0\.1:\d+\n$/);
    await eventually(() => /recovery: \d+ partition\(s\) opened/.test(server.stderr), { what: 'the recovery summary on stderr' });
    expect(server.stderr).toMatch(/recovery: \d+ partition\(s\) opened, 1 repaired; [1-9]\d* byte\(s\) truncated, 0 segment\(s\) removed, \d+ index\(es\) rebuilt, 0 snapshot\(s\) discarded, 0 leftover file\(s\) removed\n/);
    // Each repair was logged before the summary, from the shard thread that made it.
    expect(server.stderr.indexOf('shard 0: recovery cut ')).toBeGreaterThanOrEqual(0);
    expect(server.stderr.indexOf('shard 0: recovery cut ')).toBeLessThan(server.stderr.indexOf('recovery: '));

    const inspector = await runCli(['topics', 'describe', 't', '--data-dir', dataDir]);
    expect(inspector.code).toBe(1);
    expect(inspector.stderr).toMatch(/is in use by process \d+/);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });
});
