/**
 * The append validator, Kafka's LogValidator with UnifiedLog.analyzeAndValidateRecords folded in:
 * one pass over each incoming batch that checks its header (framing, magic, CRC32C, counts, the
 * int64 fields), decompresses its records if needed, walks every record (lengths, varints, offset
 * deltas, timestamps, keys) and leaves behind the per-batch facts that offset assignment, the
 * segment's indexes and producer state need, so that nothing after it walks the records again.
 *
 * Refusals, as Kafka answers them:
 *   CORRUPT_MESSAGE     framing, magic, CRC, a records section that does not decompress, a record
 *                       whose lengths or varints do not decode (the message names the record)
 *   INVALID_RECORD      a client's batch with baseOffset != 0, an empty batch, lastOffsetDelta
 *                       not count - 1; with Produce v8+'s per-record list: records without a key
 *                       on a compacted topic (cleanup.policy=compact)
 *   INVALID_TIMESTAMP   under CreateTime, record timestamps further than
 *                       message.timestamp.before.max.ms / after.max.ms from the append time, or a
 *                       producer that set LogAppendTime itself (per-record list); a base or max
 *                       timestamp beyond what a JavaScript number holds exactly
 *   UNKNOWN_PRODUCER_ID a producer id beyond the safe-integer range: no InitProducerId gave it
 *   MESSAGE_TOO_LARGE   a batch larger than max.message.bytes
 *
 * A batch that passes is changed in place only where Kafka changes it: under LogAppendTime its
 * timestamp type and max timestamp are stamped with the append time, under CreateTime a max
 * timestamp that does not match its records is corrected (both re-CRC the batch). baseOffset is
 * assigned later, by the log, after producer state has had its say (it is outside the CRC).
 */
import {
  CorruptRecordError,
  InvalidRecordError,
  InvalidTimestampError,
  RecordTooLargeError,
  RecordValidationError,
  UnknownProducerIdError,
  type RecordErrorEntry,
} from '../errors.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  TIMESTAMP_TYPE_MASK,
  computeBatchCrc,
  isControlBatch,
  isTransactionalBatch,
  readAttributes,
  readLastOffsetDelta,
  readMaxTimestamp,
  readProducerId,
  readRecordCount,
  validateBatchAt,
} from '../protocol/batch-header.js';
import { writeInt64 } from '../protocol/int64.js';
import { RecordBatchIterator, RecordView } from '../protocol/record-batch-reader.js';
import type { AppendOrigin } from './producer-state.js';
import type { LogConfig } from './log-config.js';
import { INT32_MAX } from '../protocol/limits.js';

const NO_TIMESTAMP = -1;
const TWO_POW_32 = 0x1_0000_0000;
/** An int64 whose high word is within ±2^21 is a safe integer (|v| < 2^53). */
const SAFE_HIGH_WORD_MAX = 0x1f_ffff;
const SAFE_HIGH_WORD_MIN = -0x20_0000;
const INITIAL_BATCH_SLOTS = 16;

/** What the validator needs of a log's configuration. */
export type ValidatorConfig = Pick<
  LogConfig,
  'maxMessageBytes' | 'messageTimestampType' | 'messageTimestampBeforeMaxMs' | 'messageTimestampAfterMaxMs' | 'cleanupCompact'
>;

/**
 * The facts of one validated append: Kafka's LogAppendInfo. Owned by the validator and rewritten
 * by its next call; arrays are indexed by batch, [0, batchCount).
 */
export interface ValidatedAppend {
  /** The bytes to write: whole batches, back to back, offsets not yet assigned. */
  readonly bytes: Buffer;
  readonly batchCount: number;
  /** Records in all batches: the offsets the append takes. */
  readonly offsetCount: number;
  /** The largest batch max timestamp (after stamping), or -1. */
  readonly maxTimestampMs: number;
  /**
   * Batches producer state must see (a producer id, or the transactional or control flag, which
   * it refuses without one): when 0, it has nothing to check or apply.
   */
  readonly producerStateBatchCount: number;
  /** Where each batch starts in `bytes`. */
  readonly positions: Int32Array;
  readonly sizes: Int32Array;
  /** Each batch's lastOffsetDelta (its record count - 1). */
  readonly lastOffsetDeltas: Int32Array;
  /** Each batch's max timestamp as stored. */
  readonly maxTimestamps: Float64Array;
}

