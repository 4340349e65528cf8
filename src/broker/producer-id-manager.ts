/**
 * Producer id allocation, as Kafka's ProducerIdManager does it: ids are reserved in blocks, and a
 * block is made durable before any id of it is handed out. A restarted broker never resumes a
 * block (it cannot know how many of its ids went out); it reserves the next one, so no producer
 * id is ever given twice, at the price of the unused rest of the block. One durable write per
 * `blockSize` ids keeps InitProducerId off the disk almost always.
 *
 * The broker stores the latest block through ProducerIdBlockStore (Kafka keeps it in ZooKeeper
 * or the KRaft metadata log). Brokers of a cluster share one sequence of blocks instead
 * (ProducerIdBlockReserver): a block held in one broker's data directory would give a producer
 * the ids another broker gave too, and two producers with one id break each other's sequences.
 */
import { CorruptTransactionStateError, InvalidConfigError, ProducerIdsExhaustedError } from '../errors.js';

/** The ids [firstProducerId, firstProducerId + size). */
export interface ProducerIdBlock {
  readonly firstProducerId: number;
  readonly size: number;
}

export interface ProducerIdBlockStore {
  /** The latest block ever reserved, or null before the first. */
  loadLatestBlock(): Promise<ProducerIdBlock | null> | ProducerIdBlock | null;
  /** Replaces the latest block; resolves only once a crash can no longer lose it. */
  storeLatestBlock(block: ProducerIdBlock): Promise<void> | void;
}

/** Blocks shared by several brokers: each call reserves, atomically, a block no broker had. */
export interface ProducerIdBlockReserver {
  reserveBlock(size: number): Promise<ProducerIdBlock>;
}

export interface ProducerIdManagerOptions {
  store: ProducerIdBlockStore | ProducerIdBlockReserver;
  /** Ids reserved per durable write (Kafka: 1000). */
  blockSize?: number;
}

/** Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE. */
export const DEFAULT_PRODUCER_ID_BLOCK_SIZE = 1_000;
/** Producer ids are Kafka int64s, held as JavaScript numbers: the largest is 2^53 - 1. */
export const MAX_PRODUCER_ID = Number.MAX_SAFE_INTEGER;
const MAX_BLOCK_SIZE = 1_000_000_000;

export class ProducerIdManager {
  private readonly store: ProducerIdBlockStore | ProducerIdBlockReserver;
  private readonly blockSize: number;
  /** Next id to hand out and the end (exclusive) of the block it comes from. */
  private nextProducerId = 0;
  private blockEnd = 0;
  /** End (exclusive) of the latest durable block; null until the store has been read. */
  private reservedEnd: number | null = null;
  /** The reservation in progress, shared by every caller that needs it. */
  private reserving: Promise<void> | null = null;

  constructor(options: ProducerIdManagerOptions) {
    if (options === null || typeof options !== 'object' || options.store === undefined) {
      throw new InvalidConfigError('ProducerIdManager needs options with a store (a ProducerIdBlockStore)');
    }
    const blockSize = options.blockSize ?? DEFAULT_PRODUCER_ID_BLOCK_SIZE;
    if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
      throw new InvalidConfigError(`producer id blockSize must be an integer from 1 to ${MAX_BLOCK_SIZE}, got ${blockSize}`);
    }
    this.store = options.store;
    this.blockSize = blockSize;
  }

  /** A producer id no one has had before, on this broker's data, ever. */
  async nextId(): Promise<number> {
    while (this.nextProducerId >= this.blockEnd) {
      this.reserving ??= this.reserveBlock().finally(() => {
        this.reserving = null;
      });
      await this.reserving;
    }
    return this.nextProducerId++;
  }

  private async reserveBlock(): Promise<void> {
    if ('reserveBlock' in this.store) {
      const shared = await this.store.reserveBlock(this.blockSize);
      this.nextProducerId = shared.firstProducerId;
      this.blockEnd = shared.firstProducerId + shared.size;
      return;
    }
    if (this.reservedEnd === null) this.reservedEnd = endOfLatest(await this.store.loadLatestBlock());
    const first = this.reservedEnd;
    if (first > MAX_PRODUCER_ID) throw new ProducerIdsExhaustedError(MAX_PRODUCER_ID);
    const block: ProducerIdBlock = { firstProducerId: first, size: Math.min(this.blockSize, MAX_PRODUCER_ID - first + 1) };
    await this.store.storeLatestBlock(block);
    // Durable now: a crash from here on restarts after this block, so its ids are ours to give.
    this.reservedEnd = first + block.size;
    this.nextProducerId = first;
    this.blockEnd = this.reservedEnd;
  }
}

function endOfLatest(block: ProducerIdBlock | null): number {
  if (block === null) return 0;
  const where = 'the latest producer id block';
  if (typeof block !== 'object') throw new CorruptTransactionStateError(where, `${String(block)} is not a block`);
  const { firstProducerId, size } = block;
  if (!Number.isSafeInteger(firstProducerId) || firstProducerId < 0) {
    throw new CorruptTransactionStateError(where, `firstProducerId ${firstProducerId} is not an integer >= 0`);
  }
  if (!Number.isSafeInteger(size) || size < 1 || size - 1 > MAX_PRODUCER_ID - firstProducerId) {
    throw new CorruptTransactionStateError(where, `size ${size} does not give a block of ids from ${firstProducerId} up to ${MAX_PRODUCER_ID}`);
  }
  return firstProducerId + size;
}
