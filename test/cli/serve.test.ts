/**
 * `sluice serve` and the CLI over --bootstrap-server: the server prints one `listening on` line,
 * topics, produce, consume and groups work through it (kafkajs underneath), a second process on
 * the served data directory gets one clear error, a live group member shows with its assignment,
 * SIGTERM stops the server with exit code 0, and the data directory opens again afterwards with
 * everything in it. Also SASL logins and an unreachable server.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../src/client/partitioner.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { ZERO_UUID } from '../../src/protocol/wire/uuid.js';
import { platformaticDriver } from '../compat/clients.js';
import { TestClient } from '../server/helpers.js';
import { CliProcess, killRunning, lines, removeDir, runCli, tempDir } from './run-cli.js';

let root: string;

beforeAll(() => {
  root = tempDir();
});

afterAll(() => {
  killRunning();
  removeDir(root);
});

async function ok(args: string[], input?: string): Promise<string> {
  const result = await runCli(args, { input });
  expect(result.code, `sluice ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

/** Starts `sluice serve` on a free port and waits for its `listening on` line. */
async function serve(dataDir: string, extra: string[] = []): Promise<{ server: CliProcess; bootstrap: string }> {
  const server = new CliProcess(['serve', '--data-dir', dataDir, '--port', '0', '--shards', '1', '--group-initial-rebalance-delay-ms', '0', ...extra]);
  await server.waitForStdout((stdout) => stdout.includes('\n'), 'the listening line');
  const match = /^listening on (127\.0\.0\.1:\d+)\n$/.exec(server.stdout);
  expect(match, server.stdout).not.toBeNull();
  return { server, bootstrap: match![1] };
}

