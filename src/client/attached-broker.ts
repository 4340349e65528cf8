/**
 * What producers and consumers on a thread attached to a broker (Sluice.attach) talk to. Appends
 * go straight to the shards over the thread's own ring pair on each shard (ShardLink), so a batch
 * is copied once into shared memory and never structured-cloned, and the opening thread's event
 * loop is not on the data path at all. Reads need no shard at all: as the broker's own fetch, they
 * take the offsets from the shared partition state table and the bytes from the log's files
 * (partition-read.ts), with this thread's LogReaders. Topic placement (which shard, slot and
 * directory hold each partition) and producer ids come from the opening thread over the control
 * plane (thread-messages.ts), and are rare. Consumer groups stay on the opening thread.
 *
 * A topic's placement is a snapshot: read again after metadataMaxAgeMs (Kafka's
 * metadata.max.age.ms, so partitions added later are seen), and at once when a shard refuses an
 * append because the slot was closed or reopened since (StaleTopicMetadataError: the topic was
 * deleted or recreated), which the open generation each append carries detects; a read checks
 * the generation the state table holds for the slot, before and after it reads.
 */
import { isMainThread, receiveMessageOnPort, MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Acks, FetchPartitionResult, IsolationLevel, ProduceOptions, ProduceResult, TopicPartitionOffsets } from '../broker/broker-api.js';
import type { GroupCoordinatorApi } from '../broker/group-types.js';
import { fetchFromLog, waitForLogData } from '../broker/partition-read.js';
import { PartitionStateTable, emptySnapshot } from '../shard/partition-state.js';
import { LogReader } from '../storage/log-reader.js';
import type { TopicPlacement } from '../broker/broker.js';
import type { InitProducerIdRequest, InitProducerIdResult } from '../broker/transaction-types.js';
import { ClosedError, InvalidConfigError, InvalidRequestError, PartitionNotFoundError, SluiceError, StaleTopicMetadataError } from '../errors.js';
import { RingBuffer } from '../shard/ring.js';
import { ShardLink } from '../shard/shard-link.js';
import { APPEND_FLAG_CRC_UNSET, APPEND_FLAG_CRC_VERIFIED, APPEND_GENERATION_SHIFT, reviveError, type SerializedError } from '../shard/shard-messages.js';
import type { AttachedRingPair } from '../shard/shard-pool.js';
import type { TopicMetadata } from '../storage/topic-store.js';
import { integerOption } from '../validate.js';
import type { ProducerBrokerApi } from './producer.js';
import type { ConsumerBrokerApi } from './consumer.js';
import type { AttachedRequest, HostMessage, PlacementAnswer, PlacementRequest, SluiceHandle } from './thread-messages.js';

export interface AttachOptions {
  /** How long a topic placement read from the opening thread stays fresh (Kafka's metadata.max.age.ms). Default 300000. */
  metadataMaxAgeMs?: number;
  /** How long a placement read may block this thread (Kafka's max.block.ms). Default 60000. */
  maxBlockMs?: number;
}

const DEFAULT_METADATA_MAX_AGE_MS = 300_000;
const DEFAULT_MAX_BLOCK_MS = 60_000;

/** Thrown when an attached thread's placement read got no answer within maxBlockMs. */
function placementTimeout(topic: string, maxBlockMs: number): SluiceError {
  return new SluiceError(
    'REQUEST_TIMED_OUT',
    `the thread that opened the broker did not answer for topic "${topic}" within ${maxBlockMs} ms (maxBlockMs); ` +
      'its event loop may be blocked: retry, or raise maxBlockMs',
    true,
  );
}

/** Transactions need the opening thread: its broker verifies a transactional batch in the turn it queues it. */
export function transactionsNotAttached(): InvalidConfigError {
  return new InvalidConfigError(
    'transactional producers run on the thread that opened the broker (it verifies each transactional batch as it ' +
      'queues it); an attached thread takes plain and idempotent producers',
  );
}

/** Consumer groups need the opening thread: its coordinator owns their membership and offsets. */
export function groupsNotAttached(): InvalidConfigError {
  return new InvalidConfigError(
    'consumer groups run on the thread that opened the broker; a consumer on an attached thread reads the partitions it is given with assign()',
  );
}

/** A partition this thread reads: where it is, and the thread's reader of its files. */
interface ReadTarget {
  readonly slot: number;
  readonly shard: number;
  readonly generation: number;
  readonly reader: LogReader;
}

interface CachedPlacement {
  readonly placement: TopicPlacement;
  readonly readAtMs: number;
}

