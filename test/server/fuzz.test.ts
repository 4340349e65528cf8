/**
 * 100,000 fuzzed frames against a live server: real requests captured from kafkajs's encoders
 * (sent as they are, with bytes flipped, truncated, or behind a forged size prefix) and random
 * bytes, over many connections that reconnect whenever the server closes them. Afterwards the
 * server still answers, the data written before the fuzzing is intact byte for byte, new data
 * round-trips, and every connection's buffers are gone. The generator is seeded, so a failure
 * replays.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiVersions } from '../../src/protocol/api/api-versions.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { kafkajsRequestFrame } from '../protocol/api/kafkajs-interop.js';
import { TestClient, eventually, startServer, type TestServer } from './helpers.js';
import { seededRandom } from '../support/prng.js';

const FRAMES = 100_000;
const CONNECTIONS = 16;
const SEED = 0x5eed_2026;
/** A connection whose writes stay blocked this long (a fuzzed long poll or join) is dropped. */
const STALLED_MS = 200;
/**
 * Fuzzed requests may legitimately wait for minutes (a Fetch whose maxWaitMs was flipped, a
 * JoinGroup waiting on a fuzzed rebalance timeout). A connection at its in-flight limit is not
 * read, so, as in Kafka, the peer's close is noticed only when the running request answers or
 * when the connection has been idle for idleTimeoutMs (connections.max.idle.ms). A short idle
 * timeout bounds how long such a connection outlives its client here.
 */
const IDLE_TIMEOUT_MS = 2_000;

async function templates(): Promise<Buffer[]> {
  const records = (tag: string) => [{ key: 'k', value: `${tag}-value`, timestamp: 1_700_000_000_000 }];
  const produceArgs = { acks: 1, timeout: 1000, topicData: [{ topic: 'fuzz', partitions: [{ partition: 0, messages: records('p') }] }] };
  const fetchArgs = {
    replicaId: -1,
    maxWaitTime: 10,
    minBytes: 1,
    maxBytes: 1 << 20,
    topics: [{ topic: 'fuzz', partitions: [{ partition: 0, fetchOffset: 0, maxBytes: 1 << 16 }] }],
  };
  const group = { groupId: 'fuzz-group', groupGenerationId: 1, memberId: 'm' };
  return Promise.all([
    kafkajsRequestFrame('apiVersions', 2, {}),
    kafkajsRequestFrame('metadata', 6, { topics: ['fuzz'], allowAutoTopicCreation: false }),
    kafkajsRequestFrame('metadata', 1, { topics: [] }),
    kafkajsRequestFrame('produce', 7, produceArgs),
    kafkajsRequestFrame('produce', 3, produceArgs),
    kafkajsRequestFrame('fetch', 11, fetchArgs),
    kafkajsRequestFrame('fetch', 4, fetchArgs),
    kafkajsRequestFrame('listOffsets', 2, { replicaId: -1, isolationLevel: 0, topics: [{ topic: 'fuzz', partitions: [{ partition: 0, timestamp: -1 }] }] }),
    kafkajsRequestFrame('findCoordinator', 2, { coordinatorKey: 'fuzz-group', coordinatorType: 0 }),
    kafkajsRequestFrame('joinGroup', 5, {
      groupId: 'fuzz-group',
      sessionTimeout: 6000,
      rebalanceTimeout: 6000,
      memberId: '',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from('meta') }],
    }),
    kafkajsRequestFrame('syncGroup', 3, { ...group, generationId: 1, groupAssignment: [{ memberId: 'm', memberAssignment: Buffer.from('a') }] }),
    kafkajsRequestFrame('heartbeat', 3, group),
    kafkajsRequestFrame('leaveGroup', 3, { groupId: 'fuzz-group', members: [{ memberId: 'm' }] }),
    kafkajsRequestFrame('offsetCommit', 5, { ...group, topics: [{ topic: 'fuzz', partitions: [{ partition: 0, offset: '1' }] }] }),
    kafkajsRequestFrame('offsetFetch', 4, { groupId: 'fuzz-group', topics: [{ topic: 'fuzz', partitions: [{ partition: 0 }] }] }),
    kafkajsRequestFrame('describeGroups', 2, { groupIds: ['fuzz-group'] }),
    kafkajsRequestFrame('listGroups', 2, {}),
    kafkajsRequestFrame('createTopics', 3, { validateOnly: false, timeout: 1000, topics: [{ topic: 'fuzz-made', numPartitions: 1 }] }),
    kafkajsRequestFrame('createPartitions', 1, { validateOnly: true, timeout: 1000, topicPartitions: [{ topic: 'fuzz', count: 3 }] }),
    kafkajsRequestFrame('describeConfigs', 2, { includeSynonyms: false, resources: [{ type: 2, name: 'fuzz' }] }),
    kafkajsRequestFrame('saslHandshake', 1, { mechanism: 'PLAIN' }),
  ]);
}

function sizePrefixed(body: Buffer, size = body.length): Buffer {
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeInt32BE(size, 0);
  body.copy(frame, 4);
  return frame;
}

