/**
 * Durable committed offsets, kept as Kafka keeps them: records in the internal topic
 * `__consumer_offsets` (one partition here), replayed into memory when the broker opens.
 *
 *   key    msgpack [1, groupId, topic, partition]     value  msgpack [offset, leaderEpoch, metadata, commitTimestampMs]
 *   key    msgpack [2, groupId]                       value  msgpack GroupSnapshot (group-store.ts)
 *
 * A null value is a tombstone: the offset (or group) is deleted. Later records for a key win, so
 * the log is a changelog whose latest value per key is the state. A commit is acknowledged only
 * after its batch is appended (acks -1: fsynced too when the topic has a flush policy), and the
 * in-memory view changes only then, so a fetch never returns an offset a crash could lose.
 *
 * The topic uses cleanup.policy=compact so that retention never deletes live offsets; compaction
 * itself (dropping superseded records) comes with the log cleaner, so until then the log grows
 * with every commit and replay reads all of it.
 */
import { pack, unpack } from 'msgpackr';
import { CorruptRecordError } from '../errors.js';
import { encodeRecordBatch, type RecordToEncode } from '../protocol/record-batch-builder.js';
import { forEachRecord } from '../protocol/record-batch-reader.js';
import type { CommittedOffset, GroupSnapshot, OffsetStore, TopicPartitionRef } from './group-coordinator.js';

export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';
const OFFSET_KEY = 1;
const GROUP_KEY = 2;

/** Appends one record batch to __consumer_offsets and resolves once it is acknowledged. */
export type InternalLogAppender = (batch: Buffer) => Promise<void>;

export function offsetRecord(groupId: string, offset: CommittedOffset): RecordToEncode {
  return {
    key: pack([OFFSET_KEY, groupId, offset.topic, offset.partition]),
    value: pack([offset.offset, offset.leaderEpoch, offset.metadata, offset.commitTimestampMs]),
  };
}

export function offsetTombstone(groupId: string, topic: string, partition: number): RecordToEncode {
  return { key: pack([OFFSET_KEY, groupId, topic, partition]), value: null };
}

export function groupRecord(snapshot: GroupSnapshot): RecordToEncode {
  return { key: pack([GROUP_KEY, snapshot.groupId]), value: pack(snapshot) };
}

export function groupTombstone(groupId: string): RecordToEncode {
  return { key: pack([GROUP_KEY, groupId]), value: null };
}

/** The state a replay of __consumer_offsets rebuilds. */
export interface ConsumerOffsetsState {
  readonly offsets: Map<string, Map<string, Map<number, CommittedOffset>>>;
  readonly groups: Map<string, GroupSnapshot>;
}

export function emptyConsumerOffsetsState(): ConsumerOffsetsState {
  return { offsets: new Map(), groups: new Map() };
}

/** Applies every record of `batches` (whole batches as read from the log) to `state`, in order. */
export function replayConsumerOffsets(batches: Buffer, state: ConsumerOffsetsState): void {
  forEachRecord(batches, (record) => {
    const keyBytes = record.key();
    if (keyBytes === null) throw new CorruptRecordError(record.offset, `${CONSUMER_OFFSETS_TOPIC} record without a key`);
    const key = unpack(keyBytes) as unknown[];
    const valueBytes = record.value();
    if (!Array.isArray(key)) throw new CorruptRecordError(record.offset, `${CONSUMER_OFFSETS_TOPIC} key is not an array`);
    if (key[0] === OFFSET_KEY) {
      const [, groupId, topic, partition] = key as [number, string, string, number];
      if (valueBytes === null) {
        removeOffset(state, groupId, topic, partition);
      } else {
        const [offset, leaderEpoch, metadata, commitTimestampMs] = unpack(valueBytes) as [number, number, string, number];
        putOffset(state, groupId, { topic, partition, offset, leaderEpoch, metadata, commitTimestampMs });
      }
    } else if (key[0] === GROUP_KEY) {
      const groupId = key[1] as string;
      if (valueBytes === null) state.groups.delete(groupId);
      else state.groups.set(groupId, reviveSnapshot(unpack(valueBytes) as GroupSnapshot));
    } else {
      throw new CorruptRecordError(record.offset, `${CONSUMER_OFFSETS_TOPIC} key type ${String(key[0])} is unknown`);
    }
  });
}

function reviveSnapshot(snapshot: GroupSnapshot): GroupSnapshot {
  return {
    ...snapshot,
    members: snapshot.members.map((member) => ({
      ...member,
      subscription: Buffer.from(member.subscription),
      assignment: Buffer.from(member.assignment),
    })),
  };
}

function putOffset(state: ConsumerOffsetsState, groupId: string, offset: CommittedOffset): void {
  let group = state.offsets.get(groupId);
  if (group === undefined) state.offsets.set(groupId, (group = new Map()));
  let topic = group.get(offset.topic);
  if (topic === undefined) group.set(offset.topic, (topic = new Map()));
  topic.set(offset.partition, offset);
}

function removeOffset(state: ConsumerOffsetsState, groupId: string, topic: string, partition: number): void {
  const group = state.offsets.get(groupId);
  const partitions = group?.get(topic);
  if (partitions === undefined) return;
  partitions.delete(partition);
  if (partitions.size === 0) group!.delete(topic);
  if (group!.size === 0) state.offsets.delete(groupId);
}

export class DurableOffsetStore implements OffsetStore {
  private readonly state: ConsumerOffsetsState;
  private readonly append: InternalLogAppender;

  constructor(state: ConsumerOffsetsState, append: InternalLogAppender) {
    this.state = state;
    this.append = append;
  }

  async commitOffsets(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.append(encodeRecordBatch({ records: offsets.map((offset) => offsetRecord(groupId, offset)) }));
    for (const offset of offsets) putOffset(this.state, groupId, { ...offset });
  }

  fetchOffsets(groupId: string, partitions: readonly TopicPartitionRef[] | null): CommittedOffset[] {
    const group = this.state.offsets.get(groupId);
    if (group === undefined) return [];
    const found: CommittedOffset[] = [];
    if (partitions === null) {
      for (const topic of group.values()) for (const offset of topic.values()) found.push(offset);
      return found;
    }
    for (const { topic, partition } of partitions) {
      const offset = group.get(topic)?.get(partition);
      if (offset !== undefined) found.push(offset);
    }
    return found;
  }

  async deleteOffsets(groupId: string): Promise<void> {
    const group = this.state.offsets.get(groupId);
    if (group === undefined) return;
    const tombstones: RecordToEncode[] = [];
    for (const [topic, partitions] of group) for (const partition of partitions.keys()) tombstones.push(offsetTombstone(groupId, topic, partition));
    await this.append(encodeRecordBatch({ records: tombstones }));
    this.state.offsets.delete(groupId);
  }

  /** Groups that have committed offsets, for restoring them as Empty groups (as Kafka loads them). */
  groupIds(): string[] {
    return [...this.state.offsets.keys()];
  }
}
