/**
 * The producer's side of idempotence and transactions: Kafka's TransactionManager for one
 * producer instance.
 *
 * It holds the producer id and epoch (InitProducerId), the state of the current transaction, the
 * partitions and groups already added to it, and talks to the broker's transaction coordinator.
 * Coordinator requests of one producer go one at a time (the coordinator refuses a second one
 * for an id while the first is being persisted); retriable answers (CONCURRENT_TRANSACTIONS, a
 * coordinator or shard that is not available) are retried with backoff.
 *
 * States, as Kafka's: ready (no transaction), inTransaction, committing, aborting,
 * abortableError (a batch of the transaction failed: only abort is possible), fatalError (fenced
 * by a newer instance with the same transactional id, or an idempotent producer whose sequence
 * broke: only close is possible). A fenced producer answers every call with ProducerFencedError
 * and writes nothing.
 */
import type { BrokerApi } from '../broker/broker-api.js';

/** What the transaction manager asks of the broker. */
export type TransactionBrokerApi = Pick<BrokerApi, 'initProducerId' | 'addPartitionsToTxn' | 'addOffsetsToTxn' | 'txnOffsetCommit' | 'endTxn'>;
import {
  FencedInstanceIdError,
  IllegalGenerationError,
  InvalidProducerEpochError,
  InvalidTxnStateError,
  ProducerFencedError,
  SluiceError,
  UnknownMemberIdError,
} from '../errors.js';
import type { ProducerIdentity } from './accumulator.js';

export type TransactionState = 'uninitialized' | 'ready' | 'inTransaction' | 'committing' | 'aborting' | 'abortableError' | 'fatalError';

export interface TransactionManagerOptions {
  /** null: an idempotent producer without transactions. */
  transactionalId: string | null;
  transactionTimeoutMs: number;
  /** Attempts of a coordinator request after its first, on retriable answers. */
  retries: number;
  retryBackoffMs: number;
}

/** kafkajs's sendOffsets argument; offsets as numbers or kafkajs's numeric strings. */
export interface SendOffsetsRequest {
  consumerGroupId: string;
  topics: { topic: string; partitions: { partition: number; offset: number | string; metadata?: string | null }[] }[];
  /**
   * The consuming member's group metadata (Kafka's ConsumerGroupMetadata, KIP-447): with it the
   * coordinator refuses the commit of a member that is no longer in the group's current
   * generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID), so a zombie cannot
   * commit the offsets of partitions handed to another member. Without it nothing is checked.
   */
  consumerGroupMetadata?: ConsumerGroupMetadata;
}

/** A group member's identity in one generation, as a consumer's GROUP_JOIN event reports it. */
export interface ConsumerGroupMetadata {
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
}

interface PartitionGate {
  /** Settles once the partition is part of the transaction. */
  readonly added: Promise<void>;
  /** Flipped by the first reaction to `added`: batches sent after that go straight to the broker. */
  open: boolean;
}

const MAX_RETRY_BACKOFF_MS = 1_000;

export class TransactionManager {
  readonly transactionalId: string | null;
  private readonly broker: TransactionBrokerApi;
  private readonly options: TransactionManagerOptions;
  private identityValue: ProducerIdentity = { producerId: -1, producerEpoch: -1, transactional: false };
  private stateValue: TransactionState = 'uninitialized';
  private initializing: Promise<void> | null = null;
  /** The coordinator request in progress: the next waits for it. */
  private coordinatorTail: Promise<unknown> = Promise.resolve();
  private readonly partitions = new Map<string, PartitionGate>();
  private readonly groups = new Set<string>();
  /** Partitions to add in the AddPartitionsToTxn scheduled for the end of this turn. */
  private pendingRegistration: { partitions: { topic: string; partition: number }[]; promise: Promise<void> } | null = null;
  /** Something was added to the current transaction (the coordinator has it Ongoing). */
  private begun = false;
  private error: Error | null = null;
  /** A batch of the transaction failed for good: its sequence may have a gap, so the epoch is bumped after the abort. */
  private sequenceBroken = false;
  /** Called after a new epoch is taken, when no batch is pending: the accumulator numbers from 0 again. */
  onEpochBumped: () => void = () => {};

  constructor(broker: TransactionBrokerApi, options: TransactionManagerOptions) {
    this.broker = broker;
    this.options = options;
    this.transactionalId = options.transactionalId;
  }

  /** Retries of a failed request (a batch, a coordinator call) after its first attempt. */
  get retries(): number {
    return this.options.retries;
  }

  get retryBackoffMs(): number {
    return this.options.retryBackoffMs;
  }

  get identity(): ProducerIdentity {
    return this.identityValue;
  }

  get state(): TransactionState {
    return this.stateValue;
  }

  get initialized(): boolean {
    return this.stateValue !== 'uninitialized';
  }

