/** CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, DeleteGroups against kafkajs; OffsetDelete's byte layout. */
import { describe, expect, it } from 'vitest';
import { CreatePartitions } from '../../../src/protocol/api/create-partitions.js';
import { CreateTopics } from '../../../src/protocol/api/create-topics.js';
import { DeleteGroups } from '../../../src/protocol/api/delete-groups.js';
import { DeleteTopics } from '../../../src/protocol/api/delete-topics.js';
import { CONFIG_RESOURCE_TOPIC, CONFIG_SOURCE_DEFAULT, CONFIG_SOURCE_TOPIC, DescribeConfigs } from '../../../src/protocol/api/describe-configs.js';
import { OffsetDelete } from '../../../src/protocol/api/offset-delete.js';
import { decodeRequest, encodeRequest } from '../../../src/protocol/api/registry.js';
import { Writer } from '../../../src/protocol/wire/writer.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

describe('CreateTopics', () => {
  const args = {
    validateOnly: true,
    timeout: 5000,
    topics: [
      { topic: 'orders', numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: 'placed', replicaAssignment: [{ partition: 0, replicas: [1] }] },
    ],
  };

  it.each([0, 1, 2, 3])('decodes kafkajs v%i requests', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('createTopics', version, args));
    expect(request.body).toEqual({
      topics: [
        {
          name: 'orders',
          numPartitions: 3,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'cleanup.policy', value: 'compact' }],
        },
        { name: 'placed', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1] }], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: version >= 1,
    });
  });

  it.each([0, 1, 2, 3])('encodes v%i responses kafkajs reads', async (version) => {
    const body = {
      throttleTimeMs: 1,
      topics: [
        { name: 'orders', errorCode: 0, errorMessage: null },
        { name: 'placed', errorCode: 0 },
      ],
    };
    const decoded = await decodeWithKafkajs('createTopics', CreateTopics, version, body, { parse: true });
    const errors = decoded.topicErrors as Record<string, unknown>[];
    expect(errors.map((e) => [e.topic, e.errorCode])).toEqual([
      ['orders', 0],
      ['placed', 0],
    ]);
    if (version >= 1) expect(errors.map((e) => e.errorMessage)).toEqual([null, null]);
  });

  it('kafkajs sees TOPIC_ALREADY_EXISTS', async () => {
    const body = { topics: [{ name: 'orders', errorCode: 36, errorMessage: 'Topic orders already exists' }] };
    await expect(decodeWithKafkajs('createTopics', CreateTopics, 1, body, { parse: true })).rejects.toMatchObject({
      errors: [{ type: 'TOPIC_ALREADY_EXISTS', topic: 'orders' }],
    });
  });
});

describe('DeleteTopics', () => {
  it.each([0, 1])('decodes kafkajs v%i requests', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('deleteTopics', version, { topics: ['a', 'b'], timeout: 3000 }));
    expect(request.body).toEqual({ topics: [], topicNames: ['a', 'b'], timeoutMs: 3000 });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads', async (version) => {
    const body = { throttleTimeMs: 1, responses: [{ name: 'a', errorCode: 0 }, { name: 'b', errorCode: 0 }] };
    const decoded = await decodeWithKafkajs('deleteTopics', DeleteTopics, version, body, { parse: true });
    expect(decoded.topicErrors).toEqual([{ topic: 'a', errorCode: 0 }, { topic: 'b', errorCode: 0 }]);
  });
});

describe('CreatePartitions', () => {
  it.each([0, 1])('decodes kafkajs v%i requests', async (version) => {
    const args = {
      validateOnly: false,
      timeout: 4000,
      topicPartitions: [
        { topic: 'orders', count: 6 },
        { topic: 'placed', count: 2, assignments: [[1]] },
      ],
    };
    const request = decodeRequest(await kafkajsRequestFrame('createPartitions', version, args));
    expect(request.body).toEqual({
      // kafkajs writes an empty nullable array as null: "let the broker place them".
      topics: [
        { name: 'orders', count: 6, assignments: null },
        { name: 'placed', count: 2, assignments: [{ brokerIds: [1] }] },
      ],
      timeoutMs: 4000,
      validateOnly: false,
    });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads', async (version) => {
    const body = { throttleTimeMs: 1, results: [{ name: 'orders', errorCode: 0, errorMessage: null }] };
    const decoded = await decodeWithKafkajs('createPartitions', CreatePartitions, version, body, { parse: true });
    expect(decoded.topicErrors).toEqual([{ topic: 'orders', errorCode: 0, errorMessage: null }]);
  });

  it('kafkajs sees INVALID_PARTITIONS', async () => {
    const body = { results: [{ name: 'orders', errorCode: 37, errorMessage: 'cannot shrink' }] };
    await expect(decodeWithKafkajs('createPartitions', CreatePartitions, 0, body, { parse: true })).rejects.toMatchObject({
      type: 'INVALID_PARTITIONS',
    });
  });
});

