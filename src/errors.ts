/**
 * Typed errors for every public boundary. Each names the problem and, where there is one, the fix.
 * `code` is stable and machine-readable; `retriable` says whether the same call may succeed later.
 *
 * Over 800 lines because it is a flat list of small classes, one per Kafka error code or local
 * failure, each a few lines of message; every layer imports them from this one module at the
 * bottom of the import order, and an error raised in storage is answered by the server as the
 * same class, so a split by layer would have no side for most of them to be on.
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

/**
 * A data directory opened for inspection only (refuseRecovery) would be changed by recovery: a
 * torn tail cut, leftovers of interrupted work removed. Nothing was changed.
 */
export class RecoveryNeededError extends SluiceError {
  readonly problems: readonly string[];

  constructor(dataDir: string, problems: readonly string[]) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more partition(s))` : '';
    super(
      'RECOVERY_NEEDED',
      `data directory "${dataDir}" needs recovery, and an inspection does not change it: ${problems[0]}${more}; ` +
        `run \`sluice recover --data-dir ${dataDir}\` (or start \`sluice serve\` on it) to repair it, then inspect again`,
    );
    this.problems = problems;
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

/** A record the caller asked to write that Kafka's format cannot carry (bad key, timestamp...). */
export class InvalidRecordError extends SluiceError {
  constructor(message: string) {
    super('INVALID_RECORD', message);
  }
}

/**
 * Bytes on the wire that do not form the Kafka message they claim to be: truncated, a length or
 * count that does not fit, a null where the version forbids one. Kafka answers such a request with
 * INVALID_REQUEST and closes the connection; the peer's protocol implementation is at fault.
 */
export class ProtocolError extends SluiceError {
  /** Byte index in the decoded buffer where the bad element starts. */
  readonly position: number;
  /** The element the decoder expected there, with the message field it belongs to. */
  readonly expected: string;

  constructor(position: number, expected: string, problem: string) {
    super(
      'INVALID_REQUEST',
      `malformed Kafka protocol message at byte ${position}: expected ${expected}, but ${problem}; ` +
        `the peer does not speak this API version correctly`,
    );
    this.position = position;
    this.expected = expected;
  }
}

/** A request for an API key Sluice does not serve, or for a version outside the range it serves. */
export class UnsupportedVersionError extends SluiceError {
  readonly apiKey: number;
  readonly apiVersion: number;
  /** The request's correlation id when its header was read, so the broker can still answer. */
  readonly correlationId: number | undefined;

  constructor(request: {
    apiKey: number;
    apiVersion: number;
    apiName?: string;
    minVersion?: number;
    maxVersion?: number;
    correlationId?: number;
  }) {
    const { apiKey, apiVersion, apiName, minVersion, maxVersion } = request;
    super(
      'UNSUPPORTED_VERSION',
      apiName === undefined
        ? `API key ${apiKey} is not supported; the client must use only the APIs listed by ApiVersions`
        : `${apiName} (API key ${apiKey}) version ${apiVersion} is not supported; supported versions are ` +
          `${minVersion} to ${maxVersion}, so let the client negotiate through ApiVersions or pin a version in that range`,
    );
    this.apiKey = apiKey;
    this.apiVersion = apiVersion;
    this.correlationId = request.correlationId;
  }
}

/** A message larger than a shared-memory ring can ever hold: the ring's capacity is fixed. */
export class RingMessageTooLargeError extends SluiceError {
  constructor(messageBytes: number, maxMessageBytes: number, capacityBytes: number) {
    super(
      'MESSAGE_TOO_LARGE',
      `message of ${messageBytes} bytes cannot fit a ring buffer of ${capacityBytes} bytes (largest ` +
        `message: ${maxMessageBytes} bytes); split the message or create the ring with a larger capacityBytes`,
    );
  }
}

/** A custom partitioner returned something other than a partition number of the topic. */
export class InvalidPartitionerResultError extends SluiceError {
  constructor(topic: string, result: unknown, partitionCount: number) {
    const shown = typeof result === 'number' ? String(result) : `a ${typeof result}`;
    super(
      'INVALID_PARTITIONER_RESULT',
      `the custom partitioner returned ${shown} for topic "${topic}"; it must return an integer ` +
        `partition from 0 to ${partitionCount - 1} (the topic has ${partitionCount} partition(s))`,
    );
  }
}

/**
 * An error the Kafka protocol defines, carrying Kafka's numeric error code so the wire layer
 * answers with exactly what Apache Kafka would, and kafkajs or librdkafka react the same way.
 */
export class KafkaApiError extends SluiceError {
  /** Kafka's error code (org.apache.kafka.common.protocol.Errors). */
  readonly kafkaErrorCode: number;

  constructor(code: string, kafkaErrorCode: number, message: string, retriable = false) {
    super(code, message, retriable);
    this.kafkaErrorCode = kafkaErrorCode;
  }
}

/**
 * Cluster mode: this broker has just become the leader of the coordinator's internal partition
 * and is still replaying its log into the coordinator's state (Kafka's loadGroupsForPartition).
 */
