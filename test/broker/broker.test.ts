import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Broker, formatRecoverySummary } from '../../src/broker/broker.js';
import { openFileLimit, resolveBrokerConfig } from '../../src/broker/config.js';
import {
  ClosedError,
  CorruptRecordError,
  DataDirLockedError,
  InvalidConfigError,
  InvalidPartitionsError,
  InvalidRequestError,
  InvalidTopicError,
  OffsetOutOfRangeError,
  PartitionNotFoundError,
  RecordTooLargeError,
  TopicExistsError,
  TopicNotFoundError,
} from '../../src/errors.js';
import { batchOf, makeDataDir, quietLogger, recordsOf, removeDataDir } from './broker-test-helpers.js';

let dataDir: string;
let broker: Broker;
/** Handles and requests alive before the broker opened (vitest's own). */
let resourcesBefore: string[];

beforeEach(async () => {
  resourcesBefore = process.getActiveResourcesInfo();
  dataDir = makeDataDir();
  broker = await Broker.open({ dataDir, shards: 2, groupInitialRebalanceDelayMs: 0, logger: quietLogger });
});

afterEach(async () => {
  await broker.close();
  removeDataDir(dataDir);
});

function fetchAll(topic: string, partition: number, from = 0): [number, string][] {
  const records: [number, string][] = [];
  for (let offset = from; offset < broker.partitionOffsets(topic, partition).highWatermark; ) {
    const result = broker.fetch(topic, partition, offset, 64 * 1024, 'read_uncommitted');
    records.push(...recordsOf(result.records));
    offset = result.nextOffset;
  }
  return records;
}

describe('Broker topics', () => {
  it('creates, lists, extends and deletes topics', async () => {
    const created = await broker.createTopic('orders', { partitions: 3, configs: { 'retention.ms': 60_000 } });
    expect(created).toMatchObject({ name: 'orders', partitionCount: 3, configs: { 'retention.ms': '60000' }, internal: false });
    expect(broker.listTopics().map((topic) => topic.name)).toEqual(['__consumer_offsets', 'orders']);
    await expect(broker.createTopic('orders', { partitions: 1 })).rejects.toThrow(TopicExistsError);
    await expect(broker.createTopic('bad name!', {})).rejects.toThrow(InvalidTopicError);
    await expect(broker.createTopic('__consumer_offsets', {})).rejects.toThrow(InvalidTopicError);

    expect((await broker.createPartitions('orders', 5)).partitionCount).toBe(5);
    expect((await broker.produce('orders', 4, batchOf(['x']), 1)).baseOffset).toBe(0);
    await expect(broker.createPartitions('orders', 2)).rejects.toThrow(InvalidPartitionsError);

    await broker.deleteTopic('orders');
    expect(existsSync(join(dataDir, 'orders-0'))).toBe(false);
    expect(existsSync(join(dataDir, 'orders-4'))).toBe(false);
    expect(() => broker.topicMetadata('orders')).toThrow(TopicNotFoundError);
    await expect(broker.deleteTopic('orders')).rejects.toThrow(TopicNotFoundError);
    await expect(broker.deleteTopic('__consumer_offsets')).rejects.toThrow(InvalidTopicError);
    // A topic created again under the same name starts empty.
    await broker.createTopic('orders', { partitions: 1 });
    expect(broker.partitionOffsets('orders', 0).highWatermark).toBe(0);
  });

  it('auto-creates unknown topics on metadata with num.partitions, never on produce (as Kafka)', async () => {
    expect(broker.topicMetadata('auto', { autoCreate: true }).partitionCount).toBe(1);
    await expect(broker.produce('auto-2', 0, batchOf(['a']), 1)).rejects.toThrow(TopicNotFoundError);
    expect(() => broker.topicMetadata('auto-2')).toThrow(TopicNotFoundError);
    expect(() => broker.topicMetadata('missing')).toThrow(TopicNotFoundError);
    expect(() => broker.fetch('missing', 0, 0, 100, 'read_uncommitted')).toThrow(TopicNotFoundError);
  });

  it('refuses unknown topics when auto-creation is off', async () => {
    await broker.close();
    broker = await Broker.open({ dataDir, shards: 1, autoCreateTopicsEnable: false, numPartitions: 3, logger: quietLogger });
    await expect(broker.produce('nope', 0, batchOf(['a']), 1)).rejects.toThrow(TopicNotFoundError);
    expect(() => broker.topicMetadata('nope', { autoCreate: true })).toThrow(TopicNotFoundError);
    expect((await broker.createTopic('yes', {})).partitionCount).toBe(3);
  });
});

