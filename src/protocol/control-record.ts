/**
 * Control records: the commit/abort markers a transaction coordinator writes to every partition
 * a transaction touched. They travel in a batch of their own with the control and transactional
 * attributes set, and hold one record:
 *
 *   key    int16 version (0), int16 type (0 abort, 1 commit; KRaft defines 2 and up)
 *   value  int16 version (0), int32 coordinatorEpoch   (for abort and commit)
 *
 * Consumers in read_committed use them to drop aborted records and to move the last stable
 * offset; they are never handed to the application.
 */
import { CorruptRecordError, InvalidConfigError } from '../errors.js';
import { encodeRecordBatch } from './record-batch-builder.js';
import { INT16_MAX, INT32_MIN, INT32_MAX } from './limits.js';

export type EndTransactionMarkerType = 'abort' | 'commit';

export interface ControlBatchOptions {
  producerId: number;
  producerEpoch: number;
  type: EndTransactionMarkerType;
  /** Epoch of the transaction coordinator writing the marker (fences zombie coordinators). */
  coordinatorEpoch: number;
  timestampMs: number;
  /** Default 0: the log assigns the real offset on append. */
  baseOffset?: number;
  /** Default -1 (none). */
  partitionLeaderEpoch?: number;
}

/** A parsed control record. Types other than abort/commit are reported with their raw id. */
export type ControlRecord =
  | { type: EndTransactionMarkerType; keyVersion: number; valueVersion: number; coordinatorEpoch: number }
  | { type: 'other'; keyVersion: number; typeId: number };

const CONTROL_KEY_VERSION = 0;
const END_TXN_MARKER_VALUE_VERSION = 0;
const CONTROL_KEY_BYTES = 4;
const END_TXN_MARKER_VALUE_BYTES = 6;
const TYPE_ID_ABORT = 0;
const TYPE_ID_COMMIT = 1;

/** Encodes a one-record control batch holding a commit or abort marker. */
export function encodeControlBatch(options: ControlBatchOptions): Buffer {
  if (options === null || typeof options !== 'object') {
    throw new InvalidConfigError('encodeControlBatch needs { producerId, producerEpoch, type, coordinatorEpoch, timestampMs }');
  }
  const { producerId, producerEpoch, type, coordinatorEpoch, timestampMs, baseOffset, partitionLeaderEpoch } = options;
  if (type !== 'abort' && type !== 'commit') {
    throw new InvalidConfigError(`control marker type must be "commit" or "abort" (got ${JSON.stringify(type)})`);
  }
  if (!Number.isSafeInteger(producerId) || producerId < 0) {
    throw new InvalidConfigError(`a transaction marker needs a producerId >= 0 (got ${producerId})`);
  }
  if (!Number.isInteger(producerEpoch) || producerEpoch < 0 || producerEpoch > INT16_MAX) {
    throw new InvalidConfigError(`producerEpoch must be an integer in [0, ${INT16_MAX}] (got ${producerEpoch})`);
  }
  if (!Number.isInteger(coordinatorEpoch) || coordinatorEpoch < INT32_MIN || coordinatorEpoch > INT32_MAX) {
    throw new InvalidConfigError(`coordinatorEpoch must be an int32 (got ${coordinatorEpoch})`);
  }
  const key = Buffer.allocUnsafe(CONTROL_KEY_BYTES);
  key.writeInt16BE(CONTROL_KEY_VERSION, 0);
  key.writeInt16BE(type === 'commit' ? TYPE_ID_COMMIT : TYPE_ID_ABORT, 2);
  const value = Buffer.allocUnsafe(END_TXN_MARKER_VALUE_BYTES);
  value.writeInt16BE(END_TXN_MARKER_VALUE_VERSION, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return encodeRecordBatch({
    records: [{ key, value, timestampMs }],
    producerId,
    producerEpoch,
    baseOffset,
    partitionLeaderEpoch,
    isTransactional: true,
    isControl: true,
  });
}

/**
 * Parses a control record's key and value (as a decoded record of a batch with `isControl`
 * gives them). Malformed ones throw CorruptRecordError naming `position`, the batch's position.
 * Newer versions are read by their version-0 prefix, as Kafka does.
 */
export function parseControlRecord(key: Buffer | null, value: Buffer | null, position = 0): ControlRecord {
  if (key === null || key.length < CONTROL_KEY_BYTES) {
    throw new CorruptRecordError(
      position,
      `control record key must hold ${CONTROL_KEY_BYTES} bytes (version, type); got ${key === null ? 'null' : key.length}`,
    );
  }
  const keyVersion = key.readInt16BE(0);
  if (keyVersion < 0) throw new CorruptRecordError(position, `control record key version ${keyVersion} is negative`);
  const typeId = key.readInt16BE(2);
  if (typeId !== TYPE_ID_ABORT && typeId !== TYPE_ID_COMMIT) return { type: 'other', keyVersion, typeId };
  if (value === null || value.length < END_TXN_MARKER_VALUE_BYTES) {
    throw new CorruptRecordError(
      position,
      `transaction marker value must hold ${END_TXN_MARKER_VALUE_BYTES} bytes (version, coordinatorEpoch); ` +
        `got ${value === null ? 'null' : value.length}`,
    );
  }
  const valueVersion = value.readInt16BE(0);
  if (valueVersion < 0) {
    throw new CorruptRecordError(position, `transaction marker value version ${valueVersion} is negative`);
  }
  return {
    type: typeId === TYPE_ID_COMMIT ? 'commit' : 'abort',
    keyVersion,
    valueVersion,
    coordinatorEpoch: value.readInt32BE(2),
  };
}
