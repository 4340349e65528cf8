/**
 * Fetch sessions (KIP-227) over real sockets, as Kafka's FetchSession.scala serves them: a full
 * fetch with epoch 0 creates a session, incremental fetches answer only changed partitions, carry
 * forgotten topics, long-poll like full fetches, and the cache's bounds close or refuse sessions
 * with Kafka's errors.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch, type FetchRequestInput, type FetchResponse } from '../../src/protocol/api/fetch.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import type { KafkaServerOptions } from '../../src/server/config.js';
import { TestClient, eventually, startServer, type TestServer } from './helpers.js';

const MAX_BYTES = 1 << 20;

function batch(count: number, tag: string): Buffer {
  return encodeRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`${tag}-${i}`), timestampMs: 1_700_000_000_000 + i })),
  });
}

interface Session {
  readonly t: TestServer;
  readonly client: TestClient;
  readonly topicId: string;
}

async function open(topic: string, partitions: number, server: KafkaServerOptions = {}): Promise<Session> {
  const t = await startServer({ server });
  await t.broker.createTopic(topic, { partitions });
  const client = await TestClient.connect(t.port);
  return { t, client, topicId: t.broker.topicMetadata(topic).topicId };
}

async function produce(s: Session, topic: string, partition: number, records: Buffer): Promise<void> {
  const response = await s.client.send(Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  expect(response.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
}

function request(
  topicId: string,
  partitions: { partition: number; fetchOffset: number }[],
  session: { sessionId: number; sessionEpoch: number },
  extra: Partial<FetchRequestInput> = {},
): FetchRequestInput {
  return {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: MAX_BYTES,
    isolationLevel: 0,
    ...session,
    topics: partitions.length === 0 ? [] : [{ topicId, partitions: partitions.map((p) => ({ ...p, partitionMaxBytes: MAX_BYTES })) }],
    ...extra,
  };
}

/** Partition -> [errorCode, highWatermark, logStartOffset, record bytes] of every partition answered. */
function answered(response: FetchResponse): Record<number, [number, number, number, number]> {
  const out: Record<number, [number, number, number, number]> = {};
  for (const topic of response.responses) {
    for (const p of topic.partitions) out[p.partitionIndex] = [p.errorCode, p.highWatermark, p.logStartOffset, p.records?.length ?? 0];
  }
  return out;
}

