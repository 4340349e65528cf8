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
 *  - Fetch sessions (v7+) are declined: the answer carries session id 0, which Kafka allows and
 *    clients treat as "send full fetches"; a request naming a session gets FETCH_SESSION_ID_NOT_FOUND.
 *  - v13 names topics by id; ids are resolved against the broker's topics (UNKNOWN_TOPIC_ID).
 *  - read_committed (v4+): records up to the last stable offset, with the transactions aborted in
 *    the returned range; the long poll waits for the LSO (not the high watermark) to move.
 *  - v9+ carries the consumer's currentLeaderEpoch: older than the partition's is
 *    FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH, -1 unchecked (KIP-320).
 *  - A topic whose compression.type is zstd answers a fetch before v10 with
 *    UNSUPPORTED_COMPRESSION_TYPE, as Kafka does (KIP-110: older clients cannot read zstd).
 */
import { setMaxListeners } from 'node:events';
import type { IsolationLevel } from '../../broker/broker-api.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { Fetch, ISOLATION_READ_COMMITTED, type FetchRequest, type FetchResponseInput } from '../../protocol/api/fetch.js';
import { defineHandler, type RequestContext } from './handler.js';

type TopicResponse = FetchResponseInput['responses'][number];

/** The first Fetch version whose clients can read zstd batches (KIP-110). */
const ZSTD_MIN_FETCH_VERSION = 10;
type PartitionResponse = TopicResponse['partitions'][number];

interface Wait {
  readonly topic: string;
  readonly partition: number;
  /** The readable end seen by the read (high watermark, or LSO for read_committed): the wait ends when it moves past. */
  readonly offset: number;
}

interface ReadOutcome {
  readonly responses: TopicResponse[];
  readonly bytes: number;
  /** Bytes the request could get now: `bytes`, with each partition cut short by its limit counted at that limit. */
  readonly availableBytes: number;
  readonly anyError: boolean;
  readonly waits: Wait[];
}

const EMPTY = Buffer.alloc(0);
const NO_PREFERRED_READ_REPLICA = -1;
/** Kafka's NO_PARTITION_LEADER_EPOCH in a request's currentLeaderEpoch. */
const NO_LEADER_EPOCH = -1;

export const fetchHandler = defineHandler({
  api: Fetch,
  async handle(ctx, request) {
    if (request.sessionId !== 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    }
    const isolation: IsolationLevel = request.isolationLevel === ISOLATION_READ_COMMITTED ? 'read_committed' : 'read_uncommitted';
    const names = topicNames(ctx, request);
    const maxBytes = Math.max(0, Math.min(request.maxBytes, ctx.server.config.fetchMaxBytes));
    const minBytes = Math.min(request.minBytes, maxBytes);
    const maxWaitMs = Math.max(0, request.maxWaitMs);
    const deadlineMs = Date.now() + maxWaitMs;
    for (;;) {
      const read = readAll(ctx, request, names, isolation, maxBytes);
      const remainingMs = deadlineMs - Date.now();
      if (read.availableBytes >= minBytes || read.anyError || read.waits.length === 0 || remainingMs <= 0 || ctx.signal.aborted) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: read.responses };
      }
      await waitForAny(ctx, read.waits, remainingMs, isolation);
    }
  },
});

/** Topic names in request order; null for a v13 topic id the broker does not know. */
function topicNames(ctx: RequestContext, request: FetchRequest): (string | null)[] {
  if (ctx.apiVersion < 13) return request.topics.map((topic) => topic.topic);
  const byId = new Map(ctx.broker.listTopics().map((metadata) => [metadata.topicId, metadata.name]));
  return request.topics.map((topic) => byId.get(topic.topicId) ?? null);
}

