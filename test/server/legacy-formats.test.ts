/**
 * Old clients over a real socket: Produce v0-v2 with message formats 0 and 1 and Fetch v0-v3
 * reading them. librdkafka (kcat) told the broker is Kafka 0.9.0 sends Produce v1 / Fetch v1 with
 * magic 0, uncompressed and gzip, snappy and lz4 wrappers (lz4 with KAFKA-3160's header
 * checksum); what it writes is read by a current client and the other way round. As a 0.9
 * consumer it also speaks Metadata v0, ListOffsets v0 and the v0 group APIs with OffsetCommit v2.
 * Magic 1 comes from kafkajs's own MessageSet encoder and decoder, through Sluice's request codecs.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { ListOffsets } from '../../src/protocol/api/list-offsets.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { COMPRESSION_CODEC_MASK, TIMESTAMP_TYPE_MASK, readAttributes } from '../../src/protocol/batch-header.js';
import { COMPRESSION_CODEC_IDS } from '../../src/protocol/compression.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import {
  PeerDecoder as Decoder,
  PeerMessageSet as MessageSet,
  decodePeerMessageSet as decodeMessageSet,
  lookupPeerCodec as lookupCodec,
  registerPeerCodecs,
  type PeerMessage,
} from '../support/kafkajs-peer-codecs.js';
import { TestClient, kcat, startServer, type TestServer } from './helpers.js';

const { Types } = registerPeerCodecs();

const LINES = 2_000;
const OLD_LIBRDKAFKA = ['-X', 'api.version.request=false', '-X', 'broker.version.fallback=0.9.0', '-d', 'protocol'];
const T0 = Date.now();

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

function lines(tag: string): string {
  return Array.from({ length: LINES }, (_, i) => `key-${i % 7}:${tag}-${i}-${'pad'.repeat(i % 10)}`).join('\n') + '\n';
}

function expectLines(stdout: string, tag: string): void {
  const got = stdout.split('\n').filter((line) => line.length > 0);
  expect(got).toEqual(Array.from({ length: LINES }, (_, i) => `${i}|key-${i % 7}|${tag}-${i}-${'pad'.repeat(i % 10)}`));
}

/** The versions of `api` librdkafka logged sending (its protocol debug output). */
function sentVersions(stderr: string, api: string): number[] {
  return [...new Set([...stderr.matchAll(new RegExp(`Sent ${api}Request \\(v(\\d+)`, 'g'))].map((match) => Number(match[1])))];
}

/** Codec ids of the batches stored in partition 0, read as the log holds them. */
function storedCodecs(topic: string): number[] {
  const { records } = t.broker.fetch(topic, 0, 0, 64 << 20, 'read_uncommitted');
  const codecs = new Set<number>();
  for (let pos = 0; pos < records.length; pos += records.readInt32BE(pos + 8) + 12) codecs.add(readAttributes(records, pos) & COMPRESSION_CODEC_MASK);
  return [...codecs];
}

describe('librdkafka as a Kafka 0.9 client (message format 0)', () => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4'] as const) {
    it(`${codec}: what it produces with Produce v0-v2 a current client reads, stored as RecordBatch v2 in the same codec`, async () => {
      const topic = `old-produce-${codec}`;
      await t.broker.createTopic(topic, { partitions: 1 });
      const produced = await kcat(['-b', t.bootstrap, '-P', '-t', topic, '-p', '0', '-K', ':', '-z', codec, ...OLD_LIBRDKAFKA], { input: lines(codec) });
      expect(sentVersions(produced.stderr, 'Produce')).toEqual([1]);
      expect(storedCodecs(topic)).toEqual([COMPRESSION_CODEC_IDS[codec]]);
      const consumed = await kcat(['-b', t.bootstrap, '-C', '-t', topic, '-p', '0', '-e', '-q', '-f', '%o|%k|%s\n']);
      expectLines(consumed.stdout, codec);
      // Magic 0 has no timestamp: the records carry Kafka's -1.
      const timestamps = await kcat(['-b', t.bootstrap, '-C', '-t', topic, '-p', '0', '-e', '-q', '-c', '1', '-f', '%T\n']);
      expect(timestamps.stdout.trim()).toBe('-1');
    });

    it(`${codec}: what a current client produces it reads with Fetch v0-v1, down-converted`, async () => {
      const topic = `old-fetch-${codec}`;
      await t.broker.createTopic(topic, { partitions: 1 });
      await kcat(['-b', t.bootstrap, '-P', '-t', topic, '-p', '0', '-K', ':', '-z', codec, '-X', 'linger.ms=50'], { input: lines(codec) });
      expect(storedCodecs(topic)).toEqual([COMPRESSION_CODEC_IDS[codec]]);
      const consumed = await kcat(['-b', t.bootstrap, '-C', '-t', topic, '-p', '0', '-e', '-f', '%o|%k|%s\n', ...OLD_LIBRDKAFKA]);
      expect(sentVersions(consumed.stderr, 'Fetch')).toEqual([1]);
      expectLines(consumed.stdout, codec);
    });
  }
});

