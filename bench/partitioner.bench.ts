/**
 * Partitions per second for 16-byte keys: Sluice's partitioner against kafkajs's Java-compatible
 * DefaultPartitioner (the peer a Node.js Kafka user runs today), same keys, same run.
 *
 *   npm run build && node dist/bench/partitioner.bench.js [--partitions 12] [--json]
 *
 * Each benchmark iteration partitions KEY_COUNT distinct keys, so timer overhead is spread over
 * many calls; figures are keys per second.
 */
import { createRequire } from 'node:module';
import { Bench } from 'tinybench';
import { partitionForKey, Partitioner } from '../src/client/partitioner.js';
import { murmur2 } from '../src/protocol/murmur2.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs } from './support.js';

const KEY_BYTES = 16;
const KEY_COUNT = 4096;

type KafkajsPartitioner = (args: {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { key: Buffer | null; value: Buffer | null };
}) => number;

const require = createRequire(import.meta.url);
const { Partitioners } = require('kafkajs') as { Partitioners: { DefaultPartitioner: () => KafkajsPartitioner } };
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

const USAGE = 'node dist/bench/partitioner.bench.js [--partitions 12] [--json]';

async function main(): Promise<void> {
  const flags = parseBenchArgs(process.argv.slice(2), { partitions: { type: 'positive-integer' }, json: { type: 'boolean' } }, USAGE);
  const partitionCount = flags.partitions ?? 12;
  const json = flags.json;
  const environment = benchEnvironment();
  const configuration = { keyBytes: KEY_BYTES, keysPerIteration: KEY_COUNT, partitionCount };

  // Keys in one contiguous buffer, as a producer holding serialized records would have them.
  const keyBlock = Buffer.alloc(KEY_BYTES * KEY_COUNT);
  let state = 0x2545f491;
  for (let i = 0; i < keyBlock.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    keyBlock[i] = state & 0xff;
  }
  const keys = Array.from({ length: KEY_COUNT }, (_, i) => keyBlock.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES));
  const partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({ partitionId, leader: 0 }));
  const kafkajs = Partitioners.DefaultPartitioner();
  const sluice = new Partitioner();

  // Every task folds its results into a sink that is printed, so no call can be optimised away.
  let sink = 0;
  const bench = new Bench({ time: 1000, warmupTime: 300 });
  bench
    .add('sluice Partitioner.partition', () => {
      for (let i = 0; i < KEY_COUNT; i++) sink += sluice.partition('topic', partitionCount, keys[i], null);
    })
    .add('sluice partitionForKey', () => {
      for (let i = 0; i < KEY_COUNT; i++) sink += partitionForKey(keys[i], partitionCount);
    })
    .add('sluice murmur2 over one key block (no views)', () => {
      for (let i = 0; i < KEY_COUNT; i++) sink += murmur2(keyBlock, i * KEY_BYTES, (i + 1) * KEY_BYTES) & 1;
    })
    .add('kafkajs DefaultPartitioner (peer)', () => {
      for (let i = 0; i < KEY_COUNT; i++) {
        sink += kafkajs({ topic: 'topic', partitionMetadata, message: { key: keys[i], value: null } });
      }
    })
    .add('kafkajs murmur2 (peer)', () => {
      for (let i = 0; i < KEY_COUNT; i++) sink += kafkajsMurmur2(keys[i]) & 1;
    });
  await bench.run();

  const results = bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`benchmark "${task.name}" ended ${result.state}`);
    return { name: task.name, keysPerSecond: (KEY_COUNT * 1000) / result.period };
  });
  if (json) {
    console.log(JSON.stringify({ environment, configuration, results, sink }));
    return;
  }
  console.log('partitioner.bench: partition() of 16-byte keys');
  console.log(`environment: ${describeEnvironment(environment)}`);
  console.log('configuration', configuration);
  console.table(results.map((r) => ({ task: r.name, 'keys/s': Math.round(r.keysPerSecond).toLocaleString('en-US') })));
  const ours = results[0].keysPerSecond;
  const peer = results.find((r) => r.name.startsWith('kafkajs DefaultPartitioner'))!.keysPerSecond;
  console.log(`Partitioner.partition / kafkajs DefaultPartitioner = ${(ours / peer).toFixed(1)}x (sink ${sink})`);
}

if (isMainModule(import.meta.url)) await main();
