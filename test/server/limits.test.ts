/**
 * The server's memory and connection bounds over real sockets: the broker's fetchMaxBytes, the
 * per-connection bound on unwritten responses against clients that never read, the global
 * queuedMaxBytes, connectionsMaxPerIp, and requestReceiveTimeoutMs against a client trickling a
 * request.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiVersions } from '../../src/protocol/api/api-versions.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { decodeResponse } from '../../src/protocol/api/registry.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { TestClient, eventually, startServer, type TestServer } from './helpers.js';

const INT32_MAX = 0x7fff_ffff;
const VALUE_BYTES = 20 * 1024;
const RECORDS_PER_BATCH = 15;

/** A batch of about 300 KiB. */
function bigBatch(): Buffer {
  const value = Buffer.alloc(VALUE_BYTES, 'v');
  return encodeRecordBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ key: Buffer.from(`k${i}`), value, timestampMs: 1_700_000_000_000 + i })) });
}

const BATCH_BYTES = bigBatch().length;

async function fillTopic(t: TestServer, topic: string, partitions: number, batches: number): Promise<void> {
  await t.broker.createTopic(topic, { partitions });
  for (let partition = 0; partition < partitions; partition++) {
    for (let i = 0; i < batches; i++) await t.broker.produce(topic, partition, bigBatch(), 1);
  }
}

/** A Fetch asking for 2 GiB from offset 0 of each partition, as a hostile client would. */
function hugeFetch(topic: string, partitions: number[], minBytes = 1, maxWaitMs = 0) {
  return {
    maxWaitMs,
    minBytes,
    maxBytes: INT32_MAX,
    isolationLevel: 0,
    topics: [{ topic, partitions: partitions.map((partition) => ({ partition, fetchOffset: 0, partitionMaxBytes: INT32_MAX })) }],
  };
}

describe('fetchMaxBytes', () => {
  let t: TestServer;
  let client: TestClient;
  const fetchMaxBytes = 2 * BATCH_BYTES + Math.floor(BATCH_BYTES / 2);

  beforeAll(async () => {
    t = await startServer({ server: { fetchMaxBytes } });
    await fillTopic(t, 'capped', 2, 6);
    client = await TestClient.connect(t.port);
  });

  afterAll(async () => {
    client.close();
    await t.close();
  });

  it('caps a Fetch asking for 2 GiB at the broker bound, across partitions', async () => {
    const response = await client.send(Fetch, 11, hugeFetch('capped', [0, 1]));
    const [first, second] = response.responses[0].partitions;
    expect(first.errorCode).toBe(0);
    // Two whole batches fit the bound; the second partition's first batch does not fit what is left.
    expect(first.records!.length).toBe(2 * BATCH_BYTES);
    expect(second).toMatchObject({ errorCode: 0, highWatermark: 6 * RECORDS_PER_BATCH });
    expect(second.records!.length).toBe(0);
  });

  it('caps minBytes at the same bound, so a request for more than any answer holds is answered once that much is there', async () => {
    // Without the cap this long poll would wait its full ten minutes for 2 GiB that can never be returned.
    const response = await client.send(Fetch, 11, hugeFetch('capped', [0], INT32_MAX, 600_000));
    expect(response.responses[0].partitions[0].records!.length).toBe(2 * BATCH_BYTES);
  });

  it('returns a first batch larger than the bound whole, so a consumer always progresses', async () => {
    const small = await startServer({ server: { fetchMaxBytes: 1024 } });
    try {
      await fillTopic(small, 'one', 1, 2);
      const reader = await TestClient.connect(small.port);
      const response = await reader.send(Fetch, 11, hugeFetch('one', [0]));
      expect(response.responses[0].partitions[0].records!.length).toBe(BATCH_BYTES);
      reader.close();
    } finally {
      await small.close();
    }
  });
});

