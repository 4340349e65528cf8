/**
 * Binary layout of the transaction coordinator's persisted state, after Kafka's
 * __transaction_state records (TransactionLogKey / TransactionLogValue): one record per state
 * change, keyed by transactional id, so the log is a changelog whose latest value per key is the
 * state, and compaction keeps exactly that. A null value is a tombstone (the id expired).
 *
 *   key    uint8 version (0), string transactionalId
 *   value  uint8 version (0)
 *          int64 producerId, int64 lastProducerId, int16 producerEpoch, int16 lastProducerEpoch,
 *          int32 transactionTimeoutMs, int8 state (Kafka's ids: 0 Empty ... 5 CompleteAbort),
 *          int64 txnLastUpdateTimestampMs, int64 txnStartTimestampMs,
 *          int32 topicCount, per topic: string topic, int32 partitionCount, int32 partition...
 *          int32 groupCount, per group: string groupId
 *   string  int16 byte length, then UTF-8 bytes
 *
 * Big-endian like every Kafka format. Unlike Kafka's value it keeps lastProducerId and
 * lastProducerEpoch (which KIP-360 retries need after a restart) and the consumer groups of
 * AddOffsetsToTxn (a single broker has no __consumer_offsets partition per group to name).
 * The decoders check every length, range and state rule (transactionRecordProblem) and reject
 * trailing bytes, so a record either decodes to a state the coordinator could have written or
 * fails with CorruptTransactionStateError.
 */
import { CorruptTransactionStateError, InvalidRecordError } from '../errors.js';
import { readInt64, writeInt64 } from '../protocol/int64.js';
import type { TopicPartitionRef } from './group-types.js';
import {
  TRANSACTION_STATE_IDS,
  TRANSACTION_STATES,
  transactionRecordProblem,
  type LiveTransactionState,
  type TransactionLogEntry,
  type TransactionStateRecord,
} from './transaction-state.js';

export const TRANSACTION_LOG_KEY_VERSION = 0;
export const TRANSACTION_LOG_VALUE_VERSION = 0;

/** version, producerId, lastProducerId, epochs, timeout, state, two timestamps, topicCount, groupCount. */
const VALUE_FIXED_BYTES = 1 + 8 + 8 + 2 + 2 + 4 + 1 + 8 + 8 + 4 + 4;
const STATE_BY_ID: readonly LiveTransactionState[] = TRANSACTION_STATES.filter(
  (state): state is LiveTransactionState => state !== 'Dead',
);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeTransactionLogKey(transactionalId: string): Buffer {
  const problem = transactionRecordProblem({ transactionalId, state: 'Dead' });
  if (problem !== null) throw new InvalidRecordError(`transaction log key: ${problem}`);
  const idBytes = Buffer.byteLength(transactionalId, 'utf8');
  const key = Buffer.allocUnsafe(1 + 2 + idBytes);
  key.writeUInt8(TRANSACTION_LOG_KEY_VERSION, 0);
  key.writeInt16BE(idBytes, 1);
  key.write(transactionalId, 3, 'utf8');
  return key;
}

export function decodeTransactionLogKey(key: Buffer): string {
  const reader = new FieldReader(key, 'transaction log key');
  const version = reader.uint8('version');
  if (version !== TRANSACTION_LOG_KEY_VERSION) {
    reader.fail(0, `version ${version} is unknown (this Sluice reads version ${TRANSACTION_LOG_KEY_VERSION}); was it written by a newer one?`);
  }
  const transactionalId = reader.string('transactionalId');
  reader.end();
  const problem = transactionRecordProblem({ transactionalId, state: 'Dead' });
  if (problem !== null) reader.fail(1, problem);
  return transactionalId;
}

/** The value for an entry: the encoded record, or null (a tombstone) for a Dead one. */
export function encodeTransactionLogValue(entry: TransactionLogEntry): Buffer | null {
  const problem = transactionRecordProblem(entry);
  if (problem !== null) throw new InvalidRecordError(`transaction log value: ${problem}`);
  if (entry.state === 'Dead') return null;
  const topics = partitionsByTopic(entry.partitions);
  let size = VALUE_FIXED_BYTES;
  for (const [topic, partitions] of topics) size += 2 + Buffer.byteLength(topic, 'utf8') + 4 + 4 * partitions.length;
  for (const groupId of entry.groupIds) size += 2 + Buffer.byteLength(groupId, 'utf8');

  const value = Buffer.allocUnsafe(size);
  let pos = value.writeUInt8(TRANSACTION_LOG_VALUE_VERSION, 0);
  writeInt64(value, pos, entry.producerId);
  writeInt64(value, pos + 8, entry.lastProducerId);
  pos = value.writeInt16BE(entry.producerEpoch, pos + 16);
  pos = value.writeInt16BE(entry.lastProducerEpoch, pos);
  pos = value.writeInt32BE(entry.transactionTimeoutMs, pos);
  pos = value.writeInt8(TRANSACTION_STATE_IDS[entry.state], pos);
  writeInt64(value, pos, entry.txnLastUpdateTimestampMs);
  writeInt64(value, pos + 8, entry.txnStartTimestampMs);
  pos = value.writeInt32BE(topics.size, pos + 16);
  for (const [topic, partitions] of topics) {
    pos = writeString(value, pos, topic);
    pos = value.writeInt32BE(partitions.length, pos);
    for (const partition of partitions) pos = value.writeInt32BE(partition, pos);
  }
  pos = value.writeInt32BE(entry.groupIds.length, pos);
  for (const groupId of entry.groupIds) pos = writeString(value, pos, groupId);
  if (pos !== size) throw new Error(`invariant: transaction log value sized ${size} bytes but ${pos} were written`);
  return value;
}

