/**
 * Exactly-once consume-transform-produce: each payment read from `payments` is turned into a
 * ledger entry in `ledger`, and the entry and the consumer's offset are committed in ONE
 * transaction. A crash mid-transaction leaves nothing visible: the next instance with the same
 * transactionalId fences the crashed one, its open transaction is aborted, and processing resumes
 * from the last committed offset. A read_committed reader sees every payment exactly once; a
 * read_uncommitted one also sees the aborted attempt.
 *
 *   npm run build && node dist/examples/exactly-once.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProducerFencedError, Sluice } from '../src/index.js';

const PAYMENTS = 10;
const CRASH_AT = 4;
const GROUP = 'ledger-writer';

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-exactly-once-'));
  const sluice = await Sluice.open({ dataDir });
  try {
    const admin = sluice.admin();
    await admin.createTopics({ topics: [{ topic: 'payments', numPartitions: 1 }, { topic: 'ledger', numPartitions: 1 }] });
    const source = sluice.producer();
    await source.send({ topic: 'payments', messages: Array.from({ length: PAYMENTS }, (_, i) => ({ value: `payment-${i}` })) });
    await source.disconnect();

    const crashed = await transformUntil(sluice, CRASH_AT);
    await transformUntil(sluice, null);
    // The crashed instance is a zombie now: whatever it tries is refused.
    await crashed.commit().catch((error: unknown) => {
      if (!(error instanceof ProducerFencedError)) throw error;
      console.log(`zombie     commit refused: ${error.name}`);
    });

    console.log(`read_committed    ${(await readLedger(sluice, 'read_committed')).join(' ')}`);
    console.log(`read_uncommitted  ${(await readLedger(sluice, 'read_uncommitted')).join(' ')}   <- includes the aborted attempt`);
  } finally {
    await sluice.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type Transaction = Awaited<ReturnType<ReturnType<Sluice['producer']>['transaction']>>;

/**
 * One instance of the transformer. With `crashAt`, it stops in the middle of that payment's
 * transaction (output sent, offsets sent, no commit) and returns the abandoned transaction.
 */
async function transformUntil(sluice: Sluice, crashAt: number | null): Promise<Transaction> {
  const producer = sluice.producer({ transactionalId: 'ledger-writer' });
  // Takes the transactional id: fences any previous instance and aborts its open transaction.
  await producer.connect();
  const consumer = sluice.consumer({ groupId: GROUP, isolationLevel: 'read_committed', autoOffsetReset: 'earliest' });
  consumer.assign([{ topic: 'payments', partition: 0 }]);
  const abandoned = await new Promise<Transaction>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const txn = await producer.transaction();
        await txn.send({ topic: 'ledger', messages: [{ value: `entry-for-${String(message.value)}` }] });
        await txn.sendOffsets({ consumerGroupId: GROUP, topics: [{ topic: 'payments', partitions: [{ partition: 0, offset: String(message.offset + 1) }] }] });
        if (message.offset === crashAt) {
          console.log(`instance   crashed mid-transaction at ${String(message.value)}`);
          consumer.pause([{ topic: 'payments' }]);
          resolve(txn);
          return;
        }
        await txn.commit();
        if (message.offset === PAYMENTS - 1) resolve(txn);
      },
    });
  });
  await consumer.disconnect();
  return abandoned;
}

async function readLedger(sluice: Sluice, isolationLevel: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const consumer = sluice.consumer({ isolationLevel, autoOffsetReset: 'earliest', maxWaitTimeInMs: 50 });
  consumer.assign([{ topic: 'ledger', partition: 0 }]);
  const entries: string[] = [];
  const end = sluice.broker.partitionOffsets('ledger', 0).lastStableOffset;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) entries.push(String(message.value).replace('entry-for-payment-', '#'));
        // The log ends with a commit marker: the batch before it reaches end - 2.
        if (batch.lastOffset() >= end - 2) resolve();
      },
    });
  });
  await consumer.disconnect();
  return entries;
}

await main();
