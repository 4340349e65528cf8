import { describe, expect, it } from 'vitest';
import { ProtocolError, UnsupportedVersionError } from '../../../src/errors.js';
import { ApiVersions } from '../../../src/protocol/api/api-versions.js';
import { Fetch } from '../../../src/protocol/api/fetch.js';
import { Heartbeat } from '../../../src/protocol/api/heartbeat.js';
import { Metadata } from '../../../src/protocol/api/metadata.js';
import { Produce } from '../../../src/protocol/api/produce.js';
import {
  APIS,
  apiByKey,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  requestHeaderVersion,
  responseHeaderVersion,
  supportedApiVersions,
} from '../../../src/protocol/api/registry.js';
import { Reader } from '../../../src/protocol/wire/reader.js';
import { Writer } from '../../../src/protocol/wire/writer.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

function unsupported(run: () => unknown): UnsupportedVersionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UnsupportedVersionError);
    return error as UnsupportedVersionError;
  }
  throw new Error('expected UnsupportedVersionError');
}

describe('header versions', () => {
  it('requests use header v2 from the first flexible version of their API, v1 before', () => {
    expect(requestHeaderVersion(0, 8)).toBe(1);
    expect(requestHeaderVersion(0, 9)).toBe(2);
    expect(requestHeaderVersion(3, 8)).toBe(1);
    expect(requestHeaderVersion(3, 9)).toBe(2);
    expect(requestHeaderVersion(18, 3)).toBe(2);
    // SaslHandshake has no flexible version.
    expect(requestHeaderVersion(17, 1)).toBe(1);
    // ControlledShutdown v0 is the one request without a client id.
    expect(requestHeaderVersion(7, 0)).toBe(0);
    // An API Sluice does not know: header v1 is enough to reach the correlation id.
    expect(requestHeaderVersion(1000, 5)).toBe(1);
  });

  it('responses use header v1 when flexible, except ApiVersions, always v0 (KIP-511)', () => {
    expect(responseHeaderVersion(1, 11)).toBe(0);
    expect(responseHeaderVersion(1, 12)).toBe(1);
    expect(responseHeaderVersion(18, 3)).toBe(0);
    expect(responseHeaderVersion(18, 4)).toBe(0);
  });
});

describe('supportedApiVersions', () => {
  it('lists every served API once, with its range', () => {
    const list = supportedApiVersions();
    expect(list).toHaveLength(APIS.length);
    expect(new Set(list.map((entry) => entry.apiKey)).size).toBe(APIS.length);
    for (const entry of list) {
      const api = apiByKey(entry.apiKey);
      expect(api).toBeDefined();
      expect(entry).toEqual({ apiKey: entry.apiKey, minVersion: api?.minVersion, maxVersion: api?.maxVersion });
    }
    expect(list.find((entry) => entry.apiKey === 18)).toEqual({ apiKey: 18, minVersion: 0, maxVersion: 4 });
  });

  it('serves at least the versions kcat (librdkafka 2.0) and kafkajs 2.2 negotiate', () => {
    const ranges = new Map(supportedApiVersions().map((entry) => [entry.apiKey, entry]));
    const needed: [number, number, number][] = [
      [18, 0, 3], [3, 0, 12], [0, 3, 9], [1, 4, 12], [2, 0, 7], [10, 0, 4], [11, 0, 9], [14, 0, 5],
      [12, 0, 4], [13, 0, 5], [8, 0, 8], [9, 0, 8], [15, 0, 5], [16, 0, 4], [19, 0, 7], [20, 0, 6],
      [37, 0, 3], [32, 0, 4], [22, 0, 4], [24, 0, 3], [25, 0, 3], [26, 0, 3], [28, 0, 3], [17, 0, 1], [36, 0, 2],
    ];
    for (const [apiKey, min, max] of needed) {
      const range = ranges.get(apiKey);
      expect(range?.minVersion, `api ${apiKey}`).toBeLessThanOrEqual(min);
      expect(range?.maxVersion, `api ${apiKey}`).toBeGreaterThanOrEqual(max);
    }
  });

  it('applies caps, and rejects caps for unknown APIs or below the minimum', () => {
    const capped = supportedApiVersions(new Map([[1, 12]]));
    expect(capped.find((entry) => entry.apiKey === 1)?.maxVersion).toBe(12);
    expect(() => supportedApiVersions(new Map([[99, 1]]))).toThrow(RangeError);
    expect(() => supportedApiVersions(new Map([[1, -1]]))).toThrow(/lowest served version is 0/);
  });
});