export class CoordinatorLoadInProgressError extends KafkaApiError {
  constructor(what: string) {
    super('COORDINATOR_LOAD_IN_PROGRESS', 14, `the ${what} coordinator on this broker is still loading its state from its internal topic; retry shortly`, true);
  }
}

/** A request whose fields break the API's rules (a negative partition, a duplicate member id...). */
export class InvalidRequestError extends KafkaApiError {
  constructor(message: string) {
    super('INVALID_REQUEST', 42, message);
  }
}

/** The group coordinator is shutting down or its group is being deleted; retry shortly. */
export class CoordinatorNotAvailableError extends KafkaApiError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('COORDINATOR_NOT_AVAILABLE', 15, `the group coordinator is not available: ${reason}; retry shortly`, true);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export class OffsetMetadataTooLargeError extends KafkaApiError {
  constructor(topic: string, partition: number, lengthChars: number, maxChars: number) {
    super(
      'OFFSET_METADATA_TOO_LARGE',
      12,
      `offset metadata for ${topic}-${partition} has ${lengthChars} characters, over the limit of ` +
        `${maxChars} (offsetMetadataMaxChars); commit shorter metadata`,
    );
  }
}

/** The member's generation is not the group's: it missed a rebalance and must rejoin. */
export class IllegalGenerationError extends KafkaApiError {
  constructor(groupId: string, generationId: number, currentGenerationId: number | null) {
    super(
      'ILLEGAL_GENERATION',
      22,
      currentGenerationId === null
        ? `group "${groupId}" does not exist, so generation ${generationId} is not valid; join the group ` +
            `first, or commit with generation -1 and no member id for a standalone consumer`
        : `generation ${generationId} of group "${groupId}" is stale (the group is at generation ` +
            `${currentGenerationId}); rejoin the group to get the current generation`,
    );
  }
}

export class InconsistentGroupProtocolError extends KafkaApiError {
  constructor(message: string) {
    super('INCONSISTENT_GROUP_PROTOCOL', 23, message);
  }
}

export class InvalidGroupIdError extends KafkaApiError {
  constructor(groupId: unknown) {
    super(
      'INVALID_GROUP_ID',
      24,
      `group id ${JSON.stringify(groupId)} is not valid: group membership needs a non-empty string`,
    );
  }
}

/** The member id is not (or no longer) in the group: it was removed and must join again. */
export class UnknownMemberIdError extends KafkaApiError {
  constructor(groupId: string, memberId: string, why = 'is not a member of it') {
    super(
      'UNKNOWN_MEMBER_ID',
      25,
      `member "${memberId}" of group "${groupId}" ${why}; join again with an empty member id`,
    );
  }
}

export class InvalidSessionTimeoutError extends KafkaApiError {
  constructor(sessionTimeoutMs: number, minMs: number, maxMs: number) {
    super(
      'INVALID_SESSION_TIMEOUT',
      26,
      `session timeout ${sessionTimeoutMs} ms is outside the coordinator's range [${minMs}, ${maxMs}] ms ` +
        `(minSessionTimeoutMs, maxSessionTimeoutMs); choose a session timeout within it`,
    );
  }
}

/** The group is rebalancing: the member must (re)join to take part in the new generation. */
export class RebalanceInProgressError extends KafkaApiError {
  constructor(groupId: string, detail = 'the group is rebalancing') {
    super('REBALANCE_IN_PROGRESS', 27, `group "${groupId}": ${detail}; rejoin the group`);
  }
}

export class NonEmptyGroupError extends KafkaApiError {
  constructor(groupId: string) {
    super('NON_EMPTY_GROUP', 68, `group "${groupId}" still has members; stop its consumers before deleting it`);
  }
}

export class GroupIdNotFoundError extends KafkaApiError {
  constructor(groupId: string, detail = 'does not exist') {
    super('GROUP_ID_NOT_FOUND', 69, `group "${groupId}" ${detail}`);
  }
}

/**
 * JoinGroup v4+ handshake: the coordinator assigned `memberId` and the member must send JoinGroup
 * again with it. Not a failure, a step of the protocol (KIP-394).
 */
export class MemberIdRequiredError extends KafkaApiError {
  readonly memberId: string;

  constructor(groupId: string, memberId: string) {
    super(
      'MEMBER_ID_REQUIRED',
      79,
      `group "${groupId}" assigned member id "${memberId}"; send JoinGroup again with this member id`,
    );
    this.memberId = memberId;
  }
}

export class GroupMaxSizeReachedError extends KafkaApiError {
  constructor(groupId: string, maxGroupSize: number) {
    super(
      'GROUP_MAX_SIZE_REACHED',
      81,
      `group "${groupId}" already has ${maxGroupSize} members (maxGroupSize); raise maxGroupSize or use fewer consumers`,
    );
  }
}

/** Another member joined with the same group.instance.id: this (older) one is a zombie. */
export class FencedInstanceIdError extends KafkaApiError {
  constructor(groupId: string, groupInstanceId: string, memberId: string) {
    super(
      'FENCED_INSTANCE_ID',
      82,
      `member "${memberId}" of group "${groupId}" was fenced: group instance id "${groupInstanceId}" now ` +
        `belongs to a newer member; give every consumer instance its own group.instance.id`,
    );
  }
}