function readAll(
  ctx: RequestContext,
  request: FetchRequest,
  names: (string | null)[],
  isolation: IsolationLevel,
  maxBytes: number,
): ReadOutcome {
  let budgetBytes = maxBytes;
  let bytes = 0;
  let availableBytes = 0;
  let anyError = false;
  const waits: Wait[] = [];
  const responses = request.topics.map((topic, t): TopicResponse => {
    const name = names[t];
    const partitions = topic.partitions.map(({ partition, currentLeaderEpoch, fetchOffset, partitionMaxBytes }): PartitionResponse => {
      if (name === null) {
        anyError = true;
        return failed(partition, ErrorCode.UNKNOWN_TOPIC_ID);
      }
      try {
        // KIP-320 (v9+): a consumer with an older epoch is fenced, one with a newer epoch retries;
        // -1 (no epoch known, and every version before 9) asks for no check.
        if (currentLeaderEpoch !== NO_LEADER_EPOCH) ctx.broker.checkLeaderEpoch(name, partition, currentLeaderEpoch);
        if (ctx.apiVersion < ZSTD_MIN_FETCH_VERSION && ctx.broker.topicMetadata(name).configs['compression.type'] === 'zstd') {
          anyError = true;
          return failed(partition, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
        }
        if (bytes > 0 && budgetBytes <= 0) return offsetsOnly(ctx, name, partition, fetchOffset, isolation, waits);
        const limitBytes = Math.max(0, Math.min(partitionMaxBytes, budgetBytes));
        const result = ctx.broker.fetch(name, partition, fetchOffset, limitBytes, isolation);
        // The broker returns at least one batch; only the first partition with data may exceed its limits.
        const records = bytes > 0 && result.records.length > limitBytes ? EMPTY : result.records;
        const readableEnd = isolation === 'read_committed' ? result.lastStableOffset : result.highWatermark;
        const cutShort = records !== result.records || result.nextOffset < readableEnd;
        availableBytes += cutShort ? Math.max(records.length, limitBytes) : records.length;
        bytes += records.length;
        budgetBytes -= records.length;
        waits.push({ topic: name, partition, offset: readableEnd });
        return {
          partitionIndex: partition,
          errorCode: ErrorCode.NONE,
          highWatermark: result.highWatermark,
          lastStableOffset: result.lastStableOffset,
          logStartOffset: result.logStartOffset,
          abortedTransactions: isolation === 'read_committed' ? [...result.abortedTransactions] : null,
          preferredReadReplica: NO_PREFERRED_READ_REPLICA,
          records,
        };
      } catch (error) {
        anyError = true;
        return failed(partition, ctx.errorCode(error));
      }
    });
    return { topic: name ?? '', topicId: topic.topicId, partitions };
  });
  return { responses, bytes, availableBytes, anyError, waits };
}

/** A partition past the response's byte budget: its offsets and a range check, no read. */
function offsetsOnly(
  ctx: RequestContext,
  topic: string,
  partition: number,
  fetchOffset: number,
  isolation: IsolationLevel,
  waits: Wait[],
): PartitionResponse {
  const offsets = ctx.broker.partitionOffsets(topic, partition);
  // The range a read checks (Kafka's): an offset up to the log end is in range, even past the high watermark.
  if (fetchOffset < offsets.logStartOffset || fetchOffset > offsets.logEndOffset) {
    return failed(partition, ErrorCode.OFFSET_OUT_OF_RANGE);
  }
  waits.push({ topic, partition, offset: isolation === 'read_committed' ? offsets.lastStableOffset : offsets.highWatermark });
  return {
    partitionIndex: partition,
    errorCode: ErrorCode.NONE,
    highWatermark: offsets.highWatermark,
    lastStableOffset: offsets.lastStableOffset,
    logStartOffset: offsets.logStartOffset,
    abortedTransactions: isolation === 'read_committed' ? [] : null,
    preferredReadReplica: NO_PREFERRED_READ_REPLICA,
    records: EMPTY,
  };
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
        ctx.broker.waitForData(wait.topic, wait.partition, wait.offset, remainingMs, controller.signal, isolation).catch(() => undefined),
      ),
    );
  } finally {
    controller.abort();
    ctx.signal.removeEventListener('abort', stop);
  }
}
