/**
 * Produce: each partition's record batch goes to broker.produce exactly as received (a slice of
 * the request frame; the log checks size and CRC and assigns offsets). All appends are started
 * before any is awaited, in request order, so pipelined requests keep their order per partition.
 *
 * As Kafka (ProduceRequest.validateRecords), v3+ carries exactly one batch per partition, a
 * request before v7 may not carry a zstd batch (KIP-110: UNSUPPORTED_COMPRESSION_TYPE), and
 * clients may not write to internal topics. Idempotent and transactional batches pass as they
 * are: the log checks their producer epoch and sequence (a retry is answered with its original
 * offsets; OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE otherwise), and a
 * transactional batch is verified with the transaction coordinator first (see Broker.produce).
 * acks 0 sends no response; if any partition failed,
 * the connection is closed instead, which is how Kafka tells an acks=0 producer to refresh its
 * metadata. Records the log refuses one by one (a key missing on a compacted topic, a timestamp out
 * of range) are listed in v8+'s recordErrors, by their index in the batch.
 *
 * v0-v2 carry message formats 0 and 1: such a set is checked and converted to one RecordBatch v2
 * first (../../protocol/legacy-message-set.ts), as Kafka's LogValidator converts it to the log's
 * format; v3+ requests never take that branch.
 */
import type { Acks } from '../../broker/broker-api.js';
import { RecordValidationError } from '../../errors.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { Produce, type ProduceResponseInput } from '../../protocol/api/produce.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  COMPRESSION_CODEC_MASK,
  batchSizeAt,
  isTransactionalBatch,
  readAttributes,
} from '../../protocol/batch-header.js';
import { COMPRESSION_CODEC_IDS } from '../../protocol/compression.js';
import { isLegacyMessageSet, upConvertMessageSet } from '../../protocol/legacy-message-set.js';
import { INTERNAL_TOPICS } from '../../storage/topic-store.js';
import { authorize } from '../authorizer.js';
import { awaitInsyncReplicas, checkLeader, checkMinInsync } from '../cluster-view.js';
import { CloseConnection, defineHandler, errorMessageOf } from './handler.js';
import { abortableErrorCode } from './transaction-errors.js';

type PartitionResponse = ProduceResponseInput['responses'][number]['partitionResponses'][number];

/** Bytes before a batch's length field ends: baseOffset int64 + batchLength int32. */
const BATCH_LENGTH_END = 12;
/** The first Produce version that may carry zstd batches (KIP-110). */
const ZSTD_MIN_PRODUCE_VERSION = 7;
/** The first Produce version that carries RecordBatch v2 only; before it, message formats 0 and 1. */
const RECORD_BATCH_MIN_PRODUCE_VERSION = 3;


