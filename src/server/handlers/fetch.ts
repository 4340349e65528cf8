/**
 * Fetch: whole record batches as stored (never decoded; large ones reach the socket without a
 * copy through the Writer's chunks), with Kafka's limits and long poll:
 *
 *  - maxBytes, capped by the broker's fetchMaxBytes whatever the client asks (Kafka's
 *    fetch.max.bytes), bounds the response and partitionMaxBytes each partition, except that the
 *    first batch of the first partition with data is returned whole even if larger (KIP-74), so a
 *    consumer can always make progress; a later partition whose first batch does not fit gets no
 *    records this time. minBytes is capped by the same bound, as Kafka does, so a request asking
 *    for more than any response may hold still answers once that much is there. As Kafka's
 *    DelayedFetch, minBytes is weighed against the bytes available to the request: what was
 *    read, or a partition's whole limit where its log holds more than the limit let through.
 *  - With fewer than minBytes available, the request waits up to maxWaitMs for data on any of its
 *    partitions (broker.waitForData: no polling), then reads again. An error on any partition
 *    answers at once. The wait ends early when the connection closes or the server shuts down.
 *  - Fetch sessions (v7+, KIP-227; ../fetch-session-cache.ts): a full fetch with epoch 0 creates one
 *    from what it read; an incremental fetch reads every partition of its session (waiting as a full
 *    fetch does while none has enough) and answers only the partitions that changed.
 *  - v13 names topics by id; ids are resolved against the broker's topics (UNKNOWN_TOPIC_ID).
 *  - read_committed (v4+): records up to the last stable offset, with the transactions aborted in
 *    the returned range; the long poll waits for the LSO (not the high watermark) to move.
 *  - v9+ carries the consumer's currentLeaderEpoch: older than the partition's is
 *    FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH, -1 unchecked (KIP-320). From v16 a fenced
 *    partition names its current leader (this node) and epoch, and the response carries this
 *    node's endpoint, so the client updates its metadata without asking for it (KIP-951; Kafka
 *    fills them for NOT_LEADER_OR_FOLLOWER too, which the only broker of every partition never
 *    answers).
 *  - A topic whose compression.type is zstd answers a fetch before v10 with
 *    UNSUPPORTED_COMPRESSION_TYPE, as Kafka does (KIP-110: older clients cannot read zstd).
 *  - v0-v3 clients read message formats 0 and 1: what was read is down-converted, within the
 *    same byte limits (../../protocol/legacy-message-set.ts).
 */
import { setMaxListeners } from 'node:events';
import type { IsolationLevel } from '../../broker/broker-api.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { Fetch, ISOLATION_READ_COMMITTED, type FetchResponseInput } from '../../protocol/api/fetch.js';
import { ZERO_UUID } from '../../protocol/wire/uuid.js';
import {
  FINAL_EPOCH,
  INVALID_SESSION_ID,
  nextEpoch,
  type CachedPartition,
  type FetchContext,
  type FetchPartitionParams,
  type FetchSession,
  type FetchTopicEntry,
} from '../fetch-session-cache.js';
import { downConvertFetched, fetchMagic } from '../../protocol/legacy-message-set.js';
import { FencedLeaderEpochError } from '../../errors.js';
import { authorize } from '../authorizer.js';
import { batchesBelow, checkLeader } from '../cluster-view.js';
import { defineHandler, type RequestContext } from './handler.js';

type TopicResponseInput = FetchResponseInput['responses'][number];
/** Always with a log start offset, which a fetch session compares. */
type PartitionResponse = TopicResponseInput['partitions'][number] & { logStartOffset: number };
type TopicResponse = Omit<TopicResponseInput, 'partitions'> & { partitions: PartitionResponse[] };

/** The first Fetch version whose clients can read zstd batches (KIP-110). */
const ZSTD_MIN_FETCH_VERSION = 10;

