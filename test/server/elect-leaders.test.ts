/**
 * ElectLeaders on a single broker: it is the only replica and the leader of every partition it
 * holds, so each one named answers ELECTION_NOT_NEEDED (and every partition, asked with a null
 * list, leaves nothing to report); a partition it does not hold is UNKNOWN_TOPIC_OR_PARTITION.
 * Checked raw at each version and through kafka-ts, a client with its own ElectLeaders codec.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, API_ERROR, KafkaTSApiError, LogLevel, createKafkaClient, setLogLevel } from 'kafka-ts';
import { ElectLeaders } from '../../src/protocol/api/elect-leaders.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { lines, removeDir, runCli, tempDir } from '../cli/run-cli.js';
import { TestClient, startServer, type TestServer } from './helpers.js';

let t: TestServer;
let client: TestClient;

beforeAll(async () => {
  setLogLevel(LogLevel.ERROR);
  t = await startServer();
  await t.broker.createTopic('solo', { partitions: 2 });
  client = await TestClient.connect(t.port);
});

afterAll(async () => {
  client?.close();
  await t.close();
});

describe('ElectLeaders on a single broker', () => {
  it('answers ELECTION_NOT_NEEDED for its partitions and UNKNOWN_TOPIC_OR_PARTITION for others, at v0, v1 and v2', async () => {
    for (const version of [0, 1, 2]) {
      const response = await client.send(ElectLeaders, version, {
        electionType: 1,
        topicPartitions: [
          { topic: 'solo', partitions: [1, 0, 1, 7] },
          { topic: 'nowhere', partitions: [0] },
        ],
        timeoutMs: 5_000,
      });
      expect(response.errorCode).toBe(ErrorCode.NONE);
      expect(response.replicaElectionResults.map(({ topic, partitionResult }) => [topic, partitionResult.map((p) => [p.partitionId, p.errorCode])])).toEqual([
        ['solo', [[1, ErrorCode.ELECTION_NOT_NEEDED], [0, ErrorCode.ELECTION_NOT_NEEDED], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ['nowhere', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ]);
      expect(response.replicaElectionResults[0].partitionResult[0].errorMessage).toBe('solo-1: no election needed: a single broker is the only replica and the leader of its partitions');
    }
    const everything = await client.send(ElectLeaders, 2, { electionType: 0, topicPartitions: null, timeoutMs: 5_000 });
    expect(everything).toMatchObject({ errorCode: ErrorCode.NONE, replicaElectionResults: [] });
    const unknownType = await client.send(ElectLeaders, 2, { electionType: 7, topicPartitions: [{ topic: 'solo', partitions: [0] }], timeoutMs: 5_000 });
    expect(unknownType.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(unknownType.replicaElectionResults[0].partitionResult[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('kafka-ts decodes the answer with its own codec', async () => {
    const kafka = createKafkaClient({ clientId: 'elect-test', bootstrapServers: [{ host: '127.0.0.1', port: t.port }] });
    const cluster = kafka.createCluster();
    await cluster.connect();
    try {
      const request = cluster.sendRequest(API.ELECT_LEADERS, { electionType: 0, topicPartitions: [{ topic: 'solo', partitions: [0] }], timeoutMs: 5_000 });
      await expect(request).rejects.toBeInstanceOf(KafkaTSApiError);
      await expect(request).rejects.toMatchObject({ errorCode: API_ERROR.ELECTION_NOT_NEEDED });
    } finally {
      await cluster.disconnect();
    }
  });

  it('sluice topics elect-leaders reports the partitions already led as asked, on a data directory too', async () => {
    const result = await runCli(['topics', 'elect-leaders', '--election-type', 'preferred', '--topic', 'solo', '--partition', '1', '--bootstrap-server', `127.0.0.1:${t.port}`]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(lines(result.stdout)).toEqual(['Valid replica already elected for partitions solo-1']);
    const unknown = await runCli(['topics', 'elect-leaders', '--election-type', 'unclean', '--topic', 'solo', '--partition', '9', '--bootstrap-server', `127.0.0.1:${t.port}`]);
    expect(unknown.code).toBe(1);
    expect(lines(unknown.stdout)).toEqual([expect.stringMatching(/^Error completing leader election \(UNCLEAN\) for partition: solo-9: UNKNOWN_TOPIC_OR_PARTITION: partition 9 of topic "solo" does not exist/)]);
    expect(unknown.stderr).toContain('1 replica(s) could not be elected');
    const dataDir = tempDir();
    try {
      expect((await runCli(['topics', 'create', 'local', '--data-dir', dataDir])).code).toBe(0);
      const embedded = await runCli(['topics', 'elect-leaders', '--election-type', 'preferred', '--topic', 'local', '--partition', '0', '--json', '--data-dir', dataDir]);
      expect(JSON.parse(embedded.stdout)).toEqual([
        { topic: 'local', partition: 0, error: 'ELECTION_NOT_NEEDED', message: 'local-0: no election needed: a single broker is the only replica and the leader of its partitions' },
      ]);
    } finally {
      removeDir(dataDir);
    }
    const usage = await runCli(['topics', 'elect-leaders', '--election-type', 'preferred', '--topic', 'solo']);
    expect(usage).toMatchObject({ code: 2, stderr: 'error: --topic and --partition go together\n' });
  });
});
