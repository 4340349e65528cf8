/**
 * Checks of the transaction coordinator's request fields: each names the
 * API and field at fault, and throws the error type Kafka answers with.
 */
import { InvalidGroupIdError, InvalidRequestError } from '../errors.js';
import { INT32_MAX } from '../protocol/limits.js';
import { requireIntegerInRange } from '../validate.js';
import type { TopicPartitionRef } from './group-types.js';
import { MAX_ID_BYTES, MAX_PRODUCER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID } from './transaction-state.js';

export function requireTransactionalId(value: unknown, api: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidRequestError(`${api} transactionalId must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  if (Buffer.byteLength(value, 'utf8') > MAX_ID_BYTES) {
    throw new InvalidRequestError(`${api} transactionalId is longer than ${MAX_ID_BYTES} bytes`);
  }
  return value;
}

export function optionalTransactionalId(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return requireTransactionalId(value, 'InitProducerId');
}

/** KIP-360 fields: both -1 (or absent) for none, or both set. */
export function expectedProducer(producerId: unknown, producerEpoch: unknown): { producerId: number; producerEpoch: number } | null {
  const id = producerId === undefined ? NO_PRODUCER_ID : requireIntegerInRange('InitProducerId producerId', producerId, NO_PRODUCER_ID, Number.MAX_SAFE_INTEGER);
  const epoch =
    producerEpoch === undefined ? NO_PRODUCER_EPOCH : requireIntegerInRange('InitProducerId producerEpoch', producerEpoch, NO_PRODUCER_EPOCH, MAX_PRODUCER_EPOCH);
  if (id === NO_PRODUCER_ID && epoch === NO_PRODUCER_EPOCH) return null;
  if (id === NO_PRODUCER_ID || epoch === NO_PRODUCER_EPOCH) {
    throw new InvalidRequestError(`InitProducerId needs both producerId and producerEpoch, or neither (got ${id} and ${epoch})`);
  }
  return { producerId: id, producerEpoch: epoch };
}

export function requireProducer(
  request: { transactionalId: string; producerId: number; producerEpoch: number },
  api: string,
): { transactionalId: string; producerId: number; producerEpoch: number } {
  if (request === null || typeof request !== 'object') throw new InvalidRequestError(`${api} needs a request object`);
  return {
    transactionalId: requireTransactionalId(request.transactionalId, api),
    producerId: requireIntegerInRange(`${api} producerId`, request.producerId, 0, Number.MAX_SAFE_INTEGER),
    producerEpoch: requireIntegerInRange(`${api} producerEpoch`, request.producerEpoch, 0, MAX_PRODUCER_EPOCH),
  };
}

export function requireGroupId(groupId: unknown): string {
  if (typeof groupId !== 'string' || groupId === '' || Buffer.byteLength(groupId, 'utf8') > MAX_ID_BYTES) {
    throw new InvalidGroupIdError(groupId);
  }
  return groupId;
}

export function requirePartitions(partitions: unknown): TopicPartitionRef[] {
  if (!Array.isArray(partitions) || partitions.length === 0) {
    throw new InvalidRequestError('AddPartitionsToTxn partitions must be a non-empty array of { topic, partition }');
  }
  return partitions.map((entry: TopicPartitionRef, i) => {
    const field = `AddPartitionsToTxn partitions[${i}]`;
    if (typeof entry?.topic !== 'string' || entry.topic === '' || Buffer.byteLength(entry.topic, 'utf8') > MAX_ID_BYTES) {
      throw new InvalidRequestError(`${field}.topic must be a non-empty topic name`);
    }
    return { topic: entry.topic, partition: requireIntegerInRange(`${field}.partition`, entry.partition, 0, INT32_MAX) };
  });
}
