/**
 * The embedded consumer, shaped after kafkajs's: subscribe / run({ eachMessage | eachBatch }),
 * seek, pause / resume, commitOffsets, stop / disconnect; plus `for await (const message of
 * consumer)` and `assign()` for partitions chosen by hand, without a group.
 *
 * The poll loop, one round at a time:
 *   1. group membership catches up (GroupMembership.poll): partitions revoked by a rebalance are
 *      committed (at-least-once) and dropped, new ones are added, between rounds, never while a
 *      handler holds them;
 *   2. partitions without a position get one: the group's committed offset, else autoOffsetReset;
 *   3. every assigned, unpaused partition is fetched from its position, at most
 *      maxBytesPerPartition each and maxBytes in all; below minBytes, the loop waits for more
 *      through BrokerApi.waitForData (a long poll woken by new data, a rebalance, a seek, a
 *      resume or stop) for at most maxWaitTimeInMs;
 *   4. the fetched records are handed out, then auto-commit runs when due.
 * A round's data is handed out before the next fetch, so the consumer never holds more than
 * maxBytes of fetched data, whatever the backlog.
 *
 * Failures after run() resolved follow kafkajs's runner. A failure (a handler throwing, a fetch
 * failing) rewinds the partition to the first message not processed and commits what was
 * processed (with autoCommit); a retriable one (anything but an error whose `retriable` is false
 * or a TypeError, RangeError, ReferenceError or SyntaxError) is retried after a backoff (`retry`:
 * initialRetryTime 300 ms, doubled each time with 20% jitter, at most maxRetryTime, `retries` 5
 * times), the failed message delivered again. When the retries run out, the consumer stops (it
 * leaves its group) and restarts after the last backoff, unless `retry.restartOnFailure(error)`
 * resolves false; a non-retriable failure stops it for good. Each stop is reported by a
 * 'consumer.crash' event saying whether it restarts.
 *
 * Differences from kafkajs: offsets and timestamps are numbers; a non-retriable failure is
 * reported as itself (kafkajs wraps it in KafkaJSNonRetriableError), exhausted retries as a
 * RetriesExceededError with the last failure as `cause`; heartbeats run on their own timer, so
 * the payload's `heartbeat()` has nothing left to do.
 *
 * This module keeps the public API, the run loop with its retries and restarts, and stop; the
 * rest lives beside it: consumer-types.ts (options, payloads, events, defaults), subscription-state.ts
 * (subscriptions, assigned partitions, seeks, pauses), consumer-fetcher.ts (positions and fetch
 * rounds), long-poll.ts (waiting for data), consumer-delivery.ts (handing messages to handlers),
 * consumer-commits.ts (auto-commit and commits), consumer-retry.ts (the retry policy),
 * consumer-options.ts (option checks), consumer-group-member.ts (group membership).
 */
import { EventEmitter } from 'node:events';
import type { BrokerApi, IsolationLevel } from '../broker/broker-api.js';
import type { TopicPartitions } from '../broker/consumer-protocol.js';
import { assignorByName, type PartitionAssignor } from '../broker/assignors/index.js';
import {
  ClosedError,
  InvalidConfigError,
  PartitionNotFoundError,
  RetriesExceededError,
} from '../errors.js';
import { GroupMembership } from './consumer-group-member.js';
import { checkOffset, CONSUMER_OPTION_NAMES, resetOption } from './consumer-options.js';
import { integerOption } from '../validate.js';
import { isRetriable, jittered, retryPolicy, rootCause, type RetryPolicy } from './consumer-retry.js';
import {
  CONSUMER_EVENTS,
  DEFAULT_ASSIGNORS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_BYTES_PER_PARTITION,
  DEFAULT_MAX_WAIT_TIME_MS,
  DEFAULT_METADATA_MAX_AGE_MS,
  DEFAULT_REBALANCE_TIMEOUT_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
  type AutoOffsetReset,
  type ConsumerOptions,
  type ManualAssignment,
  type RunOptions,
  type SubscribeOptions,
  type TopicPartitionOffset,
} from './consumer-types.js';
import type { ConsumedMessage, Deserializers } from './fetcher.js';
import { ConsumerCommits } from './consumer-commits.js';
import { ConsumerDelivery } from './consumer-delivery.js';
import { ConsumerFetcher, type FetchedPartition } from './consumer-fetcher.js';
import { LongPoll } from './long-poll.js';
import { SubscriptionState, type PartitionState } from './subscription-state.js';
import { checkKnownOptions } from './producer.js';

