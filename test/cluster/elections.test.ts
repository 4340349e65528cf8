/**
 * The controller's elections with real processes (ZooKeeper and three `sluice serve --zookeeper`
 * brokers on 127.0.0.1): unclean leader election when every in-sync replica is gone, as the topic
 * config or the broker default allows it; ElectLeaders (preferred and unclean) served by the
 * controller, through `sluice topics elect-leaders` and raw requests; the controller's automatic
 * leader rebalance.
 *
 * One cluster for the file; the tests run in order. Its brokers run with
 * --unclean-leader-election (the broker default), so a topic stays clean only by its own
 * unclean.leader.election.enable=false, and without the automatic rebalance until the last test
 * restarts them with it, so the earlier tests see leaders off their preferred replicas stay there.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterStatus, type PartitionStatus } from '../../src/cluster/cluster-status.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { AlterConfigs } from '../../src/protocol/api/alter-configs.js';
import { ELECTION_TYPE_PREFERRED, ELECTION_TYPE_UNCLEAN, ElectLeaders } from '../../src/protocol/api/elect-leaders.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { batchOf, recordsOf } from '../broker/broker-test-helpers.js';
import { lines, runCli } from '../cli/run-cli.js';
import { TestClient, eventually } from '../server/helpers.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

let dir: string;
let cluster: LocalCluster;
const clients: TestClient[] = [];

beforeAll(async () => {
  dir = makeTempDir('elections');
  cluster = await LocalCluster.start({ dir, brokers: 3, sessionTimeoutMs: 4_000, serveArgs: ['--unclean-leader-election', '--auto-leader-rebalance-enable', 'false'] });
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

async function partitionMetadata(client: TestClient, topic: string): Promise<{ errorCode: number; leaderId: number }> {
  const metadata = await client.send(Metadata, 9, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  return metadata.topics[0].partitions[0];
}

/** ElectLeaders v2 for one partition: its error code and message. */
async function elect(client: TestClient, electionType: number, topic: string, partition = 0): Promise<[number, string | null]> {
  const response = await client.send(ElectLeaders, 2, { electionType, topicPartitions: [{ topic, partitions: [partition] }], timeoutMs: 10_000 });
  expect(response.errorCode).toBe(ErrorCode.NONE);
  const [result] = response.replicaElectionResults[0].partitionResult;
  return [result.errorCode, result.errorMessage];
}

async function produce(client: TestClient, topic: string, acks: number, values: string[]): Promise<number> {
  const response = await client.send(Produce, 9, { transactionalId: null, acks, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batchOf(values) }] }] });
  return response.responses[0].partitionResponses[0].errorCode;
}

/**
 * Every record of partition 0 the broker serves, as [offset, value]; retried while the broker
 * refuses it as not (yet) its leader, as a client does: a broker told it leads first takes the
 * new leader epoch in its log.
 */
