/**
 * Byte-exact frames derived by hand from Kafka's message definitions (ApiVersionsRequest/
 * Response.json, MetadataRequest/Response.json, RequestHeader.json, ResponseHeader.json) for the
 * flexible versions kafkajs cannot produce. Each line of hex is one field, named beside it.
 */
import { describe, expect, it } from 'vitest';
import { ApiVersions } from '../../../src/protocol/api/api-versions.js';
import { Metadata } from '../../../src/protocol/api/metadata.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../src/protocol/api/registry.js';
import { Writer } from '../../../src/protocol/wire/writer.js';

const TOPIC_ID = 'AAECAwQFBgcICQoLDA0ODw'; // bytes 00 01 02 ... 0f

/** Joins commented hex lines: "0012  api key 18" -> "0012". */
function bytes(lines: string): Buffer {
  const hex = lines
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').replace(/\s+/g, ''))
    .join('');
  return Buffer.from(hex, 'hex');
}

/** A frame with its int32 size prefix prepended. */
function sized(frame: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(frame.length);
  return Buffer.concat([size, frame]);
}

describe('ApiVersions v3 (first flexible version)', () => {
  const requestFrame = bytes(`
    0012                # request header v2: api key 18
    0003                #   api version 3
    00000007            #   correlation id 7
    0007 72646b61666b61 #   client id, int16 length (never compact in a header): 7, "rdkafka"
    00                  #   header tagged fields: none
    07 736c75696365     # body: client software name, compact string: length+1 = 7, "sluice"
    06 302e312e30       #   client software version, compact: length+1 = 6, "0.1.0"
    00                  #   tagged fields: none
  `);

  it('decodes the hand-built request frame', () => {
    expect(decodeRequest(requestFrame)).toEqual({
      apiKey: 18,
      apiVersion: 3,
      correlationId: 7,
      clientId: 'rdkafka',
      body: { clientSoftwareName: 'sluice', clientSoftwareVersion: '0.1.0' },
    });
    const w = new Writer();
    encodeRequest(w, ApiVersions, { apiVersion: 3, correlationId: 7, clientId: 'rdkafka' }, {
      clientSoftwareName: 'sluice',
      clientSoftwareVersion: '0.1.0',
    });
    expect(w.toBuffer().toString('hex')).toBe(sized(requestFrame).toString('hex'));
  });

  const responseFrame = bytes(`
    00000007            # response header v0 (always v0 for ApiVersions): correlation id 7
    0000                # error code 0
    03                  # api keys, compact array: count+1 = 3
    0000 0003 000b 00   #   Produce: key 0, min 3, max 11, tagged fields none
    0012 0000 0004 00   #   ApiVersions: key 18, min 0, max 4, tagged fields none
    00000000            # throttle time 0
    00                  # tagged fields: none (no features, epoch -1, not migration-ready)
  `);

  it('encodes the response with a v0 header and decodes it back', () => {
    const body = {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 3, maxVersion: 11 },
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
      ],
      throttleTimeMs: 0,
    };
    const w = new Writer();
    encodeResponse(w, ApiVersions, 3, 7, body);
    expect(w.toBuffer().toString('hex')).toBe(sized(responseFrame).toString('hex'));
    expect(decodeResponse(responseFrame, ApiVersions, 3)).toEqual({
      correlationId: 7,
      body: { ...body, supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false },
    });
  });

  it('writes the tagged feature fields, in tag order, when they are set', () => {
    const frame = bytes(`
      00000007          # correlation id 7
      0000              # error code 0
      01                # api keys: empty (count+1 = 1)
      00000000          # throttle time 0
      02                # tagged fields: 2
      00 08             #   tag 0 (SupportedFeatures), 8 bytes:
      02                #     compact array, 1 feature
      0278 0001 0002 00 #     name "x", min 1, max 2, tagged fields none
      01 08             #   tag 1 (FinalizedFeaturesEpoch), 8 bytes:
      0000000000000009  #     epoch 9
    `);
    const w = new Writer();
    encodeResponse(w, ApiVersions, 3, 7, {
      errorCode: 0,
      apiKeys: [],
      throttleTimeMs: 0,
      finalizedFeaturesEpoch: 9,
      supportedFeatures: [{ name: 'x', minVersion: 1, maxVersion: 2 }],
    });
    expect(w.toBuffer().subarray(4).toString('hex')).toBe(frame.toString('hex'));
  });
});