/**
 * A process died while replacing a stale data directory lock and left its takeover file behind.
 * Only a person can tell that no other opener is using it, so Sluice stops rather than guess.
 */
export class LockTakeoverInterruptedError extends SluiceError {
  constructor(file: string, dataDir: string, pid: number) {
    super(
      'LOCK_TAKEOVER_INTERRUPTED',
      `file "${file}" was left by process ${pid}, which stopped while taking over a stale lock of data ` +
        `directory "${dataDir}"; if no Sluice process uses that directory, delete the file and retry`,
    );
  }
}

/** The producer's bufferMemory stayed full for maxBlockMs: records arrive faster than they can be written. */
export class BufferExhaustedError extends SluiceError {
  constructor(neededBytes: number, bufferMemoryBytes: number, maxBlockMs: number) {
    super(
      'BUFFER_EXHAUSTED',
      `the producer waited ${maxBlockMs} ms (maxBlockMs) for ${neededBytes} bytes of its ${bufferMemoryBytes}-byte ` +
        `bufferMemory; records arrive faster than the broker writes them: slow the sends down, raise bufferMemory ` +
        `or maxBlockMs`,
      true,
    );
  }
}

/** A consumer with autoOffsetReset 'none' met a partition where its group has no committed offset. */
export class NoOffsetForPartitionError extends SluiceError {
  readonly topic: string;
  readonly partition: number;

  constructor(topic: string, partition: number, why = 'its group has no committed offset') {
    super(
      'NO_OFFSET_FOR_PARTITION',
      `no position for ${topic}-${partition}: ${why} and autoOffsetReset is 'none'; commit or seek to an ` +
        `offset first, or set autoOffsetReset to 'earliest' or 'latest'`,
    );
    this.topic = topic;
    this.partition = partition;
  }
}

/**
 * A shard worker thread died (or failed) while the call was in flight. The shard is restarted and
 * its partitions recovered; whether the request took effect is unknown, as after a Kafka request
 * timeout, so retry (an idempotent producer's retry cannot duplicate). Not retriable once the
 * shard kept dying and was given up on.
 */
export class ShardFailedError extends SluiceError {
  readonly shard: number;

  constructor(shard: number, reason: string, retriable = true) {
    super(
      'SHARD_FAILED',
      retriable
        ? `shard ${shard} failed before answering (${reason}); it is being restarted, retry the call`
        : `shard ${shard} is down: ${reason}`,
      retriable,
    );
    this.shard = shard;
  }
}

/**
 * An attached thread's append or read named a partition slot that was closed or reopened since
 * the thread read its topic's metadata (the topic was deleted, or deleted and created again).
 * Retriable: the thread drops its snapshot of the topic and reads it again.
 */
export class StaleTopicMetadataError extends SluiceError {
  readonly shard: number;
  readonly slot: number;

  constructor(shard: number, slot: number) {
    super(
      'UNKNOWN_TOPIC_OR_PARTITION',
      `partition slot ${slot} on shard ${shard} was closed or reopened since this thread read its topic's metadata ` +
        '(the topic was deleted or recreated); this thread reads the metadata again: retry',
      true,
    );
    this.shard = shard;
    this.slot = slot;
  }
}

/** Sluice.attach past the broker's maxAttachedThreads: each attached thread holds a ring pair per shard. */
export class AttachedThreadsExhaustedError extends SluiceError {
  readonly maxAttachedThreads: number;

  constructor(maxAttachedThreads: number) {
    super(
      'ATTACHED_THREADS_EXHAUSTED',
      `${maxAttachedThreads} threads are attached to this broker already (maxAttachedThreads); close an attached ` +
        'Sluice (or end its thread) first, or open the broker with a larger maxAttachedThreads',
      true,
    );
    this.maxAttachedThreads = maxAttachedThreads;
  }
}

/** A replication factor other than 1 (or -1 for the default) asked of a single broker, or one a cluster cannot place (more than its live brokers, below 1). */
export class InvalidReplicationFactorError extends SluiceError {
  /** `reason`: why a cluster cannot place it; without one, the refusal of a single-node broker. */
  constructor(topic: string, replicationFactor: number, reason?: string) {
    super(
      'INVALID_REPLICATION_FACTOR',
      reason !== undefined
        ? `topic "${topic}" asks for replication factor ${replicationFactor}: ${reason}`
        : `topic "${topic}" asks for replication factor ${replicationFactor}, but this broker is a single node; ` +
            `use 1 (or -1 for the default) here, or run a cluster (sluice serve --zookeeper) for replicas`,
    );
  }
}

/** An offset given to seek, assign or commit that cannot be one: negative, fractional, not a number. */
export class InvalidOffsetError extends SluiceError {
  constructor(offset: unknown, what: string) {
    super(
      'INVALID_OFFSET',
      `${what} must be a non-negative integer offset (got ${JSON.stringify(offset) ?? String(offset)}); to start ` +
        `from either end of the log use autoOffsetReset 'earliest' or 'latest'`,
    );
  }
}

/**
 * SASL authentication failed: unknown user, wrong password or a malformed exchange. The message
 * never says which, so a client cannot probe for user names.
 */
