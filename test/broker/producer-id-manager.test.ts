import { describe, expect, it } from 'vitest';
import {
  MAX_PRODUCER_ID,
  ProducerIdManager,
  type ProducerIdBlock,
  type ProducerIdBlockStore,
} from '../../src/broker/producer-id-manager.js';
import { CorruptTransactionStateError, InvalidConfigError, ProducerIdsExhaustedError } from '../../src/errors.js';

/**
 * The broker's durable block record, in memory: `durable` is what survives a crash. Writes can
 * be held (to observe callers waiting on durability) or made to fail.
 */
class MemoryBlockStore implements ProducerIdBlockStore {
  durable: ProducerIdBlock | null = null;
  writes = 0;
  failNextWrites = 0;
  /** When set, a write completes only when the test calls release(). */
  holdWrites = false;
  private held: (() => void)[] = [];

  loadLatestBlock(): ProducerIdBlock | null {
    return this.durable;
  }

  async storeLatestBlock(block: ProducerIdBlock): Promise<void> {
    this.writes++;
    if (this.holdWrites) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failNextWrites > 0) {
      this.failNextWrites--;
      throw new Error('disk full');
    }
    this.durable = { ...block };
  }

  release(): void {
    const held = this.held;
    this.held = [];
    for (const resolve of held) resolve();
  }
}

async function take(manager: ProducerIdManager, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(await manager.nextId());
  return ids;
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ProducerIdManager', () => {
  it('hands out consecutive ids from blocks, one durable write per block', async () => {
    const store = new MemoryBlockStore();
    const manager = new ProducerIdManager({ store, blockSize: 10 });
    expect(await take(manager, 25)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(store.writes).toBe(3);
    expect(store.durable).toEqual({ firstProducerId: 20, size: 10 });
  });

  it('defaults to blocks of 1000, as Kafka', async () => {
    const store = new MemoryBlockStore();
    await new ProducerIdManager({ store }).nextId();
    expect(store.durable).toEqual({ firstProducerId: 0, size: 1000 });
  });

  it('never hands out an id twice across restarts, skipping the rest of a partly used block', async () => {
    const store = new MemoryBlockStore();
    const seen = new Set<number>();
    const firstIds: number[] = [];
    for (let run = 0; run < 5; run++) {
      const manager = new ProducerIdManager({ store, blockSize: 10 });
      const ids = await take(manager, 3 + run * 4);
      firstIds.push(ids[0]);
      for (const id of ids) {
        expect(seen.has(id), `id ${id} reused in run ${run}`).toBe(false);
        seen.add(id);
      }
    }
    // Runs used 3, 7, 11 (two blocks), 15 (two blocks) and 19 ids: each restart starts a fresh block.
    expect(firstIds).toEqual([0, 10, 20, 40, 60]);
  });

  it('answers an id only once its block is durable', async () => {
    const store = new MemoryBlockStore();
    store.holdWrites = true;
    const manager = new ProducerIdManager({ store, blockSize: 5 });
    let answered: number | null = null;
    const pending = manager.nextId().then((id) => (answered = id));
    await settle();
    expect(answered).toBeNull();
    expect(store.durable).toBeNull();
    store.release();
    await pending;
    expect(answered).toBe(0);
    expect(store.durable).toEqual({ firstProducerId: 0, size: 5 });
  });

  it('shares one reservation among concurrent callers and gives each a distinct id', async () => {
    const store = new MemoryBlockStore();
    store.holdWrites = true;
    const manager = new ProducerIdManager({ store, blockSize: 4 });
    const calls = Array.from({ length: 10 }, () => manager.nextId());
    await settle();
    expect(store.writes).toBe(1);
    while (store.writes < 3) {
      store.release();
      await settle();
    }
    store.release();
    const ids = await Promise.all(calls);
    expect(new Set(ids).size).toBe(10);
    expect(ids.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(store.writes).toBe(3);
  });

  it('fails callers when the block cannot be stored, and reserves it again on the next call', async () => {
    const store = new MemoryBlockStore();
    const manager = new ProducerIdManager({ store, blockSize: 10 });
    expect(await take(manager, 10)).toHaveLength(10);
    store.failNextWrites = 1;
    await expect(manager.nextId()).rejects.toThrow('disk full');
    expect(store.durable).toEqual({ firstProducerId: 0, size: 10 });
    // Nothing of the failed block went out, so it is the one reserved now.
    expect(await manager.nextId()).toBe(10);
    expect(store.durable).toEqual({ firstProducerId: 10, size: 10 });
  });

  it('stops at the largest safe integer with a typed error', async () => {
    const store = new MemoryBlockStore();
    store.durable = { firstProducerId: MAX_PRODUCER_ID - 14, size: 10 };
    const manager = new ProducerIdManager({ store, blockSize: 10 });
    // The last block is cut to the ids that remain.
    expect(await take(manager, 5)).toEqual([0, 1, 2, 3, 4].map((i) => MAX_PRODUCER_ID - 4 + i));
    expect(store.durable).toEqual({ firstProducerId: MAX_PRODUCER_ID - 4, size: 5 });
    await expect(manager.nextId()).rejects.toThrow(ProducerIdsExhaustedError);
  });

  it('refuses a stored block it cannot have written', async () => {
    for (const durable of [
      { firstProducerId: -1, size: 10 },
      { firstProducerId: 1.5, size: 10 },
      { firstProducerId: 0, size: 0 },
      { firstProducerId: MAX_PRODUCER_ID, size: 2 },
    ]) {
      const store = new MemoryBlockStore();
      store.durable = durable;
      await expect(new ProducerIdManager({ store }).nextId(), JSON.stringify(durable)).rejects.toThrow(CorruptTransactionStateError);
    }
  });

  it('validates its options', () => {
    const store = new MemoryBlockStore();
    expect(() => new ProducerIdManager({ store, blockSize: 0 })).toThrow(InvalidConfigError);
    expect(() => new ProducerIdManager({ store, blockSize: 2.5 })).toThrow(/blockSize must be an integer/);
    expect(() => new ProducerIdManager(undefined as never)).toThrow(/needs options with a store/);
  });
});

describe('ProducerIdManager over blocks shared by brokers (a ProducerIdBlockReserver)', () => {
  it('hands out the ids of each block the reserver gives, and asks it for the next one only when the block is used up', async () => {
    // Two brokers' managers over one sequence of blocks, as ZooKeeper's /latest_producer_id_block gives them.
    let next = 0;
    const asked: number[] = [];
    const reserver = {
      async reserveBlock(size: number): Promise<ProducerIdBlock> {
        asked.push(size);
        const block = { firstProducerId: next, size };
        next += size;
        return block;
      },
    };
    const one = new ProducerIdManager({ store: reserver, blockSize: 3 });
    const two = new ProducerIdManager({ store: reserver, blockSize: 3 });
    const ids = [await one.nextId(), await two.nextId(), await one.nextId(), await one.nextId(), await one.nextId(), await two.nextId()];
    expect(ids).toEqual([0, 3, 1, 2, 6, 4]);
    expect(asked).toEqual([3, 3, 3]);
  });
});
