/**
 * The transaction coordinator: Kafka's TransactionCoordinator (KIP-98, with KIP-360 epoch bumps
 * and KIP-588 fencing errors) as a state machine that owns no storage. It answers
 * InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn, checks TxnOffsetCommit for the
 * broker, writes the commit/abort markers through the broker and aborts transactions that
 * outlive their timeout.
 *
 * What it follows from Apache Kafka:
 * - InitProducerId: an idempotent producer (no transactional id) gets a fresh producer id at
 *   epoch 0. A transactional id gets a producer id the first time, and a bumped epoch every time
 *   after, which fences the previous instance. If that instance left a transaction Ongoing, it
 *   is aborted with the epoch bumped and the caller gets CONCURRENT_TRANSACTIONS until the abort
 *   is complete (clients retry; the retry bumps the epoch again). From epoch 32766 on the id
 *   rotates: a new producer id at epoch 0.
 * - A transaction begins with the first AddPartitionsToTxn/AddOffsetsToTxn after an idle state
 *   (Empty, CompleteCommit, CompleteAbort). EndTxn persists PrepareCommit/PrepareAbort, answers,
 *   then writes the markers to every partition the transaction touched and commits or drops the
 *   groups' pending offsets, then persists CompleteCommit/CompleteAbort. Meanwhile requests for
 *   the id get CONCURRENT_TRANSACTIONS. Repeating a completed EndTxn succeeds; the opposite
 *   decision gets INVALID_TXN_STATE.
 * - Requests from an older epoch get PRODUCER_FENCED, from another producer id
 *   INVALID_PRODUCER_ID_MAPPING (the wire layer maps PRODUCER_FENCED to INVALID_PRODUCER_EPOCH
 *   for request versions that predate KIP-588, as Kafka does).
 * - Transactional writes are verified (KIP-890 part 1): before a transactional batch is appended,
 *   and for AddPartitionsToTxn v4+ verifyOnly and TxnOffsetCommit, the partition or group must
 *   be part of the Ongoing transaction of that producer id and epoch (else PRODUCER_FENCED,
 *   INVALID_PRODUCER_ID_MAPPING, TRANSACTION_ABORTABLE). A zombie is refused whether it was idle
 *   or mid-transaction when a newer instance took the id.
 * - DescribeTransactions and ListTransactions read the in-memory state.
 * - A transaction Ongoing for longer than its timeout is aborted by the coordinator with the
 *   epoch bumped, checked every abortTimedOutTransactionsIntervalMs. An idle transactional id
 *   unused for transactionalIdExpirationMs is forgotten (a tombstone is persisted).
 *
 * Durability: every state change goes through TransactionStateStore.append and takes effect
 * (and is answered) only once that resolves. `open` replays the store: a PrepareCommit or
 * PrepareAbort found there has its markers written again and is completed, so a transaction is
 * never left half-visible; an Ongoing one keeps its start time and times out as before.
 * Background work that fails (a marker write, a completion append) is retried with backoff.
 */
import {
  ClosedError,
  ConcurrentTransactionsError,
  InvalidConfigError,
  InvalidProducerIdMappingError,
  InvalidRequestError,
  InvalidTransactionTimeoutError,
  InvalidTxnStateError,
  KafkaApiError,
  ProducerFencedError,
  TransactionAbortableError,
  TransactionCoordinatorNotAvailableError,
  CorruptTransactionStateError,
  KafkaStorageError,
  NotCoordinatorError,
} from '../errors.js';
import { MAX_TIMER_DELAY_MS, systemClock, type CoordinatorClock, type TimerHandle } from './coordinator-clock.js';
import type { TopicPartitionRef } from './group-types.js';
import { TransactionMetadata } from './transaction-metadata.js';
import {
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  TRANSACTION_STATES,
  assertLegalTransition,
  isEpochExhausted,
  isIdleState,
  transactionRecordProblem,
  type TransactionLogEntry,
  type TransactionStateRecord,
} from './transaction-state.js';
import { INT32_MIN, INT32_MAX } from '../protocol/limits.js';
import type {
  TransactionStateStore,
  TxnMarker,
  TxnMarkerWriter,
  ProducerIdSource,
  InitProducerIdRequest,
  InitProducerIdResult,
  AddPartitionsToTxnRequest,
  AddOffsetsToTxnRequest,
  EndTxnRequest,
  TxnOffsetCommitCheck,
  TransactionDescription,
  TransactionListFilters,
  TransactionListing,
  TransactionCoordinatorOptions,
} from './transaction-types.js';
import {
  optionalTransactionalId,
  expectedProducer,
  requireProducer,
  requireGroupId,
  requirePartitions,
} from './transaction-validation.js';
import { integerOption, requireIntegerInRange } from '../validate.js';

