/**
 * The cluster's control plane with real processes: a ZooKeeper and three `sluice serve
 * --zookeeper` brokers (LocalCluster, as `sluice cluster up` starts them) on 127.0.0.1. Brokers
 * register, one is elected controller, a topic created with replication factor 3 is placed over
 * the three and each partition gets a leader; kcat and kafkajs see a three-broker Kafka cluster,
 * and a broker that does not lead a partition refuses it with NOT_LEADER_OR_FOLLOWER.
 *
 * One cluster for the file (a ZooKeeper JVM takes seconds to start); the tests run in order and
 * the later ones use the `orders` topic the second creates.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { readClusterStatus } from '../../src/cluster/cluster-status.js';
import { CreateTopics } from '../../src/protocol/api/create-topics.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { FindCoordinator } from '../../src/protocol/api/find-coordinator.js';
import { Heartbeat } from '../../src/protocol/api/heartbeat.js';
import { OffsetFetch } from '../../src/protocol/api/offset-fetch.js';
import { ListOffsets } from '../../src/protocol/api/list-offsets.js';
import { ListGroups } from '../../src/protocol/api/list-groups.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { batchOf, recordsOf } from '../broker/broker-test-helpers.js';
import { lines, runCli } from '../cli/run-cli.js';
import { TestClient, eventually, kcat } from '../server/helpers.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

let dir: string;
let cluster: LocalCluster;
/** `npm run soak:cluster`: records acknowledged before and after the leader is killed (the suite: a few dozen, one per send). */
const SOAK_RECORDS = Number(process.env.CLUSTER_SOAK_RECORDS ?? 0);
const SENT_BEFORE_AND_AFTER_KILL = SOAK_RECORDS > 0 ? SOAK_RECORDS / 2 : 20;
const MESSAGES_PER_SEND = SOAK_RECORDS > 0 ? 100 : 1;
const clients: TestClient[] = [];

beforeAll(async () => {
  dir = makeTempDir('cluster');
  cluster = await LocalCluster.start({ dir, brokers: 3, sessionTimeoutMs: 4_000, serveArgs: ['--group-initial-rebalance-delay-ms', '0'] });
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await cluster?.close();
  removeTempDir(dir);
}, 60_000);

function portOf(id: number): number {
  return cluster.brokers.get(id)!.port;
}

async function connect(id: number): Promise<TestClient> {
  const client = await TestClient.connect(portOf(id));
  clients.push(client);
  return client;
}

interface KcatBroker {
  id: number;
  name: string;
}
interface KcatPartition {
  partition: number;
  leader: number;
  replicas: { id: number }[];
  isrs: { id: number }[];
}

/** kcat -L's JSON view of the cluster, as broker `id` answers it. */
async function kcatMetadata(id: number, topic?: string): Promise<{ controllerid: number; brokers: KcatBroker[]; topics: { topic: string; partitions: KcatPartition[] }[] }> {
  const { stdout } = await kcat(['-L', '-J', '-b', `127.0.0.1:${portOf(id)}`, ...(topic === undefined ? [] : ['-t', topic])]);
  return JSON.parse(stdout);
}