export class SaslAuthenticationError extends KafkaApiError {
  constructor(mechanism: string, detail = 'invalid username or password') {
    super(
      'SASL_AUTHENTICATION_FAILED',
      58,
      `Authentication failed during ${mechanism}: ${detail}; check the client's sasl username, password and mechanism`,
    );
  }
}

/** A newer instance with the same transactional.id (or a coordinator timeout) bumped the producer's epoch. */
export class ProducerFencedError extends KafkaApiError {
  constructor(producerId: number, producerEpoch: number, currentEpoch: number, where: string) {
    super(
      'PRODUCER_FENCED',
      90,
      `producer ${producerId} with epoch ${producerEpoch} was fenced at ${where}, which is at epoch ${currentEpoch}: ` +
        `a newer producer with the same transactional.id took over or the transaction timed out; close this ` +
        `producer and create a new one`,
    );
  }
}

/** A transactional request that the transaction's current state does not allow (commit after abort...). */
export class InvalidTxnStateError extends KafkaApiError {
  constructor(detail: string) {
    super('INVALID_TXN_STATE', 48, `invalid transaction state: ${detail}`);
  }
}

/** The producer id is not the one the coordinator holds for the transactional id. */
export class InvalidProducerIdMappingError extends KafkaApiError {
  constructor(transactionalId: string, producerId: number, currentProducerId: number | null) {
    super(
      'INVALID_PRODUCER_ID_MAPPING',
      49,
      currentProducerId === null
        ? `transactional id "${transactionalId}" is unknown to the coordinator (never initialized, or expired); ` +
            `call initTransactions (InitProducerId) first`
        : `producer id ${producerId} does not belong to transactional id "${transactionalId}" (it has producer id ` +
            `${currentProducerId}); call initTransactions (InitProducerId) again`,
    );
  }
}

export class InvalidTransactionTimeoutError extends KafkaApiError {
  constructor(transactionTimeoutMs: number, maxTransactionTimeoutMs: number) {
    super(
      'INVALID_TRANSACTION_TIMEOUT',
      50,
      `transaction timeout ${transactionTimeoutMs} ms is outside (0, ${maxTransactionTimeoutMs}] ms, the broker's ` +
        `transaction.max.timeout.ms; lower the producer's transactionTimeout or raise transactionMaxTimeoutMs`,
    );
  }
}

/** The transactional id is between states (a commit or abort completing): retry shortly. */
export class ConcurrentTransactionsError extends KafkaApiError {
  constructor(transactionalId: string, detail: string) {
    super(
      'CONCURRENT_TRANSACTIONS',
      51,
      `transactional id "${transactionalId}": ${detail}; retry once it completes`,
      true,
    );
  }
}

/** The transaction coordinator could not persist or read its state (storage failed or it is closing); retry. */
export class TransactionCoordinatorNotAvailableError extends KafkaApiError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('COORDINATOR_NOT_AVAILABLE', 15, `the transaction coordinator is not available: ${reason}; retry shortly`, true);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** Persisted transaction state (a transaction log record, a producer id block) that Sluice cannot have written. */
export class CorruptTransactionStateError extends SluiceError {
  readonly reason: string;

  constructor(where: string, reason: string) {
    super('CORRUPT_TRANSACTION_STATE', `corrupt transaction state in ${where}: ${reason}`);
    this.reason = reason;
  }
}

/** Every producer id up to 2^53 - 1 was handed out: no new producer can be initialized. */
export class ProducerIdsExhaustedError extends KafkaApiError {
  constructor(lastProducerId: number) {
    super(
      'UNKNOWN_SERVER_ERROR',
      -1,
      `producer ids are exhausted: ${lastProducerId} was the largest one Sluice can hand out; start a new data directory`,
    );
  }
}

/**
 * An idempotent producer's batch does not follow its previous one in this partition: a gap (a
 * batch was lost in between), a batch from a new epoch not starting at sequence 0, or a retry of a
 * batch older than the five the log remembers per producer.
 */
export class OutOfOrderSequenceError extends KafkaApiError {
  readonly producerId: number;

  constructor(producerId: number, detail: string) {
    super(
      'OUT_OF_ORDER_SEQUENCE_NUMBER',
      45,
      `out of order sequence number from producer ${producerId}: ${detail}; the producer lost a batch or ` +
        `retried one the log no longer remembers, so it must reset its sequence numbers (bump its epoch) or restart`,
    );
    this.producerId = producerId;
  }
}

/** A batch or transaction marker carries an older epoch than the log has seen from the producer. */
export class InvalidProducerEpochError extends KafkaApiError {
  constructor(producerId: number, producerEpoch: number, currentEpoch: number) {
    super(
      'INVALID_PRODUCER_EPOCH',
      47,
      `producer ${producerId} wrote with epoch ${producerEpoch}, but the log has seen epoch ${currentEpoch}: a newer ` +
        `instance of this producer took over; abort the transaction or close this producer`,
    );
  }
}

/** A transaction marker from a coordinator older than the last one that wrote to this producer's transactions. */
export class TransactionCoordinatorFencedError extends KafkaApiError {
  constructor(producerId: number, coordinatorEpoch: number, currentCoordinatorEpoch: number) {
    super(
      'TRANSACTION_COORDINATOR_FENCED',
      52,
      `transaction marker for producer ${producerId} comes from coordinator epoch ${coordinatorEpoch}, older than ` +
        `${currentCoordinatorEpoch}: a newer transaction coordinator took over`,
    );
  }
}

