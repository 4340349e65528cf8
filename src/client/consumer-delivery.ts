/**
 * Handing fetched messages to the consumer's handlers: eachMessage one at a time, eachBatch with
 * kafkajs's batch payload, or the async iterator; which messages count as processed, and where a
 * partition's position lands after a fetch was handed out in full or in part. A partition paused,
 * seeked or revoked since its fetch is not handed out further (its epoch moved on).
 */
import { checkOffset } from './consumer-options.js';
import type { ConsumerCommits } from './consumer-commits.js';
import type { FetchedPartition } from './consumer-fetcher.js';
import type { Batch, EachBatchPayload, RunOptions } from './consumer-types.js';
import { decodeFetchedRecords, type ConsumedMessage, type Deserializers } from './fetcher.js';
import type { PartitionState } from './subscription-state.js';

/** What delivery asks of its consumer. */
export interface ConsumerDeliveryHost {
  stopping(): boolean;
  closed(): boolean;
  pause(topics: { topic: string; partitions?: number[] }[]): void;
  resume(topics: { topic: string; partitions?: number[] }[]): void;
}

const noHeartbeat = (): Promise<void> => Promise.resolve();

export class ConsumerDelivery<K, V> {
  /** True during the synchronous part of a handler call: a stop() from there must not wait for the loop. */
  inHandlerCall = false;

  constructor(
    private readonly commits: ConsumerCommits,
    private readonly deserializers: Deserializers<K, V> | null,
    private readonly checkCrcs: boolean,
    private readonly host: ConsumerDeliveryHost,
  ) {}

  async handleMessages(fetched: FetchedPartition<K, V>, eachMessage: NonNullable<RunOptions<K, V>['eachMessage']>): Promise<void> {
    const state = fetched.state;
    const messages = this.decode(fetched);
    if (messages === null) return;
    const pause = (): (() => void) => {
      this.host.pause([{ topic: state.topic, partitions: [state.partition] }]);
      return () => this.host.resume([{ topic: state.topic, partitions: [state.partition] }]);
    };
    let i = 0;
    try {
      for (; i < messages.length; i++) {
        if (!this.deliverable(fetched)) break;
        const message = messages[i];
        this.inHandlerCall = true;
        let pending: Promise<void> | void;
        try {
          pending = eachMessage({ topic: state.topic, partition: state.partition, message, heartbeat: noHeartbeat, pause });
        } finally {
          this.inHandlerCall = false;
        }
        // Awaiting only real promises keeps synchronous handlers free of a microtask per message.
        if (pending !== undefined && typeof (pending as Promise<void>).then === 'function') await pending;
        this.markProcessed(state, message.offset + 1, fetched.epoch);
      }
    } finally {
      this.finishBatch(fetched, i);
    }
  }

  async handleBatch(
    fetched: FetchedPartition<K, V>,
    eachBatch: NonNullable<RunOptions<K, V>['eachBatch']>,
    autoResolve: boolean,
  ): Promise<void> {
    const state = fetched.state;
    const messages = this.decode(fetched);
    if (messages === null) return;
    // Only control records, or records below the position: nothing to hand out, step over them.
    if (messages.length === 0) {
      this.finishBatch(fetched, 0);
      return;
    }
    const stale = (): boolean => !this.deliverable(fetched);
    let resolvedCount = 0;
    const batch: Batch<K, V> = {
      topic: state.topic,
      partition: state.partition,
      highWatermark: fetched.highWatermark,
      messages,
      isEmpty: () => messages.length === 0,
      firstOffset: () => (messages.length === 0 ? null : messages[0].offset),
      lastOffset: () => (messages.length === 0 ? fetched.nextOffset - 1 : messages[messages.length - 1].offset),
      offsetLag: () => Math.max(0, fetched.readableEnd - 1 - batch.lastOffset()),
      offsetLagLow: () => Math.max(0, fetched.readableEnd - 1 - (batch.firstOffset() ?? fetched.nextOffset)),
    };
    const payload: EachBatchPayload<K, V> = {
      batch,
      resolveOffset: (offset: number) => {
        checkOffset(offset, 'resolveOffset offset');
        if (stale()) return;
        // Messages up to `offset` count as processed.
        const before = resolvedCount;
        while (resolvedCount < messages.length && messages[resolvedCount].offset <= offset) resolvedCount++;
        this.markProcessed(state, offset + 1, fetched.epoch, resolvedCount - before);
      },
      heartbeat: noHeartbeat,
      pause: () => {
        this.host.pause([{ topic: state.topic, partitions: [state.partition] }]);
        return () => this.host.resume([{ topic: state.topic, partitions: [state.partition] }]);
      },
      commitOffsetsIfNecessary: () => this.commits.maybeAutoCommit(),
      uncommittedOffsets: () => this.commits.uncommitted().map(({ topic, partition, offset }) => ({ topic, partition, offset })),
      isRunning: () => !this.host.stopping() && !this.host.closed(),
      isStale: stale,
    };
    let completed = false;
    try {
      this.inHandlerCall = true;
      let pending: Promise<void> | void;
      try {
        pending = eachBatch(payload);
      } finally {
        this.inHandlerCall = false;
      }
      await pending;
      completed = true;
    } finally {
      if (completed && autoResolve && !stale() && messages.length > 0) {
        const before = resolvedCount;
        resolvedCount = messages.length;
        this.markProcessed(state, messages[messages.length - 1].offset + 1, fetched.epoch, resolvedCount - before);
      }
      this.finishBatch(fetched, resolvedCount);
    }
  }

  /** The partition still belongs to this fetch: assigned, unpaused, not seeked, not stopping. */
  deliverable(fetched: FetchedPartition<K, V>): boolean {
    const state = fetched.state;
    return !this.host.stopping() && state.assigned && !state.paused && state.epoch === fetched.epoch;
  }

  /** `messageCount` messages up to `nextOffset` (exclusive) were processed. */
  markProcessed(state: PartitionState, nextOffset: number, epoch: number, messageCount = 1): void {
    if (state.epoch !== epoch || !state.assigned) return;
    state.processed = nextOffset;
    state.position = nextOffset;
    this.commits.processed(messageCount);
  }

  /**
   * After handing out `delivered` messages of a fetch: a fully delivered fetch moves the position
   * past it (skipped control records included); a partial one leaves it at the first message not
   * processed, so that message is fetched again.
   */
  finishBatch(fetched: FetchedPartition<K, V>, delivered: number): void {
    const state = fetched.state;
    const messages = fetched.messages;
    if (state.epoch !== fetched.epoch || !state.assigned || messages === null) return;
    if (delivered >= messages.length) {
      state.position = fetched.nextOffset;
      state.processed = fetched.nextOffset;
    } else {
      state.position = messages[delivered].offset;
    }
  }

  /**
   * The fetch's messages, decoded on first call; null when the partition was paused, seeked or
   * revoked since the fetch (its position then stays where it is, to be fetched again).
   */
  decode(fetched: FetchedPartition<K, V>): ConsumedMessage<K, V>[] | null {
    if (!this.deliverable(fetched)) return null;
    if (fetched.messages === null) {
      const messages: ConsumedMessage<K, V>[] = [];
      decodeFetchedRecords(
        fetched.state.topic,
        fetched.state.partition,
        fetched.records,
        fetched.fromOffset,
        this.deserializers,
        messages,
        fetched.abortedTransactions,
        this.checkCrcs,
      );
      fetched.messages = messages;
    }
    return fetched.messages;
  }
}
