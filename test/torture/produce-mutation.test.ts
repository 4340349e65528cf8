/**
 * A mutation fuzzer over real client frames: Produce requests encoded by kafkajs (v7, records
 * uncompressed, gzip and lz4), with bytes inside the record batch's records section (or its
 * record count) mutated and the batch CRC computed again, so every mutation passes the CRC check
 * and reaches record decoding. Each mutated batch goes to a topic of its own between two valid
 * batches. The broker may refuse a batch (any error code) or accept it (error code 0); every
 * topic must afterwards be readable to its end by kcat and by kafkajs, agreeing record for record,
 * with the valid batches at their offsets: an accepted batch that a client cannot decode poisons
 * its partition for good, which is what a broker decoding every record on append prevents.
 */
import { crc32c } from '@node-rs/crc32';
import { CompressionTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Produce } from '../../src/protocol/api/produce.js';
import { decodeResponse } from '../../src/protocol/api/registry.js';
import { kafkajsRequestFrame } from '../protocol/api/kafkajs-interop.js';
import { startServer, TestClient, type TestServer } from '../server/helpers.js';
import { seededUint32 } from '../support/prng.js';
import { budgetMs, checkLog, describeReports, figure, SEED, type AckedSend, type TopicToCheck } from './support.js';

const CASES = figure('MUTATION_CASES', 30, 600);
const RECORDS_PER_BATCH = 12;
const CODECS = [
  { name: 'none', type: CompressionTypes.None },
  { name: 'gzip', type: CompressionTypes.GZIP },
  { name: 'lz4', type: CompressionTypes.LZ4 },
] as const;

// Record batch v2 header fields (Kafka's DefaultRecordBatch), as offsets into the batch.
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const RECORD_COUNT_OFFSET = 57;
const RECORDS_OFFSET = 61;

let t: TestServer;
let client: TestClient;