/**
 * OffsetDelete of a partition whose topic the group still consumes: its members would commit the
 * offset again (or start over from the reset policy), so Kafka refuses it (KIP-496).
 */
export class GroupSubscribedToTopicError extends KafkaApiError {
  constructor(groupId: string, topic: string) {
    super(
      'GROUP_SUBSCRIBED_TO_TOPIC',
      86,
      `group "${groupId}" is subscribed to topic "${topic}"; stop its consumers or unsubscribe them from the topic before deleting its offsets`,
    );
  }
}

/**
 * A transactional write (a batch, a TxnOffsetCommit) for a partition or group that is not part of
 * the producer's ongoing transaction, as the coordinator's verification finds it (KIP-890): the
 * producer must abort the transaction. Clients from before KIP-890 know it as INVALID_TXN_STATE.
 */
export class TransactionAbortableError extends KafkaApiError {
  constructor(transactionalId: string, what: string) {
    super(
      'TRANSACTION_ABORTABLE',
      120,
      `${what} is not part of the ongoing transaction of "${transactionalId}": add it first (AddPartitionsToTxn, ` +
        `AddOffsetsToTxn), or abort this transaction and start a new one`,
    );
  }
}

/** A transactional batch sent without the producer's transactional id (ProduceRequest transactionalId null). */
export class TransactionalIdRequiredError extends KafkaApiError {
  constructor(topic: string, partition: number) {
    super(
      'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
      53,
      `the transactional batch for ${topic}-${partition} came without a transactional id; a transactional producer ` +
        `sends its transactional.id with every produce request`,
    );
  }
}

/**
 * The coordinator could not confirm that a partition belongs to the transaction because the
 * transaction is completing; Kafka answers NOT_ENOUGH_REPLICAS so every client retries the batch.
 */
export class TransactionVerificationPendingError extends KafkaApiError {
  constructor(transactionalId: string, detail: string) {
    super(
      'NOT_ENOUGH_REPLICAS',
      19,
      `the partition could not be verified as part of the transaction of "${transactionalId}" (${detail}); retry shortly`,
      true,
    );
  }
}

/**
 * A request the broker's limits or policy forbid (Kafka's POLICY_VIOLATION): creating partitions
 * past the broker's maxPartitions, which bounds the files and memory its partitions hold, or
 * deleting records of a topic that only compacts.
 */
export class PolicyViolationError extends KafkaApiError {
  constructor(message: string) {
    super('POLICY_VIOLATION', 44, message);
  }
}

/**
 * A consumer's handler (or fetch) kept failing through every retry of its `retry` options
 * (kafkajs's KafkaJSNumberOfRetriesExceeded): `cause` is the last failure. The consumer restarts
 * unless `retry.restartOnFailure` says not to.
 */
export class RetriesExceededError extends SluiceError {
  readonly retryCount: number;
  /** The backoff the next retry would have waited, ms: the delay before the restart. */
  readonly retryTimeMs: number;

  constructor(cause: unknown, retryCount: number, retryTimeMs: number) {
    super(
      'RETRIES_EXCEEDED',
      `${cause instanceof Error ? cause.message : String(cause)} (still failing after ${retryCount} retries; ` +
        `fix the handler or raise retry.retries)`,
      true,
    );
    this.cause = cause;
    this.retryCount = retryCount;
    this.retryTimeMs = retryTimeMs;
  }
}

/** One record a Produce refused, by its index in its batch (Kafka's ProduceResponse RecordError). */
export interface RecordErrorEntry {
  readonly batchIndex: number;
  readonly message: string;
}

/** Separates the entries of RecordValidationError.recordErrorList (never in a message). */
const RECORD_ERROR_SEPARATOR = '\u001e';
/** Separates an entry's index from its message. */
const RECORD_ERROR_INDEX_SEPARATOR = '\u001f';
/** The encoded list stays under the 1 KiB an error's string field keeps when it crosses a thread. */
const RECORD_ERROR_LIST_MAX_CHARS = 960;

/**
 * Kafka's RecordValidationException: records of a batch broke a rule the broker checks record by
 * record (INVALID_RECORD: a record without a key on a compacted topic; INVALID_TIMESTAMP: a
 * timestamp outside message.timestamp.before.max.ms / after.max.ms). The whole batch is refused;
 * `recordErrors` names each refused record, for Produce v8+'s per-record error list.
 */
export class RecordValidationError extends KafkaApiError {
  /**
   * The refused records encoded in one string field, because only strings and numbers cross the
   * shard threads with an error. Read it through `recordErrors`.
   */
  readonly recordErrorList: string;

  constructor(kind: 'INVALID_RECORD' | 'INVALID_TIMESTAMP', message: string, recordErrors: readonly RecordErrorEntry[]) {
    super(kind, kind === 'INVALID_RECORD' ? 87 : 32, message);
    let list = '';
    for (const entry of recordErrors) {
      const encoded = `${entry.batchIndex}${RECORD_ERROR_INDEX_SEPARATOR}${entry.message}`;
      if (list.length + encoded.length + 1 > RECORD_ERROR_LIST_MAX_CHARS) break;
      list = list.length === 0 ? encoded : `${list}${RECORD_ERROR_SEPARATOR}${encoded}`;
    }
    this.recordErrorList = list;
  }