describe('DescribeConfigs', () => {
  it.each([0, 1, 2])('decodes kafkajs v%i requests', async (version) => {
    const args = {
      includeSynonyms: true,
      resources: [
        { type: CONFIG_RESOURCE_TOPIC, name: 'orders', configNames: ['retention.ms'] },
        { type: CONFIG_RESOURCE_TOPIC, name: 'all' },
      ],
    };
    const request = decodeRequest(await kafkajsRequestFrame('describeConfigs', version, args));
    expect(request.body).toEqual({
      resources: [
        { resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms'] },
        { resourceType: 2, resourceName: 'all', configurationKeys: null },
      ],
      includeSynonyms: version >= 1,
      includeDocumentation: false,
    });
  });

  const body = {
    throttleTimeMs: 1,
    results: [
      {
        errorCode: 0,
        resourceType: CONFIG_RESOURCE_TOPIC,
        resourceName: 'orders',
        configs: [
          {
            name: 'retention.ms',
            value: '86400000',
            readOnly: false,
            isDefault: false,
            configSource: CONFIG_SOURCE_TOPIC,
            isSensitive: false,
            synonyms: [{ name: 'retention.ms', value: '86400000', source: CONFIG_SOURCE_TOPIC }],
          },
          { name: 'segment.bytes', value: '1073741824', readOnly: false, isDefault: true, configSource: CONFIG_SOURCE_DEFAULT, isSensitive: false },
        ],
      },
    ],
  };

  it.each([0, 1, 2])('encodes v%i responses kafkajs reads', async (version) => {
    const decoded = await decodeWithKafkajs('describeConfigs', DescribeConfigs, version, body, { parse: true });
    const [resource] = decoded.resources as Record<string, unknown>[];
    expect(resource).toMatchObject({ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' });
    const entries = resource.configEntries as Record<string, unknown>[];
    expect(entries.map((e) => [e.configName, e.configValue, e.readOnly, e.isDefault, e.configSource, e.isSensitive])).toEqual([
      ['retention.ms', '86400000', false, false, CONFIG_SOURCE_TOPIC, false],
      ['segment.bytes', '1073741824', false, true, CONFIG_SOURCE_DEFAULT, false],
    ]);
    if (version >= 1) {
      expect(entries[0].configSynonyms).toEqual([{ configName: 'retention.ms', configValue: '86400000', configSource: CONFIG_SOURCE_TOPIC }]);
    }
  });
});

describe('DeleteGroups', () => {
  it.each([0, 1])('decodes kafkajs v%i requests', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('deleteGroups', version, ['readers', 'writers']));
    expect(request).toMatchObject({ apiKey: 42, apiVersion: version });
    expect(request.body).toEqual({ groupsNames: ['readers', 'writers'] });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads, errors per group', async (version) => {
    const body = { throttleTimeMs: 2, results: [{ groupId: 'readers', errorCode: 0 }, { groupId: 'writers', errorCode: 68 }] };
    const decoded = await decodeWithKafkajs('deleteGroups', DeleteGroups, version, body);
    expect(decoded.throttleTimeMs).toBe(2);
    const results = decoded.results as { groupId: string; errorCode: number; error?: { type: string } }[];
    expect(results.map((r) => [r.groupId, r.errorCode, r.error?.type])).toEqual([
      ['readers', 0, undefined],
      ['writers', 68, 'NON_EMPTY_GROUP'],
    ]);
  });

  it('writes v2 flexibly: compact array and strings, tagged fields', () => {
    const writer = new Writer();
    encodeRequest(writer, DeleteGroups, { apiVersion: 2, correlationId: 7, clientId: 'c' }, { groupsNames: ['g'] });
    const frame = writer.toBuffer();
    // size, key 42, v2, correlation 7, client id "c" (int16 length), header tags, then the body:
    // compact array of 1 (varint 2), compact string "g" (varint 2), body tags.
    expect([...frame]).toEqual([0, 0, 0, 16, 0, 42, 0, 2, 0, 0, 0, 7, 0, 1, 99, 0, 2, 2, 103, 0]);
  });
});

describe('OffsetDelete', () => {
  it('lays v0 out as Kafka does: request group, topics, partitions; response errorCode before throttleTimeMs', () => {
    const writer = new Writer();
    OffsetDelete.encodeRequest(writer, 0, { groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 5 }] }] });
    expect([...writer.toBuffer()]).toEqual([0, 1, 103, 0, 0, 0, 1, 0, 1, 116, 0, 0, 0, 1, 0, 0, 0, 5]);
    const response = new Writer();
    OffsetDelete.encodeResponse(response, 0, { errorCode: 69, throttleTimeMs: 3, topics: [] });
    expect([...response.toBuffer()]).toEqual([0, 69, 0, 0, 0, 3, 0, 0, 0, 0]);
  });
});
