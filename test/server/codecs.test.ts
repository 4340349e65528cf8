/**
 * snappy, zstd and lz4 against independent peers over loopback: kcat (librdkafka 2.0) and Debian's
 * python3-confluent-kafka produce batches that Sluice stores and decodes, and read back the
 * batches Sluice writes (snappy in snappy-java's framing, zstd frames, lz4 frames in Kafka's
 * form, several blocks and blocks stored raw included); compacted topics take every codec; a
 * topic's compression.type recompresses what producers send, as Kafka does.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_HEADER_BYTES, COMPRESSION_CODEC_MASK, batchSizeAt, readAttributes } from '../../src/protocol/batch-header.js';
import { COMPRESSION_CODEC_IDS, type CompressionType } from '../../src/protocol/compression.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { kcat, startServer, type TestServer } from './helpers.js';

/** Debian's interpreter, where python3-confluent-kafka is installed (another python3 may come first on the PATH). */
const PYTHON = '/usr/bin/python3';
const RECORDS = 2000;

let t: TestServer;

beforeAll(async () => {
  t = await startServer();
});

afterAll(async () => {
  await t?.close();
});

function keyedLines(count: number, tag: string): string {
  return Array.from({ length: count }, (_, i) => `key-${i % 50}:${'payload '.repeat(i % 7)}${tag}-${i}`).join('\n') + '\n';
}

function expectedLines(count: number, tag: string): string[] {
  return keyedLines(count, tag).slice(0, -1).split('\n');
}

/** Every stored batch's codec id, over all partitions. */
function storedCodecs(topic: string, partitions = 1): Set<number> {
  const codecs = new Set<number>();
  for (let partition = 0; partition < partitions; partition++) {
    const { records } = t.broker.fetch(topic, partition, 0, 64 << 20, 'read_uncommitted');
    for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) codecs.add(readAttributes(records, pos) & COMPRESSION_CODEC_MASK);
  }
  return codecs;
}

/** "key:value" of every stored record, decoded by Sluice, in offset order (one partition). */
function storedLines(topic: string): string[] {
  const { records } = t.broker.fetch(topic, 0, 0, 64 << 20, 'read_uncommitted');
  return decodeRecordBatches(records).flatMap((batch) => batch.records.map((r) => `${r.key?.toString()}:${r.value?.toString()}`));
}

async function kcatLines(topic: string): Promise<string[]> {
  const { stdout } = await kcat(['-b', t.bootstrap, '-C', '-t', topic, '-e', '-q', '-f', '%k:%s\n']);
  return stdout.trimEnd().split('\n');
}

function python(script: string, args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-c', script, ...args], { timeout: 60_000, maxBuffer: 64 << 20, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python3 failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
    // A child that exits without reading its input (kcat -L never does; a failed child neither) closes the
    // pipe: the exit status and output above decide the result, not an EPIPE on the write.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input);
  });
}

const PY_PRODUCE = `
import sys
from confluent_kafka import Producer
bootstrap, topic, codec = sys.argv[1:4]
p = Producer({'bootstrap.servers': bootstrap, 'compression.type': codec, 'linger.ms': 50, 'acks': 'all'})
for line in sys.stdin.read().splitlines():
    key, value = line.split(':', 1)
    p.produce(topic, key=key.encode(), value=value.encode(), partition=0)
if p.flush(30) != 0:
    sys.exit('records left unsent')
`;

const PY_CONSUME = `
import sys
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'codec-reader', 'enable.auto.commit': False})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
seen = []
while len(seen) < count:
    m = c.poll(30)
    if m is None:
        sys.exit('timed out after %d records' % len(seen))
    if m.error():
        sys.exit(str(m.error()))
    seen.append('%s:%s' % (m.key().decode(), m.value().decode()))
c.close()
print('\\n'.join(seen))
`;

async function pythonLines(topic: string, count: number): Promise<string[]> {
  return (await python(PY_CONSUME, [t.bootstrap, topic, String(count)])).trimEnd().split('\n');
}