/** The validator's one ValidatedAppend, refilled by each call. */
class AppendFacts implements ValidatedAppend {
  bytes: Buffer = Buffer.alloc(0);
  batchCount = 0;
  offsetCount = 0;
  maxTimestampMs = NO_TIMESTAMP;
  producerStateBatchCount = 0;
  positions = new Int32Array(INITIAL_BATCH_SLOTS);
  sizes = new Int32Array(INITIAL_BATCH_SLOTS);
  lastOffsetDeltas = new Int32Array(INITIAL_BATCH_SLOTS);
  maxTimestamps = new Float64Array(INITIAL_BATCH_SLOTS);

  reset(bytes: Buffer): void {
    this.bytes = bytes;
    this.batchCount = 0;
    this.offsetCount = 0;
    this.maxTimestampMs = NO_TIMESTAMP;
    this.producerStateBatchCount = 0;
  }

  addBatch(position: number, sizeBytes: number, lastOffsetDelta: number): void {
    const slot = this.batchCount;
    if (slot === this.positions.length) this.growSlots();
    this.positions[slot] = position;
    this.sizes[slot] = sizeBytes;
    this.lastOffsetDeltas[slot] = lastOffsetDelta;
    this.batchCount = slot + 1;
    this.offsetCount += lastOffsetDelta + 1;
  }

  private growSlots(): void {
    const slots = this.positions.length * 2;
    const grow = <T extends Int32Array | Float64Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.positions = grow(this.positions, new Int32Array(slots));
    this.sizes = grow(this.sizes, new Int32Array(slots));
    this.lastOffsetDeltas = grow(this.lastOffsetDeltas, new Int32Array(slots));
    this.maxTimestamps = grow(this.maxTimestamps, new Float64Array(slots));
  }
}

export class LogValidator {
  private readonly view = new RecordView();
  private readonly recordErrors: RecordErrorEntry[] = [];
  private readonly facts = new AppendFacts();

  constructor(private readonly config: ValidatorConfig) {}

  /**
   * Validates `batches`, whole RecordBatch v2 batches as a producer (origin 'client') or the
   * transaction coordinator sent them, against the rules above, at append time `nowMs`.
   * `checkCrc` false skips only the CRC32C pass, for bytes checked upstream. Throws the refusal
   * for the first batch that breaks a rule; the append is then refused whole (batches before it
   * may have been stamped already, which matters to no one: the log writes none of them).
   */
  validate(batches: Buffer, origin: AppendOrigin, checkCrc: boolean, nowMs: number): ValidatedAppend {
    const byteLength = batches.length;
    const facts = this.facts;
    facts.reset(batches);
    // Every batch's framing is checked first, so the record walk below never meets a partial one.
    for (let position = 0; position < byteLength; ) {
      const sizeBytes = validateBatchAt(batches, position, byteLength, 0, checkCrc);
      if (sizeBytes > this.config.maxMessageBytes) {
        throw new RecordTooLargeError(sizeBytes, this.config.maxMessageBytes, 'maxMessageBytes');
      }
      this.checkHeader(batches, position, origin);
      facts.addBatch(position, sizeBytes, readLastOffsetDelta(batches, position));
      position += sizeBytes;
    }
    if (facts.offsetCount - 1 > INT32_MAX) {
      throw new CorruptRecordError(0, `the batches hold ${facts.offsetCount} records, more than one segment can index`);
    }
    if (!checkCrc && this.noRecordRuleApplies(batches)) {
      for (let batch = 0; batch < facts.batchCount; batch++) this.acceptBuiltBatch(batch, nowMs);
      return facts;
    }
    const records = new RecordBatchIterator(batches, { checkCrcs: false });
    for (let batch = 0; batch < facts.batchCount; batch++) {
      this.walkRecords(records, batch, nowMs);
    }
    // Moving past the last batch checks that nothing follows its declared records.
    if (records.nextBatch(this.view) !== null) throw new Error('invariant: the iterator found a batch the framing pass did not');
    return facts;
  }