export class AttachedBroker implements ProducerBrokerApi, ConsumerBrokerApi {
  private readonly port: MessagePort;
  private readonly syncPort: MessagePort;
  private readonly syncWord: Int32Array;
  private readonly links: ShardLink[] = [];
  private readonly placements = new Map<string, CachedPlacement>();
  private readonly calls = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly metadataMaxAgeMs: number;
  private readonly maxBlockMs: number;
  private nextCallId = 1;
  private closedBy: string | null = null;
  private stateTable: PartitionStateTable | null = null;
  private readonly readers = new Map<string, ReadTarget>();
  private readonly snapshot = emptySnapshot();

  private constructor(port: MessagePort, syncPort: MessagePort, syncWord: Int32Array, options: Required<AttachOptions>) {
    this.port = port;
    this.syncPort = syncPort;
    this.syncWord = syncWord;
    this.metadataMaxAgeMs = options.metadataMaxAgeMs;
    this.maxBlockMs = options.maxBlockMs;
  }

  /** Attaches this thread through `handle` (see Sluice.attach). */
  static async attach(handle: SluiceHandle, options: AttachOptions = {}): Promise<AttachedBroker> {
    const resolved = resolveAttachOptions(options);
    if (isMainThread) {
      throw new InvalidConfigError('Sluice.attach runs in a worker thread; the thread that opened the broker uses its Sluice directly');
    }
    if (handle === null || typeof handle !== 'object' || handle.kind !== 'sluice-handle' || !isMessagePort(handle.port)) {
      throw new InvalidConfigError(
        'Sluice.attach takes the handle made by sluice.handle() on the opening thread, passed with its port in the ' +
          'transfer list (new Worker(file, { workerData: { handle }, transferList: [handle.port] }))',
      );
    }
    const { port1: syncPort, port2: hostSyncPort } = new MessageChannel();
    const syncWord = new Int32Array(new SharedArrayBuffer(4));
    const broker = new AttachedBroker(handle.port, syncPort, syncWord, resolved);
    const attached = new Promise<{ rings: AttachedRingPair[]; stateTable: SharedArrayBuffer }>((resolve, reject) => {
      handle.port.once('message', (message: HostMessage) => {
        if (message.op === 'attached') resolve(message);
        else if (message.op === 'refused') reject(reviveError(message.error, 'the thread that opened the broker'));
        else reject(new InvalidRequestError(`attach got "${message.op}" before its answer`));
      });
      handle.port.once('close', () => reject(new ClosedError('sluice handle')));
    });
    const request: AttachedRequest = { op: 'attach', syncPort: hostSyncPort, syncWord: syncWord.buffer as SharedArrayBuffer };
    handle.port.postMessage(request, [hostSyncPort]);
    let answer: { rings: AttachedRingPair[]; stateTable: SharedArrayBuffer };
    try {
      answer = await attached;
    } catch (error) {
      handle.port.close();
      syncPort.close();
      throw error;
    }
    for (const pair of answer.rings) broker.links[pair.shardId] = linkOver(pair);
    broker.stateTable = PartitionStateTable.from(answer.stateTable);
    handle.port.on('message', (message: HostMessage) => broker.onHostMessage(message));
    handle.port.on('close', () => broker.end('the thread that opened the broker closed it'));
    return broker;
  }

  topicMetadata(topic: string, options: { autoCreate?: boolean } = {}): TopicMetadata {
    return this.placementOf(topic, options.autoCreate === true).metadata;
  }

  produce(topic: string, partition: number, batches: Buffer, acks: Acks, options: ProduceOptions = {}): Promise<ProduceResult> {
    if (this.closedBy !== null) return Promise.reject(new ClosedError(`attached sluice (${this.closedBy})`));
    if (options.transactionalId !== undefined && options.transactionalId !== null) return Promise.reject(transactionsNotAttached());
    let target: TopicPlacement['partitions'][number];
    try {
      const placement = this.placementOf(topic, false);
      target = placement.partitions[partition];
      if (target === undefined) throw new PartitionNotFoundError(topic, partition, placement.partitions.length);
    } catch (error) {
      return Promise.reject(error);
    }
    // The generation fits bits 3-31; >>> 0 keeps the word an unsigned 32-bit value.
    const crcFlag = options.crcUnset === true ? APPEND_FLAG_CRC_UNSET : options.crcVerified === true ? APPEND_FLAG_CRC_VERIFIED : 0;
    const flags = ((target.generation << APPEND_GENERATION_SHIFT) | crcFlag) >>> 0;
    return this.links[target.shard].append(target.slot, batches, acks, flags).then(
      (outcome) => ({
        topic,
        partition,
        baseOffset: outcome.baseOffset,
        lastOffset: outcome.lastOffset,
        logAppendTimeMs: outcome.logAppendTimeMs,
        logStartOffset: outcome.logStartOffset,
      }),
      (error: unknown) => {
        if (error instanceof StaleTopicMetadataError) this.placements.delete(topic);
        throw error;
      },
    );
  }

