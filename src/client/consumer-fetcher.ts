/**
 * The consumer's fetch side: each round lets group membership catch up, gives every partition
 * without a position one (a seek given earlier, the group's committed offset, else the reset
 * policy), fetches every assigned, unpaused partition from its position (round robin, at most
 * maxBytesPerPartition each and maxBytes in all), and long-polls while less than minBytes came,
 * up to maxWaitTimeMs. Decoding waits for each partition's turn to be handed out (consumer.ts).
 */
import type { BrokerApi, IsolationLevel } from '../broker/broker-api.js';
import { NoOffsetForPartitionError, OffsetOutOfRangeError } from '../errors.js';
import type { ConsumedMessage } from './fetcher.js';
import type { LongPoll } from './long-poll.js';
import type { PartitionState, SubscriptionState } from './subscription-state.js';

/** The messages one fetch returned for one partition. */
export interface FetchedPartition<K, V> {
  state: PartitionState;
  epoch: number;
  /** Whole batches as fetched; decoded only when the partition's turn comes (decode()). */
  records: Buffer;
  /** The position the fetch started from: records below it are skipped. */
  fromOffset: number;
  /** Filled by decode(): one partition's messages are alive at a time, not a whole round's. */
  messages: ConsumedMessage<K, V>[] | null;
  /** Where the fetch ended: the position once every message is processed. */
  nextOffset: number;
  highWatermark: number;
  /** The end this consumer reads to: the high watermark, or the last stable offset for read_committed (lag is measured to it). */
  readableEnd: number;
  /** read_committed: the transactions aborted in the fetched range, whose records are dropped. */
  abortedTransactions: readonly { producerId: number; firstOffset: number }[];
}

export interface ConsumerFetchOptions {
  maxBytes: number;
  maxBytesPerPartition: number;
  minBytes: number;
  maxWaitTimeMs: number;
  isolationLevel: IsolationLevel;
  /** Where committed offsets are read from; null: positions come from seeks and the reset policy only. */
  groupId: string | null;
}

/** What the fetcher asks of its consumer. */
export interface ConsumerFetchHost {
  /** True once stop() began: a round ends with what it has. */
  stopping(): boolean;
  /** Lets the group membership catch up before a fetch; null without a group. */
  catchUpMembership(): Promise<void> | null;
}

export class ConsumerFetcher<K, V> {
  private roundRobinStart = 0;

  constructor(
    private readonly broker: Pick<BrokerApi, 'fetch' | 'partitionOffsets' | 'groups'>,
    private readonly subscription: SubscriptionState,
    private readonly longPoll: LongPoll,
    private readonly options: ConsumerFetchOptions,
    private readonly host: ConsumerFetchHost,
  ) {}

  /**
   * One round: membership, positions, fetch; waits (long poll) while less than minBytes is
   * available, up to maxWaitTimeInMs. Returns the partitions with messages (possibly none).
   */
  async fetchRound(): Promise<FetchedPartition<K, V>[]> {
    const deadline = Date.now() + this.options.maxWaitTimeMs;
    for (;;) {
      if (this.host.stopping()) return [];
      const catchingUp = this.host.catchUpMembership();
      if (catchingUp !== null) await catchingUp;
      await this.resolvePositions();
      const fetchable = this.subscription.fetchable();
      const round: FetchedPartition<K, V>[] = [];
      let fetchedBytes = 0;
      let remaining = this.options.maxBytes;
      const waitOffsets: number[] = [];
      const count = fetchable.length;
      const start = count === 0 ? 0 : this.roundRobinStart++ % count;
      for (let k = 0; k < count; k++) {
        const state = fetchable[(start + k) % count];
        waitOffsets[(start + k) % count] = state.position;
        if (remaining <= 0) continue;
        const fetched = await this.fetchPartition(state, Math.min(this.options.maxBytesPerPartition, remaining));
        if (fetched === null) continue;
        fetchedBytes += fetched.bytes;
        remaining -= fetched.bytes;
        waitOffsets[(start + k) % count] = fetched.partition?.nextOffset ?? state.position;
        if (fetched.partition !== null) round.push(fetched.partition);
      }
      const now = Date.now();
      if ((round.length > 0 && fetchedBytes >= this.options.minBytes) || now >= deadline || this.host.stopping()) return round;
      // Not enough yet: wait for new data beyond what was fetched, then fetch everything again.
      await this.longPoll.wait(fetchable, waitOffsets, deadline - now);
      if (this.longPoll.takeWake() && round.length > 0) return round;
    }
  }

  /** Fetches one partition from its position; null when the position had to be reset. */
  private async fetchPartition(
    state: PartitionState,
    maxBytes: number,
  ): Promise<{ bytes: number; partition: FetchedPartition<K, V> | null } | null> {
    let result;
    try {
      result = this.broker.fetch(state.topic, state.partition, state.position, maxBytes, this.options.isolationLevel);
    } catch (error) {
      if (error instanceof OffsetOutOfRangeError) {
        await this.resetPosition(state, error);
        return null;
      }
      throw error;
    }
    state.highWatermark = result.highWatermark;
    const bytes = result.records.length;
    if (bytes === 0) return { bytes: 0, partition: null };
    return {
      bytes,
      partition: {
        state,
        epoch: state.epoch,
        records: result.records,
        fromOffset: state.position,
        messages: null,
        nextOffset: result.nextOffset,
        highWatermark: result.highWatermark,
        readableEnd: this.options.isolationLevel === 'read_committed' ? result.lastStableOffset : result.highWatermark,
        abortedTransactions: result.abortedTransactions,
      },
    };
  }

  /** Gives every partition without a position one: a pending seek, the committed offset, or the reset policy. */
  private async resolvePositions(): Promise<void> {
    const unresolved = this.subscription.unresolved();
    if (unresolved.length === 0) return;
    const needCommitted: PartitionState[] = [];
    for (const state of unresolved) {
      const seek = this.subscription.takePendingSeek(state.topic, state.partition);
      if (seek !== undefined) {
        state.position = seek;
      } else if (this.options.groupId !== null) {
        needCommitted.push(state);
      }
    }
    if (needCommitted.length > 0) {
      const committed = await this.broker.groups.fetchOffsets({
        groupId: this.options.groupId!,
        partitions: needCommitted.map(({ topic, partition }) => ({ topic, partition })),
      });
      for (const entry of committed) {
        const state = this.subscription.get(entry.topic, entry.partition);
        if (state !== undefined && state.position < 0 && entry.offset >= 0) {
          state.position = entry.offset;
          state.committed = entry.offset;
        }
      }
    }
    for (const state of unresolved) {
      if (state.position < 0 && state.assigned) await this.resetPosition(state, null);
    }
  }

  /** Applies the partition's reset policy: no committed offset (`outOfRange` null) or a position outside the log. */
  private async resetPosition(state: PartitionState, outOfRange: OffsetOutOfRangeError | null): Promise<void> {
    const policy = this.subscription.resetPolicyOf(state.topic);
    if (policy === 'none') {
      throw outOfRange ?? new NoOffsetForPartitionError(state.topic, state.partition);
    }
    const offsets = this.broker.partitionOffsets(state.topic, state.partition);
    const end = this.options.isolationLevel === 'read_committed' ? offsets.lastStableOffset : offsets.highWatermark;
    state.position = policy === 'earliest' ? offsets.logStartOffset : end;
    state.epoch++;
  }
}
