import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  assignorByName,
  builtInAssignors,
  computeGroupAssignment,
  type AssignorMember,
  type GroupAssignment,
  type PartitionAssignor,
} from '../../src/broker/assignors/index.js';
import { cooperativeStickyAssignor } from '../../src/broker/assignors/cooperative-sticky.js';
import { rangeAssignor } from '../../src/broker/assignors/range.js';
import { roundRobinAssignor } from '../../src/broker/assignors/round-robin.js';
import {
  decodeAssignment,
  encodeSubscription,
  type Subscription,
  type TopicPartitions,
} from '../../src/broker/consumer-protocol.js';
import { InvalidRequestError } from '../../src/errors.js';
import { seededRandom } from '../support/prng.js';

const require = createRequire(import.meta.url);
const kafkajsRoundRobin = require('kafkajs/src/consumer/assigners/roundRobinAssigner/index.js') as (deps: {
  cluster: { findTopicPartitionMetadata(topic: string): { partitionId: number }[] };
}) => {
  assign(group: { members: { memberId: string }[]; topics: string[] }): Promise<{ memberId: string; memberAssignment: Buffer }[]>;
};

function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function subscription(topics: string[], extra: Partial<Subscription> = {}): Subscription {
  return { version: 3, topics, userData: null, ownedPartitions: [], generationId: -1, rackId: null, ...extra };
}

function member(memberId: string, topics: string[], extra: Partial<Subscription> = {}, groupInstanceId: string | null = null): AssignorMember {
  return { memberId, groupInstanceId, subscription: subscription(topics, extra) };
}

