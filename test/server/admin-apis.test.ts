/**
 * AlterConfigs, IncrementalAlterConfigs, DeleteRecords, DescribeCluster and DescribeLogDirs over a
 * real socket, at every version Kafka 3.9 serves: Kafka's answers and error codes, config changes
 * that the running partition logs obey at once (and after a shard restart and a broker restart),
 * and log-start moves that readers honour.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlterConfigs } from '../../src/protocol/api/alter-configs.js';
import { DeleteRecords } from '../../src/protocol/api/delete-records.js';
import { DescribeCluster } from '../../src/protocol/api/describe-cluster.js';
import { DescribeConfigs } from '../../src/protocol/api/describe-configs.js';
import { DescribeLogDirs } from '../../src/protocol/api/describe-log-dirs.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { IncrementalAlterConfigs } from '../../src/protocol/api/incremental-alter-configs.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { partitionDirName } from '../../src/storage/data-dir.js';
import { TestClient, eventually, startServer, type TestServer } from './helpers.js';

const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;
/** A record time well in the past, so any short retention.ms makes its segment due. */
const OLD_MS = 1_600_000_000_000;

let t: TestServer;
let client: TestClient;

function batch(count: number, options: { valueBytes?: number; keyed?: boolean; timestampMs?: number } = {}): Buffer {
  return encodeRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({
      key: options.keyed === false ? null : Buffer.from(`k${i}`),
      value: Buffer.alloc(options.valueBytes ?? 10, 0x61 + (i % 26)),
      timestampMs: (options.timestampMs ?? Date.now()) + i,
    })),
  });
}