describe('a fetch session, from creation to close', () => {
  let s: Session;
  beforeAll(async () => {
    s = await open('events', 3);
  });
  afterAll(async () => {
    s.client.close();
    await s.t.close();
  });

  it('is created by epoch 0, answers only changed partitions, follows forgotten topics and closes with epoch -1', async () => {
    const first = batch(2, 'a');
    await produce(s, 'events', 0, first);
    const all = [0, 1, 2].map((partition) => ({ partition, fetchOffset: 0 }));
    const full = await s.client.send(Fetch, 17, request(s.topicId, all, { sessionId: 0, sessionEpoch: 0 }));
    expect(full.errorCode).toBe(ErrorCode.NONE);
    expect(full.sessionId).toBeGreaterThan(0);
    expect(answered(full)).toEqual({ 0: [0, 2, 0, first.length], 1: [0, 0, 0, 0], 2: [0, 0, 0, 0] });
    const id = full.sessionId;

    // The client moves partition 0's position; nothing else changed, so nothing is answered.
    const quiet = await s.client.send(Fetch, 17, request(s.topicId, [{ partition: 0, fetchOffset: 2 }], { sessionId: id, sessionEpoch: 1 }));
    expect(quiet).toMatchObject({ errorCode: ErrorCode.NONE, sessionId: id, responses: [] });

    // New data on partition 2 (which the request does not list: the session remembers it).
    const second = batch(3, 'b');
    await produce(s, 'events', 2, second);
    const changed = await s.client.send(Fetch, 17, request(s.topicId, [], { sessionId: id, sessionEpoch: 2 }));
    expect(changed.responses.map((topic) => topic.topicId)).toEqual([s.topicId]);
    expect(answered(changed)).toEqual({ 2: [0, 3, 0, second.length] });

    // The client moves partition 2 past what it got: nothing new anywhere, nothing answered.
    const again = await s.client.send(Fetch, 17, request(s.topicId, [{ partition: 2, fetchOffset: 3 }], { sessionId: id, sessionEpoch: 3 }));
    expect(again.responses).toEqual([]);

    // A moved log start offset is a change too, without records.
    await s.t.broker.deleteRecords('events', 0, 1);
    const trimmed = await s.client.send(Fetch, 17, request(s.topicId, [], { sessionId: id, sessionEpoch: 4 }));
    expect(answered(trimmed)).toEqual({ 0: [0, 2, 1, 0] });

    // Forgetting partition 0: data there is no longer answered.
    const forget = await s.client.send(
      Fetch,
      17,
      request(s.topicId, [], { sessionId: id, sessionEpoch: 5 }, { forgottenTopicsData: [{ topicId: s.topicId, partitions: [0] }] }),
    );
    expect(forget.responses).toEqual([]);
    await produce(s, 'events', 0, batch(1, 'c'));
    const afterForget = await s.client.send(Fetch, 17, request(s.topicId, [], { sessionId: id, sessionEpoch: 6 }));
    expect(afterForget.responses).toEqual([]);

    // Epoch -1 closes the session and answers as a sessionless full fetch.
    const closing = await s.client.send(Fetch, 17, request(s.topicId, [{ partition: 1, fetchOffset: 0 }], { sessionId: id, sessionEpoch: -1 }));
    expect(closing.sessionId).toBe(0);
    expect(answered(closing)).toEqual({ 1: [0, 0, 0, 0] });
    const gone = await s.client.send(Fetch, 17, request(s.topicId, [], { sessionId: id, sessionEpoch: 7 }));
    expect(gone).toMatchObject({ errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] });
  });

  it('answers a wrong epoch with INVALID_FETCH_SESSION_EPOCH and keeps the session for the right one', async () => {
    const full = await s.client.send(Fetch, 17, request(s.topicId, [{ partition: 1, fetchOffset: 0 }], { sessionId: 0, sessionEpoch: 0 }));
    const id = full.sessionId;
    expect(id).toBeGreaterThan(0);
    for (const epoch of [2, 0x7fffffff, -2]) {
      const wrong = await s.client.send(Fetch, 17, request(s.topicId, [], { sessionId: id, sessionEpoch: epoch }));
      expect(wrong).toMatchObject({ errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: 0, responses: [] });
    }
    const right = await s.client.send(Fetch, 17, request(s.topicId, [], { sessionId: id, sessionEpoch: 1 }));
    expect(right).toMatchObject({ errorCode: ErrorCode.NONE, sessionId: id, responses: [] });
  });

  it('answers FETCH_SESSION_TOPIC_ID_ERROR when a session created with topic ids goes on with names (v12)', async () => {
    const full = await s.client.send(Fetch, 13, request(s.topicId, [{ partition: 1, fetchOffset: 0 }], { sessionId: 0, sessionEpoch: 0 }));
    const byName = await s.client.send(Fetch, 12, { ...request(s.topicId, [], { sessionId: full.sessionId, sessionEpoch: 1 }) });
    expect(byName).toMatchObject({ errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR, sessionId: 0, responses: [] });
  });

  it('keys sessions of v7-v12 by topic name, and answers an unknown topic in every incremental fetch until it is forgotten', async () => {
    const full = await s.client.send(Fetch, 12, {
      ...request('', [], { sessionId: 0, sessionEpoch: 0 }),
      topics: [
        { topic: 'events', partitions: [{ partition: 1, fetchOffset: 0, partitionMaxBytes: MAX_BYTES }] },
        { topic: 'absent', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: MAX_BYTES }] },
      ],
    });
    const id = full.sessionId;
    expect(id).toBeGreaterThan(0);
    expect(full.responses.map((topic) => [topic.topic, topic.partitions[0].errorCode])).toEqual([
      ['events', ErrorCode.NONE],
      ['absent', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const incremental = await s.client.send(Fetch, 12, request('', [], { sessionId: id, sessionEpoch: 1 }));
    expect(incremental.responses.map((topic) => [topic.topic, topic.partitions[0].errorCode])).toEqual([['absent', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    await produce(s, 'events', 1, batch(1, 'd'));
    const data = await s.client.send(
      Fetch,
      12,
      request('', [], { sessionId: id, sessionEpoch: 2 }, { forgottenTopicsData: [{ topic: 'absent', partitions: [0] }] }),
    );
    expect(data.responses.map((topic) => [topic.topic, topic.partitions[0].partitionIndex, topic.partitions[0].highWatermark])).toEqual([['events', 1, 1]]);
  });

  it('is not tied to a connection: another connection goes on with it', async () => {
    const full = await s.client.send(Fetch, 17, request(s.topicId, [{ partition: 1, fetchOffset: 0 }], { sessionId: 0, sessionEpoch: 0 }));
    const other = await TestClient.connect(s.t.port);
    try {
      const next = await other.send(Fetch, 17, request(s.topicId, [], { sessionId: full.sessionId, sessionEpoch: 1 }));
      expect(next).toMatchObject({ errorCode: ErrorCode.NONE, sessionId: full.sessionId });
    } finally {
      other.close();
    }
  });

  it('closes a session left with no partitions and answers without one', async () => {
    const full = await s.client.send(Fetch, 17, request(s.topicId, [{ partition: 1, fetchOffset: 0 }], { sessionId: 0, sessionEpoch: 0 }));
    const emptied = await s.client.send(
      Fetch,
      17,
      request(s.topicId, [], { sessionId: full.sessionId, sessionEpoch: 1 }, { forgottenTopicsData: [{ topicId: s.topicId, partitions: [1] }] }),
    );
    expect(emptied).toMatchObject({ errorCode: ErrorCode.NONE, sessionId: 0, responses: [] });
    const gone = await s.client.send(Fetch, 17, request(s.topicId, [], { sessionId: full.sessionId, sessionEpoch: 2 }));
    expect(gone.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });
});

describe('an incremental fetch long-polls', () => {
  let s: Session;
  beforeAll(async () => {
    s = await open('polled', 2);
  });
  afterAll(async () => {
    s.client.close();
    await s.t.close();
  });

  it('parks on every partition of its session when none changed, and answers the one a produce wakes', async () => {
    const full = await s.client.send(Fetch, 17, request(s.topicId, [0, 1].map((partition) => ({ partition, fetchOffset: 0 })), { sessionId: 0, sessionEpoch: 0 }));
    const reader = await TestClient.connect(s.t.port);
    try {
      const pending = reader.send(Fetch, 17, request(s.topicId, [], { sessionId: full.sessionId, sessionEpoch: 1 }, { maxWaitMs: 60_000, minBytes: 1 }));
      await eventually(() => [0, 1].every((partition) => s.t.broker.parkedWaits('polled', partition) === 1), { what: 'the incremental fetch parked on both partitions' });
      const records = batch(2, 'wake');
      await produce(s, 'polled', 1, records);
      const response = await pending;
      expect(response.sessionId).toBe(full.sessionId);
      expect(answered(response)).toEqual({ 1: [0, 2, 0, records.length] });
    } finally {
      reader.close();
    }
  });
});

describe('an incremental fetch under maxBytes', () => {
  let s: Session;
  beforeAll(async () => {
    s = await open('fair', 2);
  });
  afterAll(async () => {
    s.client.close();
    await s.t.close();
  });

  it('moves a partition that returned records to the back of the session, so the others get their turn', async () => {
    const p0 = [batch(1, 'x'), batch(1, 'y'), batch(1, 'z')];
    for (const records of p0) await produce(s, 'fair', 0, records);
    const p1 = batch(1, 'w');
    await produce(s, 'fair', 1, p1);
    // maxBytes 1: only the first partition with data gets a batch (the first is returned whole).
    const tight = { maxBytes: 1 };
    const full = await s.client.send(Fetch, 17, request(s.topicId, [0, 1].map((partition) => ({ partition, fetchOffset: 0 })), { sessionId: 0, sessionEpoch: 0 }, tight));
    expect(answered(full)).toEqual({ 0: [0, 3, 0, p0[0].length], 1: [0, 1, 0, 0] });
    const second = await s.client.send(Fetch, 17, request(s.topicId, [{ partition: 0, fetchOffset: 1 }], { sessionId: full.sessionId, sessionEpoch: 1 }, tight));
    expect(answered(second)).toEqual({ 0: [0, 3, 0, p0[1].length] });
    // Partition 0 returned records, so partition 1 now comes first.
    const third = await s.client.send(Fetch, 17, request(s.topicId, [{ partition: 0, fetchOffset: 2 }], { sessionId: full.sessionId, sessionEpoch: 2 }, tight));
    expect(answered(third)).toEqual({ 1: [0, 1, 0, p1.length] });
  });

  it('answers INVALID_FETCH_SESSION_EPOCH to a long poll whose session another request moved on meanwhile', async () => {
    const full = await s.client.send(Fetch, 17, request(s.topicId, [{ partition: 1, fetchOffset: 1 }], { sessionId: 0, sessionEpoch: 0 }));
    const reader = await TestClient.connect(s.t.port);
    try {
      const parked = reader.send(Fetch, 17, request(s.topicId, [], { sessionId: full.sessionId, sessionEpoch: 1 }, { maxWaitMs: 60_000, minBytes: 1 }));
      await eventually(() => s.t.broker.parkedWaits('fair', 1) === 1, { what: 'the first incremental fetch parked' });
      const next = await s.client.send(Fetch, 17, request(s.topicId, [], { sessionId: full.sessionId, sessionEpoch: 2 }));
      expect(next).toMatchObject({ errorCode: ErrorCode.NONE, sessionId: full.sessionId });
      await produce(s, 'fair', 1, batch(1, 'v'));
      expect(await parked).toMatchObject({ errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: full.sessionId, responses: [] });
    } finally {
      reader.close();
    }
  });
});

describe('the fetch session cache', () => {
  let s: Session | undefined;
  afterEach(async () => {
    s?.client.close();
    await s?.t.close();
    s = undefined;
  });

  const full = (session: Session, partitions: number[], version = 17, replicaId = -1) =>
    session.client.send(
      Fetch,
      version,
      request(
        session.topicId,
        partitions.map((partition) => ({ partition, fetchOffset: 0 })),
        { sessionId: 0, sessionEpoch: 0 },
        { replicaId, replicaState: { replicaId, replicaEpoch: -1 } },
      ),
    );

  it('when full, answers new full fetches without a session; a follower\'s session evicts a consumer\'s', async () => {
    s = await open('slots', 3, { maxIncrementalFetchSessionCacheSlots: 1 });
    const first = await full(s, [0]);
    expect(first.sessionId).toBeGreaterThan(0);
    // The first session is younger than the eviction time: neither an equal nor a larger one displaces it.
    expect((await full(s, [0])).sessionId).toBe(0);
    expect((await full(s, [0, 1, 2])).sessionId).toBe(0);
    const follower = await full(s, [0], 15, 1);
    expect(follower.sessionId).toBeGreaterThan(0);
    const evicted = await s.client.send(Fetch, 17, request(s.topicId, [], { sessionId: first.sessionId, sessionEpoch: 1 }));
    expect(evicted.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('evicts a session unused for minIncrementalFetchSessionEvictionMs; its next fetch gets FETCH_SESSION_ID_NOT_FOUND', async () => {
    s = await open('stale', 1, { maxIncrementalFetchSessionCacheSlots: 1, minIncrementalFetchSessionEvictionMs: 0 });
    const first = await full(s, [0]);
    expect(first.sessionId).toBeGreaterThan(0);
    // Unused for more than 0 ms as soon as the clock moves on.
    const session = s;
    let second = 0;
    await eventually(
      async () => {
        second = (await full(session, [0])).sessionId;
        return second !== 0;
      },
      { what: 'a second session evicting the first' },
    );
    expect(second).not.toBe(first.sessionId);
    const evicted = await s.client.send(Fetch, 17, request(s.topicId, [], { sessionId: first.sessionId, sessionEpoch: 1 }));
    expect(evicted.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('holds at most maxIncrementalFetchSessionCachePartitions partitions: larger sessions are refused or closed', async () => {
    s = await open('bounded', 3, { maxIncrementalFetchSessionCachePartitions: 2 });
    expect((await full(s, [0, 1, 2])).sessionId).toBe(0);
    const fits = await full(s, [0, 1]);
    expect(fits.sessionId).toBeGreaterThan(0);
    // The cache is at its bound: even one more partition in another session does not fit.
    expect((await full(s, [2])).sessionId).toBe(0);
    const grown = await s.client.send(Fetch, 17, request(s.topicId, [{ partition: 2, fetchOffset: 0 }], { sessionId: fits.sessionId, sessionEpoch: 1 }));
    expect(grown).toMatchObject({ errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] });
    // Closing it gave its partitions back.
    expect((await full(s, [2])).sessionId).toBeGreaterThan(0);
  });

  it('with no slots, serves every fetch without a session', async () => {
    s = await open('none', 1, { maxIncrementalFetchSessionCacheSlots: 0 });
    const response = await full(s, [0]);
    expect(response).toMatchObject({ errorCode: ErrorCode.NONE, sessionId: 0 });
    expect(answered(response)).toEqual({ 0: [0, 0, 0, 0] });
  });
});
