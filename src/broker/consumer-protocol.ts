/**
 * Kafka's ConsumerProtocol: the bytes a consumer puts in JoinGroup's protocol metadata (its
 * Subscription) and the bytes the group leader sends back through SyncGroup (each member's
 * Assignment), for the "consumer" protocol type. The broker treats both as opaque; the members
 * (kafkajs, librdkafka, the Java client, Sluice's embedded consumer) must agree on them.
 *
 * Layout, from Kafka's ConsumerProtocolSubscription.json / ConsumerProtocolAssignment.json (not
 * flexible: classic int16-length strings, int32-length bytes and arrays, no tagged fields), each
 * message prefixed by its int16 version:
 *
 *   Subscription v0: topics [string], userData nullable bytes
 *                v1: + ownedPartitions [topic string, partitions [int32]]
 *                v2: + generationId int32 (default -1)
 *                v3: + rackId nullable string (default null)
 *   Assignment   v0-v3: assignedPartitions [topic string, partitions [int32]], userData nullable bytes
 *
 * Compatibility rules, as Kafka applies them: a newer version than we know is parsed with the
 * newest layout we know and the bytes after it are ignored (versions only ever append fields);
 * fields a lower version cannot carry are all "ignorable", so encoding at that version drops them.
 * Malformed bytes fail with ProtocolError (byte position and field); bad arguments to the
 * encoders with InvalidRequestError.
 */
import { InvalidRequestError } from '../errors.js';
import { MessageCodec } from '../protocol/wire/codec.js';
import { Reader, STRING_MAX_BYTES } from '../protocol/wire/reader.js';
import { array, bytes, int32, NO_VERSIONS, parseVersions, string } from '../protocol/wire/schema.js';
import { Writer } from '../protocol/wire/writer.js';
import { INT32_MAX } from '../protocol/limits.js';

/** The protocol type consumers declare in JoinGroup. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';
export const SUBSCRIPTION_MAX_VERSION = 3;
export const ASSIGNMENT_MAX_VERSION = 3;
/** Kafka's default for a subscription without a generation (v0, v1). */
export const NO_GENERATION_ID = -1;

export interface TopicPartitions {
  topic: string;
  /** Partition numbers, in the order they were given (assignors emit them ascending). */
  partitions: number[];
}

export interface Subscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  /** Partitions the member owns now (v1+); cooperative assignors keep these sticky. */
  ownedPartitions: TopicPartitions[];
  /** The generation in which the member got its owned partitions (v2+), or -1. */
  generationId: number;
  /** The member's client.rack (v3+), or null. */
  rackId: string | null;
}

export interface Assignment {
  version: number;
  assignedPartitions: TopicPartitions[];
  userData: Buffer | null;
}

export type SubscriptionInput = Pick<Subscription, 'topics'> & Partial<Omit<Subscription, 'version' | 'topics'>>;
export type AssignmentInput = Pick<Assignment, 'assignedPartitions'> & Partial<Pick<Assignment, 'userData'>>;

const topicPartitionsSchema = { topic: string(), partitions: array(int32()) };

// Transcribed from ConsumerProtocolSubscription.json and ConsumerProtocolAssignment.json.
const subscriptionCodec = new MessageCodec(
  'ConsumerProtocolSubscription',
  {
    topics: array(string()),
    userData: bytes({ nullable: '0+' }),
    ownedPartitions: array(topicPartitionsSchema, { versions: '1+' }),
    generationId: int32({ versions: '2+', default: NO_GENERATION_ID }),
    rackId: string({ versions: '3+', nullable: '3+', default: null }),
  },
  parseVersions(`0-${SUBSCRIPTION_MAX_VERSION}`),
  NO_VERSIONS,
);

const assignmentCodec = new MessageCodec(
  'ConsumerProtocolAssignment',
  {
    assignedPartitions: array(topicPartitionsSchema),
    userData: bytes({ nullable: '0+' }),
  },
  parseVersions(`0-${ASSIGNMENT_MAX_VERSION}`),
  NO_VERSIONS,
);

// One writer reused by every encode: the result is copied out at its exact size.
const writer = new Writer({ initialBytes: 1024, zeroCopyMinBytes: Infinity });