describe('decodeRequest', () => {
  it('decodes a kafkajs frame into header fields and body', async () => {
    const frame = await kafkajsRequestFrame('heartbeat', 1, { groupId: 'g', groupGenerationId: 3, memberId: 'm' });
    const request = decodeRequest(frame);
    expect(request).toEqual({
      apiKey: 12,
      apiVersion: 1,
      correlationId: 4242,
      clientId: 'kafkajs-interop',
      body: { groupId: 'g', generationId: 3, memberId: 'm', groupInstanceId: null },
    });
    if (request.apiKey === Heartbeat.apiKey) expect(request.body.generationId).toBe(3);
  });

  it('rejects an unknown API key with its correlation id, so the connection can be closed cleanly', () => {
    const frame = Buffer.from('03e70000' + '00000009' + 'ffff', 'hex');
    const error = unsupported(() => decodeRequest(frame));
    expect(error.apiKey).toBe(999);
    expect(error.correlationId).toBe(9);
    expect(error.message).toContain('API key 999 is not supported');
  });

  it('rejects an ApiVersions version from the future, leaving the answer to a v0 response', async () => {
    const frame = Buffer.from('0012' + '0063' + '0000000b' + '0003616263' + '00' + 'deadbeef', 'hex');
    const error = unsupported(() => decodeRequest(frame));
    expect([error.apiKey, error.apiVersion, error.correlationId]).toEqual([18, 99, 11]);
    expect(error.message).toContain('supported versions are 0 to 4');

    // The answer KIP-511 prescribes: v0, UNSUPPORTED_VERSION (35), and the ApiVersions range.
    const body = { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] };
    await expect(decodeWithKafkajs('apiVersions', ApiVersions, 0, body)).rejects.toMatchObject({
      type: 'UNSUPPORTED_VERSION',
    });
  });

  it('decodes Produce v2 with its MessageSet (magic 1) as the partition\'s records bytes', async () => {
    const frame = await kafkajsRequestFrame('produce', 2, {
      acks: 1,
      timeout: 100,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: null, value: 'v', timestamp: 1 }] }] }],
    });
    const request = decodeRequest(frame);
    expect(request).toMatchObject({ apiKey: 0, apiVersion: 2 });
    if (request.apiKey !== Produce.apiKey) throw new Error('not a Produce request');
    const records = request.body.topicData[0].partitionData[0].records!;
    expect(records[16]).toBe(1);
  });

  it('ignores bytes after the body, as the readers of Kafka do', async () => {
    const frame = await kafkajsRequestFrame('heartbeat', 0, { groupId: 'g', groupGenerationId: 3, memberId: 'm' });
    expect(decodeRequest(Buffer.concat([frame, Buffer.from([0, 1, 2])]))).toMatchObject({
      apiKey: 12,
      body: { groupId: 'g', generationId: 3, memberId: 'm' },
    });
  });

  it('reads a null client id as the empty string, as Kafka does', () => {
    const w = new Writer();
    encodeRequest(w, Heartbeat, { apiVersion: 0, correlationId: 6, clientId: null }, { groupId: 'g', generationId: 1, memberId: 'm' });
    expect(decodeRequest(w.toBuffer().subarray(4))).toMatchObject({ correlationId: 6, clientId: '' });
  });

  it('rejects a frame too short for a header', () => {
    expect(() => decodeRequest(Buffer.from('0003', 'hex'))).toThrow(ProtocolError);
    expect(() => decodeRequest(Buffer.from('000300090000', 'hex'))).toThrow(ProtocolError);
  });
});

describe('framing', () => {
  it('writes several responses back to back into one writer, each with its size prefix', () => {
    const w = new Writer();
    encodeResponse(w, Heartbeat, 0, 1, { errorCode: 0 });
    encodeResponse(w, Heartbeat, 4, 2, { errorCode: 27, throttleTimeMs: 5 });
    const out = w.toBuffer();
    const r = new Reader(out);
    const first = r.int32();
    expect(decodeResponse(out.subarray(4, 4 + first), Heartbeat, 0)).toEqual({
      correlationId: 1,
      body: { throttleTimeMs: 0, errorCode: 0 },
    });
    r.skip(first);
    const second = r.int32();
    expect(decodeResponse(out.subarray(r.pos, r.pos + second), Heartbeat, 4)).toEqual({
      correlationId: 2,
      body: { throttleTimeMs: 5, errorCode: 27 },
    });
    expect(r.pos + second).toBe(out.length);
  });

  it('round-trips a flexible request through encodeRequest and decodeRequest', () => {
    const w = new Writer();
    encodeRequest(w, Fetch, { apiVersion: 12, correlationId: 5, clientId: 'sluice' }, {
      replicaId: -1,
      maxWaitMs: 100,
      minBytes: 1,
      topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 7, lastFetchedEpoch: -1, partitionMaxBytes: 1024 }] }],
    });
    const frame = w.toBuffer();
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    const request = decodeRequest(frame.subarray(4));
    expect(request).toMatchObject({ apiKey: 1, apiVersion: 12, correlationId: 5, clientId: 'sluice' });
    expect(request.body).toMatchObject({ maxBytes: 0x7fffffff, isolationLevel: 0, sessionEpoch: -1 });
  });

  it('refuses to encode a version the API does not serve', () => {
    expect(() => encodeResponse(new Writer(), Metadata, 13, 1, { brokers: [], topics: [] })).toThrow(UnsupportedVersionError);
  });
});