  /** InitProducerId once per producer (kafkajs calls it initTransactions); later calls share it. */
  ensureInitialized(): Promise<void> {
    this.initializing ??= this.coordinatorCall(async () => {
      const result = await this.broker.initProducerId({
        transactionalId: this.transactionalId,
        transactionTimeoutMs: this.options.transactionTimeoutMs,
      });
      this.identityValue = { producerId: result.producerId, producerEpoch: result.producerEpoch, transactional: this.transactionalId !== null };
      this.stateValue = 'ready';
    }).catch((error: unknown) => {
      this.initializing = null;
      throw error;
    });
    return this.initializing;
  }

  /** Throws unless records may be sent now: not fatal, and in a transaction when transactional. */
  checkCanSend(): void {
    if (this.stateValue === 'fatalError') throw this.error!;
    if (this.transactionalId === null) return;
    if (this.stateValue === 'abortableError') throw this.abortableError();
    if (this.stateValue !== 'inTransaction') {
      throw new InvalidTxnStateError(
        `transactional producer "${this.transactionalId}" sends inside a transaction: use (await producer.transaction()).send(...) (state ${this.stateValue})`,
      );
    }
  }

  /** kafkajs's producer.transaction(): starts a transaction locally; the coordinator learns of it with the first partition. */
  beginTransaction(): void {
    if (this.stateValue === 'fatalError') throw this.error!;
    if (this.stateValue !== 'ready') {
      throw new InvalidTxnStateError(
        `transactional producer "${this.transactionalId}" already has a transaction (${this.stateValue}); commit or abort it before starting another`,
      );
    }
    this.stateValue = 'inTransaction';
  }

  /** A transaction is open: begun and not yet ended (a commit that failed leaves it open, to abort). */
  get inTransaction(): boolean {
    const state = this.stateValue;
    return state === 'inTransaction' || state === 'abortableError' || state === 'committing' || state === 'aborting';
  }

  /**
   * For a transactional producer: null when batches for the partition may go to the broker now,
   * else a promise that settles once the partition is added to the transaction (AddPartitionsToTxn,
   * which Kafka requires before the partition's first batch of a transaction).
   */
  gate(topic: string, partition: number): Promise<void> | null {
    if (this.transactionalId === null) return null;
    const key = `${topic}\0${partition}`;
    const existing = this.partitions.get(key);
    if (existing !== undefined) return existing.open ? null : existing.added;
    const added = this.registration(topic, partition);
    const gate: PartitionGate = { added, open: false };
    // First reaction on `added`: every batch that chained on it before runs after, in order.
    added.then(
      () => {
        gate.open = true;
      },
      (error: unknown) => {
        this.noteFailure(error);
        if (this.partitions.get(key) === gate) this.partitions.delete(key);
      },
    );
    this.partitions.set(key, gate);
    return added;
  }

  /**
   * The partitions asked for in one turn of the event loop (a send spreads over several) go to
   * the coordinator in one AddPartitionsToTxn: one state append instead of one per partition.
   */
  private registration(topic: string, partition: number): Promise<void> {
    if (this.pendingRegistration === null) {
      const partitions: { topic: string; partition: number }[] = [];
      const promise = new Promise<void>((resolve, reject) => {
        queueMicrotask(() => {
          this.pendingRegistration = null;
          this.coordinatorCall(async () => {
            this.checkNotFenced();
            const { producerId, producerEpoch } = this.identityValue;
            await this.broker.addPartitionsToTxn({ transactionalId: this.transactionalId!, producerId, producerEpoch, partitions });
            this.begun = true;
          }).then(resolve, reject);
        });
      });
      // Each gate handles the outcome; this one only keeps an unobserved rejection quiet.
      promise.catch(() => undefined);
      this.pendingRegistration = { partitions, promise };
    }
    this.pendingRegistration.partitions.push({ topic, partition });
    return this.pendingRegistration.promise;
  }

  /** A send's batch failed for good: fenced becomes fatal; inside a transaction, it must abort. */
  noteFailure(error: unknown): Error {
    const mapped = this.fencedErrorOf(error);
    if (mapped !== null) {
      this.fatal(mapped);
      return mapped;
    }
    const failure = error instanceof Error ? error : new Error(String(error));
    if (this.transactionalId === null) {
      // Kafka before KIP-360: a lost batch leaves a gap the log refuses to skip; this producer
      // cannot continue its sequence, a new one can.
      this.fatal(
        new SluiceError(
          'IDEMPOTENT_PRODUCER_FAILED',
          `an idempotent batch failed for good (${failure.message}); later batches would leave a sequence gap, so this producer stops: create a new one`,
        ),
      );
      return failure;
    }
    this.sequenceBroken = true;
    if (this.stateValue === 'inTransaction' || this.stateValue === 'committing') this.error ??= failure;
    if (this.stateValue === 'inTransaction') this.stateValue = 'abortableError';
    return failure;
  }

