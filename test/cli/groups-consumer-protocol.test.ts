/**
 * `sluice groups list|describe` on a data directory that holds a KIP-848 consumer group: listed
 * beside the classic ones, described with its members and their partitions (topic names, not ids).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { quietLogger } from '../broker/broker-test-helpers.js';
import { joinHeartbeat } from '../support/consumer-group-heartbeat.js';
import { killRunning, removeDir, runCli, tempDir } from './run-cli.js';

const dataDir = tempDir();

afterAll(() => {
  killRunning();
  removeDir(dataDir);
});

describe('sluice groups with a consumer-protocol group', () => {
  it('lists and describes it', async () => {
    const broker = await Broker.open({ dataDir, shards: 1, logger: quietLogger });
    try {
      await broker.createTopic('t', { partitions: 2 });
      await broker.consumerGroups.heartbeat(joinHeartbeat('member-1', { groupId: 'cg', clientId: 'app' }));
    } finally {
      await broker.close();
    }
    const listed = await runCli(['groups', 'list', '--json', '--data-dir', dataDir]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([{ groupId: 'cg', state: 'Stable', protocolType: 'consumer', members: 1 }]);
    const described = await runCli(['groups', 'describe', 'cg', '--json', '--data-dir', dataDir]);
    expect(described.code, described.stderr).toBe(0);
    const report = JSON.parse(described.stdout);
    expect(report).toMatchObject({
      groupId: 'cg',
      state: 'Stable',
      protocolType: 'consumer',
      protocol: 'uniform',
      members: [{ memberId: 'member-1', clientId: 'app', assignment: [{ topic: 't', partitions: [0, 1] }] }],
    });
    expect(report.partitions.map((row: { partition: number; memberId: string }) => [row.partition, row.memberId])).toEqual([
      [0, 'member-1'],
      [1, 'member-1'],
    ]);
  });
});