interface Wait {
  readonly topic: string;
  readonly partition: number;
  /** The readable end seen by the read (high watermark, or LSO for read_committed): the wait ends when it moves past. */
  readonly offset: number;
  /**
   * In a cluster, when the log holds records above the high watermark: the wait for data starts
   * at the log end (`offset`) and also ends when the high watermark moves past this.
   */
  readonly highWatermark?: number;
}

interface ReadOutcome {
  readonly responses: TopicResponse[];
  readonly bytes: number;
  /** Bytes the request could get now: `bytes`, with each partition cut short by its limit counted at that limit. */
  readonly availableBytes: number;
  readonly anyError: boolean;
  readonly waits: Wait[];
  /** This node's endpoint once a partition names it as its current leader (v16+), else none. */
  readonly nodeEndpoints: FetchResponseInput['nodeEndpoints'];
}

/** The partitions one read covers: the request's, or an incremental fetch's session's. */
interface FetchTopic {
  readonly topic: string;
  readonly topicId: string;
  readonly partitions: readonly FetchPartitionParams[];
}

const EMPTY = Buffer.alloc(0);
/** The first Fetch version whose partitions name their current leader when fenced (KIP-951). */
const CURRENT_LEADER_MIN_FETCH_VERSION = 16;
const NO_NODE_ENDPOINTS: FetchResponseInput['nodeEndpoints'] = [];
const NO_PREFERRED_READ_REPLICA = -1;
const SESSIONLESS: FetchContext = { kind: 'sessionless' };
const NO_ENTRIES: readonly FetchTopicEntry[] = [];

/** How a fetch session knows a topic: by id from v13, by name before. */
function topicKey(topic: { readonly topic: string; readonly topicId: string }, usesTopicIds: boolean): string {
  return usesTopicIds ? topic.topicId : topic.topic;
}
/** Kafka's NO_PARTITION_LEADER_EPOCH in a request's currentLeaderEpoch. */
const NO_LEADER_EPOCH = -1;

export const fetchHandler = defineHandler({
  api: Fetch,
  async handle(ctx, request) {
    const usesTopicIds = ctx.apiVersion >= 13;
    // Most clients (librdkafka, kafkajs) send no session: that path builds nothing.
    const sessionless = request.sessionId === INVALID_SESSION_ID && request.sessionEpoch === FINAL_EPOCH;
    const entries: readonly FetchTopicEntry[] = sessionless
      ? NO_ENTRIES
      : request.topics.map((topic) => ({ topicKey: topicKey(topic, usesTopicIds), partitions: topic.partitions }));
    const context = sessionless
      ? SESSIONLESS
      : ctx.server.fetchSessions.newContext(
          request.sessionId,
          request.sessionEpoch,
          usesTopicIds,
          entries,
          request.forgottenTopicsData.map((topic) => ({ topicKey: topicKey(topic, usesTopicIds), partitions: topic.partitions })),
          Date.now(),
        );
    if (context.kind === 'error') return { throttleTimeMs: 0, errorCode: context.errorCode, sessionId: INVALID_SESSION_ID, responses: [] };
    const topics: readonly FetchTopic[] = context.kind === 'incremental' ? sessionTopics(context.session, usesTopicIds) : request.topics;
    const isolation: IsolationLevel = request.isolationLevel === ISOLATION_READ_COMMITTED ? 'read_committed' : 'read_uncommitted';
    const names = topicNames(ctx, topics);
    const maxBytes = Math.max(0, Math.min(request.maxBytes, ctx.server.config.fetchMaxBytes));
    const minBytes = Math.min(request.minBytes, maxBytes);
    const maxWaitMs = Math.max(0, request.maxWaitMs);
    const deadlineMs = Date.now() + maxWaitMs;
    // A follower's fetch (Kafka's replica id): it reads up to the log end, and tells the leader its own.
    const replicaId = ctx.apiVersion >= 15 ? request.replicaState.replicaId : request.replicaId;
    for (;;) {
      const read = readAll(ctx, topics, names, isolation, maxBytes, replicaId);
      const remainingMs = deadlineMs - Date.now();
      if (read.availableBytes >= minBytes || read.anyError || read.waits.length === 0 || remainingMs <= 0 || ctx.signal.aborted) {
        const { nodeEndpoints } = read;
        if (context.kind === 'sessionless') return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: INVALID_SESSION_ID, responses: read.responses, nodeEndpoints };
        if (context.kind === 'full') {
          const states = read.responses.map((topic) => topic.partitions);
          const sessionId = ctx.server.fetchSessions.maybeCreate(replicaId >= 0, usesTopicIds, entries, states, Date.now());
          return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId, responses: read.responses, nodeEndpoints };
        }
        return { ...incrementalResponse(context.session, context.requestEpoch, topics, read.responses), nodeEndpoints };
      }
      await waitForAny(ctx, read.waits, remainingMs, isolation);
    }
  },
});

