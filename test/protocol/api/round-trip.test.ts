/**
 * Every API, every served version, both directions: a body with every field set to a
 * non-default value is encoded, decoded and compared with what the spec says that version
 * carries (fields the version lacks come back as their defaults), then re-encoded to the same
 * bytes. This covers the flexible versions kafkajs cannot produce; the kafkajs tests and the
 * hand-derived fixtures pin the actual byte layout.
 */
import { describe, expect, it } from 'vitest';
import type { AnyApi } from '../../../src/protocol/api/api.js';
import { APIS } from '../../../src/protocol/api/registry.js';
import { Reader } from '../../../src/protocol/wire/reader.js';
import { inVersions, type StructSchema } from '../../../src/protocol/wire/schema.js';
import { Writer } from '../../../src/protocol/wire/writer.js';

const TOPIC_ID = 'AAECAwQFBgcICQoLDA0ODw';
const BATCH = Buffer.from('record batch bytes');
const leader = { leaderId: 3, leaderEpoch: 4 };
const endpoint = { nodeId: 3, host: 'b3', port: 9094, rack: 'r3' };

/** A request and a response body per API key, every field away from its default. */
const SAMPLES: Record<number, { request: Record<string, unknown>; response: Record<string, unknown> }> = {
  0: {
    request: {
      transactionalId: 'tx',
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 't', partitionData: [{ index: 1, records: BATCH }, { index: 2, records: null }] }],
    },
    response: {
      responses: [
        {
          name: 't',
          partitionResponses: [
            {
              index: 1,
              errorCode: 0,
              baseOffset: 2 ** 40,
              logAppendTimeMs: 1700000000000,
              logStartOffset: 5,
              recordErrors: [{ batchIndex: 2, batchIndexErrorMessage: 'bad' }],
              errorMessage: 'oops',
              currentLeader: leader,
            },
          ],
        },
      ],
      throttleTimeMs: 7,
      nodeEndpoints: [endpoint],
    },
  },
  1: {
    request: {
      clusterId: 'cluster',
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 1,
      sessionId: 9,
      sessionEpoch: 2,
      topics: [
        {
          topic: 't',
          topicId: TOPIC_ID,
          partitions: [
            { partition: 0, currentLeaderEpoch: 3, fetchOffset: 100, lastFetchedEpoch: 2, logStartOffset: 4, partitionMaxBytes: 65536 },
          ],
        },
      ],
      forgottenTopicsData: [{ topic: 'old', topicId: TOPIC_ID, partitions: [1, 2] }],
      rackId: 'rack-a',
    },
    response: {
      throttleTimeMs: 1,
      errorCode: 0,
      sessionId: 9,
      responses: [
        {
          topic: 't',
          topicId: TOPIC_ID,
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 200,
              lastStableOffset: 190,
              logStartOffset: 10,
              divergingEpoch: { epoch: 1, endOffset: 50 },
              currentLeader: leader,
              snapshotId: { endOffset: 40, epoch: 1 },
              abortedTransactions: [{ producerId: 77, firstOffset: 120 }],
              preferredReadReplica: 2,
              records: BATCH,
            },
          ],
        },
      ],
    },
  },
  2: {
    request: {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: 2, timestamp: -2, maxNumOffsets: 3 }] }],
    },
    response: {
      throttleTimeMs: 3,
      topics: [
        {
          name: 't',
          partitions: [{ partitionIndex: 0, errorCode: 0, oldStyleOffsets: [5, 1], timestamp: 1700000000000, offset: 5, leaderEpoch: 2 }],
        },
      ],
    },
  },
  3: {
    request: {
      topics: [{ topicId: TOPIC_ID, name: 't' }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: true,
      includeTopicAuthorizedOperations: true,
    },
    response: {
      throttleTimeMs: 2,
      brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: 'r1' }],
      clusterId: 'sluice',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 't',
          topicId: TOPIC_ID,
          isInternal: true,
          partitions: [
            { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 5, replicaNodes: [1], isrNodes: [1], offlineReplicas: [2] },
          ],
          topicAuthorizedOperations: 8,
        },
      ],
      clusterAuthorizedOperations: 16,
    },
  },
  8: {
    request: {
      groupId: 'g',
      generationId: 3,
      memberId: 'm',
      groupInstanceId: 'i',
      retentionTimeMs: 86400000,
      topics: [
        {
          name: 't',
          partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 1, commitTimestamp: 1700000000000, committedMetadata: 'md' }],
        },
      ],
    },
    response: { throttleTimeMs: 1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 22 }] }] },
  },
  9: {
    request: {
      groupId: 'g',
      topics: [{ name: 't', partitionIndexes: [0, 1] }],
      groups: [{ groupId: 'g2', memberId: 'm', memberEpoch: 4, topics: [{ name: 'u', partitionIndexes: [3] }] }],
      requireStable: true,
    },
    response: {
      throttleTimeMs: 1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 9, committedLeaderEpoch: 1, metadata: 'md', errorCode: 0 }] }],
      errorCode: 16,
      groups: [
        {
          groupId: 'g2',
          topics: [{ name: 'u', partitions: [{ partitionIndex: 3, committedOffset: 8, committedLeaderEpoch: 2, metadata: null, errorCode: 0 }] }],
          errorCode: 15,
        },
      ],
    },
  },
  10: {
    request: { key: 'g', keyType: 1, coordinatorKeys: ['g', 'h'] },
    response: {
      throttleTimeMs: 1,
      errorCode: 15,
      errorMessage: 'not yet',
      nodeId: 1,
      host: 'localhost',
      port: 9092,
      coordinators: [{ key: 'g', nodeId: 1, host: 'localhost', port: 9092, errorCode: 0, errorMessage: 'fine' }],
    },
  },
  11: {
    request: {
      groupId: 'g',
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 60000,
      memberId: 'm',
      groupInstanceId: 'i',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from([0, 1, 2]) }],
      reason: 'joining',
    },
    response: {
      throttleTimeMs: 1,
      errorCode: 0,
      generationId: 4,
      protocolType: 'consumer',
      protocolName: 'range',
      leader: 'm',
      skipAssignment: true,
      memberId: 'm',
      members: [{ memberId: 'm', groupInstanceId: 'i', metadata: Buffer.from([9]) }],
    },
  },
  12: {
    request: { groupId: 'g', generationId: 4, memberId: 'm', groupInstanceId: 'i' },
    response: { throttleTimeMs: 1, errorCode: 27 },
  },
  13: {
    request: { groupId: 'g', memberId: 'm', members: [{ memberId: 'm', groupInstanceId: 'i', reason: 'bye' }] },
    response: { throttleTimeMs: 1, errorCode: 0, members: [{ memberId: 'm', groupInstanceId: 'i', errorCode: 0 }] },
  },
  14: {
    request: {
      groupId: 'g',
      generationId: 4,
      memberId: 'm',
      groupInstanceId: 'i',
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: 'm', assignment: Buffer.from([1, 2]) }],
    },
    response: { throttleTimeMs: 1, errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from([1, 2]) },
  },
  15: {
    request: { groups: ['g'], includeAuthorizedOperations: true },
    response: {
      throttleTimeMs: 1,
      groups: [
        {
          errorCode: 0,
          groupId: 'g',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'range',
          members: [
            {
              memberId: 'm',
              groupInstanceId: 'i',
              clientId: 'c',
              clientHost: '/127.0.0.1',
              memberMetadata: Buffer.from([1]),
              memberAssignment: Buffer.from([2]),
            },
          ],
          authorizedOperations: 256,
        },
      ],
    },
  },
  16: {
    request: { statesFilter: ['Stable'], typesFilter: ['classic'] },
    response: { throttleTimeMs: 1, errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' }] },
  },
  17: {
    request: { mechanism: 'PLAIN' },
    response: { errorCode: 0, mechanisms: ['PLAIN', 'SCRAM-SHA-256'] },
  },
  18: {
    request: { clientSoftwareName: 'sluice', clientSoftwareVersion: '0.1.0' },
    response: {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 1,
      supportedFeatures: [{ name: 'f', minVersion: 1, maxVersion: 2 }],
      finalizedFeaturesEpoch: 3,
      finalizedFeatures: [{ name: 'f', maxVersionLevel: 2, minVersionLevel: 1 }],
      zkMigrationReady: true,
    },
  },
  19: {
    request: {
      topics: [
        {
          name: 't',
          numPartitions: 3,
          replicationFactor: 1,
          assignments: [{ partitionIndex: 0, brokerIds: [1] }],
          configs: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: true,
    },
    response: {
      throttleTimeMs: 1,
      topics: [
        {
          name: 't',
          topicId: TOPIC_ID,
          errorCode: 36,
          errorMessage: 'exists',
          topicConfigErrorCode: 40,
          numPartitions: 3,
          replicationFactor: 1,
          configs: [{ name: 'cleanup.policy', value: 'compact', readOnly: false, configSource: 1, isSensitive: false }],
        },
      ],
    },
  },
  20: {
    request: { topics: [{ name: 't', topicId: TOPIC_ID }], topicNames: ['t'], timeoutMs: 5000 },
    response: { throttleTimeMs: 1, responses: [{ name: 't', topicId: TOPIC_ID, errorCode: 3, errorMessage: 'unknown' }] },
  },
  21: {
    request: { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 5 }, { partitionIndex: 1, offset: -1 }] }], timeoutMs: 3000 },
    response: { throttleTimeMs: 1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, lowWatermark: 5, errorCode: 0 }, { partitionIndex: 1, lowWatermark: -1, errorCode: 1 }] }] },
  },
  22: {
    request: { transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: 5, producerEpoch: 1 },
    response: { throttleTimeMs: 1, errorCode: 0, producerId: 5, producerEpoch: 2 },
  },
  23: {
    request: {
      replicaId: -1,
      topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: 3, leaderEpoch: 2 }, { partition: 1, currentLeaderEpoch: -1, leaderEpoch: -1 }] }],
    },
    response: {
      throttleTimeMs: 1,
      topics: [{ topic: 't', partitions: [{ errorCode: 0, partition: 0, leaderEpoch: 2, endOffset: 40 }, { errorCode: 74, partition: 1, leaderEpoch: -1, endOffset: -1 }] }],
    },
  },
  24: {
    request: {
      transactions: [{ transactionalId: 'tx2', producerId: 6, producerEpoch: 2, verifyOnly: true, topics: [{ name: 'u', partitions: [3] }] }],
      transactionalId: 'tx',
      producerId: 5,
      producerEpoch: 1,
      topics: [{ name: 't', partitions: [0, 1] }],
    },
    response: {
      throttleTimeMs: 1,
      errorCode: 51,
      resultsByTransaction: [{ transactionalId: 'tx2', topicResults: [{ name: 'u', resultsByPartition: [{ partitionIndex: 3, partitionErrorCode: 120 }] }] }],
      results: [{ name: 't', resultsByPartition: [{ partitionIndex: 0, partitionErrorCode: 0 }] }],
    },
  },
  25: {
    request: { transactionalId: 'tx', producerId: 5, producerEpoch: 1, groupId: 'g' },
    response: { throttleTimeMs: 1, errorCode: 0 },
  },
  26: {
    request: { transactionalId: 'tx', producerId: 5, producerEpoch: 1, committed: true },
    response: { throttleTimeMs: 1, errorCode: 0 },
  },
  27: {
    request: { markers: [{ producerId: 7, producerEpoch: 2, transactionResult: true, topics: [{ name: 't', partitionIndexes: [0, 3] }], coordinatorEpoch: 4 }] },
    response: { markers: [{ producerId: 7, topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 3, errorCode: 6 }] }] }] },
  },
  28: {
    request: {
      transactionalId: 'tx',
      groupId: 'g',
      producerId: 5,
      producerEpoch: 1,
      generationId: 4,
      memberId: 'm',
      groupInstanceId: 'i',
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 10, committedLeaderEpoch: 2, committedMetadata: null }] }],
    },
    response: { throttleTimeMs: 1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0 }] }] },
  },
  32: {
    request: {
      resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] }],
      includeSynonyms: true,
      includeDocumentation: true,
    },
    response: {
      throttleTimeMs: 1,
      results: [
        {
          errorCode: 0,
          errorMessage: 'none',
          resourceType: 2,
          resourceName: 't',
          configs: [
            {
              name: 'retention.ms',
              value: '1000',
              readOnly: false,
              isDefault: true,
              configSource: 1,
              isSensitive: false,
              synonyms: [{ name: 'log.retention.ms', value: '1000', source: 4 }],
              configType: 5,
              documentation: 'how long',
            },
          ],
        },
      ],
    },
  },
  33: {
    request: { resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', value: '1000' }, { name: 'x', value: null }] }], validateOnly: true },
    response: { throttleTimeMs: 1, responses: [{ errorCode: 40, errorMessage: 'invalid', resourceType: 2, resourceName: 't' }] },
  },
  35: {
    request: { topics: [{ topic: 't', partitions: [0, 3] }] },
    response: {
      throttleTimeMs: 1,
      errorCode: 31,
      results: [
        {
          errorCode: 0,
          logDir: '/var/sluice',
          topics: [{ name: 't', partitions: [{ partitionIndex: 3, partitionSize: 4096, offsetLag: 0, isFutureKey: false }] }],
          totalBytes: 1_000_000,
          usableBytes: 500_000,
        },
      ],
    },
  },
  36: {
    request: { authBytes: Buffer.from('\u0000user\u0000pass') },
    response: { errorCode: 0, errorMessage: 'ok', authBytes: Buffer.from('challenge'), sessionLifetimeMs: 3600000 },
  },
  37: {
    request: { topics: [{ name: 't', count: 4, assignments: [{ brokerIds: [1] }] }], timeoutMs: 5000, validateOnly: true },
    response: { throttleTimeMs: 1, results: [{ name: 't', errorCode: 37, errorMessage: 'invalid' }] },
  },
  42: {
    request: { groupsNames: ['g', 'h'] },
    response: { throttleTimeMs: 1, results: [{ groupId: 'g', errorCode: 0 }, { groupId: 'h', errorCode: 68 }] },
  },
  43: {
    request: { electionType: 1, topicPartitions: [{ topic: 't', partitions: [0, 2] }], timeoutMs: 30000 },
    response: {
      throttleTimeMs: 5,
      errorCode: 41,
      replicaElectionResults: [{ topic: 't', partitionResult: [{ partitionId: 2, errorCode: 84, errorMessage: 'no election needed' }] }],
    },
  },
  44: {
    request: { resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }, { name: 'retention.ms', configOperation: 1, value: null }] }], validateOnly: false },
    response: { throttleTimeMs: 1, responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't' }] },
  },
  47: {
    request: { groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 1 }, { partitionIndex: 2 }] }] },
    response: { errorCode: 0, throttleTimeMs: 1, topics: [{ name: 't', partitions: [{ partitionIndex: 1, errorCode: 86 }] }] },
  },
  60: {
    request: { includeClusterAuthorizedOperations: true, endpointType: 2 },
    response: {
      throttleTimeMs: 1,
      errorCode: 0,
      errorMessage: null,
      endpointType: 2,
      clusterId: 'c',
      controllerId: 0,
      brokers: [{ brokerId: 0, host: 'h', port: 9092, rack: 'r1' }],
      clusterAuthorizedOperations: 8096,
    },
  },
  61: {
    request: { topics: [{ name: 't', partitionIndexes: [0, 2] }] },
    response: {
      throttleTimeMs: 1,
      topics: [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 2,
              errorCode: 3,
              errorMessage: 'unknown',
              activeProducers: [{ producerId: 2 ** 40, producerEpoch: 7, lastSequence: 9, lastTimestamp: 1700000000000, coordinatorEpoch: 3, currentTxnStartOffset: 12 }],
            },
          ],
        },
      ],
    },
  },
  65: {
    request: { transactionalIds: ['tx', 'other'] },
    response: {
      throttleTimeMs: 1,
      transactionStates: [
        {
          errorCode: 0,
          transactionalId: 'tx',
          transactionState: 'Ongoing',
          transactionTimeoutMs: 60000,
          transactionStartTimeMs: 1700000000000,
          producerId: 5,
          producerEpoch: 2,
          topics: [{ topic: 't', partitions: [0, 3] }],
        },
      ],
    },
  },
  66: {
    request: { stateFilters: ['Ongoing'], producerIdFilters: [5, 2 ** 40], durationFilter: 60000 },
    response: {
      throttleTimeMs: 1,
      errorCode: 0,
      unknownStateFilters: ['Bogus'],
      transactionStates: [{ transactionalId: 'tx', producerId: 5, transactionState: 'Ongoing' }],
    },
  },
  29: {
    request: { resourceTypeFilter: 2, resourceNameFilter: 'orders', patternTypeFilter: 4, principalFilter: 'User:alice', hostFilter: '10.0.0.1', operation: 3, permissionType: 3 },
    response: {
      throttleTimeMs: 1,
      errorCode: 0,
      errorMessage: 'fine',
      resources: [{ resourceType: 2, resourceName: 'ord', patternType: 4, acls: [{ principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }] }],
    },
  },
  30: {
    request: {
      creations: [{ resourceType: 3, resourceName: 'g', resourcePatternType: 4, principal: 'User:bob', host: '10.0.0.2', operation: 6, permissionType: 2 }],
    },
    response: { throttleTimeMs: 2, results: [{ errorCode: 42, errorMessage: 'Invalid operation' }] },
  },
  31: {
    request: {
      filters: [{ resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 2, principalFilter: null, hostFilter: '*', operation: 1, permissionType: 1 }],
    },
    response: {
      throttleTimeMs: 3,
      filterResults: [
        {
          errorCode: 0,
          errorMessage: 'removed',
          matchingAcls: [
            { errorCode: 0, errorMessage: 'ok', resourceType: 5, resourceName: 'tx', patternType: 4, principal: 'User:*', host: '*', operation: 4, permissionType: 3 },
          ],
        },
      ],
    },
  },
  68: {
    request: {
      groupId: 'g',
      memberId: 'm',
      memberEpoch: 3,
      instanceId: 'i',
      rackId: 'r',
      rebalanceTimeoutMs: 30000,
      subscribedTopicNames: ['t', 'u'],
      subscribedTopicRegex: '',
      serverAssignor: 'uniform',
      topicPartitions: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [0, 2] }],
    },
    response: {
      throttleTimeMs: 1,
      errorCode: 0,
      errorMessage: null,
      memberId: 'm',
      memberEpoch: 4,
      heartbeatIntervalMs: 5000,
      assignment: { topicPartitions: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [1] }] },
    },
  },
  69: {
    request: { groupIds: ['g'], includeAuthorizedOperations: true },
    response: {
      throttleTimeMs: 1,
      groups: [
        {
          errorCode: 0,
          errorMessage: null,
          groupId: 'g',
          groupState: 'Stable',
          groupEpoch: 4,
          assignmentEpoch: 4,
          assignorName: 'uniform',
          members: [
            {
              memberId: 'm',
              instanceId: null,
              rackId: 'r',
              memberEpoch: 4,
              clientId: 'c',
              clientHost: '/127.0.0.1',
              subscribedTopicNames: ['t'],
              subscribedTopicRegex: null,
              assignment: { topicPartitions: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', topicName: 't', partitions: [0] }] },
              targetAssignment: { topicPartitions: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', topicName: 't', partitions: [0, 1] }] },
            },
          ],
          authorizedOperations: 8,
        },
      ],
    },
  },
};

/** What decoding should give at `version`: the sample's fields the version has, defaults for the rest. */
function expectedAt(schema: StructSchema, version: number, flexible: boolean, value: Record<string, unknown>): Record<string, unknown> {
  const expected: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(schema)) {
    const present = inVersions(def.versions, version) && (def.tag === undefined || flexible);
    const given = value[name];
    if (!present || given === undefined) {
      expected[name] = def.makeDefault();
    } else if (def.kind === 'array' && def.fields !== undefined && given !== null) {
      expected[name] = (given as Record<string, unknown>[]).map((item) => expectedAt(def.fields as StructSchema, version, flexible, item));
    } else if (def.kind === 'struct' && given !== null) {
      expected[name] = expectedAt(def.fields as StructSchema, version, flexible, given as Record<string, unknown>);
    } else {
      expected[name] = given;
    }
  }
  return expected;
}

