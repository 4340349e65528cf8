/**
 * Fetch sessions (KIP-227, Fetch v7+), as Kafka's FetchSession.scala: a client that fetches the
 * same partitions over and over may ask the broker to remember them, then send only what changed
 * (incremental fetches) and get back only the partitions with something new.
 *
 * A request's (sessionId, sessionEpoch) says what it is:
 *  - epoch -1 (FINAL): a full fetch with no session; a nonzero id closes that session first.
 *  - epoch 0 (INITIAL): a full fetch asking for a new session (a nonzero id is closed first). The
 *    answer names the new session, or id 0 when the cache has no room: the client then goes on
 *    with full fetches.
 *  - epoch > 0 with the id the broker gave: an incremental fetch. The request lists only partitions
 *    added or whose fetch position changed, and forgotten ones to drop; the broker fetches every
 *    partition of the session and answers only those with records, a changed high watermark or log
 *    start offset, or an error. Each accepted request moves the session's epoch on by one.
 *
 * The cache holds at most maxIncrementalFetchSessionCacheSlots sessions (Kafka's
 * max.incremental.fetch.session.cache.slots) and, beyond Kafka, at most
 * maxIncrementalFetchSessionCachePartitions partitions across them, so its memory is bounded
 * whatever clients send. Sessions are not tied to connections (a client may reconnect and go on);
 * room is made as Kafka does: a session unused for minIncrementalFetchSessionEvictionMs goes first,
 * else one older than that whose size is below the newcomer's (sessions of followers, privileged,
 * only give way to followers' until they are that old).
 */
import { randomInt } from 'node:crypto';
import { MAX_TOPIC_NAME_LENGTH } from '../storage/topic-store.js';
import { ErrorCode } from '../protocol/api/error-codes.js';
import { INT32_MAX } from '../protocol/limits.js';

/** Session id of a fetch outside any session. */
export const INVALID_SESSION_ID = 0;
/** Epoch of a full fetch that asks for a new session. */
export const INITIAL_EPOCH = 0;
/** Epoch of a full fetch that wants no session. */
export const FINAL_EPOCH = -1;

/** The epoch after `epoch`: FINAL stays FINAL, and INT32_MAX wraps to 1 (0 means "new session"). */
export function nextEpoch(epoch: number): number {
  if (epoch < 0) return FINAL_EPOCH;
  return epoch === INT32_MAX ? 1 : epoch + 1;
}

/** What a request says about one partition, as a session remembers it. */
export interface FetchPartitionParams {
  partition: number;
  currentLeaderEpoch: number;
  fetchOffset: number;
  lastFetchedEpoch: number;
  logStartOffset: number;
  partitionMaxBytes: number;
}

/** What the answer said about one partition: an incremental answer leaves it out while these stay put. */
export interface FetchPartitionState {
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly records?: { readonly length: number } | null;
  /** Set (epoch or end offset >= 0) when the fetcher's log diverged from the leader's: it must truncate. */
  readonly divergingEpoch?: { readonly epoch?: number; readonly endOffset?: number };
}

export class CachedPartition implements FetchPartitionParams {
  // Set by updateParams, from the constructor on.
  currentLeaderEpoch!: number;
  fetchOffset!: number;
  lastFetchedEpoch!: number;
  logStartOffset!: number;
  partitionMaxBytes!: number;
  /** -1 until answered, and after an error, so the partition is sent again once it recovers. */
  highWatermark = -1;
  localLogStartOffset = -1;

  constructor(
    /** Topic id in sessions of v13+, topic name before. */
    readonly topicKey: string,
    readonly partition: number,
    params: FetchPartitionParams,
  ) {
    this.updateParams(params);
  }

  updateParams(params: FetchPartitionParams): void {
    this.currentLeaderEpoch = params.currentLeaderEpoch;
    this.fetchOffset = params.fetchOffset;
    this.lastFetchedEpoch = params.lastFetchedEpoch;
    this.logStartOffset = params.logStartOffset;
    this.partitionMaxBytes = params.partitionMaxBytes;
  }

  /**
   * Kafka's maybeUpdateResponseData: whether an incremental answer must carry the partition (new
   * records, a moved high watermark or log start offset, an error, a diverging epoch), remembering
   * what it said.
   */
  mustRespond(state: FetchPartitionState): boolean {
    let must = state.records !== undefined && state.records !== null && state.records.length > 0;
    if (this.highWatermark !== state.highWatermark) {
      must = true;
      this.highWatermark = state.highWatermark;
    }
    if (this.localLogStartOffset !== state.logStartOffset) {
      must = true;
      this.localLogStartOffset = state.logStartOffset;
    }
    if (state.errorCode !== ErrorCode.NONE) {
      this.highWatermark = -1;
      must = true;
    }
    const diverging = state.divergingEpoch;
    if (diverging !== undefined && ((diverging.epoch ?? -1) >= 0 || (diverging.endOffset ?? -1) >= 0)) must = true;
    return must;
  }
}