async function readAll(client: TestClient, topic: string): Promise<[number, string][]> {
  const records: [number, string][] = [];
  const fetchFrom = async (fetchOffset: number) =>
    (
      await client.send(Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      })
    ).responses[0].partitions[0];
  await eventually(async () => (await fetchFrom(0)).errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER, { what: `${topic}-0 served by its new leader` });
  for (;;) {
    const served = await fetchFrom(records.length === 0 ? 0 : records.at(-1)![0] + 1);
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
    const topics = { clean: 'stays-clean', byDefault: 'broker-default', altered: 'made-unclean', byOperator: 'operator-unclean' };
    try {
      const created = await admin.createTopics({
        topics: [
          { topic: topics.clean, configEntries: [{ name: 'unclean.leader.election.enable', value: 'false' }] },
          { topic: topics.byDefault, configEntries: [] },
          { topic: topics.altered, configEntries: [{ name: 'unclean.leader.election.enable', value: 'FALSE' }] },
          { topic: topics.byOperator, configEntries: [{ name: 'unclean.leader.election.enable', value: 'false' }] },
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
      // With no replica live, no election can give the partition a leader.
      const onController = await connect(controllerId);
      expect(await elect(onController, ELECTION_TYPE_UNCLEAN, topics.clean)).toEqual([ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, `${topics.clean}-0: none of its replicas [${a}, ${b}] is live; start one of their brokers`]);
      expect(await elect(onController, ELECTION_TYPE_PREFERRED, topics.clean)).toEqual([
        ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
        `${topics.clean}-0: the preferred leader cannot lead: broker ${a} is not live; retry once it is back in the ISR`,
      ]);

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

      // An operator's unclean election elects whatever the topic's config says (Kafka's AdminClientTriggered).
      const operator = await runCli(['topics', 'elect-leaders', '--election-type', 'unclean', '--topic', topics.byOperator, '--partition', '0', '--bootstrap-server', `127.0.0.1:${cluster.brokers.get(b)!.port}`]);
      expect(operator).toMatchObject({ code: 0, stderr: '', stdout: `Successfully completed leader election (UNCLEAN) for partitions ${topics.byOperator}-0\n` });
      expect(await stateOf(topics.byOperator)).toMatchObject({ leader: b, isr: [b] });

      // The clean topic stayed offline through these decisions: no leader, clients told so.
      expect(await stateOf(topics.clean)).toMatchObject({ leader: -1, isr: [a] });
      expect(await produce(onB, topics.clean, 1, ['refused'])).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      expect((await partitionMetadata(onB, topics.clean))).toMatchObject({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1 });
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

  it('ElectLeaders: the controller moves leadership back to preferred replicas in the ISR, other brokers answer NOT_CONTROLLER, and the CLI finds the controller', async () => {
    const { controllerId } = await readClusterStatus(cluster.zookeeper.connectString);
    const [a, b] = [1, 2, 3].filter((id) => id !== controllerId);
    const moved = ['broker-default', 'made-unclean', 'operator-unclean'];
    for (const topic of moved) await eventually(async () => (await stateOf(topic)).isr.length === 2, { timeoutMs: 30_000, what: `broker ${a} back in the ISR of ${topic}` });
    const before = await Promise.all(moved.map((topic) => stateOf(topic)));
    expect(before.map((state) => [state.replicas[0], state.leader])).toEqual(moved.map(() => [a, b]));

    const onA = await connect(a);
    expect(await elect(onA, ELECTION_TYPE_PREFERRED, 'broker-default')).toEqual([ErrorCode.NOT_CONTROLLER, `broker ${a} is not the controller (broker ${controllerId} is); send the request to the controller Metadata names`]);

    // Over every partition: the three led off their preferred replica move; stays-clean, led by its own, is not reported.
    const all = await runCli(['topics', 'elect-leaders', '--election-type', 'preferred', '--all-topic-partitions', '--bootstrap-server', `127.0.0.1:${cluster.brokers.get(a)!.port}`]);
    expect(all).toMatchObject({ code: 0, stderr: '' });
    expect(lines(all.stdout)).toEqual([`Successfully completed leader election (PREFERRED) for partitions ${moved.map((topic) => `${topic}-0`).join(', ')}`]);
    const after = await Promise.all(moved.map((topic) => stateOf(topic)));
    expect(after.map((state) => [state.leader, state.leaderEpoch, state.isr.length])).toEqual(before.map((state) => [a, state.leaderEpoch + 1, 2]));
    // The answer came once the controller saw the new leaders; a serves them once it took the new epoch.
    await eventually(async () => (await produce(onA, 'broker-default', -1, ['on-the-preferred-leader'])) === ErrorCode.NONE, { what: `broker ${a} taking produce as leader` });

    const onController = await connect(controllerId);
    expect(await elect(onController, ELECTION_TYPE_PREFERRED, 'broker-default')).toEqual([ErrorCode.ELECTION_NOT_NEEDED, `broker-default-0: no election needed: its preferred replica ${a} leads it`]);
    expect(await elect(onController, ELECTION_TYPE_UNCLEAN, 'broker-default')).toEqual([ErrorCode.ELECTION_NOT_NEEDED, `broker-default-0: no election needed: broker ${a} leads it and is live`]);
    expect(await elect(onController, ELECTION_TYPE_PREFERRED, 'broker-default', 5)).toEqual([
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      'partition 5 of topic "broker-default" does not exist; the topic has 1 partition(s), numbered 0 to 0',
    ]);
  }, 90_000);

  it('auto leader rebalance: a broker killed and started again gets back the partitions it is preferred for, once it is in sync', async () => {
    const kafka = new Kafka({ clientId: 'rebalance', brokers: [cluster.bootstrap.split(',')[0]], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'balanced', numPartitions: 3, replicationFactor: 3 }] })).toBe(true);
    } finally {
      await admin.disconnect();
    }
    let before: PartitionStatus | null = null;
    await eventually(async () => ((before = await stateOf('balanced').catch(() => null))?.leader ?? -1) !== -1, { timeoutMs: 30_000, what: 'balanced-0 has a leader' });
    const x = before!.replicas[0];
    expect(before!.leader).toBe(x);
    // Every broker restarts with the rebalance on (the file's cluster runs with it off): the two
    // others together, then x is killed, so the controller is one of them from then on.
    const rebalancing = ['--auto-leader-rebalance-enable', 'true', '--leader-imbalance-check-interval-seconds', '1'];
    const others = [1, 2, 3].filter((id) => id !== x);
    await Promise.all(others.map((id) => cluster.stopBroker(id)));
    await Promise.all(others.map((id) => cluster.startBroker(id, rebalancing)));
    await cluster.stopBroker(x, 'SIGKILL');
    await eventually(async () => ![-1, x].includes((await stateOf('balanced')).leader), { timeoutMs: 30_000, what: `balanced-0 failed over from broker ${x}` });
    const failedOver = await stateOf('balanced');
    // Records x misses while it is down: it must fetch them to be in sync again.
    // The new leader may still be taking the partition over (NOT_LEADER_OR_FOLLOWER, nothing written): a client retries.
    const leaderClient = await connect(failedOver.leader);
    let produced = -1;
    await eventually(async () => (produced = await produce(leaderClient, 'balanced', 1, ['while-x-was-down'])) !== ErrorCode.NOT_LEADER_OR_FOLLOWER, { timeoutMs: 30_000, what: `broker ${failedOver.leader} taking balanced-0 over` });
    expect(produced).toBe(ErrorCode.NONE);

    await cluster.startBroker(x, rebalancing);
    await eventually(async () => (await stateOf('balanced')).leader === x, { timeoutMs: 30_000, what: `broker ${x} leading balanced-0 again` });
    const after = await stateOf('balanced');
    expect(after.isr).toContain(x);
    expect(after.leaderEpoch).toBeGreaterThan(failedOver.leaderEpoch);
    const { controllerId } = await readClusterStatus(cluster.zookeeper.connectString);
    const controllerLog = readFileSync(join(cluster.brokers.get(controllerId)!.dataDir, 'serve.log'), 'utf8');
    expect(controllerLog).toMatch(new RegExp(`leader rebalance: \\d+ of the \\d+ partition\\(s\\) preferring broker ${x} are led elsewhere, more than leader.imbalance.per.broker.percentage 10`));
    expect(controllerLog).toContain(`preferred replica election for balanced-0: leader ${failedOver.leader} -> ${x} at epoch ${after.leaderEpoch}`);
  }, 90_000);
});
