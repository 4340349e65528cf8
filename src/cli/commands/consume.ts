/**
 * `sluice consume TOPIC`: prints record values (optionally keys) one per line, as Kafka's console
 * consumer. It stops after --max-messages records, after --timeout-ms without a record, or on
 * SIGINT / SIGTERM; with --group it commits what it printed (every --commit-interval-ms and on
 * exit), so the next run with the same group starts after the last record printed. With stdout
 * to a file or a pipe and stderr on a terminal, stderr shows the rate (and with --max-messages the
 * share done and the time left).
 */
import { Option, type Command } from 'commander';
import type { IsolationLevel } from '../../broker/broker-api.js';
import { OffsetOutOfRangeError, PartitionNotFoundError } from '../../errors.js';
import { integerArg, offsetArg, separatorArg, type OffsetArg } from '../arguments.js';
import { addConnectionOptions, withConnection, type CliConsumer, type CommittedOffset, type ConsumedBatch } from '../connection.js';
import { printInfo, writeOut } from '../output.js';
import { INT32_MAX } from '../../protocol/limits.js';
import { NO_PROGRESS, createProgress, type Progress } from '../../perf/progress.js';

const NEWLINE = Buffer.from('\n');
/** What Kafka's console consumer prints for a null key or value. */
const NULL_TEXT = Buffer.from('null');
/** Kafka's auto.commit.interval.ms default. */
export const DEFAULT_COMMIT_INTERVAL_MS = 5_000;

interface ConsumeFlags {
  group?: string;
  fromBeginning?: boolean;
  maxMessages?: number;
  isolationLevel: IsolationLevel;
  partition?: number;
  offset?: OffsetArg;
  printKey?: boolean;
  keySeparator: string;
  timeoutMs?: number;
  commitIntervalMs: number;
}

export function registerConsume(program: Command): void {
  addConnectionOptions(
    program
      .command('consume')
      .description('print the records of a topic, one value per line')
      .argument('<topic>', 'topic to read')
      .option('--group <id>', 'read as a member of this consumer group, and commit what was printed')
      .option('--from-beginning', 'without a committed offset, start at the log start (default: only new records)')
      .option('--max-messages <n>', 'exit after printing this many records', integerArg(1))
      .addOption(
        new Option('--isolation-level <level>', 'read_committed stops at the last stable offset')
          .choices(['read_uncommitted', 'read_committed'])
          .default('read_uncommitted'),
      )
      .option('--partition <n>', 'read only this partition (not with --group)', integerArg(0, INT32_MAX))
      .option('--offset <offset>', 'with --partition: start here (an offset, earliest or latest)', offsetArg)
      .option('--print-key', 'print KEY<sep>VALUE')
      .option('--key-separator <sep>', 'separator for --print-key (\\t for a tab)', separatorArg, '\t')
      .option('--timeout-ms <ms>', 'exit after this long without a record', integerArg(1))
      .option('--commit-interval-ms <ms>', 'with --group: commit at most this often while reading', integerArg(1), DEFAULT_COMMIT_INTERVAL_MS),
  ).action(async (topic: string, flags: ConsumeFlags, command: Command) => {
    if (flags.offset !== undefined && flags.partition === undefined) {
      command.error('error: --offset needs --partition: an offset belongs to one partition', { exitCode: 2 });
    }
    if (flags.partition !== undefined && flags.group !== undefined) {
      command.error('error: --partition and --group exclude each other: a group assigns partitions to its members', { exitCode: 2 });
    }
    if (flags.offset !== undefined && flags.fromBeginning === true) {
      command.error('error: --offset and --from-beginning exclude each other; use --offset earliest', { exitCode: 2 });
    }
    await withConnection(command, async (connection) => {
      const partitionCount = await connection.partitionCount(topic);
      if (flags.partition !== undefined && flags.partition >= partitionCount) {
        throw new PartitionNotFoundError(topic, flags.partition, partitionCount);
      }
      if (typeof flags.offset === 'number') {
        // Checked here rather than left to the reset policy: a mistyped offset should not silently read from elsewhere.
        const range = (await connection.partitionOffsets(topic)).find((offsets) => offsets.partition === flags.partition)!;
        if (flags.offset < range.logStartOffset || flags.offset > range.logEndOffset) {
          throw new OffsetOutOfRangeError(flags.offset, range.logStartOffset, range.logEndOffset, `partition ${flags.partition} of topic "${topic}"`);
        }
      }
      const consumer = await connection.consumer({
        topic,
        partitionCount,
        groupId: flags.group ?? null,
        fromBeginning: flags.fromBeginning === true || flags.offset === 'earliest',
        partition: flags.partition ?? null,
        offset: typeof flags.offset === 'number' ? flags.offset : null,
        isolationLevel: flags.isolationLevel,
      });
      // Only when the records go to a file or a pipe: on a terminal the line would be drawn over them.
      const progress =
        process.stdout.isTTY === true ? NO_PROGRESS : createProgress(`consume ${topic}`, { unit: 'records', total: flags.maxMessages ?? null });
      let printed: number;
      try {
        printed = await new ConsoleSession(consumer, flags, progress).run();
      } finally {
        progress.stop();
      }
      printInfo(`consumed ${printed} records`);
    });
  });
}