  /** The refused records (the first ones, when too many to list), in batch order. */
  get recordErrors(): RecordErrorEntry[] {
    if (this.recordErrorList.length === 0) return [];
    return this.recordErrorList.split(RECORD_ERROR_SEPARATOR).map((encoded) => {
      const at = encoded.indexOf(RECORD_ERROR_INDEX_SEPARATOR);
      return { batchIndex: Number(encoded.slice(0, at)), message: encoded.slice(at + 1) };
    });
  }
}

/** A batch whose timestamps the broker cannot accept as a whole (Kafka's INVALID_TIMESTAMP, 32). */
export class InvalidTimestampError extends KafkaApiError {
  constructor(message: string) {
    super('INVALID_TIMESTAMP', 32, message);
  }
}

/**
 * A batch naming a producer id this broker never assigned and cannot track (Kafka's
 * UNKNOWN_PRODUCER_ID, 59): producers get their id from InitProducerId, which hands out ids
 * within the safe-integer range. A client that gets it asks for a new producer id.
 */
export class UnknownProducerIdError extends KafkaApiError {
  constructor(message: string) {
    super('UNKNOWN_PRODUCER_ID', 59, message);
  }
}

/**
 * A write to the data directory failed in the file system (Kafka's KAFKA_STORAGE_ERROR, 56): no
 * space left (ENOSPC, EDQUOT), an I/O error (EIO) or a file system gone read-only (EROFS). Nothing
 * the failed call wrote is visible and nothing acknowledged is lost; reads go on. The partition
 * (or metadata store) refuses writes until the file system takes them again, which the broker
 * checks by itself, so retrying later succeeds once space is freed. `errno` is the system's code.
 */
export class KafkaStorageError extends KafkaApiError {
  readonly errno: string;
  /** The file or directory the failed operation wrote. */
  readonly path: string;

  constructor(path: string, what: string, errno: string, detail: string) {
    super(
      'KAFKA_STORAGE_ERROR',
      56,
      `${what} failed in "${path}": ${errno} (${detail}); ` +
        (errno === 'ENOSPC' || errno === 'EDQUOT'
          ? 'free space on its file system: writes resume by themselves once it has room'
          : 'check the disk and its file system: writes resume by themselves once it takes them again'),
      true,
    );
    this.errno = errno;
    this.path = path;
  }
}

/**
 * NOT_COORDINATOR (16): the coordinator could not write its state (Kafka answers a coordinator
 * whose log append failed with KAFKA_STORAGE_ERROR this way): the client looks the coordinator up
 * again and retries, which succeeds once the write goes through.
 */
export class NotCoordinatorError extends KafkaApiError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('NOT_COORDINATOR', 16, `this broker cannot act as the coordinator right now: ${reason}; retry shortly`, true);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

const AUTHORIZATION_FAILED_CODES = { TOPIC: 29, GROUP: 30, CLUSTER: 31, TRANSACTIONAL_ID: 53 } as const;

/**
 * The connection's principal may not perform the operation on the resource: Kafka's
 * TOPIC_AUTHORIZATION_FAILED (29), GROUP_AUTHORIZATION_FAILED (30), CLUSTER_AUTHORIZATION_FAILED
 * (31) or TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53), by resource type. An ACL granting the
 * operation (CreateAcls, `sluice acls create`) lets it through.
 */
export class AuthorizationFailedError extends KafkaApiError {
  constructor(resourceType: keyof typeof AUTHORIZATION_FAILED_CODES, operation: string, name: string) {
    super(
      `${resourceType}_AUTHORIZATION_FAILED`,
      AUTHORIZATION_FAILED_CODES[resourceType],
      `not authorized to ${operation} ${resourceType.toLowerCase().replace('_', ' ')} "${name}"; an ACL allowing it must be created first`,
    );
  }
}

/**
 * A request naming a leader epoch older than the partition's current one (Kafka's
 * FENCED_LEADER_EPOCH, 74, KIP-320): the client's metadata is stale; it refreshes it and retries.
 */
export class FencedLeaderEpochError extends KafkaApiError {
  constructor(
    topic: string,
    partition: number,
    requestEpoch: number,
    /** The partition's epoch when the request was fenced: Fetch v16+ names it as the current leader's (KIP-951). */
    readonly currentEpoch: number,
  ) {
    super(
      'FENCED_LEADER_EPOCH',
      74,
      `${topic}-${partition}: the request's leader epoch ${requestEpoch} is older than the current epoch ${currentEpoch}; refresh metadata and retry`,
      true,
    );
  }
}

/**
 * A request naming a leader epoch newer than the one this broker knows for the partition (Kafka's
 * UNKNOWN_LEADER_EPOCH, 75, KIP-320): the broker has not caught up with the leadership change yet;
 * the client retries.
 */