  /**
   * Kafka's analyzeAndValidateRecords for a follower (UnifiedLog.appendAsFollower, no offset
   * assignment): the leader's batches are stored byte for byte, so only what keeps the log
   * readable is checked (framing, magic, CRC32C, counts, the int64 fields, max.message.bytes);
   * nothing is stamped or corrected and no record rule applies (the leader applied them). Each
   * batch's max timestamp is taken from its header, as stored.
   */
  validateReplica(batches: Buffer): ValidatedAppend {
    const byteLength = batches.length;
    const facts = this.facts;
    facts.reset(batches);
    for (let position = 0; position < byteLength; ) {
      const sizeBytes = validateBatchAt(batches, position, byteLength, 0, true);
      if (sizeBytes > this.config.maxMessageBytes) {
        throw new RecordTooLargeError(sizeBytes, this.config.maxMessageBytes, 'maxMessageBytes');
      }
      // 'coordinator': a replicated batch carries the leader's offsets, not a producer's 0.
      this.checkHeader(batches, position, 'coordinator');
      const batch = facts.batchCount;
      facts.addBatch(position, sizeBytes, readLastOffsetDelta(batches, position));
      const maxTimestampMs = readMaxTimestamp(batches, position);
      facts.maxTimestamps[batch] = maxTimestampMs;
      if (maxTimestampMs > facts.maxTimestampMs) facts.maxTimestampMs = maxTimestampMs;
      const attributes = readAttributes(batches, position);
      if (readProducerId(batches, position) >= 0 || isTransactionalBatch(attributes) || isControlBatch(attributes)) facts.producerStateBatchCount++;
      position += sizeBytes;
    }
    if (facts.offsetCount - 1 > INT32_MAX) {
      throw new CorruptRecordError(0, `the batches hold ${facts.offsetCount} records, more than one segment can index`);
    }
    return facts;
  }

  /**
   * Bytes whose CRC was checked upstream come from Sluice's own producer, whose builder wrote every
   * record and the batch's max timestamp itself: the walk could only refuse them for a per-record
   * rule of the topic. When none applies (no key rule, no timestamp bound, no producer claiming
   * LogAppendTime), the header alone gives the facts, and appending costs no record decode.
   * Bytes from the wire never get here: the server appends with checkCrc on.
   */
  private noRecordRuleApplies(batches: Buffer): boolean {
    const { cleanupCompact, messageTimestampType, messageTimestampBeforeMaxMs, messageTimestampAfterMaxMs } = this.config;
    if (cleanupCompact) return false;
    const timestampBounded = messageTimestampBeforeMaxMs < Number.MAX_SAFE_INTEGER || messageTimestampAfterMaxMs < Number.MAX_SAFE_INTEGER;
    if (messageTimestampType === 'CreateTime' && timestampBounded) return false;
    const facts = this.facts;
    for (let batch = 0; batch < facts.batchCount; batch++) {
      if ((readAttributes(batches, facts.positions[batch]) & TIMESTAMP_TYPE_MASK) !== 0) return false;
    }
    return true;
  }

