/**
 * Error codes of the transaction APIs for old request versions. KIP-588 introduced
 * PRODUCER_FENCED; a client speaking a version from before it knows the condition as
 * INVALID_PRODUCER_EPOCH, which Kafka answers instead (InitProducerId < v4, AddPartitionsToTxn,
 * AddOffsetsToTxn and EndTxn < v2, TxnOffsetCommit < v3; kafkajs 2.2 speaks the older ones).
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';

export function transactionErrorCode(errorCode: number, apiVersion: number, firstVersionWithProducerFenced: number): number {
  if (errorCode === ErrorCode.PRODUCER_FENCED && apiVersion < firstVersionWithProducerFenced) return ErrorCode.INVALID_PRODUCER_EPOCH;
  return errorCode;
}
