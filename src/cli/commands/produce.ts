/**
 * `sluice produce TOPIC`: one record per line of stdin, as Kafka's console producer.
 *
 * On a terminal, stderr shows the rate and, when stdin is a file, the share read and the time left.
 *
 * Lines are cut out of the stdin chunks as slices (no copy, no string per line) and sent in sends
 * of at most --batch-records records, the last one when the chunk is used up (so lines typed at a
 * terminal go out at once). The next chunk is read only once the previous send is acknowledged:
 * memory stays bounded by one send and one chunk, however long the input.
 */
import { fstatSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { InvalidRecordError } from '../../errors.js';
import { integerArg, separatorArg } from '../arguments.js';
import { addConnectionOptions, withConnection, type AcksValue, type CompressionName, type OutgoingRecord } from '../connection.js';
import { printInfo, printJson } from '../output.js';
import { COMPRESSION_TYPES } from '../../protocol/compression.js';
import { INT32_MAX } from '../../protocol/limits.js';
import { NO_PROGRESS, createProgress } from '../../perf/progress.js';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
export const DEFAULT_BATCH_RECORDS = 1_000;
/** Kafka's default max.request.size: a record cannot be larger anyway. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

interface ProduceFlags {
  keySeparator?: string;
  partition?: number;
  compression: CompressionName;
  acks: string;
  batchRecords: number;
  maxLineBytes: number;
  json?: boolean;
}

export interface ProduceSummary {
  topic: string;
  records: number;
  /** Key and value bytes sent, before compression. */
  bytes: number;
  elapsedMs: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
}

export function registerProduce(program: Command): void {
  addConnectionOptions(
    program
      .command('produce')
      .description('send each line of stdin to a topic as one record')
      .argument('<topic>', 'topic to write to (created with the broker defaults when it does not exist and auto-creation is on)')
      .option('--key-separator <sep>', 'each line is KEY<sep>VALUE, split at the first <sep> (\\t for a tab)', separatorArg)
      .option('--partition <n>', 'write every record to this partition (default: by key, as Kafka)', integerArg(0, INT32_MAX))
      .addOption(new Option('--compression <codec>', 'batch compression').choices(COMPRESSION_TYPES).default('none'))
      .addOption(new Option('--acks <acks>', 'acknowledgement: 0 none, 1 leader, all (-1) durable per the topic').choices(['0', '1', '-1', 'all']).default('all'))
      .option('--batch-records <n>', 'records per send; the next lines are read once it is acknowledged', integerArg(1, 1_000_000), DEFAULT_BATCH_RECORDS)
      .option('--max-line-bytes <bytes>', 'longest line accepted', integerArg(1, INT32_MAX), DEFAULT_MAX_LINE_BYTES)
      .option('--json', 'print the summary as JSON on stdout (else as text on stderr)'),
  ).action(async (topic: string, flags: ProduceFlags, command: Command) => {
    await withConnection(command, async (connection) => {
      const acks: AcksValue = flags.acks === 'all' ? -1 : (Number(flags.acks) as AcksValue);
      const producer = await connection.producer({ acks, compression: flags.compression });
      // A file on stdin has a known size, so the line can show the share read and the time left.
      const progress =
        flags.json === true ? NO_PROGRESS : createProgress(`produce ${topic}`, { unit: 'bytes', total: regularFileBytes(0) });
      let summary: ProduceSummary;
      try {
        summary = await produceLines(process.stdin, topic, { ...flags, onProgress: (bytesRead, records) => progress.update(bytesRead, records) }, (records) =>
          producer.send(topic, records),
        );
      } finally {
        progress.stop();
        await producer.close();
      }
      if (flags.json === true) {
        await printJson(summary);
      } else {
        printInfo(
          `produced ${summary.records} records (${summary.bytes} bytes) to ${topic} in ${summary.elapsedMs} ms: ` +
            `${Math.round(summary.recordsPerSecond)} records/s, ${summary.megabytesPerSecond.toFixed(2)} MB/s`,
        );
      }
    });
  });
}

