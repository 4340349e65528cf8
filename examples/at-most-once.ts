/**
 * At-most-once delivery: the consumer commits a record's offset BEFORE processing it. A crash
 * between the commit and the processing loses that record: the restarted consumer resumes after
 * it. Nothing is ever processed twice, but something may never be processed.
 *
 *   npm run build && node dist/examples/at-most-once.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sluice } from '../src/index.js';

const TOPIC = 'jobs';
const JOBS = 10;
const CRASH_AT = 4;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-at-most-once-'));
  const sluice = await Sluice.open({ dataDir });
  try {
    await sluice.admin().createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] });
    const producer = sluice.producer();
    await producer.send({ topic: TOPIC, messages: Array.from({ length: JOBS }, (_, i) => ({ value: `job-${i}` })) });
    await producer.disconnect();

    const processed: string[] = [];
    // First run: commit, then process; it crashes right after committing job 4.
    await consumeUntil(sluice, async (offset, value, commit) => {
      await commit();
      if (offset === CRASH_AT) throw new Error(`crashed after committing ${value}, before processing it`);
      processed.push(value);
      return false;
    });
    // The restarted consumer resumes from the committed offset, past the lost job.
    await consumeUntil(sluice, async (offset, value, commit) => {
      await commit();
      processed.push(value);
      return offset === JOBS - 1;
    });

    const lost = Array.from({ length: JOBS }, (_, i) => `job-${i}`).filter((job) => !processed.includes(job));
    console.log(`processed  ${processed.join(' ')}`);
    console.log(`lost       ${lost.join(' ') || 'none'}   <- at-most-once: committed before processing, then crashed`);
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
