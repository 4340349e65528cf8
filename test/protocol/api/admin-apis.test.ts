/**
 * AlterConfigs, IncrementalAlterConfigs, DeleteRecords, DescribeCluster and DescribeLogDirs on the
 * wire: kafkajs 2.2.4's own frames for the versions it sends (AlterConfigs and DeleteRecords
 * v0-v1) and its decoders for the answers, and byte-exact frames derived by hand from Kafka's
 * message definitions for the flexible versions kafkajs cannot produce. Each line of hex is one
 * field, named beside it.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { AlterConfigs } from '../../../src/protocol/api/alter-configs.js';
import { DeleteRecords } from '../../../src/protocol/api/delete-records.js';
import { DescribeCluster } from '../../../src/protocol/api/describe-cluster.js';
import { DescribeLogDirs } from '../../../src/protocol/api/describe-log-dirs.js';
import { IncrementalAlterConfigs } from '../../../src/protocol/api/incremental-alter-configs.js';
import { decodeRequest, encodeResponse } from '../../../src/protocol/api/registry.js';
import type { AnyApi, ResponseInputOf } from '../../../src/protocol/api/api.js';
import { Writer } from '../../../src/protocol/wire/writer.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

const require = createRequire(import.meta.url);

interface KafkajsDeleteRecords {
  response: { decode(payload: Buffer): Promise<unknown>; parse(decoded: unknown): Promise<unknown> };
}

/** Joins commented hex lines: "0015  api key 21" -> "0015". */
function bytes(lines: string): Buffer {
  return Buffer.from(lines.split('\n').map((line) => line.replace(/#.*$/, '').replace(/\s+/g, '')).join(''), 'hex');
}

/** The response frame Sluice writes, without its size prefix. */
function responseFrame<A extends AnyApi>(api: A, version: number, body: ResponseInputOf<A>): string {
  const writer = new Writer();
  encodeResponse(writer, api, version, 9, body);
  return writer.toBuffer().subarray(4).toString('hex');
}

const HEADER_V2 = `
  00000009            #   correlation id 9
  0007 72646b61666b61 #   client id "rdkafka" (int16 length: never compact in a header)
  00                  #   header tagged fields: none
`;

describe('AlterConfigs', () => {
  const args = {
    validateOnly: true,
    resources: [{ type: 2, name: 'orders', configEntries: [{ name: 'retention.ms', value: '60000' }, { name: 'cleanup.policy', value: 'compact' }] }],
  };

  it.each([0, 1])('decodes kafkajs v%i requests', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('alterConfigs', version, args));
    expect(request.body).toEqual({
      resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '60000' }, { name: 'cleanup.policy', value: 'compact' }] }],
      validateOnly: true,
    });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads, and kafkajs raises the error code', async (version) => {
    const ok = { throttleTimeMs: 0, responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' }] };
    expect(await decodeWithKafkajs('alterConfigs', AlterConfigs, version, ok, { parse: true })).toMatchObject({
      resources: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' }],
    });
    const failed = { responses: [{ errorCode: 40, errorMessage: 'bad', resourceType: 2, resourceName: 'orders' }] };
    await expect(decodeWithKafkajs('alterConfigs', AlterConfigs, version, failed, { parse: true })).rejects.toMatchObject({ type: 'INVALID_CONFIG' });
  });

  it('decodes the hand-built v2 (flexible) request and writes the v2 response', () => {
    const frame = bytes(`
      0021 0002           # request header v2: api key 33, version 2
      ${HEADER_V2}
      02                  # resources, compact array: 1 + 1
      02                  #   resource type 2 (topic)
      07 6f7264657273     #   resource name, compact string: 6 + 1, "orders"
      02                  #   configs: 1 + 1
      0d 726574656e74696f6e2e6d73  # name "retention.ms"
      06 3630303030       #     value "60000"
      00                  #     tagged fields
      00                  #   tagged fields
      00                  # validate only: false
      00                  # tagged fields
    `);
    expect(decodeRequest(frame)).toEqual({
      apiKey: 33,
      apiVersion: 2,
      correlationId: 9,
      clientId: 'rdkafka',
      body: { resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '60000' }] }], validateOnly: false },
    });
    expect(responseFrame(AlterConfigs, 2, { throttleTimeMs: 0, responses: [{ errorCode: 40, errorMessage: 'x', resourceType: 2, resourceName: 'orders' }] })).toBe(
      bytes(`
        00000009 00         # response header v1: correlation id, tagged fields
        00000000            # throttle time
        02                  # responses: 1 + 1
        0028                #   error code 40 (INVALID_CONFIG)
        02 78               #   error message "x"
        02                  #   resource type
        07 6f7264657273     #   resource name
        00                  #   tagged fields
        00                  # tagged fields
      `).toString('hex'),
    );
  });
});