  /** kafkajs's sendOffsets: adds the group to the transaction and stages its offsets there. */
  async sendOffsets(request: SendOffsetsRequest): Promise<void> {
    this.checkCanSend();
    const groupId = request.consumerGroupId;
    const offsets = request.topics.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset, metadata }) => ({ topic, partition, offset: Number(offset), metadata: metadata ?? null })),
    );
    await this.coordinatorCall(async () => {
      this.checkNotFenced();
      const { producerId, producerEpoch } = this.identityValue;
      const transactionalId = this.transactionalId!;
      try {
        if (!this.groups.has(groupId)) {
          await this.broker.addOffsetsToTxn({ transactionalId, producerId, producerEpoch, groupId });
          this.groups.add(groupId);
          this.begun = true;
        }
        const member = request.consumerGroupMetadata;
        await this.broker.txnOffsetCommit({
          transactionalId,
          producerId,
          producerEpoch,
          groupId,
          offsets,
          ...(member === undefined ? {} : { generationId: member.generationId, memberId: member.memberId, groupInstanceId: member.groupInstanceId ?? null }),
        });
      } catch (error) {
        const fenced = this.fencedErrorOf(error);
        if (fenced !== null) this.fatal(fenced);
        // The group refused the member (KIP-447): as Kafka's CommitFailedException, the
        // transaction can only be aborted, its records having been made for partitions the
        // member may no longer own.
        if (error instanceof IllegalGenerationError || error instanceof UnknownMemberIdError || error instanceof FencedInstanceIdError) {
          this.error ??= error;
          if (this.stateValue === 'inTransaction') this.stateValue = 'abortableError';
        }
        throw fenced ?? error;
      }
    });
  }

  /**
   * Commits: `flush` lets every batch of the transaction settle first; a failed one makes the
   * commit throw (the transaction must be aborted).
   */
  async commit(flush: () => Promise<void>): Promise<void> {
    this.checkCanSend();
    this.stateValue = 'committing';
    await flush();
    if (this.error !== null && (this.stateValue as TransactionState) !== 'fatalError') {
      this.stateValue = 'abortableError';
      throw this.abortableError();
    }
    await this.end(true);
  }

  /** Aborts: lets the batches in flight settle, then has the coordinator write ABORT markers. */
  async abort(flush: () => Promise<void>): Promise<void> {
    if (this.stateValue === 'fatalError') throw this.error!;
    if (!this.inTransaction) {
      throw new InvalidTxnStateError(`transactional producer "${this.transactionalId}" has no transaction to abort (state ${this.stateValue})`);
    }
    this.stateValue = 'aborting';
    await flush();
    await this.end(false);
    if (this.sequenceBroken) {
      // KIP-360: the same producer id at the next epoch, so the sequences start again at 0.
      await this.coordinatorCall(async () => {
        const { producerId, producerEpoch } = this.identityValue;
        const result = await this.broker.initProducerId({
          transactionalId: this.transactionalId,
          transactionTimeoutMs: this.options.transactionTimeoutMs,
          producerId,
          producerEpoch,
        });
        this.identityValue = { producerId: result.producerId, producerEpoch: result.producerEpoch, transactional: true };
      }).catch((error: unknown) => {
        throw this.fencedErrorOf(error) ?? error;
      });
      this.sequenceBroken = false;
      this.onEpochBumped();
    }
  }

  private async end(commit: boolean): Promise<void> {
    if (this.stateValue === 'fatalError') throw this.error!;
    if (this.begun) {
      await this.coordinatorCall(async () => {
        this.checkNotFenced();
        const { producerId, producerEpoch } = this.identityValue;
        try {
          await this.broker.endTxn({ transactionalId: this.transactionalId!, producerId, producerEpoch, committed: commit });
        } catch (error) {
          const fenced = this.fencedErrorOf(error);
          if (fenced !== null) this.fatal(fenced);
          throw fenced ?? error;
        }
      });
    }
    this.partitions.clear();
    this.groups.clear();
    this.begun = false;
    this.error = null;
    this.stateValue = 'ready';
  }

  private abortableError(): Error {
    const cause = this.error?.message ?? 'a batch failed';
    return new InvalidTxnStateError(`the transaction of "${this.transactionalId}" cannot commit: ${cause}; abort it`);
  }

  private checkNotFenced(): void {
    if (this.stateValue === 'fatalError') throw this.error!;
  }

  private fatal(error: Error): void {
    if (this.stateValue === 'fatalError') return;
    this.stateValue = 'fatalError';
    this.error = error;
  }

  /** The log's INVALID_PRODUCER_EPOCH means the same as the coordinator's PRODUCER_FENCED here. */
  private fencedErrorOf(error: unknown): ProducerFencedError | null {
    if (error instanceof ProducerFencedError) return error;
    if (error instanceof InvalidProducerEpochError) {
      const { producerId, producerEpoch } = this.identityValue;
      return new ProducerFencedError(producerId, producerEpoch, producerEpoch + 1, `the partition log (${error.message})`);
    }
    return null;
  }

  /** Runs coordinator requests one at a time, retrying retriable answers with backoff. */
  private coordinatorCall<T>(call: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await call();
        } catch (error) {
          if (!(error instanceof SluiceError) || !error.retriable || attempt >= this.options.retries) throw error;
          await sleep(Math.min(this.options.retryBackoffMs * 2 ** attempt, MAX_RETRY_BACKOFF_MS));
        }
      }
    };
    const result = this.coordinatorTail.then(run, run);
    this.coordinatorTail = result.catch(() => undefined);
    return result;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
