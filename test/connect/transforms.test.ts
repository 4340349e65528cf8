/** The built-in single message transforms, configured through Kafka's transforms.* settings. */
import { describe, expect, it } from 'vitest';
import { Schemas, sourceRecord, structSchema, type SinkRecord } from '../../src/connect/index.js';
import { Plugins } from '../../src/connect/plugins.js';
import { buildTransformChain } from '../../src/connect/transforms.js';

const plugins = new Plugins();
const chainOf = (config: Record<string, string>) =>
  buildTransformChain(
    config,
    (className) => plugins.newTransformation(className),
    (className) => plugins.newPredicate(className),
  );

const row = structSchema([
  { name: 'id', schema: Schemas.INT32 },
  { name: 'email', schema: Schemas.STRING },
  { name: 'score', schema: Schemas.FLOAT64 },
]);

function sinkRecord(fields: Partial<SinkRecord>): SinkRecord {
  return {
    topic: 'orders',
    kafkaPartition: 3,
    kafkaOffset: 42,
    keySchema: null,
    key: null,
    valueSchema: null,
    value: null,
    timestamp: Date.UTC(2024, 1, 29, 13, 5, 9, 7),
    timestampType: 'CreateTime',
    headers: [],
    originalTopic: 'orders',
    originalKafkaPartition: 3,
    originalKafkaOffset: 42,
    ...fields,
  };
}

describe('InsertField', () => {
  it('adds topic, partition, offset, timestamp and a static field to a struct value, extending its schema', () => {
    const chain = chainOf({
      transforms: 'insert',
      'transforms.insert.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
      'transforms.insert.topic.field': 'topic!',
      'transforms.insert.partition.field': 'partition',
      'transforms.insert.offset.field': 'offset',
      'transforms.insert.timestamp.field': 'ts',
      'transforms.insert.static.field': 'origin',
      'transforms.insert.static.value': 'connect',
    });
    const out = chain.apply(sinkRecord({ valueSchema: row, value: { id: 1, email: 'a@b.c', score: 0.5 } }))!;
    expect(out.value).toEqual({ id: 1, email: 'a@b.c', score: 0.5, topic: 'orders', partition: 3, offset: 42, ts: Date.UTC(2024, 1, 29, 13, 5, 9, 7), origin: 'connect' });
    expect(out.valueSchema!.fields!.map((field) => [field.name, field.schema.type, field.schema.optional])).toEqual([
      ['id', 'int32', false],
      ['email', 'string', false],
      ['score', 'float64', false],
      ['topic', 'string', false],
      ['partition', 'int32', true],
      ['offset', 'int64', true],
      ['ts', 'int64', true],
      ['origin', 'string', true],
    ]);
  });

  it('adds to a schemaless map key, and refuses a value that is neither struct nor map', () => {
    const keyChain = chainOf({ transforms: 'k', 'transforms.k.type': 'InsertField$Key', 'transforms.k.static.field': 'region', 'transforms.k.static.value': 'eu' });
    expect(keyChain.apply(sinkRecord({ key: { id: 7 } }))!.key).toEqual({ id: 7, region: 'eu' });
    const valueChain = chainOf({ transforms: 'v', 'transforms.v.type': 'InsertField$Value', 'transforms.v.topic.field': 't' });
    expect(() => valueChain.apply(sinkRecord({ value: 'a string' }))).toThrow('Only Map objects supported in absence of schema for [field insertion], found: string');
  });
});

describe('ReplaceField and MaskField', () => {
  it('ReplaceField excludes, includes and renames fields of structs and maps', () => {
    const chain = chainOf({ transforms: 'r', 'transforms.r.type': 'ReplaceField$Value', 'transforms.r.exclude': 'score', 'transforms.r.renames': 'email:mail' });
    const out = chain.apply(sinkRecord({ valueSchema: row, value: { id: 1, email: 'a@b.c', score: 0.5 } }))!;
    expect(out.value).toEqual({ id: 1, mail: 'a@b.c' });
    expect(out.valueSchema!.fields!.map((field) => field.name)).toEqual(['id', 'mail']);
    const include = chainOf({ transforms: 'r', 'transforms.r.type': 'ReplaceField$Key', 'transforms.r.include': 'id' });
    expect(include.apply(sinkRecord({ key: { id: 1, other: 2 } }))!.key).toEqual({ id: 1 });
    expect(() => chainOf({ transforms: 'r', 'transforms.r.type': 'ReplaceField$Value', 'transforms.r.renames': 'nocolon' })).toThrow(/Invalid rename mapping: nocolon/);
  });

  it('MaskField blanks fields by type, or with a replacement', () => {
    const chain = chainOf({ transforms: 'm', 'transforms.m.type': 'MaskField$Value', 'transforms.m.fields': 'email,score' });
    expect(chain.apply(sinkRecord({ valueSchema: row, value: { id: 1, email: 'a@b.c', score: 0.5 } }))!.value).toEqual({ id: 1, email: '', score: 0 });
    const replaced = chainOf({ transforms: 'm', 'transforms.m.type': 'MaskField$Value', 'transforms.m.fields': 'email', 'transforms.m.replacement': '****' });
    expect(replaced.apply(sinkRecord({ value: { email: 'a@b.c' } }))!.value).toEqual({ email: '****' });
    expect(() => chainOf({ transforms: 'm', 'transforms.m.type': 'MaskField$Value' })).toThrow(/Missing required configuration "fields"/);
  });
});