  /** walkRecords' header-side work for a batch built by Sluice's producer (see noRecordRuleApplies). */
  private acceptBuiltBatch(batch: number, nowMs: number): void {
    const facts = this.facts;
    const bytes = facts.bytes;
    const position = facts.positions[batch];
    const attributes = readAttributes(bytes, position);
    let maxTimestampMs = readMaxTimestamp(bytes, position);
    if (this.config.messageTimestampType !== 'CreateTime') {
      bytes.writeInt16BE(attributes | TIMESTAMP_TYPE_MASK, position + ATTRIBUTES_OFFSET);
      writeInt64(bytes, position + MAX_TIMESTAMP_OFFSET, nowMs);
      bytes.writeUInt32BE(computeBatchCrc(bytes, position, facts.sizes[batch]), position + CRC_OFFSET);
      maxTimestampMs = nowMs;
    }
    facts.maxTimestamps[batch] = maxTimestampMs;
    if (maxTimestampMs > facts.maxTimestampMs) facts.maxTimestampMs = maxTimestampMs;
    if (readProducerId(bytes, position) >= 0 || isTransactionalBatch(attributes) || isControlBatch(attributes)) {
      facts.producerStateBatchCount++;
    }
  }

  /** The header rules a record walk cannot check: int64 ranges, offsets and counts. */
  private checkHeader(batches: Buffer, position: number, origin: AppendOrigin): void {
    if (!isSafeInt64At(batches, position + PRODUCER_ID_OFFSET)) {
      throw new UnknownProducerIdError(
        `the batch at byte ${position} names producer id ${batches.readBigInt64BE(position + PRODUCER_ID_OFFSET)}, ` +
          `which this broker never assigned (its ids are below 2^53); get a producer id with InitProducerId`,
      );
    }
    for (const [field, at] of [
      ['baseTimestamp', BASE_TIMESTAMP_OFFSET],
      ['maxTimestamp', MAX_TIMESTAMP_OFFSET],
    ] as const) {
      if (!isSafeInt64At(batches, position + at)) {
        throw new InvalidTimestampError(
          `the batch at byte ${position} has ${field} ${batches.readBigInt64BE(position + at)}, beyond the ` +
            `timestamps the log holds (|t| <= 2^53 - 1 ms)`,
        );
      }
    }
    const recordCount = readRecordCount(batches, position);
    const lastOffsetDelta = readLastOffsetDelta(batches, position);
    if (recordCount === 0 || lastOffsetDelta !== recordCount - 1) {
      throw new InvalidRecordError(
        `the batch at byte ${position} has lastOffsetDelta ${lastOffsetDelta} and record count ${recordCount}: ` +
          `a batch holds at least one record and its offset deltas run 0 to count - 1`,
      );
    }
    // Kafka's rule for producers (the log assigns offsets); the coordinator's batches are Sluice's own.
    if (origin === 'client' && (batches.readInt32BE(position + BASE_OFFSET_OFFSET) !== 0 || batches.readInt32BE(position + BASE_OFFSET_OFFSET + 4) !== 0)) {
      throw new InvalidRecordError(
        `the batch at byte ${position} has baseOffset ${batches.readBigInt64BE(position + BASE_OFFSET_OFFSET)}; ` +
          `a producer's batch must have baseOffset 0, the log assigns offsets`,
      );
    }
  }