// The consumer's options, payloads, events and defaults, for its callers, from one module.
export * from './consumer-types.js';

type Mode = 'idle' | 'run' | 'iterate';

/** How a run() session ended: its error and the delay before a restart (null: none). */
interface Failure {
  error: unknown;
  restartInMs: number | null;
}

/**
 * What the consumer asks of the broker: the broker itself on the thread that opened it, or an
 * AttachedBroker on a thread attached to it (which reads, but has no groups: assign() only).
 */
export type ConsumerBrokerApi = Pick<BrokerApi, 'topicMetadata' | 'listTopics' | 'fetch' | 'partitionOffsets' | 'waitForData' | 'groups'>;

export class Consumer<K = Buffer, V = Buffer> extends EventEmitter {
  readonly events = CONSUMER_EVENTS;
  private readonly broker: ConsumerBrokerApi;
  private readonly groupId: string | null;
  private readonly groupInstanceId: string | null;
  private readonly clientId: string;
  private readonly sessionTimeoutMs: number;
  private readonly rebalanceTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly assignors: readonly PartitionAssignor[];
  private readonly autoOffsetReset: AutoOffsetReset;
  private readonly isolationLevel: IsolationLevel;
  private readonly metadataMaxAgeMs: number;
  private readonly retry: RetryPolicy;

  private readonly subscription: SubscriptionState;
  private membership: GroupMembership | null = null;
  private manual = false;
  private mode: Mode = 'idle';
  private loop: Promise<void> | null = null;
  private stopping = false;
  private closed = false;
  private readonly longPoll: LongPoll;
  private subscribedSnapshot = '';
  private lastMetadataCheckMs = 0;
  private readonly commits: ConsumerCommits;
  private readonly fetcher: ConsumerFetcher<K, V>;
  private readonly delivery: ConsumerDelivery<K, V>;
  /** Bumped by every assignment the group hands out: a new assignment starts the retries afresh. */
  private assignmentCount = 0;