describe('sluice serve', () => {
  it('serves topics, produce, consume and groups, refuses a second process, and stops on SIGTERM', async () => {
    const dataDir = `${root}/served`;
    const { server, bootstrap } = await serve(dataDir);
    const b = ['--bootstrap-server', bootstrap];

    const second = await runCli(['topics', 'list', '--data-dir', dataDir]);
    expect(second.code).toBe(1);
    expect(lines(second.stderr)).toEqual([
      expect.stringMatching(/^error: data directory ".*served" is in use by process \d+; .* --bootstrap-server host:port$/),
    ]);

    expect(await ok(['topics', 'create', 'net', '--partitions', '3', '--config', 'retention.ms=3600000', ...b])).toBe(
      'created topic net with 3 partition(s)\n',
    );
    expect(JSON.parse(await ok(['topics', 'list', '--json', ...b]))).toContainEqual({ name: 'net', partitions: 3 });

    const input = Array.from({ length: 2_000 }, (_, i) => `k${i % 31}:v${i}`);
    const produced = await runCli(['produce', 'net', '--key-separator', ':', '--compression', 'lz4', '--json', ...b], { input: input.join('\n') });
    expect(produced.code).toBe(0);
    expect(JSON.parse(produced.stdout)).toMatchObject({ topic: 'net', records: 2_000 });

    const described = JSON.parse(await ok(['topics', 'describe', 'net', '--json', ...b]));
    expect(described.configs).toContainEqual({ name: 'retention.ms', value: '3600000', isDefault: false, source: 'topic' });
    const perPartition = [0, 1, 2].map((partition) =>
      input.filter((line) => partitionForKey(Buffer.from(line.slice(0, line.indexOf(':'))), 3) === partition),
    );
    expect(described.partitions).toEqual(perPartition.map((expected, partition) => ({ partition, leader: 0, replicas: [0], isr: [0], logStartOffset: 0, logEndOffset: expected.length })));

    // Without --group, each read runs in a temporary group, deleted (DeleteGroups) on the way out without a warning.
    const allRun = await runCli(['consume', 'net', '--from-beginning', '--max-messages', '2000', '--print-key', '--key-separator', ':', ...b]);
    expect(allRun.code).toBe(0);
    expect(allRun.stderr).not.toMatch(/warning/);
    expect([...lines(allRun.stdout)].sort()).toEqual([...input].sort());
    const oneRun = await runCli(['consume', 'net', '--partition', '1', '--offset', '0', '--max-messages', String(perPartition[1].length), ...b]);
    expect(oneRun.code).toBe(0);
    expect(oneRun.stderr).not.toMatch(/warning/);
    expect(lines(oneRun.stdout)).toEqual(perPartition[1].map((line) => line.slice(line.indexOf(':') + 1)));
    expect(JSON.parse(await ok(['groups', 'list', '--json', ...b])).map((group: { groupId: string }) => group.groupId)).not.toContainEqual(
      expect.stringMatching(/^sluice-cli-/),
    );

    // snappy and zstd through the server: the CLI's kafkajs client carries Sluice's codecs both ways.
    for (const codec of ['snappy', 'zstd']) {
      const values = Array.from({ length: 300 }, (_, i) => `${codec}-${i}-${'x'.repeat(i % 40)}`);
      expect((await runCli(['produce', codec, '--compression', codec, ...b], { input: values.join('\n') })).code).toBe(0);
      expect(lines(await ok(['consume', codec, '--from-beginning', '--max-messages', '300', ...b]))).toEqual(values);
    }

    // A line typed into a producer that keeps stdin open is sent at once, not when input ends.
    await ok(['topics', 'create', 'typed', ...b]);
    const typing = new CliProcess(['produce', 'typed', ...b]);
    typing.child.stdin.write('first line\n');
    expect(await ok(['consume', 'typed', '--from-beginning', '--max-messages', '1', ...b])).toBe('first line\n');
    typing.child.stdin.end('second line\n');
    expect((await typing.exited).code).toBe(0);

    // A member that keeps reading: groups describe shows it with its assignment.
    const member = new CliProcess(['consume', 'net', '--group', 'live', '--from-beginning', ...b]);
    member.child.stdin.end();
    await member.waitForStdout((stdout) => lines(stdout).length === 2_000, 'every record');
    const live = JSON.parse(await ok(['groups', 'describe', 'live', '--json', ...b]));
    expect(live).toMatchObject({ groupId: 'live', state: 'Stable', protocolType: 'consumer', members: [{ clientId: 'sluice-cli', assignment: [{ topic: 'net', partitions: [0, 1, 2] }] }] });
    expect(live.partitions.map((row: { partition: number; memberId: string }) => [row.partition, row.memberId])).toEqual(
      [0, 1, 2].map((partition) => [partition, live.members[0].memberId]),
    );
    expect(lines(await ok(['groups', 'list', ...b]))).toContainEqual(expect.stringMatching(/^live\s+Stable\s+1\s+consumer$/));
    member.child.kill('SIGTERM');
    const left = await member.exited;
    expect(left.code).toBe(0);
    expect(left.stderr).toContain('consumed 2000 records');
    const after = JSON.parse(await ok(['groups', 'describe', 'live', '--json', ...b]));
    // Over the wire there is no commit history to judge: lag without a status.
    expect(after).toMatchObject({ state: 'Empty', members: [], totalLag: 0, status: null });
    expect(after.partitions.map((row: { status: null }) => row.status)).toEqual([null, null, null]);
    const afterText = lines(await ok(['groups', 'describe', 'live', ...b]));
    expect(afterText[0]).toBe('Group: live\tState: Empty\tProtocol: consumer\tMembers: 0\tTotal lag: 0');
    expect(afterText[1]).toMatch(/^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID$/);
    expect(after.partitions.map((row: { committedOffset: number }) => row.committedOffset)).toEqual(perPartition.map((expected) => expected.length));

    server.child.kill('SIGTERM');
    const stopped = await server.exited;
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toBe(`listening on ${bootstrap}\n`);

    // The data directory is free again and holds everything: records, configs, committed offsets.
    const reopened = JSON.parse(await ok(['topics', 'describe', 'net', '--json', '--data-dir', dataDir]));
    expect(reopened.partitions).toEqual(described.partitions);
    const resumed = await runCli(['consume', 'net', '--group', 'live', '--timeout-ms', '300', '--data-dir', dataDir]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toBe('');
    expect(lines(await ok(['consume', 'net', '--from-beginning', '--max-messages', '2000', '--data-dir', dataDir])).sort()).toEqual(
      input.map((line) => line.slice(line.indexOf(':') + 1)).sort(),
    );
  });

  it('asks for a SASL login when the server requires one, and accepts the right one', async () => {
    const dataDir = `${root}/sasl`;
    const credentials = `${root}/users.json`;
    writeFileSync(credentials, JSON.stringify({ users: { alice: { password: 'alice-secret' } } }));
    const { server, bootstrap } = await serve(dataDir, ['--sasl-mechanisms', 'PLAIN,SCRAM-SHA-256', '--sasl-credentials-file', credentials]);
    const b = ['--bootstrap-server', bootstrap];
    try {
      const anonymous = await runCli(['topics', 'list', ...b]);
      expect(anonymous.code).toBe(1);
      expect(lines(anonymous.stderr)).toEqual([expect.stringMatching(/^error: .*closed the connection; if it requires SASL, give --sasl-mechanism/)]);
      const wrong = await runCli(['topics', 'list', '--sasl-mechanism', 'scram-sha-256', '--sasl-username', 'alice', '--sasl-password', 'guess', ...b]);
      expect(wrong.code).toBe(1);
      expect(lines(wrong.stderr)).toEqual([expect.stringMatching(/^error: the server at .* refused the login: /)]);
      const login = ['--sasl-mechanism', 'scram-sha-256', '--sasl-username', 'alice'];
      const listed = await runCli(['topics', 'list', '--json', ...login, ...b], { env: { SLUICE_SASL_PASSWORD: 'alice-secret' } });
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ name: '__consumer_offsets' }));
      expect(await ok(['topics', 'create', 'secure', '--sasl-mechanism', 'plain', '--sasl-username', 'alice', '--sasl-password', 'alice-secret', ...b])).toBe(
        'created topic secure with 1 partition(s)\n',
      );
    } finally {
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    }
  });

  it('keeps the fetch session @platformatic/kafka asks for (epoch 0) in its one --max-incremental-fetch-session-cache-slots slot', async () => {
    const { server, bootstrap } = await serve(`${root}/sessions`, [
      '--max-incremental-fetch-session-cache-slots',
      '1',
      '--min-incremental-fetch-session-eviction-ms',
      '3600000',
    ]);
    const client = platformaticDriver(bootstrap);
    const probe = await TestClient.connect(Number(bootstrap.split(':')[1]));
    try {
      await client.createTopic!('watched', 1);
      const records = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
      await client.produce('watched', records, 'none');
      const consumed = await client.consume('session-group', ['watched'], records.length);
      expect(consumed.map((r) => r.value)).toEqual(records.map((r) => r.value));
      // The client's fetches (session id 0, epoch 0) created a session that holds the only slot:
      // another full fetch asking for one is answered without.
      const metadata = await probe.send(Metadata, 12, { topics: [{ name: 'watched', topicId: ZERO_UUID }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      const fetched = await probe.send(Fetch, 17, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: 0,
        topics: [{ topicId: metadata.topics[0].topicId, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
      });
      expect(fetched).toMatchObject({ errorCode: 0, sessionId: 0 });
      expect(fetched.responses[0].partitions[0].highWatermark).toBe(records.length);
    } finally {
      probe.close();
      await client.close();
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    }
  });

  it('reports a server that is not there, and a port already taken, as one line each', async () => {
    const unreachable = await runCli(['topics', 'list', '--bootstrap-server', '127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(lines(unreachable.stderr)).toEqual([expect.stringMatching(/^error: cannot reach a Kafka server at 127\.0\.0\.1:1 .*is `sluice serve` running there\?$/)]);

    const { server, bootstrap } = await serve(`${root}/first`);
    try {
      const taken = await runCli(['serve', '--data-dir', `${root}/second`, '--port', bootstrap.split(':')[1]]);
      expect(taken.code).toBe(1);
      expect(lines(taken.stderr)).toEqual([expect.stringMatching(/^error: .*EADDRINUSE/)]);
      expect(taken.stdout).toBe('');
    } finally {
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    }
  });
});