describe('IncrementalAlterConfigs', () => {
  it('decodes the hand-built v1 request: SET and DELETE (null value), validateOnly', () => {
    const frame = bytes(`
      002c 0001           # request header v2: api key 44, version 1
      ${HEADER_V2}
      02                  # resources: 1 + 1
      02                  #   resource type 2 (topic)
      07 6f7264657273     #   resource name "orders"
      03                  #   configs: 2 + 1
      0d 726574656e74696f6e2e6d73    # name "retention.ms"
      00                  #     operation SET
      06 3630303030       #     value "60000"
      00                  #     tagged fields
      0f 636c65616e75702e706f6c696379 # name "cleanup.policy"
      01                  #     operation DELETE
      00                  #     value null (compact nullable string)
      00                  #     tagged fields
      00                  #   tagged fields
      01                  # validate only: true
      00                  # tagged fields
    `);
    expect(decodeRequest(frame).body).toEqual({
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          configs: [
            { name: 'retention.ms', configOperation: 0, value: '60000' },
            { name: 'cleanup.policy', configOperation: 1, value: null },
          ],
        },
      ],
      validateOnly: true,
    });
  });

  it('v0 is not flexible: header v1 and int16 string lengths', () => {
    const frame = bytes(`
      002c 0000 00000009 0007 72646b61666b61  # request header v1
      00000001            # resources: int32 count 1
      04                  #   resource type 4 (broker)
      0001 30             #   resource name "0"
      00000000            #   configs: none
      00                  # validate only: false
    `);
    expect(decodeRequest(frame).body).toEqual({ resources: [{ resourceType: 4, resourceName: '0', configs: [] }], validateOnly: false });
  });

  it('writes the v1 response', () => {
    expect(responseFrame(IncrementalAlterConfigs, 1, { throttleTimeMs: 0, responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' }] })).toBe(
      bytes(`
        00000009 00         # response header v1
        00000000            # throttle time
        02                  # responses: 1 + 1
        0000                #   error code
        00                  #   error message null
        02                  #   resource type
        07 6f7264657273     #   resource name
        00                  #   tagged fields
        00                  # tagged fields
      `).toString('hex'),
    );
  });
});

describe('DeleteRecords', () => {
  const args = { topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '5' }, { partition: 2, offset: '-1' }] }], timeout: 3000 };

  it.each([0, 1])('decodes kafkajs v%i requests (-1: up to the high watermark)', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('deleteRecords', version, args));
    expect(request.body).toEqual({
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 5 }, { partitionIndex: 2, offset: -1 }] }],
      timeoutMs: 3000,
    });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads, and kafkajs raises a partition error', async (version) => {
    // kafkajs's DeleteRecords response module is built from the request's topics, for its error report.
    const { protocol } = require('kafkajs/src/protocol/requests/deleteRecords/index.js') as { protocol(options: { version: number }): (args: unknown) => KafkajsDeleteRecords };
    const { response } = protocol({ version })(args);
    const decode = async (body: ResponseInputOf<typeof DeleteRecords>) => response.parse(await response.decode(Buffer.from(responseFrame(DeleteRecords, version, body), 'hex').subarray(4)));
    expect(await decode({ throttleTimeMs: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, lowWatermark: 5, errorCode: 0 }] }] })).toMatchObject({
      topics: [{ topic: 'orders', partitions: [{ partition: 0, lowWatermark: 5n, errorCode: 0 }] }],
    });
    await expect(decode({ topics: [{ name: 'orders', partitions: [{ partitionIndex: 2, lowWatermark: -1, errorCode: 1 }] }] })).rejects.toMatchObject({
      name: 'KafkaJSDeleteTopicRecordsError',
      partitions: [{ partition: 2, offset: '-1', error: { type: 'OFFSET_OUT_OF_RANGE' } }],
    });
  });

  it('decodes the hand-built v2 (flexible) request and writes the v2 response', () => {
    const frame = bytes(`
      0015 0002           # request header v2: api key 21, version 2
      ${HEADER_V2}
      02                  # topics: 1 + 1
      07 6f7264657273     #   name "orders"
      02                  #   partitions: 1 + 1
      00000000            #     partition 0
      ffffffffffffffff    #     offset -1 (the high watermark)
      00                  #     tagged fields
      00                  #   tagged fields
      00007530            # timeout 30000 ms
      00                  # tagged fields
    `);
    expect(decodeRequest(frame).body).toEqual({ topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: -1 }] }], timeoutMs: 30000 });
    expect(responseFrame(DeleteRecords, 2, { throttleTimeMs: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, lowWatermark: 10, errorCode: 1 }] }] })).toBe(
      bytes(`
        00000009 00         # response header v1
        00000000            # throttle time
        02                  # topics: 1 + 1
        07 6f7264657273     #   name
        02                  #   partitions: 1 + 1
        00000000            #     partition 0
        000000000000000a    #     low watermark 10
        0001                #     error code 1 (OFFSET_OUT_OF_RANGE)
        00                  #     tagged fields
        00                  #   tagged fields
        00                  # tagged fields
      `).toString('hex'),
    );
  });
});