export function partitionKey(topicKey: string, partition: number): string {
  return `${partition}:${topicKey}`;
}

export class FetchSession {
  /** Fetch order: partitions that returned records move to the back, so each gets its turn under maxBytes. */
  readonly partitions = new Map<string, CachedPartition>();
  lastUsedMs: number;
  /** The epoch the next incremental request must carry. */
  epoch = nextEpoch(INITIAL_EPOCH);
  /** Partition count as last accounted in the cache's total. */
  cachedSize = 0;

  constructor(
    readonly id: number,
    /** Created by a follower (replica id >= 0): harder to evict. */
    readonly privileged: boolean,
    /** Created by Fetch v13+, which names topics by id: later requests must do so too. */
    readonly usesTopicIds: boolean,
    readonly creationMs: number,
  ) {
    this.lastUsedMs = creationMs;
  }

  /** Moves a partition that returned records to the back of the fetch order. */
  moveToBack(cached: CachedPartition): void {
    const key = partitionKey(cached.topicKey, cached.partition);
    this.partitions.delete(key);
    this.partitions.set(key, cached);
  }
}

export interface FetchSessionCacheConfig {
  readonly maxIncrementalFetchSessionCacheSlots: number;
  readonly maxIncrementalFetchSessionCachePartitions: number;
  readonly minIncrementalFetchSessionEvictionMs: number;
}

/** One topic of a request or of a session, partitions in fetch order. */
export interface FetchTopicEntry {
  /** Topic id (v13+) or name. */
  readonly topicKey: string;
  readonly partitions: readonly FetchPartitionParams[];
}

/** How the broker answers one Fetch request, decided before it reads anything (Kafka's FetchContext). */
export type FetchContext =
  /** The session could not be used: answer the top-level error with no partitions. */
  | { readonly kind: 'error'; readonly errorCode: number }
  /** Fetch what the request lists, answer with session id 0. */
  | { readonly kind: 'sessionless' }
  /** Fetch what the request lists, then try to create a session from it. */
  | { readonly kind: 'full' }
  /** Fetch every partition of the session, answer the changed ones. */
  | { readonly kind: 'incremental'; readonly session: FetchSession; readonly requestEpoch: number };

export class FetchSessionCache {
  /** By id, least recently used first (a use moves a session to the back). */
  private readonly sessions = new Map<number, FetchSession>();
  private partitionCount = 0;

  constructor(private readonly config: FetchSessionCacheConfig) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Partitions held across all sessions. */
  get totalPartitions(): number {
    return this.partitionCount;
  }

  get(id: number): FetchSession | undefined {
    return this.sessions.get(id);
  }