beforeAll(async () => {
  t = await startServer();
  client = await TestClient.connect(t.port);
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

/** kafkajs's Produce v7 frame (without its size prefix) for one batch of `values` to partition 0 of `topic`. */
function kafkajsProduceFrame(topic: string, values: readonly string[], compression: number): Promise<Buffer> {
  const messages = values.map((value, i) => ({ key: `key-${i}`, value, headers: { trace: `h${i}` }, timestamp: 1_700_000_000_000 + i }));
  return kafkajsRequestFrame('produce', 7, { acks: -1, timeout: 5_000, compression, topicData: [{ topic, partitions: [{ partition: 0, messages }] }] });
}

/** Where the record batch sits in a one-topic, one-partition Produce v7 frame kafkajs encoded. */
function batchStart(frame: Buffer): number {
  let pos = 8; // api key, api version, correlation id
  pos += 2 + frame.readInt16BE(pos); // client id
  const transactionalIdLength = frame.readInt16BE(pos);
  pos += 2 + Math.max(transactionalIdLength, 0);
  pos += 2 + 4 + 4; // acks, timeout, topic count
  pos += 2 + frame.readInt16BE(pos); // topic name
  pos += 4 + 4 + 4; // partition count, partition index, records length
  return pos;
}

interface Mutation {
  kind: string;
  /** Positions changed, relative to the batch. */
  positions: number[];
}

/**
 * Mutates the batch inside `frame` in place, within its records (or its record count), and writes
 * the CRC of the result, so the batch passes the CRC check.
 */
function mutate(frame: Buffer, next: () => number): Mutation {
  const start = batchStart(frame);
  const batch = frame.subarray(start);
  const recordsBytes = batch.length - RECORDS_OFFSET;
  const at = (): number => RECORDS_OFFSET + (next() % recordsBytes);
  const positions: number[] = [];
  const choice = next() % 5;
  let kind: string;
  if (choice === 0) {
    kind = 'bit flips';
    for (let n = 1 + (next() % 4); n > 0; n--) {
      const p = at();
      batch[p] ^= 1 << next() % 8;
      positions.push(p);
    }
  } else if (choice === 1) {
    kind = 'random bytes';
    for (let n = 1 + (next() % 8); n > 0; n--) {
      const p = at();
      batch[p] = next() & 0xff;
      positions.push(p);
    }
  } else if (choice === 2) {
    // A varint byte with its continuation bit set runs a length or a count past the record.
    kind = 'varint continuation (0xff)';
    const p = at();
    batch[p] = 0xff;
    positions.push(p);
  } else if (choice === 3) {
    kind = 'zeroed run';
    const p = at();
    const end = Math.min(batch.length, p + 1 + (next() % 16));
    batch.fill(0, p, end);
    for (let q = p; q < end; q++) positions.push(q);
  } else {
    kind = 'record count';
    const count = batch.readInt32BE(RECORD_COUNT_OFFSET);
    const counts = [0, count - 1, count + 1, count * 2, 0x7fff_ffff, -1];
    batch.writeInt32BE(counts[next() % counts.length], RECORD_COUNT_OFFSET);
    positions.push(RECORD_COUNT_OFFSET);
  }
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
  return { kind, positions };
}

/** Sends a Produce frame as it is; returns the partition's error code and base offset. */
async function sendFrame(frame: Buffer): Promise<{ errorCode: number; baseOffset: number }> {
  const sized = Buffer.allocUnsafe(4 + frame.length);
  sized.writeInt32BE(frame.length, 0);
  frame.copy(sized, 4);
  const response = decodeResponse(await client.sendRaw(sized), Produce, 7);
  const partition = response.body.responses[0].partitionResponses[0];
  return { errorCode: partition.errorCode, baseOffset: Number(partition.baseOffset) };
}

describe('Produce frames from kafkajs with mutated records and recomputed CRCs', () => {
  it(
    `leave every partition readable by kcat and kafkajs (${CASES} cases)`,
    async () => {
      const next = seededUint32(SEED);
      const topics: TopicToCheck[] = Array.from({ length: CASES }, (_, i) => ({ name: `mutated-${i}`, partitions: 1, exactlyOnce: true }));
      for (const topic of topics) await t.broker.createTopic(topic.name, { partitions: 1 });
      const acked: AckedSend[] = [];
      const cases: string[] = [];
      let accepted = 0;
      for (let i = 0; i < CASES; i++) {
        const topic = topics[i].name;
        const codec = CODECS[i % CODECS.length];
        for (const [tag, mutated] of [['before', false], ['mutated', true], ['after', false]] as const) {
          const values = Array.from({ length: RECORDS_PER_BATCH }, (_, r) => `${topic}-${tag}-${r}`);
          const frame = await kafkajsProduceFrame(topic, values, codec.type);
          const mutation = mutated ? mutate(frame, next) : null;
          const { errorCode, baseOffset } = await sendFrame(frame);
          if (mutation === null) {
            expect(errorCode, `${topic}: the valid batch ${tag} the mutated one`).toBe(0);
            acked.push({ topic, partition: 0, baseOffset, values });
          } else {
            if (errorCode === 0) accepted++;
            cases.push(`${topic}: ${codec.name}, ${mutation.kind} at batch bytes ${mutation.positions.join(',')}: error code ${errorCode}`);
          }
        }
      }
      const reports = await checkLog(t.bootstrap, topics, acked, () => true, 30_000);
      const failing = reports.filter((r) => r.lost + r.corrupted + r.unreadable > 0);
      console.log(
        `produce mutation fuzzer (seed ${SEED}): ${CASES} mutated batches, ${accepted} accepted, ${CASES - accepted} refused; ` +
          `${failing.length} topics unreadable or damaged\n` +
          describeReports('produce-mutation', failing) +
          (failing.length > 0 ? `\ncases of those topics:\n  ${failing.map((r) => cases[Number(r.topic.slice('mutated-'.length))]).join('\n  ')}` : ''),
      );
      expect(failing.map((r) => cases[Number(r.topic.slice('mutated-'.length))])).toEqual([]);
    },
    budgetMs(120_000),
  );
});