  constructor(broker: ConsumerBrokerApi, options: ConsumerOptions<K, V> = {}) {
    super();
    if (options === null || typeof options !== 'object') throw new InvalidConfigError('consumer options must be an object');
    checkKnownOptions(options, CONSUMER_OPTION_NAMES, 'consumer');
    this.broker = broker;
    if (options.groupId !== undefined && (typeof options.groupId !== 'string' || options.groupId.length === 0)) {
      throw new InvalidConfigError(`groupId must be a non-empty string (got ${JSON.stringify(options.groupId)})`);
    }
    this.groupId = options.groupId ?? null;
    if (options.groupInstanceId !== undefined && (typeof options.groupInstanceId !== 'string' || options.groupInstanceId.length === 0)) {
      throw new InvalidConfigError(`groupInstanceId must be a non-empty string (got ${JSON.stringify(options.groupInstanceId)})`);
    }
    this.groupInstanceId = options.groupInstanceId ?? null;
    this.clientId = options.clientId ?? 'sluice';
    this.sessionTimeoutMs = integerOption('sessionTimeout', options.sessionTimeout, DEFAULT_SESSION_TIMEOUT_MS, 1);
    this.rebalanceTimeoutMs = integerOption('rebalanceTimeout', options.rebalanceTimeout, DEFAULT_REBALANCE_TIMEOUT_MS, 1);
    this.heartbeatIntervalMs = integerOption('heartbeatInterval', options.heartbeatInterval, DEFAULT_HEARTBEAT_INTERVAL_MS, 1);
    if (this.heartbeatIntervalMs >= this.sessionTimeoutMs) {
      throw new InvalidConfigError(
        `heartbeatInterval (${this.heartbeatIntervalMs} ms) must be below sessionTimeout (${this.sessionTimeoutMs} ms); Kafka advises a third of it`,
      );
    }
    const names = options.assignors ?? DEFAULT_ASSIGNORS;
    if (!Array.isArray(names) || names.length === 0) throw new InvalidConfigError('assignors must be a non-empty array of assignor names');
    this.assignors = names.map((name) => {
      try {
        return assignorByName(name);
      } catch (error) {
        throw new InvalidConfigError((error as Error).message);
      }
    });
    this.autoOffsetReset = resetOption(options.autoOffsetReset ?? 'latest', 'autoOffsetReset');
    this.subscription = new SubscriptionState(this.autoOffsetReset);
    const maxBytes = integerOption('maxBytes', options.maxBytes, DEFAULT_MAX_BYTES, 1);
    const maxBytesPerPartition = integerOption('maxBytesPerPartition', options.maxBytesPerPartition, DEFAULT_MAX_BYTES_PER_PARTITION, 1);
    const minBytes = integerOption('minBytes', options.minBytes, 1, 1);
    const maxWaitTimeMs = integerOption('maxWaitTimeInMs', options.maxWaitTimeInMs, DEFAULT_MAX_WAIT_TIME_MS, 0);
    this.metadataMaxAgeMs = integerOption('metadataMaxAge', options.metadataMaxAge, DEFAULT_METADATA_MAX_AGE_MS, 1);
    const isolation = options.isolationLevel ?? 'read_uncommitted';
    if (isolation !== 'read_uncommitted' && isolation !== 'read_committed' && isolation !== 0 && isolation !== 1) {
      throw new InvalidConfigError(
        `isolationLevel must be 'read_uncommitted' (0) or 'read_committed' (1), as kafkajs's IsolationLevel (got ${JSON.stringify(isolation)})`,
      );
    }
    this.isolationLevel = isolation === 1 || isolation === 'read_committed' ? 'read_committed' : 'read_uncommitted';
    if (options.checkCrcs !== undefined && typeof options.checkCrcs !== 'boolean') {
      throw new InvalidConfigError(`checkCrcs must be true or false (got ${JSON.stringify(options.checkCrcs)})`);
    }
    const checkCrcs = options.checkCrcs ?? true;
    for (const [name, serializer] of [['keyDeserializer', options.keyDeserializer], ['valueDeserializer', options.valueDeserializer]] as const) {
      if (serializer !== undefined && (serializer === null || typeof serializer.deserialize !== 'function')) {
        throw new InvalidConfigError(`${name} must be a serializer such as json() or msgpack() from 'sluice'`);
      }
    }
    const deserializers: Deserializers<K, V> | null =
      options.keyDeserializer === undefined && options.valueDeserializer === undefined
        ? null
        : { key: options.keyDeserializer, value: options.valueDeserializer };
    this.retry = retryPolicy(options.retry);
    this.longPoll = new LongPoll(broker, this.isolationLevel);
    this.fetcher = new ConsumerFetcher<K, V>(
      broker,
      this.subscription,
      this.longPoll,
      { maxBytes, maxBytesPerPartition, minBytes, maxWaitTimeMs, isolationLevel: this.isolationLevel, groupId: this.groupId },
      { stopping: () => this.stopping, catchUpMembership: () => this.catchUpMembership() },
    );
    this.commits = new ConsumerCommits(broker, this.groupId, this.groupInstanceId, this.subscription, () => this.membership);
    this.delivery = new ConsumerDelivery<K, V>(this.commits, deserializers, checkCrcs, {
      stopping: () => this.stopping,
      closed: () => this.closed,
      pause: (topics) => this.pause(topics),
      resume: (topics) => this.resume(topics),
    });
  }

  /** Nothing to connect to in-process; kept so kafkajs code runs unchanged. */
  async connect(): Promise<void> {
    this.checkOpen();
  }

