/**
 * What the embedded consumer reads (Kafka's SubscriptionState): the subscribed topic names and
 * patterns with the reset policy each brings, the assigned partitions with their positions,
 * processed and committed offsets, seeks given before a partition was assigned, and pauses, which
 * outlive the assignment so a partition paused by topic stays paused when it comes back.
 */
import type { TopicPartitions } from '../broker/consumer-protocol.js';
import { InvalidConfigError } from '../errors.js';
import type { AutoOffsetReset } from './consumer-types.js';

/** One assigned partition: where it is read from and what was processed and committed. */
export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to fetch; -1 until found (committed offset or reset policy). */
  position = -1;
  /** Offset after the last message processed; -1 when nothing was processed since assignment. */
  processed = -1;
  /** Last offset this consumer committed (or found committed) for the partition, -1 if none. */
  committed = -1;
  paused = false;
  /** Bumped by seek and revocation: a batch fetched under an older epoch is stale. */
  epoch = 0;
  highWatermark = -1;
  assigned = true;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }
}

export class SubscriptionState {
  /** Subscribed topic names and patterns, with the reset policy each brings. */
  private readonly subscriptions: { pattern: string | RegExp; reset: AutoOffsetReset }[] = [];
  /** Partitions assigned (by the group or by assign()), by topic then partition. */
  private readonly states = new Map<string, Map<number, PartitionState>>();
  /** Offsets to start from, given by seek() before the partition was assigned. */
  private readonly pendingSeeks = new Map<string, Map<number, number>>();
  private readonly pausedTopics = new Set<string>();
  private readonly pausedPartitions = new Map<string, Set<number>>();

  /** `defaultReset`: the policy of a topic no subscription names (autoOffsetReset). */
  constructor(private readonly defaultReset: AutoOffsetReset) {}

  get hasSubscriptions(): boolean {
    return this.subscriptions.length > 0;
  }

  subscribe(pattern: string | RegExp, reset: AutoOffsetReset): void {
    this.subscriptions.push({ pattern, reset });
  }

  /** The reset policy of the first subscription naming or matching the topic. */
  resetPolicyOf(topic: string): AutoOffsetReset {
    for (const { pattern, reset } of this.subscriptions) {
      if (typeof pattern === 'string' ? pattern === topic : matches(pattern, topic)) return reset;
    }
    return this.defaultReset;
  }

  /** The subscribed topics, sorted: the names, and those of `allTopics()` a pattern matches (listed only if needed). */
  subscribedTopics(allTopics: () => readonly string[]): string[] {
    const topics = new Set<string>();
    let all: readonly string[] | null = null;
    for (const { pattern } of this.subscriptions) {
      if (typeof pattern === 'string') {
        topics.add(pattern);
      } else {
        all ??= allTopics();
        for (const name of all) if (matches(pattern, name)) topics.add(name);
      }
    }
    return [...topics].sort();
  }

  get(topic: string, partition: number): PartitionState | undefined {
    return this.states.get(topic)?.get(partition);
  }

  /** Every assigned partition. */
  all(): PartitionState[] {
    const out: PartitionState[] = [];
    for (const perTopic of this.states.values()) for (const state of perTopic.values()) out.push(state);
    return out;
  }

  /** Assigned, unpaused partitions with a position. */
  fetchable(): PartitionState[] {
    const out: PartitionState[] = [];
    for (const perTopic of this.states.values()) {
      for (const state of perTopic.values()) if (state.assigned && !state.paused && state.position >= 0) out.push(state);
    }
    return out;
  }

  /** Partitions that have no position yet. */
  unresolved(): PartitionState[] {
    const out: PartitionState[] = [];
    for (const perTopic of this.states.values()) {
      for (const state of perTopic.values()) if (state.position < 0) out.push(state);
    }
    return out;
  }