/** "topic:partition" strings per member, for compact expectations. */
function flat(assignment: GroupAssignment): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [memberId, list] of assignment) out[memberId] = list.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}:${p}`));
  return out;
}

function counts(partitions: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(partitions));
}

/** Every partition of every subscribed topic assigned exactly once, only to a subscriber. */
function expectCompleteAndExclusive(members: readonly AssignorMember[], partitionCounts: Map<string, number>, assignment: GroupAssignment): void {
  const owner = new Map<string, string>();
  for (const m of members) {
    for (const { topic, partitions } of assignment.get(m.memberId)!) {
      expect(m.subscription.topics).toContain(topic);
      for (const p of partitions) {
        const key = `${topic}:${p}`;
        expect(owner.has(key), `${key} assigned twice`).toBe(false);
        owner.set(key, m.memberId);
      }
    }
  }
  const subscribed = new Set(members.flatMap((m) => m.subscription.topics).filter((t) => partitionCounts.has(t)));
  let expected = 0;
  for (const topic of subscribed) expected += partitionCounts.get(topic)!;
  expect(owner.size).toBe(expected);
}

function total(list: readonly TopicPartitions[]): number {
  return list.reduce((sum, { partitions }) => sum + partitions.length, 0);
}

describe('range', () => {
  it('splits each topic into contiguous ranges, the first members taking the extra (Kafka javadoc example)', () => {
    const assignment = rangeAssignor.assign(
      [member('C1', ['t0', 't1']), member('C0', ['t0', 't1'])],
      counts({ t0: 3, t1: 3 }),
    );
    expect(flat(assignment)).toEqual({ C1: ['t0:2', 't1:2'], C0: ['t0:0', 't0:1', 't1:0', 't1:1'] });
  });

  it('orders static members first by instance id, then dynamic ones by member id', () => {
    const assignment = rangeAssignor.assign(
      [member('a', ['t']), member('z', ['t'], {}, 'instance-2'), member('b', ['t'], {}, 'instance-1')],
      counts({ t: 4 }),
    );
    expect(flat(assignment)).toEqual({ b: ['t:0', 't:1'], z: ['t:2'], a: ['t:3'] });
  });

  it('gives every member n/m of a topic and the first n%m one more, over random groups', () => {
    const random = seededRandom(11);
    for (let round = 0; round < 200; round++) {
      const topics = Array.from({ length: randomInt(random, 1, 4) }, (_, i) => `topic-${i}`);
      const partitionCounts = new Map(topics.map((t) => [t, randomInt(random, 1, 20)]));
      const members = Array.from({ length: randomInt(random, 1, 8) }, (_, i) =>
        member(`m-${randomInt(random, 0, 1e6)}-${i}`, topics.filter(() => random() < 0.7)),
      );
      const assignment = rangeAssignor.assign(members, partitionCounts);
      expectCompleteAndExclusive(members, partitionCounts, assignment);
      for (const topic of topics) {
        const subscribers = members.filter((m) => m.subscription.topics.includes(topic)).map((m) => m.memberId).sort();
        const n = partitionCounts.get(topic)!;
        subscribers.forEach((id, i) => {
          const got = assignment.get(id)!.find((e) => e.topic === topic)?.partitions ?? [];
          const expectedCount = Math.floor(n / subscribers.length) + (i < n % subscribers.length ? 1 : 0);
          expect(got.length).toBe(expectedCount);
          // Contiguous: the range starts after the ranges of the members before it.
          if (got.length > 0) expect(got).toEqual(Array.from({ length: got.length }, (_, k) => got[0] + k));
        });
      }
      expect(flat(rangeAssignor.assign(shuffled(members, random), partitionCounts))).toEqual(flat(assignment));
    }
  });
});

describe('roundrobin', () => {
  it('deals partitions in turn, skipping members not subscribed (Kafka javadoc example)', () => {
    const assignment = roundRobinAssignor.assign(
      [member('C0', ['t0']), member('C1', ['t0', 't1']), member('C2', ['t0', 't1', 't2'])],
      counts({ t0: 1, t1: 2, t2: 3 }),
    );
    expect(flat(assignment)).toEqual({ C0: ['t0:0'], C1: ['t1:0'], C2: ['t1:1', 't2:0', 't2:1', 't2:2'] });
  });

  it('matches kafkajs RoundRobinAssigner when every member subscribes to the same topics', async () => {
    const random = seededRandom(5);
    for (let round = 0; round < 100; round++) {
      const topics = Array.from({ length: randomInt(random, 1, 5) }, (_, i) => `t${i}`);
      const partitionCounts = new Map(topics.map((t) => [t, randomInt(random, 1, 16)]));
      const memberIds = Array.from({ length: randomInt(random, 1, 7) }, () => `consumer-${randomInt(random, 0, 1e9)}`);
      const ours = roundRobinAssignor.assign(
        memberIds.map((id) => member(id, shuffled(topics, random))),
        partitionCounts,
      );
      const cluster = {
        findTopicPartitionMetadata: (topic: string) =>
          Array.from({ length: partitionCounts.get(topic)! }, (_, partitionId) => ({ partitionId })),
      };
      const theirs = await kafkajsRoundRobin({ cluster }).assign({ members: memberIds.map((memberId) => ({ memberId })), topics });
      for (const id of memberIds) {
        const fromKafkajs = theirs.find((entry) => entry.memberId === id);
        const expected = fromKafkajs === undefined ? [] : decodeAssignment(fromKafkajs.memberAssignment).assignedPartitions;
        expect(ours.get(id)).toEqual(expected);
      }
      const sizes = memberIds.map((id) => total(ours.get(id)!));
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('covers every partition exactly once and is deterministic, over random subscriptions', () => {
    const random = seededRandom(23);
    for (let round = 0; round < 200; round++) {
      const topics = Array.from({ length: randomInt(random, 1, 4) }, (_, i) => `topic-${i}`);
      const partitionCounts = new Map(topics.map((t) => [t, randomInt(random, 1, 12)]));
      const members = Array.from({ length: randomInt(random, 1, 6) }, (_, i) =>
        member(`m${i}`, topics.filter(() => random() < 0.6), {}, random() < 0.3 ? `static-${i}` : null),
      );
      const assignment = roundRobinAssignor.assign(members, partitionCounts);
      expectCompleteAndExclusive(members, partitionCounts, assignment);
      expect(flat(roundRobinAssignor.assign(shuffled(members, random), partitionCounts))).toEqual(flat(assignment));
    }
  });
});

describe('cooperative-sticky', () => {
  const assign = (members: AssignorMember[], partitionCounts: Map<string, number>) =>
    cooperativeStickyAssignor.assign(members, partitionCounts);

  it('leaves an already balanced assignment untouched', () => {
    const owned = (partitions: number[]) => ({ ownedPartitions: [{ topic: 't', partitions }], generationId: 4 });
    const assignment = assign(
      [member('a', ['t'], owned([5, 1])), member('b', ['t'], owned([0, 3])), member('c', ['t'], owned([2, 4]))],
      counts({ t: 6 }),
    );
    expect(flat(assignment)).toEqual({ a: ['t:1', 't:5'], b: ['t:0', 't:3'], c: ['t:2', 't:4'] });
  });

  it('withholds a partition that moves, and hands it over in the next generation', () => {
    // a owns all four; b joins. Two of a's partitions must move: first they are revoked only.
    const first = assign(
      [member('a', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0, 1, 2, 3] }], generationId: 1 }), member('b', ['t'])],
      counts({ t: 4 }),
    );
    expect(flat(first)).toEqual({ a: ['t:0', 't:1'], b: [] });
    // a revoked 2 and 3 and rejoined; nobody owns them now, so b gets them.
    const second = assign(
      [
        member('a', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0, 1] }], generationId: 2 }),
        member('b', ['t'], { generationId: 2 }),
      ],
      counts({ t: 4 }),
    );
    expect(flat(second)).toEqual({ a: ['t:0', 't:1'], b: ['t:2', 't:3'] });
  });

  it('resolves claims by generation: the newest wins, a tie keeps the partition from everyone', () => {
    const claim = (generationId: number) => ({ ownedPartitions: [{ topic: 't', partitions: [0] }], generationId });
    const newer = assign([member('a', ['t'], claim(3)), member('b', ['t'], claim(5))], counts({ t: 1 }));
    expect(flat(newer)).toEqual({ a: [], b: ['t:0'] });
    const tie = assign([member('a', ['t'], claim(5)), member('b', ['t'], claim(5)), member('c', ['t'])], counts({ t: 1 }));
    expect(flat(tie)).toEqual({ a: [], b: [], c: [] });
  });

  it('reads the generation from userData for v0/v1 subscriptions (the Java assignor writes it there)', () => {
    const generationBytes = (generation: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(generation);
      return b;
    };
    const v1 = (generation: number) => ({
      version: 1,
      userData: generationBytes(generation),
      ownedPartitions: [{ topic: 't', partitions: [0] }],
    });
    expect(flat(assign([member('a', ['t'], v1(8)), member('b', ['t'], v1(2))], counts({ t: 1 })))).toEqual({ a: ['t:0'], b: [] });
  });

  it('drops claims on partitions that no longer exist, and withholds a dropped topic until it is revoked', () => {
    const partitionCounts = counts({ t: 2, u: 1 });
    const first = assign(
      [
        member('a', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0, 7] }, { topic: 'u', partitions: [0] }], generationId: 1 }),
        member('b', ['t', 'u']),
      ],
      partitionCounts,
    );
    // t:7 does not exist. a no longer subscribes to u, but still owns u:0: b gets it only after a revokes it.
    expect(flat(first)).toEqual({ a: ['t:0', 't:1'], b: [] });
    const second = assign(
      [
        member('a', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0, 1] }], generationId: 2 }),
        member('b', ['t', 'u'], { generationId: 2 }),
      ],
      partitionCounts,
    );
    expect(flat(second)).toEqual({ a: ['t:0', 't:1'], b: ['u:0'] });
  });

  /**
   * Runs a group through random membership, subscription and partition-count changes, with every
   * member applying its assignment as a cooperative consumer does (revoke what is no longer
   * assigned, rejoin if anything was revoked), and checks at every step that no partition is ever
   * owned by two members.
   */
  it('never lets two members own a partition across revoke-and-assign sequences (property)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(seed);
      const equalSubscriptions = seed % 2 === 0;
      const topics = Array.from({ length: randomInt(random, 1, 3) }, (_, i) => `topic-${i}`);
      const partitionCounts = new Map(topics.map((t) => [t, randomInt(random, 1, 10)]));
      type State = { topics: string[]; owned: Set<string>; generation: number; staticId: string | null };
      const group = new Map<string, State>();
      let generation = 0;
      let nextId = 0;
      const pickTopics = () => (equalSubscriptions ? topics : topics.filter(() => random() < 0.6));

      const rebalanceUntilStable = (checkStickiness: boolean): void => {
        for (let round = 1; ; round++) {
          expect(round, `seed ${seed}: no convergence`).toBeLessThanOrEqual(6);
          generation++;
          const members = [...group].map(([id, s]) =>
            member(
              id,
              s.topics,
              { ownedPartitions: toList(s.owned), generationId: s.generation },
              s.staticId,
            ),
          );
          const assignment = assign(shuffled(members, random), partitionCounts);
          expect(flat(assign(members, partitionCounts))).toEqual(flat(assignment));
          const totalPartitions = [...new Set(members.flatMap((m) => m.subscription.topics))].reduce(
            (sum, t) => sum + partitionCounts.get(t)!,
            0,
          );
          const minQuota = group.size === 0 ? 0 : Math.floor(totalPartitions / group.size);
          // Safety: a partition handed to a member is owned by no other member right now.
          for (const [id, list] of assignment) {
            for (const key of keys(list)) {
              for (const [otherId, other] of group) {
                if (otherId !== id) expect(other.owned.has(key), `seed ${seed}: ${key} given to ${id} while ${otherId} owns it`).toBe(false);
              }
            }
          }
          let revokedSomething = false;
          for (const [id, state] of group) {
            const assigned = new Set(keys(assignment.get(id)!));
            const validOwned = [...state.owned].filter((key) => {
              const [topic, p] = key.split(':');
              return state.topics.includes(topic) && Number(p) < partitionCounts.get(topic)!;
            });
            if (checkStickiness && round === 1 && equalSubscriptions) {
              const retained = validOwned.filter((key) => assigned.has(key)).length;
              expect(retained, `seed ${seed}: ${id} kept too little`).toBeGreaterThanOrEqual(Math.min(validOwned.length, minQuota));
            }
            if ([...state.owned].some((key) => !assigned.has(key))) revokedSomething = true;
            state.owned = assigned;
            state.generation = generation;
          }
          // Invariant after applying: ownership is exclusive.
          const seen = new Set<string>();
          for (const state of group.values()) {
            for (const key of state.owned) {
              expect(seen.has(key), `seed ${seed}: ${key} owned twice`).toBe(false);
              seen.add(key);
            }
          }
          if (!revokedSomething) {
            const members2 = [...group].map(([id, s]) => member(id, s.topics));
            const final = new Map([...group].map(([id, s]) => [id, toList(s.owned)]));
            expectCompleteAndExclusive(members2, partitionCounts, final);
            expectBalanced(members2, partitionCounts, final);
            return;
          }
        }
      };

      for (let step = 0; step < 25; step++) {
        const event = random();
        if (group.size === 0 || event < 0.35) {
          group.set(`member-${nextId++}`, {
            topics: pickTopics(),
            owned: new Set(),
            generation: -1,
            staticId: random() < 0.3 ? `instance-${nextId}` : null,
          });
        } else if (event < 0.6) {
          const ids = [...group.keys()];
          group.delete(ids[randomInt(random, 0, ids.length - 1)]);
        } else if (event < 0.75 && !equalSubscriptions) {
          const ids = [...group.keys()];
          const state = group.get(ids[randomInt(random, 0, ids.length - 1)])!;
          state.topics = pickTopics();
          // A cooperative consumer revokes what it no longer subscribes to before rejoining.
          state.owned = new Set([...state.owned].filter((key) => state.topics.includes(key.split(':')[0])));
        } else if (event < 0.85) {
          const topic = topics[randomInt(random, 0, topics.length - 1)];
          partitionCounts.set(topic, partitionCounts.get(topic)! + randomInt(random, 1, 3));
        }
        rebalanceUntilStable(true);
      }
    }
  });
});

function keys(list: readonly TopicPartitions[]): string[] {
  return list.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}:${p}`));
}

