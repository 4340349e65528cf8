/**
 * `sluice topics alter-config`, `sluice topics delete-records` and `sluice broker alter-config`, on a data directory and against
 * a running server (through kafkajs, AlterConfigs and DeleteRecords on the wire): the change, what
 * `topics describe` shows after it, and the one-line errors of bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/sluice.js';
import { batchOf, quietLogger } from '../broker/broker-test-helpers.js';
import { startServer, type TestServer } from '../server/helpers.js';
import { lines, removeDir, runCli, tempDir } from './run-cli.js';

let root: string;
let dirCount = 0;

beforeAll(() => {
  root = tempDir();
});

afterAll(() => {
  removeDir(root);
});

async function ok(args: string[]): Promise<string> {
  const result = await runCli(args);
  expect(result.code, `sluice ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('on a data directory', () => {
  it('alter-config adds and deletes configs; delete-records moves the log start of one or every partition', async () => {
    const dir = `${root}/data-${dirCount++}`;
    const d = ['--data-dir', dir];
    await ok(['topics', 'create', 'orders', '--partitions', '2', '--config', 'retention.ms=60000', ...d]);
    expect(await ok(['topics', 'alter-config', 'orders', '--add-config', 'segment.ms=120000', '--add-config', 'cleanup.policy=compact,delete', '--delete-config', 'retention.ms', ...d])).toBe(
      'altered topic orders: configs cleanup.policy=compact,delete,segment.ms=120000\n',
    );
    expect(lines(await ok(['topics', 'describe', 'orders', ...d]))[0]).toBe('Topic: orders\tPartitions: 2\tConfigs: cleanup.policy=compact,delete,segment.ms=120000');

    const sluice = await Sluice.open({ dataDir: dir, shards: 1, logger: quietLogger });
    await sluice.broker.produce('orders', 0, batchOf(['a', 'b', 'c', 'd']), 1);
    await sluice.broker.produce('orders', 1, batchOf(['e', 'f']), 1);
    await sluice.close();

    expect(lines(await ok(['topics', 'delete-records', 'orders', '--partition', '0', '--offset', '3', ...d]))).toEqual([
      expect.stringMatching(/^PARTITION\s+LOG-START-OFFSET$/),
      expect.stringMatching(/^0\s+3$/),
    ]);
    expect(JSON.parse(await ok(['topics', 'delete-records', 'orders', '--offset', '-1', '--json', ...d]))).toEqual([
      { partition: 0, logStartOffset: 4 },
      { partition: 1, logStartOffset: 2 },
    ]);
  });

  it('broker alter-config sets topic defaults for this broker or cluster-wide; a topic without its own override follows them', async () => {
    const dir = `${root}/data-${dirCount++}`;
    const d = ['--data-dir', dir];
    await ok(['topics', 'create', 'follows', ...d]);
    expect(await ok(['broker', 'alter-config', '--cluster-default', '--add-config', 'log.retention.ms=3600000', ...d])).toBe(
      'altered the cluster-wide default: dynamic configs log.retention.ms=3600000\n',
    );
    expect(JSON.parse(await ok(['broker', 'alter-config', '--add-config', 'message.max.bytes=5000', '--json', ...d]))).toEqual({ 'message.max.bytes': '5000' });
    const described = JSON.parse(await ok(['topics', 'describe', 'follows', '--json', ...d])) as { configs: { name: string; value: string; source: string }[] };
    expect(described.configs.filter((c) => c.name === 'retention.ms' || c.name === 'max.message.bytes')).toEqual([
      { name: 'max.message.bytes', value: '5000', isDefault: false, source: 'dynamic-broker' },
      { name: 'retention.ms', value: '3600000', isDefault: false, source: 'dynamic-default' },
    ]);
    const bad = await runCli(['broker', 'alter-config', '--add-config', 'retention.ms=1', ...d]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown dynamic broker config "retention.ms"/);
  });

  it('answers bad input with one line naming the problem', async () => {
    const dir = `${root}/data-${dirCount++}`;
    const d = ['--data-dir', dir];
    await ok(['topics', 'create', 'orders', ...d]);
    const cases: [string[], RegExp][] = [
      [['topics', 'alter-config', 'orders', ...d], /nothing to change/],
      [['topics', 'alter-config', 'orders', '--add-config', 'retention.ms=soon', ...d], /invalid value "soon" for topic config retention.ms/],
      [['topics', 'alter-config', 'orders', '--add-config', 'retention.ms=1', '--delete-config', 'retention.ms', ...d], /both added and deleted/],
      [['topics', 'alter-config', 'missing', '--add-config', 'retention.ms=1', ...d], /missing/],
      [['topics', 'delete-records', 'orders', '--offset', '5', ...d], /out of range/],
      [['topics', 'delete-records', 'orders', ...d], /--offset/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stderr).toMatch(message);
    }
  });
});

describe('against a server', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startServer();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('alter-config and delete-records go over the wire and the broker applies them', async () => {
    const b = ['--bootstrap-server', t.bootstrap];
    await t.broker.createTopic('remote', { partitions: 1, configs: { 'retention.ms': '60000' } });
    await t.broker.produce('remote', 0, batchOf(['a', 'b', 'c']), 1);
    expect(await ok(['topics', 'alter-config', 'remote', '--add-config', 'max.message.bytes=5000', '--delete-config', 'retention.ms', ...b])).toBe(
      'altered topic remote: configs max.message.bytes=5000\n',
    );
    expect(t.broker.topicMetadata('remote').configs).toEqual({ 'max.message.bytes': '5000' });
    const invalid = await runCli(['topics', 'alter-config', 'remote', '--add-config', 'segment.bytes=10', ...b]);
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toMatch(/segment.bytes/);

    expect(JSON.parse(await ok(['topics', 'delete-records', 'remote', '--offset', '2', '--json', ...b]))).toEqual([{ partition: 0, logStartOffset: 2 }]);
    expect(t.broker.partitionOffsets('remote', 0).logStartOffset).toBe(2);
    const beyond = await runCli(['topics', 'delete-records', 'remote', '--offset', '9', ...b]);
    expect(beyond.code).not.toBe(0);
    expect(beyond.stderr).toMatch(/remote-0 below offset 9/);
  });

  it("broker alter-config goes over the wire (AlterConfigs on this broker's resource) and keeps the other scope", async () => {
    const b = ['--bootstrap-server', t.bootstrap];
    await t.broker.alterBrokerConfigs('broker', { 'log.roll.ms': '600000' });
    expect(await ok(['broker', 'alter-config', '--add-config', 'log.retention.bytes=1073741824', ...b])).toBe(
      'altered this broker: dynamic configs log.retention.bytes=1073741824,log.roll.ms=600000\n',
    );
    await t.broker.alterBrokerConfigs('default', { 'log.cleanup.policy': 'compact,delete' });
    await ok(['broker', 'alter-config', '--delete-config', 'log.roll.ms', ...b]);
    expect(t.broker.brokerConfigs('broker')).toEqual({ 'log.retention.bytes': '1073741824' });
    expect(t.broker.brokerConfigs('default')).toEqual({ 'log.cleanup.policy': 'compact,delete' });
    const clusterWide = await runCli(['broker', 'alter-config', '--cluster-default', '--add-config', 'log.retention.ms=1000', ...b]);
    expect(clusterWide.code).not.toBe(0);
    expect(clusterWide.stderr).toMatch(/cannot be changed over --bootstrap-server/);
  });
});