describe('Metadata v9 (first flexible version)', () => {
  const requestFrame = bytes(`
    0003                # request header v2: api key 3
    0009                #   api version 9
    00000001            #   correlation id 1
    ffff                #   client id null (int16 -1: header strings are never compact)
    00                  #   header tagged fields: none
    02                  # topics, compact nullable array: count+1 = 2
    026100              #   name "a" (compact: length+1 = 2), tagged fields none
    01                  # allow auto topic creation: true
    00                  # include cluster authorized operations (v8-10): false
    01                  # include topic authorized operations: true
    00                  # tagged fields: none
  `);

  it('decodes the hand-built request frame, and encodes the same bytes', () => {
    const body = {
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'a' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: true,
    };
    expect(decodeRequest(requestFrame)).toEqual({ apiKey: 3, apiVersion: 9, correlationId: 1, clientId: '', body });
    const w = new Writer();
    encodeRequest(w, Metadata, { apiVersion: 9, correlationId: 1, clientId: null }, body);
    expect(w.toBuffer().subarray(4).toString('hex')).toBe(requestFrame.toString('hex'));
  });

  it('reads a null topic list (every topic) at v9', () => {
    const frame = bytes(`
      0003 0009 00000002 ffff 00   # header v2, correlation id 2, no client id, no tags
      00                           # topics: null (compact count+1 = 0)
      00 00 00                     # auto-create false, no cluster ops, no topic ops
      00                           # tagged fields: none
    `);
    expect(decodeRequest(frame).body).toMatchObject({ topics: null, allowAutoTopicCreation: false });
  });

  const responseFrame = bytes(`
    00000001            # response header v1: correlation id 1
    00                  #   header tagged fields: none
    00000000            # throttle time 0
    02                  # brokers: count+1 = 2
    00000001            #   node id 1
    0a 6c6f63616c686f7374 #   host "localhost" (length+1 = 10)
    00002384            #   port 9092
    00                  #   rack null
    00                  #   tagged fields: none
    07 736c75696365     # cluster id "sluice"
    00000001            # controller id 1
    02                  # topics: count+1 = 2
    0000                #   error code 0
    02 61               #   name "a"
    00                  #   is internal: false
    02                  #   partitions: count+1 = 2
    0000                #     error code 0
    00000000            #     partition index 0
    00000001            #     leader id 1
    00000005            #     leader epoch 5
    02 00000001         #     replica nodes [1]
    02 00000001         #     isr nodes [1]
    01                  #     offline replicas []
    00                  #     tagged fields: none
    80000000            #   topic authorized operations: unknown (INT32_MIN)
    00                  #   tagged fields: none
    80000000            # cluster authorized operations (v8-10): unknown
    00                  # tagged fields: none
  `);

  const responseBody = {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }],
    clusterId: 'sluice',
    controllerId: 1,
    topics: [
      {
        errorCode: 0,
        name: 'a',
        isInternal: false,
        partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 5, replicaNodes: [1], isrNodes: [1] }],
      },
    ],
  };

  it('encodes the response byte for byte and decodes it back', () => {
    const w = new Writer();
    encodeResponse(w, Metadata, 9, 1, responseBody);
    expect(w.toBuffer().subarray(4).toString('hex')).toBe(responseFrame.toString('hex'));
    const { body } = decodeResponse(responseFrame, Metadata, 9);
    expect(body.topics[0].partitions[0]).toMatchObject({ leaderEpoch: 5, offlineReplicas: [] });
    expect(body.clusterAuthorizedOperations).toBe(-2147483648);
  });
});

describe('Metadata v12 (topic ids, nullable topic names)', () => {
  const requestFrame = bytes(`
    0003 000c 00000003 ffff 00        # header v2: Metadata v12, correlation id 3, no client id, no tags
    02                                # topics: 1
    000102030405060708090a0b0c0d0e0f  #   topic id
    00                                #   name: null (looked up by id)
    00                                #   tagged fields: none
    01                                # allow auto topic creation: true
    00                                # include topic authorized operations: false (no cluster flag after v10)
    00                                # tagged fields: none
  `);

  it('decodes a lookup by topic id with a null name', () => {
    expect(decodeRequest(requestFrame).body).toEqual({
      topics: [{ topicId: TOPIC_ID, name: null }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
  });

  const responseFrame = bytes(`
    00000003 00                       # response header v1: correlation id 3, no tags
    00000000                          # throttle time 0
    01                                # brokers: none
    00                                # cluster id: null
    ffffffff                          # controller id -1
    02                                # topics: 1
    0003                              #   error code 3 (UNKNOWN_TOPIC_OR_PARTITION)
    00                                #   name: null (unknown topic asked for by id)
    000102030405060708090a0b0c0d0e0f  #   topic id
    00                                #   is internal: false
    01                                #   partitions: none
    80000000                          #   topic authorized operations: unknown
    00                                #   tagged fields: none
    00                                # tagged fields: none (no cluster authorized operations after v10)
  `);

  it('encodes a null topic name next to its id, byte for byte', () => {
    const w = new Writer();
    encodeResponse(w, Metadata, 12, 3, {
      throttleTimeMs: 0,
      brokers: [],
      topics: [{ errorCode: 3, name: null, topicId: TOPIC_ID, partitions: [] }],
    });
    expect(w.toBuffer().subarray(4).toString('hex')).toBe(responseFrame.toString('hex'));
    expect(decodeResponse(responseFrame, Metadata, 12).body.topics[0]).toMatchObject({ name: null, topicId: TOPIC_ID });
  });

  it('refuses a null topic name below v12, where the spec does not allow it', () => {
    const w = new Writer();
    expect(() =>
      encodeResponse(w, Metadata, 11, 3, { brokers: [], topics: [{ errorCode: 3, name: null, partitions: [] }] }),
    ).toThrow(/MetadataResponse v11.topics\[\].name: null is not a string/);
  });
});
