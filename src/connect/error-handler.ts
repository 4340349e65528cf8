/**
 * errors.tolerance as Kafka Connect applies it to converters and transforms (its
 * RetryWithToleranceOperator): with 'none' the first failure fails the task; with 'all' the
 * record is skipped, logged when errors.log.enable is set and, for sinks with
 * errors.deadletterqueue.topic.name, written as it was consumed to that topic, with the
 * __connect.errors.* context headers when errors.deadletterqueue.context.headers.enable is set.
 */
import { ConnectError } from '../errors.js';
import type { ClusterProducer, IncomingRecord } from './cluster.js';
import type { TaskId } from './status.js';

/** Where in the pipeline a failure happened (Kafka's Stage). */
export type Stage = 'KEY_CONVERTER' | 'VALUE_CONVERTER' | 'HEADER_CONVERTER' | 'TRANSFORMATION' | 'TASK_PUT' | 'TASK_POLL' | 'KAFKA_PRODUCE' | 'KAFKA_CONSUME';

/** The consumed record a sink failure is about, as read from Kafka. */
export interface ConsumedOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly record: IncomingRecord;
}

export interface StageTracker {
  /** Marks the stage (and the class doing it) that the work enters next. */
  (stage: Stage, className: string): void;
}

export const ERROR_HEADER_PREFIX = '__connect.errors.';

export interface ErrorHandlerOptions {
  readonly id: TaskId;
  readonly tolerance: 'none' | 'all';
  readonly logErrors: boolean;
  readonly deadLetterQueue: { topic: string; producer: ClusterProducer; contextHeaders: boolean } | null;
  readonly log: (line: string) => void;
}

export class ErrorHandler {
  /** Records skipped under errors.tolerance=all. */
  skipped = 0;

  constructor(private readonly options: ErrorHandlerOptions) {}

  /**
   * Runs `work` for one record: its result, or null when it failed and the failure is tolerated.
   * `origin`: the consumed record, for the dead letter queue (sinks only).
   */
  async execute<T>(work: (track: StageTracker) => Promise<T | null> | T | null, origin?: ConsumedOrigin): Promise<T | null> {
    let stage: Stage = 'TRANSFORMATION';
    let className = '';
    try {
      return await work((next, name) => {
        stage = next;
        className = name;
      });
    } catch (error) {
      if (this.options.tolerance === 'none') {
        throw new ConnectError(`Tolerance exceeded in error handler: ${stage} failed in ${className || 'the task'}: ${(error as Error).message}`, { cause: error });
      }
      this.skipped += 1;
      const { id, logErrors, log, deadLetterQueue } = this.options;
      if (logErrors) {
        const where = origin === undefined ? '' : ` for record at ${origin.topic}-${origin.partition}@${origin.record.offset}`;
        log(`Error encountered in task ${id.connector}-${id.task}: executing stage '${stage}' with class '${className}'${where}: ${(error as Error).message}`);
      }
      if (deadLetterQueue !== null && origin !== undefined) await this.sendToDeadLetterQueue(deadLetterQueue, origin, stage, className, error);
      return null;
    }
  }

  private async sendToDeadLetterQueue(
    queue: NonNullable<ErrorHandlerOptions['deadLetterQueue']>,
    origin: ConsumedOrigin,
    stage: Stage,
    className: string,
    error: unknown,
  ): Promise<void> {
    const headers: Record<string, Buffer> = {};
    for (const [name, value] of Object.entries(origin.record.headers)) {
      if (Buffer.isBuffer(value)) headers[name] = value;
      else if (Array.isArray(value) && value.length > 0) headers[name] = value[value.length - 1]!;
    }
    if (queue.contextHeaders) {
      const failure = error instanceof Error ? error : new Error(String(error));
      const context: Record<string, string> = {
        topic: origin.topic,
        partition: String(origin.partition),
        offset: String(origin.record.offset),
        'connector.name': this.options.id.connector,
        'task.id': String(this.options.id.task),
        stage,
        'class.name': className,
        'exception.class.name': failure.name,
        'exception.message': failure.message,
        'exception.stacktrace': failure.stack ?? failure.message,
      };
      for (const [name, value] of Object.entries(context)) headers[`${ERROR_HEADER_PREFIX}${name}`] = Buffer.from(value, 'utf8');
    }
    await queue.producer.send([{ topic: queue.topic, partition: null, key: origin.record.key, value: origin.record.value, headers, timestamp: origin.record.timestamp }]);
  }
}