describe.each(['snappy', 'zstd', 'lz4'] as const)('%s with independent peers', (codec: CompressionType) => {
  const codecId = COMPRESSION_CODEC_IDS[codec];

  it('kcat produces it, Sluice stores and decodes it, kcat and python read it back', async () => {
    const topic = `kcat-${codec}`;
    await t.broker.createTopic(topic);
    await kcat(['-b', t.bootstrap, '-P', '-t', topic, '-K:', '-X', `compression.codec=${codec}`], { input: keyedLines(RECORDS, codec) });
    expect(storedCodecs(topic)).toContain(codecId);
    expect(storedLines(topic)).toEqual(expectedLines(RECORDS, codec));
    expect(await kcatLines(topic)).toEqual(expectedLines(RECORDS, codec));
    expect(await pythonLines(topic, RECORDS)).toEqual(expectedLines(RECORDS, codec));
  });

  it('python3-confluent-kafka produces it, Sluice stores and decodes it', async () => {
    const topic = `python-${codec}`;
    await t.broker.createTopic(topic);
    await python(PY_PRODUCE, [t.bootstrap, topic, codec], keyedLines(RECORDS, codec));
    expect(storedCodecs(topic)).toContain(codecId);
    expect(storedLines(topic)).toEqual(expectedLines(RECORDS, codec));
  });

  it("Sluice writes it (snappy in the Java producer's framing), kcat and python read it", async () => {
    const topic = `sluice-${codec}`;
    await t.broker.createTopic(topic);
    const lines = expectedLines(RECORDS, codec);
    // Large batches, so snappy's framing holds several 32 KiB blocks.
    for (let from = 0; from < lines.length; from += 1000) {
      const records = lines.slice(from, from + 1000).map((line) => {
        const [key, value] = line.split(/:(.*)/s);
        return { key: Buffer.from(key), value: Buffer.from(value) };
      });
      await t.broker.produce(topic, 0, encodeRecordBatch({ records, compression: codec }), -1);
    }
    expect([...storedCodecs(topic)]).toEqual([codecId]);
    expect(await kcatLines(topic)).toEqual(lines);
    expect(await pythonLines(topic, RECORDS)).toEqual(lines);
  });

  it('a compacted topic accepts it from kcat and stores it', async () => {
    const topic = `compacted-${codec}`;
    await t.broker.createTopic(topic, { configs: { 'cleanup.policy': 'compact' } });
    await kcat(['-b', t.bootstrap, '-P', '-t', topic, '-K:', '-X', `compression.codec=${codec}`], { input: keyedLines(RECORDS, codec) });
    expect(storedCodecs(topic)).toContain(codecId);
    expect(storedLines(topic)).toEqual(expectedLines(RECORDS, codec));
  });
});

describe('lz4 frames Sluice writes, read by librdkafka', () => {
  it('several 64 KiB blocks, compressible and stored raw (incompressible), read by kcat and python', async () => {
    const topic = 'sluice-lz4-blocks';
    await t.broker.createTopic(topic);
    // Base64 of a 32-bit generator's high bytes: text that LZ4, which has no entropy coder, cannot shrink.
    let state = 1;
    const noise = (bytes: number): string => {
      const raw = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        raw[i] = state >>> 24;
      }
      return raw.toString('base64').slice(0, bytes);
    };
    const lines = Array.from({ length: 400 }, (_, i) => `k${i}:${i % 2 === 0 ? noise(1000) : `${'compressible '.repeat(80)}${i}`}`);
    const records = lines.map((line) => {
      const [key, value] = line.split(/:(.*)/s);
      return { key: Buffer.from(key), value: Buffer.from(value) };
    });
    const noisy = records.filter((_, i) => i % 2 === 0);
    await t.broker.produce(topic, 0, encodeRecordBatch({ records, compression: 'lz4' }), -1);
    await t.broker.produce(topic, 0, encodeRecordBatch({ records: noisy, compression: 'lz4' }), -1);
    const { records: stored } = t.broker.fetch(topic, 0, 0, 64 << 20, 'read_uncommitted');
    const blockKinds = lz4BlockKinds(stored.subarray(BATCH_HEADER_BYTES, batchSizeAt(stored, 0)));
    expect(blockKinds.length).toBeGreaterThan(2);
    const second = batchSizeAt(stored, 0);
    const rawKinds = lz4BlockKinds(stored.subarray(second + BATCH_HEADER_BYTES, second + batchSizeAt(stored, second)));
    expect(rawKinds).toContain('raw');
    const expected = [...lines, ...lines.filter((_, i) => i % 2 === 0)];
    expect(await kcatLines(topic)).toEqual(expected);
    expect(await pythonLines(topic, expected.length)).toEqual(expected);
  });
});