function roundTrip(
  encode: (writer: Writer) => void,
  decode: (reader: Reader) => unknown,
  reencode: (writer: Writer, value: never) => void,
): unknown {
  const writer = new Writer();
  encode(writer);
  const bytes = Buffer.from(writer.toBuffer());
  const reader = new Reader(bytes);
  const decoded = decode(reader);
  expect(reader.remaining).toBe(0);
  const again = new Writer();
  reencode(again, decoded as never);
  expect(again.toBuffer().equals(bytes)).toBe(true);
  return decoded;
}

describe.each(APIS.map((api) => [api.name, api] as [string, AnyApi]))('%s', (_name, api) => {
  const sample = SAMPLES[api.apiKey];
  const versions = Array.from({ length: api.maxVersion - api.minVersion + 1 }, (_, i) => api.minVersion + i);

  it.each(versions)('request v%i round-trips to exactly the fields that version carries', (version) => {
    const decoded = roundTrip(
      (w) => api.encodeRequest(w, version, sample.request),
      (r) => api.decodeRequest(r, version),
      (w, value) => api.encodeRequest(w, version, value),
    );
    expect(decoded).toEqual(expectedAt(api.requestSchema, version, api.isFlexible(version), sample.request));
  });

  it.each(versions)('response v%i round-trips to exactly the fields that version carries', (version) => {
    const decoded = roundTrip(
      (w) => api.encodeResponse(w, version, sample.response),
      (r) => api.decodeResponse(r, version),
      (w, value) => api.encodeResponse(w, version, value),
    );
    expect(decoded).toEqual(expectedAt(api.responseSchema, version, api.isFlexible(version), sample.response));
  });
});

it('has a sample for every API', () => {
  expect(Object.keys(SAMPLES).map(Number).sort((a, b) => a - b)).toEqual(APIS.map((api) => api.apiKey).sort((a, b) => a - b));
});
