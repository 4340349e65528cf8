/**
 * Durable committed offsets, kept as Kafka keeps them: records in the internal topic
 * `__consumer_offsets` (one partition here), replayed into memory when the broker opens.
 *
 *   key    msgpack [1, groupId, topic, partition]     value  msgpack [offset, leaderEpoch, metadata, commitTimestampMs, endOffset, beyondLogEnd?]
 *   key    msgpack [2, groupId]                       value  msgpack GroupSnapshot (group-store.ts)
 *   key    msgpack [3, groupId, producerId, topic, partition]   value  as [1, ...]: an offset a
 *          transactional producer staged (TxnOffsetCommit), invisible until its transaction ends
 *   key    msgpack [4, groupId]                       value  msgpack ConsumerGroupSnapshot: a group of
 *          the KIP-848 consumer protocol (consumer-group/store.ts)
 *
 * A transaction's end is one batch, so it is atomic: a commit holds the [1, ...] record of every
 * staged offset and a tombstone of every [3, ...] key; an abort only the tombstones. A replay
 * that stops before that batch finds the offsets still staged, and the coordinator, which
 * completes every decided transaction on open, writes the batch again.
 *
 * `endOffset` is the partition's end (its last stable offset) when the offset became visible, or
 * null when unknown (the topic was gone; records written before it was kept have four fields): it
 * lets a replay rebuild the lag each commit left, which the lag evaluator judges (lag.ts).
 * OffsetDelete writes [1, ...] tombstones for some partitions of a group, DeleteGroups for all.
 *
 * A null value is a tombstone: the offset (or group) is deleted. Later records for a key win, so
 * the log is a changelog whose latest value per key is the state. A commit is acknowledged only
 * after its batch is appended (acks -1: fsynced too when the topic has a flush policy), and the
 * in-memory view changes only then, so a fetch never returns an offset a crash could lose.
 *
 * A committed offset beyond its partition's log end when the broker opens (recovery cut the log's
 * tail after the group had read it) is out of range: fetchOffsets leaves it out, so the group's
 * consumers start from their reset policy (auto.offset.reset) as a fetch at that offset would make
 * them do, rather than wait at an offset the log no longer has and skip the records written
 * before it is reached again. The broker writes it again with `beyondLogEnd` (the log end it was
 * found beyond), so a later open still holds it back once new records pass it. It stays in the
 * store, and `committedOffsets` reports it, until the group commits the partition again or
 * deletes it.
 *
 * The topic uses cleanup.policy=compact: retention never deletes live offsets, and the log
 * cleaner (storage/log-cleaner.ts) drops superseded records, and tombstones once they are
 * delete.retention.ms old, so replay reads about one record per live key plus the section the
 * cleaner has not reached yet.
 */
import { pack, unpack } from 'msgpackr';
import { CorruptRecordError } from '../errors.js';
import { encodeRecordBatch, type RecordToEncode } from '../protocol/record-batch-builder.js';
import { forEachRecord } from '../protocol/record-batch-reader.js';
import type { CommittedOffset, GroupSnapshot, OffsetStore, TopicPartitionRef } from './group-types.js';
import type { ConsumerGroupSnapshot } from './consumer-group/types.js';

export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';
const OFFSET_KEY = 1;
const GROUP_KEY = 2;
const STAGED_OFFSET_KEY = 3;
const CONSUMER_GROUP_KEY = 4;

/** Appends one record batch to __consumer_offsets and resolves once it is acknowledged. */
export type InternalLogAppender = (batch: Buffer) => Promise<void>;

/**
 * Told of every offset that becomes visible or is deleted, in log order, both as it happens and
 * during a replay: the broker's lag evaluator learns the group's commit history from it.
 */
export interface OffsetChangeListener {
  /** The partition's end offset now (stored with the commit), or null when the partition is unknown. */
  endOffsetOf(topic: string, partition: number): number | null;
  committed(groupId: string, offset: CommittedOffset, endOffset: number | null): void;
  deleted(groupId: string, topic: string, partition: number): void;
}