  fetch(topic: string, partition: number, offset: number, maxBytes: number, isolationLevel: IsolationLevel): FetchPartitionResult {
    const table = this.stateTable!;
    const target = this.readTarget(topic, partition);
    const result = fetchFromLog(table, target.slot, target.reader, topic, partition, offset, maxBytes, isolationLevel, this.snapshot);
    // Released and reused while it read: what it read may belong to the deleted topic.
    this.checkCurrent(topic, partition, target);
    return result;
  }

  async waitForData(
    topic: string,
    partition: number,
    offset: number,
    maxWaitMs: number,
    signal?: AbortSignal,
    isolationLevel: IsolationLevel = 'read_uncommitted',
  ): Promise<void> {
    const table = this.stateTable!;
    const target = this.readTarget(topic, partition);
    await waitForLogData(table, target.slot, offset, maxWaitMs, signal, isolationLevel, () => this.closedBy !== null || table.generation(target.slot) !== target.generation);
  }

  partitionOffsets(topic: string, partition: number): TopicPartitionOffsets {
    const table = this.stateTable!;
    const target = this.readTarget(topic, partition);
    const state = table.read(target.slot, this.snapshot);
    const offsets: TopicPartitionOffsets = {
      partition,
      logStartOffset: state.logStartOffset,
      highWatermark: state.highWatermark,
      lastStableOffset: state.lastStableOffset,
      logEndOffset: state.logEndOffset,
      leaderEpoch: table.leaderEpoch(target.slot),
    };
    this.checkCurrent(topic, partition, target);
    return offsets;
  }

  /** Only a subscribing consumer lists topics, and subscribing needs a group: refused as groups are. */
  listTopics(): TopicMetadata[] {
    throw groupsNotAttached();
  }

  get groups(): GroupCoordinatorApi {
    throw groupsNotAttached();
  }

  initProducerId(request: InitProducerIdRequest): Promise<InitProducerIdResult> {
    if (request.transactionalId !== undefined && request.transactionalId !== null) return Promise.reject(transactionsNotAttached());
    return this.call<InitProducerIdResult>(request);
  }

  addPartitionsToTxn(): Promise<void> {
    return Promise.reject(transactionsNotAttached());
  }

  addOffsetsToTxn(): Promise<void> {
    return Promise.reject(transactionsNotAttached());
  }

  txnOffsetCommit(): Promise<void> {
    return Promise.reject(transactionsNotAttached());
  }

  endTxn(): Promise<void> {
    return Promise.reject(transactionsNotAttached());
  }

  /** Detaches: the opening thread releases this thread's rings. Calls still waiting fail with ClosedError. Idempotent. */
  close(): void {
    this.end('closed');
  }

  private end(why: string): void {
    if (this.closedBy !== null) return;
    this.closedBy = why;
    const closed = new ClosedError(`attached sluice (${why})`);
    for (const link of this.links) link.fail(closed);
    for (const call of this.calls.values()) call.reject(closed);
    this.calls.clear();
    const detach: AttachedRequest = { op: 'detach' };
    this.port.postMessage(detach);
    this.syncPort.close();
    this.port.close();
    for (const target of this.readers.values()) target.reader.close();
    this.readers.clear();
  }

  /**
   * The partition's slot and this thread's reader of it, checked against the generation the state
   * table holds for the slot: a stale placement (the topic deleted or recreated) is dropped.
   */
  private readTarget(topic: string, partition: number): ReadTarget {
    const placement = this.placementOf(topic, false);
    const where = placement.partitions[partition];
    if (where === undefined) throw new PartitionNotFoundError(topic, partition, placement.partitions.length);
    const key = `${partition}:${topic}`;
    let target = this.readers.get(key);
    if (target === undefined || target.generation !== where.generation) {
      target?.reader.close();
      target = { slot: where.slot, shard: where.shard, generation: where.generation, reader: new LogReader(where.dir) };
      this.readers.set(key, target);
    }
    this.checkCurrent(topic, partition, target);
    return target;
  }