  /** Assigns the partition (or returns it, if assigned), paused if its topic or itself was paused. */
  add(topic: string, partition: number): PartitionState {
    let perTopic = this.states.get(topic);
    if (perTopic === undefined) this.states.set(topic, (perTopic = new Map()));
    const existing = perTopic.get(partition);
    if (existing !== undefined) return existing;
    const state = new PartitionState(topic, partition);
    state.paused = this.pausedTopics.has(topic) || (this.pausedPartitions.get(topic)?.has(partition) ?? false);
    perTopic.set(partition, state);
    return state;
  }

  remove(state: PartitionState): void {
    drop(state);
    const perTopic = this.states.get(state.topic);
    perTopic?.delete(state.partition);
    if (perTopic !== undefined && perTopic.size === 0) this.states.delete(state.topic);
  }

  /** Unassigns every partition: fetches and handlers still holding one see it is gone. */
  clear(): void {
    for (const perTopic of this.states.values()) for (const state of perTopic.values()) drop(state);
    this.states.clear();
  }

  /** Remembers a seek of a partition not assigned yet; it applies when the partition comes. */
  seekLater(topic: string, partition: number, offset: number): void {
    let perTopic = this.pendingSeeks.get(topic);
    if (perTopic === undefined) this.pendingSeeks.set(topic, (perTopic = new Map()));
    perTopic.set(partition, offset);
  }

  /** The seek remembered for the partition, forgotten as it is returned. */
  takePendingSeek(topic: string, partition: number): number | undefined {
    const seek = this.pendingSeeks.get(topic)?.get(partition);
    if (seek !== undefined) this.pendingSeeks.get(topic)!.delete(partition);
    return seek;
  }

  /** pause() / resume(): whole topics (no `partitions`) or the partitions listed. */
  setPaused(topics: { topic: string; partitions?: number[] }[], paused: boolean): void {
    if (!Array.isArray(topics)) throw new InvalidConfigError('pause / resume take an array of { topic, partitions? }');
    for (const [i, entry] of topics.entries()) {
      if (entry === null || typeof entry !== 'object' || typeof entry.topic !== 'string') {
        throw new InvalidConfigError(`pause / resume entry ${i} must be { topic, partitions? }`);
      }
      if (entry.partitions !== undefined && !Array.isArray(entry.partitions)) {
        throw new InvalidConfigError(`pause / resume entry ${i}: partitions must be an array of partition numbers`);
      }
    }
    for (const { topic, partitions } of topics) {
      if (partitions === undefined) {
        if (paused) this.pausedTopics.add(topic);
        else this.pausedTopics.delete(topic);
        if (!paused) this.pausedPartitions.delete(topic);
        for (const state of this.states.get(topic)?.values() ?? []) state.paused = paused;
        continue;
      }
      let set = this.pausedPartitions.get(topic);
      if (set === undefined) this.pausedPartitions.set(topic, (set = new Set()));
      for (const partition of partitions) {
        if (paused) set.add(partition);
        else set.delete(partition);
        const state = this.states.get(topic)?.get(partition);
        if (state !== undefined) state.paused = paused || this.pausedTopics.has(topic);
      }
    }
  }

  /** The partitions paused now. */
  paused(): TopicPartitions[] {
    const out: TopicPartitions[] = [];
    for (const [topic, perTopic] of this.states) {
      const partitions = [...perTopic.values()].filter((state) => state.paused).map((state) => state.partition);
      if (partitions.length > 0) out.push({ topic, partitions: partitions.sort((a, b) => a - b) });
    }
    return out;
  }

  /** The partitions assigned now, sorted by topic. */
  assignment(): TopicPartitions[] {
    const out: TopicPartitions[] = [];
    for (const [topic, perTopic] of this.states) {
      if (perTopic.size > 0) out.push({ topic, partitions: [...perTopic.keys()].sort((a, b) => a - b) });
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  }
}

/** Unassigns one partition's state: a fetch or a handler holding it sees it is stale. */
function drop(state: PartitionState): void {
  state.assigned = false;
  state.epoch++;
}

/** RegExp test that a global or sticky flag cannot make stateful. */
function matches(pattern: RegExp, topic: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(topic);
}