/** One fuzzed frame: valid, flipped, truncated, random, or behind a forged size prefix. */
function fuzzedFrame(random: () => number, bases: Buffer[]): Buffer {
  const base = bases[Math.floor(random() * bases.length)];
  const kind = random();
  if (kind < 0.3) return sizePrefixed(base);
  if (kind < 0.75) {
    const body = Buffer.from(base);
    const flips = 1 + Math.floor(random() * 4);
    for (let i = 0; i < flips; i++) body[Math.floor(random() * body.length)] = Math.floor(random() * 256);
    return sizePrefixed(body);
  }
  if (kind < 0.87) return sizePrefixed(base.subarray(0, Math.floor(random() * base.length)));
  if (kind < 0.95) {
    const body = Buffer.allocUnsafe(Math.floor(random() * 200));
    for (let i = 0; i < body.length; i++) body[i] = Math.floor(random() * 256);
    return sizePrefixed(body);
  }
  return sizePrefixed(base, Math.floor(random() * 2 ** 32) | 0);
}

let t: TestServer;

beforeAll(async () => {
  t = await startServer({
    broker: { autoCreateTopicsEnable: false, maxPartitionsPerTopic: 4, maxPartitions: 256 },
    server: { closeTimeoutMs: 500, socketRequestMaxBytes: 1 << 20, idleTimeoutMs: IDLE_TIMEOUT_MS },
  });
  await t.broker.createTopic('fuzz', { partitions: 1 });
  await t.broker.createTopic('fuzz-check', { partitions: 1 });
});

afterAll(async () => {
  await t?.close();
});

describe('fuzzing a live server', () => {
  it(`survives ${FRAMES} fuzzed frames, keeps its data, and still serves`, async () => {
    const batch = encodeRecordBatch({ records: [{ key: Buffer.from('check'), value: Buffer.from('intact'), timestampMs: 1_700_000_000_000 }] });
    await t.broker.produce('fuzz-check', 0, batch, 1);
    const before = Buffer.from(t.broker.fetch('fuzz-check', 0, 0, 1 << 20, 'read_uncommitted').records);

    const bases = await templates();
    const random = seededRandom(SEED);
    let sent = 0;
    let reconnects = 0;
    let responseBytes = 0;

    const open = async (): Promise<Socket> => {
      const socket = connect({ host: '127.0.0.1', port: t.port });
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        responseBytes += chunk.length;
      });
      await new Promise<void>((resolve) => {
        socket.once('connect', resolve);
        socket.once('close', resolve);
      });
      return socket;
    };
    const writable = (socket: Socket): Promise<boolean> =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), STALLED_MS);
        const done = (ok: boolean) => () => {
          clearTimeout(timer);
          socket.off('drain', onDrain);
          socket.off('close', onClose);
          resolve(ok);
        };
        const onDrain = done(true);
        const onClose = done(false);
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      });

    const worker = async (): Promise<void> => {
      let socket = await open();
      while (sent < FRAMES) {
        if (socket.destroyed || socket.readyState !== 'open') {
          socket.destroy();
          socket = await open();
          reconnects++;
          continue;
        }
        sent++;
        if (!socket.write(fuzzedFrame(random, bases)) && !(await writable(socket))) socket.destroy();
        // Let the server read each frame before the next, so most frames are parsed, not dropped with a closed socket.
        await new Promise((resolve) => setImmediate(resolve));
      }
      socket.destroy();
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));

    expect(sent).toBeGreaterThanOrEqual(FRAMES);
    expect(reconnects).toBeGreaterThan(100);
    expect(responseBytes).toBeGreaterThan(0);
    await eventually(() => t.server.connectionCount === 0).catch((error: Error) => {
      // Name what holds the connections still open, so a rare failure under load can be diagnosed.
      throw new Error(`${error.message}: open connections ${JSON.stringify(t.server.connectionStats())}, queued bytes ${t.server.queuedBytes}`);
    });
    // Every request and response byte the connections reserved was released with them.
    expect(t.server.queuedBytes).toBe(0);

    const client = await TestClient.connect(t.port);
    const versions = await client.send(ApiVersions, 3, { clientSoftwareName: 'after-fuzz', clientSoftwareVersion: '1' });
    expect(versions.errorCode).toBe(0);
    expect(Buffer.from(t.broker.fetch('fuzz-check', 0, 0, 1 << 20, 'read_uncommitted').records)).toEqual(before);
    const produced = await client.send(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 'fuzz-check', partitionData: [{ index: 0, records: batch }] }],
    });
    expect(produced.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 1 });
    const fetched = await client.send(Fetch, 11, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ topic: 'fuzz-check', partitions: [{ partition: 0, fetchOffset: 1, partitionMaxBytes: 1 << 20 }] }],
    });
    // As produced, but for the base offset and the leader epoch (0) the log stamps outside the CRC.
    const stored = fetched.responses[0].partitions[0].records!;
    expect(stored.readInt32BE(12)).toBe(0);
    expect(stored.subarray(16)).toEqual(batch.subarray(16));
    client.close();
  });
});