describe('clients that never read their responses', () => {
  const requests = 40;

  /** Sends `requests` 2 GiB Fetches on a client that does not read; returns the pending answers. */
  async function nonReadingFetcher(t: TestServer): Promise<{ client: TestClient; answers: Promise<Buffer>[] }> {
    const client = await TestClient.connect(t.port);
    client.pause();
    const answers = Array.from({ length: requests }, () => client.sendRaw(client.frame(Fetch, 11, hugeFetch('backlog', [0]))));
    return { client, answers };
  }

  /** The client reads again: every answer arrives, in order, each with records. */
  async function drain(client: TestClient, answers: Promise<Buffer>[]): Promise<void> {
    client.resume();
    const decoded = (await Promise.all(answers)).map((frame) => decodeResponse(frame, Fetch, 11));
    const ids = decoded.map((response) => response.correlationId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const response of decoded) expect(response.body.responses[0].partitions[0].records!.length).toBeGreaterThan(0);
  }

  it('holds at most maxQueuedResponseBytesPerConnection plus one response per connection', async () => {
    const boundBytes = 1024 * 1024;
    const fetchMaxBytes = 1024 * 1024;
    const t = await startServer({ server: { fetchMaxBytes, maxQueuedResponseBytesPerConnection: boundBytes } });
    try {
      await fillTopic(t, 'backlog', 1, 24);
      const { client, answers } = await nonReadingFetcher(t);
      let maxSeen = 0;
      // Held back: the bound is reached and requests wait unstarted.
      await eventually(() => {
        const [stats] = t.server.connectionStats();
        maxSeen = Math.max(maxSeen, stats.responseBytes);
        return stats.responseBytes >= boundBytes && stats.inFlight > 1;
      });
      for (let i = 0; i < 20; i++) {
        maxSeen = Math.max(maxSeen, t.server.connectionStats()[0].responseBytes);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(maxSeen).toBeLessThanOrEqual(boundBytes + fetchMaxBytes + 1024);
      await drain(client, answers);
      expect(t.server.connectionStats()[0].responseBytes).toBe(0);
      client.close();
    } finally {
      await t.close();
    }
  });

  it('stops reading every connection at queuedMaxBytes and reads again once responses are written', async () => {
    const queuedMaxBytes = 2 * 1024 * 1024;
    const fetchMaxBytes = 1024 * 1024;
    const t = await startServer({
      server: { fetchMaxBytes, queuedMaxBytes, socketRequestMaxBytes: 1024 * 1024, maxQueuedResponseBytesPerConnection: 64 * 1024 * 1024 },
    });
    try {
      await fillTopic(t, 'backlog', 1, 24);
      const { client, answers } = await nonReadingFetcher(t);
      let maxSeen = 0;
      await eventually(() => {
        maxSeen = Math.max(maxSeen, t.server.queuedBytes);
        return t.logger.warns.some((line) => /queuedMaxBytes reached/.test(line));
      });
      // Another client's request waits for memory; it is answered once the fetcher reads.
      const probe = await TestClient.connect(t.port);
      const probed = probe.send(ApiVersions, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' });
      for (let i = 0; i < 20; i++) {
        maxSeen = Math.max(maxSeen, t.server.queuedBytes);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(maxSeen).toBeLessThanOrEqual(queuedMaxBytes + fetchMaxBytes + 64 * 1024);
      await drain(client, answers);
      expect((await probed).errorCode).toBe(0);
      expect(t.logger.infos.some((line) => /below the bound again/.test(line))).toBe(true);
      client.close();
      probe.close();
      await eventually(() => t.server.queuedBytes === 0);
    } finally {
      await t.close();
    }
  });
});

describe('connection limits', () => {
  it('refuses connections from one address past connectionsMaxPerIp', async () => {
    const t = await startServer({ server: { connectionsMaxPerIp: 2 } });
    try {
      const first = await TestClient.connect(t.port);
      const second = await TestClient.connect(t.port);
      await eventually(() => t.server.connectionCount === 2);
      const third = await TestClient.connect(t.port);
      await third.closed;
      expect(t.logger.warns.some((line) => /127\.0\.0\.1: 2 are open from that address \(connectionsMaxPerIp 2\)/.test(line))).toBe(true);
      expect((await second.send(ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })).errorCode).toBe(0);
      // A slot freed is a slot to reuse.
      first.close();
      await eventually(() => t.server.connectionCount === 1);
      const fourth = await TestClient.connect(t.port);
      expect((await fourth.send(ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })).errorCode).toBe(0);
      second.close();
      fourth.close();
    } finally {
      await t.close();
    }
  });

  it('closes a connection that trickles a request for longer than requestReceiveTimeoutMs, and only that one', async () => {
    const t = await startServer({ server: { requestReceiveTimeoutMs: 300 } });
    try {
      const patient = await TestClient.connect(t.port);
      expect((await patient.send(ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })).errorCode).toBe(0);

      const slow = connect({ host: '127.0.0.1', port: t.port });
      const closed = new Promise((resolve) => slow.on('close', resolve));
      slow.on('error', () => undefined);
      const header = Buffer.alloc(4);
      header.writeInt32BE(1000, 0);
      slow.write(header);
      // One byte every 20 ms: enough traffic that the idle timeout never fires.
      const trickle = setInterval(() => slow.write(Buffer.from([0])), 20);
      await closed;
      clearInterval(trickle);
      expect(t.logger.warns.some((line) => /not received whole within 300 ms \(requestReceiveTimeoutMs\): \d+ of 1004 bytes arrived/.test(line))).toBe(true);

      // Idle between whole requests is no offence.
      expect(patient.isClosed).toBe(false);
      expect((await patient.send(ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })).errorCode).toBe(0);
      patient.close();
    } finally {
      await t.close();
    }
  });
});