async function produce(topic: string, records: Buffer, partition = 0) {
  const response = await client.send(Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  return response.responses[0].partitionResponses[0];
}

async function describeTopic(topic: string, keys: string[]) {
  const response = await client.send(DescribeConfigs, 4, {
    resources: [{ resourceType: TOPIC, resourceName: topic, configurationKeys: keys }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  return Object.fromEntries(response.results[0].configs.map((c) => [c.name, [c.value, c.configSource]]));
}

function incremental(version: number, resources: { resourceType: number; resourceName: string; configs: { name: string; configOperation: number; value: string | null }[] }[], validateOnly = false) {
  return client.send(IncrementalAlterConfigs, version, { resources, validateOnly });
}

beforeAll(async () => {
  t = await startServer();
  client = await TestClient.connect(t.port);
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

describe('IncrementalAlterConfigs', () => {
  it.each([0, 1])('v%i sets and deletes topic configs; DescribeConfigs reports them as DYNAMIC_TOPIC_CONFIG, then as defaults', async (version) => {
    const topic = `inc-${version}`;
    await t.broker.createTopic(topic, { partitions: 2 });
    const set = await incremental(version, [
      { resourceType: TOPIC, resourceName: topic, configs: [
        { name: 'retention.ms', configOperation: SET, value: '3600000' },
        { name: 'segment.bytes', configOperation: SET, value: '2097152' },
      ] },
    ]);
    expect(set.responses).toEqual([{ errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: topic }]);
    expect(await describeTopic(topic, ['retention.ms', 'segment.bytes'])).toEqual({ 'retention.ms': ['3600000', 1], 'segment.bytes': ['2097152', 1] });

    await incremental(version, [{ resourceType: TOPIC, resourceName: topic, configs: [{ name: 'retention.ms', configOperation: DELETE, value: null }] }]);
    expect(await describeTopic(topic, ['retention.ms', 'segment.bytes'])).toEqual({ 'retention.ms': ['604800000', 5], 'segment.bytes': ['2097152', 1] });
  });

  it('APPEND and SUBTRACT edit cleanup.policy from its current value; on a non-list config they are INVALID_CONFIG', async () => {
    await t.broker.createTopic('lists', { partitions: 1 });
    const op = (configOperation: number, name: string, value: string) =>
      incremental(1, [{ resourceType: TOPIC, resourceName: 'lists', configs: [{ name, configOperation, value }] }]);
    expect((await op(APPEND, 'cleanup.policy', 'compact')).responses[0].errorCode).toBe(0);
    expect((await describeTopic('lists', ['cleanup.policy']))['cleanup.policy']).toEqual(['delete,compact', 1]);
    expect((await op(APPEND, 'cleanup.policy', 'compact')).responses[0].errorCode).toBe(0);
    expect((await describeTopic('lists', ['cleanup.policy']))['cleanup.policy']).toEqual(['delete,compact', 1]);
    expect((await op(SUBTRACT, 'cleanup.policy', 'delete')).responses[0].errorCode).toBe(0);
    expect((await describeTopic('lists', ['cleanup.policy']))['cleanup.policy']).toEqual(['compact', 1]);
    const refused = await op(APPEND, 'retention.ms', '5');
    expect(refused.responses[0]).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Config value append is not allowed for config key: retention.ms' });
  });

  it("answers Kafka's error codes per resource and changes nothing for a failed one", async () => {
    await t.broker.createTopic('errs', { partitions: 1 });
    const response = await incremental(1, [
      { resourceType: TOPIC, resourceName: 'errs', configs: [{ name: 'retention.ms', configOperation: SET, value: 'soon' }] },
      { resourceType: TOPIC, resourceName: 'errs-missing', configs: [{ name: 'retention.ms', configOperation: SET, value: '1' }] },
      { resourceType: TOPIC, resourceName: 'errs', configs: [] },
      { resourceType: TOPIC, resourceName: 'errs2', configs: [{ name: 'no.such.config', configOperation: SET, value: '1' }] },
      { resourceType: BROKER, resourceName: '0', configs: [{ name: 'listeners', configOperation: SET, value: 'PLAINTEXT://:1' }] },
      { resourceType: BROKER, resourceName: 'seven', configs: [] },
      { resourceType: BROKER, resourceName: '7', configs: [] },
      { resourceType: BROKER, resourceName: '', configs: [] },
      { resourceType: 8, resourceName: 'root', configs: [] },
    ]);
    expect(response.responses.map((r) => [r.resourceName, r.errorCode])).toEqual([
      ['errs', ErrorCode.INVALID_REQUEST],
      ['errs-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['errs', ErrorCode.INVALID_REQUEST],
      ['errs2', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['0', ErrorCode.INVALID_REQUEST],
      ['seven', ErrorCode.INVALID_REQUEST],
      ['7', ErrorCode.INVALID_REQUEST],
      ['', ErrorCode.NONE],
      ['root', ErrorCode.INVALID_REQUEST],
    ]);
    expect(response.responses[0].errorMessage).toBe('Each resource must appear at most once.');
    expect(response.responses[4].errorMessage).toMatch(/^Cannot update these configs dynamically: listeners/);
    expect(response.responses[5].errorMessage).toBe('Node id must be an integer, but it is: seven');
    expect(response.responses[6].errorMessage).toBe('Unexpected broker id, expected 0, but received 7');

    await t.broker.createTopic('errs2', { partitions: 1 });
    const single = async (configs: { name: string; configOperation: number; value: string | null }[]) =>
      (await incremental(1, [{ resourceType: TOPIC, resourceName: 'errs2', configs }])).responses[0];
    expect(await single([{ name: 'retention.ms', configOperation: SET, value: 'soon' }])).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG });
    expect(await single([{ name: 'no.such.config', configOperation: SET, value: '1' }])).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG });
    expect(await single([{ name: 'segment.bytes', configOperation: SET, value: '1000' }])).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG });
    expect(await single([{ name: 'retention.ms', configOperation: SET, value: null }])).toMatchObject({
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'Null value not supported for : retention.ms',
    });
    expect(await single([{ name: 'retention.ms', configOperation: 9, value: '1' }])).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Unknown operations type 9' });
    expect(
      await single([
        { name: 'retention.ms', configOperation: SET, value: '1' },
        { name: 'retention.ms', configOperation: DELETE, value: null },
      ]),
    ).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Error due to duplicate config keys' });
    expect(
      await single([
        { name: 'min.compaction.lag.ms', configOperation: SET, value: '10' },
        { name: 'max.compaction.lag.ms', configOperation: SET, value: '5' },
      ]),
    ).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG });
    expect(t.broker.topicMetadata('errs2').configs).toEqual({});
  });

  it('validateOnly checks the change and makes none', async () => {
    await t.broker.createTopic('dry', { partitions: 1 });
    const ok = await incremental(1, [{ resourceType: TOPIC, resourceName: 'dry', configs: [{ name: 'retention.ms', configOperation: SET, value: '1000' }] }], true);
    expect(ok.responses[0].errorCode).toBe(0);
    const bad = await incremental(1, [{ resourceType: TOPIC, resourceName: 'dry', configs: [{ name: 'retention.ms', configOperation: SET, value: '-5' }] }], true);
    expect(bad.responses[0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(t.broker.topicMetadata('dry').configs).toEqual({});
  });
});

describe('dynamic broker configs', () => {
  it('set the topic config defaults cluster-wide ("") and for this broker ("0"), live, persisted, reported with their sources', async () => {
    const own = await startServer();
    const c = await TestClient.connect(own.port);
    try {
      await own.broker.createTopic('plain', { partitions: 1 });
      await own.broker.createTopic('own-limit', { partitions: 1, configs: { 'max.message.bytes': '100000' } });
      const big = batch(1, { valueBytes: 4000 });
      const send = async (topic: string) =>
        (await c.send(Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: big }] }] }))
          .responses[0].partitionResponses[0].errorCode;
      const alter = (resourceName: string, configs: { name: string; configOperation: number; value: string | null }[], validateOnly = false) =>
        c.send(IncrementalAlterConfigs, 1, { resources: [{ resourceType: BROKER, resourceName, configs }], validateOnly });
      const describeTopicAt = async (keys: string[]) => {
        const response = await c.send(DescribeConfigs, 4, { resources: [{ resourceType: TOPIC, resourceName: 'plain', configurationKeys: keys }], includeSynonyms: false, includeDocumentation: false });
        return Object.fromEntries(response.results[0].configs.map((entry) => [entry.name, [entry.value, entry.configSource]]));
      };

      expect((await alter('', [{ name: 'message.max.bytes', configOperation: SET, value: '1000' }], true)).responses[0].errorCode).toBe(0);
      expect(await send('plain')).toBe(0);
      expect((await alter('', [{ name: 'message.max.bytes', configOperation: SET, value: '1000' }])).responses[0].errorCode).toBe(0);
      expect(await send('plain')).toBe(ErrorCode.MESSAGE_TOO_LARGE);
      expect(await send('own-limit')).toBe(0);
      expect(await describeTopicAt(['max.message.bytes'])).toEqual({ 'max.message.bytes': ['1000', 3] });

      expect((await alter('0', [{ name: 'message.max.bytes', configOperation: SET, value: '8000' }, { name: 'log.cleanup.policy', configOperation: APPEND, value: 'compact' }])).responses[0].errorCode).toBe(0);
      expect(await send('plain')).toBe(0);
      expect(await describeTopicAt(['max.message.bytes', 'cleanup.policy'])).toEqual({ 'max.message.bytes': ['8000', 2], 'cleanup.policy': ['delete,compact', 2] });
      const brokerConfigs = await c.send(DescribeConfigs, 4, { resources: [{ resourceType: BROKER, resourceName: '0', configurationKeys: ['message.max.bytes', 'log.cleanup.policy', 'log.retention.ms'] }], includeSynonyms: false, includeDocumentation: false });
      expect(brokerConfigs.results[0].configs.map((entry) => [entry.name, entry.value, entry.configSource, entry.readOnly])).toEqual([
        ['log.cleanup.policy', 'delete,compact', 2, false],
        ['log.retention.ms', '604800000', 5, false],
        ['message.max.bytes', '8000', 2, false],
      ]);

      const synonyms = await c.send(DescribeConfigs, 1, { resources: [{ resourceType: TOPIC, resourceName: 'own-limit', configurationKeys: ['max.message.bytes'] }], includeSynonyms: true });
      expect(synonyms.results[0].configs[0].synonyms).toEqual([
        { name: 'max.message.bytes', value: '100000', source: 1 },
        { name: 'message.max.bytes', value: '8000', source: 2 },
        { name: 'message.max.bytes', value: '1000', source: 3 },
        { name: 'message.max.bytes', value: '1048588', source: 5 },
      ]);

      const errors = await c.send(IncrementalAlterConfigs, 1, {
        resources: [
          { resourceType: BROKER, resourceName: '', configs: [{ name: 'log.retention.ms', configOperation: SET, value: 'soon' }] },
          { resourceType: BROKER, resourceName: '0', configs: [{ name: 'no.such.config', configOperation: SET, value: '1' }] },
        ],
        validateOnly: false,
      });
      expect(errors.responses.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG]);

      // Legacy AlterConfigs replaces the scope's whole set: the broker scope is emptied, the cluster-wide 1000 applies again.
      expect((await c.send(AlterConfigs, 1, { resources: [{ resourceType: BROKER, resourceName: '0', configs: [] }], validateOnly: false })).responses[0].errorCode).toBe(0);
      expect(await send('plain')).toBe(ErrorCode.MESSAGE_TOO_LARGE);

      c.close();
      await own.stop();
      const again = await startServer({ dataDir: own.dataDir });
      try {
        expect(again.broker.brokerConfigs('default')).toEqual({ 'message.max.bytes': '1000' });
        expect(again.broker.brokerConfigs('broker')).toEqual({});
        await expect(again.broker.produce('plain', 0, big, 1)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
      } finally {
        await again.close();
      }
    } finally {
      c.close();
      await own.close();
    }
  });
});