  /** Adds topics (names or patterns) to the group subscription; call before run() or iteration. */
  async subscribe(options: SubscribeOptions): Promise<void> {
    this.checkOpen();
    if (this.groupId === null) {
      throw new InvalidConfigError('subscribe() needs a consumer with a groupId; use assign() to read partitions without a group');
    }
    if (this.manual) throw new InvalidConfigError('this consumer uses assign(); a consumer either subscribes or assigns');
    if (this.mode !== 'idle') throw new InvalidConfigError('subscribe() before run() or iteration starts');
    if (options === null || typeof options !== 'object') throw new InvalidConfigError('subscribe takes { topics, fromBeginning }');
    const patterns = options.topics ?? (options.topic === undefined ? undefined : [options.topic]);
    if (!Array.isArray(patterns) || patterns.length === 0) {
      throw new InvalidConfigError('subscribe needs topics: a non-empty array of topic names or regular expressions');
    }
    for (const pattern of patterns) {
      if (!(pattern instanceof RegExp) && (typeof pattern !== 'string' || pattern.length === 0)) {
        throw new InvalidConfigError(`subscribe topics must be names or RegExps (got ${JSON.stringify(pattern)})`);
      }
    }
    if (options.fromBeginning !== undefined && typeof options.fromBeginning !== 'boolean') {
      throw new InvalidConfigError('fromBeginning must be a boolean');
    }
    const reset: AutoOffsetReset =
      options.fromBeginning === undefined ? this.autoOffsetReset : options.fromBeginning ? 'earliest' : 'latest';
    for (const pattern of patterns) this.subscription.subscribe(pattern, reset);
  }

  /**
   * Reads these partitions without group membership (Kafka's assign()); replaces any previous
   * manual assignment. Offsets commit to the groupId, when there is one, as a standalone consumer.
   */
  assign(partitions: ManualAssignment[]): void {
    this.checkOpen();
    if (this.subscription.hasSubscriptions) throw new InvalidConfigError('this consumer subscribed; a consumer either subscribes or assigns');
    if (!Array.isArray(partitions)) throw new InvalidConfigError('assign takes an array of { topic, partition, offset? }');
    const checked = partitions.map((entry, i) => {
      if (entry === null || typeof entry !== 'object') throw new InvalidConfigError(`assign entry ${i} must be { topic, partition, offset? }`);
      this.checkPartition(entry.topic, entry.partition);
      if (entry.offset !== undefined) checkOffset(entry.offset, `assign entry ${i} offset`);
      return entry;
    });
    this.manual = true;
    this.subscription.clear();
    for (const entry of checked) {
      const state = this.subscription.add(entry.topic, entry.partition);
      if (entry.offset !== undefined) state.position = entry.offset;
    }
    this.wake();
  }

  /** Moves a partition's position; before the partition is assigned, applies once it is. */
  seek(target: TopicPartitionOffset): void {
    this.checkOpen();
    if (target === null || typeof target !== 'object') throw new InvalidConfigError('seek takes { topic, partition, offset }');
    this.checkPartition(target.topic, target.partition);
    checkOffset(target.offset, 'seek offset');
    const state = this.subscription.get(target.topic, target.partition);
    if (state === undefined) {
      this.subscription.seekLater(target.topic, target.partition, target.offset);
      return;
    }
    state.position = target.offset;
    state.epoch++;
    this.wake();
  }

  /** Stops fetching these topics (all their partitions, or those listed) until resume(). */
  pause(topics: { topic: string; partitions?: number[] }[]): void {
    this.checkOpen();
    this.subscription.setPaused(topics, true);
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    this.checkOpen();
    this.subscription.setPaused(topics, false);
    this.wake();
  }

  /** The partitions paused now. */
  paused(): TopicPartitions[] {
    return this.subscription.paused();
  }

  /** The partitions this consumer reads now. */
  assignment(): TopicPartitions[] {
    return this.subscription.assignment();
  }

  /**
   * Commits offsets (each the next offset to read, as in Kafka) for the group: as a member of
   * the current generation when subscribed, as a standalone consumer after assign().
   */
  async commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    this.checkOpen();
    if (this.groupId === null) throw new InvalidConfigError('committing offsets needs a consumer with a groupId');
    if (!Array.isArray(offsets)) throw new InvalidConfigError('commitOffsets takes an array of { topic, partition, offset }');
    for (const [i, entry] of offsets.entries()) {
      if (entry === null || typeof entry !== 'object') throw new InvalidConfigError(`commitOffsets entry ${i} must be { topic, partition, offset }`);
      this.checkPartition(entry.topic, entry.partition);
      checkOffset(entry.offset, `commitOffsets entry ${i} offset`);
    }
    await this.commits.commit(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
  }

