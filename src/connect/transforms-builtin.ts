/**
 * Kafka Connect's common single message transforms, under Kafka's class names and config names:
 * InsertField, ReplaceField and MaskField (each $Key and $Value), TimestampRouter and RegexRouter.
 * A struct (a value with a struct schema) gets a new schema beside its new value; a schemaless
 * value must be a map (an object).
 */
import { ConnectDataError } from '../errors.js';
import type { ConnectRecord, Props, SinkRecord } from './api.js';
import { ConfigDef, nonEmptyString, validRegex } from './config-def.js';
import { optionalOf, Schemas, type Field, type Schema } from './data.js';
import type { Transformation } from './transforms.js';

const PACKAGE = 'org.apache.kafka.connect.transforms';
const TIMESTAMP_SCHEMA: Schema = Object.freeze({ type: 'int64', optional: false, name: 'org.apache.kafka.connect.data.Timestamp', version: 1 });

type Which = 'key' | 'value';

function part(record: ConnectRecord, which: Which): { schema: Schema | null; value: unknown } {
  return which === 'key' ? { schema: record.keySchema, value: record.key } : { schema: record.valueSchema, value: record.value };
}

function withPart<R extends ConnectRecord>(record: R, which: Which, schema: Schema | null, value: unknown): R {
  return which === 'key' ? { ...record, keySchema: schema, key: value } : { ...record, valueSchema: schema, value };
}