describe('AlterConfigs', () => {
  it.each([0, 1, 2])('v%i replaces the whole set of overrides: those left out revert to their defaults', async (version) => {
    const topic = `legacy-${version}`;
    await t.broker.createTopic(topic, { partitions: 1, configs: { 'retention.ms': '5000', 'segment.ms': '60000' } });
    const response = await client.send(AlterConfigs, version, {
      resources: [{ resourceType: TOPIC, resourceName: topic, configs: [{ name: 'retention.bytes', value: '1048576' }] }],
      validateOnly: false,
    });
    expect(response.responses).toEqual([{ errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: topic }]);
    expect(t.broker.topicMetadata(topic).configs).toEqual({ 'retention.bytes': '1048576' });
    expect(await describeTopic(topic, ['retention.ms', 'retention.bytes'])).toEqual({ 'retention.ms': ['604800000', 5], 'retention.bytes': ['1048576', 1] });
  });

  it('refuses null values and unknown topics, and validateOnly changes nothing', async () => {
    await t.broker.createTopic('legacy-errs', { partitions: 1, configs: { 'retention.ms': '5000' } });
    const response = await client.send(AlterConfigs, 1, {
      resources: [
        { resourceType: TOPIC, resourceName: 'legacy-errs', configs: [{ name: 'retention.ms', value: null }] },
        { resourceType: TOPIC, resourceName: 'legacy-missing', configs: [] },
      ],
      validateOnly: false,
    });
    expect(response.responses.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const dry = await client.send(AlterConfigs, 1, { resources: [{ resourceType: TOPIC, resourceName: 'legacy-errs', configs: [] }], validateOnly: true });
    expect(dry.responses[0].errorCode).toBe(0);
    expect(t.broker.topicMetadata('legacy-errs').configs).toEqual({ 'retention.ms': '5000' });
  });
});

describe('config changes take effect on the running logs', () => {
  it('max.message.bytes: a batch the topic took before is refused after, also once its shard restarted', async () => {
    await t.broker.createTopic('live-size', { partitions: 1 });
    const big = batch(1, { valueBytes: 4000 });
    expect((await produce('live-size', big)).errorCode).toBe(0);
    await incremental(1, [{ resourceType: TOPIC, resourceName: 'live-size', configs: [{ name: 'max.message.bytes', configOperation: SET, value: '1000' }] }]);
    expect((await produce('live-size', big)).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect((await produce('live-size', batch(1))).errorCode).toBe(0);
    await t.broker.shards.terminateShard(t.broker.shards.shardFor('live-size', 0));
    await eventually(async () => (await produce('live-size', batch(1))).errorCode === 0);
    expect((await produce('live-size', big)).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });

  it('cleanup.policy=compact: records without a key are refused from then on, as by a topic created compacted', async () => {
    await t.broker.createTopic('live-compact', { partitions: 1 });
    await t.broker.createTopic('born-compact', { partitions: 1, configs: { 'cleanup.policy': 'compact' } });
    const refusal = (await produce('born-compact', batch(2, { keyed: false }))).errorCode;
    expect(refusal).not.toBe(0);
    expect((await produce('live-compact', batch(2, { keyed: false }))).errorCode).toBe(0);
    await incremental(1, [{ resourceType: TOPIC, resourceName: 'live-compact', configs: [{ name: 'cleanup.policy', configOperation: SET, value: 'compact' }] }]);
    expect((await produce('live-compact', batch(2, { keyed: false }))).errorCode).toBe(refusal);
    expect((await produce('live-compact', batch(2))).errorCode).toBe(0);
  });

  it('retention.ms lowered: old segments are deleted and the log start offset moves, without waiting for the retention interval', async () => {
    // The test broker checks retention every 5 minutes by default: only the config change can make it run now.
    await t.broker.createTopic('live-retention', { partitions: 1 });
    await produce('live-retention', batch(5, { timestampMs: OLD_MS }));
    await produce('live-retention', batch(5, { timestampMs: OLD_MS + 100 }));
    expect(t.broker.partitionOffsets('live-retention', 0)).toMatchObject({ logStartOffset: 0, highWatermark: 10 });
    await incremental(1, [{ resourceType: TOPIC, resourceName: 'live-retention', configs: [{ name: 'retention.ms', configOperation: SET, value: '60000' }] }]);
    await eventually(() => t.broker.partitionOffsets('live-retention', 0).logStartOffset === 10);
    const fetched = await client.send(Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'live-retention', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    expect(fetched.responses[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  });

  it('segment.ms lowered: the next append rolls a new segment', async () => {
    await t.broker.createTopic('live-roll', { partitions: 1 });
    const dir = join(t.dataDir, partitionDirName('live-roll', 0));
    const logFiles = () => readdirSync(dir).filter((name) => name.endsWith('.log')).length;
    await produce('live-roll', batch(3));
    expect(logFiles()).toBe(1);
    await incremental(1, [{ resourceType: TOPIC, resourceName: 'live-roll', configs: [{ name: 'segment.ms', configOperation: SET, value: '1' }] }]);
    const before = Date.now();
    await eventually(() => Date.now() > before + 2);
    await produce('live-roll', batch(3));
    expect(logFiles()).toBe(2);
  });

  it('persists: a restarted broker still has the configs and applies them', async () => {
    const own = await startServer();
    try {
      await own.broker.createTopic('kept', { partitions: 1 });
      await own.broker.alterTopicConfigs('kept', { 'max.message.bytes': '1000', 'retention.ms': '86400000' });
      await own.stop();
      const again = await startServer({ dataDir: own.dataDir });
      try {
        expect(again.broker.topicMetadata('kept').configs).toEqual({ 'max.message.bytes': '1000', 'retention.ms': '86400000' });
        await expect(again.broker.produce('kept', 0, batch(1, { valueBytes: 4000 }), 1)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
      } finally {
        await again.close();
      }
    } finally {
      await own.close();
    }
  });
});

describe('DeleteRecords', () => {
  it.each([0, 1, 2])('v%i moves the log start offset; reads below it are OFFSET_OUT_OF_RANGE; -1 means the high watermark', async (version) => {
    const topic = `del-${version}`;
    await t.broker.createTopic(topic, { partitions: 2 });
    await produce(topic, batch(10));
    await produce(topic, batch(4), 1);
    const response = await client.send(DeleteRecords, version, {
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 4 }, { partitionIndex: 1, offset: -1 }] }],
      timeoutMs: 1000,
    });
    expect(response.topics).toEqual([
      { name: topic, partitions: [{ partitionIndex: 0, lowWatermark: 4, errorCode: 0 }, { partitionIndex: 1, lowWatermark: 4, errorCode: 0 }] },
    ]);
    expect(t.broker.partitionOffsets(topic, 0)).toMatchObject({ logStartOffset: 4, highWatermark: 10 });
    expect(() => t.broker.fetch(topic, 0, 2, 1 << 20, 'read_uncommitted')).toThrow(/out of range/);
    expect(t.broker.fetch(topic, 0, 4, 1 << 20, 'read_uncommitted').records.length).toBeGreaterThan(0);
  });

  it("answers Kafka's error per partition", async () => {
    await t.broker.createTopic('del-errs', { partitions: 1 });
    await t.broker.createTopic('del-compact', { partitions: 1, configs: { 'cleanup.policy': 'compact' } });
    await produce('del-errs', batch(3));
    const response = await client.send(DeleteRecords, 2, {
      topics: [
        { name: 'del-errs', partitions: [{ partitionIndex: 0, offset: 4 }, { partitionIndex: 0, offset: -3 }, { partitionIndex: 5, offset: 0 }] },
        { name: 'del-compact', partitions: [{ partitionIndex: 0, offset: 0 }] },
        { name: '__consumer_offsets', partitions: [{ partitionIndex: 0, offset: 0 }] },
        { name: 'del-missing', partitions: [{ partitionIndex: 0, offset: 0 }] },
      ],
      timeoutMs: 1000,
    });
    expect(response.topics.map((topic) => topic.partitions.map((p) => [p.errorCode, p.lowWatermark]))).toEqual([
      [[ErrorCode.OFFSET_OUT_OF_RANGE, -1], [ErrorCode.OFFSET_OUT_OF_RANGE, -1], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1]],
      [[ErrorCode.POLICY_VIOLATION, -1]],
      [[ErrorCode.INVALID_TOPIC_EXCEPTION, -1]],
      [[ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1]],
    ]);
    expect(t.broker.partitionOffsets('del-errs', 0).logStartOffset).toBe(0);
  });

  it('retention after DeleteRecords keeps the moved start: the start offset survives a restart', async () => {
    const own = await startServer();
    try {
      await own.broker.createTopic('kept-start', { partitions: 1 });
      await own.broker.produce('kept-start', 0, batch(6), 1);
      const own2 = await TestClient.connect(own.port);
      await own2.send(DeleteRecords, 1, { topics: [{ name: 'kept-start', partitions: [{ partitionIndex: 0, offset: 5 }] }], timeoutMs: 1000 });
      own2.close();
      await own.stop();
      const again = await startServer({ dataDir: own.dataDir });
      try {
        expect(again.broker.partitionOffsets('kept-start', 0)).toMatchObject({ logStartOffset: 5, highWatermark: 6 });
      } finally {
        await again.close();
      }
    } finally {
      await own.close();
    }
  });
});

describe('DescribeCluster', () => {
  it.each([0, 1])('v%i names this node as the only broker and the controller', async (version) => {
    const response = await client.send(DescribeCluster, version, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    expect(response).toMatchObject({
      errorCode: 0,
      errorMessage: null,
      controllerId: 0,
      brokers: [{ brokerId: 0, host: '127.0.0.1', port: t.port, rack: null }],
      clusterAuthorizedOperations: -2147483648,
    });
    const metadata = await client.send(Metadata, 9, { topics: [], allowAutoTopicCreation: false });
    expect(response.clusterId).toBe(metadata.clusterId);
  });

  it('lists every cluster operation when asked (no authorizer), and refuses controller and unknown endpoint types', async () => {
    const withOps = await client.send(DescribeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 });
    // CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE
    expect(withOps.clusterAuthorizedOperations).toBe(0b1_1111_1010_0000);
    const controllers = await client.send(DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 });
    expect(controllers).toMatchObject({ errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE, brokers: [] });
    const unknown = await client.send(DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 9 });
    expect(unknown).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: 'Unsupported endpoint type 9' });
  });
});