describe('librdkafka as a Kafka 0.9 consumer', () => {
  it('tails with ListOffsets v0, joins a group with the v0 group APIs and resumes from its commit', async () => {
    const topic = 'old-group';
    await t.broker.createTopic(topic, { partitions: 1 });
    const produce = (from: number, to: number) =>
      kcat(['-b', t.bootstrap, '-P', '-t', topic, '-p', '0', ...OLD_LIBRDKAFKA], {
        input: Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`).join('\n') + '\n',
      });
    await produce(1, 20);
    const tail = await kcat(['-b', t.bootstrap, '-C', '-t', topic, '-p', '0', '-o', '-3', '-e', '-f', '%o|%s\n', ...OLD_LIBRDKAFKA]);
    expect(tail.stdout).toBe('17|m18\n18|m19\n19|m20\n');
    expect(sentVersions(tail.stderr, 'ListOffsets')).toEqual([0]);
    expect(sentVersions(tail.stderr, 'Metadata')).toEqual([0]);

    const group = ['-b', t.bootstrap, '-G', 'old-group-g', topic, '-e', '-f', '%s\n', '-X', 'auto.offset.reset=earliest', ...OLD_LIBRDKAFKA];
    const first = await kcat(group);
    expect(first.stdout.split('\n').filter(Boolean)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
    for (const api of ['JoinGroup', 'SyncGroup', 'LeaveGroup', 'FindCoordinator'] as const) expect(sentVersions(first.stderr, api)).toEqual([0]);
    expect(sentVersions(first.stderr, 'OffsetCommit')).toEqual([2]);
    expect(sentVersions(first.stderr, 'OffsetFetch')).toEqual([1]);
    await produce(21, 25);
    const second = await kcat(group);
    expect(second.stdout).toBe('m21\nm22\nm23\nm24\nm25\n');
  });
});

describe('ListOffsets v0', () => {
  it('answers from segment base offsets and file times, newest first, up to maxNumOffsets, as Kafka', async () => {
    const topic = 'v0-offsets';
    // segment.ms 1: each produce after the first starts a new segment.
    await t.broker.createTopic(topic, { partitions: 1, configs: { 'segment.ms': '1' } });
    for (const from of [0, 5, 10]) {
      const values = Array.from({ length: 5 }, (_, i) => `r${from + i}`);
      // Kafka rolls by record time: each set is a second later than the last.
      expect((await produceLegacy(2, topic, await peerMessageSet(1, 'none', values, T0 + from * 1000))).baseOffset).toBe(from);
      expect(readdirSync(join(t.dataDir, `${topic}-0`)).filter((name) => name.endsWith('.log'))).toHaveLength(from / 5 + 1);
    }
    const list = async (timestamp: number, maxNumOffsets: number) => {
      const response = await client.send(ListOffsets, 0, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp, maxNumOffsets }] }],
      });
      return response.topics[0].partitions[0];
    };
    expect((await list(-1, 10)).oldStyleOffsets).toEqual([15, 10, 5, 0]);
    expect((await list(-1, 2)).oldStyleOffsets).toEqual([15, 10]);
    expect((await list(-1, 0)).oldStyleOffsets).toEqual([]);
    expect((await list(-2, 10)).oldStyleOffsets).toEqual([0]);
    // Before any segment was written: nothing; a time in the future: from the log end.
    expect((await list(1, 10)).oldStyleOffsets).toEqual([]);
    expect((await list(Date.now() + 3_600_000, 1)).oldStyleOffsets).toEqual([15]);
    // At the first segment's last write: that segment, and the later ones written in the same millisecond.
    const firstWrittenMs = Math.floor(statSync(join(t.dataDir, `${topic}-0`, '00000000000000000000.log')).mtimeMs);
    const atFirst = (await list(firstWrittenMs, 10)).oldStyleOffsets;
    expect(atFirst.at(-1)).toBe(0);
    expect(atFirst).not.toContain(15);
    expect((await list(-1, -1)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

async function peerMessageSet(magic: 0 | 1, codec: 'none' | 'gzip' | 'lz4', values: string[], timestampMs = T0): Promise<Buffer> {
  const compression = { none: Types.None, gzip: Types.GZIP, lz4: Types.LZ4 }[codec];
  const entries = values.map((value, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(value), timestamp: timestampMs + i }));
  const inner = MessageSet({ messageVersion: magic, compression, entries });
  if (codec === 'none') return inner.buffer;
  const compressed = await lookupCodec(compression).compress(inner);
  return MessageSet({ messageVersion: magic, entries: [{ compression, timestamp: timestampMs, value: compressed }] }).buffer;
}

async function produceLegacy(version: number, topic: string, records: Buffer) {
  const response = await client.send(Produce, version, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return response.responses[0].partitionResponses[0];
}

async function fetchLegacy(version: number, topic: string, fetchOffset: number, partitionMaxBytes = 1 << 20): Promise<{ errorCode: number; messages: PeerMessage[]; bytes: number }> {
  const response = await client.send(Fetch, version, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset, partitionMaxBytes }] }],
  });
  const partition = response.responses[0].partitions[0];
  const records = partition.records ?? Buffer.alloc(0);
  // kafkajs's decoder reads a size field of its own when given 0 bytes.
  const messages = records.length === 0 ? [] : await decodeMessageSet(new Decoder(records), records.length);
  return { errorCode: partition.errorCode, messages, bytes: records.length };
}

describe('kafkajs MessageSets through Produce v0-v2 and Fetch v0-v3', () => {
  it('magic 1, gzip and lz4 wrappers: offsets assigned, timestamps kept, read back as magic 1 (Fetch v2-v3) and magic 0 (Fetch v0-v1)', async () => {
    const topic = 'magic-one';
    await t.broker.createTopic(topic, { partitions: 1 });
    const first = await produceLegacy(2, topic, await peerMessageSet(1, 'gzip', ['a', 'b', 'c']));
    expect(first).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0, logAppendTimeMs: -1 });
    const second = await produceLegacy(1, topic, await peerMessageSet(1, 'lz4', ['d', 'e'], T0 + 10));
    expect(second).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 3 });
    for (const version of [2, 3]) {
      const { errorCode, messages } = await fetchLegacy(version, topic, 0);
      expect(errorCode).toBe(ErrorCode.NONE);
      expect(messages.map((m) => [Number(m.offset), m.magicByte, m.value!.toString(), Number(m.timestamp)])).toEqual([
        [0, 1, 'a', T0],
        [1, 1, 'b', T0 + 1],
        [2, 1, 'c', T0 + 2],
        [3, 1, 'd', T0 + 10],
        [4, 1, 'e', T0 + 11],
      ]);
    }
    // Magic 0 lz4 carries KAFKA-3160's header checksum, which kafkajs does not read (librdkafka
    // does, above): one byte of partitionMaxBytes keeps the answer to the gzip wrapper.
    for (const version of [0, 1]) {
      const { messages } = await fetchLegacy(version, topic, 0, 1);
      expect(messages.map((m) => [Number(m.offset), m.magicByte, m.key!.toString(), m.value!.toString()])).toEqual([
        [0, 0, 'k0', 'a'],
        [1, 0, 'k1', 'b'],
        [2, 0, 'k2', 'c'],
      ]);
    }
  });

  it('Produce v0 (magic 0, uncompressed) answers without the later fields; a current client reads the records', async () => {
    const topic = 'magic-zero';
    await t.broker.createTopic(topic, { partitions: 1 });
    const response = await produceLegacy(0, topic, await peerMessageSet(0, 'none', ['x', 'y']));
    expect(response).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 });
    const consumed = await kcat(['-b', t.bootstrap, '-C', '-t', topic, '-p', '0', '-e', '-q', '-f', '%o|%k|%s|%T\n']);
    expect(consumed.stdout).toBe('0|k0|x|-1\n1|k1|y|-1\n');
  });

  it('a LogAppendTime topic stamps converted messages and serves the stamp as magic 1\'s timestamp type', async () => {
    const topic = 'magic-append-time';
    await t.broker.createTopic(topic, { partitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } });
    const before = Date.now();
    const response = await produceLegacy(2, topic, await peerMessageSet(1, 'none', ['p', 'q'], 1));
    expect(response.errorCode).toBe(ErrorCode.NONE);
    expect(response.logAppendTimeMs).toBeGreaterThanOrEqual(before);
    const { records } = t.broker.fetch(topic, 0, 0, 1 << 20, 'read_uncommitted');
    expect(readAttributes(records, 0) & TIMESTAMP_TYPE_MASK).toBe(TIMESTAMP_TYPE_MASK);
    const { messages } = await fetchLegacy(3, topic, 0);
    expect(messages.map((m) => [m.attributes & TIMESTAMP_TYPE_MASK, Number(m.timestamp)])).toEqual([
      [TIMESTAMP_TYPE_MASK, response.logAppendTimeMs],
      [TIMESTAMP_TYPE_MASK, response.logAppendTimeMs],
    ]);
  });

  it('refuses a bad CRC with CORRUPT_MESSAGE, and a message set in Produce v3+ with INVALID_RECORD, storing nothing', async () => {
    const topic = 'legacy-refusals';
    await t.broker.createTopic(topic, { partitions: 1 });
    const set = await peerMessageSet(1, 'none', ['ok']);
    const flipped = Buffer.from(set);
    flipped[flipped.length - 1] ^= 0xff;
    expect((await produceLegacy(2, topic, flipped)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await produceLegacy(3, topic, set)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(t.broker.partitionOffsets(topic, 0).logEndOffset).toBe(0);
  });

  it('keeps a down-converted answer within partitionMaxBytes after the first message, and goes on from there', async () => {
    const topic = 'legacy-limits';
    await t.broker.createTopic(topic, { partitions: 1 });
    const values = Array.from({ length: 100 }, (_, i) => `value-${i}-${'z'.repeat(40)}`);
    await produceLegacy(2, topic, await peerMessageSet(1, 'none', values));
    const read: string[] = [];
    let offset = 0;
    while (offset < values.length) {
      const { messages, bytes } = await fetchLegacy(3, topic, offset, 500);
      expect(messages.length).toBeGreaterThan(0);
      expect(bytes).toBeLessThanOrEqual(500);
      read.push(...messages.map((m) => m.value!.toString()));
      offset = Number(messages[messages.length - 1].offset) + 1;
    }
    expect(read).toEqual(values);
  });

  it('answers UNSUPPORTED_COMPRESSION_TYPE where a zstd batch would have to be down-converted', async () => {
    const topic = 'legacy-zstd';
    await t.broker.createTopic(topic, { partitions: 1 });
    const batch = encodeRecordBatch({ compression: 'zstd', records: [{ value: Buffer.from('zstd'), timestampMs: T0 }] });
    const produced = await client.send(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
    });
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    expect((await fetchLegacy(3, topic, 0)).errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  });
});
