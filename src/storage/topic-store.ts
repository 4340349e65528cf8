/**
 * Topic metadata, persisted in the data directory: one JSON file per topic,
 * `<dataDir>/__sluice_meta/topics/<topic>.json`, holding its name, topic id, partition count,
 * config overrides and creation time.
 *
 * Every change is atomic and durable before the call returns: the new file is written under a
 * temporary name, fsynced, renamed over the old one, and the directory is fsynced, so a crash leaves
 * either the old or the new metadata, never a torn file. One file per topic keeps each change to
 * one small write. The calls are synchronous: topic changes are rare administrative operations, and
 * a synchronous store cannot interleave two changes to the same topic.
 *
 * Topic names follow Kafka's rules exactly (legal characters, length, "." and "..", and no two
 * topics that differ only by '.' versus '_', which would collide in metric names).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ClosedError,
  CorruptFileError,
  InvalidPartitionsError,
  InvalidTopicError,
  TopicExistsError,
  TopicNotFoundError,
} from '../errors.js';
import { type DataDir, TOPIC_NAME_CHARS } from './data-dir.js';
import { fsyncDirectory, replaceFile } from './durable-fs.js';
import {
  alterTopicConfigs,
  type TopicConfigInput,
  type TopicConfigOverrides,
  type TopicConfigValue,
  validateTopicConfigs,
} from './topic-config.js';

export const TOPICS_DIR_NAME = 'topics';
export const MAX_TOPIC_NAME_LENGTH = 249;
/** Topics the broker itself creates and owns (consumer group offsets, transaction state). */
export const INTERNAL_TOPICS: readonly string[] = Object.freeze(['__consumer_offsets', '__transaction_state']);
export const DEFAULT_MAX_PARTITIONS_PER_TOPIC = 1000;

const FILE_VERSION = 1;
const FILE_SUFFIX = '.json';
/** Temp files end so, topic files in ".json": no topic name can make one look like the other. */
const TEMP_SUFFIX = '.tmp';
/** Kafka's topic id text form: 16 bytes in unpadded base64url. */
const TOPIC_ID_TEXT = /^[A-Za-z0-9_-]{22}$/;

export interface TopicMetadata {
  readonly name: string;
  /** Kafka topic id: 16 random bytes, shown as 22 characters of base64url (as Kafka's tools show it). */
  readonly topicId: string;
  readonly partitionCount: number;
  /** Only the configs this topic sets, as canonical strings; resolveTopicConfig fills in the defaults. */
  readonly configs: TopicConfigOverrides;
  readonly createdAtMs: number;
  /** One of INTERNAL_TOPICS, created by the broker for its own use. */
  readonly internal: boolean;
}

export interface CreateTopicOptions {
  /** Number of partitions, from 1 to maxPartitionsPerTopic; Kafka's num.partitions default is 1. */
  partitions?: number;
  configs?: TopicConfigInput;
  /** Required to create one of INTERNAL_TOPICS, which only the broker may do. */
  internal?: boolean;
  /** The topic id, when a cluster chose it (every replica of a topic has the same id); default a new one. */
  topicId?: string;
}

export interface TopicStoreOptions {
  /** Upper bound on a topic's partition count, so a typo cannot create a million directories. */
  maxPartitionsPerTopic?: number;
}

/** Throws InvalidTopicError naming the broken rule, exactly Kafka's topic name rules. */
export function validateTopicName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidTopicError('topic name is empty; give the topic a name of 1 to 249 characters');
  }
  if (name === '.' || name === '..') {
    throw new InvalidTopicError(`topic name "${name}" is not allowed: "." and ".." are reserved`);
  }
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new InvalidTopicError(
      `topic name is ${name.length} characters long; the limit is ${MAX_TOPIC_NAME_LENGTH}`,
    );
  }
  if (!TOPIC_NAME_CHARS.test(name)) {
    throw new InvalidTopicError(
      `topic name "${name}" is not valid: use only ASCII letters, digits, '.', '_' and '-'`,
    );
  }
}

/** Kafka's collision key: '.' and '_' both become '_' in metric names. */
function collisionKey(name: string): string {
  return name.replaceAll('.', '_');
}

/** A new Kafka topic id: a random (version 4) UUID whose text form does not start with '-'. */
export function newTopicId(): string {
  for (;;) {
    const bytes = randomBytes(16);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const text = bytes.toString('base64url');
    // Kafka avoids ids whose text starts with '-': command-line tools would read them as flags.
    if (!text.startsWith('-')) return text;
  }
}

/** The 16 bytes of a topic id, as the Kafka protocol carries it. */
export function topicIdToBytes(topicId: string): Buffer {
  const bytes = TOPIC_ID_TEXT.test(topicId) ? Buffer.from(topicId, 'base64url') : Buffer.alloc(0);
  if (bytes.length !== 16) {
    throw new InvalidTopicError(`"${topicId}" is not a topic id: expected 22 characters of base64url`);
  }
  return bytes;
}

function mkdirDurable(dir: string): void {
  if (fs.existsSync(dir)) return;
  mkdirDurable(path.dirname(dir));
  fs.mkdirSync(dir);
  fsyncDirectory(path.dirname(dir));
}