export function encodeSubscription(subscription: SubscriptionInput, version = SUBSCRIPTION_MAX_VERSION): Buffer {
  checkVersion(version, SUBSCRIPTION_MAX_VERSION, 'Subscription');
  const topics = subscription.topics;
  if (!Array.isArray(topics)) throw new InvalidRequestError('Subscription.topics must be an array of topic names');
  topics.forEach((topic, i) => checkString(topic, `Subscription.topics[${i}]`));
  const userData = subscription.userData ?? null;
  checkNullableBytes(userData, 'Subscription.userData');
  const ownedPartitions = subscription.ownedPartitions ?? [];
  checkTopicPartitionsList(ownedPartitions, 'Subscription.ownedPartitions');
  const generationId = subscription.generationId ?? NO_GENERATION_ID;
  if (!Number.isInteger(generationId) || generationId < -1 || generationId > INT32_MAX) {
    throw new InvalidRequestError(`Subscription.generationId must be an int32 >= -1, got ${generationId}`);
  }
  const rackId = subscription.rackId ?? null;
  if (rackId !== null) checkString(rackId, 'Subscription.rackId');

  writer.reset();
  writer.int16(version);
  subscriptionCodec.write(writer, version, { topics, userData, ownedPartitions, generationId, rackId });
  return Buffer.from(writer.toBuffer());
}

export function decodeSubscription(buf: Buffer): Subscription {
  const reader = new Reader(buf);
  const version = readVersion(reader, 'ConsumerProtocolSubscription');
  const fields = subscriptionCodec.read(reader, Math.min(version, SUBSCRIPTION_MAX_VERSION));
  return {
    version,
    topics: fields.topics,
    // Copied: the metadata belongs to a request frame that does not outlive the call.
    userData: copyOrNull(fields.userData),
    ownedPartitions: fields.ownedPartitions,
    generationId: fields.generationId,
    rackId: fields.rackId,
  };
}

export function encodeAssignment(assignment: AssignmentInput, version = ASSIGNMENT_MAX_VERSION): Buffer {
  checkVersion(version, ASSIGNMENT_MAX_VERSION, 'Assignment');
  checkTopicPartitionsList(assignment.assignedPartitions, 'Assignment.assignedPartitions');
  const userData = assignment.userData ?? null;
  checkNullableBytes(userData, 'Assignment.userData');

  writer.reset();
  writer.int16(version);
  assignmentCodec.write(writer, version, { assignedPartitions: assignment.assignedPartitions, userData });
  return Buffer.from(writer.toBuffer());
}

/**
 * Decodes a member's assignment. Zero bytes decode to an empty assignment: that is what the
 * coordinator hands a member the leader left out of its SyncGroup (Kafka does the same).
 */
export function decodeAssignment(buf: Buffer): Assignment {
  if (buf.length === 0) return { version: 0, assignedPartitions: [], userData: null };
  const reader = new Reader(buf);
  const version = readVersion(reader, 'ConsumerProtocolAssignment');
  const fields = assignmentCodec.read(reader, Math.min(version, ASSIGNMENT_MAX_VERSION));
  return { version, assignedPartitions: fields.assignedPartitions, userData: copyOrNull(fields.userData) };
}

/** The int16 version prefix; versions above ours are read with our newest layout (Kafka's rule). */
function readVersion(reader: Reader, message: string): number {
  reader.context = `${message} version`;
  const start = reader.pos;
  const version = reader.int16();
  if (version < 0) throw reader.fail(start, 'a version >= 0', `it is ${version}`);
  return version;
}

function copyOrNull(bytes: Buffer | null): Buffer | null {
  return bytes === null ? null : Buffer.from(bytes);
}

function checkVersion(version: number, max: number, what: string): void {
  if (!Number.isInteger(version) || version < 0 || version > max) {
    throw new InvalidRequestError(`${what} version must be an integer from 0 to ${max}, got ${version}`);
  }
}

function checkString(value: unknown, field: string): void {
  if (typeof value !== 'string') throw new InvalidRequestError(`${field} must be a string, got ${typeof value}`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > STRING_MAX_BYTES) {
    throw new InvalidRequestError(`${field} has ${bytes} UTF-8 bytes; Kafka strings hold at most ${STRING_MAX_BYTES}`);
  }
}

function checkNullableBytes(value: unknown, field: string): void {
  if (value !== null && !Buffer.isBuffer(value)) throw new InvalidRequestError(`${field} must be a Buffer or null`);
}

function checkTopicPartitionsList(list: unknown, field: string): void {
  if (!Array.isArray(list)) throw new InvalidRequestError(`${field} must be an array of { topic, partitions }`);
  list.forEach((entry: TopicPartitions, i) => {
    checkString(entry?.topic, `${field}[${i}].topic`);
    if (!Array.isArray(entry.partitions)) {
      throw new InvalidRequestError(`${field}[${i}].partitions must be an array of partition numbers`);
    }
    for (const partition of entry.partitions) {
      if (!Number.isInteger(partition) || partition < 0 || partition > INT32_MAX) {
        throw new InvalidRequestError(
          `${field}[${i}] (topic "${entry.topic}") has partition ${partition}; partitions are int32 numbers >= 0`,
        );
      }
    }
  });
}