describe('cluster control plane (ZooKeeper + 3 brokers)', () => {
  it('every broker lists the three brokers and the elected controller', async () => {
    const status = await readClusterStatus(cluster.zookeeper.connectString);
    expect(status.brokers.map((broker) => broker.nodeId)).toEqual([1, 2, 3]);
    expect([1, 2, 3]).toContain(status.controllerId);
    expect(status.controllerEpoch).toBe(1);
    for (const id of [1, 2, 3]) {
      const metadata = await kcatMetadata(id);
      expect(metadata.brokers.map((broker) => broker.name).sort()).toEqual([1, 2, 3].map((b) => `127.0.0.1:${portOf(b)}`).sort());
      expect(metadata.controllerid).toBe(status.controllerId);
      // The coordinators' topics are created on the first coordinator lookup, not before.
      expect(metadata.topics.map((topic) => topic.topic)).not.toContain('__consumer_offsets');
    }
  });

  it('a second broker with a live broker\'s id waits out the session timeout, then exits naming the clash', async () => {
    const extraDir = join(dir, 'duplicate');
    const result = await runCli(['serve', '--port', '0', '--data-dir', extraDir, '--broker-id', '2', '--zookeeper', cluster.zookeeper.connectString, '--zookeeper-session-timeout-ms', '1000']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('broker id 2 is registered by another live broker (/brokers/ids/2 exists); give this broker another --broker-id');
    expect((await readClusterStatus(cluster.zookeeper.connectString)).brokers.map((broker) => broker.nodeId)).toEqual([1, 2, 3]);
  }, 60_000);

  it('places a replication-factor-3 topic over the brokers, with the leaders ZooKeeper records, as kcat and topics describe show', async () => {
    const created = await runCli(['topics', 'create', 'orders', '--partitions', '3', '--replication-factor', '3', '--bootstrap-server', `127.0.0.1:${portOf(1)}`]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toBe('created topic orders with 3 partition(s)\n');

    const status = await readClusterStatus(cluster.zookeeper.connectString);
    const partitions = status.partitions.filter((p) => p.topic === 'orders');
    expect(partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    // Round-robin: each broker leads one partition, every partition has all three replicas, first is the leader.
    expect(partitions.map((p) => p.leader).sort()).toEqual([1, 2, 3]);
    for (const p of partitions) {
      expect([...p.replicas].sort()).toEqual([1, 2, 3]);
      expect(p.leader).toBe(p.replicas[0]);
      // Kafka's initial ISR: every live replica, in sync with an empty log.
      expect([...p.isr].sort()).toEqual([1, 2, 3]);
      expect(p.leaderEpoch).toBe(0);
    }
    // Every broker answers Metadata with the same placement.
    for (const id of [1, 2, 3]) {
      const [topic] = (await kcatMetadata(id, 'orders')).topics;
      expect(topic.partitions.map((p) => ({ partition: p.partition, leader: p.leader, replicas: p.replicas.map((r) => r.id), isr: p.isrs.map((r) => r.id) }))).toEqual(
        partitions.map((p) => ({ partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr })),
      );
    }
    const described = lines((await runCli(['topics', 'describe', 'orders', '--bootstrap-server', `127.0.0.1:${portOf(2)}`])).stdout);
    expect(described[1]).toMatch(/^PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+LOG-START-OFFSET\s+LOG-END-OFFSET$/);
    for (const p of partitions) {
      expect(described[2 + p.partition]).toMatch(new RegExp(`^${p.partition}\\s+${p.leader}\\s+${p.replicas.join(',')}\\s+${p.isr.join(',')}\\s+0\\s+0$`));
    }
    const statusText = lines((await runCli(['cluster', 'status', '--zookeeper', cluster.zookeeper.connectString])).stdout);
    expect(statusText[0]).toBe(`Cluster: ${status.clusterId}\tController: ${status.controllerId} (epoch 1)`);
    expect(statusText).toContainEqual(expect.stringMatching(new RegExp(`^orders\\s+0\\s+${partitions[0].leader}\\s+0\\s+${partitions[0].replicas.join(',')}`)));
  }, 60_000);

  it('refuses a replication factor above the live brokers (INVALID_REPLICATION_FACTOR) and replicas on unknown brokers (INVALID_REPLICA_ASSIGNMENT)', async () => {
    const client = await connect(1);
    const create = (topic: { numPartitions: number; replicationFactor: number; assignments: { partitionIndex: number; brokerIds: number[] }[] }) =>
      client.send(CreateTopics, 5, { topics: [{ name: 'wide', ...topic, configs: [] }], timeoutMs: 10_000, validateOnly: false });
    const [tooWide] = (await create({ numPartitions: 1, replicationFactor: 4, assignments: [] })).topics;
    expect(tooWide).toMatchObject({ errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, errorMessage: 'topic "wide" asks for replication factor 4: only 3 broker(s) are available; start more brokers or lower it' });
    const [unknown] = (await create({ numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 9] }] })).topics;
    expect(unknown.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(unknown.errorMessage).toBe('partition 0 of "wide" names broker(s) 9, which are not live (live: 1, 2, 3)');
    expect((await readClusterStatus(cluster.zookeeper.connectString)).partitions.some((p) => p.topic === 'wide')).toBe(false);
    const refused = await runCli(['topics', 'create', 'wide', '--replication-factor', '4', '--bootstrap-server', `127.0.0.1:${portOf(1)}`]);
    expect(refused.code).toBe(1);
  });

  it('answers NOT_LEADER_OR_FOLLOWER for a partition this broker does not lead, and serves it on the leader', async () => {
    const { partitions } = await readClusterStatus(cluster.zookeeper.connectString);
    const { leader } = partitions.find((p) => p.topic === 'orders' && p.partition === 0)!;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const produce = (client: TestClient) =>
      client.send(Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batchOf(['x']) }] }] });
    const fetch = (client: TestClient) =>
      client.send(Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
    const onFollower = await connect(follower);
    const refused = (await produce(onFollower)).responses[0].partitionResponses[0];
    expect(refused.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(refused.errorMessage).toBe(`broker ${follower} is not the leader of orders-0; broker ${leader} is: refresh the metadata and send it there`);
    expect((await fetch(onFollower)).responses[0].partitions[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const listOffsets = (client: TestClient) =>
      client.send(ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, timestamp: -1 }] }] });
    expect((await listOffsets(onFollower)).topics[0].partitions[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);

    const onLeader = await connect(leader);
    expect((await produce(onLeader)).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    expect((await fetch(onLeader)).responses[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    // The latest offset is the high watermark: it reaches the record once the followers fetched it.
    await eventually(async () => (await listOffsets(onLeader)).topics[0].partitions[0].offset === 1, { what: 'the high watermark of orders-0 to reach 1' });
  });

  it('acks=all with fewer in-sync replicas than min.insync.replicas answers NOT_ENOUGH_REPLICAS and writes nothing; acks=1 is written', async () => {
    // One replica: its ISR can never hold two.
    const created = await runCli(['topics', 'create', 'strict', '--replication-factor', '1', '--config', 'min.insync.replicas=2', '--bootstrap-server', `127.0.0.1:${portOf(1)}`]);
    expect(created.stderr).toBe('');
    const { leader, isr } = (await readClusterStatus(cluster.zookeeper.connectString)).partitions.find((p) => p.topic === 'strict')!;
    const client = await connect(leader);
    const produce = async (acks: number) =>
      (await client.send(Produce, 9, { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: 'strict', partitionData: [{ index: 0, records: batchOf(['a', 'b']) }] }] }))
        .responses[0].partitionResponses[0];
    const refused = await produce(-1);
    expect(refused.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    expect(refused.errorMessage).toBe(
      `strict-0 has 1 in-sync replica(s) [${isr.join(', ')}], fewer than its min.insync.replicas 2: acks=all cannot be met and nothing was written; retry once replicas are in sync, or produce with acks=1`,
    );
    const endOffset = async () =>
      (await client.send(ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'strict', partitions: [{ partitionIndex: 0, timestamp: -1 }] }] })).topics[0].partitions[0].offset;
    expect(await endOffset()).toBe(0);
    expect((await produce(1)).errorCode).toBe(ErrorCode.NONE);
    expect(await endOffset()).toBe(2);
    expect(isr).toEqual([leader]);
  });

  it('kafkajs, bootstrapped on one broker, produces to and consumes from every partition through its leader', async () => {
    const kafka = new Kafka({ clientId: 'cluster-test', brokers: [`127.0.0.1:${portOf(3)}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'keyed', numPartitions: 6, replicationFactor: 2 }], waitForLeaders: true })).toBe(true);
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer();
    await producer.connect();
    const sent = Array.from({ length: 120 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}` }));
    try {
      await producer.send({ topic: 'keyed', acks: -1, messages: sent });
    } finally {
      await producer.disconnect();
    }
    const consumer = kafka.consumer({ groupId: 'cluster-readers' });
    const seen = new Map<string, string>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'keyed', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.set(message.key!.toString(), message.value!.toString());
        },
      });
      await eventually(() => seen.size === sent.length, { timeoutMs: 60_000, what: 'every record consumed' });
    } finally {
      await consumer.disconnect();
    }
    expect(new Map(sent.map(({ key, value }) => [key, value]))).toEqual(seen);
    const { partitions } = await readClusterStatus(cluster.zookeeper.connectString);
    const keyed = partitions.filter((p) => p.topic === 'keyed');
    expect(keyed).toHaveLength(6);
    for (const p of keyed) expect(p.replicas).toHaveLength(2);
  }, 90_000);

  it('names the leader of __consumer_offsets-0 (replication factor 3) as every group\'s coordinator, and the others answer NOT_COORDINATOR', async () => {
    const offsetsTopic = (await readClusterStatus(cluster.zookeeper.connectString)).partitions.find((p) => p.topic === '__consumer_offsets')!;
    expect([...offsetsTopic.replicas].sort()).toEqual([1, 2, 3]);
    const coordinator = offsetsTopic.leader;
    for (const id of [1, 2, 3]) {
      const [described] = (await kcatMetadata(id, '__consumer_offsets')).topics;
      expect(described.partitions.map((p) => [p.leader, p.replicas.length])).toEqual([[coordinator, 3]]);
    }
    for (const id of [1, 2, 3].filter((broker) => broker !== coordinator)) {
      const client = await connect(id);
      const found = await client.send(FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['cluster-readers', 'other'] });
      expect(found.coordinators.map((c) => [c.errorCode, c.nodeId, c.port])).toEqual([
        [ErrorCode.NONE, coordinator, portOf(coordinator)],
        [ErrorCode.NONE, coordinator, portOf(coordinator)],
      ]);
      const heartbeat = await client.send(Heartbeat, 3, { groupId: 'cluster-readers', generationId: 1, memberId: 'm' });
      expect(heartbeat.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      const offsets = await client.send(OffsetFetch, 7, { groupId: 'cluster-readers', topics: null, requireStable: false });
      expect(offsets.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      // As Kafka: a broker lists the groups it coordinates, none here.
      const listed = await client.send(ListGroups, 4, { statesFilter: [] });
      expect([listed.errorCode, listed.groups]).toEqual([ErrorCode.NONE, []]);
    }
    // The coordinator holds the group's offsets committed by the kafkajs consumer above.
    const onCoordinator = await connect(coordinator);
    const offsets = await onCoordinator.send(OffsetFetch, 7, { groupId: 'cluster-readers', topics: null, requireStable: false });
    expect(offsets.errorCode).toBe(ErrorCode.NONE);
    expect(offsets.topics.map((topic) => topic.name)).toEqual(['keyed']);
    expect((await onCoordinator.send(ListGroups, 4, { statesFilter: [] })).groups.map((group) => group.groupId)).toContain('cluster-readers');
  });

  it('grows a topic with CreatePartitions and deletes it with DeleteTopics on every broker, through any broker', async () => {
    const kafka = new Kafka({ clientId: 'cluster-admin', brokers: [`127.0.0.1:${portOf(2)}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createPartitions({ topicPartitions: [{ topic: 'keyed', count: 9 }] });
      const grown = (await readClusterStatus(cluster.zookeeper.connectString)).partitions.filter((p) => p.topic === 'keyed');
      expect(grown.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      for (const p of grown) {
        expect(p.replicas).toHaveLength(2);
        expect(p.leader).toBe(p.replicas[0]);
      }
      for (const id of [1, 2, 3]) {
        const [topic] = (await kcatMetadata(id, 'keyed')).topics;
        expect(topic.partitions.map((p) => [p.partition, p.leader]).sort((a, b) => a[0] - b[0])).toEqual(grown.map((p) => [p.partition, p.leader]));
        expect(readdirSync(cluster.brokers.get(id)!.dataDir).filter((name) => name.startsWith('keyed-'))).toHaveLength(9);
      }

      await admin.deleteTopics({ topics: ['keyed'] });
      expect((await readClusterStatus(cluster.zookeeper.connectString)).partitions.some((p) => p.topic === 'keyed')).toBe(false);
      for (const id of [1, 2, 3]) {
        await eventually(async () => (await kcatMetadata(id)).topics.every((topic) => topic.topic !== 'keyed'), { what: `broker ${id} to forget the topic` });
        await eventually(() => readdirSync(cluster.brokers.get(id)!.dataDir).every((name) => !name.startsWith('keyed-')), { what: `broker ${id} to remove its logs` });
      }
      // The name is free again, for a topic with a new id.
      expect(await admin.createTopics({ topics: [{ topic: 'keyed', numPartitions: 2, replicationFactor: 3 }] })).toBe(true);
      expect((await readClusterStatus(cluster.zookeeper.connectString)).partitions.filter((p) => p.topic === 'keyed')).toHaveLength(2);
    } finally {
      await admin.disconnect();
    }
  }, 90_000);

  it('changes a topic config on every broker, through any broker', async () => {
    const kafka = new Kafka({ clientId: 'cluster-configs', brokers: [`127.0.0.1:${portOf(3)}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'orders', configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
      for (const id of [1, 2, 3]) {
        await eventually(
          async () => {
            const described = JSON.parse((await runCli(['topics', 'describe', 'orders', '--json', '--bootstrap-server', `127.0.0.1:${portOf(id)}`])).stdout);
            return described.configs.some((config: { name: string; value: string; source: string }) => config.name === 'retention.ms' && config.value === '7200000' && config.source === 'topic');
          },
          { what: `broker ${id} to apply retention.ms` },
        );
      }
      // A value every broker would refuse is refused before anything is written.
      await expect(admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'orders', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] })).rejects.toThrow();
      const described = JSON.parse((await runCli(['topics', 'describe', 'orders', '--json', '--bootstrap-server', `127.0.0.1:${portOf(1)}`])).stdout);
      expect(described.configs).toContainEqual({ name: 'retention.ms', value: '7200000', isDefault: false, source: 'topic' });
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('a partition whose leader is killed while kafkajs produces with acks=all fails over to an in-sync follower at a higher epoch, which serves every acknowledged record once at its offset; the old leader comes back as its follower and rejoins the ISR', async () => {
    const stateOf = async () => (await readClusterStatus(cluster.zookeeper.connectString)).partitions.find((p) => p.topic === 'orders' && p.partition === 1)!;
    const before = await stateOf();
    const leader = before.leader;
    const produce = async (client: TestClient, values: string[]) =>
      (await client.send(Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'orders', partitionData: [{ index: 1, records: batchOf(values) }] }] }))
        .responses[0].partitionResponses[0];
    expect((await produce(await connect(leader), ['before-1', 'before-2'])).errorCode).toBe(ErrorCode.NONE);

    // A producer keeps writing one record at a time with acks=all through the failover.
    const kafka = new Kafka({ clientId: 'failover', brokers: [1, 2, 3].map((id) => `127.0.0.1:${portOf(id)}`), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const acknowledged = new Map<string, number>();
    let producing = true;
    const writes = (async () => {
      for (let i = 0; producing; i++) {
        const values = Array.from({ length: MESSAGES_PER_SEND }, (_, j) => `during-${i}-${j}`);
        const [sent] = await producer.send({ topic: 'orders', acks: -1, messages: values.map((value) => ({ value, partition: 1 })) });
        values.forEach((value, j) => acknowledged.set(value, Number(sent.baseOffset) + j));
      }
    })();
    try {
      await eventually(() => acknowledged.size >= SENT_BEFORE_AND_AFTER_KILL, { timeoutMs: 60_000 + SOAK_RECORDS, what: 'the producer to get going' });
      await cluster.stopBroker(leader, 'SIGKILL');
      await eventually(async () => ![-1, leader].includes((await stateOf()).leader), { timeoutMs: 60_000, what: `orders-1 led by another broker after broker ${leader} died` });
      const atFailover = acknowledged.size;
      await eventually(() => acknowledged.size >= atFailover + SENT_BEFORE_AND_AFTER_KILL, { timeoutMs: 60_000 + SOAK_RECORDS, what: 'records acknowledged by the new leader' });
    } finally {
      producing = false;
      await writes.finally(() => producer.disconnect());
    }
    const failedOver = await stateOf();
    expect(failedOver.leaderEpoch).toBe(before.leaderEpoch + 1);
    expect(failedOver.isr).not.toContain(leader);
    const client = await connect(failedOver.leader);
    await eventually(async () => (await produce(client, ['after'])).errorCode === ErrorCode.NONE, { what: 'the new leader to take produce' });
    // The log took the new epoch (KIP-320): a client at the old one is fenced, one at the new one is served everything.
    const fetchAt = (currentLeaderEpoch: number, fetchOffset = 0) =>
      client.send(Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 'orders', partitions: [{ partition: 1, currentLeaderEpoch, fetchOffset, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
    expect((await fetchAt(before.leaderEpoch)).responses[0].partitions[0].errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    const records: [number, string][] = [];
    for (;;) {
      const served = (await fetchAt(failedOver.leaderEpoch, records.length === 0 ? 0 : records.at(-1)![0] + 1)).responses[0].partitions[0];
      expect(served.errorCode).toBe(ErrorCode.NONE);
      const fetched = recordsOf(served.records!);
      if (fetched.length === 0) break;
      records.push(...fetched);
    }
    const values = records.map(([, value]) => value);
    expect(values.indexOf('before-2')).toBe(values.indexOf('before-1') + 1);
    expect(values.at(-1)).toBe('after');
    // Every acknowledged record is there once, at the offset its acknowledgement gave.
    const offsets = new Map<string, number[]>();
    for (const [offset, value] of records) offsets.set(value, [...(offsets.get(value) ?? []), offset]);
    for (const [value, offset] of acknowledged) expect(offsets.get(value)).toEqual([offset]);
    expect([...offsets.values()].every((found) => found.length === 1)).toBe(true);

    // Back, the old leader follows the new one: its log becomes the leader's, byte for byte.
    await cluster.startBroker(leader);
    const segments = (id: number) => {
      const partitionDir = join(cluster.brokers.get(id)!.dataDir, 'orders-1');
      return Buffer.concat(readdirSync(partitionDir).filter((name) => name.endsWith('.log')).sort().map((name) => readFileSync(join(partitionDir, name))));
    };
    await eventually(() => segments(leader).equals(segments(failedOver.leader)), { timeoutMs: 60_000, what: `broker ${leader}'s orders-1 to equal its new leader's` });
    await eventually(async () => (await stateOf()).isr.includes(leader), { timeoutMs: 60_000, what: `broker ${leader} back in the ISR of orders-1` });
    expect((await stateOf()).leaderEpoch).toBe(failedOver.leaderEpoch);
  }, 120_000 + SOAK_RECORDS * 5);

  it('a broker whose ZooKeeper session expired (stopped past the session timeout) registers again and rebuilds its view', async () => {
    const { controllerId } = await readClusterStatus(cluster.zookeeper.connectString);
    const paused = [1, 2, 3].find((id) => id !== controllerId)!;
    const child = cluster.brokers.get(paused)!.process!;
    child.kill('SIGSTOP');
    try {
      await eventually(async () => (await readClusterStatus(cluster.zookeeper.connectString)).brokers.length === 2, {
        timeoutMs: 60_000,
        what: `ZooKeeper to expire broker ${paused}'s session`,
      });
    } finally {
      child.kill('SIGCONT');
    }
    await eventually(async () => (await readClusterStatus(cluster.zookeeper.connectString)).brokers.length === 3, {
      timeoutMs: 60_000,
      what: `broker ${paused} registered again`,
    });
    expect(readFileSync(join(cluster.brokers.get(paused)!.dataDir, 'serve.log'), 'utf8')).toContain('the ZooKeeper session expired');
    // Its view was read again on the new session: every partition's leader as ZooKeeper records it,
    // once the controller has given back the partitions it led (they went offline with its session).
    await eventually(
      async () => {
        const { partitions } = await readClusterStatus(cluster.zookeeper.connectString);
        if (partitions.some((p) => p.leader === -1)) return false;
        const expected = partitions.map((p) => `${p.topic}-${p.partition}:${p.leader}`).sort();
        const { topics } = await kcatMetadata(paused);
        // The internal topics too: they are cluster topics, led as ZooKeeper records.
        const led = topics.flatMap((topic) => topic.partitions.map((p) => `${topic.topic}-${p.partition}:${p.leader}`));
        return JSON.stringify(led.sort()) === JSON.stringify(expected);
      },
      { what: `broker ${paused} to know the leaders again` },
    );
  }, 120_000);

  it('elects a new controller with a higher epoch when the controller stops, and takes the broker back when it restarts', async () => {
    const before = await readClusterStatus(cluster.zookeeper.connectString);
    await cluster.stopBroker(before.controllerId);
    await eventually(
      async () => {
        const now = await readClusterStatus(cluster.zookeeper.connectString);
        return now.brokers.length === 2 && now.controllerId !== -1 && now.controllerId !== before.controllerId;
      },
      { timeoutMs: 30_000, what: 'another broker elected controller' },
    );
    const after = await readClusterStatus(cluster.zookeeper.connectString);
    expect(after.controllerEpoch).toBe(before.controllerEpoch + 1);
    const survivor = after.controllerId;
    const metadata = await kcatMetadata(survivor, 'orders');
    expect(metadata.brokers).toHaveLength(2);
    expect(metadata.controllerid).toBe(survivor);

    await cluster.startBroker(before.controllerId);
    await eventually(async () => (await kcatMetadata(survivor)).brokers.length === 3, { what: 'the restarted broker listed again' });
    expect((await readClusterStatus(cluster.zookeeper.connectString)).controllerId).toBe(survivor);
  }, 90_000);
});