  private checkCurrent(topic: string, partition: number, target: ReadTarget): void {
    if (this.stateTable!.generation(target.slot) === target.generation) return;
    this.placements.delete(topic);
    this.readers.get(`${partition}:${topic}`)?.reader.close();
    this.readers.delete(`${partition}:${topic}`);
    throw new StaleTopicMetadataError(target.shard, target.slot);
  }

  private onHostMessage(message: HostMessage): void {
    if (message.op === 'rings') {
      this.links[message.pair.shardId] = linkOver(message.pair);
    } else if (message.op === 'reply') {
      const call = this.calls.get(message.id);
      if (call === undefined) return;
      this.calls.delete(message.id);
      if (message.error !== undefined) call.reject(reviveError(message.error, 'the thread that opened the broker'));
      else call.resolve(message.result);
    } else if (message.op === 'closed') {
      this.end('the thread that opened the broker closed it');
    }
  }

  private call<T>(request: InitProducerIdRequest): Promise<T> {
    if (this.closedBy !== null) return Promise.reject(new ClosedError(`attached sluice (${this.closedBy})`));
    const id = this.nextCallId++;
    const message: AttachedRequest = { op: 'initProducerId', id, request };
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.port.postMessage(message);
    });
  }

  /** The cached placement, or one read now from the opening thread (this thread blocks meanwhile). */
  private placementOf(topic: string, autoCreate: boolean): TopicPlacement {
    if (this.closedBy !== null) throw new ClosedError(`attached sluice (${this.closedBy})`);
    const cached = this.placements.get(topic);
    const nowMs = Date.now();
    if (cached !== undefined && nowMs - cached.readAtMs < this.metadataMaxAgeMs) return cached.placement;
    if (typeof topic !== 'string' || topic.length === 0) throw new InvalidRequestError(`topic must be a non-empty string, got ${JSON.stringify(topic)}`);
    const id = this.nextCallId++;
    const request: PlacementRequest = { id, topic, autoCreate };
    this.syncPort.postMessage(request);
    const deadlineMs = nowMs + this.maxBlockMs;
    for (;;) {
      const answered = Atomics.load(this.syncWord, 0);
      if (answered === id) break;
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) throw placementTimeout(topic, this.maxBlockMs);
      Atomics.wait(this.syncWord, 0, answered, remainingMs);
    }
    // Answers to earlier requests that timed out come first: skip them.
    for (;;) {
      const received = receiveMessageOnPort(this.syncPort);
      if (received === undefined) throw new InvalidRequestError(`the placement answer ${id} announced for "${topic}" is missing`);
      const answer = received.message as PlacementAnswer;
      if (answer.id !== id) continue;
      if (answer.error !== undefined) throw reviveError(answer.error as SerializedError, 'the thread that opened the broker');
      const placement = answer.placement as TopicPlacement;
      this.placements.set(topic, { placement, readAtMs: Date.now() });
      return placement;
    }
  }
}

/**
 * The thread's link to one shard. Both rings ring the shard's main request ring's bell, where it
 * parks: the request ring on every publish, the completion ring when reading answers makes the
 * room the shard left a notice for.
 */
function linkOver(pair: AttachedRingPair): ShardLink {
  const shardRequests = RingBuffer.from(pair.shardRequests);
  const requests = RingBuffer.from(pair.requests);
  requests.wakesReaderOf(shardRequests);
  const completions = RingBuffer.from(pair.completions);
  completions.wakesReaderOf(shardRequests);
  return new ShardLink(pair.shardId, requests, completions, null);
}

function isMessagePort(value: unknown): value is MessagePort {
  return typeof value === 'object' && value !== null && typeof (value as MessagePort).postMessage === 'function' && typeof (value as MessagePort).on === 'function';
}

function resolveAttachOptions(options: AttachOptions): Required<AttachOptions> {
  if (options === null || typeof options !== 'object') throw new InvalidConfigError('attach options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'metadataMaxAgeMs' && key !== 'maxBlockMs') {
      throw new InvalidConfigError(`unknown attach option "${key}"; known options are metadataMaxAgeMs, maxBlockMs`);
    }
  }
  return {
    metadataMaxAgeMs: integerOption('metadataMaxAgeMs', options.metadataMaxAgeMs, DEFAULT_METADATA_MAX_AGE_MS, 0),
    maxBlockMs: integerOption('maxBlockMs', options.maxBlockMs, DEFAULT_MAX_BLOCK_MS, 0),
  };
}