  /**
   * Decodes every record of batch `batch` (the iterator checks lengths, varints and offset deltas)
   * and applies the per-record rules, collecting every refused record as Kafka does; then stamps
   * or corrects the batch's max timestamp.
   */
  private walkRecords(records: RecordBatchIterator, batch: number, nowMs: number): void {
    const view = this.view;
    const header = records.nextBatch(view);
    if (header === null) throw new Error('invariant: the iterator stops before the validated batches end');
    const facts = this.facts;
    const position = facts.positions[batch];
    const { messageTimestampType, cleanupCompact, messageTimestampBeforeMaxMs, messageTimestampAfterMaxMs } = this.config;
    const createTime = messageTimestampType === 'CreateTime';
    const requireKeys = cleanupCompact && !header.isControl;
    const producerLogAppendTime = header.timestampType === 'logAppend';
    const recordErrors = this.recordErrors;
    recordErrors.length = 0;
    let timestampErrors = 0;
    let maxTimestampMs = NO_TIMESTAMP;
    const count = header.recordCount;
    for (let index = 0; index < count; index++) {
      records.nextRecord(view);
      const timestampMs = view.timestamp;
      if (timestampMs > maxTimestampMs) maxTimestampMs = timestampMs;
      if (requireKeys && view.keyLength < 0) {
        recordErrors.push({
          batchIndex: index,
          message: 'compacted topic cannot accept a record without a key (cleanup.policy=compact)',
        });
      } else if (createTime && timestampMs !== NO_TIMESTAMP) {
        if (nowMs - timestampMs > messageTimestampBeforeMaxMs || timestampMs - nowMs > messageTimestampAfterMaxMs) {
          timestampErrors++;
          recordErrors.push({
            batchIndex: index,
            message:
              `timestamp ${timestampMs} is out of range: it must be within [${nowMs - messageTimestampBeforeMaxMs}, ` +
              `${nowMs + messageTimestampAfterMaxMs}] (message.timestamp.before.max.ms / after.max.ms)`,
          });
        }
      } else if (producerLogAppendTime) {
        timestampErrors++;
        recordErrors.push({
          batchIndex: index,
          message: 'the producer set the timestamp type to LogAppendTime; only the broker sets it',
        });
      }
    }
    if (recordErrors.length > 0) this.refuseRecords(position, timestampErrors > 0);
    const bytes = facts.bytes;
    const sizeBytes = facts.sizes[batch];
    const attributes = bytes.readInt16BE(position + ATTRIBUTES_OFFSET);
    if (!createTime) {
      bytes.writeInt16BE(attributes | TIMESTAMP_TYPE_MASK, position + ATTRIBUTES_OFFSET);
      writeInt64(bytes, position + MAX_TIMESTAMP_OFFSET, nowMs);
      bytes.writeUInt32BE(computeBatchCrc(bytes, position, sizeBytes), position + CRC_OFFSET);
      maxTimestampMs = nowMs;
    } else if (maxTimestampMs !== header.maxTimestamp || producerLogAppendTime) {
      // Kafka's setMaxTimestamp(CREATE_TIME, max of the records): the header must not lie to the
      // time index and retention, which read only headers.
      bytes.writeInt16BE(attributes & ~TIMESTAMP_TYPE_MASK, position + ATTRIBUTES_OFFSET);
      writeInt64(bytes, position + MAX_TIMESTAMP_OFFSET, maxTimestampMs);
      bytes.writeUInt32BE(computeBatchCrc(bytes, position, sizeBytes), position + CRC_OFFSET);
    }
    facts.maxTimestamps[batch] = maxTimestampMs;
    if (maxTimestampMs > facts.maxTimestampMs) facts.maxTimestampMs = maxTimestampMs;
    if (header.producerId >= 0 || header.isTransactional || header.isControl) facts.producerStateBatchCount++;
  }

  /** Kafka's processRecordErrors: INVALID_TIMESTAMP if any timestamp was refused, else INVALID_RECORD. */
  private refuseRecords(position: number, anyTimestamp: boolean): never {
    const errors = this.recordErrors;
    const shown = errors
      .slice(0, 3)
      .map((entry) => `record ${entry.batchIndex}: ${entry.message}`)
      .join('; ');
    const message =
      `the batch at byte ${position} was refused for ${errors.length} record(s)` +
      `${errors.length > 3 ? ', the first three' : ''}: ${shown}`;
    throw new RecordValidationError(anyTimestamp ? 'INVALID_TIMESTAMP' : 'INVALID_RECORD', message, errors.slice());
  }

}

/** Whether the int64 at `at` is a safe integer, read without throwing (|v| <= 2^53 - 1). */
function isSafeInt64At(buf: Buffer, at: number): boolean {
  const high = buf.readInt32BE(at);
  if (high > SAFE_HIGH_WORD_MAX || high < SAFE_HIGH_WORD_MIN) return false;
  return Number.isSafeInteger(high * TWO_POW_32 + buf.readUInt32BE(at + 4));
}