export type { TransactionState, TransactionStateRecord, TransactionLogEntry } from './transaction-state.js';
export type * from './transaction-types.js';

export const DEFAULT_TRANSACTION_MAX_TIMEOUT_MS = 900_000;
export const DEFAULT_ABORT_TIMED_OUT_TRANSACTIONS_INTERVAL_MS = 10_000;
export const DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS = 7 * 24 * 3_600_000;
export const DEFAULT_REMOVE_EXPIRED_TRANSACTIONAL_IDS_INTERVAL_MS = 3_600_000;
export const DEFAULT_MARKER_RETRY_BACKOFF_MS = 100;
export const DEFAULT_MARKER_RETRY_MAX_BACKOFF_MS = 10_000;
export const DEFAULT_MAX_TRANSACTION_PARTITIONS = 10_000;

export class TransactionCoordinator {
  private readonly transactions = new Map<string, TransactionMetadata>();
  private readonly store: TransactionStateStore;
  private readonly markerWriter: TxnMarkerWriter;
  private readonly producerIds: ProducerIdSource;
  private readonly clock: CoordinatorClock;
  private readonly transactionMaxTimeoutMs: number;
  private readonly abortTimedOutTransactionsIntervalMs: number;
  private readonly transactionalIdExpirationMs: number;
  private readonly removeExpiredTransactionalIdsIntervalMs: number;
  private readonly markerRetryBackoffMs: number;
  private readonly markerRetryMaxBackoffMs: number;
  private readonly coordinatorEpoch: number;
  private readonly maxTransactionPartitions: number;
  private readonly onBackgroundError: (error: Error) => void;
  private abortTimer: TimerHandle | null = null;
  private expirationTimer: TimerHandle | null = null;
  private closed = false;

  /**
   * Loads the store, then starts: transactions found prepared are completed in the background,
   * and the timeout and expiration checks are scheduled.
   */
  static async open(options: TransactionCoordinatorOptions): Promise<TransactionCoordinator> {
    const coordinator = new TransactionCoordinator(options);
    let entries: readonly TransactionLogEntry[];
    try {
      entries = await coordinator.store.load();
    } catch (error) {
      throw storeError(error, 'the transaction state could not be loaded');
    }
    coordinator.restore(entries);
    coordinator.start();
    return coordinator;
  }