function toList(owned: ReadonlySet<string>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const key of owned) {
    const [topic, p] = key.split(':');
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), Number(p)]);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

/** No partition could move to a member subscribed to its topic that holds two fewer. */
function expectBalanced(members: readonly AssignorMember[], partitionCounts: Map<string, number>, assignment: GroupAssignment): void {
  for (const giver of members) {
    const giverCount = total(assignment.get(giver.memberId)!);
    for (const { topic } of assignment.get(giver.memberId)!) {
      for (const taker of members) {
        if (!taker.subscription.topics.includes(topic) || !partitionCounts.has(topic)) continue;
        expect(giverCount - total(assignment.get(taker.memberId)!), `${giver.memberId} -> ${taker.memberId}`).toBeLessThanOrEqual(1);
      }
    }
  }
}

describe('registry and leader step', () => {
  it('finds the built-in assignors by their Kafka names', () => {
    expect(builtInAssignors().map((a) => a.name)).toEqual(['range', 'roundrobin', 'cooperative-sticky']);
    expect(assignorByName('cooperative-sticky').rebalanceProtocols).toEqual(['COOPERATIVE', 'EAGER']);
    expect(() => assignorByName('sticky')).toThrow(/available: range, roundrobin, cooperative-sticky/);
  });

  it('decodes subscriptions, assigns and encodes every member assignment for SyncGroup', () => {
    const assignor: PartitionAssignor = assignorByName('range');
    const result = computeGroupAssignment(
      assignor,
      [
        { memberId: 'm2', groupInstanceId: null, metadata: encodeSubscription({ topics: ['t'] }, 0) },
        { memberId: 'm1', groupInstanceId: null, metadata: encodeSubscription({ topics: ['t', 'absent'] }) },
      ],
      counts({ t: 3 }),
      1,
    );
    expect(result.map((r) => r.memberId)).toEqual(['m2', 'm1']);
    expect(decodeAssignment(result[0].assignment)).toEqual({ version: 1, assignedPartitions: [{ topic: 't', partitions: [2] }], userData: null });
    expect(decodeAssignment(result[1].assignment).assignedPartitions).toEqual([{ topic: 't', partitions: [0, 1] }]);
  });

  it('rejects inputs no group can produce', () => {
    for (const assignor of builtInAssignors()) {
      expect(() => assignor.assign([member('a', ['t']), member('a', ['t'])], counts({ t: 1 }))).toThrow(InvalidRequestError);
      expect(() => assignor.assign([member('a', ['t'])], counts({ t: 0 }))).toThrow(/at least 1 partition/);
      const noOwned = { memberId: 'a', groupInstanceId: null, subscription: { topics: ['t'] } as Subscription };
      expect(() => assignor.assign([noOwned], counts({ t: 1 }))).toThrow(/ownedPartitions/);
      expect(assignor.assign([], counts({ t: 3 })).size).toBe(0);
    }
  });
});