describe('routers', () => {
  it('TimestampRouter names the topic from the record timestamp in UTC', () => {
    const chain = chainOf({ transforms: 't', 'transforms.t.type': 'TimestampRouter', 'transforms.t.topic.format': '${topic}_${timestamp}', 'transforms.t.timestamp.format': "yyyy-MM-dd'T'HH" });
    expect(chain.apply(sinkRecord({}))!.topic).toBe('orders_2024-02-29T13');
    const byDefault = chainOf({ transforms: 't', 'transforms.t.type': 'org.apache.kafka.connect.transforms.TimestampRouter' });
    expect(byDefault.apply(sourceRecord({ topic: 'logs', value: 'x', timestamp: Date.UTC(2023, 11, 31, 23) }))!.topic).toBe('logs-20231231');
  });

  it('RegexRouter rewrites whole-matching topic names with group references and leaves others', () => {
    const chain = chainOf({ transforms: 'r', 'transforms.r.type': 'RegexRouter', 'transforms.r.regex': '(.*)-raw', 'transforms.r.replacement': 'clean-$1' });
    expect(chain.apply(sinkRecord({ topic: 'orders-raw' }))!.topic).toBe('clean-orders');
    expect(chain.apply(sinkRecord({ topic: 'orders-raw-2' }))!.topic).toBe('orders-raw-2');
  });

  it('applies a chain in the listed order, and names an unknown transform', () => {
    const chain = chainOf({
      transforms: 'route,stamp',
      'transforms.route.type': 'RegexRouter',
      'transforms.route.regex': 'orders',
      'transforms.route.replacement': 'sales',
      'transforms.stamp.type': 'InsertField$Value',
      'transforms.stamp.topic.field': 'topic',
    });
    expect(chain.apply(sinkRecord({ value: {} }))!.value).toEqual({ topic: 'sales' });
    expect(() => chainOf({ transforms: 'x', 'transforms.x.type': 'com.example.Nope' })).toThrow('Class com.example.Nope could not be found, or is not a Transformation');
    expect(() => chainOf({ transforms: 'x' })).toThrow('Missing required configuration "transforms.x.type" which has no default value.');
  });
});

describe('predicates (KIP-585)', () => {
  const routeWhere = (predicate: Record<string, string>, negate?: string) =>
    chainOf({
      transforms: 'route',
      'transforms.route.type': 'RegexRouter',
      'transforms.route.regex': '(.*)',
      'transforms.route.replacement': 'routed-$1',
      'transforms.route.predicate': 'only',
      ...(negate === undefined ? {} : { 'transforms.route.negate': negate }),
      predicates: 'only',
      ...Object.fromEntries(Object.entries(predicate).map(([name, value]) => [`predicates.only.${name}`, value])),
    });

  it('TopicNameMatches applies a transform only to whole-matching topics, and negate inverts it', () => {
    const chain = routeWhere({ type: 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches', pattern: 'ord.*' });
    expect(chain.apply(sinkRecord({ topic: 'orders' }))!.topic).toBe('routed-orders');
    expect(chain.apply(sinkRecord({ topic: 'xorders' }))!.topic).toBe('xorders');
    const negated = routeWhere({ type: 'TopicNameMatches', pattern: 'ord.*' }, 'true');
    expect(negated.apply(sinkRecord({ topic: 'orders' }))!.topic).toBe('orders');
    expect(negated.apply(sinkRecord({ topic: 'xorders' }))!.topic).toBe('routed-xorders');
  });

  it('HasHeaderKey and RecordIsTombstone test headers and null values', () => {
    const byHeader = routeWhere({ type: 'HasHeaderKey', name: 'trace' });
    expect(byHeader.apply(sinkRecord({ headers: [{ key: 'trace', value: 'a', schema: null }] }))!.topic).toBe('routed-orders');
    expect(byHeader.apply(sinkRecord({ headers: [{ key: 'other', value: 'a', schema: null }] }))!.topic).toBe('orders');
    const tombstones = routeWhere({ type: 'RecordIsTombstone' });
    expect(tombstones.apply(sinkRecord({ value: null }))!.topic).toBe('routed-orders');
    expect(tombstones.apply(sinkRecord({ value: 'x' }))!.topic).toBe('orders');
  });

  it('refuses negate without a predicate, predicates not listed, and bad predicate configs', () => {
    const route = { transforms: 'r', 'transforms.r.type': 'RegexRouter', 'transforms.r.regex': 'a', 'transforms.r.replacement': 'b' };
    expect(() => chainOf({ ...route, 'transforms.r.negate': 'true' })).toThrow(
      "Config 'transforms.r.negate' was provided but there is no config 'transforms.r.predicate' defining a predicate to be negated.",
    );
    expect(() => chainOf({ ...route, 'transforms.r.predicate': 'nope' })).toThrow('Invalid value nope for configuration transforms.r.predicate: the predicate is not listed in predicates');
    expect(() => routeWhere({ type: 'TopicNameMatches' })).toThrow('Missing required configuration "pattern" which has no default value.');
    expect(() => routeWhere({ type: 'TopicNameMatches', pattern: '(' })).toThrow('Invalid configuration of predicate only (TopicNameMatches)');
    expect(() => routeWhere({ type: 'com.example.Nope' })).toThrow('Class com.example.Nope could not be found, or is not a Predicate');
    expect(() => chainOf({ predicates: 'p' })).toThrow('Missing required configuration "predicates.p.type" which has no default value.');
  });
});
