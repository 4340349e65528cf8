/**
 * Which operation on which resource each API needs, as Kafka's KafkaApis checks it, with the code
 * it answers: every request below is sent as raw frames by a connection without SASL (principal
 * User:ANONYMOUS) to a server with an authorizer. Without ACLs each is refused with its
 * *_AUTHORIZATION_FAILED code (or, where Kafka filters, answered without the hidden resources);
 * after ACLs grant exactly the operation Kafka asks for, the same request passes the check.
 */
import { Admin } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AclOperation, AclPermissionType, PatternType, ResourceType, type AclOperationName } from '../../src/broker/acl/acl.js';
import { AddOffsetsToTxn } from '../../src/protocol/api/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../src/protocol/api/add-partitions-to-txn.js';
import { AlterConfigs } from '../../src/protocol/api/alter-configs.js';
import { IncrementalAlterConfigs } from '../../src/protocol/api/incremental-alter-configs.js';
import { LeaveGroup } from '../../src/protocol/api/leave-group.js';
import { ListTransactions } from '../../src/protocol/api/list-transactions.js';
import { OffsetDelete } from '../../src/protocol/api/offset-delete.js';
import { SyncGroup } from '../../src/protocol/api/sync-group.js';
import { TxnOffsetCommit } from '../../src/protocol/api/txn-offset-commit.js';
import { CreatePartitions } from '../../src/protocol/api/create-partitions.js';
import { CreateTopics } from '../../src/protocol/api/create-topics.js';
import { DeleteGroups } from '../../src/protocol/api/delete-groups.js';
import { DeleteRecords } from '../../src/protocol/api/delete-records.js';
import { DeleteTopics } from '../../src/protocol/api/delete-topics.js';
import { DescribeCluster } from '../../src/protocol/api/describe-cluster.js';
import { DescribeConfigs } from '../../src/protocol/api/describe-configs.js';
import { DescribeGroups } from '../../src/protocol/api/describe-groups.js';
import { DescribeLogDirs } from '../../src/protocol/api/describe-log-dirs.js';
import { DescribeProducers } from '../../src/protocol/api/describe-producers.js';
import { DescribeTransactions } from '../../src/protocol/api/describe-transactions.js';
import { ElectLeaders } from '../../src/protocol/api/elect-leaders.js';
import { EndTxn } from '../../src/protocol/api/end-txn.js';
import { WriteTxnMarkers } from '../../src/protocol/api/write-txn-markers.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { FindCoordinator } from '../../src/protocol/api/find-coordinator.js';
import { Heartbeat } from '../../src/protocol/api/heartbeat.js';
import { InitProducerId } from '../../src/protocol/api/init-producer-id.js';
import { JoinGroup } from '../../src/protocol/api/join-group.js';
import { ListGroups } from '../../src/protocol/api/list-groups.js';
import { ListOffsets } from '../../src/protocol/api/list-offsets.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { OffsetCommit } from '../../src/protocol/api/offset-commit.js';
import { OffsetFetch } from '../../src/protocol/api/offset-fetch.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { ConsumerGroupDescribe } from '../../src/protocol/api/consumer-group-describe.js';
import { ConsumerGroupHeartbeat } from '../../src/protocol/api/consumer-group-heartbeat.js';
import { OffsetForLeaderEpoch } from '../../src/protocol/api/offset-for-leader-epoch.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { TestClient, startServer, type TestServer } from './helpers.js';

const { TOPIC_AUTHORIZATION_FAILED: TOPIC, GROUP_AUTHORIZATION_FAILED: GROUP, CLUSTER_AUTHORIZATION_FAILED: CLUSTER, TRANSACTIONAL_ID_AUTHORIZATION_FAILED: TXN } = ErrorCode;
const AUTHORIZATION_CODES: number[] = [TOPIC, GROUP, CLUSTER, TXN];

let t: TestServer;
let client: TestClient;