/** A session's partitions in fetch order, consecutive partitions of one topic under one entry. */
function sessionTopics(session: FetchSession, usesTopicIds: boolean): FetchTopic[] {
  const topics: { topic: string; topicId: string; partitions: CachedPartition[] }[] = [];
  let last: (typeof topics)[number] | undefined;
  for (const cached of session.partitions.values()) {
    if (last === undefined || topicKey(last, usesTopicIds) !== cached.topicKey) {
      last = usesTopicIds ? { topic: '', topicId: cached.topicKey, partitions: [] } : { topic: cached.topicKey, topicId: ZERO_UUID, partitions: [] };
      topics.push(last);
    }
    last.partitions.push(cached);
  }
  return topics;
}

/**
 * Kafka's IncrementalFetchContext answer: only partitions with records, a moved high watermark or
 * log start offset, or an error; those that returned records move to the back of the session's
 * order. A request that raced another on the same session (the epoch moved on meanwhile) gets
 * INVALID_FETCH_SESSION_EPOCH.
 */
function incrementalResponse(
  session: FetchSession,
  requestEpoch: number,
  topics: readonly FetchTopic[],
  responses: TopicResponse[],
): FetchResponseInput {
  if (session.epoch !== nextEpoch(requestEpoch)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: session.id, responses: [] };
  }
  const changed: TopicResponse[] = [];
  responses.forEach((response, t) => {
    const cached = topics[t].partitions as readonly CachedPartition[];
    const partitions = response.partitions.filter((partition, p) => {
      if (!cached[p].mustRespond(partition)) return false;
      if (partition.records !== null && partition.records.length > 0) session.moveToBack(cached[p]);
      return true;
    });
    if (partitions.length > 0) changed.push({ ...response, partitions });
  });
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: session.id, responses: changed };
}

/** Topic names in fetch order; null for a v13 topic id the broker does not know. */
function topicNames(ctx: RequestContext, topics: readonly FetchTopic[]): (string | null)[] {
  if (ctx.apiVersion < 13) return topics.map((topic) => topic.topic);
  const byId = new Map(ctx.broker.listTopics().map((metadata) => [metadata.topicId, metadata.name]));
  return topics.map((topic) => byId.get(topic.topicId) ?? null);
}

