/**
 * Every API schema Sluice serves, checked against Apache Kafka's message definitions: the facts
 * of clients/src/main/resources/common/message/*.json at Kafka 3.9, kept in
 * test/fixtures/kafka-messages-3.9.json (regenerate with scripts/derive-kafka-messages.mjs).
 *
 * For each served version: the message name, that the version exists in Kafka, the first flexible
 * version, and field by field, recursively, in wire order: name, type, nullability, tag and
 * default. A mistyped version range then fails here even where no client happens to use it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AnyApi } from '../../../src/protocol/api/api.js';
import { APIS } from '../../../src/protocol/api/registry.js';
import { FieldDef, inVersions, parseVersions, type StructSchema } from '../../../src/protocol/wire/schema.js';

interface KafkaField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  fields?: KafkaField[];
}

interface KafkaMessage {
  name: string;
  type: 'request' | 'response';
  apiKey: number;
  validVersions: string;
  flexibleVersions: string;
  fields: KafkaField[];
}

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/kafka-messages-3.9.json', import.meta.url), 'utf8')) as {
  messages: KafkaMessage[];
};
/**
 * Messages served past Kafka 3.9, checked against the later definition instead (derived the same
 * way): ConsumerGroupHeartbeat v1, the only version librdkafka's group.protocol=consumer sends.
 */
const later = JSON.parse(readFileSync(new URL('../../fixtures/kafka-messages-consumer-group-heartbeat-v1.json', import.meta.url), 'utf8')) as {
  messages: KafkaMessage[];
};

/**
 * Fields Kafka renamed after Sluice transcribed them, by Kafka 3.9 path -> Sluice name. Names are
 * not on the wire; everything else about these fields is still compared.
 */
const RENAMED: Record<string, string> = {
  'OffsetCommitRequest.generationIdOrMemberEpoch': 'generationId',
  'AddPartitionsToTxnRequest.v3AndBelowTransactionalId': 'transactionalId',
  'AddPartitionsToTxnRequest.v3AndBelowProducerId': 'producerId',
  'AddPartitionsToTxnRequest.v3AndBelowProducerEpoch': 'producerEpoch',
  'AddPartitionsToTxnRequest.v3AndBelowTopics': 'topics',
  'AddPartitionsToTxnResponse.resultsByTopicV3AndBelow': 'results',
};

function kafkaMessage(apiKey: number, type: 'request' | 'response'): KafkaMessage {
  const message =
    later.messages.find((m) => m.apiKey === apiKey && m.type === type) ?? fixture.messages.find((m) => m.apiKey === apiKey && m.type === type);
  if (message === undefined) throw new Error(`Kafka 3.9 has no ${type} with API key ${apiKey}`);
  return message;
}

/** What one field looks like on the wire at one version, in the same words for both sides. */
interface WireField {
  name: string;
  /** Whether Kafka states the default (or the field is tagged, where the default decides what is sent). */
  defaultMatters: boolean;
  type: string;
  nullable: boolean;
  tag: number | null;
  default: unknown;
  fields?: WireField[];
}

const SCALARS = new Set(['int8', 'int16', 'int32', 'int64', 'bool', 'uuid', 'string', 'bytes', 'records']);

/** Kafka's default for a field: its "default" parsed by type, else the type's zero value. */
function kafkaDefault(field: KafkaField, nullable: boolean): unknown {
  const { type } = field;
  const given = field.default;
  if (type.startsWith('[]')) return 'empty array';
  if (!SCALARS.has(type)) return 'default struct';
  if (given === 'null') return null;
  switch (type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return given === undefined ? 0 : Number(given);
    case 'bool':
      return given === undefined ? false : given === true || given === 'true';
    case 'string':
      return given === undefined ? '' : String(given);
    case 'uuid':
      return 'AAAAAAAAAAAAAAAAAAAAAA';
    case 'records':
      // Kafka's generated code defaults records to null.
      return null;
    default:
      return nullable && given === 'null' ? null : 'empty bytes';
  }
}

