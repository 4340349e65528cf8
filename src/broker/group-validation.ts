/**
 * Checks on what reaches the group coordinator and the offset manager: every request field and
 * option is validated here, at the boundary, into a typed Kafka error that names the field and
 * what it must be; and a store failure is turned into the error a client sees.
 */
import {
  CoordinatorNotAvailableError,
  InvalidConfigError,
  InvalidGroupIdError,
  InvalidRequestError,
  KafkaApiError,
  KafkaStorageError,
  NotCoordinatorError,
} from '../errors.js';
import { MAX_TIMER_DELAY_MS } from './coordinator-clock.js';
import type { CommittedOffset, GroupProtocol, OffsetCommitRequest, TopicPartitionRef } from './group-types.js';
import { INT32_MAX } from '../protocol/limits.js';

export function timeoutOption(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > MAX_TIMER_DELAY_MS) {
    throw new InvalidConfigError(`${name} must be an integer from ${min} to ${MAX_TIMER_DELAY_MS}, got ${value}`);
  }
  return value;
}

/** Kafka allows '' only where groups need not use membership (offsets, describe, delete). */
export function requireGroupId(groupId: unknown, allowEmpty: boolean): string {
  if (typeof groupId !== 'string' || (!allowEmpty && groupId === '')) throw new InvalidGroupIdError(groupId);
  return groupId;
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new InvalidRequestError(`${field} must be a string, got ${typeof value}`);
  return value;
}

export function requireInt32(value: unknown, field: string): number {
  if (!Number.isInteger(value) || (value as number) < -INT32_MAX - 1 || (value as number) > INT32_MAX) {
    throw new InvalidRequestError(`${field} must be an int32, got ${String(value)}`);
  }
  return value as number;
}

export function optionalInstanceId(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value === '') {
    throw new InvalidRequestError(`group instance id must be a non-empty string or null, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function requireProtocols(protocols: unknown): GroupProtocol[] {
  if (!Array.isArray(protocols)) throw new InvalidRequestError('JoinGroup protocols must be an array of { name, metadata }');
  const names = new Set<string>();
  return protocols.map((protocol: GroupProtocol, i) => {
    const name = requireString(protocol?.name, `JoinGroup protocols[${i}].name`);
    if (!Buffer.isBuffer(protocol.metadata)) throw new InvalidRequestError(`JoinGroup protocols[${i}].metadata must be a Buffer`);
    if (names.has(name)) throw new InvalidRequestError(`JoinGroup offers protocol "${name}" twice`);
    names.add(name);
    // Copied: the member keeps it across generations, beyond the request that carried it.
    return { name, metadata: Buffer.from(protocol.metadata) };
  });
}

export function requireAssignments(assignments: unknown): Map<string, Buffer> {
  if (!Array.isArray(assignments)) throw new InvalidRequestError('SyncGroup assignments must be an array');
  const byMember = new Map<string, Buffer>();
  assignments.forEach((entry: { memberId: string; assignment: Buffer }, i) => {
    const memberId = requireString(entry?.memberId, `SyncGroup assignments[${i}].memberId`);
    if (!Buffer.isBuffer(entry.assignment)) throw new InvalidRequestError(`SyncGroup assignments[${i}].assignment must be a Buffer`);
    byMember.set(memberId, Buffer.from(entry.assignment));
  });
  return byMember;
}

export function requirePartition(topic: unknown, partition: unknown, field: string): TopicPartitionRef {
  if (typeof topic !== 'string' || topic === '') throw new InvalidRequestError(`${field}.topic must be a non-empty string`);
  if (!Number.isInteger(partition) || (partition as number) < 0 || (partition as number) > INT32_MAX) {
    throw new InvalidRequestError(`${field}.partition must be an int32 >= 0, got ${String(partition)}`);
  }
  return { topic, partition: partition as number };
}

export function requireTopicPartitions(partitions: unknown): TopicPartitionRef[] {
  if (!Array.isArray(partitions)) throw new InvalidRequestError('OffsetFetch partitions must be an array or null');
  return partitions.map((entry: TopicPartitionRef, i) => requirePartition(entry?.topic, entry?.partition, `OffsetFetch partitions[${i}]`));
}

export function requireCommitOffsets(offsets: unknown): Omit<CommittedOffset, 'commitTimestampMs'>[] {
  if (!Array.isArray(offsets)) throw new InvalidRequestError('OffsetCommit offsets must be an array');
  return offsets.map((entry: OffsetCommitRequest['offsets'][number], i) => {
    const field = `OffsetCommit offsets[${i}]`;
    const { topic, partition } = requirePartition(entry?.topic, entry?.partition, field);
    // Kafka stores whatever offset a client commits. Negative ones are clients' "no position"
    // sentinels (kafkajs commits -1 or -2 after an OFFSET_OUT_OF_RANGE reset) and a later
    // OffsetFetch hands them back for the client's reset policy to resolve, so they are kept too.
    if (!Number.isSafeInteger(entry.offset)) {
      throw new InvalidRequestError(`${field}.offset must be a safe integer, got ${String(entry.offset)}`);
    }
    const leaderEpoch = entry.leaderEpoch === undefined ? -1 : requireInt32(entry.leaderEpoch, `${field}.leaderEpoch`);
    const metadata = entry.metadata === undefined || entry.metadata === null ? '' : requireString(entry.metadata, `${field}.metadata`);
    return { topic, partition, offset: entry.offset, leaderEpoch, metadata };
  });
}

/** A store failure as the client sees it: Kafka errors pass through, anything else is retriable unavailability. */
export function storeError(error: unknown, what: string): KafkaApiError {
  // Kafka's group coordinator answers a failed append of its own with NOT_COORDINATOR.
  if (error instanceof KafkaStorageError) return new NotCoordinatorError(`${what} (${error.message})`, { cause: error });
  if (error instanceof KafkaApiError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new CoordinatorNotAvailableError(`${what} (${reason})`, { cause: error });
}