describe('DescribeLogDirs', () => {
  it.each([0, 1, 2, 3, 4])('v%i reports each partition with the size of its segment files', async (version) => {
    const topic = `dirs-${version}`;
    await t.broker.createTopic(topic, { partitions: 2 });
    await produce(topic, batch(20, { valueBytes: 100 }));
    await produce(topic, batch(3), 1);
    const response = await client.send(DescribeLogDirs, version, { topics: [{ topic, partitions: [0, 1, 7, 0] }, { topic: 'dirs-none', partitions: [0] }] });
    expect(response.results).toHaveLength(1);
    const [result] = response.results;
    expect(result).toMatchObject({ errorCode: 0, logDir: t.dataDir });
    const sizeOnDisk = (partition: number): number => {
      const dir = join(t.dataDir, partitionDirName(topic, partition));
      return readdirSync(dir).filter((name) => name.endsWith('.log')).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    };
    expect(result.topics).toEqual([
      {
        name: topic,
        partitions: [
          { partitionIndex: 0, partitionSize: sizeOnDisk(0), offsetLag: 0, isFutureKey: false },
          { partitionIndex: 1, partitionSize: sizeOnDisk(1), offsetLag: 0, isFutureKey: false },
        ],
      },
    ]);
    expect(result.topics[0].partitions[0].partitionSize).toBeGreaterThan(2000);
    if (version >= 4) {
      expect(result.totalBytes).toBeGreaterThan(0);
      expect(result.usableBytes).toBeGreaterThan(0);
      expect(result.usableBytes).toBeLessThanOrEqual(result.totalBytes);
    } else {
      expect(result.totalBytes).toBe(-1);
    }
  });

  it('null topics describes every partition', async () => {
    const response = await client.send(DescribeLogDirs, 4, { topics: null });
    const names = response.results[0].topics.map((topic) => topic.name);
    expect(names).toContain('__consumer_offsets');
    expect(names).toContain('dirs-0');
  });
});