/** The entry a (key-decoded) value stands for; a null value is the id's tombstone. */
export function decodeTransactionLogValue(transactionalId: string, value: Buffer | null): TransactionLogEntry {
  if (value === null) return { transactionalId, state: 'Dead' };
  const reader = new FieldReader(value, `transaction log value of "${transactionalId}"`);
  const version = reader.uint8('version');
  if (version !== TRANSACTION_LOG_VALUE_VERSION) {
    reader.fail(0, `version ${version} is unknown (this Sluice reads version ${TRANSACTION_LOG_VALUE_VERSION}); was it written by a newer one?`);
  }
  const producerId = reader.int64('producerId');
  const lastProducerId = reader.int64('lastProducerId');
  const producerEpoch = reader.int16('producerEpoch');
  const lastProducerEpoch = reader.int16('lastProducerEpoch');
  const transactionTimeoutMs = reader.int32('transactionTimeoutMs');
  const statePos = reader.position;
  const stateId = reader.int8('state');
  const state = STATE_BY_ID[stateId];
  if (state === undefined) {
    reader.fail(statePos, `state id ${stateId} is not one a record holds (0 to ${STATE_BY_ID.length - 1})`);
  }
  const txnLastUpdateTimestampMs = reader.int64('txnLastUpdateTimestampMs');
  const txnStartTimestampMs = reader.int64('txnStartTimestampMs');
  const partitions: TopicPartitionRef[] = [];
  const topicCount = reader.count('topicCount');
  for (let t = 0; t < topicCount; t++) {
    const topic = reader.string(`topic ${t}`);
    const partitionCount = reader.count(`partition count of topic "${topic}"`);
    for (let p = 0; p < partitionCount; p++) partitions.push({ topic, partition: reader.int32(`partition of topic "${topic}"`) });
  }
  const groupIds: string[] = [];
  const groupCount = reader.count('groupCount');
  for (let g = 0; g < groupCount; g++) groupIds.push(reader.string(`group ${g}`));
  reader.end();

  const record: TransactionStateRecord = {
    transactionalId,
    producerId,
    lastProducerId,
    producerEpoch,
    lastProducerEpoch,
    transactionTimeoutMs,
    state,
    partitions,
    groupIds,
    txnLastUpdateTimestampMs,
    txnStartTimestampMs,
  };
  const problem = transactionRecordProblem(record);
  if (problem !== null) throw new CorruptTransactionStateError(`the transaction log value of "${transactionalId}"`, problem);
  return record;
}

function partitionsByTopic(partitions: readonly TopicPartitionRef[]): Map<string, number[]> {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    let list = topics.get(topic);
    if (list === undefined) topics.set(topic, (list = []));
    list.push(partition);
  }
  return topics;
}

function writeString(buf: Buffer, pos: number, value: string): number {
  const written = buf.write(value, pos + 2, 'utf8');
  buf.writeInt16BE(written, pos);
  return pos + 2 + written;
}

/** Sequential bounds-checked reads; every failure names the field and its byte position. */
class FieldReader {
  position = 0;
  private readonly buf: Buffer;
  private readonly what: string;

  constructor(buf: Buffer, what: string) {
    if (!Buffer.isBuffer(buf)) throw new InvalidRecordError(`${what} must be a Buffer`);
    this.buf = buf;
    this.what = what;
  }

  fail(position: number, reason: string): never {
    throw new CorruptTransactionStateError(`${this.what} at byte ${position}`, reason);
  }

  private take(bytes: number, field: string): number {
    const start = this.position;
    if (start + bytes > this.buf.length) {
      this.fail(start, `${field} needs ${bytes} bytes but only ${this.buf.length - start} remain (truncated)`);
    }
    this.position = start + bytes;
    return start;
  }

  uint8(field: string): number {
    return this.buf.readUInt8(this.take(1, field));
  }

  int8(field: string): number {
    return this.buf.readInt8(this.take(1, field));
  }

  int16(field: string): number {
    return this.buf.readInt16BE(this.take(2, field));
  }

  int32(field: string): number {
    return this.buf.readInt32BE(this.take(4, field));
  }

  int64(field: string): number {
    const pos = this.take(8, field);
    try {
      return readInt64(this.buf, pos);
    } catch {
      return this.fail(pos, `${field} is outside the safe integer range`);
    }
  }

  /** A non-negative count; each element takes at least one more byte, so a count beyond the rest is caught here. */
  count(field: string): number {
    const pos = this.position;
    const count = this.int32(field);
    if (count < 0 || count > this.buf.length - this.position) {
      this.fail(pos, `${field} ${count} cannot fit the ${this.buf.length - this.position} remaining bytes`);
    }
    return count;
  }

  string(field: string): string {
    const pos = this.position;
    const length = this.int16(`${field} length`);
    if (length < 0) this.fail(pos, `${field} has negative length ${length}`);
    const start = this.take(length, field);
    try {
      return strictUtf8.decode(this.buf.subarray(start, start + length));
    } catch {
      return this.fail(start, `${field} is not valid UTF-8`);
    }
  }

  end(): void {
    if (this.position !== this.buf.length) {
      this.fail(this.position, `${this.buf.length - this.position} bytes follow the last field`);
    }
  }
}
