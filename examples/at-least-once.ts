/**
 * At-least-once delivery: the consumer processes a record, THEN commits its offset. A crash
 * between the two makes the restarted consumer process that record again. Nothing is lost, but
 * something may be processed twice (Kafka's default, with auto-commit after processing).
 *
 *   npm run build && node dist/examples/at-least-once.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sluice } from '../src/index.js';

const TOPIC = 'jobs';
const JOBS = 10;
const CRASH_AT = 4;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-at-least-once-'));
  const sluice = await Sluice.open({ dataDir });
  try {
    await sluice.admin().createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] });
    const producer = sluice.producer();
    await producer.send({ topic: TOPIC, messages: Array.from({ length: JOBS }, (_, i) => ({ value: `job-${i}` })) });
    await producer.disconnect();

    const processed: string[] = [];
    // First run: process, then commit; it crashes after processing job 4, before committing it.
    await consumeUntil(sluice, async (offset, value, commit) => {
      processed.push(value);
      if (offset === CRASH_AT) throw new Error(`crashed after processing ${value}, before committing it`);
      await commit();
      return false;
    });
    // The restarted consumer resumes from the last committed offset: job 4 comes again.
    await consumeUntil(sluice, async (offset, value, commit) => {
      processed.push(value);
      await commit();
      return offset === JOBS - 1;
    });

    const twice = processed.filter((job, i) => processed.indexOf(job) !== i);
    console.log(`processed  ${processed.join(' ')}`);
    console.log(`twice      ${twice.join(' ') || 'none'}   <- at-least-once: processed, then crashed before the commit`);
  } finally {
    await sluice.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type Handler = (offset: number, value: string, commit: () => Promise<void>) => Promise<boolean>;

/** Runs a consumer of the group until the handler returns true (done) or throws (a crash). */
async function consumeUntil(sluice: Sluice, handler: Handler): Promise<void> {
  const consumer = sluice.consumer({ groupId: 'workers', autoOffsetReset: 'earliest' });
  consumer.assign([{ topic: TOPIC, partition: 0 }]);
  await new Promise<void>((resolve) => {
    consumer.on('consumer.crash', (event: { payload: { error: Error } }) => {
      console.log(`consumer   ${event.payload.error.message}`);
      resolve();
    });
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const commit = (): Promise<void> => consumer.commitOffsets([{ topic: TOPIC, partition: 0, offset: message.offset + 1 }]);
        if (await handler(message.offset, String(message.value), commit)) resolve();
      },
    });
  });
  await consumer.disconnect();
}

await main();