beforeAll(async () => {
  t = await startServer({ server: { authorizer: {} } });
  await t.broker.createTopic('orders', { partitions: 1 });
  client = await TestClient.connect(t.port);
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

type Resource = 'TOPIC' | 'GROUP' | 'CLUSTER' | 'TRANSACTIONAL_ID';

function grant(operation: AclOperationName, resourceType: Resource, resourceName: string): void {
  const results = t.broker.createAcls([
    {
      resourceType: ResourceType[resourceType],
      resourceName: resourceType === 'CLUSTER' ? 'kafka-cluster' : resourceName,
      patternType: PatternType.LITERAL,
      principal: 'User:ANONYMOUS',
      host: '*',
      operation: AclOperation[operation],
      permissionType: AclPermissionType.ALLOW,
    },
  ]);
  expect(results).toEqual([null]);
}

function revokeAll(): void {
  t.broker.deleteAcls([
    { resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: AclOperation.ANY, permissionType: AclPermissionType.ANY },
  ]);
}

const batch = (): Buffer => encodeRecordBatch({ records: [{ key: null, value: Buffer.from('v'), timestampMs: Date.now() }] });

interface Case {
  name: string;
  /** The error codes of the response that the check decides. */
  codes(): Promise<number[]>;
  refused: number;
  /** What Kafka asks for: granting these passes the check. */
  grants: [AclOperationName, Resource, string][];
}

const CASES: Case[] = [
  {
    name: 'Produce: WRITE on the topic',
    codes: async () =>
      (await client.send(Produce, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch() }] }] })).responses.flatMap(
        (topic) => topic.partitionResponses.map((p) => p.errorCode),
      ),
    refused: TOPIC,
    grants: [['WRITE', 'TOPIC', 'orders']],
  },
  {
    name: 'Fetch: READ on the topic',
    codes: async () =>
      (await client.send(Fetch, 11, { maxWaitMs: 0, minBytes: 0, topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] }] })).responses.flatMap(
        (topic) => topic.partitions.map((p) => p.errorCode),
      ),
    refused: TOPIC,
    grants: [['READ', 'TOPIC', 'orders']],
  },
  {
    name: 'ListOffsets: DESCRIBE on the topic (implied by READ)',
    codes: async () =>
      (await client.send(ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, timestamp: -1 }] }] })).topics.flatMap(
        (topic) => topic.partitions.map((p) => p.errorCode),
      ),
    refused: TOPIC,
    grants: [['READ', 'TOPIC', 'orders']],
  },
  {
    name: 'Metadata of a named topic: DESCRIBE on it',
    codes: async () => (await client.send(Metadata, 9, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false })).topics.map((topic) => topic.errorCode),
    refused: TOPIC,
    grants: [['DESCRIBE', 'TOPIC', 'orders']],
  },
  {
    name: 'Metadata auto-creating a topic: CREATE on the cluster or the topic',
    codes: async () => (await client.send(Metadata, 9, { topics: [{ name: 'fresh' }], allowAutoTopicCreation: true })).topics.map((topic) => topic.errorCode),
    refused: TOPIC,
    grants: [
      ['DESCRIBE', 'TOPIC', 'fresh'],
      ['CREATE', 'TOPIC', 'fresh'],
    ],
  },
  {
    name: 'OffsetCommit: READ on the group, then READ on the topic',
    codes: async () =>
      (
        await client.send(OffsetCommit, 2, {
          groupId: 'g',
          generationId: -1,
          memberId: '',
          topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 0, committedMetadata: null }] }],
        })
      ).topics.flatMap((topic) => topic.partitions.map((p) => p.errorCode)),
    refused: GROUP,
    grants: [
      ['READ', 'GROUP', 'g'],
      ['READ', 'TOPIC', 'orders'],
    ],
  },
  {
    name: 'OffsetFetch: DESCRIBE on the group',
    codes: async () => [(await client.send(OffsetFetch, 7, { groupId: 'g', topics: null })).errorCode],
    refused: GROUP,
    grants: [['DESCRIBE', 'GROUP', 'g']],
  },
  {
    name: 'FindCoordinator of a group: DESCRIBE on it',
    codes: async () => [(await client.send(FindCoordinator, 3, { key: 'g', keyType: 0 })).errorCode],
    refused: GROUP,
    grants: [['DESCRIBE', 'GROUP', 'g']],
  },
  {
    name: 'FindCoordinator of a transactional id: DESCRIBE on it (implied by WRITE)',
    codes: async () => (await client.send(FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['tx'] })).coordinators.map((c) => c.errorCode),
    refused: TXN,
    grants: [['WRITE', 'TRANSACTIONAL_ID', 'tx']],
  },
  {
    name: 'JoinGroup: READ on the group',
    codes: async () =>
      [(await client.send(JoinGroup, 5, { groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] })).errorCode],
    refused: GROUP,
    grants: [['READ', 'GROUP', 'g']],
  },
  {
    name: 'OffsetForLeaderEpoch: DESCRIBE on the topic (implied by READ)',
    codes: async () =>
      (await client.send(OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] })).topics.flatMap(
        (topic) => topic.partitions.map((p) => p.errorCode),
      ),
    refused: TOPIC,
    grants: [['READ', 'TOPIC', 'orders']],
  },
  {
    name: 'OffsetForLeaderEpoch: CLUSTER_ACTION on the cluster (a follower) also passes',
    codes: async () =>
      (await client.send(OffsetForLeaderEpoch, 4, { replicaId: 1, topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] })).topics.flatMap(
        (topic) => topic.partitions.map((p) => p.errorCode),
      ),
    refused: TOPIC,
    grants: [['CLUSTER_ACTION', 'CLUSTER', '']],
  },
  {
    name: 'ConsumerGroupHeartbeat: READ on the group',
    codes: async () =>
      [
        (
          await client.send(ConsumerGroupHeartbeat, 1, {
            groupId: 'cg',
            memberId: 'acl-member',
            memberEpoch: 0,
            rebalanceTimeoutMs: 30_000,
            subscribedTopicNames: ['orders'],
            topicPartitions: [],
          })
        ).errorCode,
      ],
    refused: GROUP,
    grants: [['READ', 'GROUP', 'cg']],
  },
  {
    name: 'ConsumerGroupDescribe: DESCRIBE on the group',
    codes: async () => (await client.send(ConsumerGroupDescribe, 0, { groupIds: ['cg'], includeAuthorizedOperations: false })).groups.map((group) => group.errorCode),
    refused: GROUP,
    grants: [['DESCRIBE', 'GROUP', 'cg']],
  },
  {
    name: 'Heartbeat: READ on the group',
    codes: async () => [(await client.send(Heartbeat, 3, { groupId: 'g', generationId: 1, memberId: 'm' })).errorCode],
    refused: GROUP,
    grants: [['READ', 'GROUP', 'g']],
  },
  {
    name: 'DescribeGroups: DESCRIBE on the group',
    codes: async () => (await client.send(DescribeGroups, 3, { groups: ['g'] })).groups.map((group) => group.errorCode),
    refused: GROUP,
    grants: [['DESCRIBE', 'GROUP', 'g']],
  },
  {
    name: 'SyncGroup: READ on the group',
    codes: async () => [(await client.send(SyncGroup, 3, { groupId: 'g', generationId: 1, memberId: 'm', assignments: [] })).errorCode],
    refused: GROUP,
    grants: [['READ', 'GROUP', 'g']],
  },
  {
    name: 'LeaveGroup: READ on the group',
    codes: async () => [(await client.send(LeaveGroup, 3, { groupId: 'g', members: [{ memberId: 'm' }] })).errorCode],
    refused: GROUP,
    grants: [['READ', 'GROUP', 'g']],
  },
  {
    name: 'OffsetDelete: DELETE on the group, then READ on the topic',
    codes: async () => {
      const response = await client.send(OffsetDelete, 0, { groupId: 'g', topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }] });
      return [response.errorCode, ...response.topics.flatMap((topic) => topic.partitions.map((p) => p.errorCode))];
    },
    refused: GROUP,
    grants: [
      ['DELETE', 'GROUP', 'g'],
      ['READ', 'TOPIC', 'orders'],
    ],
  },
  {
    name: 'DeleteGroups: DELETE on the group',
    codes: async () => (await client.send(DeleteGroups, 2, { groupsNames: ['g'] })).results.map((result) => result.errorCode),
    refused: GROUP,
    grants: [['DELETE', 'GROUP', 'g']],
  },
  {
    name: 'CreateTopics: CREATE on the cluster or the topic',
    codes: async () =>
      (await client.send(CreateTopics, 4, { topics: [{ name: 'made', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], validateOnly: true })).topics.map(
        (topic) => topic.errorCode,
      ),
    refused: TOPIC,
    grants: [['CREATE', 'CLUSTER', '']],
  },
  {
    name: 'DeleteTopics: DELETE on the topic',
    codes: async () => (await client.send(DeleteTopics, 4, { topicNames: ['nothing-here'], timeoutMs: 1000 })).responses.map((r) => r.errorCode),
    refused: TOPIC,
    grants: [['DELETE', 'TOPIC', 'nothing-here']],
  },
  {
    name: 'DeleteRecords: DELETE on the topic',
    codes: async () =>
      (await client.send(DeleteRecords, 1, { topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 0 }] }], timeoutMs: 1000 })).topics.flatMap((topic) =>
        topic.partitions.map((p) => p.errorCode),
      ),
    refused: TOPIC,
    grants: [['DELETE', 'TOPIC', 'orders']],
  },
  {
    name: 'ElectLeaders: ALTER on the cluster (refused at the top and for every partition)',
    codes: async () => {
      const response = await client.send(ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 'orders', partitions: [0] }], timeoutMs: 1000 });
      return [response.errorCode, ...response.replicaElectionResults.flatMap((topic) => topic.partitionResult.map((p) => p.errorCode))];
    },
    refused: CLUSTER,
    grants: [['ALTER', 'CLUSTER', '']],
  },
  {
    name: 'CreatePartitions: ALTER on the topic',
    codes: async () => (await client.send(CreatePartitions, 1, { topics: [{ name: 'orders', count: 2, assignments: null }], timeoutMs: 1000, validateOnly: true })).results.map((r) => r.errorCode),
    refused: TOPIC,
    grants: [['ALTER', 'TOPIC', 'orders']],
  },
  {
    name: 'InitProducerId with a transactional id: WRITE on it',
    codes: async () => [(await client.send(InitProducerId, 2, { transactionalId: 'tx', transactionTimeoutMs: 60_000 })).errorCode],
    refused: TXN,
    grants: [['WRITE', 'TRANSACTIONAL_ID', 'tx']],
  },
  {
    name: 'InitProducerId without one: IDEMPOTENT_WRITE on the cluster (or WRITE on some topic)',
    codes: async () => [(await client.send(InitProducerId, 2, { transactionalId: null, transactionTimeoutMs: 60_000 })).errorCode],
    refused: CLUSTER,
    grants: [['IDEMPOTENT_WRITE', 'CLUSTER', '']],
  },
  {
    name: 'AddOffsetsToTxn: WRITE on the transactional id, then READ on the group',
    codes: async () => [(await client.send(AddOffsetsToTxn, 1, { transactionalId: 'tx', producerId: 1, producerEpoch: 0, groupId: 'g' })).errorCode],
    refused: TXN,
    grants: [
      ['WRITE', 'TRANSACTIONAL_ID', 'tx'],
      ['READ', 'GROUP', 'g'],
    ],
  },
  {
    name: 'AddPartitionsToTxn: WRITE on the transactional id, then WRITE on the topic',
    codes: async () =>
      ((await client.send(AddPartitionsToTxn, 3, { transactionalId: 'tx', producerId: 1, producerEpoch: 0, topics: [{ name: 'orders', partitions: [0] }] })).results ?? []).flatMap(
        (topic) => topic.resultsByPartition.map((p) => p.partitionErrorCode),
      ),
    refused: TXN,
    grants: [
      ['WRITE', 'TRANSACTIONAL_ID', 'tx'],
      ['WRITE', 'TOPIC', 'orders'],
    ],
  },
  {
    name: 'TxnOffsetCommit: WRITE on the transactional id, READ on the group, READ on the topic',
    codes: async () =>
      (
        await client.send(TxnOffsetCommit, 2, {
          transactionalId: 'tx',
          groupId: 'g',
          producerId: 1,
          producerEpoch: 0,
          topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 0, committedMetadata: null }] }],
        })
      ).topics.flatMap((topic) => topic.partitions.map((p) => p.errorCode)),
    refused: TXN,
    grants: [
      ['WRITE', 'TRANSACTIONAL_ID', 'tx'],
      ['READ', 'GROUP', 'g'],
      ['READ', 'TOPIC', 'orders'],
    ],
  },
  {
    name: 'EndTxn: WRITE on the transactional id',
    codes: async () => [(await client.send(EndTxn, 1, { transactionalId: 'tx', producerId: 1, producerEpoch: 0, committed: true })).errorCode],
    refused: TXN,
    grants: [['WRITE', 'TRANSACTIONAL_ID', 'tx']],
  },
  {
    name: 'WriteTxnMarkers (inter-broker): CLUSTER_ACTION on the cluster',
    codes: async () =>
      (
        await client.send(WriteTxnMarkers, 1, {
          markers: [{ producerId: 1, producerEpoch: 0, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: 'orders', partitionIndexes: [0] }] }],
        })
      ).markers.flatMap((marker) => marker.topics.flatMap((topic) => topic.partitions.map((p) => p.errorCode))),
    refused: CLUSTER,
    grants: [['CLUSTER_ACTION', 'CLUSTER', '']],
  },
  {
    name: 'DescribeConfigs of a topic: DESCRIBE_CONFIGS on it (implied by ALTER_CONFIGS)',
    codes: async () => (await client.send(DescribeConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: null }] })).results.map((r) => r.errorCode),
    refused: TOPIC,
    grants: [['ALTER_CONFIGS', 'TOPIC', 'orders']],
  },
  {
    name: 'DescribeConfigs of the broker: DESCRIBE_CONFIGS on the cluster',
    codes: async () => (await client.send(DescribeConfigs, 1, { resources: [{ resourceType: 4, resourceName: '0', configurationKeys: null }] })).results.map((r) => r.errorCode),
    refused: CLUSTER,
    grants: [['DESCRIBE_CONFIGS', 'CLUSTER', '']],
  },
  {
    name: 'AlterConfigs of a topic: ALTER_CONFIGS on it',
    codes: async () => (await client.send(AlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'orders', configs: [] }], validateOnly: true })).responses.map((r) => r.errorCode),
    refused: TOPIC,
    grants: [['ALTER_CONFIGS', 'TOPIC', 'orders']],
  },
  {
    name: 'IncrementalAlterConfigs of the broker: ALTER_CONFIGS on the cluster',
    codes: async () =>
      (await client.send(IncrementalAlterConfigs, 1, { resources: [{ resourceType: 4, resourceName: '0', configs: [] }], validateOnly: true })).responses.map((r) => r.errorCode),
    refused: CLUSTER,
    grants: [['ALTER_CONFIGS', 'CLUSTER', '']],
  },
  {
    name: 'DescribeLogDirs: DESCRIBE on the cluster',
    codes: async () => [(await client.send(DescribeLogDirs, 3, { topics: null })).errorCode],
    refused: CLUSTER,
    grants: [['DESCRIBE', 'CLUSTER', '']],
  },
  {
    name: 'DescribeProducers: READ on the topic',
    codes: async () => (await client.send(DescribeProducers, 0, { topics: [{ name: 'orders', partitionIndexes: [0] }] })).topics.flatMap((topic) => topic.partitions.map((p) => p.errorCode)),
    refused: TOPIC,
    grants: [['READ', 'TOPIC', 'orders']],
  },
  {
    name: 'DescribeTransactions: DESCRIBE on the transactional id',
    codes: async () => (await client.send(DescribeTransactions, 0, { transactionalIds: ['tx'] })).transactionStates.map((s) => s.errorCode),
    refused: TXN,
    grants: [['DESCRIBE', 'TRANSACTIONAL_ID', 'tx']],
  },
];

