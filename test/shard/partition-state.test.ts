import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError, SluiceError } from '../../src/errors.js';
import { PartitionStateTable, emptySnapshot } from '../../src/shard/partition-state.js';
import { eventually, within } from '../support/eventually.js';

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
    expect(table.waiters(slot)).toBe(1);
    expect(table.waiters(other)).toBe(0);
    table.publish(other, 0, 1, 1, 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(woke).toBe(false);
    table.publish(slot, 0, 1, 1, 1);
    await waiting;
    expect(woke).toBe(true);
    expect(table.waiters(slot)).toBe(0);
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
    const sequence = table.read(slot, emptySnapshot()).sequence;
    const controller = new AbortController();
    let ended = false;
    const waiting = table.waitForChange(slot, sequence, Infinity, controller.signal).then(() => (ended = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    controller.abort();
    await within(waiting, { what: 'the aborted wait' });
    const aborted = new AbortController();
    aborted.abort();
    await within(table.waitForChange(slot, sequence, Infinity, aborted.signal), { what: 'a wait with an aborted signal' });
    // Nothing was published: the waits ended because of their signals.
    expect(table.read(slot, emptySnapshot()).sequence).toBe(sequence);
  });

  it('lets readers read the previous snapshot while the owner is held mid-publish, and wakes waiters when it completes', async () => {
    const table = PartitionStateTable.create(1);
    const slot = table.allocate();
    table.publish(slot, 5, 5, 5, 5);
    const owner = pausedOwner(table, slot, 9);
    await owner.paused;
    // This thread holds the owner (only it opens the gate): a read that waited for the owner, or
    // spun until it ran, would never return.
    const during = table.read(slot, emptySnapshot());
    expect(during).toMatchObject({ logStartOffset: 5, highWatermark: 5, logEndOffset: 5, lastStableOffset: 5 });
    expect(during.sequence % 2).toBe(1);
    let woke = false;
    const waiting = table.waitForChange(slot, during.sequence, Infinity).then(() => (woke = true));
    // Hold the owner for 50 ms with a long poll parked: the event loop stays idle (not spinning).
    const idleBefore = performance.eventLoopUtilization();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const held = performance.eventLoopUtilization(idleBefore);
    expect(woke).toBe(false);
    expect(table.read(slot, emptySnapshot())).toMatchObject({ highWatermark: 5, sequence: during.sequence });
    expect(held.utilization).toBeLessThan(0.5);
    owner.release();
    await within(waiting, { what: 'the wait for the held publish' });
    await within(owner.published, { what: 'the held publish' });
    const after = table.read(slot, emptySnapshot());
    expect(after).toMatchObject({ logStartOffset: 9, highWatermark: 9, logEndOffset: 9, lastStableOffset: 9 });
    expect(after.sequence).toBe(during.sequence + 1);
    await owner.worker.terminate();
  });

  it('keeps the last snapshot readable when the owner dies mid-publish, and repairs the slot for the next owner', async () => {
    const table = PartitionStateTable.create(1);
    const slot = table.allocate();
    table.publish(slot, 2, 6, 7, 4, true);
    const epoch = table.read(slot, emptySnapshot()).storageEpoch;
    const owner = pausedOwner(table, slot, 9);
    await owner.paused;
    await owner.worker.terminate();
    const previous = { logStartOffset: 2, highWatermark: 6, logEndOffset: 7, lastStableOffset: 4, storageEpoch: epoch };
    expect(table.read(slot, emptySnapshot())).toMatchObject(previous);
    let woke = false;
    const waiting = table.waitForChange(slot, table.read(slot, emptySnapshot()).sequence, Infinity).then(() => (woke = true));
    table.repair(slot);
    await within(waiting, { what: 'the wait woken by the repair' });
    expect(woke).toBe(true);
    const repaired = table.read(slot, emptySnapshot());
    expect(repaired).toMatchObject(previous);
    expect(repaired.sequence % 2).toBe(0);
    // The next owner publishes as usual, and both copies hold its snapshot.
    table.publish(slot, 3, 8, 8, 8);
    expect(table.read(slot, emptySnapshot())).toMatchObject({ logStartOffset: 3, highWatermark: 8, logEndOffset: 8, lastStableOffset: 8, storageEpoch: epoch });
    table.publish(slot, 3, 8, 9, 8, true);
    expect(table.read(slot, emptySnapshot())).toMatchObject({ logEndOffset: 9, storageEpoch: epoch + 1 });
  });

  it('never shows a torn snapshot while another thread publishes', async () => {
    const table = PartitionStateTable.create(1);
    const slot = table.allocate();
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(new URL('./fixtures/state-writer.mjs', import.meta.url), {
      workerData: { table: table.sharedBuffer, slot, stop: stop.buffer },
    });
    const done = new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const snapshot = emptySnapshot();
    let last = 0;
    let changesSeen = 0;
    const check = (): void => {
      table.read(slot, snapshot);
      expect(snapshot.logStartOffset).toBe(snapshot.highWatermark);
      expect(snapshot.logEndOffset).toBe(snapshot.highWatermark);
      expect(snapshot.lastStableOffset).toBe(snapshot.highWatermark);
      expect(snapshot.highWatermark).toBeGreaterThanOrEqual(last);
      if (snapshot.highWatermark !== last) changesSeen++;
      last = snapshot.highWatermark;
    };
    // The writer runs until this thread has seen its snapshot change a hundred times: however the
    // machine schedules the two threads (on a loaded host they rarely run at once, and the writer
    // is often preempted mid-publish), the reads overlap the writes; only a deadline bounds it.
    await eventually(
      () => {
        for (let i = 0; i < 5000; i++) check();
        return changesSeen >= 100;
      },
      { timeoutMs: 50_000, what: 'reads that saw 100 publishes' },
    );
    Atomics.store(stop, 0, 1);
    const published = await within(done, { what: 'the writer' });
    check();
    expect(last).toBe(published);
    await worker.terminate();
  });
});

/** A real owner thread held inside publish (fixtures/state-paused-writer.mjs) until release(). */
function pausedOwner(
  table: PartitionStateTable,
  slot: number,
  value: number,
): { worker: Worker; paused: Promise<void>; published: Promise<void>; release(): void } {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('./fixtures/state-paused-writer.mjs', import.meta.url), {
    workerData: { table: table.sharedBuffer, slot, value, gate: gate.buffer },
  });
  const message = (expected: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const onMessage = (received: unknown): void => {
        if (received !== expected) return;
        worker.off('message', onMessage);
        resolve();
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  return {
    worker,
    paused: within(message('paused'), { what: 'the owner reaching the middle of its publish' }),
    published: message('published'),
    release: () => {
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
    },
  };
}
