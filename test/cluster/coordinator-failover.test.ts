/**
 * Coordinators on replicated internal topics, with real processes: ZooKeeper and three `sluice
 * serve --zookeeper` brokers on 127.0.0.1. The group coordinator is the leader of
 * __consumer_offsets-0 and the transaction coordinator the leader of __transaction_state-0 (RF 3);
 * when that broker is SIGKILLed, the new leader loads the state from its replica: a consumer
 * group resumes from its committed offsets, and a transactional consume-transform-produce
 * pipeline keeps going with exactly-once output. Producer ids come from ZooKeeper blocks, so two
 * brokers never hand out the same one.
 *
 * One cluster for the file; the tests run in order (the group test restarts the broker it killed,
 * so the pipeline starts with three again). The kafkajs consumers poll with a short maxWaitTime so
 * that leaving a group does not wait out a long poll.
 */
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { readClusterStatus, type PartitionStatus } from '../../src/cluster/cluster-status.js';
import { ZooKeeperSession } from '../../src/cluster/zookeeper.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { FindCoordinator } from '../../src/protocol/api/find-coordinator.js';
import { InitProducerId } from '../../src/protocol/api/init-producer-id.js';
import { ListGroups } from '../../src/protocol/api/list-groups.js';
import { OffsetCommit } from '../../src/protocol/api/offset-commit.js';
import { OffsetFetch } from '../../src/protocol/api/offset-fetch.js';
import { runCli } from '../cli/run-cli.js';
import { TestClient, eventually, kcat } from '../server/helpers.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

let dir: string;
let cluster: LocalCluster;
/** Everything a test starts, stopped in afterAll even when a test fails. */
const running = new Set<{ disconnect(): Promise<void> }>();
const clients: TestClient[] = [];

beforeAll(async () => {
  dir = makeTempDir('coordinator-failover');
  // A short session: a killed broker leaves ZooKeeper, and the leadership of its partitions moves, within seconds.
  cluster = await LocalCluster.start({ dir, brokers: 3, sessionTimeoutMs: 3_000, serveArgs: ['--group-initial-rebalance-delay-ms', '0'] });
}, 120_000);

afterAll(async () => {
  for (const client of running) await client.disconnect().catch(() => undefined);
  for (const client of clients) client.close();
  await cluster?.close();
  removeTempDir(dir);
}, 60_000);

function liveBootstrap(): string[] {
  return [...cluster.brokers.values()].filter((broker) => broker.process !== null).map((broker) => `127.0.0.1:${broker.port}`);
}

function kafka(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: liveBootstrap(), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1_000 } });
}

async function internalPartition(topic: string): Promise<PartitionStatus | undefined> {
  return (await readClusterStatus(cluster.zookeeper.connectString)).partitions.find((p) => p.topic === topic && p.partition === 0);
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const created = await runCli(['topics', 'create', name, '--partitions', String(partitions), '--replication-factor', '3', '--bootstrap-server', liveBootstrap()[0]]);
  expect(created.stderr).toBe('');
}

async function produceValues(topic: string, values: readonly string[]): Promise<void> {
  const producer = kafka('feeder').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key: value, value })) });
  } finally {
    await producer.disconnect();
  }
}

/** Kills the broker leading partition 0 of `topic` and waits for another to lead it at a higher leader epoch. */
async function killLeaderOf(topic: string): Promise<{ killed: number; before: PartitionStatus; after: PartitionStatus }> {
  const before = (await internalPartition(topic))!;
  await cluster.stopBroker(before.leader, 'SIGKILL');
  let after: PartitionStatus | undefined;
  await eventually(
    async () => {
      after = await internalPartition(topic);
      return after !== undefined && after.leader !== -1 && after.leader !== before.leader;
    },
    { timeoutMs: 60_000, what: `a new leader of ${topic}-0 after broker ${before.leader} was killed` },
  );
  return { killed: before.leader, before, after: after! };
}