  /**
   * Starts consuming with a handler. Resolves once the consumer has joined its group (kafkajs
   * behaviour); later failures are retried, then restart the consumer or stop it, each stop
   * emitted as 'consumer.crash' (see the retry option).
   */
  async run(options: RunOptions<K, V>): Promise<void> {
    this.checkOpen();
    if (options === null || typeof options !== 'object') throw new InvalidConfigError('run takes { eachMessage } or { eachBatch }');
    const { eachMessage, eachBatch } = options;
    if ((eachMessage === undefined) === (eachBatch === undefined)) {
      throw new InvalidConfigError('run needs exactly one of eachMessage and eachBatch');
    }
    if (typeof (eachMessage ?? eachBatch) !== 'function') throw new InvalidConfigError('eachMessage / eachBatch must be a function');
    const concurrency = integerOption('partitionsConsumedConcurrently', options.partitionsConsumedConcurrently, 1, 1);
    const autoResolve = options.eachBatchAutoResolve ?? true;
    this.commits.configure(options.autoCommit, options.autoCommitInterval, options.autoCommitThreshold);
    this.enter('run');
    try {
      await this.start();
    } catch (error) {
      this.mode = 'idle';
      throw error;
    }
    this.loop = this.runLoop(eachMessage, eachBatch, autoResolve, concurrency);
  }

  /**
   * Messages one at a time: `for await (const message of consumer)`. A message counts as
   * processed (and is committed by auto-commit) once the loop asks for the next one; breaking out
   * leaves the last message uncommitted, so it is read again after a restart (at-least-once).
   * Call disconnect() when done.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumedMessage<K, V>, void, undefined> {
    this.checkOpen();
    this.commits.configure(undefined, undefined, undefined);
    this.enter('iterate');
    try {
      await this.start();
      while (!this.stopping) {
        const round = await this.fetcher.fetchRound();
        for (const fetched of round) {
          const state = fetched.state;
          const messages = this.delivery.decode(fetched);
          if (messages === null) continue;
          let i = 0;
          for (; i < messages.length; i++) {
            if (!this.delivery.deliverable(fetched)) break;
            yield messages[i];
            this.delivery.markProcessed(state, messages[i].offset + 1, fetched.epoch);
          }
          this.delivery.finishBatch(fetched, i);
        }
        await this.commits.maybeAutoCommit();
      }
    } finally {
      if (this.mode === 'iterate') this.mode = 'idle';
    }
  }

  /**
   * Stops consuming: the loop ends (after the handler running now returns), processed offsets
   * are committed (with autoCommit) and the group is left. A handler may call it before its
   * first `await`: it then returns at once and the consumer stops when the handler returns. A
   * handler that awaits stop() after awaiting something else waits for itself, forever (as in
   * kafkajs): call `void consumer.stop()` there instead.
   */
  async stop(): Promise<void> {
    // A run loop waiting to restart after a failure is stopped too.
    if (this.mode === 'idle' && this.membership === null && this.loop === null) return;
    this.stopping = true;
    this.wake();
    if (this.loop !== null) {
      // The run loop ends by itself with finishStop(). From inside a handler, waiting for it
      // would wait forever.
      if (!this.delivery.inHandlerCall) await this.loop;
      return;
    }
    await this.finishStop();
  }

  private async finishStop(): Promise<void> {
    await this.shutDown();
    this.emitEvent(CONSUMER_EVENTS.STOP, {});
  }

  /** Commits what was processed (with autoCommit), leaves the group and forgets the assignment. */
  private async shutDown(): Promise<void> {
    this.stopping = true;
    try {
      if (this.commits.autoCommit) await this.commits.commitProcessedQuietly();
    } finally {
      this.membership?.stop();
      this.membership = null;
      // A manual assignment stays for the next run; a group's goes with the membership.
      if (this.manual) for (const state of this.subscription.all()) state.epoch++;
      else this.subscription.clear();
      this.mode = 'idle';
      this.stopping = false;
    }
  }

  /** stop(), then refuses every further call with ClosedError. Idempotent. */
  async disconnect(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    this.closed = true;
  }

