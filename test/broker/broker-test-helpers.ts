/** Support for the broker tests: temp data directories, record batches, decoding fetched values. */
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { forEachRecord } from '../../src/protocol/record-batch-reader.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

export function makeDataDir(): string {
  return makeTempDir('broker');
}

export { removeTempDir as removeDataDir };

/** One batch holding `values` (strings), with CreateTime `timestampMs`. */
export function batchOf(values: string[], timestampMs = Date.now()): Buffer {
  // Keyed by their value, so the batches are valid on compacted topics too (Kafka requires keys there).
  return encodeRecordBatch({ records: values.map((value) => ({ key: Buffer.from(value), value: Buffer.from(value), timestampMs })) });
}

/** Every record of fetched batches as [offset, value]. */
export function recordsOf(batches: Buffer): [number, string][] {
  const records: [number, string][] = [];
  forEachRecord(batches, (record) => records.push([record.offset, record.value()!.toString()]));
  return records;
}

export const quietLogger = { info: (): void => {}, warn: (): void => {} };