function readAll(
  ctx: RequestContext,
  topics: readonly FetchTopic[],
  names: (string | null)[],
  isolation: IsolationLevel,
  maxBytes: number,
  replicaId: number,
): ReadOutcome {
  const cluster = ctx.server.config.cluster;
  let budgetBytes = maxBytes;
  let bytes = 0;
  let availableBytes = 0;
  let anyError = false;
  let leaderNamed = false;
  const waits: Wait[] = [];
  const responses = topics.map((topic, t): TopicResponse => {
    const name = names[t];
    const partitions = topic.partitions.map(({ partition, currentLeaderEpoch, fetchOffset, partitionMaxBytes }): PartitionResponse => {
      if (name === null) {
        anyError = true;
        return failed(partition, ErrorCode.UNKNOWN_TOPIC_ID);
      }
      if (!authorize(ctx, 'READ', 'TOPIC', name)) {
        anyError = true;
        return failed(partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      }
      try {
        checkLeader(cluster, ctx.server.nodeId, name, partition);
        // KIP-320 (v9+): a consumer with an older epoch is fenced, one with a newer epoch retries;
        // -1 (no epoch known, and every version before 9) asks for no check.
        if (currentLeaderEpoch !== NO_LEADER_EPOCH) ctx.broker.checkLeaderEpoch(name, partition, currentLeaderEpoch);
        // Kafka's updateFollowerFetchState: a follower fetches from its log end offset.
        if (cluster !== null && replicaId >= 0) cluster.recordFollowerFetch(name, partition, replicaId, fetchOffset);
        if (ctx.apiVersion < ZSTD_MIN_FETCH_VERSION && ctx.broker.topicMetadata(name).configs['compression.type'] === 'zstd') {
          anyError = true;
          return failed(partition, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
        }
        if (bytes > 0 && budgetBytes <= 0) return offsetsOnly(ctx, name, partition, fetchOffset, isolation, waits, replicaId);
        const limitBytes = Math.max(0, Math.min(partitionMaxBytes, budgetBytes));
        const result = ctx.broker.fetch(name, partition, fetchOffset, limitBytes, isolation);
        const legacyMagic = fetchMagic(ctx.apiVersion);
        const converted = legacyMagic === null ? null : downConvertFetched(result.records, (from) => ctx.broker.fetch(name, partition, from, limitBytes, isolation).records, legacyMagic, fetchOffset, limitBytes);
        let fetched = converted?.records ?? result.records;
        const logEnd = result.highWatermark;
        const highWatermark = highWatermarkOf(ctx, name, partition, logEnd);
        const lastStableOffset = replicaId >= 0 ? result.lastStableOffset : Math.min(result.lastStableOffset, highWatermark);
        // Consumers never see records above the ISR's high watermark; followers read to the log end.
        if (highWatermark < logEnd && replicaId < 0) fetched = batchesBelow(fetched, highWatermark);
        // The broker returns at least one batch; only the first partition with data may exceed its limits.
        const records = bytes > 0 && fetched.length > limitBytes ? EMPTY : fetched;
        const readableEnd = replicaId >= 0 ? logEnd : isolation === 'read_committed' ? lastStableOffset : highWatermark;
        const cutShort = records !== fetched || converted?.truncated === true || result.nextOffset < readableEnd;
        availableBytes += cutShort ? Math.max(records.length, limitBytes) : records.length;
        bytes += records.length;
        budgetBytes -= records.length;
        waits.push(waitFor(name, partition, readableEnd, logEnd, replicaId >= 0 ? logEnd : highWatermark));
        return {
          partitionIndex: partition,
          errorCode: ErrorCode.NONE,
          highWatermark,
          lastStableOffset,
          logStartOffset: result.logStartOffset,
          abortedTransactions: isolation === 'read_committed' ? [...result.abortedTransactions] : null,
          preferredReadReplica: NO_PREFERRED_READ_REPLICA,
          records,
        };
      } catch (error) {
        anyError = true;
        if (error instanceof FencedLeaderEpochError && ctx.apiVersion >= CURRENT_LEADER_MIN_FETCH_VERSION) {
          leaderNamed = true;
          return { ...failed(partition, ErrorCode.FENCED_LEADER_EPOCH), currentLeader: { leaderId: ctx.server.nodeId, leaderEpoch: error.currentEpoch } };
        }
        return failed(partition, ctx.errorCode(error));
      }
    });
    return { topic: name ?? '', topicId: topic.topicId, partitions };
  });
  const { nodeId, host, port } = ctx.server;
  const nodeEndpoints = leaderNamed ? [{ nodeId, host, port, rack: null }] : NO_NODE_ENDPOINTS;
  return { responses, bytes, availableBytes, anyError, waits, nodeEndpoints };
}

/** A partition past the response's byte budget: its offsets and a range check, no read. */
function offsetsOnly(
  ctx: RequestContext,
  topic: string,
  partition: number,
  fetchOffset: number,
  isolation: IsolationLevel,
  waits: Wait[],
  replicaId: number,
): PartitionResponse {
  const offsets = ctx.broker.partitionOffsets(topic, partition);
  // The range a read checks (Kafka's): an offset up to the log end is in range, even past the high watermark.
  if (fetchOffset < offsets.logStartOffset || fetchOffset > offsets.logEndOffset) {
    return failed(partition, ErrorCode.OFFSET_OUT_OF_RANGE);
  }
  const highWatermark = highWatermarkOf(ctx, topic, partition, offsets.highWatermark);
  const lastStableOffset = replicaId >= 0 ? offsets.lastStableOffset : Math.min(offsets.lastStableOffset, highWatermark);
  const readableEnd = replicaId >= 0 ? offsets.highWatermark : isolation === 'read_committed' ? lastStableOffset : highWatermark;
  waits.push(waitFor(topic, partition, readableEnd, offsets.highWatermark, replicaId >= 0 ? offsets.highWatermark : highWatermark));
  return {
    partitionIndex: partition,
    errorCode: ErrorCode.NONE,
    highWatermark,
    lastStableOffset,
    logStartOffset: offsets.logStartOffset,
    abortedTransactions: isolation === 'read_committed' ? [] : null,
    preferredReadReplica: NO_PREFERRED_READ_REPLICA,
    records: EMPTY,
  };
}

/**
 * The high watermark a fetch answers with: the log's end `logEnd` outside a cluster; in one, the
 * ISR's high watermark, which also bounds what consumers read and the LSO they see.
 */
function highWatermarkOf(ctx: RequestContext, topic: string, partition: number, logEnd: number): number {
  const cluster = ctx.server.config.cluster;
  return cluster === null ? logEnd : cluster.highWatermark(topic, partition, logEnd);
}

/**
 * A partition's wait: for data past `readableEnd`; with records held back above a cluster's high
 * watermark, for data past the log end or the high watermark to move past `readableEnd`.
 */
function waitFor(topic: string, partition: number, readableEnd: number, logEnd: number, highWatermark: number): Wait {
  return highWatermark < logEnd ? { topic, partition, offset: logEnd, highWatermark: readableEnd } : { topic, partition, offset: readableEnd };
}

function failed(partition: number, errorCode: number): PartitionResponse {
  return {
    partitionIndex: partition,
    errorCode,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    abortedTransactions: null,
    preferredReadReplica: NO_PREFERRED_READ_REPLICA,
    records: EMPTY,
  };
}

/** Resolves when any partition gets data past what was read, the time is up, or the connection goes away. */
async function waitForAny(ctx: RequestContext, waits: Wait[], remainingMs: number, isolation: IsolationLevel): Promise<void> {
  const controller = new AbortController();
  // Each partition's wait adds one abort listener and removes it when it ends, so the count is
  // bounded by the request's partitions: Node's leak warning (past 10) would only cry wolf for a
  // fetch of more partitions.
  setMaxListeners(0, controller.signal);
  const stop = (): void => controller.abort();
  ctx.signal.addEventListener('abort', stop, { once: true });
  try {
    await Promise.race(
      waits.map((wait) =>
        // A partition deleted meanwhile ends the wait too: the next read reports it.
        wait.highWatermark === undefined
          ? ctx.broker.waitForData(wait.topic, wait.partition, wait.offset, remainingMs, controller.signal, isolation).catch(() => undefined)
          : Promise.race([
              ctx.broker.waitForData(wait.topic, wait.partition, wait.offset, remainingMs, controller.signal, isolation).catch(() => undefined),
              ctx.server.config.cluster?.waitForHighWatermark(wait.topic, wait.partition, wait.highWatermark + 1, remainingMs, controller.signal),
            ]),
      ),
    );
  } finally {
    controller.abort();
    ctx.signal.removeEventListener('abort', stop);
  }
}