/** 'compressed' or 'raw' for each block of the one LZ4 frame that fills `frame` (the batch's records section). */
function lz4BlockKinds(frame: Buffer): string[] {
  const kinds: string[] = [];
  let pos = 7; // magic, FLG, BD, HC: Kafka's frames carry no content size
  for (let header = frame.readUInt32LE(pos); header !== 0; header = frame.readUInt32LE(pos)) {
    kinds.push(header & 0x8000_0000 ? 'raw' : 'compressed');
    pos += 4 + (header & 0x7fff_ffff);
  }
  return kinds;
}

describe('topic compression.type', () => {
  it.each([
    ['zstd', 'lz4', COMPRESSION_CODEC_IDS.zstd],
    ['snappy', 'none', COMPRESSION_CODEC_IDS.snappy],
    ['uncompressed', 'zstd', COMPRESSION_CODEC_IDS.none],
    ['gzip', 'snappy', COMPRESSION_CODEC_IDS.gzip],
  ] as const)('%s recompresses what a producer sends with %s; kcat and python read it', async (topicCodec, producerCodec, storedId) => {
    const topic = `recompressed-${topicCodec}-${producerCodec}`;
    await t.broker.createTopic(topic, { configs: { 'compression.type': topicCodec } });
    await kcat(['-b', t.bootstrap, '-P', '-t', topic, '-p', '0', '-K:', '-X', `compression.codec=${producerCodec}`], {
      input: keyedLines(RECORDS, topic),
    });
    expect([...storedCodecs(topic)]).toEqual([storedId]);
    expect(storedLines(topic)).toEqual(expectedLines(RECORDS, topic));
    expect(await kcatLines(topic)).toEqual(expectedLines(RECORDS, topic));
    expect(await pythonLines(topic, RECORDS)).toEqual(expectedLines(RECORDS, topic));
  });

  it('checks max.message.bytes again after recompression, as Kafka does: a batch that grows past it is refused', async () => {
    const topic = 'recompressed-grows';
    await t.broker.createTopic(topic, { configs: { 'compression.type': 'uncompressed', 'max.message.bytes': '2000' } });
    const batch = encodeRecordBatch({ compression: 'zstd', records: [{ key: Buffer.from('k'), value: Buffer.alloc(20_000, 0x61) }] });
    expect(batch.length).toBeLessThan(2000);
    await expect(t.broker.produce(topic, 0, batch, -1)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(t.broker.partitionOffsets(topic, 0).highWatermark).toBe(0);
  });

  it('"producer" keeps each batch in the codec its producer chose', async () => {
    const topic = 'recompressed-producer';
    await t.broker.createTopic(topic, { configs: { 'compression.type': 'producer' } });
    for (const codec of ['snappy', 'zstd'] as const) {
      await kcat(['-b', t.bootstrap, '-P', '-t', topic, '-p', '0', '-K:', '-X', `compression.codec=${codec}`], { input: keyedLines(500, codec) });
    }
    // librdkafka sends a batch uncompressed when compressing does not shrink it (a batch of one
    // short record, when the timing cuts one): that batch's producer chose none, kept as such.
    const stored = storedCodecs(topic);
    expect(stored).toContain(COMPRESSION_CODEC_IDS.snappy);
    expect(stored).toContain(COMPRESSION_CODEC_IDS.zstd);
    expect([...stored].every((id) => [COMPRESSION_CODEC_IDS.snappy, COMPRESSION_CODEC_IDS.zstd, COMPRESSION_CODEC_IDS.none].includes(id))).toBe(true);
    expect(storedLines(topic)).toEqual([...expectedLines(500, 'snappy'), ...expectedLines(500, 'zstd')]);
  });
});
