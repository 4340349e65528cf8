/**
 * Replication with real processes: ZooKeeper and three `sluice serve --zookeeper` brokers on
 * 127.0.0.1. Followers fetch from the leader with their replica id and append its batches as
 * they are; the leader's high watermark is the minimum log end offset over the ISR, consumers
 * read below it, and acks=all answers once the ISR holds the records. A follower that stops
 * fetching leaves the ISR after replica.lag.time.max.ms and rejoins once it has caught up.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { readClusterStatus } from '../../src/cluster/cluster-status.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { ListOffsets } from '../../src/protocol/api/list-offsets.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { batchOf, recordsOf } from '../broker/broker-test-helpers.js';
import { runCli } from '../cli/run-cli.js';
import { TestClient, eventually } from '../server/helpers.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { segmentBytes } from './acknowledged-records.js';

let dir: string;
let cluster: LocalCluster;
/** Long enough for the held-back checks to run while stopped followers are still in the ISR, short enough to watch them leave it. */
const LAG_TIME_MAX_MS = 8_000;

beforeAll(async () => {
  dir = makeTempDir('replication');
  // A long session: a follower stopped by the test stays registered; it leaves the ISR only by lagging.
  cluster = await LocalCluster.start({ dir, brokers: 3, sessionTimeoutMs: 30_000, serveArgs: ['--group-initial-rebalance-delay-ms', '0', '--replica-lag-time-max-ms', String(LAG_TIME_MAX_MS)] });
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  removeTempDir(dir);
}, 60_000);

function bootstrap(): string[] {
  return [...cluster.brokers.values()].map((broker) => `127.0.0.1:${broker.port}`);
}

