/**
 * The consumer's checkCrcs option over a segment damaged on disk after it was written: checked
 * (the default, as Kafka's check.crcs), the damage is a CorruptRecordError; unchecked, the
 * consumer reads the bytes as they now are.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { CorruptRecordError, InvalidConfigError } from '../../src/errors.js';

const TOPIC = 'damaged';
let dataDir: string;
let broker: Broker;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-consumer-crc-'));
  broker = await Broker.open({ dataDir, shards: 1, autoCreateTopicsEnable: false, groupInitialRebalanceDelayMs: 0 });
  await broker.createTopic(TOPIC, { partitions: 1 });
  const producer = new Producer(broker);
  await producer.send({ topic: TOPIC, messages: [{ value: 'alpha' }, { value: 'bravo' }] });
  await producer.close();
  // One byte of one value changed in place on disk, after the append checked the batch (a restart
  // would not do: recovery checks the active segment and would cut the batch).
  const partitionDir = join(dataDir, `${TOPIC}-0`);
  const logFile = join(partitionDir, readdirSync(partitionDir).find((name) => name.endsWith('.log'))!);
  const at = readFileSync(logFile).indexOf('bravo');
  expect(at).toBeGreaterThan(0);
  const fd = openSync(logFile, 'r+');
  try {
    writeSync(fd, Buffer.from('a'), 0, 1, at + 4);
  } finally {
    closeSync(fd);
  }
});

afterAll(async () => {
  await broker?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function readAll(consumer: Consumer, count: number): Promise<string[]> {
  consumer.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
  const values: string[] = [];
  try {
    for await (const message of consumer) {
      values.push(message.value!.toString());
      if (values.length === count) break;
    }
  } finally {
    await consumer.disconnect();
  }
  return values;
}

describe('consumer checkCrcs', () => {
  it('reports a batch damaged on disk as CorruptRecordError by default', async () => {
    await expect(readAll(new Consumer(broker, { maxWaitTimeInMs: 10 }), 2)).rejects.toThrow(CorruptRecordError);
  });

  it('reads the damaged bytes as they are with checkCrcs: false', async () => {
    expect(await readAll(new Consumer(broker, { maxWaitTimeInMs: 10, checkCrcs: false }), 2)).toEqual(['alpha', 'brava']);
  });

  it('refuses a checkCrcs that is not a boolean', () => {
    expect(() => new Consumer(broker, { checkCrcs: 'no' as unknown as boolean })).toThrow(InvalidConfigError);
  });
});
