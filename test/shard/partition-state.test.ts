import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError, SluiceError } from '../../src/errors.js';
import { PartitionStateTable, emptySnapshot } from '../../src/shard/partition-state.js';

describe('PartitionStateTable', () => {
  it('publishes offsets that a reader sees as one snapshot', () => {
    const table = PartitionStateTable.create(4);
    const slot = table.allocate();
    table.publish(slot, 3, 10, 12, 9);
    const snapshot = table.read(slot, emptySnapshot());
    expect(snapshot).toMatchObject({ logStartOffset: 3, highWatermark: 10, logEndOffset: 12, lastStableOffset: 9 });
    expect(snapshot.sequence % 2).toBe(0);
    const before = snapshot.sequence;
    table.publish(slot, 3, 11, 12, 11);
    expect(table.read(slot, snapshot).sequence).not.toBe(before);
  });

  it('holds offsets beyond 2^32 exactly', () => {
    const table = PartitionStateTable.create(1);
    const slot = table.allocate();
    const big = Number.MAX_SAFE_INTEGER - 1;
    table.publish(slot, big - 5, big, big, big);
    expect(table.read(slot, emptySnapshot())).toMatchObject({ logStartOffset: big - 5, highWatermark: big });
  });

  it('bumps the storage epoch only when asked', () => {
    const table = PartitionStateTable.create(1);
    const slot = table.allocate();
    const epoch = table.read(slot, emptySnapshot()).storageEpoch;
    table.publish(slot, 0, 5, 5, 5);
    expect(table.read(slot, emptySnapshot()).storageEpoch).toBe(epoch);
    table.publish(slot, 0, 2, 2, 2, true);
    expect(table.read(slot, emptySnapshot()).storageEpoch).toBe(epoch + 1);
  });

  it('refuses an offset order that breaks logStart <= LSO <= HW <= LEO', () => {
    const table = PartitionStateTable.create(1);
    const slot = table.allocate();
    expect(() => table.publish(slot, 5, 4, 6, 4)).toThrow(/invariant/);
  });

  it('allocates every slot once, reuses released ones reset to zero, and refuses past capacity', () => {
    const table = PartitionStateTable.create(2);
    const a = table.allocate();
    const b = table.allocate();
    expect(new Set([a, b]).size).toBe(2);
    expect(() => table.allocate()).toThrow(SluiceError);
    table.publish(a, 1, 7, 7, 7);
    table.release(a);
    expect(table.allocate()).toBe(a);
    expect(table.read(a, emptySnapshot()).highWatermark).toBe(0);
  });

  it('validates its size', () => {
    expect(() => PartitionStateTable.create(0)).toThrow(InvalidConfigError);
    expect(() => PartitionStateTable.create(1.5)).toThrow(InvalidConfigError);
    expect(() => PartitionStateTable.from(new SharedArrayBuffer(10))).toThrow(InvalidConfigError);
  });

  it('wakes a waiter when the slot changes, and only then', async () => {
    const table = PartitionStateTable.create(2);
    const slot = table.allocate();
    const other = table.allocate();
    const seen = table.read(slot, emptySnapshot()).sequence;
    let woke = false;
    const waiting = table.waitForChange(slot, seen, Infinity).then(() => (woke = true));
    table.publish(other, 0, 1, 1, 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(woke).toBe(false);
    table.publish(slot, 0, 1, 1, 1);
    await waiting;
    expect(woke).toBe(true);
  });

  it('returns at once when the sequence already moved, and after the timeout otherwise', async () => {
    const table = PartitionStateTable.create(1);
    const slot = table.allocate();
    const seen = table.read(slot, emptySnapshot()).sequence;
    table.publish(slot, 0, 1, 1, 1);
    await table.waitForChange(slot, seen, Infinity);
    const current = table.read(slot, emptySnapshot()).sequence;
    await table.waitForChange(slot, current, 1);
    expect(table.read(slot, emptySnapshot()).sequence).toBe(current);
  });

  it('ends a wait when its signal aborts', async () => {
    const table = PartitionStateTable.create(1);
    const slot = table.allocate();
    const controller = new AbortController();
    const waiting = table.waitForChange(slot, table.read(slot, emptySnapshot()).sequence, Infinity, controller.signal);
    controller.abort();
    await waiting;
    const aborted = new AbortController();
    aborted.abort();
    await table.waitForChange(slot, table.read(slot, emptySnapshot()).sequence, Infinity, aborted.signal);
  });

  it('repairs a slot left odd by a writer that died mid-publish', () => {
    const table = PartitionStateTable.create(1);
    const slot = table.allocate();
    const words = new Int32Array(table.sharedBuffer);
    Atomics.add(words, 0, 1);
    expect(() => table.read(slot, emptySnapshot())).toThrow(/failed shard/);
    table.repair(slot);
    expect(table.read(slot, emptySnapshot()).sequence % 2).toBe(0);
  });

  it('never shows a torn snapshot while another thread publishes', async () => {
    const table = PartitionStateTable.create(1);
    const slot = table.allocate();
    const count = 200_000;
    const worker = new Worker(new URL('./fixtures/state-writer.mjs', import.meta.url), {
      workerData: { table: table.sharedBuffer, slot, count },
    });
    const done = new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const snapshot = emptySnapshot();
    let reads = 0;
    let last = 0;
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished || snapshot.highWatermark < count) {
      table.read(slot, snapshot);
      reads++;
      expect(snapshot.logStartOffset).toBe(snapshot.highWatermark);
      expect(snapshot.logEndOffset).toBe(snapshot.highWatermark);
      expect(snapshot.lastStableOffset).toBe(snapshot.highWatermark);
      expect(snapshot.highWatermark).toBeGreaterThanOrEqual(last);
      last = snapshot.highWatermark;
      if (reads % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    await worker.terminate();
    expect(last).toBe(count);
  });
});