export class UnknownLeaderEpochError extends KafkaApiError {
  constructor(topic: string, partition: number, requestEpoch: number, currentEpoch: number) {
    super(
      'UNKNOWN_LEADER_EPOCH',
      75,
      `${topic}-${partition}: the request's leader epoch ${requestEpoch} is newer than the epoch ${currentEpoch} this broker knows; retry after it catches up`,
      true,
    );
  }
}

/**
 * A consumer-protocol member (KIP-848) sent an epoch the coordinator does not know for it (Kafka's
 * FENCED_MEMBER_EPOCH, 110): it must give up its partitions and join again with epoch 0.
 */
export class FencedMemberEpochError extends KafkaApiError {
  constructor(groupId: string, memberId: string, receivedEpoch: number, memberEpoch: number) {
    super(
      'FENCED_MEMBER_EPOCH',
      110,
      `member "${memberId}" of group "${groupId}" sent epoch ${receivedEpoch}, the coordinator has it at epoch ` +
        `${memberEpoch}; the member must abandon its partitions and rejoin with epoch 0`,
    );
  }
}

/** A static member joined with an instance id whose previous member has not left yet (Kafka's UNRELEASED_INSTANCE_ID, 111). */
export class UnreleasedInstanceIdError extends KafkaApiError {
  constructor(groupId: string, instanceId: string, memberId: string) {
    super(
      'UNRELEASED_INSTANCE_ID',
      111,
      `instance id "${instanceId}" of group "${groupId}" is still held by member "${memberId}"; the previous ` +
        `member must leave (epoch -2) or its session end before another one takes the instance id`,
    );
  }
}

/** ConsumerGroupHeartbeat named a server assignor the coordinator does not have (Kafka's UNSUPPORTED_ASSIGNOR, 112). */
export class UnsupportedAssignorError extends KafkaApiError {
  constructor(assignor: string, supported: readonly string[]) {
    super('UNSUPPORTED_ASSIGNOR', 112, `server assignor "${assignor}" is not supported; supported assignors: ${supported.join(', ')}`);
  }
}

/** An offset commit or fetch of a consumer-protocol member with an epoch other than its current one (Kafka's STALE_MEMBER_EPOCH, 113). */
export class StaleMemberEpochError extends KafkaApiError {
  constructor(groupId: string, memberId: string, receivedEpoch: number, memberEpoch: number) {
    super(
      'STALE_MEMBER_EPOCH',
      113,
      `member "${memberId}" of group "${groupId}" used epoch ${receivedEpoch}, its current epoch is ${memberEpoch}; ` +
        'heartbeat to learn the current epoch and retry',
    );
  }
}

/** A request sent with an API version too old for the group's protocol (Kafka's UNSUPPORTED_VERSION, 35). */
export class GroupApiVersionError extends KafkaApiError {
  constructor(message: string) {
    super('UNSUPPORTED_VERSION', 35, message);
  }
}

/**
 * A Schema Registry refusal, as Confluent's REST API states it: the HTTP status and the
 * `error_code` of its JSON body (40401 subject not found, 42201 invalid schema, 409 incompatible...).
 * The registry server answers with it; the registry client raises it from an error body.
 */
export class SchemaRegistryError extends SluiceError {
  readonly status: number;
  readonly errorCode: number;

  constructor(status: number, errorCode: number, message: string) {
    super('SCHEMA_REGISTRY_ERROR', message, status >= 500);
    this.status = status;
    this.errorCode = errorCode;
  }
}

/**
 * Kafka Connect's ConnectException: a connector, task, converter or transform failed, or a worker
 * could not do what was asked. `cause` holds the underlying failure when there is one.
 */
export class ConnectError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'CONNECT_ERROR', message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** Kafka Connect's DataException: a value that does not fit its schema or its converter's format. */
export class ConnectDataError extends ConnectError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'CONNECT_DATA_ERROR' });
  }
}

/**
 * A Connect REST request that cannot be done, with the HTTP status Kafka Connect answers it with
 * (404 unknown connector, 409 conflict or rebalance, 400 invalid config) and its `error_code`.
 */
export class ConnectRestError extends ConnectError {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message, { code: 'CONNECT_REST_ERROR' });
    this.status = status;
  }
}

/**
 * A request for a partition this broker does not lead, in a cluster: the client refreshes its
 * metadata and sends it to the leader (Kafka's NOT_LEADER_OR_FOLLOWER, retriable).
 */
export class NotLeaderOrFollowerError extends SluiceError {
  constructor(topic: string, partition: number, nodeId: number, leader: number) {
    super(
      'NOT_LEADER_OR_FOLLOWER',
      `broker ${nodeId} is not the leader of ${topic}-${partition}` +
        (leader === -1 ? ' and the partition has no live leader now; retry once one is elected' : `; broker ${leader} is: refresh the metadata and send it there`),
      true,
    );
  }
}

/**
 * A cluster change (topic created, grown, deleted, reconfigured) not seen done within its
 * deadline: Kafka's REQUEST_TIMED_OUT. It may still complete; the client looks again.
 */
export class ClusterChangeTimeoutError extends SluiceError {
  constructor(message: string) {
    super('REQUEST_TIMED_OUT', message, true);
  }
}

