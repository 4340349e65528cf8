/**
 * Consumer groups end to end: real broker, shard worker threads, segment files in temp dirs.
 * Membership, rebalances (a member leaving, a member going silent), at-least-once commits across
 * rebalances and broker restarts, cooperative versus eager rebalancing, and a million records
 * through a group of three.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import type { BrokerOptions } from '../../src/broker/config.js';
import type { TopicPartitions } from '../../src/broker/consumer-protocol.js';
import { Consumer, type ConsumerOptions } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { eventually } from '../support/eventually.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-group-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const BROKER_OPTIONS: Omit<BrokerOptions, 'dataDir'> = {
  shards: 2,
  groupInitialRebalanceDelayMs: 300,
  groupMinSessionTimeoutMs: 100,
};

async function openBroker(dataDir: string): Promise<Broker> {
  const broker = await Broker.open({ dataDir, ...BROKER_OPTIONS });
  cleanups.push(() => broker.close());
  return broker;
}

function memberOptions(groupId: string, extra: ConsumerOptions = {}): ConsumerOptions {
  return { groupId, sessionTimeout: 3_000, heartbeatInterval: 50, maxWaitTimeInMs: 50, ...extra };
}

/**
 * Tracks which member owns each partition, from the members' own events: a partition is owned
 * from the assignment that gives it (group_join) until its member revokes it (rebalancing) or
 * stops. Throws if a member is given a partition another member still owns.
 */
class OwnershipLedger {
  private readonly owners = new Map<number, string>();
  readonly violations: string[] = [];

  watch(name: string, consumer: Consumer): void {
    const owned = new Set<number>();
    consumer.on(consumer.events.GROUP_JOIN, (event: { payload: { memberAssignment: Record<string, number[]> } }) => {
      for (const partitions of Object.values(event.payload.memberAssignment)) {
        for (const partition of partitions) {
          if (owned.has(partition)) continue;
          const current = this.owners.get(partition);
          if (current !== undefined && current !== name) this.violations.push(`${name} got ${partition} while ${current} owned it`);
          this.owners.set(partition, name);
          owned.add(partition);
        }
      }
    });
    consumer.on(consumer.events.REBALANCING, (event: { payload: { revoked: TopicPartitions[] } }) => {
      for (const { partitions } of event.payload.revoked) {
        for (const partition of partitions) this.release(name, partition, owned);
      }
    });
    consumer.on(consumer.events.STOP, () => {
      for (const partition of [...owned]) this.release(name, partition, owned);
    });
  }

  /** For a member that vanished without a word: the group reassigns its partitions once its session expires. */
  forget(name: string): void {
    for (const [partition, owner] of this.owners) if (owner === name) this.owners.delete(partition);
  }

  private release(name: string, partition: number, owned: Set<number>): void {
    owned.delete(partition);
    if (this.owners.get(partition) === name) this.owners.delete(partition);
  }
}

/** Writes `perPartition` records to every partition: value = partition (int32) + sequence (int32). */
async function produceNumbered(broker: Broker, topic: string, partitions: number, perPartition: number): Promise<void> {
  const producer = new Producer(broker, { batchSize: 256 * 1024, lingerMs: 5 });
  const sends: Promise<unknown>[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    for (let start = 0; start < perPartition; start += 10_000) {
      const messages = [];
      for (let seq = start; seq < Math.min(perPartition, start + 10_000); seq++) {
        const value = Buffer.allocUnsafe(8);
        value.writeInt32BE(partition, 0);
        value.writeInt32BE(seq, 4);
        messages.push({ value, partition });
      }
      sends.push(producer.send({ topic, messages }));
    }
  }
  await Promise.all(sends);
  await producer.close();
}

/** Counts deliveries of every (partition, sequence). */
class DeliveryCounter {
  readonly counts: Uint8Array[];
  delivered = 0;

  constructor(partitions: number, perPartition: number) {
    this.counts = Array.from({ length: partitions }, () => new Uint8Array(perPartition));
  }

  record(value: Buffer): void {
    this.counts[value.readInt32BE(0)][value.readInt32BE(4)]++;
    this.delivered++;
  }

  missing(): number {
    return this.counts.reduce((sum, counts) => sum + counts.filter((count) => count === 0).length, 0);
  }

  duplicates(): number {
    return this.counts.reduce((sum, counts) => sum + counts.filter((count) => count > 1).length, 0);
  }
}