/** The group's committed offsets over every partition of `topic`, summed. */
async function committedTotal(groupId: string, topic: string): Promise<number> {
  const admin = kafka('offsets-reader').admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets.partitions.reduce((sum, partition) => sum + Math.max(0, Number(partition.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('coordinators on replicated internal topics (ZooKeeper + 3 brokers)', () => {
  it('answers an offset commit only once the ISR of __consumer_offsets-0 holds it, as Kafka appends with acks=-1', async () => {
    await createTopic('acked', 1);
    const any = await TestClient.connect(cluster.brokers.get(1)!.port);
    clients.push(any);
    // The first lookup creates __consumer_offsets; it answers once the partition has a leader.
    let coordinator = -1;
    await eventually(
      async () => {
        const [found] = (await any.send(FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['acked-group'] })).coordinators;
        coordinator = found.nodeId;
        return found.errorCode === ErrorCode.NONE;
      },
      { what: 'the group coordinator to be found' },
    );
    await eventually(async () => (await internalPartition('__consumer_offsets'))?.isr.length === 3, { what: 'every replica of __consumer_offsets-0 in sync' });
    let client = await TestClient.connect(cluster.brokers.get(coordinator)!.port);
    clients.push(client);
    const commit = async (offset: number): Promise<number> =>
      (
        await client.send(OffsetCommit, 8, {
          groupId: 'acked-group',
          generationId: -1,
          memberId: '',
          topics: [{ name: 'acked', partitions: [{ partitionIndex: 0, committedOffset: offset, committedMetadata: null }] }],
        })
      ).topics[0].partitions[0].errorCode;
    // As a client does: while the broker found is still taking the coordinator over
    // (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS), look it up again and retry.
    const commitUntilAnswered = async (offset: number): Promise<void> => {
      let code = -1;
      await eventually(
        async () => {
          code = await commit(offset);
          if (code !== ErrorCode.NOT_COORDINATOR && code !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return true;
          const [found] = (await any.send(FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['acked-group'] })).coordinators;
          if (found.errorCode === ErrorCode.NONE && found.nodeId !== coordinator) {
            coordinator = found.nodeId;
            client = await TestClient.connect(cluster.brokers.get(coordinator)!.port);
            clients.push(client);
          }
          return false;
        },
        { timeoutMs: 60_000, what: `offset ${offset} committed on the group coordinator` },
      );
      expect(code).toBe(ErrorCode.NONE);
    };
    await commitUntilAnswered(1);

    const followers = [1, 2, 3].filter((id) => id !== coordinator).map((id) => cluster.brokers.get(id)!.process!);
    for (const follower of followers) follower.kill('SIGSTOP');
    try {
      // The record is on the leader at once, but answered only when the ISR holds it: once the
      // stopped followers' sessions expire and the controller takes them out of the ISR, or, if
      // that takes longer than offsets.commit.timeout.ms, with COORDINATOR_NOT_AVAILABLE.
      const code = await commit(2);
      const isr = (await internalPartition('__consumer_offsets'))!.isr;
      if (code === ErrorCode.NONE) expect(isr).toEqual([coordinator]);
      else expect(code).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    } finally {
      for (const follower of followers) follower.kill('SIGCONT');
    }
    await eventually(async () => (await internalPartition('__consumer_offsets'))!.isr.length === 3, { timeoutMs: 60_000, what: 'the resumed followers back in the ISR of __consumer_offsets-0' });
    await commitUntilAnswered(3);
  }, 120_000);

  it('a consumer group keeps consuming through the SIGKILL of its coordinator, from the offsets it committed', async () => {
    await createTopic('group-input', 2);
    const first = Array.from({ length: 40 }, (_, i) => `a${i}`);
    const second = Array.from({ length: 40 }, (_, i) => `b${i}`);
    await produceValues('group-input', first);

    const consumer = kafka('failover-reader').consumer({ groupId: 'failover-readers', sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
    running.add(consumer);
    /** Every delivery, in order, and per partition the offset up to which commits were acknowledged. */
    const deliveries: { partition: number; offset: number; value: string }[] = [];
    const acknowledged = new Map<number, number>();
    await consumer.connect();
    await consumer.subscribe({ topic: 'group-input', fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        deliveries.push({ partition, offset: Number(message.offset), value: message.value!.toString() });
        const next = Number(message.offset) + 1;
        await consumer.commitOffsets([{ topic, partition, offset: String(next) }]);
        acknowledged.set(partition, Math.max(acknowledged.get(partition) ?? 0, next));
      },
    });
    await eventually(() => new Set(deliveries.map((d) => d.value)).size === first.length, { timeoutMs: 60_000, what: 'the first records consumed' });

    // The group's state is replicated: __consumer_offsets has three replicas, all in sync.
    const offsetsTopic = (await internalPartition('__consumer_offsets'))!;
    expect([...offsetsTopic.replicas].sort()).toEqual([1, 2, 3]);
    await eventually(async () => (await internalPartition('__consumer_offsets'))!.isr.length === 3, { what: 'every replica of __consumer_offsets-0 in sync' });

    const acknowledgedAtKill = new Map(acknowledged);
    const { killed, before, after } = await killLeaderOf('__consumer_offsets');
    expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
    await produceValues('group-input', second);
    await eventually(() => new Set(deliveries.map((d) => d.value)).size === first.length + second.length, {
      timeoutMs: 90_000,
      what: 'the records produced after the coordinator was killed consumed',
    });

    // FindCoordinator names the new leader, on every live broker.
    for (const id of [1, 2, 3].filter((broker) => broker !== killed)) {
      const client = await TestClient.connect(cluster.brokers.get(id)!.port);
      clients.push(client);
      const found = await client.send(FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['failover-readers'] });
      expect(found.coordinators.map((c) => [c.errorCode, c.nodeId])).toEqual([[ErrorCode.NONE, after.leader]]);
    }
    // A record read twice is one whose commit was not acknowledged before the kill.
    const seen = new Set<string>();
    for (const { partition, offset, value } of deliveries) {
      if (seen.has(value)) expect(offset).toBeGreaterThanOrEqual(acknowledgedAtKill.get(partition) ?? 0);
      seen.add(value);
    }
    await consumer.disconnect();
    running.delete(consumer);
    // Every offset the group committed is on the new coordinator.
    expect(await committedTotal('failover-readers', 'group-input')).toBe(first.length + second.length);

    await cluster.startBroker(killed);
    await eventually(async () => (await internalPartition('__consumer_offsets'))!.isr.length === 3, { timeoutMs: 60_000, what: `broker ${killed} back in the ISR of __consumer_offsets-0` });
  }, 240_000);

  it('a transactional consume-transform-produce pipeline keeps exactly-once output through the SIGKILL of its transaction coordinator', async () => {
    await createTopic('txn-source', 2);
    await createTopic('txn-sink', 2);
    const inputs = Array.from({ length: 60 }, (_, i) => `in-${i}`);
    await produceValues('txn-source', inputs);

    let committedTransactions = 0;
    let stopped = false;
    let generation: { consumer: Consumer; producer: Producer } | null = null;
    /**
     * One run of the pipeline: a fresh transactional producer (its first transaction fences the
     * previous one and waits for its outcome), then a consumer that starts from the group's
     * committed offsets. Any failure ends the run; the next one starts over from what committed.
     */
    const startGeneration = async (): Promise<void> => {
      const client = kafka('pipeline');
      const producer = client.producer({ transactionalId: 'failover-pipeline', idempotent: true, maxInFlightRequests: 1 });
      const consumer = client.consumer({ groupId: 'failover-pipeline', readUncommitted: false, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
      generation = { consumer, producer };
      running.add(producer);
      running.add(consumer);
      await producer.connect();
      await (await producer.transaction()).abort();
      await consumer.connect();
      await consumer.subscribe({ topic: 'txn-source', fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          const transaction = await producer.transaction();
          try {
            await transaction.send({ topic: 'txn-sink', messages: [{ key: message.key, value: `out-${message.value!.toString()}` }] });
            await transaction.sendOffsets({ consumerGroupId: 'failover-pipeline', topics: [{ topic, partitions: [{ partition, offset: String(Number(message.offset) + 1) }] }] });
            await transaction.commit();
            committedTransactions++;
          } catch (error) {
            await transaction.abort().catch(() => undefined);
            restart();
            throw error;
          }
        },
      });
    };
    let restarting: Promise<void> | null = null;
    const restart = (): void => {
      if (stopped || restarting !== null) return;
      const old = generation!;
      restarting = (async () => {
        for (const client of [old.consumer, old.producer]) {
          await client.disconnect().catch(() => undefined);
          running.delete(client);
        }
        for (;;) {
          try {
            if (!stopped) await startGeneration();
            return;
          } catch {
            for (const client of [generation!.consumer, generation!.producer]) {
              await client.disconnect().catch(() => undefined);
              running.delete(client);
            }
          }
        }
      })().finally(() => {
        restarting = null;
      });
    };

    await startGeneration();
    await eventually(() => committedTransactions >= 15, { timeoutMs: 60_000, what: 'the pipeline to commit its first transactions' });
    const { before, after } = await killLeaderOf('__transaction_state');
    expect([...before.replicas].sort()).toEqual([1, 2, 3]);
    expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
    await eventually(async () => (await committedTotal('failover-pipeline', 'txn-source')) === inputs.length, {
      timeoutMs: 120_000,
      what: 'the pipeline to commit the offsets of every input',
    });
    stopped = true;
    await restarting;
    for (const client of [generation!.consumer, generation!.producer]) {
      await (client as { disconnect(): Promise<void> }).disconnect().catch(() => undefined);
      running.delete(client);
    }

    // read_committed, to the end of every partition of the sink: each input's output exactly once.
    const { stdout } = await kcat(['-C', '-b', liveBootstrap().join(','), '-t', 'txn-sink', '-o', 'beginning', '-e', '-q', '-X', 'isolation.level=read_committed', '-f', '%s\\n']);
    expect(stdout.split('\n').filter((line) => line !== '').sort()).toEqual(inputs.map((value) => `out-${value}`).sort());
  }, 300_000);

  it('a coordinator that loses the leadership of its partition while alive drops its state and answers NOT_COORDINATOR', async () => {
    const before = (await internalPartition('__consumer_offsets'))!;
    const deposed = cluster.brokers.get(before.leader)!;
    // Stopped past its session timeout: the controller gives the partition to another in-sync replica.
    deposed.process!.kill('SIGSTOP');
    let after: PartitionStatus | undefined;
    try {
      await eventually(
        async () => {
          after = await internalPartition('__consumer_offsets');
          return after !== undefined && after.leader !== -1 && after.leader !== before.leader;
        },
        { timeoutMs: 60_000, what: `another leader of __consumer_offsets-0 while broker ${before.leader} is stopped` },
      );
    } finally {
      deposed.process!.kill('SIGCONT');
    }
    await eventually(async () => (await readClusterStatus(cluster.zookeeper.connectString)).brokers.some((broker) => broker.nodeId === before.leader), {
      timeoutMs: 60_000,
      what: `broker ${before.leader} registered again`,
    });
    const client = await TestClient.connect(deposed.port);
    clients.push(client);
    await eventually(
      async () => (await client.send(OffsetFetch, 7, { groupId: 'failover-readers', topics: null, requireStable: false })).errorCode === ErrorCode.NOT_COORDINATOR,
      { what: `broker ${before.leader} to stop answering as the group coordinator` },
    );
    // Its group coordinator dropped the groups it held: ListGroups (which every broker answers) lists none.
    await eventually(async () => (await client.send(ListGroups, 4, { statesFilter: [] })).groups.length === 0, { what: `broker ${before.leader} to drop its groups` });
    const [found] = (await client.send(FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['failover-readers'] })).coordinators;
    expect([found.errorCode, found.nodeId]).toEqual([ErrorCode.NONE, after!.leader]);
    // The new coordinator has the group's offsets.
    const onNew = await TestClient.connect(cluster.brokers.get(after!.leader)!.port);
    clients.push(onNew);
    const offsets = await onNew.send(OffsetFetch, 7, { groupId: 'failover-readers', topics: null, requireStable: false });
    expect([offsets.errorCode, offsets.topics.map((topic) => topic.name)]).toEqual([ErrorCode.NONE, ['group-input']]);
  }, 120_000);

  it('two brokers hand out disjoint producer ids, from blocks claimed in ZooKeeper', async () => {
    const idsOf = async (id: number): Promise<number[]> => {
      const client = await TestClient.connect(cluster.brokers.get(id)!.port);
      clients.push(client);
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const answer = await client.send(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000 });
        expect(answer.errorCode).toBe(ErrorCode.NONE);
        ids.push(Number(answer.producerId));
      }
      return ids;
    };
    const live = [1, 2, 3].filter((id) => cluster.brokers.get(id)!.process !== null);
    const [one, two] = [await idsOf(live[0]), await idsOf(live[1])];
    expect(new Set([...one, ...two]).size).toBe(one.length + two.length);
    // Each broker gives consecutive ids from its own block of 1000.
    expect(one).toEqual(Array.from({ length: 5 }, (_, i) => one[0] + i));
    expect(two).toEqual(Array.from({ length: 5 }, (_, i) => two[0] + i));
    expect(Math.floor(one[0] / 1000)).not.toBe(Math.floor(two[0] / 1000));

    const session = await ZooKeeperSession.connect(cluster.zookeeper.connectString, { sessionTimeoutMs: 10_000, connectTimeoutMs: 10_000 });
    try {
      // Kafka's ProducerIdBlockZNode: the latest block claimed (by whichever broker needed one last), bounds as strings.
      const node = JSON.parse((await session.getData('/latest_producer_id_block'))!.data.toString('utf8'));
      expect(node).toMatchObject({ version: 1, broker: expect.any(Number), block_start: expect.stringMatching(/^\d+$/), block_end: expect.stringMatching(/^\d+$/) });
      expect(Number(node.block_end) - Number(node.block_start)).toBe(999);
      expect(Number(node.block_end)).toBeGreaterThanOrEqual(Math.max(...one, ...two));
    } finally {
      session.close();
    }
  }, 60_000);
});
