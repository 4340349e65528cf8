/**
 * Producer ids unique across a cluster's brokers, as Kafka's ZooKeeper-era ZkProducerIdManager
 * hands them out: a broker claims the next block of ids by a compare-and-set of
 * /latest_producer_id_block (the block after the one recorded there, written on the version it
 * read; a broker that loses the race reads again), then gives its ids one by one. No two brokers
 * ever hold the same block, and a restarted broker claims a fresh one, so no id is given twice.
 */
import { ProducerIdsExhaustedError } from '../errors.js';
import { DEFAULT_PRODUCER_ID_BLOCK_SIZE, MAX_PRODUCER_ID } from '../broker/producer-id-manager.js';
import type { ProducerIdSource } from '../broker/transaction-types.js';
import type { ZooKeeperSession } from './zookeeper.js';
import { PRODUCER_ID_BLOCK_PATH, decodeProducerIdBlock, encodeProducerIdBlock } from './znodes.js';

export class ZooKeeperProducerIds implements ProducerIdSource {
  /** The next id to give and the end (exclusive) of the block it comes from. */
  private nextProducerId = 0;
  private blockEnd = 0;
  /** The claim in progress, shared by every caller that needs it. */
  private claiming: Promise<void> | null = null;

  /** `session` gives the broker's current ZooKeeper session (it is replaced when one expires). */
  constructor(
    private readonly session: () => ZooKeeperSession,
    private readonly brokerId: number,
    private readonly blockSize = DEFAULT_PRODUCER_ID_BLOCK_SIZE,
  ) {}

  async nextId(): Promise<number> {
    while (this.nextProducerId >= this.blockEnd) {
      this.claiming ??= this.claimBlock().finally(() => {
        this.claiming = null;
      });
      await this.claiming;
    }
    return this.nextProducerId++;
  }

  private async claimBlock(): Promise<void> {
    for (;;) {
      const session = this.session();
      const current = await session.getData(PRODUCER_ID_BLOCK_PATH);
      const blockStart = current === null ? 0 : decodeProducerIdBlock(current.data).blockEnd + 1;
      if (blockStart > MAX_PRODUCER_ID - this.blockSize + 1) throw new ProducerIdsExhaustedError(MAX_PRODUCER_ID);
      const block = { broker: this.brokerId, blockStart, blockEnd: blockStart + this.blockSize - 1 };
      const data = encodeProducerIdBlock(block);
      const claimed = current === null ? await session.create(PRODUCER_ID_BLOCK_PATH, data) : (await session.setData(PRODUCER_ID_BLOCK_PATH, data, current.version)) !== null;
      if (claimed) {
        this.nextProducerId = block.blockStart;
        this.blockEnd = block.blockEnd + 1;
        return;
      }
      // Another broker claimed a block between the read and the write: read again.
    }
  }
}
