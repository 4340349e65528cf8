/**
 * The console's message browser: a page of records of one partition from an offset (or from
 * the first offset whose batch reaches a timestamp, Kafka's ListOffsets by timestamp), read as
 * a consumer reads them (read_uncommitted, control records left out), and each key, value and
 * header value shown as text, JSON or hex, or keys and values decoded with the schema their
 * Confluent wire-format id names in a Schema Registry.
 */
import type { Broker } from '../../broker/broker.js';
import { decodeWithWriterSchema } from '../../client/schema-serializers.js';
import type { SchemaRegistryClient } from '../../client/schema-registry-client.js';
import { InvalidRequestError, SluiceError } from '../../errors.js';
import { decodeRecordBatches } from '../../protocol/record-batch-reader.js';
import type { DecodedRecord } from '../../protocol/record-batch.js';

export type RecordFormat = 'text' | 'json' | 'hex';
export const RECORD_FORMATS: readonly RecordFormat[] = ['text', 'json', 'hex'];

export const DEFAULT_PAGE_RECORDS = 20;
export const MAX_PAGE_RECORDS = 200;
/** Bytes asked of each read: a page is small, and a fetch counts every offset it hands out as records out. A batch larger than this still comes whole. */
const READ_BYTES = 64 * 1024;
/** Reads per page at most: a page of control batches or of records below the offset ends here rather than walking the log. */
const MAX_READS_PER_PAGE = 16;

export interface RecordPage {
  /** The offset the page starts from (the timestamp's offset when browsing by timestamp). */
  fromOffset: number;
  records: DecodedRecord[];
  /** Where the next page starts. */
  nextOffset: number;
  logStartOffset: number;
  highWatermark: number;
}

/** Up to `limit` records from `fromOffset` (raised to the log start when below it). */
export function readRecords(broker: Broker, topic: string, partition: number, fromOffset: number, limit: number): RecordPage {
  const bounds = broker.partitionOffsets(topic, partition);
  const start = Math.max(fromOffset, bounds.logStartOffset);
  const records: DecodedRecord[] = [];
  let offset = start;
  for (let reads = 0; reads < MAX_READS_PER_PAGE && records.length < limit && offset < bounds.highWatermark; reads++) {
    const read = broker.fetch(topic, partition, offset, READ_BYTES, 'read_uncommitted');
    if (read.records.length === 0) break;
    for (const batch of decodeRecordBatches(read.records)) {
      if (batch.isControl) continue;
      for (const record of batch.records) {
        // Slices of the read, kept only while the page is rendered.
        if (record.offset >= offset && records.length < limit) records.push(record);
      }
    }
    offset = records.length >= limit ? records[records.length - 1].offset + 1 : read.nextOffset;
  }
  return { fromOffset: start, records, nextOffset: offset, logStartOffset: bounds.logStartOffset, highWatermark: bounds.highWatermark };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The bytes as the format shows them, and a note when they could not be: bytes that are not
 * UTF-8 are shown as hex; in JSON format, text that is not JSON is shown as text.
 */
export function formatBytesAs(bytes: Buffer | null, format: RecordFormat): { text: string; note: string | null } {
  if (bytes === null) return { text: 'null', note: null };
  if (format === 'hex') return { text: hexDump(bytes), note: null };
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { text: hexDump(bytes), note: 'binary: shown as hex' };
  }
  if (format === 'text') return { text, note: null };
  try {
    return { text: JSON.stringify(JSON.parse(text), null, 2), note: null };
  } catch {
    return { text, note: null };
  }
}

/** Avro bytes as hex and longs as strings: JSON has neither. */
function displayable(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data).toString('hex');
  }
  return value;
}

/**
 * The bytes decoded with the schema their wire-format id names, as pretty JSON with a note naming
 * the schema; bytes not in the wire format are shown as JSON (or text), bytes that do not decode
 * as hex with the reason.
 */
export async function formatWithSchema(registry: SchemaRegistryClient, bytes: Buffer | null): Promise<{ text: string; note: string | null }> {
  if (bytes === null) return { text: 'null', note: null };
  // Bytes not in the wire format (plain string keys, mostly) are shown as the json format shows them.
  if (bytes.length < 5 || bytes[0] !== 0) return formatBytesAs(bytes, 'json');
  try {
    const decoded = await decodeWithWriterSchema(registry, bytes);
    return { text: JSON.stringify(decoded.value, displayable, 2), note: `${decoded.schemaType} schema id ${decoded.schemaId}` };
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    return { text: hexDump(bytes), note: error.message };
  }
}

/** 16 bytes a line: offset, hex pairs, and the printable ASCII beside them. */
function hexDump(bytes: Buffer): string {
  if (bytes.length === 0) return '(empty)';
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

/** A timestamp as the browser's form gives it: milliseconds since the epoch, or ISO 8601 (UTC when no zone is written). */
export function parseTimestamp(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(trimmed) ? trimmed : `${trimmed}Z`;
  const ms = Date.parse(zoned);
  if (!/^\d{4}-\d\d-\d\d/.test(trimmed) || Number.isNaN(ms) || ms < 0) {
    throw new InvalidRequestError(`timestamp must be milliseconds since the epoch or an ISO 8601 time such as 2026-01-31T12:00:00Z, got ${JSON.stringify(text)}`);
  }
  return ms;
}