describe('each API checks what Kafka checks', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      revokeAll();
      expect(new Set(await c.codes())).toEqual(new Set([c.refused]));
      // Where Kafka checks more than one resource, each grant but the last still leaves a refusal.
      for (const [i, [operation, resourceType, name]] of c.grants.entries()) {
        if (i > 0) expect((await c.codes()).some((code) => AUTHORIZATION_CODES.includes(code))).toBe(true);
        grant(operation, resourceType, name);
      }
      const codes = await c.codes();
      for (const code of codes) expect(AUTHORIZATION_CODES).not.toContain(code);
      revokeAll();
    });
  }
});

describe('where Kafka filters instead of failing', () => {
  it('Metadata of every topic lists only those the caller may DESCRIBE', async () => {
    revokeAll();
    expect((await client.send(Metadata, 9, { topics: null, allowAutoTopicCreation: false })).topics).toEqual([]);
    grant('WRITE', 'TOPIC', 'orders');
    expect((await client.send(Metadata, 9, { topics: null, allowAutoTopicCreation: false })).topics.map((topic) => topic.name)).toEqual(['orders']);
    revokeAll();
  });

  it('ListGroups lists every group with DESCRIBE on the cluster, else the groups the caller may DESCRIBE', async () => {
    revokeAll();
    await t.broker.groups.commitOffsets({ groupId: 'listed', offsets: [{ topic: 'orders', partition: 0, offset: 1 }] });
    await t.broker.groups.commitOffsets({ groupId: 'hidden', offsets: [{ topic: 'orders', partition: 0, offset: 1 }] });
    revokeAll();
    grant('DESCRIBE', 'GROUP', 'listed');
    expect((await client.send(ListGroups, 3, {})).groups.map((group) => group.groupId)).toEqual(['listed']);
    grant('DESCRIBE', 'CLUSTER', '');
    const everyGroup = [...t.broker.groups.listGroups(), ...t.broker.consumerGroups.listGroups()].map((group) => group.groupId).sort();
    expect(everyGroup).toEqual(expect.arrayContaining(['hidden', 'listed']));
    expect((await client.send(ListGroups, 3, {})).groups.map((group) => group.groupId).sort()).toEqual(everyGroup);
    revokeAll();
  });

  it('ListTransactions lists only the transactional ids the caller may DESCRIBE', async () => {
    revokeAll();
    grant('WRITE', 'TRANSACTIONAL_ID', 'tx-listed');
    grant('WRITE', 'TRANSACTIONAL_ID', 'tx-hidden');
    for (const transactionalId of ['tx-listed', 'tx-hidden']) {
      expect((await client.send(InitProducerId, 2, { transactionalId, transactionTimeoutMs: 60_000 })).errorCode).toBe(ErrorCode.NONE);
    }
    revokeAll();
    grant('DESCRIBE', 'TRANSACTIONAL_ID', 'tx-listed');
    const listed = await client.send(ListTransactions, 0, { stateFilters: [], producerIdFilters: [] });
    expect(listed.transactionStates.map((state) => state.transactionalId)).toEqual(['tx-listed']);
    revokeAll();
  });

  it('DescribeCluster reports the cluster operations the ACLs allow', async () => {
    revokeAll();
    expect((await client.send(DescribeCluster, 0, { includeClusterAuthorizedOperations: true })).clusterAuthorizedOperations).toBe(0);
    grant('ALTER', 'CLUSTER', '');
    // ALTER implies DESCRIBE: bits 7 and 8.
    expect((await client.send(DescribeCluster, 0, { includeClusterAuthorizedOperations: true })).clusterAuthorizedOperations).toBe((1 << 7) | (1 << 8));
    revokeAll();
  });
});