/** One read: prints batches, tracks what to commit, and ends on the first stop condition. */
class ConsoleSession {
  private readonly consumer: CliConsumer;
  private readonly grouped: boolean;
  private readonly maxMessages: number;
  private readonly timeoutMs: number | undefined;
  private readonly commitIntervalMs: number;
  private readonly keySeparator: Buffer | null;
  private readonly progress: Progress;
  private printed = 0;
  /** Per topic-partition, the offset after the last record printed and not yet committed. */
  private readonly uncommitted = new Map<string, CommittedOffset>();
  private lastCommitMs = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private finished = false;
  private failure: Error | null = null;
  private finish: () => void = () => {};

  constructor(consumer: CliConsumer, flags: ConsumeFlags, progress: Progress) {
    this.consumer = consumer;
    this.progress = progress;
    this.grouped = flags.group !== undefined;
    this.maxMessages = flags.maxMessages ?? Infinity;
    this.timeoutMs = flags.timeoutMs;
    this.commitIntervalMs = flags.commitIntervalMs;
    this.keySeparator = flags.printKey === true ? Buffer.from(flags.keySeparator, 'utf8') : null;
  }

  /** Resolves with the number of records printed, once stopped, committed and disconnected. */
  async run(): Promise<number> {
    const done = new Promise<void>((resolve) => {
      this.finish = () => {
        if (this.finished) return;
        this.finished = true;
        resolve();
      };
    });
    const onSignal = (): void => this.finish();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await this.consumer.start(
        (batch) => this.print(batch),
        (error) => this.fail(error),
      );
      this.armIdleTimer();
      await done;
      clearTimeout(this.idleTimer);
      if (this.failure === null) await this.commit();
    } finally {
      clearTimeout(this.idleTimer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await this.consumer.stop();
    }
    if (this.failure !== null) throw this.failure;
    return this.printed;
  }

  private async print(batch: ConsumedBatch): Promise<void> {
    if (this.finished) return;
    const messages = batch.messages;
    const count = Math.min(messages.length, this.maxMessages - this.printed);
    if (count <= 0) return;
    // One write per batch: the parts are slices of the fetched bytes, joined once.
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const message = messages[i];
      if (this.keySeparator !== null) parts.push(message.key ?? NULL_TEXT, this.keySeparator);
      parts.push(message.value ?? NULL_TEXT, NEWLINE);
    }
    try {
      await writeOut(Buffer.concat(parts));
    } catch (error) {
      // stdout closed (`| head`): nobody reads any more, which ends the read like --max-messages.
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') return this.finish();
      throw error;
    }
    this.printed += count;
    this.progress.update(this.printed);
    const next = Number(messages[count - 1].offset) + 1;
    this.uncommitted.set(`${batch.topic}\0${batch.partition}`, { topic: batch.topic, partition: batch.partition, offset: next });
    this.armIdleTimer();
    if (this.printed >= this.maxMessages) return this.finish();
    if (Date.now() - this.lastCommitMs >= this.commitIntervalMs) await this.commit();
  }

  private async commit(): Promise<void> {
    this.lastCommitMs = Date.now();
    if (!this.grouped || this.uncommitted.size === 0) return;
    const offsets = [...this.uncommitted.values()];
    this.uncommitted.clear();
    await this.consumer.commit(offsets);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.finish();
  }

  private armIdleTimer(): void {
    if (this.timeoutMs === undefined || this.finished) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.finish(), this.timeoutMs);
  }
}