  // ---- The poll loop ----

  private enter(mode: Mode): void {
    if (this.mode !== 'idle' || this.loop !== null) {
      throw new InvalidConfigError(`the consumer is already consuming (${this.mode === 'run' ? 'run()' : 'iteration'}); use one of them, once`);
    }
    if (!this.subscription.hasSubscriptions && !this.manual) {
      throw new InvalidConfigError('nothing to consume: call subscribe() (with a groupId) or assign() first');
    }
    this.mode = mode;
    this.stopping = false;
  }

  /** Creates the group membership and completes the first join. */
  private async start(): Promise<void> {
    if (this.manual || this.groupId === null) return;
    this.membership = new GroupMembership(
      this.broker.groups,
      {
        groupId: this.groupId,
        groupInstanceId: this.groupInstanceId,
        clientId: this.clientId,
        sessionTimeoutMs: this.sessionTimeoutMs,
        rebalanceTimeoutMs: this.rebalanceTimeoutMs,
        heartbeatIntervalMs: this.heartbeatIntervalMs,
        assignors: this.assignors,
      },
      {
        subscribedTopics: () => this.subscribedTopics(),
        partitionCounts: (topics) => this.partitionCounts(topics),
        revoke: (partitions) => this.revoke(partitions),
        assign: async (partitions) => this.assigned(partitions),
        lose: (partitions) => this.lose(partitions),
        wake: () => this.wake(),
      },
    );
    this.subscribedSnapshot = this.metadataSnapshot();
    this.lastMetadataCheckMs = Date.now();
    await this.membership.poll();
  }

  /**
   * The run() loop, from run() to the final stop (kafkajs's Runner and onCrash): sessions of
   * consuming; a session that fails for good stops the consumer, which starts a new session after
   * the failure's restart delay, unless it has none or restartOnFailure declines.
   */
  private async runLoop(
    eachMessage: RunOptions<K, V>['eachMessage'],
    eachBatch: RunOptions<K, V>['eachBatch'],
    autoResolve: boolean,
    concurrency: number,
  ): Promise<void> {
    for (let restarted = false; ; restarted = true) {
      let failure = restarted ? await this.startAgain() : null;
      failure ??= await this.consumeWithRetries(eachMessage, eachBatch, autoResolve, concurrency);
      if (failure === null) {
        this.loop = null;
        await this.finishStop();
        return;
      }
      const restartInMs = await this.crash(failure.error, failure.restartInMs);
      if (restartInMs === null) return;
      await this.pauseUnlessStopped(restartInMs);
      if (this.stopping) {
        // stop() during the wait: the consumer had already shut down when it crashed.
        this.loop = null;
        this.stopping = false;
        this.emitEvent(CONSUMER_EVENTS.STOP, {});
        return;
      }
    }
  }

  /** A restart: joins the group again (a manual assignment resumes from its positions). */
  private async startAgain(): Promise<Failure | null> {
    this.mode = 'run';
    try {
      await this.start();
      return null;
    } catch (error) {
      return { error, restartInMs: this.restartDelayOfFatal(error) };
    }
  }

  /**
   * Consumes until stopped (null) or a failure the retries do not overcome. A retriable failure
   * commits what was processed and is retried after a backoff that grows with each retry (kafkajs's
   * retrier); a new assignment starts the count afresh, as kafkajs's runner does after a rebalance.
   */
  private async consumeWithRetries(
    eachMessage: RunOptions<K, V>['eachMessage'],
    eachBatch: RunOptions<K, V>['eachBatch'],
    autoResolve: boolean,
    concurrency: number,
  ): Promise<Failure | null> {
    const policy = this.retry;
    let retryCount = 0;
    let retryTimeMs = jittered(policy.factor, policy.initialRetryTimeMs);
    let assignmentCount = this.assignmentCount;
    for (;;) {
      try {
        await this.consume(eachMessage, eachBatch, autoResolve, concurrency);
        return null;
      } catch (error) {
        if (this.stopping || !isRetriable(error)) return { error, restartInMs: this.restartDelayOfFatal(error) };
        if (assignmentCount !== this.assignmentCount) {
          assignmentCount = this.assignmentCount;
          retryCount = 0;
          retryTimeMs = jittered(policy.factor, policy.initialRetryTimeMs);
        }
        if (retryCount >= policy.retries) {
          return { error: new RetriesExceededError(error, retryCount, retryTimeMs), restartInMs: retryTimeMs };
        }
        // What was processed before the failure is committed before waiting (at-least-once). A
        // commit that fails here fails again after the backoff, where the retries cover it.
        if (this.commits.autoCommit) await this.commits.commitProcessedQuietly().catch(() => undefined);
        await this.pauseUnlessStopped(retryTimeMs);
        if (this.stopping) return null;
        retryCount++;
        retryTimeMs = Math.min(jittered(policy.factor, retryTimeMs) * policy.multiplier, policy.maxRetryTimeMs);
      }
    }
  }