describe('Broker produce and fetch', () => {
  it('keeps offsets dense per partition across shards and returns exactly what was produced', async () => {
    await broker.createTopic('t', { partitions: 4 });
    const expected: [number, string][][] = [[], [], [], []];
    const produced = [];
    for (let i = 0; i < 400; i++) {
      const partition = i % 4;
      const values = [`v${i}a`, `v${i}b`];
      produced.push(broker.produce('t', partition, batchOf(values), 1));
      const base = expected[partition].length;
      expected[partition].push([base, values[0]], [base + 1, values[1]]);
    }
    const results = await Promise.all(produced);
    for (const [i, result] of results.entries()) {
      expect(result).toMatchObject({ topic: 't', partition: i % 4, baseOffset: Math.floor(i / 4) * 2, lastOffset: Math.floor(i / 4) * 2 + 1, logAppendTimeMs: -1 });
    }
    for (let partition = 0; partition < 4; partition++) {
      expect(broker.partitionOffsets('t', partition)).toEqual({ partition, logStartOffset: 0, highWatermark: 200, lastStableOffset: 200, logEndOffset: 200, leaderEpoch: 0 });
      expect(fetchAll('t', partition)).toEqual(expected[partition]);
    }
  });

  it('fetches at least one whole batch, and nothing at the high watermark', async () => {
    await broker.createTopic('t', { partitions: 1 });
    await broker.produce('t', 0, batchOf(['a', 'b', 'c']), 1);
    await broker.produce('t', 0, batchOf(['d']), 1);
    const one = broker.fetch('t', 0, 1, 1, 'read_committed');
    expect(recordsOf(one.records)).toEqual([[0, 'a'], [1, 'b'], [2, 'c']]);
    expect(one).toMatchObject({ nextOffset: 3, highWatermark: 4, lastStableOffset: 4, logStartOffset: 0, abortedTransactions: [] });
    expect(broker.fetch('t', 0, 4, 1000, 'read_uncommitted')).toMatchObject({ nextOffset: 4, highWatermark: 4 });
    expect(broker.fetch('t', 0, 4, 1000, 'read_uncommitted').records.length).toBe(0);
    expect(() => broker.fetch('t', 0, 5, 1000, 'read_uncommitted')).toThrow(OffsetOutOfRangeError);
  });

  it('serves fetches while the owning shard works through a long append stream', async () => {
    await broker.close();
    // A 64 KiB request ring holds about 60 of these 1 KiB appends: the rest wait their turn here,
    // so the stream is still being appended when the reads start.
    broker = await Broker.open({ dataDir, shards: 1, shardRingBytes: 1 << 16, logger: quietLogger });
    await broker.createTopic('t', { partitions: 1 });
    const total = 3000;
    const padding = 'p'.repeat(1000);
    let acknowledged = 0;
    const appends = Array.from({ length: total }, (_, i) => broker.produce('t', 0, batchOf([`m${i}`, padding]), 1).then(() => acknowledged++));
    const seen: string[] = [];
    let fetchesDuringStream = 0;
    for (let offset = 0; offset < 2 * total; ) {
      await broker.waitForData('t', 0, offset, 10_000);
      const result = broker.fetch('t', 0, offset, 4096, 'read_uncommitted');
      if (acknowledged < total && result.highWatermark < 2 * total) fetchesDuringStream++;
      seen.push(...recordsOf(result.records).flatMap(([, value]) => (value === padding ? [] : [value])));
      offset = result.nextOffset;
    }
    await Promise.all(appends);
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
    // Reads went on while appends were still queued at the shard: they did not wait behind them.
    expect(fetchesDuringStream).toBeGreaterThan(0);
  });

  it('long polls: wakes on an append, ends at maxWaitMs, and on abort', async () => {
    await broker.createTopic('t', { partitions: 2 });
    const waiting = broker.waitForData('t', 0, 0, 60_000);
    let woke = false;
    void waiting.then(() => (woke = true));
    await broker.produce('t', 1, batchOf(['other partition']), 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(woke).toBe(false);
    await broker.produce('t', 0, batchOf(['x']), 1);
    await waiting;
    expect(broker.partitionOffsets('t', 0).highWatermark).toBe(1);

    await broker.waitForData('t', 0, 1, 5);
    expect(broker.partitionOffsets('t', 0).highWatermark).toBe(1);
    await broker.waitForData('t', 0, 0, 60_000);

    const controller = new AbortController();
    const aborted = broker.waitForData('t', 0, 1, 60_000, controller.signal);
    controller.abort();
    await aborted;
    expect(broker.partitionOffsets('t', 0).highWatermark).toBe(1);
  });

  it('settles acks 0 and acks -1, and enforces max.message.bytes', async () => {
    await broker.createTopic('t', { partitions: 1, configs: { 'max.message.bytes': 1000, 'flush.messages': 1000 } });
    expect((await broker.produce('t', 0, batchOf(['a']), 0)).baseOffset).toBe(0);
    expect((await broker.produce('t', 0, batchOf(['b']), -1)).baseOffset).toBe(1);
    await expect(broker.produce('t', 0, batchOf(['x'.repeat(2000)]), 1)).rejects.toThrow(RecordTooLargeError);
    expect((await broker.produce('t', 0, batchOf(['c']), 1)).baseOffset).toBe(2);
  });

  it('skips the CRC pass only for batches the caller says it verified', async () => {
    await broker.createTopic('t', { partitions: 1 });
    // A wrong CRC field over intact records: only a CRC check can tell.
    const badCrc = batchOf(['a']);
    badCrc.writeUInt32BE((badCrc.readUInt32BE(17) ^ 1) >>> 0, 17);
    await expect(broker.produce('t', 0, Buffer.from(badCrc), 1)).rejects.toThrow(CorruptRecordError);
    expect((await broker.produce('t', 0, Buffer.from(badCrc), 1, { crcVerified: true })).baseOffset).toBe(0);
    await expect(broker.produce('t', 0, batchOf(['b']), 1, null as never)).rejects.toThrow(InvalidRequestError);
  });

  it('stamps LogAppendTime when the topic asks for it', async () => {
    await broker.createTopic('t', { partitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } });
    const before = Date.now();
    const result = await broker.produce('t', 0, batchOf(['a'], 1000), 1);
    expect(result.logAppendTimeMs).toBeGreaterThanOrEqual(before);
  });

  it('finds offsets by timestamp and deletes records', async () => {
    await broker.createTopic('t', { partitions: 1 });
    await broker.produce('t', 0, batchOf(['a', 'b'], 1_000), 1);
    await broker.produce('t', 0, batchOf(['c', 'd'], 2_000), 1);
    expect(await broker.offsetForTimestamp('t', 0, 1_500)).toBe(2);
    expect(await broker.offsetForTimestamp('t', 0, 3_000)).toBe(null);
    expect(await broker.offsetForTimestamp('t', 0, -1)).toBe(4);
    expect(await broker.offsetForTimestamp('t', 0, -2)).toBe(0);
    expect(await broker.deleteRecords('t', 0, 2)).toBe(2);
    expect(broker.partitionOffsets('t', 0).logStartOffset).toBe(2);
    expect(() => broker.fetch('t', 0, 0, 1000, 'read_uncommitted')).toThrow(OffsetOutOfRangeError);
    expect(recordsOf(broker.fetch('t', 0, 2, 1000, 'read_uncommitted').records)).toEqual([[2, 'c'], [3, 'd']]);
    await expect(broker.deleteRecords('t', 0, 10)).rejects.toThrow(OffsetOutOfRangeError);
    expect(await broker.deleteRecords('t', 0, -1)).toBe(4);
  });

  it('rejects bad input with typed errors and keeps working', async () => {
    await broker.createTopic('t', { partitions: 2 });
    const batch = batchOf(['a']);
    await expect(broker.produce('t', 2, batch, 1)).rejects.toThrow(PartitionNotFoundError);
    await expect(broker.produce('t', -1, batch, 1)).rejects.toThrow(InvalidRequestError);
    await expect(broker.produce('t', '0' as unknown as number, batch, 1)).rejects.toThrow(InvalidRequestError);
    await expect(broker.produce('t', 0, 'not a buffer' as unknown as Buffer, 1)).rejects.toThrow(InvalidRequestError);
    await expect(broker.produce('t', 0, Buffer.alloc(0), 1)).rejects.toThrow(InvalidRequestError);
    await expect(broker.produce('t', 0, batch, 2 as unknown as 1)).rejects.toThrow(InvalidRequestError);
    await expect(broker.produce('t', 0, Buffer.from('garbage that is no batch at all, long enough to look like one'.repeat(2)), 1)).rejects.toThrow(/corrupt|batch/);
    await expect(broker.produce(42 as unknown as string, 0, batch, 1)).rejects.toThrow(InvalidTopicError);
    expect(() => broker.fetch('t', 5, 0, 100, 'read_uncommitted')).toThrow(PartitionNotFoundError);
    expect(() => broker.fetch('t', 0, -1, 100, 'read_uncommitted')).toThrow(InvalidRequestError);
    expect(() => broker.fetch('t', 0, 1.5, 100, 'read_uncommitted')).toThrow(InvalidRequestError);
    expect(() => broker.fetch('t', 0, 0, -1, 'read_uncommitted')).toThrow(InvalidRequestError);
    expect(() => broker.fetch('t', 0, 0, 100, 'dirty' as 'read_committed')).toThrow(InvalidRequestError);
    await expect(broker.waitForData('t', 0, -3, 10)).rejects.toThrow(InvalidRequestError);
    await expect(broker.waitForData('t', 0, 0, -10)).rejects.toThrow(InvalidRequestError);
    await expect(broker.offsetForTimestamp('t', 0, -7)).rejects.toThrow(InvalidRequestError);
    await expect(broker.deleteRecords('t', 0, -5)).rejects.toThrow(InvalidRequestError);
    expect(() => broker.partitionOffsets('t', 9)).toThrow(PartitionNotFoundError);
    expect((await broker.produce('t', 0, batch, 1)).baseOffset).toBe(0);
    expect(recordsOf(broker.fetch('t', 0, 0, 100, 'read_uncommitted').records)).toEqual([[0, 'a']]);
  });
});

