/**
 * Typed errors for every public boundary. Each names the problem and, where there is one, the fix.
 * `code` is stable and machine-readable; `retriable` says whether the same call may succeed later.
 */
export class SluiceError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, retriable = false) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.retriable = retriable;
  }
}

/** Bytes that do not form a valid record batch: bad length, magic, CRC, count or varint. */
export class CorruptRecordError extends SluiceError {
  /** Byte position in the buffer (or file) where the bad batch starts. */
  readonly position: number;
  readonly reason: string;

  constructor(position: number, reason: string) {
    super('CORRUPT_MESSAGE', `corrupt record batch at byte ${position}: ${reason}`);
    this.position = position;
    this.reason = reason;
  }
}

export class UnsupportedCompressionError extends SluiceError {
  readonly codec: string;

  constructor(codec: string) {
    super(
      'UNSUPPORTED_COMPRESSION_TYPE',
      `compression codec "${codec}" is not supported; use one of none, gzip, lz4`,
    );
    this.codec = codec;
  }
}

export class OffsetOutOfRangeError extends SluiceError {
  readonly offset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;

  constructor(offset: number, logStartOffset: number, logEndOffset: number, where = '') {
    super(
      'OFFSET_OUT_OF_RANGE',
      `offset ${offset}${where ? ` in ${where}` : ''} is out of range: the log holds offsets ` +
        `[${logStartOffset}, ${logEndOffset}); seek to the earliest or latest offset`,
    );
    this.offset = offset;
    this.logStartOffset = logStartOffset;
    this.logEndOffset = logEndOffset;
  }
}

export class RecordTooLargeError extends SluiceError {
  constructor(sizeBytes: number, limitBytes: number, limitName: string) {
    super(
      'MESSAGE_TOO_LARGE',
      `record batch of ${sizeBytes} bytes exceeds ${limitName} (${limitBytes} bytes); ` +
        `raise ${limitName} or send smaller records`,
    );
  }
}

export class TopicNotFoundError extends SluiceError {
  readonly topic: string;

  constructor(topic: string) {
    super(
      'UNKNOWN_TOPIC_OR_PARTITION',
      `topic "${topic}" does not exist; create it with admin.createTopics({ topics: [{ topic: "${topic}" }] }) ` +
        `or "sluice topics create ${topic}"`,
    );
    this.topic = topic;
  }
}

export class TopicExistsError extends SluiceError {
  constructor(topic: string) {
    super('TOPIC_ALREADY_EXISTS', `topic "${topic}" already exists`);
  }
}

export class PartitionNotFoundError extends SluiceError {
  constructor(topic: string, partition: number, partitionCount: number) {
    super(
      'UNKNOWN_TOPIC_OR_PARTITION',
      `partition ${partition} of topic "${topic}" does not exist; the topic has ${partitionCount} ` +
        `partition(s), numbered 0 to ${partitionCount - 1}`,
    );
  }
}

export class InvalidPartitionsError extends SluiceError {
  constructor(message: string) {
    super('INVALID_PARTITIONS', message);
  }
}

export class InvalidConfigError extends SluiceError {
  constructor(message: string) {
    super('INVALID_CONFIG', message);
  }
}

export class InvalidTopicError extends SluiceError {
  constructor(message: string) {
    super('INVALID_TOPIC_EXCEPTION', message);
  }
}

/** Another process holds the data directory. */
export class DataDirLockedError extends SluiceError {
  readonly pid: number;

  constructor(dataDir: string, pid: number) {
    super(
      'DATA_DIR_LOCKED',
      `data directory "${dataDir}" is in use by process ${pid}; stop that process, use another ` +
        `--data-dir, or talk to the running server with --bootstrap-server host:port`,
    );
    this.pid = pid;
  }
}

/** A file on disk that is not what Sluice wrote (unparseable metadata, impossible index). */
export class CorruptFileError extends SluiceError {
  constructor(file: string, reason: string) {
    super('CORRUPT_FILE', `file "${file}" is corrupt: ${reason}`);
  }
}

/** An operation on something already closed. */
export class ClosedError extends SluiceError {
  constructor(what: string) {
    super('CLOSED', `${what} is closed; open a new one`);
  }
}
