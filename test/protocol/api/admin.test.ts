/** CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs against kafkajs. */
import { describe, expect, it } from 'vitest';
import { CreatePartitions } from '../../../src/protocol/api/create-partitions.js';
import { CreateTopics } from '../../../src/protocol/api/create-topics.js';
import { DeleteTopics } from '../../../src/protocol/api/delete-topics.js';
import { CONFIG_RESOURCE_TOPIC, CONFIG_SOURCE_DEFAULT, CONFIG_SOURCE_TOPIC, DescribeConfigs } from '../../../src/protocol/api/describe-configs.js';
import { decodeRequest } from '../../../src/protocol/api/registry.js';
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
