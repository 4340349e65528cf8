/**
 * The `sluice` CLI on a data directory (embedded broker): topics create / list / describe /
 * delete, produce from stdin and consume to stdout (keys, partitions, compression, groups that
 * resume), groups list / describe with committed offsets, lag and the broker's lag status,
 * --help everywhere, and the
 * exit codes and one-line errors of bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../src/client/partitioner.js';
import { Sluice } from '../../src/sluice.js';
import { batchOf, quietLogger } from '../broker/broker-test-helpers.js';
import { CliProcess, killRunning, lines, removeDir, runCli, tempDir } from './run-cli.js';

let root: string;

beforeAll(() => {
  root = tempDir();
});

afterAll(() => {
  killRunning();
  removeDir(root);
});

/** A fresh data directory under the test's temp root. */
let dirCount = 0;
function dataDir(): string {
  return `${root}/data-${dirCount++}`;
}

/** Runs `run` over `items`, a few at a time: the machine is shared. */
async function inBatches<T, R>(items: readonly T[], run: (item: T) => Promise<R>, concurrency = 4): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += concurrency) results.push(...(await Promise.all(items.slice(i, i + concurrency).map(run))));
  return results;
}

/** Runs the CLI and expects success; returns stdout. */
async function ok(args: string[], input?: string): Promise<string> {
  const result = await runCli(args, { input });
  expect(result.code, `sluice ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('topics', () => {
  it('creates, lists, describes and deletes a topic, in text and JSON', async () => {
    const dir = dataDir();
    const d = ['--data-dir', dir];
    expect(await ok(['topics', 'create', 'orders', '--partitions', '3', '--config', 'retention.ms=60000', '--config', 'cleanup.policy=delete', ...d])).toBe(
      'created topic orders with 3 partition(s)\n',
    );

    const listed = lines(await ok(['topics', 'list', ...d]));
    expect(listed[0]).toMatch(/^TOPIC\s+PARTITIONS$/);
    expect(listed).toContainEqual(expect.stringMatching(/^orders\s+3$/));
    const listedJson = JSON.parse(await ok(['topics', 'list', '--json', ...d])) as { name: string; partitions: number }[];
    expect(listedJson).toContainEqual({ name: 'orders', partitions: 3 });

    const text = lines(await ok(['topics', 'describe', 'orders', ...d]));
    expect(text[0]).toBe('Topic: orders\tPartitions: 3\tConfigs: cleanup.policy=delete,retention.ms=60000');
    expect(text.slice(1)).toEqual([
      expect.stringMatching(/^PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+LOG-START-OFFSET\s+LOG-END-OFFSET$/),
      expect.stringMatching(/^0\s+0\s+0\s+0\s+0\s+0$/),
      expect.stringMatching(/^1\s+0\s+0\s+0\s+0\s+0$/),
      expect.stringMatching(/^2\s+0\s+0\s+0\s+0\s+0$/),
    ]);
    const described = JSON.parse(await ok(['topics', 'describe', 'orders', '--json', ...d]));
    expect(described.partitions).toEqual([0, 1, 2].map((partition) => ({ partition, leader: 0, replicas: [0], isr: [0], logStartOffset: 0, logEndOffset: 0 })));
    expect(described.configs).toContainEqual({ name: 'retention.ms', value: '60000', isDefault: false, source: 'topic' });
    expect(described.configs).toContainEqual(expect.objectContaining({ name: 'segment.bytes', isDefault: true, source: 'default' }));

    const again = await runCli(['topics', 'create', 'orders', ...d]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('error: topic "orders" already exists\n');
    expect(await ok(['topics', 'create', 'orders', '--if-not-exists', ...d])).toBe('topic orders exists, with 3 partition(s)\n');

    expect(await ok(['topics', 'delete', 'orders', ...d])).toBe('deleted topic orders\n');
    expect(JSON.parse(await ok(['topics', 'list', '--json', ...d]))).not.toContainEqual(expect.objectContaining({ name: 'orders' }));
    const missing = await runCli(['topics', 'describe', 'orders', ...d]);
    expect(missing.code).toBe(1);
    expect(lines(missing.stderr)).toEqual([expect.stringMatching(/^error: topic "orders" does not exist; /)]);
  });

  it('reports an invalid topic config as one line naming it', async () => {
    const result = await runCli(['topics', 'create', 'bad', '--config', 'retention.ms=soon', '--data-dir', dataDir()]);
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([expect.stringMatching(/^error: .*retention\.ms/)]);
  });
});

describe('produce and consume', () => {
  const d = (): string[] => ['--data-dir', `${root}/keyed`];
  const input = Array.from({ length: 10_000 }, (_, i) => `key-${i % 97}:value-${i}`);

  it('produces 10,000 keyed lines and consumes them back in per-partition order', async () => {
    await ok(['topics', 'create', 'keyed', '--partitions', '4', ...d()]);
    const produced = await runCli(['produce', 'keyed', '--key-separator', ':', ...d()], { input: input.join('\n') + '\n' });
    expect(produced.code).toBe(0);
    expect(produced.stderr).toMatch(/^produced 10000 records \(\d+ bytes\) to keyed in \d+ ms/);

    const all = lines(await ok(['consume', 'keyed', '--from-beginning', '--max-messages', '10000', '--print-key', '--key-separator', ':', ...d()]));
    expect(all).toHaveLength(10_000);
    expect([...all].sort()).toEqual([...input].sort());

    // Each partition, read alone, holds exactly the lines whose key Kafka's partitioner maps to it, in input order.
    for (let partition = 0; partition < 4; partition++) {
      const expected = input.filter((line) => partitionForKey(Buffer.from(line.slice(0, line.indexOf(':'))), 4) === partition);
      const values = lines(
        await ok(['consume', 'keyed', '--partition', String(partition), '--offset', '0', '--max-messages', String(expected.length), ...d()]),
      );
      expect(values).toEqual(expected.map((line) => line.slice(line.indexOf(':') + 1)));
    }
  });

  it('resumes a group where its last run stopped, and groups describe shows committed offsets and lag', async () => {
    const first = lines(await ok(['consume', 'keyed', '--group', 'readers', '--from-beginning', '--max-messages', '6000', ...d()]));
    expect(first).toHaveLength(6_000);
    // Stopped after 6000 of 10000: per partition it committed, the lag is what it has not read there.
    const report = JSON.parse(await ok(['groups', 'describe', 'readers', '--json', ...d()]));
    expect(report).toMatchObject({ groupId: 'readers', state: 'Empty', protocolType: 'consumer', members: [] });
    const ends = JSON.parse(await ok(['topics', 'describe', 'keyed', '--json', ...d()])).partitions as { partition: number; logEndOffset: number }[];
    const rows = report.partitions as { topic: string; partition: number; committedOffset: number; logEndOffset: number; lag: number; status: string; memberId: null }[];
    expect(rows.length).toBeGreaterThan(0);
    // How many commits the run made, and how far apart, is the run's business: any status, but one for every row.
    const anyStatus = /^(OK|WARNING|STALLED|STOPPED|REWIND)$/;
    for (const row of rows) {
      expect(row).toMatchObject({
        topic: 'keyed',
        memberId: null,
        logEndOffset: ends[row.partition].logEndOffset,
        lag: row.logEndOffset - row.committedOffset,
        status: expect.stringMatching(anyStatus),
      });
    }
    expect(rows.reduce((sum, row) => sum + row.committedOffset, 0)).toBe(6_000);
    expect(report.totalLag).toBe(rows.reduce((sum, row) => sum + row.lag, 0));
    expect(report.totalLag).toBeGreaterThan(0);

    const text = lines(await ok(['groups', 'describe', 'readers', ...d()]));
    expect(text[0]).toBe(`Group: readers\tState: Empty\tProtocol: consumer\tMembers: 0\tTotal lag: ${report.totalLag}\tStatus: ${report.status}`);
    expect(text[1]).toMatch(/^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+STATUS\s+CONSUMER-ID\s+HOST\s+CLIENT-ID$/);
    const row = rows[0];
    expect(text[2]).toMatch(
      new RegExp(`^keyed\\s+${row.partition}\\s+${row.committedOffset}\\s+${row.logEndOffset}\\s+${row.lag}\\s+${row.status}\\s+-\\s+-\\s+-$`),
    );

    // The second run reads only what the first left (committed offsets win over --from-beginning,
    // which applies to the partitions the first run never reached): together, every line once.
    const second = lines(await ok(['consume', 'keyed', '--group', 'readers', '--from-beginning', '--max-messages', '4000', ...d()]));
    expect([...first, ...second].sort()).toEqual(input.map((line) => line.slice(line.indexOf(':') + 1)).sort());
    const caughtUp = JSON.parse(await ok(['groups', 'describe', 'readers', '--json', ...d()]));
    expect(caughtUp.totalLag).toBe(0);

    // New records only: the third run gets exactly those, and stops after --timeout-ms without more.
    await ok(['produce', 'keyed', ...d()], 'late-1\nlate-2\n');
    const third = await runCli(['consume', 'keyed', '--group', 'readers', '--timeout-ms', '300', ...d()]);
    expect(third.code).toBe(0);
    expect(lines(third.stdout).sort()).toEqual(['late-1', 'late-2']);
    expect(third.stderr).toBe('consumed 2 records\n');

    const groups = lines(await ok(['groups', 'list', ...d()]));
    expect(groups).toEqual([expect.stringMatching(/^GROUP\s+STATE\s+MEMBERS\s+PROTOCOL-TYPE$/), expect.stringMatching(/^readers\s+Empty\s+0\s+consumer$/)]);
    expect(JSON.parse(await ok(['groups', 'list', '--json', ...d()]))).toEqual([{ groupId: 'readers', state: 'Empty', protocolType: 'consumer', members: 0 }]);
    const unknown = await runCli(['groups', 'describe', 'nobody', ...d()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: group "nobody" does not exist\n');
  });

  it('round-trips gzip, snappy, lz4 and zstd batches, CRLF lines, empty lines and an unterminated last line', async () => {
    const topicDir = ['--data-dir', dataDir()];
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
      const values = Array.from({ length: 500 }, (_, i) => `${codec}-${i}-${'x'.repeat(i % 50)}`);
      const result = await runCli(['produce', codec, '--compression', codec, '--acks', '1', '--json', ...topicDir], { input: values.join('\n') });
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout);
      expect(summary).toMatchObject({ topic: codec, records: 500, bytes: values.reduce((sum, value) => sum + value.length, 0) });
      expect(lines(await ok(['consume', codec, '--from-beginning', '--max-messages', '500', ...topicDir]))).toEqual(values);
    }
    await ok(['produce', 'crlf', ...topicDir], 'a\r\n\r\nb\r\n');
    expect(await ok(['consume', 'crlf', '--from-beginning', '--max-messages', '3', ...topicDir])).toBe('a\n\nb\n');
    // Without a key: --print-key shows null, as Kafka's console consumer.
    expect(await ok(['consume', 'crlf', '--from-beginning', '--max-messages', '1', '--print-key', ...topicDir])).toBe('null\ta\n');
  });

  it('stops at a line without the key separator, after sending the lines before it', async () => {
    const topicDir = ['--data-dir', dataDir()];
    const result = await runCli(['produce', 'strict', '--key-separator', '\\t', ...topicDir], { input: 'k1\tv1\nk2\tv2\nno separator\nk4\tv4\n' });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([expect.stringMatching(/^error: line 3 has no key separator "\\t"/)]);
    expect(await ok(['consume', 'strict', '--from-beginning', '--max-messages', '2', '--print-key', ...topicDir])).toBe('k1\tv1\nk2\tv2\n');
  });

  it('refuses an offset outside the partition and a partition the topic lacks', async () => {
    const outside = await runCli(['consume', 'keyed', '--partition', '0', '--offset', '999999', ...d()]);
    expect(outside.code).toBe(1);
    expect(lines(outside.stderr)).toEqual([expect.stringMatching(/^error: offset 999999 in partition 0 of topic "keyed" is out of range/)]);
    const partition = await runCli(['consume', 'keyed', '--partition', '9', ...d()]);
    expect(partition.code).toBe(1);
    expect(lines(partition.stderr)).toEqual([expect.stringMatching(/^error: partition 9 of topic "keyed" does not exist/)]);
  });

  it('stops quietly when its reader goes away, and exits 0 on SIGTERM after committing', async () => {
    // Far more output than a pipe holds, so the consumer is still writing when the reader leaves.
    const manyDir = ['--data-dir', dataDir()];
    const many = Array.from({ length: 100_000 }, (_, i) => `line-${i}`);
    await ok(['produce', 'many', '--batch-records', '10000', ...manyDir], many.join('\n'));
    const piped = new CliProcess(['consume', 'many', '--from-beginning', ...manyDir]);
    piped.child.stdin.end();
    await piped.waitForStdout((stdout) => stdout.length > 0, 'a record');
    piped.child.stdout.destroy();
    const closed = await piped.exited;
    expect(closed.code).toBe(0);
    const printed = Number(/^consumed (\d+) records\n$/.exec(closed.stderr)?.[1]);
    expect(printed).toBeLessThan(many.length);

    const waiting = new CliProcess(['consume', 'many', '--group', 'sigterm', '--from-beginning', ...manyDir]);
    waiting.child.stdin.end();
    await waiting.waitForStdout((stdout) => stdout.endsWith('line-99999\n'), 'every record');
    waiting.child.kill('SIGTERM');
    const stopped = await waiting.exited;
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toBe(many.join('\n') + '\n');
    expect(stopped.stderr).toBe('consumed 100000 records\n');
    // It committed what it printed on the way out.
    const report = JSON.parse(await ok(['groups', 'describe', 'sigterm', '--json', ...manyDir]));
    expect(report.partitions).toEqual([{ topic: 'many', partition: 0, committedOffset: 100_000, logEndOffset: 100_000, lag: 0, status: 'OK', memberId: null, outOfRange: false }]);
  });
});

describe('groups describe status', () => {
  it("shows the broker's Burrow-style status per partition and for the group, from commits it replays on open", async () => {
    const dir = dataDir();
    // One commit per partition, made by another process than the CLI: the CLI's broker knows it
    // only from __consumer_offsets, where each commit keeps the end it was measured against.
    const sluice = await Sluice.open({ dataDir: dir, shards: 1, logger: quietLogger });
    try {
      const admin = sluice.admin();
      await admin.createTopics({ topics: [{ topic: 'judged', numPartitions: 2 }] });
      const ten = Array.from({ length: 10 }, (_, i) => `v${i}`);
      await sluice.broker.produce('judged', 0, batchOf(ten), 1);
      await sluice.broker.produce('judged', 1, batchOf(ten), 1);
      await admin.setOffsets({ groupId: 'judge', topic: 'judged', partitions: [{ partition: 0, offset: 4 }, { partition: 1, offset: 10 }] });
    } finally {
      await sluice.close();
    }
    // Partition 0 is behind and nobody has committed since: STOPPED, so the group is in ERROR.
    const report = JSON.parse(await ok(['groups', 'describe', 'judge', '--json', '--data-dir', dir]));
    expect(report).toMatchObject({ groupId: 'judge', state: 'Empty', totalLag: 6, status: 'ERROR' });
    expect(report.partitions).toEqual([
      { topic: 'judged', partition: 0, committedOffset: 4, logEndOffset: 10, lag: 6, status: 'STOPPED', memberId: null, outOfRange: false },
      { topic: 'judged', partition: 1, committedOffset: 10, logEndOffset: 10, lag: 0, status: 'OK', memberId: null, outOfRange: false },
    ]);
    const text = lines(await ok(['groups', 'describe', 'judge', '--data-dir', dir]));
    expect(text).toEqual([
      'Group: judge\tState: Empty\tProtocol: -\tMembers: 0\tTotal lag: 6\tStatus: ERROR',
      expect.stringMatching(/^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+STATUS\s+CONSUMER-ID\s+HOST\s+CLIENT-ID$/),
      expect.stringMatching(/^judged\s+0\s+4\s+10\s+6\s+STOPPED\s+-\s+-\s+-$/),
      expect.stringMatching(/^judged\s+1\s+10\s+10\s+0\s+OK\s+-\s+-\s+-$/),
    ]);
  });
});

describe('help and usage errors', () => {
  it('prints help for every command and subcommand', async () => {
    const commands = [
      [],
      ['serve'],
      ['topics'],
      ['topics', 'create'],
      ['topics', 'list'],
      ['topics', 'describe'],
      ['topics', 'delete'],
      ['produce'],
      ['consume'],
      ['groups'],
      ['groups', 'list'],
      ['groups', 'describe'],
    ];
    const results = await inBatches(commands, (path) => runCli([...path, '--help']));
    results.forEach((result, i) => {
      expect(result.code, commands[i].join(' ')).toBe(0);
      expect(result.stdout).toContain(`Usage: sluice ${commands[i].join(' ')}`.trimEnd());
    });
    expect(results[7].stdout).toContain('--key-separator <sep>');
    expect(results[8].stdout).toContain('--isolation-level <level>');
    expect(results[4].stdout).toContain('--bootstrap-server <host:port>');
    expect(results[11].stdout).toContain('STALLED  committing, but the committed offset does not move');
    expect(results[11].stdout).toContain('With --bootstrap-server there is no STATUS');
  });

  it('exits 2 with one error line for bad flags and arguments', async () => {
    const cases: [string[], RegExp][] = [
      [['topics', 'list', '--bogus'], /^error: unknown option '--bogus'$/],
      [['topics', 'craete', 'x'], /^error: unknown command 'craete' \(Did you mean create\?\)$/],
      [['topics', 'create', 'x', '--partitions', 'three'], /^error: option '--partitions <count>' argument 'three' is invalid\. expected an integer from 1 to 2147483647, got "three"$/],
      [['topics', 'create', 'x', '--config', 'retention.ms'], /^error: option .*--config.* expected name=value/],
      [['topics', 'create'], /^error: missing required argument 'name'$/],
      [['produce', 't', '--compression', 'zip'], /^error: option '--compression <codec>' argument 'zip' is invalid\. Allowed choices are none, gzip, snappy, lz4, zstd\.$/],
      [['produce', 't', '--acks', '2'], /^error: option '--acks <acks>' argument '2' is invalid/],
      [['consume', 't', '--isolation-level', 'dirty'], /^error: option '--isolation-level <level>' argument 'dirty' is invalid/],
      [['consume', 't', '--max-messages', '-1'], /^error: option '--max-messages <n>' argument '-1' is invalid/],
      [['consume', 't', '--offset', '5'], /^error: --offset needs --partition/],
      [['consume', 't', '--partition', '0', '--group', 'g'], /^error: --partition and --group exclude each other/],
      [['consume', 't', '--partition', '0', '--offset', '1', '--from-beginning'], /^error: --offset and --from-beginning exclude each other/],
      [['topics', 'list', '--bootstrap-server', 'nowhere'], /^error: option '--bootstrap-server <host:port>' argument 'nowhere' is invalid/],
      [['topics', 'list', '--bootstrap-server', '127.0.0.1:9092', '--data-dir', 'x'], /^error: option '--data-dir <dir>' cannot be used with option '--bootstrap-server <host:port>'$/],
      [['topics', 'list', '--sasl-mechanism', 'plain'], /^error: the --sasl-\* options apply to --bootstrap-server/],
      [['topics', 'list', '--bootstrap-server', '127.0.0.1:9092', '--sasl-mechanism', 'plain'], /^error: SASL needs --sasl-mechanism, --sasl-username and --sasl-password/],
      [['serve', '--sasl-mechanisms', 'PLAIN'], /^error: --sasl-mechanisms and --sasl-credentials-file go together$/],
      [['serve', '--port', '70000'], /^error: option '--port <port>' argument '70000' is invalid/],
      [['serve', '--auto-create-topics', 'yes'], /^error: option '--auto-create-topics <bool>' argument 'yes' is invalid\. expected true or false/],
      [['serve', '--fetch-max-bytes', '100'], /^error: option '--fetch-max-bytes <bytes>' argument '100' is invalid/],
      [['serve', '--max-incremental-fetch-session-cache-slots', '-1'], /^error: option '--max-incremental-fetch-session-cache-slots <n>' argument '-1' is invalid/],
      [['serve', '--connections-max-per-ip', '0'], /^error: option '--connections-max-per-ip <n>' argument '0' is invalid/],
      [['serve', '--sasl-mechanisms', 'GSSAPI'], /^error: option '--sasl-mechanisms <list>' argument 'GSSAPI' is invalid\. unknown SASL mechanism/],
    ];
    const results = await inBatches(cases, ([args]) => runCli(args));
    results.forEach((result, i) => {
      const [args, pattern] = cases[i];
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(lines(result.stderr), args.join(' ')).toEqual([expect.stringMatching(pattern)]);
      expect(result.stdout).toBe('');
    });
  });

  it('prints a stack only with SLUICE_DEBUG=1', async () => {
    const args = ['topics', 'describe', 'none', '--data-dir', dataDir()];
    expect(lines((await runCli(args)).stderr)).toHaveLength(1);
    const debug = await runCli(args, { env: { SLUICE_DEBUG: '1' } });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^error: topic "none" does not exist.*\nTopicNotFoundError: .*\n\s+at /);
  });
});