describe('consumer groups', () => {
  it('a group of 3 consumers over 6 partitions consumes 1,000,000 records with no loss and no duplicate', async () => {
    const broker = await openBroker(tempDir());
    const topic = 'million';
    await broker.createTopic(topic, { partitions: 6 });
    const keys = Array.from({ length: 1_000 }, (_, i) => Buffer.from(`key-${i}`));
    const perKey = 1_000;
    const producer = new Producer(broker, { batchSize: 512 * 1024, bufferMemory: 64 * 1024 * 1024, lingerMs: 5 });
    const sends: Promise<unknown>[] = [];
    for (let seq = 0; seq < perKey; seq += 50) {
      const messages = [];
      for (let s = seq; s < seq + 50; s++) {
        for (let k = 0; k < keys.length; k++) {
          const value = Buffer.allocUnsafe(4);
          value.writeUInt32BE(s, 0);
          messages.push({ key: keys[k], value });
        }
      }
      sends.push(producer.send({ topic, messages }));
    }
    await Promise.all(sends);
    await producer.close();

    // Per key: how many records, the sum of their sequence numbers, and the last one (order check).
    const count = new Uint32Array(keys.length);
    const sum = new Float64Array(keys.length);
    const last = new Int32Array(keys.length).fill(-1);
    let outOfOrder = 0;
    let total = 0;
    const ledger = new OwnershipLedger();
    const perMember = [0, 0, 0];
    const consumers = [0, 1, 2].map((i) => {
      const consumer = new Consumer(broker, memberOptions('million-group', { maxWaitTimeInMs: 100 }));
      ledger.watch(`c${i}`, consumer);
      return consumer;
    });
    await Promise.all(consumers.map((consumer) => consumer.subscribe({ topics: [topic], fromBeginning: true })));
    await Promise.all(
      consumers.map((consumer, i) =>
        consumer.run({
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              const key = Number(message.key!.toString('latin1', 4));
              const seq = message.value!.readUInt32BE(0);
              count[key]++;
              sum[key] += seq;
              if (seq <= last[key]) outOfOrder++;
              last[key] = seq;
            }
            total += batch.messages.length;
            perMember[i] += batch.messages.length;
          },
        }),
      ),
    );
    await eventually(() => total >= keys.length * perKey);
    await Promise.all(consumers.map((consumer) => consumer.disconnect()));
    expect(total).toBe(1_000_000);
    const expectedSum = (perKey * (perKey - 1)) / 2;
    expect([...count].every((c) => c === perKey)).toBe(true);
    expect([...sum].every((s) => s === expectedSum)).toBe(true);
    expect(outOfOrder).toBe(0);
    expect(ledger.violations).toEqual([]);
    // Every member took part.
    expect(perMember.every((n) => n > 0)).toBe(true);
  }, 90_000);

  it('a member that leaves triggers a rebalance; no partition is owned twice and nothing is lost', async () => {
    const broker = await openBroker(tempDir());
    const topic = 'leave';
    const partitions = 6;
    const perPartition = 20_000;
    await broker.createTopic(topic, { partitions });
    await produceNumbered(broker, topic, partitions, perPartition);
    const counter = new DeliveryCounter(partitions, perPartition);
    const ledger = new OwnershipLedger();
    const consumers = [0, 1, 2].map((i) => {
      const consumer = new Consumer(broker, memberOptions('leave-group', { maxBytesPerPartition: 16 * 1024 }));
      ledger.watch(`c${i}`, consumer);
      return consumer;
    });
    await Promise.all(consumers.map((consumer) => consumer.subscribe({ topics: [topic], fromBeginning: true })));
    await Promise.all(consumers.map((consumer) => consumer.run({ eachMessage: ({ message }) => counter.record(message.value!) })));
    await eventually(() => counter.delivered >= 20_000);
    expect(consumers.every((consumer) => consumer.assignment().length === 1)).toBe(true);
    await consumers[2].stop();
    await eventually(() => counter.missing() === 0);
    // The two left share the six partitions.
    await eventually(() => consumers[0].assignment().concat(consumers[1].assignment()).flatMap((entry) => entry.partitions).length === partitions);
    const owned = [consumers[0], consumers[1]].flatMap((consumer) => consumer.assignment().flatMap((entry) => entry.partitions));
    expect(owned.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(ledger.violations).toEqual([]);
    // Revocations committed what was processed: the clean handover read nothing twice.
    expect(counter.duplicates()).toBe(0);
    await Promise.all(consumers.map((consumer) => consumer.disconnect()));
  }, 60_000);

  it('a member that stops heartbeating without leaving is removed when its session expires; at-least-once loses nothing', async () => {
    const broker = await openBroker(tempDir());
    const topic = 'silent';
    const partitions = 4;
    const perPartition = 5_000;
    await broker.createTopic(topic, { partitions });
    await produceNumbered(broker, topic, partitions, perPartition);
    const counter = new DeliveryCounter(partitions, perPartition);
    const ledger = new OwnershipLedger();
    const steady = new Consumer(broker, memberOptions('silent-group'));
    // A static member never sends LeaveGroup; with autoCommit off it commits nothing either:
    // disconnecting it is a process that vanished mid-work.
    const silent = new Consumer(broker, memberOptions('silent-group', { groupInstanceId: 'silent-1', sessionTimeout: 500, maxBytesPerPartition: 4096 }));
    ledger.watch('steady', steady);
    ledger.watch('silent', silent);
    for (const consumer of [steady, silent]) await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let silentProcessed = 0;
    await Promise.all([
      steady.run({ eachMessage: ({ message }) => counter.record(message.value!) }),
      silent.run({
        autoCommit: false,
        eachMessage: ({ message }) => {
          counter.record(message.value!);
          silentProcessed++;
        },
      }),
    ]);
    await eventually(() => silentProcessed >= 100);
    await silent.disconnect();
    ledger.forget('silent');
    // The session times out, the group rebalances and the steady member takes everything over,
    // starting where the silent one last committed: nowhere, so from the beginning.
    await eventually(() => steady.assignment()[0]?.partitions.length === partitions);
    await eventually(() => counter.missing() === 0);
    expect(ledger.violations).toEqual([]);
    // Everything the silent member processed it never committed, so the steady one read it again.
    const reread = counter.counts.reduce((sum, counts) => sum + counts.filter((c) => c >= 2).length, 0);
    expect(reread).toBeGreaterThanOrEqual(silentProcessed);
    await steady.disconnect();
  }, 60_000);

  it('a broker closed and reopened resumes every group from its committed offsets', async () => {
    const dataDir = tempDir();
    let broker = await Broker.open({ dataDir, ...BROKER_OPTIONS });
    await broker.createTopic('restart', { partitions: 2 });
    await produceNumbered(broker, 'restart', 2, 1_000);
    const progress: Record<string, number> = {};
    for (const [groupId, count] of [['restart-a', 300], ['restart-b', 1_200]] as const) {
      const consumer = new Consumer(broker, memberOptions(groupId));
      await consumer.subscribe({ topics: ['restart'], fromBeginning: true });
      let seen = 0;
      await consumer.run({ eachMessage: () => void seen++, autoCommitThreshold: 1 });
      await eventually(() => seen >= count);
      await consumer.disconnect();
      const committed = await broker.groups.fetchOffsets({ groupId, partitions: null });
      progress[groupId] = committed.reduce((sum, entry) => sum + entry.offset, 0);
    }
    await broker.close();

    broker = await openBroker(dataDir);
    for (const groupId of ['restart-a', 'restart-b']) {
      const committed = await broker.groups.fetchOffsets({ groupId, partitions: null });
      expect(committed.reduce((sum, entry) => sum + entry.offset, 0)).toBe(progress[groupId]);
      const counter = new DeliveryCounter(2, 1_000);
      const consumer = new Consumer(broker, memberOptions(groupId));
      await consumer.subscribe({ topics: ['restart'], fromBeginning: true });
      await consumer.run({ eachMessage: ({ message }) => counter.record(message.value!) });
      await eventually(() => counter.delivered >= 2_000 - progress[groupId]);
      await consumer.disconnect();
      // Exactly the records after the committed offsets, each once.
      expect(counter.delivered).toBe(2_000 - progress[groupId]);
      for (const { partition, offset } of committed) {
        expect(counter.counts[partition].slice(0, offset).every((c) => c === 0)).toBe(true);
        expect(counter.counts[partition].slice(offset).every((c) => c === 1)).toBe(true);
      }
    }
  }, 60_000);

  it('with cooperative-sticky a member keeps consuming its partitions while a rebalance waits for a slow member', async () => {
    const broker = await openBroker(tempDir());
    const topic = 'coop-live';
    await broker.createTopic(topic, { partitions: 4 });
    const groupId = 'coop-live-group';
    // A session far shorter than the slow member's stall: heartbeats must go on while its handler is busy.
    const options = memberOptions(groupId, { assignors: ['cooperative-sticky'], rebalanceTimeout: 30_000, sessionTimeout: 300 });
    const fast = new Consumer(broker, options);
    const slow = new Consumer(broker, options);
    const fastSeen: string[] = [];
    let fastMemberId: string | undefined;
    fast.on(fast.events.GROUP_JOIN, (event: { payload: { memberId: string } }) => (fastMemberId = event.payload.memberId));
    // Who sends a JoinGroup while the group is rebalancing: the sign that a member learnt of the
    // rebalance. The coordinator's own joinGroup does the work; this only watches its calls.
    const coordinator = broker.groups;
    const joinGroup = coordinator.joinGroup.bind(coordinator);
    const rejoined = new Set<string>();
    coordinator.joinGroup = (request) => {
      if (coordinator.describeGroup(request.groupId).state === 'PreparingRebalance') rejoined.add(request.memberId);
      return joinGroup(request);
    };
    let slowBlocked = false;
    let releaseSlow!: () => void;
    const gate = new Promise<void>((resolve) => (releaseSlow = resolve));
    for (const consumer of [fast, slow]) await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await Promise.all([
      fast.run({ eachMessage: ({ message }) => void fastSeen.push(message.value!.toString()) }),
      slow.run({
        eachMessage: async () => {
          slowBlocked = true;
          await gate;
        },
      }),
    ]);
    await eventually(() => fast.assignment()[0]?.partitions.length === 2 && slow.assignment()[0]?.partitions.length === 2);
    const fastPartitions = fast.assignment()[0].partitions;
    const slowPartitions = slow.assignment()[0].partitions;
    // The slow member gets stuck in its handler: it cannot rejoin until released.
    const producer = new Producer(broker);
    await producer.send({ topic, messages: [{ value: 'stuck', partition: slowPartitions[0] }] });
    await eventually(() => slowBlocked);
    // A third member joins: the group waits for everyone to rejoin, the slow one included.
    const third = new Consumer(broker, options);
    await third.subscribe({ topics: [topic], fromBeginning: true });
    const thirdJoined = third.run({ eachMessage: () => undefined });
    await eventually(() => broker.groups.describeGroup(groupId).state === 'PreparingRebalance');
    // The fast member has learnt of the rebalance and rejoined (an eager member would now have
    // given up everything and sit in JoinGroup, consuming nothing).
    await eventually(() => fastMemberId !== undefined && rejoined.has(fastMemberId), { what: 'the fast member rejoining' });
    // Meanwhile the cooperative member goes on with what it owns.
    await producer.send({ topic, messages: fastPartitions.map((partition) => ({ value: `during-${partition}`, partition })) });
    await eventually(() => fastSeen.length === fastPartitions.length);
    expect(broker.groups.describeGroup(groupId).state).toBe('PreparingRebalance');
    expect(fastSeen.sort()).toEqual(fastPartitions.map((partition) => `during-${partition}`).sort());
    releaseSlow();
    await thirdJoined;
    // Nobody was dropped: the slow member stayed in the group through its stall.
    await eventually(() => broker.groups.describeGroup(groupId).state === 'Stable' && slow.assignment().length > 0 && third.assignment().length > 0);
    expect(broker.groups.describeGroup(groupId).members).toHaveLength(3);
    await producer.close();
    await Promise.all([fast.disconnect(), slow.disconnect(), third.disconnect()]);
  }, 60_000);

  it('cooperative-sticky revokes only the partitions that move; eager revokes everything', async () => {
    const broker = await openBroker(tempDir());
    await broker.createTopic('coop', { partitions: 6 });
    await produceNumbered(broker, 'coop', 6, 2_000);
    const revokedBy = async (assignors: string[]): Promise<{ first: number[][]; duplicatesOnKept: number }> => {
      const groupId = `coop-${assignors.join('-')}`;
      const counter = new DeliveryCounter(6, 2_000);
      const first = new Consumer(broker, memberOptions(groupId, { assignors, maxBytesPerPartition: 2048 }));
      const revocations: number[][] = [];
      first.on(first.events.REBALANCING, (event: { payload: { revoked: TopicPartitions[] } }) => {
        revocations.push(event.payload.revoked.flatMap((entry) => entry.partitions));
      });
      await first.subscribe({ topics: ['coop'], fromBeginning: true });
      await first.run({ eachMessage: ({ message }) => counter.record(message.value!) });
      await eventually(() => counter.delivered >= 1_000);
      const second = new Consumer(broker, memberOptions(groupId, { assignors }));
      await second.subscribe({ topics: ['coop'], fromBeginning: true });
      await second.run({ eachMessage: ({ message }) => counter.record(message.value!) });
      await eventually(() => counter.missing() === 0 && first.assignment().length > 0 && second.assignment().length > 0);
      const kept = first.assignment()[0].partitions;
      const duplicatesOnKept = kept.reduce((sum, p) => sum + counter.counts[p].filter((c) => c > 1).length, 0);
      await Promise.all([first.disconnect(), second.disconnect()]);
      return { first: revocations, duplicatesOnKept };
    };
    const cooperative = await revokedBy(['cooperative-sticky']);
    // One revocation, of the three partitions that moved to the new member.
    expect(cooperative.first.map((partitions) => partitions.length)).toEqual([3]);
    expect(cooperative.duplicatesOnKept).toBe(0);
    const eager = await revokedBy(['range', 'cooperative-sticky']);
    // Eager: everything is given up before rejoining, then half comes back.
    expect(eager.first[0]).toEqual([0, 1, 2, 3, 4, 5]);
  }, 60_000);
});
