/**
 * The controller's elections with real processes (ZooKeeper and three `sluice serve --zookeeper`
 * brokers on 127.0.0.1): unclean leader election when every in-sync replica is gone, as the topic
 * config or the broker default allows it.
 *
 * One cluster for the file; the tests run in order. Its brokers run with
 * --unclean-leader-election (the broker default), so a topic stays clean only by its own
 * unclean.leader.election.enable=false.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterStatus, type PartitionStatus } from '../../src/cluster/cluster-status.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { AlterConfigs } from '../../src/protocol/api/alter-configs.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { batchOf, recordsOf } from '../broker/broker-test-helpers.js';
import { TestClient, eventually } from '../server/helpers.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

let dir: string;
let cluster: LocalCluster;
const clients: TestClient[] = [];

beforeAll(async () => {
  dir = makeTempDir('elections');
  cluster = await LocalCluster.start({ dir, brokers: 3, sessionTimeoutMs: 4_000, serveArgs: ['--unclean-leader-election'] });
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await cluster?.close();
  removeTempDir(dir);
}, 60_000);

async function connect(id: number): Promise<TestClient> {
  const client = await TestClient.connect(cluster.brokers.get(id)!.port);
  clients.push(client);
  return client;
}

async function stateOf(topic: string, partition = 0): Promise<PartitionStatus> {
  const found = (await readClusterStatus(cluster.zookeeper.connectString)).partitions.find((p) => p.topic === topic && p.partition === partition);
  if (found === undefined) throw new Error(`${topic}-${partition} has no state in ZooKeeper`);
  return found;
}

async function produce(client: TestClient, topic: string, acks: number, values: string[]): Promise<number> {
  const response = await client.send(Produce, 9, { transactionalId: null, acks, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batchOf(values) }] }] });
  return response.responses[0].partitionResponses[0].errorCode;
}

/** Every record of partition 0 the broker serves, as [offset, value]. */
async function readAll(client: TestClient, topic: string): Promise<[number, string][]> {
  const records: [number, string][] = [];
  for (;;) {
    const response = await client.send(Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: records.length === 0 ? 0 : records.at(-1)![0] + 1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const served = response.responses[0].partitions[0];
    expect(served.errorCode).toBe(ErrorCode.NONE);
    const fetched = recordsOf(served.records!);
    if (fetched.length === 0) return records;
    records.push(...fetched);
  }
}

function segments(id: number, topic: string): Buffer {
  const partitionDir = join(cluster.brokers.get(id)!.dataDir, `${topic}-0`);
  return Buffer.concat(readdirSync(partitionDir).filter((name) => name.endsWith('.log')).sort().map((name) => readFileSync(join(partitionDir, name))));
}

describe('leader elections (ZooKeeper + 3 brokers)', () => {
  it('with every in-sync replica gone, a partition stays offline unless unclean.leader.election.enable lets an out-of-sync replica lead; a returning ISR member leads a clean one again', async () => {
    const { controllerId } = await readClusterStatus(cluster.zookeeper.connectString);
    // a leads, b follows; neither is the controller, which stays up throughout.
    const [a, b] = [1, 2, 3].filter((id) => id !== controllerId);
    const kafka = new Kafka({ clientId: 'elections', brokers: [`127.0.0.1:${cluster.brokers.get(controllerId)!.port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topics = { clean: 'stays-clean', byDefault: 'broker-default', altered: 'made-unclean' };
    try {
      const created = await admin.createTopics({
        topics: [
          { topic: topics.clean, configEntries: [{ name: 'unclean.leader.election.enable', value: 'false' }] },
          { topic: topics.byDefault, configEntries: [] },
          { topic: topics.altered, configEntries: [{ name: 'unclean.leader.election.enable', value: 'FALSE' }] },
        ].map((topic) => ({ ...topic, replicaAssignment: [{ partition: 0, replicas: [a, b] }] })),
      });
      expect(created).toBe(true);
      const onA = await connect(a);
      for (const topic of Object.values(topics)) expect(await produce(onA, topic, -1, ['acked-by-both'])).toBe(ErrorCode.NONE);

      await cluster.stopBroker(b);
      for (const topic of Object.values(topics)) await eventually(async () => (await stateOf(topic)).isr.join() === String(a), { what: `broker ${b} out of the ISR of ${topic}` });
      for (const topic of Object.values(topics)) expect(await produce(onA, topic, 1, ['only-on-a'])).toBe(ErrorCode.NONE);
      await cluster.stopBroker(a);
      for (const topic of Object.values(topics)) await eventually(async () => (await stateOf(topic)).leader === -1, { what: `${topic} offline` });
      const offline = await stateOf(topics.byDefault);
      // Kafka keeps the last ISR member: it alone may lead cleanly.
      expect(offline.isr).toEqual([a]);

      // b comes back: out of sync, so only the topic that allows it (by the broker default) takes it as leader.
      await cluster.startBroker(b);
      await eventually(async () => (await stateOf(topics.byDefault)).leader === b, { timeoutMs: 30_000, what: `broker ${b} elected uncleanly for ${topics.byDefault}` });
      expect(await stateOf(topics.byDefault)).toMatchObject({ leader: b, isr: [b], leaderEpoch: offline.leaderEpoch + 1 });
      const controllerLog = () => readFileSync(join(cluster.brokers.get(controllerId)!.dataDir, 'serve.log'), 'utf8');
      expect(controllerLog()).toContain(
        `unclean leader election for ${topics.byDefault}-0: broker ${b}, outside the ISR [${a}] none of which is live, leads at epoch ${offline.leaderEpoch + 1}; ` +
          `records the ISR acknowledged beyond broker ${b}'s log are lost`,
      );
      // What only a held is gone: the new leader serves what both had, and takes new records.
      const onB = await connect(b);
      expect((await readAll(onB, topics.byDefault)).map(([, value]) => value)).toEqual(['acked-by-both']);
      expect(await produce(onB, topics.byDefault, 1, ['after-unclean'])).toBe(ErrorCode.NONE);

      // Turning the topic config on makes the controller elect at once (Kafka's TopicUncleanLeaderElectionEnable).
      // (kafkajs's alterConfigs first refreshes metadata, which an offline partition fails: the request goes raw.)
      const altered = await onB.send(AlterConfigs, 2, {
        resources: [{ resourceType: 2, resourceName: topics.altered, configs: [{ name: 'unclean.leader.election.enable', value: 'true' }] }],
        validateOnly: false,
      });
      expect(altered.responses[0].errorCode).toBe(ErrorCode.NONE);
      await eventually(async () => (await stateOf(topics.altered)).leader === b, { timeoutMs: 30_000, what: `broker ${b} elected for ${topics.altered} once its config allows it` });
      expect(await stateOf(topics.altered)).toMatchObject({ isr: [b] });

      // The clean topic stayed offline through both decisions: no leader, clients told so.
      expect(await stateOf(topics.clean)).toMatchObject({ leader: -1, isr: [a] });
      expect(await produce(onB, topics.clean, 1, ['refused'])).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      const metadata = await onB.send(Metadata, 9, { topics: [{ name: topics.clean }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      expect(metadata.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1 });
      expect(controllerLog()).toContain(`${topics.clean}-0 is offline: no replica of its ISR [${a}] is live (unclean.leader.election.enable is false: an out-of-sync replica may not lead)`);

      // a, the last in-sync replica, returns: it leads the clean topic again with everything it acknowledged,
      // and follows b on the others, its divergent tail cut to b's log.
      await cluster.startBroker(a);
      await eventually(async () => (await stateOf(topics.clean)).leader === a, { timeoutMs: 30_000, what: `broker ${a} leading ${topics.clean} again` });
      expect((await readAll(await connect(a), topics.clean)).map(([, value]) => value)).toEqual(['acked-by-both', 'only-on-a']);
      await eventually(async () => (await stateOf(topics.clean)).isr.length === 2, { timeoutMs: 30_000, what: `broker ${b} back in the ISR of ${topics.clean}` });
      await eventually(() => segments(a, topics.byDefault).equals(segments(b, topics.byDefault)), { timeoutMs: 30_000, what: `broker ${a}'s ${topics.byDefault}-0 to equal its leader's` });
      await eventually(async () => (await stateOf(topics.byDefault)).isr.length === 2, { timeoutMs: 30_000, what: `broker ${a} back in the ISR of ${topics.byDefault}` });
      expect((await stateOf(topics.byDefault)).leader).toBe(b);
    } finally {
      await admin.disconnect();
    }
  }, 120_000);
});