describe('Broker lifecycle', () => {
  it('validates its configuration', async () => {
    await expect(Broker.open({ dataDir: join(dataDir, 'x'), shards: 0 })).rejects.toThrow(InvalidConfigError);
    await expect(Broker.open({ dataDir: join(dataDir, 'x'), shardz: 2 } as never)).rejects.toThrow(/unknown broker option "shardz"/);
    await expect(Broker.open({ dataDir: join(dataDir, 'x'), shardRingBytes: 1000 })).rejects.toThrow(InvalidConfigError);
    await expect(Broker.open({ dataDir: '' })).rejects.toThrow(InvalidConfigError);
  });

  it('keeps maxPartitions within what the open-file limit can hold', () => {
    const limit = openFileLimit();
    // Outside Linux the limit is unknown and maxPartitions is taken as given.
    if (limit === null) return;
    const fits = Math.floor((limit * 0.8) / 6);
    expect(resolveBrokerConfig({ dataDir }).maxPartitions).toBe(Math.min(4096, fits));
    expect(resolveBrokerConfig({ dataDir, maxPartitions: fits }).maxPartitions).toBe(fits);
    expect(() => resolveBrokerConfig({ dataDir, maxPartitions: fits + 1 })).toThrow(
      new RegExp(`maxPartitions ${fits + 1} needs up to ${(fits + 1) * 6} open files, more than the open-file limit \\(ulimit -n ${limit}\\)`),
    );
  });

  it('locks its data directory against a second broker', async () => {
    await expect(Broker.open({ dataDir, shards: 1, logger: quietLogger })).rejects.toThrow(DataDirLockedError);
  });

  it('closed and reopened, sees the same topics, offsets and committed group offsets', async () => {
    // compact,delete: Kafka refuses DeleteRecords on a topic that only compacts.
    await broker.createTopic('t', { partitions: 3, configs: { 'cleanup.policy': 'compact,delete' } });
    for (let i = 0; i < 30; i++) await broker.produce('t', i % 3, batchOf([`r${i}`]), 1);
    await broker.deleteRecords('t', 1, 4);
    await broker.groups.commitOffsets({ groupId: 'g1', offsets: [{ topic: 't', partition: 0, offset: 7, metadata: 'm' }] });
    await broker.groups.commitOffsets({ groupId: 'g1', offsets: [{ topic: 't', partition: 0, offset: 9 }, { topic: 't', partition: 2, offset: 3 }] });
    await broker.groups.commitOffsets({ groupId: 'g2', offsets: [{ topic: 't', partition: 1, offset: 5 }] });
    await broker.groups.deleteGroups(['g2']);
    const join = await broker.groups.joinGroup({
      groupId: 'members',
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('subscription') }],
      sessionTimeoutMs: 30_000,
    });
    await broker.groups.syncGroup({
      groupId: 'members',
      generationId: join.generationId,
      memberId: join.memberId,
      assignments: [{ memberId: join.memberId, assignment: Buffer.from('assignment') }],
    });
    const topicsBefore = broker.listTopics();
    await broker.close();

    broker = await Broker.open({ dataDir, shards: 3, logger: quietLogger });
    expect(broker.listTopics()).toEqual(topicsBefore);
    expect(broker.partitionOffsets('t', 1)).toMatchObject({ logStartOffset: 4, highWatermark: 10 });
    expect(fetchAll('t', 2).map(([, value]) => value)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i * 3 + 2}`));
    expect(await broker.groups.fetchOffsets({ groupId: 'g1', partitions: null })).toEqual([
      { topic: 't', partition: 0, offset: 9, leaderEpoch: -1, metadata: '' },
      { topic: 't', partition: 2, offset: 3, leaderEpoch: -1, metadata: '' },
    ]);
    expect(await broker.groups.fetchOffsets({ groupId: 'g2', partitions: null })).toEqual([]);
    const groups = broker.groups.listGroups().map((group) => group.groupId).sort();
    expect(groups).toEqual(['g1', 'members']);
    const described = broker.groups.describeGroup('members');
    expect(described).toMatchObject({ state: 'Stable', protocolName: 'range', generationId: join.generationId });
    expect(described.members.map((member) => member.assignment.toString())).toEqual(['assignment']);
    expect((await broker.produce('t', 0, batchOf(['after']), 1)).baseOffset).toBe(10);
  });

  it('close() drains requests already sent and leaves no shard thread behind', async () => {
    await broker.createTopic('t', { partitions: 4 });
    const threads = broker.shards.threadIds();
    expect(threads.length).toBe(2);
    const exited: number[] = [];
    broker.shards.on('shardExit', (_shard: number, threadId: number) => exited.push(threadId));
    const appends = Array.from({ length: 200 }, (_, i) => broker.produce('t', i % 4, batchOf([`x${i}`]), 1));
    const closing = broker.close();
    expect((await Promise.all(appends)).length).toBe(200);
    await closing;
    expect(exited.sort()).toEqual([...threads].sort());
    // Nothing the broker started (lock heartbeat, timers, handles) outlives it.
    expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(resourcesBefore.length);
    await expect(broker.produce('t', 0, batchOf(['late']), 1)).rejects.toThrow(ClosedError);
    expect(() => broker.fetch('t', 0, 0, 10, 'read_uncommitted')).toThrow(ClosedError);
    broker = await Broker.open({ dataDir, shards: 2, logger: quietLogger });
    for (let partition = 0; partition < 4; partition++) expect(broker.partitionOffsets('t', partition).highWatermark).toBe(50);
  });
});

describe('visible recovery', () => {
  const segmentOf = (topic: string, partition: number): string => join(dataDir, `${topic}-${partition}`, '00000000000000000000.log');

  it("a crashed shard's recovery warnings reach the broker logger while the broker runs", async () => {
    await broker.close();
    const warnings: string[] = [];
    broker = await Broker.open({ dataDir, shards: 2, logger: { info: () => {}, warn: (message) => warnings.push(message) } });
    await broker.createTopic('t', { partitions: 1 });
    for (let i = 0; i < 5; i++) await broker.produce('t', 0, batchOf([`r${i}`]), 1);
    // A torn write the crash left behind: bytes past the last whole batch.
    appendFileSync(segmentOf('t', 0), Buffer.alloc(37, 0xab));
    await broker.shards.terminateShard(broker.shards.shardFor('t', 0));
    const shard = broker.shards.shardFor('t', 0);
    expect(warnings.some((message) => message.startsWith(`shard ${shard}: recovery cut 37 bytes from the end of ${segmentOf('t', 0)}`))).toBe(true);
    expect(broker.partitionOffsets('t', 0).highWatermark).toBe(5);
  });

  it('reports what opening repaired, and zeros after a clean shutdown', async () => {
    await broker.createTopic('t', { partitions: 2 });
    for (let i = 0; i < 4; i++) await broker.produce('t', 0, batchOf([`r${i}`]), 1);
    await broker.close();
    broker = await Broker.open({ dataDir, shards: 2, logger: quietLogger });
    expect(broker.recovery).toMatchObject({ partitionsRepaired: 0, bytesTruncated: 0, segmentsRemoved: 0, indexesRebuilt: 0 });
    const partitionsOpened = broker.recovery.partitionsOpened;
    expect(partitionsOpened).toBeGreaterThanOrEqual(2);
    await broker.close();
    appendFileSync(segmentOf('t', 0), Buffer.alloc(21, 0xcd));
    broker = await Broker.open({ dataDir, shards: 2, logger: quietLogger });
    expect(broker.recovery).toEqual({
      partitionsOpened,
      partitionsRepaired: 1,
      bytesTruncated: 21,
      segmentsRemoved: 0,
      indexesRebuilt: 0,
      snapshotsDiscarded: 0,
      filesRemoved: 0,
    });
    expect(formatRecoverySummary(broker.recovery)).toBe(
      `recovery: ${partitionsOpened} partition(s) opened, 1 repaired; 21 byte(s) truncated, 0 segment(s) removed, ` +
        '0 index(es) rebuilt, 0 snapshot(s) discarded, 0 leftover file(s) removed',
    );
    expect(broker.partitionOffsets('t', 0).highWatermark).toBe(4);
  });
});