  /** Rounds of fetching and handling until stopped; a failure is thrown, the failed message's partition rewound to it. */
  private async consume(
    eachMessage: RunOptions<K, V>['eachMessage'],
    eachBatch: RunOptions<K, V>['eachBatch'],
    autoResolve: boolean,
    concurrency: number,
  ): Promise<void> {
    while (!this.stopping) {
      const round = await this.fetcher.fetchRound();
      if (round.length > 0) {
        const handle = (fetched: FetchedPartition<K, V>): Promise<void> =>
          eachMessage !== undefined ? this.delivery.handleMessages(fetched, eachMessage) : this.delivery.handleBatch(fetched, eachBatch!, autoResolve);
        if (concurrency === 1 || round.length === 1) {
          for (const fetched of round) await handle(fetched);
        } else {
          let next = 0;
          const worker = async (): Promise<void> => {
            while (next < round.length) await handle(round[next++]);
          };
          await Promise.all(Array.from({ length: Math.min(concurrency, round.length) }, worker));
        }
      }
      await this.commits.maybeAutoCommit();
    }
  }

  /**
   * kafkajs restarts after a failure that is not retried only when its root cause says it is
   * retriable; a stop() in progress never restarts.
   */
  private restartDelayOfFatal(error: unknown): number | null {
    if (this.stopping) return null;
    const cause = rootCause(error);
    return cause !== null && typeof cause === 'object' && (cause as { retriable?: unknown }).retriable === true
      ? this.retry.initialRetryTimeMs
      : null;
  }

  /** Waits `delayMs`, cut short by stop(). */
  private async pauseUnlessStopped(delayMs: number): Promise<void> {
    const untilMs = Date.now() + delayMs;
    for (let leftMs = delayMs; !this.stopping && leftMs > 0; leftMs = untilMs - Date.now()) await this.longPoll.idle(leftMs);
  }

  /**
   * Stops the consumer after a failure (commits what was processed, leaves the group) and reports
   * it with 'consumer.crash'. Returns the delay before the restart, or null when the consumer
   * stays stopped: no restart delay, or restartOnFailure declined.
   */
  private async crash(error: unknown, restartInMs: number | null): Promise<number | null> {
    try {
      await this.shutDown();
    } catch {
      // The broker is failing as well (closed, unavailable): the original error is the one to report.
    }
    const restart = restartInMs !== null && (await this.restartWanted(error));
    if (!restart) this.loop = null;
    if (this.listenerCount(CONSUMER_EVENTS.CRASH) === 0) {
      // Nobody listens for crashes: say so rather than stop in silence.
      const message = (error as Error)?.message ?? String(error);
      process.emitWarning(restart ? `consumer restarts in ${restartInMs} ms after: ${message}` : `consumer stopped: ${message}`, {
        type: 'SluiceConsumerCrash',
      });
    }
    this.emitEvent(CONSUMER_EVENTS.CRASH, { error, groupId: this.groupId, restart });
    return restart ? restartInMs : null;
  }

  private async restartWanted(error: unknown): Promise<boolean> {
    const callback = this.retry.restartOnFailure;
    if (callback === null) return true;
    try {
      // kafkajs restarts on a truthy answer only.
      return Boolean(await callback(error as Error));
    } catch (callbackError) {
      process.emitWarning(
        `retry.restartOnFailure threw (${(callbackError as Error)?.message ?? String(callbackError)}); restarting the consumer, as kafkajs does`,
        { type: 'SluiceConsumerCrash' },
      );
      return true;
    }
  }