describe('replication (ZooKeeper + 3 brokers)', () => {
  it('acks=all on an RF 3 topic with min.insync.replicas=2: every replica holds the same batches, consumers read them all', async () => {
    const created = await runCli(['topics', 'create', 'replicated', '--partitions', '2', '--replication-factor', '3', '--config', 'min.insync.replicas=2', '--bootstrap-server', bootstrap()[0]]);
    expect(created.stderr).toBe('');
    const kafka = new Kafka({ clientId: 'replication-test', brokers: bootstrap(), logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const count = 2000;
    try {
      for (let first = 0; first < count; first += 100) {
        await producer.send({
          topic: 'replicated',
          acks: -1,
          messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${(first + i) % 7}`, value: `v${first + i}`, partition: (first + i) % 2 })),
        });
      }
    } finally {
      await producer.disconnect();
    }

    const states = (await readClusterStatus(cluster.zookeeper.connectString)).partitions.filter((p) => p.topic === 'replicated');
    expect(states.map((state) => state.partition)).toEqual([0, 1]);
    for (const state of states) {
      expect([...state.isr].sort()).toEqual([1, 2, 3]);
      // Followers fetch continuously: each replica's log reaches the leader's, byte for byte.
      const leaderBytes = segmentBytes(cluster, state.leader, 'replicated', state.partition);
      expect(leaderBytes.length).toBeGreaterThan(0);
      for (const id of [1, 2, 3]) {
        await eventually(() => segmentBytes(cluster, id, 'replicated', state.partition).equals(leaderBytes), { what: `broker ${id}'s copy of replicated-${state.partition} to equal its leader's`, timeoutMs: 60_000 });
      }
    }

    const consumer = kafka.consumer({ groupId: 'replication-readers' });
    const seen = new Map<string, number>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'replicated', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const value = message.value!.toString();
          seen.set(value, (seen.get(value) ?? 0) + 1);
        },
      });
      await eventually(() => seen.size === count, { what: `the consumer to read ${count} records (read ${seen.size})`, timeoutMs: 60_000 });
    } finally {
      await consumer.disconnect();
    }
    expect([...seen.values()].every((times) => times === 1)).toBe(true);
  }, 180_000);

  it('holds records above the high watermark back from consumers, and acks=all waits for the ISR, while the followers are stopped', async () => {
    const created = await runCli(['topics', 'create', 'held', '--replication-factor', '3', '--bootstrap-server', bootstrap()[0]]);
    expect(created.stderr).toBe('');
    const { leader } = (await readClusterStatus(cluster.zookeeper.connectString)).partitions.find((p) => p.topic === 'held')!;
    const client = await TestClient.connect(cluster.brokers.get(leader)!.port);
    const produce = async (acks: number, values: string[], timeoutMs = 10_000) =>
      (await client.send(Produce, 9, { transactionalId: null, acks, timeoutMs, topicData: [{ name: 'held', partitionData: [{ index: 0, records: batchOf(values) }] }] })).responses[0].partitionResponses[0];
    const latest = async () =>
      (await client.send(ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'held', partitions: [{ partitionIndex: 0, timestamp: -1 }] }] })).topics[0].partitions[0].offset;
    const consume = async () => {
      const [partition] = (
        await client.send(Fetch, 11, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic: 'held', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
          forgottenTopicsData: [],
          rackId: '',
        })
      ).responses[0].partitions;
      return { highWatermark: Number(partition.highWatermark), values: recordsOf(partition.records!).map(([, value]) => value) };
    };
    try {
      const followers = [1, 2, 3].filter((id) => id !== leader).map((id) => cluster.brokers.get(id)!.process!);
      try {
        expect((await produce(-1, ['a'])).errorCode).toBe(ErrorCode.NONE);
        expect(await consume()).toEqual({ highWatermark: 1, values: ['a'] });
        for (const follower of followers) follower.kill('SIGSTOP');
        expect((await produce(1, ['b'])).errorCode).toBe(ErrorCode.NONE);
        // Written on the leader, not held by the ISR: invisible to consumers.
        expect(await consume()).toEqual({ highWatermark: 1, values: ['a'] });
        expect(await latest()).toBe(1);
        const waited = await produce(-1, ['c'], 1_000);
        expect(waited.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);
      } finally {
        for (const follower of followers) follower.kill('SIGCONT');
      }
      await eventually(async () => (await consume()).highWatermark === 3, { what: 'the high watermark of held-0 to reach 3 once the followers resumed' });
      expect((await consume()).values).toEqual(['a', 'b', 'c']);
      expect(await latest()).toBe(3);
    } finally {
      client.close();
    }
  }, 120_000);

  it('takes followers that stop fetching out of the ISR after replica.lag.time.max.ms, refuses acks=all below min.insync.replicas, and takes them back once caught up', async () => {
    const created = await runCli(['topics', 'create', 'lagging', '--replication-factor', '3', '--config', 'min.insync.replicas=2', '--bootstrap-server', bootstrap()[0]]);
    expect(created.stderr).toBe('');
    const stateOf = async () => (await readClusterStatus(cluster.zookeeper.connectString)).partitions.find((p) => p.topic === 'lagging')!;
    const before = await stateOf();
    const client = await TestClient.connect(cluster.brokers.get(before.leader)!.port);
    const produce = async (acks: number, values: string[]) =>
      (await client.send(Produce, 9, { transactionalId: null, acks, timeoutMs: 10_000, topicData: [{ name: 'lagging', partitionData: [{ index: 0, records: batchOf(values) }] }] })).responses[0].partitionResponses[0];
    try {
      expect((await produce(-1, ['a'])).errorCode).toBe(ErrorCode.NONE);
      const followers = [1, 2, 3].filter((id) => id !== before.leader).map((id) => cluster.brokers.get(id)!.process!);
      try {
        for (const follower of followers) follower.kill('SIGSTOP');
        await eventually(async () => (await stateOf()).isr.length === 1, { timeoutMs: 60_000, what: 'the stopped followers to leave the ISR of lagging-0' });
        const shrunk = await stateOf();
        expect(shrunk).toMatchObject({ leader: before.leader, leaderEpoch: before.leaderEpoch, isr: [before.leader] });
        expect((await produce(-1, ['b'])).errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
        expect((await produce(1, ['c'])).errorCode).toBe(ErrorCode.NONE);
      } finally {
        for (const follower of followers) follower.kill('SIGCONT');
      }
      await eventually(async () => (await stateOf()).isr.length === 3, { timeoutMs: 60_000, what: 'the resumed followers to rejoin the ISR of lagging-0' });
      // The state node shows the ISR grown a moment before the leader's own view of it does; until then
      // acks=all answers NOT_ENOUGH_REPLICAS, which is retriable and writes nothing, as a client retries.
      await eventually(async () => (await produce(-1, ['d'])).errorCode === ErrorCode.NONE, { timeoutMs: 60_000, what: 'acks=all to succeed once the ISR is whole again' });
      for (const id of [1, 2, 3]) {
        await eventually(() => segmentBytes(cluster, id, 'lagging', 0).equals(segmentBytes(cluster, before.leader, 'lagging', 0)), { what: `broker ${id}'s copy of lagging-0 to equal the leader's` });
      }
    } finally {
      client.close();
    }
  }, 120_000);
});
