/**
 * Sluice in one file: open a data directory, create a topic, produce 100,000 records, consume
 * them back with a consumer group, print a summary, close.
 *
 *   npm run build && node dist/examples/quickstart.js [data-dir]
 *
 * Without a data-dir argument it uses a fresh temporary directory and removes it at the end.
 * The producer and consumer are shaped after kafkajs: the same code moves to a Kafka cluster by
 * swapping `sluice.producer()` for `kafka.producer()`.
 *
 * Ctrl-C (SIGINT) stops it cleanly: `sluice.close()` disconnects the consumer (committing what it
 * processed and leaving its group) and the producer (sending what it buffered), then closes the
 * logs and unlocks the data directory; the process exits with status 130. A process that ends
 * without close() loses nothing acknowledged, but the next open has to recover the logs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sluice, json } from '../src/index.js';

interface Order {
  id: number;
  customer: string;
  amountCents: number;
}

const RECORDS = 100_000;
const TOPIC = 'orders';

async function main(): Promise<void> {
  const givenDir = process.argv[2];
  const dataDir = givenDir ?? mkdtempSync(join(tmpdir(), 'sluice-quickstart-'));
  // Ctrl-C ends the work below early; the finally block still closes everything.
  let interrupted = false;
  const interruption = new Promise<void>((resolve) =>
    process.once('SIGINT', () => {
      interrupted = true;
      resolve();
    }),
  );
  // One consumer joins the group here: no need to wait the default 3 s for others to join with it.
  const sluice = await Sluice.open({ dataDir, groupInitialRebalanceDelayMs: 0 });
  console.log(`data directory   ${dataDir}`);
  try {
    const admin = sluice.admin();
    if (!(await admin.listTopics()).includes(TOPIC)) {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 4 }] });
    }

    // Produce: keyed by customer, so each customer's orders stay in order on one partition.
    const producer = sluice.producer<string, Order>({ valueSerializer: json(), lingerMs: 5 });
    const produceStart = performance.now();
    for (let start = 0; start < RECORDS && !interrupted; start += 10_000) {
      const messages = [];
      for (let id = start; id < start + 10_000; id++) {
        const customer = `customer-${id % 100}`;
        messages.push({ key: customer, value: { id, customer, amountCents: (id * 37) % 10_000 } });
      }
      await producer.send({ topic: TOPIC, messages });
    }
    await producer.disconnect();
    const produceMs = performance.now() - produceStart;
    if (interrupted) return stoppedEarly('while producing');

    // Consume with a group: offsets are committed, so a restart resumes where this one stopped.
    const consumer = sluice.consumer<Buffer, Order>({ groupId: 'quickstart', valueDeserializer: json() });
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    const consumeStart = performance.now();
    let consumed = 0;
    let totalCents = 0;
    const lastIdByCustomer = new Map<string, number>();
    let outOfOrder = 0;
    const allConsumed = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const order = message.value!;
          if ((lastIdByCustomer.get(order.customer) ?? -1) >= order.id) outOfOrder++;
          lastIdByCustomer.set(order.customer, order.id);
          totalCents += order.amountCents;
          if (++consumed === RECORDS) resolve();
        },
      });
    });
    await Promise.race([allConsumed, interruption]);
    if (interrupted) return stoppedEarly(`after consuming ${consumed} records`);
    const consumeMs = performance.now() - consumeStart;
    await consumer.disconnect();

    const offsets = await admin.fetchOffsets({ groupId: 'quickstart', topics: [TOPIC] });
    const committed = offsets[0].partitions.reduce((sum, { offset }) => sum + offset, 0);
    console.log(`produced         ${RECORDS} records in ${produceMs.toFixed(0)} ms`);
    console.log(`consumed         ${consumed} records in ${consumeMs.toFixed(0)} ms, ${lastIdByCustomer.size} customers, ${outOfOrder} out of order`);
    console.log(`total amount     ${(totalCents / 100).toFixed(2)}`);
    console.log(`committed        ${committed} (offsets summed over the partitions)`);
  } finally {
    // Always close: it commits the group's offsets, leaves the group and unlocks the data directory.
    await sluice.close();
    if (givenDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  }
}

function stoppedEarly(when: string): void {
  console.log(`interrupted      ${when}; closing`);
  // 128 + SIGINT, as a shell reports a process that Ctrl-C ended.
  process.exitCode = 130;
}

await main();
