/**
 * Error codes of the transaction APIs for old request versions. KIP-588 introduced
 * PRODUCER_FENCED; a client speaking a version from before it knows the condition as
 * INVALID_PRODUCER_EPOCH, which Kafka answers instead (InitProducerId < v4, AddPartitionsToTxn,
 * AddOffsetsToTxn and EndTxn < v2; kafkajs 2.2 speaks the older ones). TxnOffsetCommit never
 * answers PRODUCER_FENCED: Kafka 3.9 verifies it as it verifies a batch (INVALID_PRODUCER_EPOCH).
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';

export function transactionErrorCode(errorCode: number, apiVersion: number, firstVersionWithProducerFenced: number): number {
  if (errorCode === ErrorCode.PRODUCER_FENCED && apiVersion < firstVersionWithProducerFenced) return ErrorCode.INVALID_PRODUCER_EPOCH;
  return errorCode;
}

/**
 * KIP-890 introduced TRANSACTION_ABORTABLE (a write for a partition or group the transaction does
 * not hold); versions from before it get INVALID_TXN_STATE, as Kafka's
 * transactionSupportedOperation decides (Produce < v11, TxnOffsetCommit < v4).
 */
export function abortableErrorCode(errorCode: number, apiVersion: number, firstVersionWithAbortable: number): number {
  if (errorCode === ErrorCode.TRANSACTION_ABORTABLE && apiVersion < firstVersionWithAbortable) return ErrorCode.INVALID_TXN_STATE;
  return errorCode;
}
