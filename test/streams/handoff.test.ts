/**
 * A task changing owner under exactly_once_v2 counts nothing twice: the new owner starts from the
 * offsets its previous owner committed last, waiting out a commit still in flight, with the state
 * that commit wrote; and a previous owner removed from the group cannot commit its stale work
 * afterwards (its offsets carry its generation, which the group refuses).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeAssignment } from '../../src/broker/consumer-protocol.js';
import { KafkaStreams, Serdes, StreamsBuilder, type Topology } from '../../src/streams/index.js';
import type { Sluice } from '../../src/sluice.js';
import { eventually } from '../support/eventually.js';
import { createTopic, openHarness, produce, readAll, type Harness } from './support.js';

const APP = 'handoff-app';

function countTopology(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream('words', { keySerde: Serdes.String(), valueSerde: Serdes.String() })
    .groupByKey()
    .count({ storeName: 'counts' })
    .toStream()
    .to('counts-out', { keySerde: Serdes.String(), valueSerde: Serdes.Long() });
  return builder.build();
}

async function committedInput(sluice: Sluice): Promise<number> {
  const [words] = await sluice.admin().fetchOffsets({ groupId: APP, topics: ['words'] });
  return words.partitions.reduce((sum, { offset }) => sum + Math.max(0, offset), 0);
}

/** The counts of `key` the output holds, in order: each count 1..n once when nothing was counted twice. */
async function outputCounts(sluice: Sluice, key: string): Promise<number[]> {
  const long = Serdes.Long();
  return (await readAll(sluice, 'counts-out')).filter((record) => record.key?.toString() === key).map((record) => long.deserialize(record.value!));
}

async function groupMembers(sluice: Sluice): Promise<{ memberId: string; partitions: number }[]> {
  const { groups } = await sluice.admin().describeGroups([APP]);
  return groups[0].members.map(({ memberId, memberAssignment }) => ({
    memberId,
    partitions: memberAssignment.length === 0 ? 0 : decodeAssignment(memberAssignment).assignedPartitions.reduce((sum, { partitions }) => sum + partitions.length, 0),
  }));
}

describe('task hand-off under exactly_once_v2', () => {
  let harness: Harness | null = null;
  const running: KafkaStreams[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
    for (const streams of running.splice(0)) await streams.close();
    await harness?.close();
    harness = null;
  });

  const start = async (name: string, commitIntervalMs?: number): Promise<KafkaStreams> => {
    const streams = new KafkaStreams(countTopology(), {
      applicationId: APP,
      sluice: harness!.sluice,
      stateDir: `${harness!.stateDir}/${name}`,
      processingGuarantee: 'exactly_once_v2',
      // Every update of a count checked: no record cache, as Kafka's own tests run.
      statestoreCacheMaxBytes: 0,
      ...(commitIntervalMs === undefined ? {} : { commitIntervalMs }),
    });
    running.push(streams);
    await streams.start();
    return streams;
  };

  it("waits for the previous owner's commit still in flight, then starts from its offsets with its state", async () => {
    harness = await openHarness('streams-handoff-stable');
    const { sluice } = harness;
    await createTopic(sluice, 'words', 1);
    await createTopic(sluice, 'counts-out', 1);
    await createTopic(sluice, `${APP}-counts-changelog`, 1);
    await produce(sluice, 'words', Array.from({ length: 10 }, () => ({ key: 'a', value: 'x' })));
    // The previous owner's commit, caught between its offsets and its end: a stream thread's
    // transaction (changelog, output and the consumed offsets), left open.
    const long = Serdes.Long();
    const previous = sluice.producer({ transactionalId: `${APP}-previous-StreamThread-1`, idempotent: true, maxInFlightRequests: 1, acks: -1 });
    cleanups.push(() => previous.disconnect());
    const inFlight = await previous.transaction();
    await inFlight.send({ topic: `${APP}-counts-changelog`, messages: [{ key: 'a', value: long.serialize(10), partition: 0 }] });
    await inFlight.send({ topic: 'counts-out', messages: Array.from({ length: 10 }, (_, i) => ({ key: 'a', value: long.serialize(i + 1), partition: 0 })) });
    await inFlight.sendOffsets({ consumerGroupId: APP, topics: [{ topic: 'words', partitions: [{ partition: 0, offset: 10 }] }] });

    const streams = await start('next');
    await eventually(async () => (await groupMembers(sluice)).some(({ partitions }) => partitions === 1), { what: 'the task assigned to the new owner' });
    await inFlight.commit();
    await produce(sluice, 'words', Array.from({ length: 5 }, () => ({ key: 'a', value: 'x' })));
    await eventually(async () => (await committedInput(sluice)) === 15, { what: 'all 15 words committed' });
    expect(streams.store<string, number>('counts').get('a')).toBe(15);
    await streams.close();
    expect(await outputCounts(sluice, 'a')).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });

  it('refuses the stale commit of an owner removed from the group, which counted the same words', async () => {
    harness = await openHarness('streams-handoff-zombie');
    const { sluice } = harness;
    await createTopic(sluice, 'words', 1);
    await createTopic(sluice, 'counts-out', 1);
    // Commits only when it closes: its work stays uncommitted while it is taken away.
    const zombie = await start('zombie', 3_600_000);
    await produce(sluice, 'words', Array.from({ length: 10 }, () => ({ key: 'a', value: 'x' })));
    await eventually(() => zombie.state === 'RUNNING' && zombie.store<string, number>('counts').get('a') === 10, { what: 'the first owner counted the words' });
    // An operator removes it from the group (LeaveGroup naming its member, as Kafka's
    // removeMembersFromConsumerGroup); the group hands its task to the next instance.
    const [removed] = await groupMembers(sluice);
    sluice.broker.groups.leaveGroup({ groupId: APP, members: [{ memberId: removed.memberId }] });
    const next = await start('next');
    await eventually(async () => (await committedInput(sluice)) === 10 || (await groupMembers(sluice)).length === 2, {
      what: 'the next owner committed the words, or the removed one rejoined',
    });
    // Its close commits what it still holds, unless the group refuses it.
    await zombie.close();
    await eventually(async () => (await committedInput(sluice)) === 10, { what: 'all 10 words committed' });
    await next.close();
    expect(await outputCounts(sluice, 'a')).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });
});
