import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClosedError,
  CorruptFileError,
  InvalidConfigError,
  InvalidPartitionsError,
  InvalidTopicError,
  TopicExistsError,
  TopicNotFoundError,
} from '../../src/errors.js';
import { DataDir, META_DIR_NAME } from '../../src/storage/data-dir.js';
import {
  LONG_MAX_VALUE,
  TOPIC_CONFIG_NAMES,
  alterTopicConfigs,
  describeTopicConfigs,
  resolveTopicConfig,
  toLogConfig,
  validateTopicConfig,
  validateTopicConfigs,
} from '../../src/storage/topic-config.js';
import { DEFAULT_LOG_CONFIG, resolveLogConfig } from '../../src/storage/log-config.js';
import {
  DEFAULT_MAX_PARTITIONS_PER_TOPIC,
  TOPICS_DIR_NAME,
  TopicStore,
  topicIdToBytes,
  validateTopicName,
} from '../../src/storage/topic-store.js';

const opened: DataDir[] = [];
const tempDirs: string[] = [];

afterEach(() => {
  for (const dataDir of opened.splice(0)) dataDir.close();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function newDataDirPath(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-topic-store-'));
  tempDirs.push(dir);
  return dir;
}

function openDataDir(dir: string): DataDir {
  const dataDir = DataDir.open(dir);
  opened.push(dataDir);
  return dataDir;
}

function openStore(dir = newDataDirPath(), options?: Parameters<typeof TopicStore.open>[1]): TopicStore {
  return TopicStore.open(openDataDir(dir), options);
}

/** Closes the data directory of `dir` opened by this test and opens it again: a broker restart. */
function reopen(dir: string): TopicStore {
  for (const dataDir of opened.splice(0)) dataDir.close();
  return openStore(dir);
}

function topicsDir(dir: string): string {
  return path.join(fs.realpathSync(dir), META_DIR_NAME, TOPICS_DIR_NAME);
}

function topicFile(dir: string, name: string): string {
  return path.join(topicsDir(dir), `${name}.json`);
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('topic names (Kafka rules)', () => {
  it.each(['orders', 'a', 'my-topic.v2_final', '__consumer_offsets', 'x'.repeat(249), '...', '-'])(
    'accepts %s',
    (name) => expect(() => validateTopicName(name)).not.toThrow(),
  );

  it.each([
    ['', 'empty'],
    ['.', 'reserved'],
    ['..', 'reserved'],
    ['x'.repeat(250), '250 characters long; the limit is 249'],
    ['has space', "only ASCII letters, digits, '.', '_' and '-'"],
    ['a/b', "only ASCII letters, digits, '.', '_' and '-'"],
    ['ünïcode', "only ASCII letters, digits, '.', '_' and '-'"],
  ])('rejects "%s" naming the rule', (name, rule) => {
    const err = thrown(() => validateTopicName(name));
    expect(err).toBeInstanceOf(InvalidTopicError);
    expect(err.message).toContain(rule);
  });
});

describe('TopicStore', () => {
  it('creates topics that survive a restart, with id, partition count, configs and creation time', () => {
    const dir = newDataDirPath();
    const store = openStore(dir);
    const before = Date.now();
    const orders = store.create('orders', { partitions: 3, configs: { 'retention.ms': 3_600_000, 'cleanup.policy': 'compact' } });
    expect(orders).toMatchObject({
      name: 'orders',
      partitionCount: 3,
      configs: { 'cleanup.policy': 'compact', 'retention.ms': '3600000' },
      internal: false,
    });
    expect(orders.createdAtMs).toBeGreaterThanOrEqual(before);
    expect(store.create('audit').partitionCount).toBe(1); // Kafka's num.partitions default

    const reopened = reopen(dir);
    expect(reopened.get('orders')).toEqual(orders);
    expect(reopened.list().map((t) => t.name)).toEqual(['audit', 'orders']);
    expect(reopened.has('orders')).toBe(true);
    expect(reopened.has('missing')).toBe(false);
  });

  it('keeps one JSON file per topic under __sluice_meta/topics, and no temporary files', () => {
    const dir = newDataDirPath();
    const store = openStore(dir);
    const topic = store.create('orders', { partitions: 2 });
    store.addPartitions('orders', 4);
    store.alterConfigs('orders', { 'segment.ms': '60000' });
    expect(fs.readdirSync(topicsDir(dir))).toEqual(['orders.json']);
    expect(JSON.parse(fs.readFileSync(topicFile(dir, 'orders'), 'utf8'))).toEqual({
      version: 1,
      name: 'orders',
      topicId: topic.topicId,
      partitionCount: 4,
      configs: { 'segment.ms': '60000' },
      createdAtMs: topic.createdAtMs,
      internal: false,
    });
  });

  it('stores a topic with a name of the maximum length (249 characters)', () => {
    const dir = newDataDirPath();
    const name = 't'.repeat(249);
    openStore(dir).create(name);
    expect(reopen(dir).get(name).name).toBe(name);
  });

  it('gives every topic a Kafka topic id: 16 random bytes (UUID v4) as 22 base64url characters', () => {
    const store = openStore();
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const { topicId } = store.create(`t${i}`);
      expect(topicId).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      const bytes = topicIdToBytes(topicId);
      expect(bytes).toHaveLength(16);
      expect(bytes[6] >> 4).toBe(4);
      expect(bytes[8] >> 6).toBe(2);
      expect(bytes.toString('base64url')).toBe(topicId);
      ids.add(topicId);
    }
    expect(ids.size).toBe(50);
    expect(() => topicIdToBytes('not-an-id')).toThrow(InvalidTopicError);
  });

  it('refuses a topic that exists, and one that collides with another by "." versus "_"', () => {
    const store = openStore();
    store.create('a.b');
    expect(() => store.create('a.b')).toThrow(TopicExistsError);
    const err = thrown(() => store.create('a_b'));
    expect(err).toBeInstanceOf(InvalidTopicError);
    expect(err.message).toContain('collides with existing topic "a.b"');
    store.delete('a.b');
    expect(store.create('a_b').name).toBe('a_b');
  });

  it('refuses invalid names before touching the disk', () => {
    const dir = newDataDirPath();
    const store = openStore(dir);
    expect(() => store.create('..')).toThrow(InvalidTopicError);
    expect(() => store.create('a/b')).toThrow(InvalidTopicError);
    expect(fs.readdirSync(topicsDir(dir))).toEqual([]);
  });

  it('reserves the internal topics for the broker', () => {
    const store = openStore();
    expect(thrown(() => store.create('__consumer_offsets')).message).toContain('internal');
    expect(() => store.create('__transaction_state')).toThrow(InvalidTopicError);
    expect(() => store.create('orders', { internal: true })).toThrow(InvalidTopicError);
    const offsets = store.create('__consumer_offsets', { partitions: 50, internal: true });
    expect(offsets.internal).toBe(true);
    expect(store.get('__consumer_offsets').internal).toBe(true);
  });

  it.each([0, -1, 1.5, Number.NaN, 9])('refuses a partition count of %s', (partitions) => {
    const store = openStore(undefined, { maxPartitionsPerTopic: 8 });
    const err = thrown(() => store.create('orders', { partitions }));
    expect(err).toBeInstanceOf(InvalidPartitionsError);
    expect(err.message).toContain('from 1 to 8');
    expect(store.has('orders')).toBe(false);
  });

  it('refuses a partition count that is not a number', () => {
    const store = openStore();
    expect(() => store.create('orders', { partitions: '3' as unknown as number })).toThrow(InvalidPartitionsError);
  });

  it('bounds the partition count by default, and validates the bound', () => {
    const store = openStore();
    expect(store.create('big', { partitions: DEFAULT_MAX_PARTITIONS_PER_TOPIC }).partitionCount).toBe(DEFAULT_MAX_PARTITIONS_PER_TOPIC);
    expect(() => store.create('bigger', { partitions: DEFAULT_MAX_PARTITIONS_PER_TOPIC + 1 })).toThrow(InvalidPartitionsError);
    expect(() => openStore(undefined, { maxPartitionsPerTopic: 0 })).toThrow(InvalidPartitionsError);
  });

  it('adds partitions but never removes them', () => {
    const dir = newDataDirPath();
    const store = openStore(dir, { maxPartitionsPerTopic: 16 });
    const created = store.create('orders', { partitions: 3 });
    const grown = store.addPartitions('orders', 5);
    expect(grown).toEqual({ ...created, partitionCount: 5 });

    for (const count of [5, 2]) {
      const err = thrown(() => store.addPartitions('orders', count));
      expect(err).toBeInstanceOf(InvalidPartitionsError);
      expect(err.message).toContain('has 5 partition(s); the new count must be greater than 5');
    }
    expect(() => store.addPartitions('orders', 17)).toThrow(InvalidPartitionsError);
    expect(() => store.addPartitions('missing', 4)).toThrow(TopicNotFoundError);
    expect(reopen(dir).get('orders').partitionCount).toBe(5);
  });

  it('alters configs incrementally: a value sets, null reverts to the default', () => {
    const dir = newDataDirPath();
    const store = openStore(dir);
    store.create('orders', { configs: { 'retention.ms': '1000', 'segment.ms': '5000' } });
    const altered = store.alterConfigs('orders', { 'retention.ms': null, 'max.message.bytes': 2_000_000 });
    expect(altered.configs).toEqual({ 'max.message.bytes': '2000000', 'segment.ms': '5000' });
    expect(reopen(dir).get('orders').configs).toEqual(altered.configs);
  });

  it('changes nothing when a config change is invalid', () => {
    const dir = newDataDirPath();
    const store = openStore(dir);
    const topic = store.create('orders', { configs: { 'segment.ms': '5000' } });
    const onDisk = fs.readFileSync(topicFile(dir, 'orders'), 'utf8');
    expect(() => store.alterConfigs('orders', { 'segment.ms': '6000', 'retention.ms': '-2' })).toThrow(InvalidConfigError);
    expect(() => store.alterConfigs('orders', { 'no.such.config': null })).toThrow(InvalidConfigError);
    expect(store.get('orders')).toEqual(topic);
    expect(fs.readFileSync(topicFile(dir, 'orders'), 'utf8')).toBe(onDisk);
  });

  it('refuses invalid configs at creation, creating nothing', () => {
    const dir = newDataDirPath();
    const store = openStore(dir);
    expect(() => store.create('orders', { configs: { 'segment.bytes': '100' } })).toThrow(InvalidConfigError);
    expect(store.has('orders')).toBe(false);
    expect(fs.readdirSync(topicsDir(dir))).toEqual([]);
  });

  it('deletes topics, and a topic created again under the same name gets a new id', () => {
    const dir = newDataDirPath();
    const store = openStore(dir);
    const first = store.create('orders');
    expect(store.delete('orders')).toEqual(first);
    expect(() => store.get('orders')).toThrow(TopicNotFoundError);
    expect(() => store.delete('orders')).toThrow(TopicNotFoundError);
    expect(fs.existsSync(topicFile(dir, 'orders'))).toBe(false);
    const second = store.create('orders');
    expect(second.topicId).not.toBe(first.topicId);
    expect(reopen(dir).get('orders').topicId).toBe(second.topicId);
  });

  it('removes the temporary file of a change interrupted by a crash, keeping the previous metadata', () => {
    const dir = newDataDirPath();
    const topic = openStore(dir).create('orders', { partitions: 2 });
    fs.writeFileSync(path.join(topicsDir(dir), '.12345-1.tmp'), '{"half written');
    const store = reopen(dir);
    expect(store.get('orders')).toEqual(topic);
    expect(fs.readdirSync(topicsDir(dir))).toEqual(['orders.json']);
  });

  it('keeps a topic whose name looks like a temporary file', () => {
    const dir = newDataDirPath();
    openStore(dir).create('.1-1.tmp');
    expect(reopen(dir).has('.1-1.tmp')).toBe(true);
  });

  it('is unusable once closed, or once its data directory is closed', () => {
    const store = openStore();
    store.close();
    expect(() => store.list()).toThrow(ClosedError);
    const dataDir = DataDir.open(newDataDirPath());
    const other = TopicStore.open(dataDir);
    dataDir.close();
    expect(() => other.create('orders')).toThrow(ClosedError);
    expect(() => TopicStore.open(dataDir)).toThrow(ClosedError);
  });

  describe('a damaged topic file is a CorruptFileError naming the file and the fix', () => {
    const valid = {
      version: 1,
      name: 'orders',
      topicId: 'AAAAAAAAQACAAAAAAAAAAA',
      partitionCount: 3,
      configs: {},
      createdAtMs: 1_700_000_000_000,
      internal: false,
    };

    it.each([
      ['bad JSON', '{"version": 1,', 'not valid JSON'],
      ['an array', '[]', 'not a JSON object'],
      ['a newer version', JSON.stringify({ ...valid, version: 2 }), 'version is 2'],
      ['another name', JSON.stringify({ ...valid, name: 'payments' }), 'names topic "payments"'],
      ['a bad topic id', JSON.stringify({ ...valid, topicId: 42 }), '"topicId"'],
      ['no partition count', JSON.stringify({ ...valid, partitionCount: undefined }), '"partitionCount"'],
      ['zero partitions', JSON.stringify({ ...valid, partitionCount: 0 }), '"partitionCount"'],
      ['a string creation time', JSON.stringify({ ...valid, createdAtMs: 'yesterday' }), '"createdAtMs"'],
      ['a wrong internal flag', JSON.stringify({ ...valid, internal: true }), '"internal"'],
      ['configs that are not an object', JSON.stringify({ ...valid, configs: 'none' }), '"configs"'],
      ['a numeric config value', JSON.stringify({ ...valid, configs: { 'retention.ms': 5 } }), 'configs are invalid'],
      ['an invalid config', JSON.stringify({ ...valid, configs: { 'segment.bytes': '1' } }), 'segment.bytes'],
    ])('%s', (_, content, problem) => {
      const dir = newDataDirPath();
      openStore(dir).create('orders');
      fs.writeFileSync(topicFile(dir, 'orders'), content);
      for (const dataDir of opened.splice(0)) dataDir.close();
      const dataDir = openDataDir(dir);
      const err = thrown(() => TopicStore.open(dataDir));
      expect(err).toBeInstanceOf(CorruptFileError);
      expect(err.message).toContain(topicFile(dir, 'orders'));
      expect(err.message).toContain(problem);
      expect(err.message).toContain('restore it from a backup, or delete it');
    });

    it('a file whose name is not a topic name', () => {
      const dir = newDataDirPath();
      openStore(dir);
      fs.writeFileSync(path.join(topicsDir(dir), 'bad name.json'), JSON.stringify({ ...valid, name: 'bad name' }));
      for (const dataDir of opened.splice(0)) dataDir.close();
      expect(() => TopicStore.open(openDataDir(dir))).toThrow(CorruptFileError);
    });

    it('the valid file it was derived from loads', () => {
      const dir = newDataDirPath();
      openStore(dir);
      fs.writeFileSync(topicFile(dir, 'orders'), JSON.stringify(valid));
      const { version: _, ...metadata } = valid;
      expect(reopen(dir).get('orders')).toEqual(metadata);
    });
  });
});

describe('topic configs', () => {
  it('resolves to Kafka broker defaults, in camelCase with units', () => {
    expect(resolveTopicConfig({})).toEqual({
      cleanupDelete: true,
      cleanupCompact: false,
      compressionType: 'producer',
      deleteRetentionMs: 86_400_000,
      flushMessages: null,
      flushMs: null,
      indexIntervalBytes: 4096,
      maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
      maxMessageBytes: 1_048_588,
      messageTimestampAfterMaxMs: Number.MAX_SAFE_INTEGER,
      messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
      messageTimestampType: 'CreateTime',
      minCleanableDirtyRatio: 0.5,
      minCompactionLagMs: 0,
      minInsyncReplicas: 1,
      retentionBytes: -1,
      retentionMs: 604_800_000,
      segmentBytes: 1_073_741_824,
      segmentIndexBytes: 10_485_760,
      segmentMs: 604_800_000,
    });
  });

  it('takes the deprecated message.timestamp.difference.max.ms where before/after are left at their default, as Kafka does', () => {
    const difference = resolveTopicConfig(validateTopicConfigs({ 'message.timestamp.difference.max.ms': '5000' }));
    expect(difference).toMatchObject({ messageTimestampBeforeMaxMs: 5000, messageTimestampAfterMaxMs: 5000 });
    const mixed = resolveTopicConfig(
      validateTopicConfigs({ 'message.timestamp.difference.max.ms': '5000', 'message.timestamp.after.max.ms': '10' }),
    );
    expect(mixed).toMatchObject({ messageTimestampBeforeMaxMs: 5000, messageTimestampAfterMaxMs: 10 });
  });

  it('resolves overrides', () => {
    const resolved = resolveTopicConfig(
      validateTopicConfigs({
        'cleanup.policy': 'compact,delete',
        'compression.type': 'lz4',
        'flush.messages': 1,
        'flush.ms': '0',
        'message.timestamp.type': 'LogAppendTime',
        'min.cleanable.dirty.ratio': '0.25',
        'retention.bytes': '1073741824',
        'segment.bytes': 1048576,
      }),
    );
    expect(resolved).toMatchObject({
      cleanupDelete: true,
      cleanupCompact: true,
      compressionType: 'lz4',
      flushMessages: 1,
      flushMs: 0,
      messageTimestampType: 'LogAppendTime',
      minCleanableDirtyRatio: 0.25,
      retentionBytes: 1_073_741_824,
      segmentBytes: 1_048_576,
    });
  });

  it('accepts strings (wire, CLI) and numbers (API) alike, in canonical form', () => {
    expect(validateTopicConfig('retention.ms', 86_400_000)).toBe('86400000');
    expect(validateTopicConfig('retention.ms', ' 86400000 ')).toBe('86400000');
    expect(validateTopicConfig('retention.ms', '+0086400000')).toBe('86400000');
    expect(validateTopicConfig('min.cleanable.dirty.ratio', '.5')).toBe('0.5');
    expect(validateTopicConfig('cleanup.policy', ' compact , delete ,compact')).toBe('compact,delete');
    expect(validateTopicConfigs({ 'segment.ms': 1, 'flush.ms': 2 })).toEqual({ 'flush.ms': '2', 'segment.ms': '1' });
  });

  it.each([
    ['segment.bytes', 1_048_576, '1048576'],
    ['segment.bytes', '2147483647', '2147483647'],
    ['retention.ms', -1, '-1'],
    ['retention.ms', LONG_MAX_VALUE, LONG_MAX_VALUE],
    ['retention.bytes', '-9223372036854775808', '-9223372036854775808'],
    ['max.message.bytes', 0, '0'],
    ['index.interval.bytes', 0, '0'],
    ['segment.index.bytes', 4, '4'],
    ['segment.ms', 1, '1'],
    ['flush.messages', 1, '1'],
    ['flush.ms', 0, '0'],
    ['min.insync.replicas', 1, '1'],
    ['delete.retention.ms', 0, '0'],
    ['max.compaction.lag.ms', 1, '1'],
    ['min.cleanable.dirty.ratio', 1, '1'],
    ['min.cleanable.dirty.ratio', '0', '0'],
  ])('accepts %s = %s at the edge of its range', (name, value, canonical) => {
    expect(validateTopicConfig(name, value)).toBe(canonical);
  });

  it.each([
    ['segment.bytes', 1_048_575, 'must be an integer from 1048576 to 2147483647 (bytes)'],
    ['segment.bytes', '2147483648', 'must be an integer from 1048576 to 2147483647 (bytes)'],
    ['retention.ms', -2, 'must be an integer from -1 to 9223372036854775807 (ms)'],
    ['retention.ms', '9223372036854775808', 'must be an integer from -1 to 9223372036854775807 (ms)'],
    ['retention.ms', 2 ** 53, 'pass integers beyond 9007199254740991 as strings'],
    ['retention.ms', '1.5', 'must be an integer'],
    ['retention.ms', '1e3', 'must be an integer'],
    ['retention.ms', '', 'must be an integer'],
    ['retention.ms', 'forever', 'must be an integer'],
    ['segment.index.bytes', 3, 'from 4 to'],
    ['segment.ms', 0, 'from 1 to'],
    ['flush.messages', 0, 'from 1 to'],
    ['max.compaction.lag.ms', 0, 'from 1 to'],
    ['min.insync.replicas', 0, 'from 1 to 2147483647 (replicas)'],
    ['max.message.bytes', -1, 'from 0 to'],
    ['min.cleanable.dirty.ratio', 1.5, 'must be a number from 0 to 1'],
    ['min.cleanable.dirty.ratio', 'NaN', 'must be a number from 0 to 1'],
    ['cleanup.policy', 'none', 'must be one of delete, compact'],
    ['cleanup.policy', '', 'must be one of delete, compact'],
    ['cleanup.policy', 'delete,', 'must be one of delete, compact'],
    ['cleanup.policy', 1, 'must be a string'],
    ['compression.type', 'LZ4', 'must be one of producer, uncompressed, gzip, snappy, lz4, zstd'],
    ['compression.type', 'none', 'a topic says "uncompressed" where a producer says "none"'],
    ['message.timestamp.type', 'logappendtime', 'must be one of CreateTime, LogAppendTime'],
  ])('rejects %s = %s, naming the config, the value and the allowed range', (name, value, expected) => {
    const err = thrown(() => validateTopicConfig(name, value));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toContain(`for topic config ${name}: `);
    expect(err.message).toContain(typeof value === 'string' ? `"${value}"` : String(value));
    expect(err.message).toContain(expected);
  });

  it('rejects unknown config names, listing the known ones', () => {
    const err = thrown(() => validateTopicConfigs({ 'retention.hours': '1' }));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toContain('unknown topic config "retention.hours"');
    expect(err.message).toContain('retention.ms');
    expect(() => validateTopicConfigs(JSON.parse('{"__proto__": "1"}') as Record<string, string>)).toThrow(
      'unknown topic config "__proto__"',
    );
  });

  it('rejects values of other types and inputs that are not objects', () => {
    expect(() => validateTopicConfig('retention.ms', true as unknown as string)).toThrow('expected a string or a number');
    expect(() => validateTopicConfig('retention.ms', null as unknown as string)).toThrow('got null');
    expect(() => validateTopicConfigs(null as unknown as Record<string, string>)).toThrow(InvalidConfigError);
    expect(() => validateTopicConfigs(['a'] as unknown as Record<string, string>)).toThrow(InvalidConfigError);
  });

  it('checks min.compaction.lag.ms <= max.compaction.lag.ms, as Kafka does', () => {
    expect(() => validateTopicConfigs({ 'min.compaction.lag.ms': 10, 'max.compaction.lag.ms': 5 })).toThrow(
      'min.compaction.lag.ms (10) is greater than max.compaction.lag.ms (5)',
    );
    const overrides = validateTopicConfigs({ 'min.compaction.lag.ms': 10 });
    expect(() => alterTopicConfigs(overrides, { 'max.compaction.lag.ms': 5 })).toThrow(InvalidConfigError);
    expect(alterTopicConfigs(overrides, { 'max.compaction.lag.ms': 10 })).toEqual({
      'max.compaction.lag.ms': '10',
      'min.compaction.lag.ms': '10',
    });
  });

  it('resolves longs beyond 2^53 to the log\'s sentinels: null flush, -1 retention, MAX_SAFE_INTEGER otherwise', () => {
    const beyond = '9007199254740992'; // 2^53
    const resolved = resolveTopicConfig(
      validateTopicConfigs({
        'flush.messages': beyond,
        'flush.ms': LONG_MAX_VALUE,
        'retention.ms': beyond,
        'retention.bytes': LONG_MAX_VALUE,
        'segment.ms': LONG_MAX_VALUE,
        'delete.retention.ms': beyond,
      }),
    );
    expect(resolved).toMatchObject({
      flushMessages: null,
      flushMs: null,
      retentionMs: -1,
      retentionBytes: -1,
      segmentMs: Number.MAX_SAFE_INTEGER,
      deleteRetentionMs: Number.MAX_SAFE_INTEGER,
    });
    const largestSafe = String(Number.MAX_SAFE_INTEGER);
    expect(
      resolveTopicConfig(validateTopicConfigs({ 'flush.ms': largestSafe, 'retention.ms': largestSafe })),
    ).toMatchObject({ flushMs: Number.MAX_SAFE_INTEGER, retentionMs: Number.MAX_SAFE_INTEGER });
    expect(resolveTopicConfig(validateTopicConfigs({ 'retention.bytes': '-5' })).retentionBytes).toBe(-1);
  });

  it('configures a partition log: toLogConfig gives what resolveLogConfig accepts', () => {
    expect(toLogConfig(resolveTopicConfig({}))).toEqual(DEFAULT_LOG_CONFIG);
    const overrides = validateTopicConfigs({
      'segment.bytes': '1048576',
      'segment.ms': '60000',
      'segment.index.bytes': '4096',
      'index.interval.bytes': '1024',
      'retention.ms': '-1',
      'retention.bytes': '1073741824',
      'flush.messages': '1',
      'flush.ms': '1000',
      'max.message.bytes': '65536',
      'message.timestamp.type': 'LogAppendTime',
      'cleanup.policy': 'compact,delete',
      'delete.retention.ms': '5000',
      'min.compaction.lag.ms': '10',
      'max.compaction.lag.ms': '20',
      'min.cleanable.dirty.ratio': '0.1',
      'compression.type': 'zstd',
      'message.timestamp.before.max.ms': '3600000',
      'message.timestamp.after.max.ms': '60000',
    });
    const logConfig = toLogConfig(resolveTopicConfig(overrides));
    expect(resolveLogConfig(logConfig)).toEqual(logConfig);
    expect(logConfig).toEqual({
      segmentBytes: 1_048_576,
      segmentMs: 60_000,
      segmentIndexBytes: 4096,
      indexIntervalBytes: 1024,
      retentionMs: -1,
      retentionBytes: 1_073_741_824,
      flushMessages: 1,
      flushMs: 1000,
      maxMessageBytes: 65_536,
      messageTimestampType: 'LogAppendTime',
      messageTimestampBeforeMaxMs: 3_600_000,
      messageTimestampAfterMaxMs: 60_000,
      cleanupCompact: true,
      deleteRetentionMs: 5000,
      minCompactionLagMs: 10,
      maxCompactionLagMs: 20,
      minCleanableDirtyRatio: 0.1,
      compressionType: 'zstd',
    });
    const never = toLogConfig(resolveTopicConfig(validateTopicConfigs({ 'segment.ms': LONG_MAX_VALUE, 'retention.ms': LONG_MAX_VALUE })));
    expect(resolveLogConfig(never)).toEqual(never);
  });

  it('describes every config with its value as a string, whether it is a default, and its source', () => {
    const entries = describeTopicConfigs(validateTopicConfigs({ 'retention.ms': 1000 }));
    expect(entries.map((e) => e.name)).toEqual(TOPIC_CONFIG_NAMES);
    expect(entries.find((e) => e.name === 'retention.ms')).toEqual({
      name: 'retention.ms',
      value: '1000',
      isDefault: false,
      source: 'TOPIC_CONFIG',
      type: 'LONG',
      readOnly: false,
      sensitive: false,
    });
    expect(entries.find((e) => e.name === 'flush.ms')).toMatchObject({
      value: LONG_MAX_VALUE,
      isDefault: true,
      source: 'DEFAULT_CONFIG',
    });
    expect(entries.find((e) => e.name === 'cleanup.policy')).toMatchObject({ value: 'delete', type: 'LIST' });
    expect(entries.find((e) => e.name === 'segment.bytes')).toMatchObject({ value: '1073741824', type: 'INT' });
  });
});