/**
 * A request only the cluster's controller serves (ElectLeaders, in Kafka's ZooKeeper mode) sent to
 * another broker: Kafka's NOT_CONTROLLER, retriable once the client found the controller.
 */
export class NotControllerError extends SluiceError {
  constructor(nodeId: number, controllerId: number) {
    super(
      'NOT_CONTROLLER',
      `broker ${nodeId} is not the controller (${controllerId === -1 ? 'none is elected now' : `broker ${controllerId} is`}); send the request to the controller Metadata names`,
      true,
    );
  }
}

/** ElectLeaders: the partition already has the leader the election would give it (Kafka's ELECTION_NOT_NEEDED). */
export class ElectionNotNeededError extends SluiceError {
  constructor(topic: string, partition: number, why: string) {
    super('ELECTION_NOT_NEEDED', `${topic}-${partition}: no election needed: ${why}`);
  }
}

/** A preferred-replica election whose preferred replica is not live or not in the ISR (Kafka's PREFERRED_LEADER_NOT_AVAILABLE). */
export class PreferredLeaderNotAvailableError extends SluiceError {
  constructor(topic: string, partition: number, why: string) {
    super('PREFERRED_LEADER_NOT_AVAILABLE', `${topic}-${partition}: the preferred leader cannot lead: ${why}; retry once it is back in the ISR`, true);
  }
}

/** An unclean election that found no live replica to lead (Kafka's ELIGIBLE_LEADERS_NOT_AVAILABLE). */
export class EligibleLeadersNotAvailableError extends SluiceError {
  constructor(topic: string, partition: number, replicas: readonly number[]) {
    super('ELIGIBLE_LEADERS_NOT_AVAILABLE', `${topic}-${partition}: none of its replicas [${replicas.join(', ')}] is live; start one of their brokers`, true);
  }
}

/** A cluster operation ZooKeeper refused or that found the cluster in a state it cannot work with. */
export class ClusterError extends SluiceError {
  constructor(message: string) {
    super('CLUSTER_ERROR', message);
  }
}

/**
 * acks=all on a partition with fewer in-sync replicas than min.insync.replicas (Kafka's
 * NOT_ENOUGH_REPLICAS, retriable): nothing was written.
 */
export class NotEnoughReplicasError extends SluiceError {
  constructor(topic: string, partition: number, isr: readonly number[], minInsyncReplicas: number) {
    super(
      'NOT_ENOUGH_REPLICAS',
      `${topic}-${partition} has ${isr.length} in-sync replica(s) [${isr.join(', ')}], fewer than its min.insync.replicas ${minInsyncReplicas}: ` +
        'acks=all cannot be met and nothing was written; retry once replicas are in sync, or produce with acks=1',
      true,
    );
  }
}

/**
 * acks=all after the append (Kafka's DelayedProduce): the ISR caught up with the records but has
 * shrunk below min.insync.replicas meanwhile (NOT_ENOUGH_REPLICAS_AFTER_APPEND), or did not catch
 * up within the request's timeout (REQUEST_TIMED_OUT). The records are in the leader's log either
 * way; a retry by an idempotent producer is answered as a duplicate.
 */
export class ReplicationIncompleteError extends SluiceError {
  constructor(topic: string, partition: number, offset: number, reason: { isr: readonly number[]; minInsyncReplicas: number } | { timeoutMs: number }) {
    super(
      'timeoutMs' in reason ? 'REQUEST_TIMED_OUT' : 'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
      'timeoutMs' in reason
        ? `${topic}-${partition}: the in-sync replicas did not reach offset ${offset} within the request timeout ${reason.timeoutMs} ms; the records are written on the leader, retry to learn their fate`
        : `${topic}-${partition}: the records up to offset ${offset} were written, but the ISR [${reason.isr.join(', ')}] shrank below min.insync.replicas ${reason.minInsyncReplicas} meanwhile`,
      true,
    );
  }
}

/**
 * A follower was given batches that do not continue its log (Kafka's UnexpectedAppendOffsetException
 * and its epoch check in appendAsFollower): nothing was written; the replica fetcher fetches again
 * from the log end offset, or truncates first.
 */
export class OffsetOutOfOrderError extends SluiceError {
  constructor(message: string) {
    super('UNEXPECTED_APPEND_OFFSET', message, true);
  }
}

/** A replica list that cannot be used: empty, a broker twice, or a broker not live (Kafka's INVALID_REPLICA_ASSIGNMENT). */
export class InvalidReplicaAssignmentError extends SluiceError {
  constructor(message: string) {
    super('INVALID_REPLICA_ASSIGNMENT', message);
  }
}

/** Kafka Streams' TopologyException: a topology that cannot be built or run as written. */
export class TopologyError extends SluiceError {
  constructor(message: string) {
    super('TOPOLOGY_EXCEPTION', `Invalid topology: ${message}`);
  }
}

/** Kafka Streams' StreamsException: the application failed while processing (the cause is attached). */
export class StreamsError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STREAMS_EXCEPTION', message);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Kafka Streams' InvalidStateStoreException: the store is not (or no longer) queryable here. */
export class InvalidStateStoreError extends SluiceError {
  constructor(message: string) {
    super('INVALID_STATE_STORE', message, true);
  }
}