function checkPartitionCount(value: unknown, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidPartitionsError(
      `${what} must be an integer from 1 to ${max} (maxPartitionsPerTopic), got ${String(value)}`,
    );
  }
  return value;
}

function corrupt(file: string, problem: string): CorruptFileError {
  return new CorruptFileError(
    file,
    `${problem}; restore it from a backup, or delete it to forget the topic (its partition directories stay on disk)`,
  );
}

/** Parses and checks one topic file; every way it can be wrong is a CorruptFileError naming it. */
function parseTopicFile(file: string, expectedName: string): TopicMetadata {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw corrupt(file, `it is not valid JSON (${(err as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw corrupt(file, 'it is not a JSON object');
  const d = data as Record<string, unknown>;
  if (d.version !== FILE_VERSION) {
    throw corrupt(file, `its version is ${JSON.stringify(d.version)}, this Sluice reads version ${FILE_VERSION}`);
  }
  if (d.name !== expectedName) {
    throw corrupt(file, `it names topic ${JSON.stringify(d.name)}, but its file name says "${expectedName}"`);
  }
  if (typeof d.topicId !== 'string' || !TOPIC_ID_TEXT.test(d.topicId)) {
    throw corrupt(file, 'its "topicId" is not 22 characters of base64url');
  }
  if (!Number.isSafeInteger(d.partitionCount) || (d.partitionCount as number) < 1) {
    throw corrupt(file, 'its "partitionCount" is not an integer >= 1');
  }
  if (!Number.isSafeInteger(d.createdAtMs) || (d.createdAtMs as number) < 0) {
    throw corrupt(file, 'its "createdAtMs" is not a timestamp in milliseconds');
  }
  if (typeof d.internal !== 'boolean' || d.internal !== INTERNAL_TOPICS.includes(expectedName)) {
    throw corrupt(file, 'its "internal" flag is missing or does not match the topic name');
  }
  if (typeof d.configs !== 'object' || d.configs === null || Array.isArray(d.configs)) {
    throw corrupt(file, 'its "configs" is not an object');
  }
  let configs: TopicConfigOverrides;
  try {
    if (!Object.values(d.configs).every((v) => typeof v === 'string')) throw new Error('config values must be strings');
    configs = validateTopicConfigs(d.configs as Record<string, string>);
  } catch (err) {
    throw corrupt(file, `its configs are invalid: ${(err as Error).message}`);
  }
  return Object.freeze({
    name: expectedName,
    topicId: d.topicId,
    partitionCount: d.partitionCount as number,
    configs,
    createdAtMs: d.createdAtMs as number,
    internal: d.internal,
  });
}

export class TopicStore {
  private readonly dataDir: DataDir;
  private readonly dir: string;
  private readonly maxPartitionsPerTopic: number;
  private readonly topics = new Map<string, TopicMetadata>();
  /** collisionKey(name) -> name, to refuse "a.b" when "a_b" exists, as Kafka does. */
  private readonly collisionKeys = new Map<string, string>();
  private tempCounter = 0;
  private isClosed = false;

  private constructor(dataDir: DataDir, dir: string, maxPartitionsPerTopic: number) {
    this.dataDir = dataDir;
    this.dir = dir;
    this.maxPartitionsPerTopic = maxPartitionsPerTopic;
  }

  /**
   * Loads every topic of an open data directory. A damaged topic file fails the open with a
   * CorruptFileError naming it; temporary files of an interrupted change are removed.
   */
  static open(dataDir: DataDir, options: TopicStoreOptions = {}): TopicStore {
    if (dataDir.closed) throw new ClosedError(`data directory "${dataDir.path}"`);
    const max = options.maxPartitionsPerTopic ?? DEFAULT_MAX_PARTITIONS_PER_TOPIC;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new InvalidPartitionsError(`maxPartitionsPerTopic must be a positive integer, got ${max}`);
    }
    const dir = path.join(dataDir.metaDir, TOPICS_DIR_NAME);
    mkdirDurable(dir);
    const store = new TopicStore(dataDir, dir, max);
    store.load();
    return store;
  }

  private load(): void {
    let removedTemp = false;
    for (const entry of fs.readdirSync(this.dir, { withFileTypes: true })) {
      if (entry.name.endsWith(TEMP_SUFFIX)) {
        fs.unlinkSync(path.join(this.dir, entry.name));
        removedTemp = true;
        continue;
      }
      if (!entry.isFile() || !entry.name.endsWith(FILE_SUFFIX)) continue;
      const name = entry.name.slice(0, -FILE_SUFFIX.length);
      const file = path.join(this.dir, entry.name);
      try {
        validateTopicName(name);
      } catch (err) {
        throw corrupt(file, `its name is not a valid topic name (${(err as Error).message})`);
      }
      this.remember(parseTopicFile(file, name));
    }
    if (removedTemp) fsyncDirectory(this.dir);
  }

  private remember(topic: TopicMetadata): void {
    this.topics.set(topic.name, topic);
    this.collisionKeys.set(collisionKey(topic.name), topic.name);
  }

  /** Creates a topic. Throws TopicExistsError, InvalidTopicError, InvalidPartitionsError, InvalidConfigError. */
  create(name: string, options: CreateTopicOptions = {}): TopicMetadata {
    this.checkOpen();
    validateTopicName(name);
    const internal = options.internal ?? false;
    if (INTERNAL_TOPICS.includes(name) && !internal) {
      throw new InvalidTopicError(`topic "${name}" is internal: the broker creates it for its own use`);
    }
    if (internal && !INTERNAL_TOPICS.includes(name)) {
      throw new InvalidTopicError(`only ${INTERNAL_TOPICS.join(' and ')} can be internal topics, not "${name}"`);
    }
    if (this.topics.has(name)) throw new TopicExistsError(name);
    const clash = this.collisionKeys.get(collisionKey(name));
    if (clash !== undefined) {
      throw new InvalidTopicError(
        `topic "${name}" collides with existing topic "${clash}": names that differ only by '.' versus '_' ` +
          `are the same in metric names; pick another name`,
      );
    }
    const partitionCount = checkPartitionCount(options.partitions ?? 1, this.maxPartitionsPerTopic, 'partitions');
    if (options.topicId !== undefined) topicIdToBytes(options.topicId);
    const topic: TopicMetadata = Object.freeze({
      name,
      topicId: options.topicId ?? newTopicId(),
      partitionCount,
      configs: validateTopicConfigs(options.configs ?? {}),
      createdAtMs: Date.now(),
      internal,
    });
    this.write(topic);
    this.remember(topic);
    return topic;
  }

  /** The topic's metadata; throws TopicNotFoundError. */
  get(name: string): TopicMetadata {
    this.checkOpen();
    const topic = this.topics.get(name);
    if (topic === undefined) throw new TopicNotFoundError(name);
    return topic;
  }

  has(name: string): boolean {
    this.checkOpen();
    return this.topics.has(name);
  }

  /** Every topic, sorted by name. */
  list(): TopicMetadata[] {
    this.checkOpen();
    return [...this.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Forgets a topic and returns what it was. Its partition directories are the log's to remove;
   * throws TopicNotFoundError.
   */
  delete(name: string): TopicMetadata {
    const topic = this.get(name);
    fs.unlinkSync(this.fileOf(name));
    fsyncDirectory(this.dir);
    this.topics.delete(name);
    this.collisionKeys.delete(collisionKey(name));
    return topic;
  }

  /**
   * Raises the partition count to `newTotalCount` (Kafka's CreatePartitions: the new total, not the
   * number to add). Partitions are never removed, so the count must grow.
   */
  addPartitions(name: string, newTotalCount: number): TopicMetadata {
    const topic = this.get(name);
    checkPartitionCount(newTotalCount, this.maxPartitionsPerTopic, 'the new partition count');
    if (newTotalCount <= topic.partitionCount) {
      throw new InvalidPartitionsError(
        `topic "${name}" has ${topic.partitionCount} partition(s); the new count must be greater than ` +
          `${topic.partitionCount}, because partitions can be added but never removed`,
      );
    }
    return this.replace({ ...topic, partitionCount: newTotalCount });
  }

  /**
   * Changes configs incrementally: a value sets the config, null reverts it to the default. The
   * result is validated as a whole before anything is written; throws InvalidConfigError.
   */
  alterConfigs(name: string, changes: Readonly<Record<string, TopicConfigValue | null>>): TopicMetadata {
    const topic = this.get(name);
    return this.replace({ ...topic, configs: alterTopicConfigs(topic.configs, changes) });
  }

  /** Stops further use; the data directory stays open (its owner closes it). Idempotent. */
  close(): void {
    this.isClosed = true;
  }

  private replace(topic: TopicMetadata): TopicMetadata {
    const frozen = Object.freeze(topic);
    this.write(frozen);
    this.topics.set(frozen.name, frozen);
    return frozen;
  }

  private fileOf(name: string): string {
    return path.join(this.dir, name + FILE_SUFFIX);
  }

  /** Temp file, fsync, rename over the old file, fsync the directory. */
  private write(topic: TopicMetadata): void {
    const content = JSON.stringify({
      version: FILE_VERSION,
      name: topic.name,
      topicId: topic.topicId,
      partitionCount: topic.partitionCount,
      configs: topic.configs,
      createdAtMs: topic.createdAtMs,
      internal: topic.internal,
    }, null, 2);
    // A short temp name: "<topic>.json.tmp" could pass the 255-byte file name limit with a 249-character topic.
    const temp = path.join(this.dir, `.${process.pid}-${++this.tempCounter}${TEMP_SUFFIX}`);
    replaceFile(this.fileOf(topic.name), content + '\n', { tempPath: temp, flag: 'wx', mode: 0o644 });
  }

  private checkOpen(): void {
    if (this.isClosed) throw new ClosedError('topic store');
    if (this.dataDir.closed) throw new ClosedError(`data directory "${this.dataDir.path}"`);
  }
}