/** The fields of a struct value, or of a schemaless map, as an object; throws Kafka's message otherwise. */
function requireFields(schema: Schema | null, value: unknown, purpose: string): Record<string, unknown> {
  if (schema !== null) {
    if (schema.type !== 'struct' || value === null || typeof value !== 'object') throw new ConnectDataError(`Only Struct objects supported for [${purpose}], found: ${describe(value)}`);
    return value as Record<string, unknown>;
  }
  if (value instanceof Map) return Object.fromEntries(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new ConnectDataError(`Only Map objects supported in absence of schema for [${purpose}], found: ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function describe(value: unknown): string {
  return value === null || value === undefined ? 'null' : Buffer.isBuffer(value) ? 'bytes' : Array.isArray(value) ? 'array' : typeof value;
}

function structOf(fields: readonly { name: string; schema: Schema }[], like: Schema): Schema {
  return { ...like, fields: fields.map((field, index): Field => ({ name: field.name, index, schema: field.schema })) };
}

/** "name!" is required, "name?" or "name" optional, as InsertField's InsertionSpec. */
function insertionSpec(text: string | null): { name: string; optional: boolean } | null {
  if (text === null || text === '') return null;
  if (text.endsWith('!')) return { name: text.slice(0, -1), optional: false };
  if (text.endsWith('?')) return { name: text.slice(0, -1), optional: true };
  return { name: text, optional: true };
}

abstract class InsertField implements Transformation {
  protected abstract readonly which: Which;
  private inserts: { spec: { name: string; optional: boolean }; schema: Schema; valueOf: (record: ConnectRecord) => unknown }[] = [];

  config(): ConfigDef {
    const field = (name: string, documentation: string) => ({ name, type: 'STRING' as const, defaultValue: null, importance: 'MEDIUM' as const, documentation });
    return new ConfigDef()
      .define(field('topic.field', 'Field name for Kafka topic. Suffix with ! to make this a required field, or ? to keep it optional (the default).'))
      .define(field('partition.field', 'Field name for Kafka partition. Suffix with ! to make this a required field, or ? to keep it optional (the default).'))
      .define(field('offset.field', 'Field name for Kafka offset - only applicable to sink connectors. Suffix with ! to make this a required field, or ? to keep it optional (the default).'))
      .define(field('timestamp.field', 'Field name for record timestamp. Suffix with ! to make this a required field, or ? to keep it optional (the default).'))
      .define(field('static.field', 'Field name for static data field. Suffix with ! to make this a required field, or ? to keep it optional (the default).'))
      .define(field('static.value', 'Static field value, if field name configured.'));
  }

  configure(props: Props): void {
    const config = this.config().parse(props, 'InsertField configuration');
    const spec = (name: string) => insertionSpec(config[name] as string | null);
    const candidates = [
      { spec: spec('topic.field'), schema: Schemas.STRING, valueOf: (record: ConnectRecord) => record.topic },
      { spec: spec('partition.field'), schema: Schemas.INT32, valueOf: (record: ConnectRecord) => record.kafkaPartition },
      { spec: spec('offset.field'), schema: Schemas.INT64, valueOf: (record: ConnectRecord) => ('kafkaOffset' in record ? (record as SinkRecord).kafkaOffset : null) },
      { spec: spec('timestamp.field'), schema: TIMESTAMP_SCHEMA, valueOf: (record: ConnectRecord) => record.timestamp },
      { spec: spec('static.field'), schema: Schemas.STRING, valueOf: () => config['static.value'] },
    ];
    this.inserts = candidates.filter((candidate) => candidate.spec !== null) as typeof this.inserts;
    if (this.inserts.length === 0) throw new ConnectDataError('InsertField needs at least one of topic.field, partition.field, offset.field, timestamp.field and static.field');
  }

  apply<R extends ConnectRecord>(record: R): R {
    const { schema, value } = part(record, this.which);
    if (schema === null && (value === null || value === undefined)) return record;
    const fields = { ...requireFields(schema, value, 'field insertion') };
    for (const insert of this.inserts) {
      const inserted = insert.valueOf(record);
      if (inserted === null && !insert.spec.optional) throw new ConnectDataError(`${insert.spec.name} is required but the record has no value for it`);
      fields[insert.spec.name] = inserted;
    }
    if (schema === null) return withPart(record, this.which, null, fields);
    const newSchema = structOf(
      [...(schema.fields ?? []).filter((field) => !this.inserts.some((insert) => insert.spec.name === field.name)), ...this.inserts.map((insert) => ({ name: insert.spec.name, schema: insert.spec.optional ? optionalOf(insert.schema) : insert.schema }))],
      schema,
    );
    return withPart(record, this.which, newSchema, fields);
  }
}

/** "old:new" pairs of ReplaceField's renames. */
function renamesOf(list: string[]): Map<string, string> {
  const renames = new Map<string, string>();
  for (const pair of list) {
    const [from, to, extra] = pair.split(':');
    if (from === undefined || to === undefined || extra !== undefined || from === '' || to === '') {
      throw new ConnectDataError(`Invalid rename mapping: ${pair}; renames take old:new pairs separated by commas`);
    }
    renames.set(from, to);
  }
  return renames;
}

abstract class ReplaceField implements Transformation {
  protected abstract readonly which: Which;
  private exclude: string[] = [];
  private include: string[] = [];
  private renames = new Map<string, string>();

  config(): ConfigDef {
    return new ConfigDef()
      .define({ name: 'exclude', type: 'LIST', defaultValue: [], importance: 'MEDIUM', documentation: 'Fields to exclude. This takes precedence over the fields to include.' })
      .define({ name: 'include', type: 'LIST', defaultValue: [], importance: 'MEDIUM', documentation: 'Fields to include. If specified, only these fields will be used.' })
      .define({
        name: 'renames',
        type: 'LIST',
        defaultValue: [],
        importance: 'MEDIUM',
        documentation: 'Field rename mappings.',
        validator: (_name, value) => {
          try {
            renamesOf(value as string[]);
            return null;
          } catch (error) {
            return (error as Error).message;
          }
        },
      });
  }

  configure(props: Props): void {
    const config = this.config().parse(props, 'ReplaceField configuration');
    this.exclude = config.exclude as string[];
    this.include = config.include as string[];
    this.renames = renamesOf(config.renames as string[]);
  }

  private kept(name: string): boolean {
    return !this.exclude.includes(name) && (this.include.length === 0 || this.include.includes(name));
  }

  apply<R extends ConnectRecord>(record: R): R {
    const { schema, value } = part(record, this.which);
    if (value === null || value === undefined) return record;
    const fields = requireFields(schema, value, 'field replacement');
    const out: Record<string, unknown> = {};
    if (schema === null) {
      for (const [name, entry] of Object.entries(fields)) if (this.kept(name)) out[this.renames.get(name) ?? name] = entry;
      return withPart(record, this.which, null, out);
    }
    const kept = (schema.fields ?? []).filter((field) => this.kept(field.name));
    for (const field of kept) out[this.renames.get(field.name) ?? field.name] = fields[field.name];
    return withPart(record, this.which, structOf(kept.map((field) => ({ name: this.renames.get(field.name) ?? field.name, schema: field.schema })), schema), out);
  }
}

/** The value a masked field takes without a replacement, by type (MaskField's PRIMITIVE_VALUE_MAPPING). */
function maskedValue(example: unknown, type: string | null): unknown {
  const kind = type ?? (typeof example === 'string' ? 'string' : typeof example === 'number' ? 'float64' : typeof example === 'boolean' ? 'boolean' : Array.isArray(example) ? 'array' : Buffer.isBuffer(example) ? 'bytes' : 'map');
  switch (kind) {
    case 'string':
      return '';
    case 'boolean':
      return false;
    case 'bytes':
      return Buffer.alloc(0);
    case 'array':
      return [];
    case 'map':
    case 'struct':
      return {};
    default:
      return 0;
  }
}

function replacementFor(replacement: string, example: unknown, type: string | null): unknown {
  const kind = type ?? typeof example;
  if (kind === 'string') return replacement;
  if (kind === 'boolean') return replacement === 'true';
  if (kind === 'number' || kind.startsWith('int') || kind.startsWith('float')) {
    const number = Number(replacement);
    if (!Number.isFinite(number)) throw new ConnectDataError(`Unable to convert ${replacement} (string) to number`);
    return number;
  }
  throw new ConnectDataError(`Cannot mask value of type ${kind} with custom replacement.`);
}

abstract class MaskField implements Transformation {
  protected abstract readonly which: Which;
  private fields: string[] = [];
  private replacement: string | null = null;

  config(): ConfigDef {
    return new ConfigDef()
      .define({ name: 'fields', type: 'LIST', importance: 'HIGH', documentation: 'Names of fields to mask.', validator: (_name, value) => ((value as string[]).length === 0 ? 'Empty list' : null) })
      .define({ name: 'replacement', type: 'STRING', defaultValue: null, importance: 'LOW', documentation: 'Custom value replacement, that will be applied to all \'fields\' values (numeric or non-empty string values only).' });
  }

  configure(props: Props): void {
    const config = this.config().parse(props, 'MaskField configuration');
    this.fields = config.fields as string[];
    this.replacement = config.replacement as string | null;
  }

  apply<R extends ConnectRecord>(record: R): R {
    const { schema, value } = part(record, this.which);
    if (value === null || value === undefined) return record;
    const out = { ...requireFields(schema, value, 'masking fields') };
    for (const name of this.fields) {
      if (!(name in out)) continue;
      const type = schema?.fields?.find((field) => field.name === name)?.schema.type ?? null;
      out[name] = this.replacement === null ? maskedValue(out[name], type) : replacementFor(this.replacement, out[name], type);
    }
    return withPart(record, this.which, schema, out);
  }
}

/** Java SimpleDateFormat's common letters, in UTC: yyyy MM dd HH mm ss SSS; 'quoted' text is literal. */
function formatTimestamp(pattern: string, timestampMs: number): string {
  const date = new Date(timestampMs);
  const pad = (value: number, width: number): string => String(value).padStart(width, '0');
  const letters: Record<string, (width: number) => string> = {
    y: (width) => (width === 2 ? pad(date.getUTCFullYear() % 100, 2) : pad(date.getUTCFullYear(), width)),
    M: (width) => pad(date.getUTCMonth() + 1, width),
    d: (width) => pad(date.getUTCDate(), width),
    H: (width) => pad(date.getUTCHours(), width),
    m: (width) => pad(date.getUTCMinutes(), width),
    s: (width) => pad(date.getUTCSeconds(), width),
    S: (width) => pad(date.getUTCMilliseconds(), width),
  };
  return pattern.replace(/'([^']*)'|([yMdHmsS])\2*/g, (run, quoted: string | undefined, letter: string | undefined) => (quoted !== undefined ? quoted : letters[letter!]!(run.length)));
}

export class TimestampRouter implements Transformation {
  private topicFormat = '${topic}-${timestamp}';
  private timestampFormat = 'yyyyMMdd';

  config(): ConfigDef {
    return new ConfigDef()
      .define({ name: 'topic.format', type: 'STRING', defaultValue: '${topic}-${timestamp}', validator: nonEmptyString, importance: 'HIGH', documentation: 'Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders for the topic and timestamp, respectively.' })
      .define({ name: 'timestamp.format', type: 'STRING', defaultValue: 'yyyyMMdd', validator: nonEmptyString, importance: 'HIGH', documentation: 'Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>.' });
  }

  configure(props: Props): void {
    const config = this.config().parse(props, 'TimestampRouter configuration');
    this.topicFormat = config['topic.format'] as string;
    this.timestampFormat = config['timestamp.format'] as string;
  }

  apply<R extends ConnectRecord>(record: R): R {
    if (record.timestamp === null) throw new ConnectDataError(`Timestamp missing on record of topic ${record.topic}`);
    const topic = this.topicFormat.replaceAll('${topic}', record.topic).replaceAll('${timestamp}', formatTimestamp(this.timestampFormat, record.timestamp));
    return { ...record, topic };
  }
}

export class RegexRouter implements Transformation {
  private regex = /^$/;
  private replacement = '';

  config(): ConfigDef {
    return new ConfigDef()
      .define({
        name: 'regex',
        type: 'STRING',
        importance: 'HIGH',
        documentation: 'Regular expression to use for matching.',
        validator: validRegex,
      })
      .define({ name: 'replacement', type: 'STRING', importance: 'HIGH', documentation: 'Replacement string.' });
  }

  configure(props: Props): void {
    const config = this.config().parse(props, 'RegexRouter configuration');
    // Java's Matcher.matches(): the whole topic name must match.
    this.regex = new RegExp(`^(?:${config.regex as string})$`);
    this.replacement = config.replacement as string;
  }

  apply<R extends ConnectRecord>(record: R): R {
    if (!this.regex.test(record.topic)) return record;
    return { ...record, topic: record.topic.replace(this.regex, this.replacement) };
  }
}

class InsertFieldKey extends InsertField {
  protected readonly which = 'key';
}
class InsertFieldValue extends InsertField {
  protected readonly which = 'value';
}
class ReplaceFieldKey extends ReplaceField {
  protected readonly which = 'key';
}
class ReplaceFieldValue extends ReplaceField {
  protected readonly which = 'value';
}
class MaskFieldKey extends MaskField {
  protected readonly which = 'key';
}
class MaskFieldValue extends MaskField {
  protected readonly which = 'value';
}

/** The built-in transforms by Kafka class name. */
export const BUILT_IN_TRANSFORMS: ReadonlyMap<string, new () => Transformation<never>> = new Map<string, new () => Transformation<never>>([
  [`${PACKAGE}.InsertField$Key`, InsertFieldKey],
  [`${PACKAGE}.InsertField$Value`, InsertFieldValue],
  [`${PACKAGE}.ReplaceField$Key`, ReplaceFieldKey],
  [`${PACKAGE}.ReplaceField$Value`, ReplaceFieldValue],
  [`${PACKAGE}.MaskField$Key`, MaskFieldKey],
  [`${PACKAGE}.MaskField$Value`, MaskFieldValue],
  [`${PACKAGE}.TimestampRouter`, TimestampRouter],
  [`${PACKAGE}.RegexRouter`, RegexRouter],
]);