  /**
   * Kafka's FetchManager.newContext: closes, checks or updates the session the request names.
   * `topics` and `forgotten` are the request's, keyed as the version names topics.
   */
  newContext(
    sessionId: number,
    sessionEpoch: number,
    usesTopicIds: boolean,
    topics: readonly FetchTopicEntry[],
    forgotten: readonly { readonly topicKey: string; readonly partitions: readonly number[] }[],
    nowMs: number,
  ): FetchContext {
    if (sessionEpoch === INITIAL_EPOCH || sessionEpoch === FINAL_EPOCH) {
      // Any session a full fetch names is closed.
      if (sessionId !== INVALID_SESSION_ID) this.remove(sessionId);
      return sessionEpoch === FINAL_EPOCH ? { kind: 'sessionless' } : { kind: 'full' };
    }
    const session = this.sessions.get(sessionId);
    if (session === undefined) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    if (session.epoch !== sessionEpoch) return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    if (session.usesTopicIds !== usesTopicIds) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR };
    for (const topic of topics) {
      if (!cacheable(topic.topicKey, usesTopicIds)) {
        // A name no topic can have would let a client grow the cache without bound by name length:
        // the session goes, and the client starts over with a full fetch, as after an eviction.
        this.removeSession(session);
        return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
      }
      for (const params of topic.partitions) {
        const key = partitionKey(topic.topicKey, params.partition);
        const cached = session.partitions.get(key);
        if (cached === undefined) session.partitions.set(key, new CachedPartition(topic.topicKey, params.partition, params));
        else cached.updateParams(params);
      }
    }
    for (const topic of forgotten) {
      for (const partition of topic.partitions) session.partitions.delete(partitionKey(topic.topicKey, partition));
    }
    if (session.partitions.size === 0) {
      // Nothing left to fetch: Kafka closes the session and answers without one.
      this.removeSession(session);
      return { kind: 'sessionless' };
    }
    if (this.partitionCount - session.cachedSize + session.partitions.size > this.config.maxIncrementalFetchSessionCachePartitions) {
      this.removeSession(session);
      return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    }
    this.touch(session, nowMs);
    session.epoch = nextEpoch(session.epoch);
    return { kind: 'incremental', session, requestEpoch: sessionEpoch };
  }

  /**
   * Kafka's FullFetchContext answer: a session holding the request's partitions with what the
   * answer said of each, or INVALID_SESSION_ID when there is no room. `states[t][p]` is the
   * answer for `topics[t].partitions[p]`.
   */
  maybeCreate(
    privileged: boolean,
    usesTopicIds: boolean,
    topics: readonly FetchTopicEntry[],
    states: readonly (readonly FetchPartitionState[])[],
    nowMs: number,
  ): number {
    let size = 0;
    for (const topic of topics) {
      if (!cacheable(topic.topicKey, usesTopicIds)) return INVALID_SESSION_ID;
      size += topic.partitions.length;
    }
    if (size > this.config.maxIncrementalFetchSessionCachePartitions) return INVALID_SESSION_ID;
    if (this.sessions.size >= this.config.maxIncrementalFetchSessionCacheSlots && !this.tryEvict(privileged, size, nowMs)) {
      return INVALID_SESSION_ID;
    }
    if (this.partitionCount + size > this.config.maxIncrementalFetchSessionCachePartitions) return INVALID_SESSION_ID;
    const session = new FetchSession(this.newSessionId(), privileged, usesTopicIds, nowMs);
    topics.forEach((topic, t) => {
      topic.partitions.forEach((params, p) => {
        const cached = new CachedPartition(topic.topicKey, params.partition, params);
        cached.mustRespond(states[t][p]);
        session.partitions.set(partitionKey(topic.topicKey, params.partition), cached);
      });
    });
    this.sessions.set(session.id, session);
    this.touch(session, nowMs);
    return session.id;
  }

  /** Closes a session; false if there was none with that id. */
  remove(id: number): boolean {
    const session = this.sessions.get(id);
    if (session === undefined) return false;
    this.removeSession(session);
    return true;
  }

  private removeSession(session: FetchSession): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    this.partitionCount -= session.cachedSize;
    session.cachedSize = 0;
  }

  /** Marks a use: the session becomes the most recently used and its size is accounted again. */
  private touch(session: FetchSession, nowMs: number): void {
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
    session.lastUsedMs = nowMs;
    this.partitionCount += session.partitions.size - session.cachedSize;
    session.cachedSize = session.partitions.size;
  }

  /**
   * Kafka's tryEvict: the least recently used session if unused for longer than the eviction
   * time; else the cheapest evictable one (unprivileged first, then fewest partitions, then lowest
   * id) if the newcomer is worth more. A session is evictable by anyone once it was older than the
   * eviction time at its last use; by a follower's session also while unprivileged.
   */
  private tryEvict(privileged: boolean, size: number, nowMs: number): boolean {
    const evictionMs = this.config.minIncrementalFetchSessionEvictionMs;
    const oldest = this.sessions.values().next();
    if (oldest.done === true) return false;
    if (nowMs - oldest.value.lastUsedMs > evictionMs) {
      this.removeSession(oldest.value);
      return true;
    }
    let cheapest: FetchSession | null = null;
    for (const session of this.sessions.values()) {
      const mature = session.lastUsedMs - session.creationMs > evictionMs;
      if (!(mature || (privileged && !session.privileged))) continue;
      if (cheapest === null || cheaper(session, cheapest)) cheapest = session;
    }
    if (cheapest === null) return false;
    // The newcomer (id 0 in Kafka's comparison) must not order before the cheapest.
    const worthMore = (privileged && !cheapest.privileged) || (privileged === cheapest.privileged && size > cheapest.cachedSize);
    if (!worthMore) return false;
    this.removeSession(cheapest);
    return true;
  }

  private newSessionId(): number {
    for (;;) {
      const id = randomInt(1, INT32_MAX);
      if (!this.sessions.has(id)) return id;
    }
  }
}

/** Kafka's EvictableKey order: (privileged, size, id). */
function cheaper(a: FetchSession, b: FetchSession): boolean {
  if (a.privileged !== b.privileged) return !a.privileged;
  if (a.cachedSize !== b.cachedSize) return a.cachedSize < b.cachedSize;
  return a.id < b.id;
}

/** Topic ids have a fixed size; a name longer than any topic's could only waste memory. */
function cacheable(topicKey: string, usesTopicIds: boolean): boolean {
  return usesTopicIds || topicKey.length <= MAX_TOPIC_NAME_LENGTH;
}