/**
 * Reads `input` line by line and sends the records in sends of `batchRecords`, awaiting each.
 * A trailing `\r` is dropped (CRLF input); an unterminated last line is still a record.
 */
export async function produceLines(
  input: AsyncIterable<Buffer | string>,
  topic: string,
  options: {
    keySeparator?: string;
    partition?: number;
    batchRecords: number;
    maxLineBytes: number;
    /** After each acknowledged send: input bytes read so far and records acknowledged. */
    onProgress?: (bytesRead: number, records: number) => void;
  },
  send: (records: OutgoingRecord[]) => Promise<void>,
): Promise<ProduceSummary> {
  const separator = options.keySeparator === undefined ? null : Buffer.from(options.keySeparator, 'utf8');
  const startedMs = performance.now();
  let pending: OutgoingRecord[] = [];
  let records = 0;
  let bytes = 0;
  let lineNumber = 0;
  let bytesRead = 0;

  const addLine = (data: Buffer, start: number, end: number): void => {
    lineNumber++;
    if (end > start && data[end - 1] === CARRIAGE_RETURN) end--;
    let key: Buffer | null = null;
    let valueStart = start;
    if (separator !== null) {
      const at = data.indexOf(separator, start);
      if (at === -1 || at >= end) {
        throw new InvalidRecordError(
          `line ${lineNumber} has no key separator ${JSON.stringify(options.keySeparator)}; every line must be KEY${options.keySeparator}VALUE (records before it were sent)`,
        );
      }
      key = data.subarray(start, at);
      valueStart = at + separator.length;
    }
    const record: OutgoingRecord = { key, value: data.subarray(valueStart, end) };
    if (options.partition !== undefined) record.partition = options.partition;
    pending.push(record);
    bytes += end - start - (separator === null ? 0 : separator.length);
  };

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await send(batch);
    records += batch.length;
    options.onProgress?.(bytesRead, records);
  };

  try {
    let carry: Buffer | null = null;
    for await (const chunk of input) {
      const bytesIn = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      bytesRead += bytesIn.length;
      // Only an unfinished line is copied, once, when the next chunk arrives.
      const data: Buffer = carry === null ? bytesIn : Buffer.concat([carry, bytesIn]);
      carry = null;
      let start = 0;
      for (;;) {
        const end = data.indexOf(NEWLINE, start);
        if (end === -1) break;
        checkLineLength(end - start, lineNumber + 1, options.maxLineBytes);
        addLine(data, start, end);
        start = end + 1;
        if (pending.length >= options.batchRecords) await flush();
      }
      // Send what this chunk completed before waiting for the next: typed lines go out as typed.
      await flush();
      if (start < data.length) {
        checkLineLength(data.length - start, lineNumber + 1, options.maxLineBytes);
        carry = data.subarray(start);
      }
    }
    if (carry !== null) addLine(carry, 0, carry.length);
  } finally {
    // The lines before a bad one are sent, as the error message says, and as Kafka's console producer does.
    await flush();
  }
  const elapsedMs = Math.max(performance.now() - startedMs, 0.001);
  return {
    topic,
    records,
    bytes,
    elapsedMs: Math.round(elapsedMs),
    recordsPerSecond: (records * 1000) / elapsedMs,
    megabytesPerSecond: (bytes * 1000) / elapsedMs / 1e6,
  };
}

/** The size of the regular file open as `fd`, or null for a pipe, a terminal or a socket. */
export function regularFileBytes(fd: number): number | null {
  try {
    const stats = fstatSync(fd);
    return stats.isFile() ? stats.size : null;
  } catch {
    return null;
  }
}

function checkLineLength(lengthBytes: number, lineNumber: number, maxLineBytes: number): void {
  if (lengthBytes > maxLineBytes) {
    throw new InvalidRecordError(
      `line ${lineNumber} has at least ${lengthBytes} bytes, more than --max-line-bytes (${maxLineBytes}); raise --max-line-bytes or shorten the line`,
    );
  }
}