  private constructor(options: TransactionCoordinatorOptions) {
    if (
      options === null ||
      typeof options !== 'object' ||
      options.stateStore === undefined ||
      options.markerWriter === undefined ||
      options.producerIds === undefined
    ) {
      throw new InvalidConfigError('TransactionCoordinator needs options with a stateStore, a markerWriter and producerIds');
    }
    this.store = options.stateStore;
    this.markerWriter = options.markerWriter;
    this.producerIds = options.producerIds;
    this.clock = options.clock ?? systemClock;
    this.transactionMaxTimeoutMs = integerOption('transactionMaxTimeoutMs', options.transactionMaxTimeoutMs, DEFAULT_TRANSACTION_MAX_TIMEOUT_MS, 1, INT32_MAX);
    this.abortTimedOutTransactionsIntervalMs = integerOption(
      'abortTimedOutTransactionsIntervalMs',
      options.abortTimedOutTransactionsIntervalMs,
      DEFAULT_ABORT_TIMED_OUT_TRANSACTIONS_INTERVAL_MS,
      1,
      MAX_TIMER_DELAY_MS,
    );
    this.transactionalIdExpirationMs = integerOption(
      'transactionalIdExpirationMs',
      options.transactionalIdExpirationMs,
      DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    this.removeExpiredTransactionalIdsIntervalMs = integerOption(
      'removeExpiredTransactionalIdsIntervalMs',
      options.removeExpiredTransactionalIdsIntervalMs,
      DEFAULT_REMOVE_EXPIRED_TRANSACTIONAL_IDS_INTERVAL_MS,
      1,
      MAX_TIMER_DELAY_MS,
    );
    this.markerRetryBackoffMs = integerOption('markerRetryBackoffMs', options.markerRetryBackoffMs, DEFAULT_MARKER_RETRY_BACKOFF_MS, 1, MAX_TIMER_DELAY_MS);
    this.markerRetryMaxBackoffMs = integerOption(
      'markerRetryMaxBackoffMs',
      options.markerRetryMaxBackoffMs,
      Math.max(DEFAULT_MARKER_RETRY_MAX_BACKOFF_MS, this.markerRetryBackoffMs),
      this.markerRetryBackoffMs,
      MAX_TIMER_DELAY_MS,
    );
    this.coordinatorEpoch = integerOption('coordinatorEpoch', options.coordinatorEpoch, 0, 0, INT32_MAX);
    this.maxTransactionPartitions = integerOption(
      'maxTransactionPartitions',
      options.maxTransactionPartitions,
      DEFAULT_MAX_TRANSACTION_PARTITIONS,
      1,
      INT32_MAX,
    );
    this.onBackgroundError = options.onBackgroundError ?? (() => {});
  }

  // ---- InitProducerId ----

  async initProducerId(request: InitProducerIdRequest): Promise<InitProducerIdResult> {
    this.checkOpen();
    if (request === null || typeof request !== 'object') throw new InvalidRequestError('InitProducerId needs a request object');
    const transactionalId = optionalTransactionalId(request.transactionalId);
    const transactionTimeoutMs = requireIntegerInRange('InitProducerId transactionTimeoutMs', request.transactionTimeoutMs, INT32_MIN, INT32_MAX);
    const expected = expectedProducer(request.producerId, request.producerEpoch);
    if (transactionalId === null) {
      return { producerId: await this.allocateProducerId(), producerEpoch: 0 };
    }
    if (transactionTimeoutMs <= 0 || transactionTimeoutMs > this.transactionMaxTimeoutMs) {
      throw new InvalidTransactionTimeoutError(transactionTimeoutMs, this.transactionMaxTimeoutMs);
    }
    const metadata = this.transactions.get(transactionalId) ?? (await this.createTransactionalId(transactionalId, transactionTimeoutMs));
    this.checkOpen();
    if (metadata.pendingState !== null) throw concurrent(metadata, 'another request for it is being persisted');
    if (expected !== null && !acceptsInitFrom(metadata, expected)) {
      throw new ProducerFencedError(expected.producerId, expected.producerEpoch, metadata.producerEpoch, `transactional id "${transactionalId}"`);
    }
    switch (metadata.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
        throw concurrent(metadata, `its transaction is completing (${metadata.state})`);
      case 'Ongoing':
        // Fence the previous instance and abort its transaction; the client retries until it is done.
        await this.persist(metadata, metadata.fencingAbort(this.clock.nowMs()));
        this.startCompletion(metadata);
        throw concurrent(metadata, "the previous producer's open transaction is being aborted");
      case 'Empty':
      case 'CompleteCommit':
      case 'CompleteAbort': {
        let record: TransactionStateRecord | null;
        if (isEpochExhausted(metadata.producerEpoch) && (expected === null || expected.producerEpoch === metadata.producerEpoch)) {
          const newProducerId = await this.reserveWhile(metadata, () => this.allocateProducerId());
          record = metadata.producerIdRotation(newProducerId, transactionTimeoutMs, this.clock.nowMs(), expected !== null);
        } else {
          record = metadata.epochBump(transactionTimeoutMs, this.clock.nowMs(), expected?.producerEpoch ?? null);
          if (record === null) {
            throw new ProducerFencedError(expected!.producerId, expected!.producerEpoch, metadata.producerEpoch, `transactional id "${transactionalId}"`);
          }
        }
        await this.persist(metadata, record);
        return { producerId: record.producerId, producerEpoch: record.producerEpoch };
      }
      case 'Dead':
        throw new Error(`invariant: transactional id "${transactionalId}" is Dead without a pending removal`);
    }
  }

  /** A new id is registered at once (pending), so a concurrent InitProducerId for it waits its turn. */
  private async createTransactionalId(transactionalId: string, transactionTimeoutMs: number): Promise<TransactionMetadata> {
    const metadata = TransactionMetadata.created(transactionalId, transactionTimeoutMs, this.clock.nowMs());
    this.transactions.set(transactionalId, metadata);
    try {
      metadata.producerId = await this.reserveWhile(metadata, () => this.allocateProducerId());
    } catch (error) {
      if (this.transactions.get(transactionalId) === metadata) this.transactions.delete(transactionalId);
      throw error;
    }
    return metadata;
  }

  /** Runs `work` with the id marked pending, so no other request interleaves with it. */
  private async reserveWhile<T>(metadata: TransactionMetadata, work: () => Promise<T>): Promise<T> {
    metadata.pendingState = metadata.state;
    try {
      return await work();
    } finally {
      metadata.pendingState = null;
    }
  }

  private async allocateProducerId(): Promise<number> {
    try {
      return await this.producerIds.nextId();
    } catch (error) {
      throw storeError(error, 'no producer id could be allocated');
    }
  }

  // ---- AddPartitionsToTxn, AddOffsetsToTxn ----

  /** Adds partitions to the producer's transaction (starting it), persisted before this resolves. */
  async addPartitionsToTxn(request: AddPartitionsToTxnRequest): Promise<void> {
    this.checkOpen();
    const { transactionalId, producerId, producerEpoch } = requireProducer(request, 'AddPartitionsToTxn');
    const partitions = requirePartitions(request.partitions);
    await this.addToTransaction(transactionalId, producerId, producerEpoch, partitions, []);
  }

  /**
   * Adds a consumer group to the producer's transaction: its offsets staged with TxnOffsetCommit
   * are committed or dropped with the markers (Kafka adds the group's __consumer_offsets partition).
   */
  async addOffsetsToTxn(request: AddOffsetsToTxnRequest): Promise<void> {
    this.checkOpen();
    const { transactionalId, producerId, producerEpoch } = requireProducer(request, 'AddOffsetsToTxn');
    const groupId = requireGroupId(request.groupId);
    await this.addToTransaction(transactionalId, producerId, producerEpoch, [], [groupId]);
  }

  private async addToTransaction(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly TopicPartitionRef[],
    groupIds: readonly string[],
  ): Promise<void> {
    const metadata = this.producerTransaction(transactionalId, producerId, producerEpoch);
    if (metadata.pendingState !== null) throw concurrent(metadata, 'another request for it is being persisted');
    if (metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort') {
      throw concurrent(metadata, `its previous transaction is completing (${metadata.state})`);
    }
    // Kafka's shortcut: nothing new, nothing to persist.
    if (metadata.state === 'Ongoing' && metadata.containsAll(partitions, groupIds)) return;
    const size = metadata.sizeWith(partitions, groupIds);
    if (size > this.maxTransactionPartitions) {
      throw new InvalidRequestError(
        `transactional id "${transactionalId}" would hold ${size} partitions and groups in one transaction, over ` +
          `maxTransactionPartitions (${this.maxTransactionPartitions}); commit more often or raise the limit`,
      );
    }
    await this.persist(metadata, metadata.addToTransaction(partitions, groupIds, this.clock.nowMs()));
  }

  // ---- EndTxn ----

  /**
   * Commits or aborts the producer's transaction. Resolves once the decision is durable; the
   * markers follow in the background, and the id answers CONCURRENT_TRANSACTIONS until they are
   * written and the completion is persisted.
   */
  async endTxn(request: EndTxnRequest): Promise<void> {
    this.checkOpen();
    const { transactionalId, producerId, producerEpoch } = requireProducer(request, 'EndTxn');
    if (typeof request.committed !== 'boolean') throw new InvalidRequestError('EndTxn committed must be a boolean');
    const commit = request.committed;
    const metadata = this.producerTransaction(transactionalId, producerId, producerEpoch);
    if (metadata.pendingState !== null) throw concurrent(metadata, 'another request for it is being persisted');
    const decision = commit ? 'commit' : 'abort';
    switch (metadata.state) {
      case 'Ongoing':
        await this.persist(metadata, metadata.prepareEnd(commit, this.clock.nowMs()));
        this.startCompletion(metadata);
        return;
      case 'CompleteCommit':
      case 'CompleteAbort':
        // A retry of the EndTxn that completed it succeeds; the opposite decision cannot.
        if ((metadata.state === 'CompleteCommit') === commit) return;
        throw new InvalidTxnStateError(`transactional id "${transactionalId}" cannot ${decision}: its last transaction ended ${metadata.state}`);
      case 'PrepareCommit':
      case 'PrepareAbort':
        if ((metadata.state === 'PrepareCommit') === commit) throw concurrent(metadata, `its ${decision} is completing`);
        throw new InvalidTxnStateError(`transactional id "${transactionalId}" cannot ${decision}: it is in ${metadata.state}`);
      case 'Empty':
        throw new InvalidTxnStateError(
          `transactional id "${transactionalId}" has no transaction to ${decision}: nothing was added to one since InitProducerId`,
        );
      case 'Dead':
        throw new Error(`invariant: transactional id "${transactionalId}" is Dead without a pending removal`);
    }
  }

  // ---- Verification (KIP-890 part 1) ----

  /**
   * Kafka's handleVerifyPartitionsInTransaction: the check a partition leader makes before it
   * appends a transactional batch, and AddPartitionsToTxn v4+ with verifyOnly. Throws
   * INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (an older epoch: a zombie, idle or not), or
   * CONCURRENT_TRANSACTIONS while the transaction completes; otherwise returns the partitions and
   * groups that are not part of the producer's ongoing transaction (each TRANSACTION_ABORTABLE).
   * A pending state is not checked, as in Kafka: a write verified while a commit or a fencing
   * abort is being persisted lands before that decision's markers, so the decision covers it.
   */
  verifyInTransaction(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly TopicPartitionRef[],
    groupIds: readonly string[] = [],
  ): { partitions: TopicPartitionRef[]; groupIds: string[] } {
    this.checkOpen();
    const checked = requireProducer({ transactionalId, producerId, producerEpoch }, 'the transaction verification');
    const metadata = this.producerTransaction(checked.transactionalId, checked.producerId, checked.producerEpoch);
    if (metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort') {
      throw concurrent(metadata, `its transaction is completing (${metadata.state})`);
    }
    const ongoing = metadata.state === 'Ongoing';
    return {
      partitions: partitions.filter(({ topic, partition }) => !ongoing || metadata.partitions.get(topic)?.has(partition) !== true),
      groupIds: groupIds.filter((groupId) => !ongoing || !metadata.groupIds.has(groupId)),
    };
  }

  // ---- TxnOffsetCommit ----

  /**
   * The check the broker makes before staging a TxnOffsetCommit, as Kafka 3.9 verifies the
   * group's offsets partition: the producer owns the transactional id at this epoch (else
   * PRODUCER_FENCED), its transaction is not completing, and it includes the group through
   * AddOffsetsToTxn (else TRANSACTION_ABORTABLE), so the staged offsets are certain to be
   * completed by markers.
   */
  validateTxnOffsetCommit(request: TxnOffsetCommitCheck): void {
    this.checkOpen();
    const { transactionalId, producerId, producerEpoch } = requireProducer(request, 'TxnOffsetCommit');
    const groupId = requireGroupId(request.groupId);
    const missing = this.verifyInTransaction(transactionalId, producerId, producerEpoch, [], [groupId]);
    const metadata = this.transactions.get(transactionalId)!;
    // Offsets staged once the decision is being persisted could miss its completion: unlike a
    // batch, staging is not ordered before the markers, so wait for the decision instead.
    if (metadata.pendingState === 'PrepareCommit' || metadata.pendingState === 'PrepareAbort') {
      throw concurrent(metadata, `its transaction is completing (${metadata.pendingState})`);
    }
    if (missing.groupIds.length > 0) {
      throw new TransactionAbortableError(transactionalId, `group "${groupId}" (call AddOffsetsToTxn, producer.sendOffsets, before TxnOffsetCommit)`);
    }
  }

  // ---- Describe ----

  /** Kafka's DescribeTransactions for one id, or null when the coordinator does not know it. */
  describeTransaction(transactionalId: string): TransactionDescription | null {
    this.checkOpen();
    const metadata = this.transactions.get(transactionalId);
    // An id whose first producer id is still being allocated is not known yet.
    if (metadata === undefined || metadata.producerId === NO_PRODUCER_ID) return null;
    return {
      transactionalId,
      state: metadata.state,
      producerId: metadata.producerId,
      producerEpoch: metadata.producerEpoch,
      transactionTimeoutMs: metadata.transactionTimeoutMs,
      txnStartTimestampMs: metadata.txnStartTimestampMs,
      partitions: metadata.partitionList(),
      groupIds: [...metadata.groupIds],
    };
  }

  /**
   * Kafka's ListTransactions (TransactionStateManager.listTransactionStates): every id, or those
   * whose state is one of `states` (names Kafka does not know are returned as unknown and match
   * nothing), whose producer id is one of `producerIds`, and (durationMs >= 0) whose transaction
   * began more than durationMs ago. Empty filters select everything.
   */
  listTransactions(filters: TransactionListFilters = {}): TransactionListing {
    this.checkOpen();
    if (filters === null || typeof filters !== 'object') throw new InvalidRequestError('listTransactions filters must be an object');
    const stateNames = filters.states ?? [];
    const producerIds = new Set(filters.producerIds ?? []);
    const durationMs = filters.durationMs ?? -1;
    if (!Array.isArray(stateNames) || !stateNames.every((name) => typeof name === 'string')) {
      throw new InvalidRequestError('listTransactions states must be an array of state names');
    }
    if (!Number.isSafeInteger(durationMs)) throw new InvalidRequestError(`listTransactions durationMs must be an integer, got ${String(durationMs)}`);
    const states = new Set<string>();
    const unknownStates: string[] = [];
    for (const name of stateNames) {
      // Dead is transient in Kafka (an id being removed) and never listed; PrepareEpochFence never lives here.
      if ((TRANSACTION_STATES as readonly string[]).includes(name) || name === 'PrepareEpochFence') states.add(name);
      else unknownStates.push(name);
    }
    const nowMs = this.clock.nowMs();
    const transactions: TransactionListing['transactions'] = [];
    for (const metadata of this.transactions.values()) {
      if (metadata.state === 'Dead' || metadata.producerId === NO_PRODUCER_ID) continue;
      if (producerIds.size > 0 && !producerIds.has(metadata.producerId)) continue;
      if (stateNames.length > 0 && !states.has(metadata.state)) continue;
      if (durationMs >= 0 && nowMs - metadata.txnStartTimestampMs <= durationMs) continue;
      transactions.push({ transactionalId: metadata.transactionalId, producerId: metadata.producerId, state: metadata.state });
    }
    return { unknownStates, transactions };
  }

  // ---- Lifecycle ----

  /**
   * Stops every timer; background completions stop at their next step (storage holds the
   * decision, so the next open() finishes them). Calls after this get ClosedError. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.abortTimer !== null) this.clock.clearTimeout(this.abortTimer);
    if (this.expirationTimer !== null) this.clock.clearTimeout(this.expirationTimer);
    this.abortTimer = null;
    this.expirationTimer = null;
    for (const metadata of this.transactions.values()) {
      if (metadata.retryTimer !== null) this.clock.clearTimeout(metadata.retryTimer);
      metadata.retryTimer = null;
    }
    this.transactions.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('transaction coordinator');
  }

  /** The id's metadata, after Kafka's ownership checks: same producer id, same epoch. */
  private producerTransaction(transactionalId: string, producerId: number, producerEpoch: number): TransactionMetadata {
    const metadata = this.transactions.get(transactionalId);
    if (metadata === undefined || metadata.producerId === NO_PRODUCER_ID) {
      throw new InvalidProducerIdMappingError(transactionalId, producerId, null);
    }
    if (metadata.producerId !== producerId) {
      throw new InvalidProducerIdMappingError(transactionalId, producerId, metadata.producerId);
    }
    if (metadata.producerEpoch !== producerEpoch) {
      throw new ProducerFencedError(producerId, producerEpoch, metadata.producerEpoch, `transactional id "${transactionalId}"`);
    }
    return metadata;
  }

  /**
   * Persists `record`, then applies it. The id is pending meanwhile; on failure nothing changes
   * and the caller gets a retriable error.
   */
  private async persist(metadata: TransactionMetadata, record: TransactionStateRecord): Promise<void> {
    // After close() nothing more is written: the next open() starts from what is stored.
    this.checkOpen();
    if (metadata.pendingState !== null) throw new Error(`invariant: "${metadata.transactionalId}" already has a pending ${metadata.pendingState}`);
    const problem = transactionRecordProblem(record);
    if (problem !== null) throw new Error(`invariant: transactional id "${record.transactionalId}" record: ${problem}`);
    metadata.pendingState = record.state;
    try {
      await this.store.append(record);
    } catch (error) {
      throw storeError(error, `the state of transactional id "${metadata.transactionalId}" could not be stored`);
    } finally {
      metadata.pendingState = null;
    }
    metadata.apply(record);
  }

  // ---- Markers and completion ----

  /** Writes the markers of a PrepareCommit/PrepareAbort, then persists its completion; retried until done. */
  private startCompletion(metadata: TransactionMetadata): void {
    if (this.closed || metadata.completing) return;
    if (metadata.state !== 'PrepareCommit' && metadata.state !== 'PrepareAbort') {
      throw new Error(`invariant: completion of "${metadata.transactionalId}" started in ${metadata.state}`);
    }
    metadata.completing = true;
    const marker: TxnMarker = {
      producerId: metadata.producerId,
      producerEpoch: metadata.producerEpoch,
      commit: metadata.state === 'PrepareCommit',
      coordinatorEpoch: this.coordinatorEpoch,
    };
    const step = { partitions: metadata.partitionList(), groupIds: [...metadata.groupIds], attempt: 0 };
    void this.runCompletion(metadata, marker, step);
  }

  private async runCompletion(
    metadata: TransactionMetadata,
    marker: TxnMarker,
    step: { partitions: TopicPartitionRef[]; groupIds: string[]; attempt: number },
  ): Promise<void> {
    const failures: Error[] = [];
    const work: Promise<void>[] = [];
    if (step.partitions.length > 0) {
      await callAsync(() => this.markerWriter.writeMarkers(step.partitions, marker)).then(
        () => {
          step.partitions = [];
        },
        (error) => {
          failures.push(asError(error, `the ${marker.commit ? 'commit' : 'abort'} markers of "${metadata.transactionalId}" could not be written`));
        },
      );
    }
    // The groups' offsets only once every marker is written: a reader that waits for stable
    // offsets (OffsetFetch's require_stable, a stream task taken over) then finds the
    // transaction's records decided in every partition it wrote, its changelogs included.
    for (const groupId of step.partitions.length === 0 ? step.groupIds : []) {
      work.push(
        callAsync(() => this.markerWriter.completeGroupOffsets(groupId, marker)).then(
          () => {
            step.groupIds = step.groupIds.filter((id) => id !== groupId);
          },
          (error) => {
            failures.push(asError(error, `the offsets of group "${groupId}" in the transaction of "${metadata.transactionalId}" could not be completed`));
          },
        ),
      );
    }
    await Promise.all(work);
    if (this.closed) return;
    if (failures.length === 0) {
      try {
        await this.persist(metadata, metadata.complete(this.clock.nowMs()));
        metadata.completing = false;
        return;
      } catch (error) {
        failures.push(asError(error, `the completion of "${metadata.transactionalId}" could not be stored`));
      }
      if (this.closed) return;
    }
    for (const failure of failures) this.reportBackgroundError(failure);
    const delayMs = Math.min(this.markerRetryBackoffMs * 2 ** Math.min(step.attempt, 30), this.markerRetryMaxBackoffMs);
    step.attempt++;
    metadata.retryTimer = this.clock.setTimeout(() => {
      metadata.retryTimer = null;
      if (!this.closed) void this.runCompletion(metadata, marker, step);
    }, delayMs);
    unrefTimer(metadata.retryTimer);
  }

  private reportBackgroundError(error: Error): void {
    try {
      this.onBackgroundError(error);
    } catch {
      // A failing observer must not stop the coordinator's own retries.
    }
  }

  // ---- Timeouts and expiration ----

  private start(): void {
    for (const metadata of this.transactions.values()) {
      if (metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort') this.startCompletion(metadata);
    }
    this.scheduleAbortCheck();
    this.scheduleExpirationCheck();
  }

  private scheduleAbortCheck(): void {
    this.abortTimer = this.clock.setTimeout(() => {
      this.abortTimer = null;
      if (this.closed) return;
      this.abortTimedOutTransactions();
      this.scheduleAbortCheck();
    }, this.abortTimedOutTransactionsIntervalMs);
    unrefTimer(this.abortTimer);
  }

  private scheduleExpirationCheck(): void {
    this.expirationTimer = this.clock.setTimeout(() => {
      this.expirationTimer = null;
      if (this.closed) return;
      this.removeExpiredTransactionalIds();
      this.scheduleExpirationCheck();
    }, this.removeExpiredTransactionalIdsIntervalMs);
    unrefTimer(this.expirationTimer);
  }

  /** Kafka's abortTimedOutTransactions: Ongoing past its timeout -> PrepareAbort with the epoch bumped. */
  private abortTimedOutTransactions(): void {
    const nowMs = this.clock.nowMs();
    for (const metadata of this.transactions.values()) {
      if (metadata.pendingState !== null || metadata.state !== 'Ongoing') continue;
      if (metadata.txnStartTimestampMs + metadata.transactionTimeoutMs >= nowMs) continue;
      this.persist(metadata, metadata.fencingAbort(nowMs)).then(
        () => this.startCompletion(metadata),
        (error) => this.reportBackgroundError(asError(error, `the timed-out transaction of "${metadata.transactionalId}" could not be aborted`)),
      );
    }
  }

  /** Kafka's removeExpiredTransactionalIds: idle ids unused for transactionalIdExpirationMs are forgotten. */
  private removeExpiredTransactionalIds(): void {
    const nowMs = this.clock.nowMs();
    for (const metadata of this.transactions.values()) {
      if (metadata.pendingState !== null || !isIdleState(metadata.state)) continue;
      if (metadata.txnLastUpdateTimestampMs > nowMs - this.transactionalIdExpirationMs) continue;
      void this.expire(metadata);
    }
  }

  private async expire(metadata: TransactionMetadata): Promise<void> {
    metadata.pendingState = 'Dead';
    try {
      await this.store.append({ transactionalId: metadata.transactionalId, state: 'Dead' });
    } catch (error) {
      metadata.pendingState = null;
      this.reportBackgroundError(asError(error, `expired transactional id "${metadata.transactionalId}" could not be removed`));
      return;
    }
    metadata.pendingState = null;
    assertLegalTransition(metadata.transactionalId, metadata.state, 'Dead');
    metadata.state = 'Dead';
    if (this.transactions.get(metadata.transactionalId) === metadata) this.transactions.delete(metadata.transactionalId);
  }

  // ---- Recovery ----

  private restore(entries: readonly TransactionLogEntry[]): void {
    if (!Array.isArray(entries)) throw new CorruptTransactionStateError('the loaded transaction state', 'load() did not return an array');
    const latest = new Map<string, TransactionStateRecord>();
    entries.forEach((entry, i) => {
      const problem = transactionRecordProblem(entry);
      if (problem !== null) throw new CorruptTransactionStateError(`entry ${i} of the loaded transaction state`, problem);
      if (entry.state === 'Dead') latest.delete(entry.transactionalId);
      else latest.set(entry.transactionalId, entry);
    });
    for (const [transactionalId, record] of latest) this.transactions.set(transactionalId, TransactionMetadata.fromRecord(record));
  }
}

/** KIP-360's check that an InitProducerId carrying an id and epoch comes from this id's producer. */
function acceptsInitFrom(metadata: TransactionMetadata, expected: { producerId: number; producerEpoch: number }): boolean {
  return (
    metadata.producerEpoch === NO_PRODUCER_EPOCH ||
    expected.producerId === metadata.producerId ||
    // A retry of an InitProducerId that rotated the id because the epoch was exhausted.
    (expected.producerId === metadata.lastProducerId && isEpochExhausted(expected.producerEpoch))
  );
}

function concurrent(metadata: TransactionMetadata, detail: string): ConcurrentTransactionsError {
  return new ConcurrentTransactionsError(metadata.transactionalId, detail);
}

// ---- Helpers ----

/** A store or allocator failure as the client sees it: Kafka errors pass through, anything else is retriable. */
function storeError(error: unknown, what: string): KafkaApiError {
  // Kafka's transaction coordinator answers a failed append of its own with NOT_COORDINATOR.
  if (error instanceof KafkaStorageError) return new NotCoordinatorError(`${what} (${error.message})`, { cause: error });
  if (error instanceof KafkaApiError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new TransactionCoordinatorNotAvailableError(`${what} (${reason})`, { cause: error });
}

function asError(error: unknown, what: string): Error {
  const reason = error instanceof Error ? error.message : String(error);
  const wrapped = new Error(`${what}: ${reason}; retrying`);
  wrapped.cause = error;
  return wrapped;
}

/** Runs a writer call so that a synchronous throw becomes a rejection. */
function callAsync(call: () => Promise<void>): Promise<void> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Background timers (the periodic checks, completion retries) must not keep an embedding process
 * alive: what they would finish is durable and open() finishes it.
 */
function unrefTimer(handle: TimerHandle): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}