function kafkaWire(fields: readonly KafkaField[], version: number, flexible: boolean, path: string): WireField[] {
  const wire: WireField[] = [];
  for (const field of fields) {
    if (!inVersions(parseVersions(field.versions), version)) continue;
    const tagged = field.taggedVersions !== undefined && inVersions(parseVersions(field.taggedVersions), version);
    if (tagged && !flexible) continue;
    const nullable = field.nullableVersions !== undefined && inVersions(parseVersions(field.nullableVersions), version);
    const element = field.type.startsWith('[]') ? field.type.slice(2) : field.type;
    const isStruct = !SCALARS.has(element);
    const name = field.name.charAt(0).toLowerCase() + field.name.slice(1);
    wire.push({
      name: RENAMED[`${path}.${name}`] ?? name,
      defaultMatters: field.default !== undefined || tagged,
      type: field.type.startsWith('[]') ? (isStruct ? 'array of struct' : `array of ${element}`) : isStruct ? 'struct' : field.type,
      nullable,
      tag: tagged ? (field.tag as number) : null,
      default: kafkaDefault(field, nullable),
      ...(isStruct ? { fields: kafkaWire(field.fields ?? [], version, flexible, `${path}.${name}`) } : {}),
    });
  }
  return wire;
}

function sluiceDefault(def: FieldDef<unknown, unknown, boolean>): unknown {
  const value = def.makeDefault();
  if (def.kind === 'array') return 'empty array';
  if (def.kind === 'struct') return 'default struct';
  if (Buffer.isBuffer(value)) return value.length === 0 ? 'empty bytes' : value;
  return value;
}

function sluiceWire(schema: StructSchema, version: number, flexible: boolean): WireField[] {
  const wire: WireField[] = [];
  for (const [name, def] of Object.entries(schema)) {
    if (!inVersions(def.versions, version)) continue;
    if (def.tag !== undefined && !flexible) continue;
    const nested = def.fields;
    let type: string = def.kind;
    if (def.kind === 'array') type = nested !== undefined ? 'array of struct' : `array of ${def.element!.kind}`;
    wire.push({
      name,
      defaultMatters: true,
      type,
      nullable: inVersions(def.nullableVersions, version),
      tag: def.tag ?? null,
      default: sluiceDefault(def),
      ...(nested !== undefined ? { fields: sluiceWire(nested, version, flexible) } : {}),
    });
  }
  return wire;
}

/** Tagged fields travel in tag order after the rest, whatever the declaration order. */
function sortTagged(wire: WireField[]): WireField[] {
  return [...wire.filter((f) => f.tag === null), ...wire.filter((f) => f.tag !== null).sort((a, b) => a.tag! - b.tag!)].map((f) =>
    f.fields === undefined ? f : { ...f, fields: sortTagged(f.fields) },
  );
}

/**
 * One line per field, nested ones under their parent's path: a failure shows just the lines that
 * differ. The default is shown where Kafka states one or the field is tagged (`reference` is
 * Kafka's side): elsewhere Kafka leaves it to the type, and Sluice may read an absent nullable
 * field as null rather than "", which changes nothing on the wire.
 */
function lines(wire: WireField[], reference: WireField[], path = ''): string[] {
  return wire.flatMap((f, i) => {
    const showDefault = reference[i]?.defaultMatters ?? true;
    return [
      `${path}${f.name}: ${f.type}${f.nullable ? ', nullable' : ''}${f.tag === null ? '' : `, tag ${f.tag}`}` +
        (showDefault ? `, default ${JSON.stringify(f.default)}` : ''),
      ...(f.fields === undefined ? [] : lines(f.fields, reference[i]?.fields ?? [], `${path}${f.name}.`)),
    ];
  });
}

function servedVersions(api: AnyApi): number[] {
  return Array.from({ length: api.maxVersion - api.minVersion + 1 }, (_, i) => api.minVersion + i);
}

describe.each(APIS.map((api) => [api.name, api] as const))('%s', (_name, api) => {
  for (const type of ['request', 'response'] as const) {
    it(`${type}: name, versions and every field of every served version match Kafka 3.9`, () => {
      const kafka = kafkaMessage(api.apiKey, type);
      expect(kafka.name).toBe(`${api.name}${type === 'request' ? 'Request' : 'Response'}`);
      const valid = parseVersions(kafka.validVersions);
      expect(api.minVersion, 'lowest served version').toBeGreaterThanOrEqual(valid.min);
      expect(api.maxVersion, 'highest served version').toBeLessThanOrEqual(valid.max);
      const flexible = parseVersions(kafka.flexibleVersions);
      expect(api.firstFlexibleVersion, 'first flexible version').toBe(kafka.flexibleVersions === 'none' ? null : flexible.min);
      const schema = type === 'request' ? api.requestSchema : api.responseSchema;
      for (const version of servedVersions(api)) {
        const isFlexible = inVersions(flexible, version);
        const expected = sortTagged(kafkaWire(kafka.fields, version, isFlexible, kafka.name));
        expect(lines(sortTagged(sluiceWire(schema, version, isFlexible)), expected), `${kafka.name} v${version}`).toEqual(
          lines(expected, expected),
        );
      }
    });
  }
});
