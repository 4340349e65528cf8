/**
 * The fetch session cache's rules, with time given explicitly: Kafka's epoch arithmetic
 * (FetchMetadata.nextEpoch) and its eviction order (FetchSessionCacheShard.tryEvict). The same
 * cache behind a real socket is in fetch-sessions.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { CachedPartition, FetchSessionCache, INVALID_SESSION_ID, nextEpoch, type FetchTopicEntry } from '../../src/server/fetch-session-cache.js';

const EVICTION_MS = 1_000;

function cache(slots: number, partitionsMax = 1_000): FetchSessionCache {
  return new FetchSessionCache({
    maxIncrementalFetchSessionCacheSlots: slots,
    maxIncrementalFetchSessionCachePartitions: partitionsMax,
    minIncrementalFetchSessionEvictionMs: EVICTION_MS,
  });
}

function topics(partitions: number, topicKey = 'events'): FetchTopicEntry[] {
  return [
    {
      topicKey,
      partitions: Array.from({ length: partitions }, (_, partition) => ({
        partition,
        currentLeaderEpoch: -1,
        fetchOffset: 0,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: 1024,
      })),
    },
  ];
}

function create(c: FetchSessionCache, partitions: number, nowMs: number, privileged = false): number {
  const entries = topics(partitions);
  const states = entries.map((topic) => topic.partitions.map(() => ({ errorCode: 0, highWatermark: 0, logStartOffset: 0, records: null })));
  return c.maybeCreate(privileged, false, entries, states, nowMs);
}

/** An incremental fetch that changes nothing: it marks the session used at `nowMs`. */
function use(c: FetchSessionCache, id: number, nowMs: number): void {
  const session = c.get(id)!;
  expect(c.newContext(id, session.epoch, false, [], [], nowMs).kind).toBe('incremental');
}

describe('nextEpoch', () => {
  it('counts up from 1, wraps INT32_MAX to 1 (0 asks for a new session) and keeps -1', () => {
    expect(nextEpoch(0)).toBe(1);
    expect(nextEpoch(41)).toBe(42);
    expect(nextEpoch(0x7fffffff)).toBe(1);
    expect(nextEpoch(-1)).toBe(-1);
  });
});

describe('CachedPartition.mustRespond', () => {
  it('answers a partition when it has records, a moved high watermark or log start offset, an error or a diverging epoch', () => {
    const cached = new CachedPartition('events', 0, topics(1)[0].partitions[0]);
    const quiet = { errorCode: 0, highWatermark: 5, logStartOffset: 0, records: Buffer.alloc(0) };
    expect(cached.mustRespond(quiet)).toBe(true); // the first answer
    expect(cached.mustRespond(quiet)).toBe(false);
    expect(cached.mustRespond({ ...quiet, records: Buffer.alloc(10) })).toBe(true);
    expect(cached.mustRespond({ ...quiet, highWatermark: 6 })).toBe(true);
    expect(cached.mustRespond({ ...quiet, highWatermark: 6, logStartOffset: 2 })).toBe(true);
    expect(cached.mustRespond({ ...quiet, highWatermark: 6, logStartOffset: 2, divergingEpoch: { epoch: -1, endOffset: -1 } })).toBe(false);
    expect(cached.mustRespond({ ...quiet, highWatermark: 6, logStartOffset: 2, divergingEpoch: { epoch: 3, endOffset: 4 } })).toBe(true);
    // An error is answered every time, and forgets the high watermark so recovery is answered too.
    expect(cached.mustRespond({ errorCode: 6, highWatermark: -1, logStartOffset: -1 })).toBe(true);
    expect(cached.mustRespond({ errorCode: 6, highWatermark: -1, logStartOffset: -1 })).toBe(true);
    expect(cached.mustRespond({ ...quiet, highWatermark: 6, logStartOffset: 2 })).toBe(true);
    expect(cached.mustRespond({ ...quiet, highWatermark: 6, logStartOffset: 2 })).toBe(false);
  });
});

describe('FetchSessionCache eviction', () => {
  it('evicts the least recently used session once it is unused for longer than the eviction time', () => {
    const c = cache(2);
    const a = create(c, 5, 0);
    const b = create(c, 5, 10);
    use(c, a, 20);
    // At 1010 neither is stale (b, the least recently used, is exactly 1000 ms idle): a newcomer waits.
    expect(create(c, 5, 1_010)).toBe(INVALID_SESSION_ID);
    // At 1011 b, the least recently used, is 1001 ms idle.
    const d = create(c, 5, 1_011);
    expect(d).not.toBe(INVALID_SESSION_ID);
    expect(c.get(b)).toBeUndefined();
    expect(c.get(a)).toBeDefined();
  });

  it('lets a larger newcomer evict the smallest session that was older than the eviction time at its last use', () => {
    const c = cache(2);
    const small = create(c, 2, 0);
    const large = create(c, 9, 0);
    // Both used again after the eviction time: both mature, neither stale.
    use(c, small, 1_500);
    use(c, large, 1_600);
    expect(create(c, 2, 1_700)).toBe(INVALID_SESSION_ID);
    const bigger = create(c, 3, 1_700);
    expect(bigger).not.toBe(INVALID_SESSION_ID);
    expect(c.get(small)).toBeUndefined();
    expect(c.get(large)).toBeDefined();
  });

  it('keeps a young session from a larger consumer newcomer, but not from a follower\'s; followers\' sessions only give way once mature', () => {
    const c = cache(1);
    const consumer = create(c, 1, 0);
    expect(create(c, 50, 10)).toBe(INVALID_SESSION_ID);
    const follower = create(c, 1, 20, true);
    expect(follower).not.toBe(INVALID_SESSION_ID);
    expect(c.get(consumer)).toBeUndefined();
    // A privileged session, young: neither a consumer nor another follower displaces it.
    expect(create(c, 50, 30)).toBe(INVALID_SESSION_ID);
    expect(create(c, 50, 30, true)).toBe(INVALID_SESSION_ID);
  });

  it('accounts partitions across sessions and gives them back on close', () => {
    const c = cache(10, 6);
    const a = create(c, 4, 0);
    expect(c.totalPartitions).toBe(4);
    expect(create(c, 3, 0)).toBe(INVALID_SESSION_ID);
    expect(c.newContext(a, 0, false, topics(1), [], 1)).toEqual({ kind: 'full' });
    expect(c.totalPartitions).toBe(0);
    expect(create(c, 6, 2)).not.toBe(INVALID_SESSION_ID);
  });

  it('refuses to cache a topic name longer than any topic may have', () => {
    const c = cache(10);
    const entries = topics(1, 'x'.repeat(250));
    expect(c.maybeCreate(false, false, entries, [[{ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1, logStartOffset: -1 }]], 0)).toBe(
      INVALID_SESSION_ID,
    );
    const id = create(c, 1, 0);
    expect(c.newContext(id, 1, false, entries, [], 1)).toEqual({ kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND });
    expect(c.size).toBe(0);
  });
});