describe('authorized operations (KIP-430)', () => {
  /** Kafka's "not asked for" sentinel, Integer.MIN_VALUE. */
  const OMITTED = -2147483648;
  const bits = (...operations: AclOperationName[]): number => operations.reduce((field, operation) => field | (1 << AclOperation[operation]), 0);
  const metadata = (version: number, include: boolean, names: string[] | null = ['orders']) =>
    client.send(Metadata, version, {
      topics: names === null ? null : names.map((name) => ({ name })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: include,
      includeTopicAuthorizedOperations: include,
    });
  const heartbeatCg = () =>
    client.send(ConsumerGroupHeartbeat, 0, {
      groupId: 'ops-cg',
      memberId: 'ops-member',
      memberEpoch: 0,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: ['orders'],
      topicPartitions: [],
    });

  it('Metadata v8-v12: each described topic carries the topic operations the ACLs allow, v8-v10 the cluster\'s', async () => {
    revokeAll();
    const refused = await metadata(8, true);
    expect(refused.topics.map((topic) => [topic.errorCode, topic.topicAuthorizedOperations])).toEqual([[TOPIC, OMITTED]]);
    expect(refused.clusterAuthorizedOperations).toBe(0);
    grant('WRITE', 'TOPIC', 'orders');
    grant('DESCRIBE_CONFIGS', 'TOPIC', 'orders');
    grant('DESCRIBE', 'TOPIC', 'missing');
    grant('ALTER', 'CLUSTER', '');
    for (const version of [8, 9, 10, 11, 12]) {
      const response = await metadata(version, true, ['orders', 'missing']);
      expect(response.topics.map((topic) => [topic.name, topic.errorCode, topic.topicAuthorizedOperations])).toEqual([
        // WRITE implies DESCRIBE.
        ['orders', ErrorCode.NONE, bits('WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS')],
        // Kafka sets them on an unknown topic the caller may describe too.
        ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, bits('DESCRIBE')],
      ]);
      // v11 dropped the cluster's (DescribeCluster answers them): the field is not on the wire.
      expect(response.clusterAuthorizedOperations).toBe(version <= 10 ? bits('ALTER', 'DESCRIBE') : OMITTED);
      const every = await metadata(version, true, null);
      expect(every.topics.map((topic) => [topic.name, topic.topicAuthorizedOperations])).toEqual([['orders', bits('WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS')]]);
      const notAsked = await metadata(version, false);
      expect(notAsked.topics.map((topic) => topic.topicAuthorizedOperations)).toEqual([OMITTED]);
      expect(notAsked.clusterAuthorizedOperations).toBe(OMITTED);
    }
    revokeAll();
  });

  it('Metadata by topic id (v12): known ids carry operations, unknown and refused ones the sentinel', async () => {
    revokeAll();
    grant('READ', 'TOPIC', 'orders');
    const topicId = (await metadata(12, false)).topics[0].topicId;
    await t.broker.createTopic('ops-secret', { partitions: 1 });
    const secretId = t.broker.topicMetadata('ops-secret').topicId;
    const response = await client.send(Metadata, 12, {
      topics: [{ name: null, topicId }, { name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' }, { name: null, topicId: secretId }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: true,
    });
    expect(response.topics.map((topic) => [topic.errorCode, topic.topicAuthorizedOperations])).toEqual([
      [ErrorCode.NONE, bits('READ', 'DESCRIBE')],
      [ErrorCode.UNKNOWN_TOPIC_ID, OMITTED],
      [TOPIC, OMITTED],
    ]);
    revokeAll();
  });

  it('DescribeGroups v3-v5: a described group carries the group operations the ACLs allow', async () => {
    revokeAll();
    for (const version of [3, 4, 5]) {
      const refused = await client.send(DescribeGroups, version, { groups: ['ops-g'], includeAuthorizedOperations: true });
      expect(refused.groups.map((group) => [group.errorCode, group.authorizedOperations])).toEqual([[GROUP, OMITTED]]);
    }
    grant('READ', 'GROUP', 'ops-g');
    for (const version of [3, 4, 5]) {
      const asked = await client.send(DescribeGroups, version, { groups: ['ops-g'], includeAuthorizedOperations: true });
      // READ implies DESCRIBE; the unknown group is described Dead, without error, as in Kafka.
      expect(asked.groups.map((group) => [group.errorCode, group.groupState, group.authorizedOperations])).toEqual([[ErrorCode.NONE, 'Dead', bits('READ', 'DESCRIBE')]]);
      const notAsked = await client.send(DescribeGroups, version, { groups: ['ops-g'], includeAuthorizedOperations: false });
      expect(notAsked.groups[0].authorizedOperations).toBe(OMITTED);
    }
    revokeAll();
  });

  it('@platformatic/kafka\'s Admin.describeGroups reads the group operations the ACLs allow', async () => {
    revokeAll();
    // FindCoordinator needs DESCRIBE on the group, which READ implies.
    grant('READ', 'GROUP', 'ops-admin');
    grant('DELETE', 'GROUP', 'ops-admin');
    const admin = new Admin({ clientId: 'ops-admin', bootstrapBrokers: [`127.0.0.1:${t.port}`], retries: 0 });
    try {
      const groups = await admin.describeGroups({ groups: ['ops-admin'], includeAuthorizedOperations: true });
      expect(groups.get('ops-admin')?.authorizedOperations).toBe(bits('READ', 'DESCRIBE', 'DELETE'));
      const notAsked = await admin.describeGroups({ groups: ['ops-admin'] });
      expect(notAsked.get('ops-admin')?.authorizedOperations).toBe(OMITTED);
    } finally {
      await admin.close();
    }
    revokeAll();
  });

  it('ConsumerGroupDescribe: a described group carries the group operations the ACLs allow', async () => {
    revokeAll();
    grant('READ', 'GROUP', 'ops-cg');
    expect((await heartbeatCg()).errorCode).toBe(ErrorCode.NONE);
    revokeAll();
    const describeCg = async (includeAuthorizedOperations: boolean) =>
      (await client.send(ConsumerGroupDescribe, 0, { groupIds: ['ops-cg', 'ops-none'], includeAuthorizedOperations })).groups.map((group) => [
        group.errorCode,
        group.authorizedOperations,
      ]);
    expect(await describeCg(true)).toEqual([
      [GROUP, OMITTED],
      [GROUP, OMITTED],
    ]);
    grant('DESCRIBE', 'GROUP', 'ops-cg');
    grant('DELETE', 'GROUP', 'ops-cg');
    grant('DESCRIBE', 'GROUP', 'ops-none');
    expect(await describeCg(true)).toEqual([
      [ErrorCode.NONE, bits('DESCRIBE', 'DELETE')],
      // Not a consumer group: an error, so no operations, as in Kafka.
      [ErrorCode.GROUP_ID_NOT_FOUND, OMITTED],
    ]);
    expect((await describeCg(false))[0]).toEqual([ErrorCode.NONE, OMITTED]);
    revokeAll();
  });

  it('without an authorizer every supported operation is answered, as in Kafka', async () => {
    const open = await startServer();
    const openClient = await TestClient.connect(open.port);
    try {
      await open.broker.createTopic('open', { partitions: 1 });
      const response = await openClient.send(Metadata, 10, {
        topics: [{ name: 'open' }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: true,
        includeTopicAuthorizedOperations: true,
      });
      expect(response.topics[0].topicAuthorizedOperations).toBe(bits('READ', 'WRITE', 'CREATE', 'DESCRIBE', 'DELETE', 'ALTER', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'));
      const cluster = bits('CREATE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE', 'ALTER', 'DESCRIBE');
      expect(response.clusterAuthorizedOperations).toBe(cluster);
      // The same computation as DescribeCluster's.
      expect((await openClient.send(DescribeCluster, 1, { includeClusterAuthorizedOperations: true })).clusterAuthorizedOperations).toBe(cluster);
      const groups = await openClient.send(DescribeGroups, 5, { groups: ['any'], includeAuthorizedOperations: true });
      expect(groups.groups[0].authorizedOperations).toBe(bits('READ', 'DESCRIBE', 'DELETE'));
    } finally {
      openClient.close();
      await open.close();
    }
  });
});

describe('hosts', () => {
  it('an IPv4 client of a dual-stack listener matches ACLs naming its IPv4 address, as in Kafka', async () => {
    const dual = await startServer({ server: { host: '::', advertisedHost: '127.0.0.1', authorizer: {} } });
    const ipv4Client = await TestClient.connect(dual.port);
    try {
      await dual.broker.createTopic('hosted', { partitions: 1 });
      const describe = async (): Promise<number[]> =>
        (await ipv4Client.send(Metadata, 9, { topics: [{ name: 'hosted' }], allowAutoTopicCreation: false })).topics.map((topic) => topic.errorCode);
      expect(await describe()).toEqual([TOPIC]);
      const acl = { resourceType: ResourceType.TOPIC, resourceName: 'hosted', patternType: PatternType.LITERAL, principal: 'User:ANONYMOUS', operation: AclOperation.DESCRIBE, permissionType: AclPermissionType.ALLOW };
      dual.broker.createAcls([{ ...acl, host: '10.9.9.9' }]);
      expect(await describe()).toEqual([TOPIC]);
      dual.broker.createAcls([{ ...acl, host: '127.0.0.1' }]);
      expect(await describe()).toEqual([ErrorCode.NONE]);
    } finally {
      ipv4Client.close();
      await dual.close();
    }
  });
});
