/**
 * Consumers that heal, against the real broker (shard worker threads, segment files in temp
 * dirs) and real processes: a group left with a member by an embedding process killed without
 * close(), handlers that throw (kafkajs's retries and restarts), positions and committed offsets
 * outside the log.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { eventually } from '../server/helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-consumer-recovery-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function openBroker(dataDir: string): Promise<Broker> {
  const broker = await Broker.open({ dataDir, shards: 2, groupInitialRebalanceDelayMs: 0 });
  cleanups.push(() => broker.close());
  return broker;
}

const MEMBER_SCRIPT = fileURLToPath(new URL('../fixtures/embedded-group-member.mjs', import.meta.url));

describe('members of an earlier process', () => {
  it('are gone when the broker opens again, so the next run is assigned at once instead of after their session timeout', async () => {
    const dataDir = tempDir();
    const setup = await Broker.open({ dataDir, shards: 2 });
    await setup.createTopic('orders', { partitions: 2 });
    await setup.close();

    // An embedding process joins the group and is killed without close().
    const child = spawn(process.execPath, [MEMBER_SCRIPT, dataDir, 'orders', 'ghosts'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => line === 'joined' && resolve());
      child.once('exit', (code) => reject(new Error(`the member process exited (${code}) before joining`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const broker = await openBroker(dataDir);
    // Nothing of the dead process is left to wait for.
    expect(broker.groups.describeGroup('ghosts')).toMatchObject({ state: 'Empty', members: [] });
    const producer = new Producer(broker);
    cleanups.push(() => producer.close());
    await producer.send({ topic: 'orders', messages: [{ value: 'after the crash', partition: 1 }] });
    // Kafka's default session timeout: a ghost would hold the first rebalance for 30 s.
    const consumer = new Consumer(broker, { groupId: 'ghosts', sessionTimeout: 30_000 });
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: ({ message }) => void seen.push(message.value!.toString()) });
    expect(consumer.assignment()).toEqual([{ topic: 'orders', partitions: [0, 1] }]);
    await eventually(() => seen.length === 1, 10_000);
    expect(seen).toEqual(['after the crash']);
  }, 30_000);
});
