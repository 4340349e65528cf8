/**
 * 10,000 random truncations and byte flips of valid request frames per API: each must decode or
 * throw a typed protocol error (ProtocolError, or UnsupportedVersionError when the flip lands in
 * the api key or version), never a RangeError or TypeError escaping from a buffer read, never a
 * hang. The generator is seeded so a failure names a case that can be replayed.
 */
import { describe, expect, it } from 'vitest';
import { ProtocolError, UnsupportedVersionError } from '../../../src/errors.js';
import type { AnyApi, RequestInputOf } from '../../../src/protocol/api/api.js';
import { ApiVersions } from '../../../src/protocol/api/api-versions.js';
import { Fetch } from '../../../src/protocol/api/fetch.js';
import { Metadata } from '../../../src/protocol/api/metadata.js';
import { Produce } from '../../../src/protocol/api/produce.js';
import { decodeRequest, encodeRequest } from '../../../src/protocol/api/registry.js';
import { Writer } from '../../../src/protocol/wire/writer.js';
import { kafkajsRequestFrame } from './kafkajs-interop.js';
import { seededRandom } from '../../support/prng.js';

const CASES_PER_API = 10_000;
const SEED = 0x5eed_1234;

function ownFrame<A extends AnyApi>(api: A, apiVersion: number, body: RequestInputOf<A>): Buffer {
  const writer = new Writer();
  encodeRequest(writer, api, { apiVersion, correlationId: 1, clientId: 'fuzz' }, body);
  return Buffer.from(writer.toBuffer().subarray(4));
}

const produceArgs = {
  acks: 1,
  timeout: 1000,
  topicData: [
    { topic: 'orders', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v', timestamp: 1700000000000 }] }] },
    { topic: 'payments', partitions: [{ partition: 2, messages: [{ key: null, value: 'x'.repeat(40), timestamp: 1700000000000 }] }] },
  ],
};

const fetchArgs = {
  replicaId: -1,
  maxWaitTime: 100,
  minBytes: 1,
  maxBytes: 1 << 20,
  topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 10, maxBytes: 1 << 16 }, { partition: 1, fetchOffset: 0, maxBytes: 1024 }] }],
  forgottenTopics: [{ topic: 'old', partitions: [3] }],
};

const fetchBody = {
  clusterId: 'cluster',
  replicaId: -1,
  maxWaitMs: 100,
  minBytes: 1,
  topics: [{ topic: 'orders', topicId: 'AAECAwQFBgcICQoLDA0ODw', partitions: [{ partition: 0, fetchOffset: 10, lastFetchedEpoch: 2, partitionMaxBytes: 4096 }] }],
  forgottenTopicsData: [{ topic: 'old', topicId: 'AAECAwQFBgcICQoLDA0ODw', partitions: [3] }],
};

/** Valid frames per API: kafkajs's, and Sluice's own for the flexible versions. */
async function seedFrames(): Promise<Map<string, Buffer[]>> {
  return new Map([
    [
      'ApiVersions',
      [
        await kafkajsRequestFrame('apiVersions', 2, {}),
        ownFrame(ApiVersions, 3, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' }),
      ],
    ],
    [
      'Metadata',
      [
        await kafkajsRequestFrame('metadata', 6, { topics: ['orders', 'payments'] }),
        ownFrame(Metadata, 9, { topics: [{ name: 'orders' }], includeTopicAuthorizedOperations: true }),
        ownFrame(Metadata, 12, { topics: [{ topicId: 'AAECAwQFBgcICQoLDA0ODw', name: null }, { name: 'b' }] }),
      ],
    ],
    [
      'Produce',
      await (async () => {
        const v7 = await kafkajsRequestFrame('produce', 7, produceArgs);
        const request = decodeRequest(v7);
        if (request.apiKey !== 0) throw new Error('not a produce request');
        const batch = request.body.topicData[0].partitionData[0].records as Buffer;
        const flexible = ownFrame(Produce, 9, {
          transactionalId: 'tx',
          acks: -1,
          timeoutMs: 1000,
          topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch }, { index: 1, records: null }] }],
        });
        return [v7, await kafkajsRequestFrame('produce', 3, produceArgs), flexible];
      })(),
    ],
    [
      'Fetch',
      [
        await kafkajsRequestFrame('fetch', 4, fetchArgs),
        await kafkajsRequestFrame('fetch', 11, { ...fetchArgs, rackId: 'r' }),
        ownFrame(Fetch, 12, fetchBody),
        ownFrame(Fetch, 13, fetchBody),
      ],
    ],
  ]);
}

function mutate(frame: Buffer, random: () => number): Buffer {
  const choice = random();
  let out = Buffer.from(frame);
  if (choice < 0.4 || choice >= 0.8) {
    // Flip 1 to 4 bytes to random values.
    const flips = 1 + Math.floor(random() * 4);
    for (let i = 0; i < flips; i++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
  }
  if (choice >= 0.4) {
    // Truncate anywhere, down to nothing.
    out = out.subarray(0, Math.floor(random() * out.length));
  }
  return out;
}

describe('decodeRequest under random corruption', async () => {
  const frames = await seedFrames();

  it.each([...frames.keys()])('%s: every corrupted frame decodes or throws a typed protocol error', (name) => {
    const seeds = frames.get(name) as Buffer[];
    for (const frame of seeds) expect(() => decodeRequest(frame)).not.toThrow();
    const random = seededRandom(SEED ^ name.length);
    const outcomes = { decoded: 0, protocolError: 0, unsupported: 0 };
    for (let i = 0; i < CASES_PER_API; i++) {
      const frame = seeds[i % seeds.length];
      const corrupted = mutate(frame, random);
      try {
        decodeRequest(corrupted);
        outcomes.decoded++;
      } catch (error) {
        if (error instanceof ProtocolError) outcomes.protocolError++;
        else if (error instanceof UnsupportedVersionError) outcomes.unsupported++;
        else {
          throw new Error(`case ${i} (${name}, frame ${i % seeds.length}) threw ${String(error)}; bytes ${corrupted.toString('hex')}`);
        }
      }
    }
    // The corruption must actually bite: most cases fail, some still decode (flipped payload bytes).
    expect(outcomes.protocolError).toBeGreaterThan(CASES_PER_API / 2);
    expect(outcomes.decoded + outcomes.protocolError + outcomes.unsupported).toBe(CASES_PER_API);
  });
});