export function offsetRecord(groupId: string, offset: CommittedOffset, endOffset: number | null = null, beyondLogEnd: number | null = null): RecordToEncode {
  const fields: unknown[] = [offset.offset, offset.leaderEpoch, offset.metadata, offset.commitTimestampMs, endOffset];
  if (beyondLogEnd !== null) fields.push(beyondLogEnd);
  return { key: pack([OFFSET_KEY, groupId, offset.topic, offset.partition]), value: pack(fields) };
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

export function consumerGroupRecord(snapshot: ConsumerGroupSnapshot): RecordToEncode {
  return { key: pack([CONSUMER_GROUP_KEY, snapshot.groupId]), value: pack(snapshot) };
}

export function consumerGroupTombstone(groupId: string): RecordToEncode {
  return { key: pack([CONSUMER_GROUP_KEY, groupId]), value: null };
}

function stagedOffsetRecord(groupId: string, producerId: number, offset: CommittedOffset): RecordToEncode {
  return {
    key: pack([STAGED_OFFSET_KEY, groupId, producerId, offset.topic, offset.partition]),
    value: pack([offset.offset, offset.leaderEpoch, offset.metadata, offset.commitTimestampMs]),
  };
}

function stagedOffsetTombstone(groupId: string, producerId: number, topic: string, partition: number): RecordToEncode {
  return { key: pack([STAGED_OFFSET_KEY, groupId, producerId, topic, partition]), value: null };
}

/** Offsets staged by transactional producers: group -> producer id -> "topic\0partition" -> offset. */
export type StagedOffsets = Map<string, Map<number, Map<string, CommittedOffset>>>;

/** The state a replay of __consumer_offsets rebuilds. */
export interface ConsumerOffsetsState {
  readonly offsets: Map<string, Map<string, Map<number, CommittedOffset>>>;
  readonly groups: Map<string, GroupSnapshot>;
  /** KIP-848 consumer groups, by group id. */
  readonly consumerGroups: Map<string, ConsumerGroupSnapshot>;
  readonly staged: StagedOffsets;
  /** The committed offsets found beyond their log end at an open, by group (see the file comment). */
  readonly beyondLogEnd: Map<string, Set<CommittedOffset>>;
}

export function emptyConsumerOffsetsState(): ConsumerOffsetsState {
  return { offsets: new Map(), groups: new Map(), consumerGroups: new Map(), staged: new Map(), beyondLogEnd: new Map() };
}

/** Applies every record of `batches` (whole batches as read from the log) to `state`, in order. */
export function replayConsumerOffsets(batches: Buffer, state: ConsumerOffsetsState, listener: OffsetChangeListener | null = null): void {
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
        listener?.deleted(groupId, topic, partition);
      } else {
        const [offset, leaderEpoch, metadata, commitTimestampMs, endOffset, beyondLogEnd] = unpack(valueBytes) as [
          number,
          number,
          string,
          number,
          number | null | undefined,
          number | undefined,
        ];
        const committed = { topic, partition, offset, leaderEpoch, metadata, commitTimestampMs };
        putOffset(state, groupId, committed);
        // A held-back offset written again by the broker is no commit of the group's.
        if (beyondLogEnd === undefined) listener?.committed(groupId, committed, endOffset ?? null);
        else holdBack(state, groupId, committed);
      }
    } else if (key[0] === STAGED_OFFSET_KEY) {
      const [, groupId, producerId, topic, partition] = key as [number, string, number, string, number];
      if (valueBytes === null) {
        unstageOffset(state.staged, groupId, producerId, topic, partition);
      } else {
        const [offset, leaderEpoch, metadata, commitTimestampMs] = unpack(valueBytes) as [number, number, string, number];
        stageOffset(state.staged, groupId, producerId, { topic, partition, offset, leaderEpoch, metadata, commitTimestampMs });
      }
    } else if (key[0] === GROUP_KEY) {
      const groupId = key[1] as string;
      if (valueBytes === null) state.groups.delete(groupId);
      else state.groups.set(groupId, reviveSnapshot(unpack(valueBytes) as GroupSnapshot));
    } else if (key[0] === CONSUMER_GROUP_KEY) {
      const groupId = key[1] as string;
      if (valueBytes === null) state.consumerGroups.delete(groupId);
      else state.consumerGroups.set(groupId, unpack(valueBytes) as ConsumerGroupSnapshot);
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

/** Stores the offset, which replaces (and so releases, if it was held back) the partition's previous one. */
function putOffset(state: ConsumerOffsetsState, groupId: string, offset: CommittedOffset): void {
  release(state, groupId, offset.topic, offset.partition);
  let group = state.offsets.get(groupId);
  if (group === undefined) state.offsets.set(groupId, (group = new Map()));
  let topic = group.get(offset.topic);
  if (topic === undefined) group.set(offset.topic, (topic = new Map()));
  topic.set(offset.partition, offset);
}

function stagedKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

function stageOffset(staged: StagedOffsets, groupId: string, producerId: number, offset: CommittedOffset): void {
  let group = staged.get(groupId);
  if (group === undefined) staged.set(groupId, (group = new Map()));
  let producer = group.get(producerId);
  if (producer === undefined) group.set(producerId, (producer = new Map()));
  producer.set(stagedKey(offset.topic, offset.partition), offset);
}

function unstageOffset(staged: StagedOffsets, groupId: string, producerId: number, topic: string, partition: number): void {
  const group = staged.get(groupId);
  const producer = group?.get(producerId);
  if (producer === undefined) return;
  producer.delete(stagedKey(topic, partition));
  if (producer.size === 0) group!.delete(producerId);
  if (group!.size === 0) staged.delete(groupId);
}

function holdBack(state: ConsumerOffsetsState, groupId: string, offset: CommittedOffset): void {
  let held = state.beyondLogEnd.get(groupId);
  if (held === undefined) state.beyondLogEnd.set(groupId, (held = new Set()));
  held.add(offset);
}

/** The partition's current offset is no longer held back (replaced or deleted). */
function release(state: ConsumerOffsetsState, groupId: string, topic: string, partition: number): void {
  const held = state.beyondLogEnd.get(groupId);
  const current = held === undefined ? undefined : state.offsets.get(groupId)?.get(topic)?.get(partition);
  if (current === undefined || !held!.delete(current)) return;
  if (held!.size === 0) state.beyondLogEnd.delete(groupId);
}

function removeOffset(state: ConsumerOffsetsState, groupId: string, topic: string, partition: number): void {
  release(state, groupId, topic, partition);
  const group = state.offsets.get(groupId);
  const partitions = group?.get(topic);
  if (partitions === undefined) return;
  partitions.delete(partition);
  if (partitions.size === 0) group!.delete(topic);
  if (group!.size === 0) state.offsets.delete(groupId);
}

/** A committed offset found beyond its partition's log end when the broker opened. */
export interface OffsetBeyondLogEnd {
  groupId: string;
  topic: string;
  partition: number;
  offset: number;
  logEndOffset: number;
}

export class DurableOffsetStore implements OffsetStore {
  private readonly state: ConsumerOffsetsState;
  private readonly append: InternalLogAppender;
  private readonly listener: OffsetChangeListener | null;

  constructor(state: ConsumerOffsetsState, append: InternalLogAppender, listener: OffsetChangeListener | null = null) {
    this.state = state;
    this.append = append;
    this.listener = listener;
  }

  async commitOffsets(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const endOffsets = offsets.map((offset) => this.endOffsetOf(offset));
    await this.append(encodeRecordBatch({ records: offsets.map((offset, i) => offsetRecord(groupId, offset, endOffsets[i])) }));
    offsets.forEach((offset, i) => this.put(groupId, { ...offset }, endOffsets[i]));
  }

  /** The offsets the group's consumers start from: those found beyond the log end at open are left out. */
  fetchOffsets(groupId: string, partitions: readonly TopicPartitionRef[] | null): CommittedOffset[] {
    const found = this.committedOffsets(groupId, partitions);
    const held = this.state.beyondLogEnd.get(groupId);
    return held === undefined ? found : found.filter((offset) => !held.has(offset));
  }

  /** Every committed offset stored, those beyond the log end at open included (for lag reports). */
  committedOffsets(groupId: string, partitions: readonly TopicPartitionRef[] | null = null): CommittedOffset[] {
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

  /**
   * Called once the logs are recovered, before any consumer reads: holds back every committed
   * offset above its partition's log end (`logEndOf`; null for a partition that no longer
   * exists), writing each again with that log end so that later opens hold it back too. Returns
   * those newly held back, for the broker to report, and the error of that write if it failed.
   */
  async holdBackOffsetsBeyondLogEnd(
    logEndOf: (topic: string, partition: number) => number | null,
  ): Promise<{ heldBack: OffsetBeyondLogEnd[]; writeError: Error | null }> {
    const found: (OffsetBeyondLogEnd & { committed: CommittedOffset })[] = [];
    for (const [groupId, topics] of this.state.offsets) {
      const held = this.state.beyondLogEnd.get(groupId);
      for (const partitions of topics.values()) {
        for (const committed of partitions.values()) {
          const logEndOffset = logEndOf(committed.topic, committed.partition);
          if (logEndOffset === null || committed.offset <= logEndOffset || held?.has(committed) === true) continue;
          found.push({ groupId, topic: committed.topic, partition: committed.partition, offset: committed.offset, logEndOffset, committed });
        }
      }
    }
    if (found.length === 0) return { heldBack: [], writeError: null };
    let writeError: Error | null = null;
    try {
      await this.append(encodeRecordBatch({ records: found.map((entry) => offsetRecord(entry.groupId, entry.committed, null, entry.logEndOffset)) }));
    } catch (error) {
      // Held back in this process all the same; only a later open, once new records pass them, would not know.
      writeError = error as Error;
    }
    for (const { groupId, committed } of found) holdBack(this.state, groupId, committed);
    return { heldBack: found.map(({ committed: _, ...entry }) => entry), writeError };
  }

  /** Whether `offset` (as committedOffsets returned it) was found beyond its log end at open. */
  isBeyondLogEnd(groupId: string, offset: CommittedOffset): boolean {
    return this.state.beyondLogEnd.get(groupId)?.has(offset) ?? false;
  }

  async deleteOffsets(groupId: string): Promise<void> {
    const group = this.state.offsets.get(groupId);
    if (group === undefined) return;
    const tombstones: RecordToEncode[] = [];
    for (const [topic, partitions] of group) for (const partition of partitions.keys()) tombstones.push(offsetTombstone(groupId, topic, partition));
    await this.append(encodeRecordBatch({ records: tombstones }));
    this.state.offsets.delete(groupId);
    this.state.beyondLogEnd.delete(groupId);
    for (const [topic, partitions] of group) for (const partition of partitions.keys()) this.listener?.deleted(groupId, topic, partition);
  }

  /** Kafka's OffsetDelete: tombstones for the partitions that have an offset, in one batch. */
  async deletePartitionOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<void> {
    const group = this.state.offsets.get(groupId);
    const present = partitions.filter(({ topic, partition }) => group?.get(topic)?.has(partition) === true);
    if (present.length === 0) return;
    await this.append(encodeRecordBatch({ records: present.map(({ topic, partition }) => offsetTombstone(groupId, topic, partition)) }));
    for (const { topic, partition } of present) {
      removeOffset(this.state, groupId, topic, partition);
      this.listener?.deleted(groupId, topic, partition);
    }
  }

  /**
   * Kafka's TxnOffsetCommit: stores offsets of a transactional producer, invisible to fetchOffsets
   * until completeStagedOffsets commits them. A later staging of the same partition replaces it.
   */
  async stageOffsets(groupId: string, producerId: number, offsets: readonly CommittedOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.append(encodeRecordBatch({ records: offsets.map((offset) => stagedOffsetRecord(groupId, producerId, offset)) }));
    for (const offset of offsets) stageOffset(this.state.staged, groupId, producerId, { ...offset });
  }

  /**
   * Ends what the producer staged for the group: committed offsets become the group's in one
   * batch with the staged records' tombstones; aborted ones are only removed. Nothing staged:
   * nothing written (the coordinator may complete a transaction twice, across a restart).
   */
  async completeStagedOffsets(groupId: string, producerId: number, commit: boolean): Promise<void> {
    const staged = this.state.staged.get(groupId)?.get(producerId);
    if (staged === undefined || staged.size === 0) return;
    const offsets = [...staged.values()];
    // Visible from now on: the lag they leave is measured against the ends of this moment.
    const endOffsets = commit ? offsets.map((offset) => this.endOffsetOf(offset)) : [];
    const records: RecordToEncode[] = [];
    if (commit) offsets.forEach((offset, i) => records.push(offsetRecord(groupId, offset, endOffsets[i])));
    for (const offset of offsets) records.push(stagedOffsetTombstone(groupId, producerId, offset.topic, offset.partition));
    await this.append(encodeRecordBatch({ records }));
    offsets.forEach((offset, i) => {
      // Staged again meanwhile (a retried TxnOffsetCommit): that newer staging stays.
      if (staged.get(stagedKey(offset.topic, offset.partition)) !== offset) return;
      unstageOffset(this.state.staged, groupId, producerId, offset.topic, offset.partition);
      if (commit) this.put(groupId, offset, endOffsets[i]);
    });
  }

  private endOffsetOf(offset: CommittedOffset): number | null {
    return this.listener === null ? null : this.listener.endOffsetOf(offset.topic, offset.partition);
  }

  private put(groupId: string, offset: CommittedOffset, endOffset: number | null): void {
    putOffset(this.state, groupId, offset);
    this.listener?.committed(groupId, offset, endOffset);
  }

  /** Groups that have committed offsets, for restoring them as Empty groups (as Kafka loads them). */
  groupIds(): string[] {
    return [...this.state.offsets.keys()];
  }
}
