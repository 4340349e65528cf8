/**
 * Fetch (key 1): read record batches from partitions.
 * Spec: FetchRequest.json / FetchResponse.json. Flexible from v12.
 *
 * v0-v3 clients read message formats 0 (v0-v1) and 1 (v2-v3): the handler down-converts for them
 * (see ../legacy-message-set.ts). v4 is the first version whose clients read RecordBatch v2 and the
 * first with an isolation level (0 read_uncommitted, 1 read_committed) and aborted transactions.
 * v13 names topics by id (`topicId`) instead of by name (`topic`); a broker that serves v13 must
 * hand out topic ids in Metadata v10+.
 * v14 only adds an error clients may get (OFFSET_MOVED_TO_TIERED_STORAGE, never sent: Sluice keeps
 * every segment local). v15 moves the fetcher's replica id into the tagged `replicaState` (KIP-903),
 * v16 adds the tagged `nodeEndpoints` naming the leaders of partitions answered NOT_LEADER_OR_FOLLOWER
 * or FENCED_LEADER_EPOCH (KIP-951), v17 the follower's tagged `replicaDirectoryId` (KIP-853).
 * v7+ carries the fetch session (KIP-227; see ../../server/fetch-session-cache.ts).
 * Response `records` are written without a copy when large (see ../wire/writer.ts), so segment
 * bytes go to the socket as they are.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, int8, records, string, struct, uuid } from '../wire/schema.js';

export const ISOLATION_READ_UNCOMMITTED = 0;
export const ISOLATION_READ_COMMITTED = 1;

export const Fetch = new Api({
  name: 'Fetch',
  apiKey: 1,
  minVersion: 0,
  maxVersion: 17,
  firstFlexibleVersion: 12,
  request: {
    clusterId: string({ versions: '12+', nullable: '12+', default: null, tag: 0 }),
    replicaId: int32({ versions: '0-14', default: -1 }),
    replicaState: struct(
      {
        replicaId: int32({ versions: '15+', default: -1 }),
        replicaEpoch: int64({ versions: '15+', default: -1 }),
      },
      { versions: '15+', tag: 1 },
    ),
    maxWaitMs: int32(),
    minBytes: int32(),
    maxBytes: int32({ versions: '3+', default: 0x7fffffff }),
    isolationLevel: int8({ versions: '4+', default: ISOLATION_READ_UNCOMMITTED }),
    sessionId: int32({ versions: '7+', default: 0 }),
    sessionEpoch: int32({ versions: '7+', default: -1 }),
    topics: array({
      topic: string({ versions: '0-12' }),
      topicId: uuid({ versions: '13+' }),
      partitions: array({
        partition: int32(),
        currentLeaderEpoch: int32({ versions: '9+', default: -1 }),
        fetchOffset: int64(),
        lastFetchedEpoch: int32({ versions: '12+', default: -1 }),
        logStartOffset: int64({ versions: '5+', default: -1 }),
        partitionMaxBytes: int32(),
        replicaDirectoryId: uuid({ versions: '17+', tag: 0 }),
      }),
    }),
    forgottenTopicsData: array(
      {
        topic: string({ versions: '7-12' }),
        topicId: uuid({ versions: '13+' }),
        partitions: array(int32(), { versions: '7+' }),
      },
      { versions: '7+', optional: true },
    ),
    rackId: string({ versions: '11+', default: '' }),
  },
  response: {
    throttleTimeMs: int32({ versions: '1+', optional: true }),
    errorCode: int16({ versions: '7+', optional: true }),
    sessionId: int32({ versions: '7+', default: 0 }),
    responses: array({
      topic: string({ versions: '0-12' }),
      topicId: uuid({ versions: '13+' }),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
        highWatermark: int64(),
        lastStableOffset: int64({ versions: '4+', default: -1 }),
        logStartOffset: int64({ versions: '5+', default: -1 }),
        divergingEpoch: struct(
          {
            epoch: int32({ versions: '12+', default: -1 }),
            endOffset: int64({ versions: '12+', default: -1 }),
          },
          { versions: '12+', tag: 0 },
        ),
        currentLeader: struct(
          {
            leaderId: int32({ versions: '12+', default: -1 }),
            leaderEpoch: int32({ versions: '12+', default: -1 }),
          },
          { versions: '12+', tag: 1 },
        ),
        snapshotId: struct(
          {
            endOffset: int64({ default: -1 }),
            epoch: int32({ default: -1 }),
          },
          { versions: '12+', tag: 2 },
        ),
        abortedTransactions: array(
          {
            producerId: int64({ versions: '4+' }),
            firstOffset: int64({ versions: '4+' }),
          },
          { versions: '4+', nullable: '4+', optional: true },
        ),
        preferredReadReplica: int32({ versions: '11+', default: -1 }),
        records: records(),
      }),
    }),
    nodeEndpoints: array(
      {
        nodeId: int32({ versions: '16+' }),
        host: string({ versions: '16+' }),
        port: int32({ versions: '16+' }),
        rack: string({ versions: '16+', nullable: '16+', default: null }),
      },
      { versions: '16+', tag: 0 },
    ),
  },
});

export type FetchRequest = RequestOf<typeof Fetch>;
export type FetchRequestInput = RequestInputOf<typeof Fetch>;
export type FetchResponse = ResponseOf<typeof Fetch>;
export type FetchResponseInput = ResponseInputOf<typeof Fetch>;