describe('DescribeCluster', () => {
  it('decodes hand-built v0 and v1 requests (flexible from v0; v0 has no endpoint type)', () => {
    const v0 = bytes(`
      003c 0000           # request header v2: api key 60, version 0
      ${HEADER_V2}
      00                  # include cluster authorized operations: false
      00                  # tagged fields
    `);
    expect(decodeRequest(v0).body).toEqual({ includeClusterAuthorizedOperations: false, endpointType: 1 });
    const v1 = bytes(`
      003c 0001
      ${HEADER_V2}
      01                  # include cluster authorized operations: true
      02                  # endpoint type 2 (controllers)
      00                  # tagged fields
    `);
    expect(decodeRequest(v1).body).toEqual({ includeClusterAuthorizedOperations: true, endpointType: 2 });
  });

  it('writes the v1 response', () => {
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      endpointType: 1,
      clusterId: 'abcdefghijklmnopqrstuv',
      controllerId: 0,
      brokers: [{ brokerId: 0, host: '127.0.0.1', port: 9092, rack: null }],
      clusterAuthorizedOperations: -2147483648,
    };
    expect(responseFrame(DescribeCluster, 1, body)).toBe(
      bytes(`
        00000009 00         # response header v1
        00000000            # throttle time
        0000                # error code
        00                  # error message null
        01                  # endpoint type 1 (brokers)
        17 6162636465666768696a6b6c6d6e6f707172737475 76  # cluster id: 22 + 1
        00000000            # controller id 0
        02                  # brokers: 1 + 1
        00000000            #   broker id 0
        0a 3132372e302e302e31  # host "127.0.0.1"
        00002384            #   port 9092
        00                  #   rack null
        00                  #   tagged fields
        80000000            # cluster authorized operations: not asked for
        00                  # tagged fields
      `).toString('hex'),
    );
  });
});

describe('DescribeLogDirs', () => {
  it('decodes a hand-built v1 request (int16 strings, int32 counts) and a v4 request for every partition', () => {
    const v1 = bytes(`
      0023 0001 00000009 0007 72646b61666b61  # request header v1: api key 35, version 1
      00000001            # topics: int32 count 1
      0006 6f7264657273   #   topic "orders"
      00000002            #   partitions: 2
      00000000 00000001   #     0 and 1
    `);
    expect(decodeRequest(v1).body).toEqual({ topics: [{ topic: 'orders', partitions: [0, 1] }] });
    const v4 = bytes(`
      0023 0004
      ${HEADER_V2}
      00                  # topics: null (every partition)
      00                  # tagged fields
    `);
    expect(decodeRequest(v4).body).toEqual({ topics: null });
  });

  it('writes the v4 response with the volume sizes', () => {
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      results: [
        {
          errorCode: 0,
          logDir: '/data/log',
          topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, partitionSize: 4096, offsetLag: 0, isFutureKey: false }] }],
          totalBytes: 65536,
          usableBytes: 32768,
        },
      ],
    };
    expect(responseFrame(DescribeLogDirs, 4, body)).toBe(
      bytes(`
        00000009 00         # response header v1
        00000000            # throttle time
        0000                # error code (v3+)
        02                  # results: 1 + 1
        0000                #   error code
        0a 2f646174612f6c6f67  # log dir "/data/log"
        02                  #   topics: 1 + 1
        07 6f7264657273     #     name "orders"
        02                  #     partitions: 1 + 1
        00000000            #       partition 0
        0000000000001000    #       size 4096
        0000000000000000    #       offset lag 0
        00                  #       is future key: false
        00                  #       tagged fields
        00                  #     tagged fields
        0000000000010000    #   total bytes (v4+)
        0000000000008000    #   usable bytes (v4+)
        00                  #   tagged fields
        00                  # tagged fields
      `).toString('hex'),
    );
  });
});