export const produceHandler = defineHandler({
  api: Produce,
  async handle(ctx, request) {
    const { acks, transactionalId } = request;
    // Kafka refuses the whole request when it carries transactional batches without a transactional id.
    const missingTransactionalId = transactionalId === null && request.topicData.some((topic) => topic.partitionData.some(({ records }) => isTransactional(records)));
    // As Kafka: WRITE on the transactional id is checked when the request carries transactional batches.
    const transactionalIdDenied =
      transactionalId !== null &&
      !authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', transactionalId) &&
      request.topicData.some((topic) => topic.partitionData.some(({ records }) => isTransactional(records)));
    const options = { transactionalId };
    // Every append starts now, in request order; each outcome is handled as it settles, so a
    // partition that fails at once is never an unhandled rejection while another is awaited.
    const responses = request.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map(({ index, records: sent }): PartitionResponse | Promise<PartitionResponse> => {
        if (missingTransactionalId) {
          return failed(index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'transactional batches need the producer\'s transactional id in the request');
        }
        if (transactionalIdDenied) return failed(index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, `not authorized to WRITE transactional id "${transactionalId}"`);
        if (!authorize(ctx, 'WRITE', 'TOPIC', topic.name)) return failed(index, ErrorCode.TOPIC_AUTHORIZATION_FAILED, `not authorized to WRITE topic "${topic.name}"`);
        let records = sent;
        if (ctx.apiVersion < RECORD_BATCH_MIN_PRODUCE_VERSION && records !== null && isLegacyMessageSet(records)) {
          try {
            records = upConvertMessageSet(records);
          } catch (error) {
            return failed(index, ctx.errorCode(error), errorMessageOf(error), recordErrorsOf(error));
          }
        }
        const refusal = refuse(acks, topic.name, records, ctx.apiVersion);
        if (refusal !== null) return failed(index, refusal.errorCode, refusal.message);
        const cluster = ctx.server.config.cluster;
        let minInsyncReplicas = 0;
        try {
          checkLeader(cluster, ctx.server.nodeId, topic.name, index);
          if (cluster !== null && acks === -1) {
            minInsyncReplicas = ctx.broker.minInsyncReplicas(topic.name);
            checkMinInsync(cluster, minInsyncReplicas, topic.name, index);
          }
        } catch (error) {
          return failed(index, ctx.errorCode(error), errorMessageOf(error));
        }
        const produced = ctx.broker.produce(topic.name, index, records!, acks as Acks, options);
        // acks=all in a cluster also waits for the ISR; elsewhere nothing more is awaited.
        const appended =
          cluster !== null && acks === -1
            ? produced.then(async (result) => {
                await awaitInsyncReplicas(cluster, minInsyncReplicas, topic.name, index, result.lastOffset, request.timeoutMs);
                return result;
              })
            : produced;
        return appended.then(
          (result) => ({
            index,
            errorCode: ErrorCode.NONE,
            baseOffset: result.baseOffset,
            logAppendTimeMs: result.logAppendTimeMs,
            logStartOffset: result.logStartOffset,
            recordErrors: [],
            errorMessage: null,
          }),
          (error: unknown) =>
            failed(index, abortableErrorCode(ctx.errorCode(error), ctx.apiVersion, 11), errorMessageOf(error), recordErrorsOf(error)),
        );
      }),
    }));
    const settled = await Promise.all(
      responses.map(async (topic) => ({ name: topic.name, partitionResponses: await Promise.all(topic.partitionResponses) })),
    );
    if (acks === 0) {
      const anyFailed = settled.some((topic) => topic.partitionResponses.some((partition) => partition.errorCode !== ErrorCode.NONE));
      if (anyFailed) throw new CloseConnection('an acks=0 produce request failed; closing so the producer refreshes its metadata');
      return null;
    }
    return { responses: settled, throttleTimeMs: 0 };
  },
});

/** Why a partition's data is refused before it reaches the log, or null. */
function refuse(
  acks: number,
  topic: string,
  records: Buffer | null,
  version: number,
): { errorCode: number; message: string } | null {
  if (acks !== 0 && acks !== 1 && acks !== -1) {
    return { errorCode: ErrorCode.INVALID_REQUIRED_ACKS, message: `acks must be 0, 1 or -1 (all), got ${acks}` };
  }
  if (INTERNAL_TOPICS.includes(topic)) {
    return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: `topic "${topic}" is internal to the broker; clients cannot write to it` };
  }
  if (records === null || records.length === 0) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: 'a produce request must carry one record batch per partition; it has none' };
  }
  // As Kafka's ProduceRequest.validateRecords: from v3 a request carries RecordBatch v2 only.
  if (version >= RECORD_BATCH_MIN_PRODUCE_VERSION && isLegacyMessageSet(records)) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: `Produce v${version} may carry only record batches with magic 2; message formats 0 and 1 need Produce v0-v2` };
  }
  // A malformed length is the log's to report (CORRUPT_MESSAGE); here only a second batch is refused.
  const firstBatchBytes = records.length > BATCH_LENGTH_END ? batchSizeAt(records, 0) : records.length;
  if (firstBatchBytes > BATCH_LENGTH_END && firstBatchBytes < records.length) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: 'a produce request may carry only one record batch per partition' };
  }
  if (
    version < ZSTD_MIN_PRODUCE_VERSION &&
    records.length >= ATTRIBUTES_OFFSET + 2 &&
    (readAttributes(records, 0) & COMPRESSION_CODEC_MASK) === COMPRESSION_CODEC_IDS.zstd
  ) {
    return {
      errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      message: `Produce v${version} may not carry zstd batches; zstd needs Produce v${ZSTD_MIN_PRODUCE_VERSION} or later`,
    };
  }
  return null;
}

function isTransactional(records: Buffer | null): boolean {
  return records !== null && records.length >= BATCH_HEADER_BYTES && !isLegacyMessageSet(records) && isTransactionalBatch(readAttributes(records, 0));
}

function failed(index: number, errorCode: number, errorMessage: string, recordErrors: PartitionResponse['recordErrors'] = []): PartitionResponse {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors, errorMessage };
}

/** Produce v8+'s per-record list: the records the log refused one by one, by index in the batch. */
function recordErrorsOf(error: unknown): PartitionResponse['recordErrors'] {
  if (!(error instanceof RecordValidationError)) return [];
  return error.recordErrors.map((entry) => ({ batchIndex: entry.batchIndex, batchIndexErrorMessage: entry.message }));
}