  /** Group membership catches up before each fetch: rejoins, revocations, new assignments; null without a group. */
  private catchUpMembership(): Promise<void> | null {
    if (this.membership === null) return null;
    this.checkMetadata();
    return this.membership.poll();
  }

  /** Interrupts the long poll (a rebalance, seek, resume, assignment or stop needs the loop). */
  private wake(): void {
    this.longPoll.wake();
  }

  // ---- Assignment changes (from the group membership) ----

  private async revoke(partitions: TopicPartitions[]): Promise<void> {
    this.emitEvent(CONSUMER_EVENTS.REBALANCING, { groupId: this.groupId, memberId: this.membership?.memberId, revoked: partitions });
    const states: PartitionState[] = [];
    for (const { topic, partitions: numbers } of partitions) {
      for (const partition of numbers) {
        const state = this.subscription.get(topic, partition);
        if (state !== undefined) states.push(state);
      }
    }
    // At-least-once: what was processed is committed before another member may start on it.
    if (this.commits.autoCommit) await this.commits.commitProcessedQuietly(states);
    for (const state of states) this.subscription.remove(state);
  }

  private assigned(partitions: TopicPartitions[]): void {
    this.assignmentCount++;
    for (const { topic, partitions: numbers } of partitions) {
      for (const partition of numbers) this.subscription.add(topic, partition);
    }
    this.emitEvent(CONSUMER_EVENTS.GROUP_JOIN, {
      groupId: this.groupId,
      memberId: this.membership?.memberId,
      generationId: this.membership?.generationId,
      memberAssignment: Object.fromEntries(this.assignment().map(({ topic, partitions: numbers }) => [topic, numbers])),
    });
  }

  private lose(partitions: TopicPartitions[]): void {
    for (const { topic, partitions: numbers } of partitions) {
      for (const partition of numbers) {
        const state = this.subscription.get(topic, partition);
        if (state !== undefined) this.subscription.remove(state);
      }
    }
  }

  // ---- Topics ----

  private subscribedTopics(): string[] {
    return this.subscription.subscribedTopics(() =>
      this.broker
        .listTopics()
        .filter((topic) => !topic.internal)
        .map((topic) => topic.name),
    );
  }

  private partitionCounts(topics: readonly string[]): Map<string, number> {
    const counts = new Map<string, number>();
    for (const topic of topics) {
      try {
        counts.set(topic, this.broker.topicMetadata(topic, { autoCreate: false }).partitionCount);
      } catch {
        // A subscribed topic that does not exist (yet) gets no partitions, as in Kafka.
      }
    }
    return counts;
  }

  /** The subscribed topics with their partition counts, to notice new topics and added partitions. */
  private metadataSnapshot(): string {
    const counts = this.partitionCounts(this.subscribedTopics());
    return [...counts].map(([topic, count]) => `${topic}:${count}`).join(',');
  }

  private checkMetadata(): void {
    const now = Date.now();
    if (now - this.lastMetadataCheckMs < this.metadataMaxAgeMs) return;
    this.lastMetadataCheckMs = now;
    const snapshot = this.metadataSnapshot();
    if (snapshot !== this.subscribedSnapshot) {
      this.subscribedSnapshot = snapshot;
      this.membership?.requestRejoin();
    }
  }

  private checkPartition(topic: unknown, partition: unknown): void {
    if (typeof topic !== 'string' || topic.length === 0) throw new InvalidConfigError(`topic must be a non-empty string (got ${JSON.stringify(topic)})`);
    const count = this.broker.topicMetadata(topic, { autoCreate: false }).partitionCount;
    if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition >= count) {
      if (typeof partition === 'number' && Number.isInteger(partition)) throw new PartitionNotFoundError(topic, partition, count);
      throw new InvalidConfigError(`partition must be an integer (got ${JSON.stringify(partition)})`);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('the consumer');
  }

  private emitEvent(type: string, payload: Record<string, unknown>): void {
    if (this.listenerCount(type) === 0) return;
    this.emit(type, { id: Date.now(), type, timestamp: Date.now(), payload });
  }
}

