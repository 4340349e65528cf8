/**
 * Log compaction (cleanup.policy=compact), Kafka's log cleaner for the partition logs of one
 * owner thread: keep the latest record per key.
 *
 *   1. plan (owner thread): is the log cleanable, and which range? Kafka's LogCleanerManager rules:
 *      the dirty section runs from the cleaner offset checkpoint (`cleaner-offset-checkpoint` in the
 *      partition directory; the log start offset when there is none) to the first uncleanable
 *      offset: the active segment's base, the last stable offset (no open transaction is touched),
 *      and the first segment whose newest record is younger than min.compaction.lag.ms. The log is
 *      cleaned when the dirty bytes are more than min.cleanable.dirty.ratio of the clean + dirty
 *      bytes, or when its oldest dirty record is older than max.compaction.lag.ms.
 *   2. clean (a piscina thread, cleaner-tasks.ts): the offset map over the dirty section, then
 *      `.cleaned` files replacing groups of segments from the log start on. The owner keeps
 *      serving: `completeFinished()` polls the task from the owner's loop and never waits.
 *   3. swap (owner thread), Kafka's `.cleaned` -> `.swap` -> final:
 *        a. for every group, rename the cleaned indexes, then the cleaned `.log`, to `.swap`; one
 *           fsync of the directory. A `.log.swap` is the commit point of its group: from here on,
 *           opening the log completes the swap.
 *      then per group:
 *        b. rename the index swaps over the first segment's indexes, then replace its `.log`
 *           atomically with the swap's content (a hard link renamed over it), keeping `.log.swap`;
 *        c. delete the other segments of the group, whose offsets the cleaned file now holds, and
 *           fsync the directory so that no crash can bring them back once the marker is gone;
 *        d. remove `.log.swap` and replace the Segment objects.
 *      The log start and end offsets do not move. The checkpoint then records the map's end.
 *      The owner thread pays for renames and one directory fsync per merged group, not for I/O
 *      proportional to the data.
 *
 * Readers on other threads (log-reader.ts) list the directory and read files directly. Every
 * name they may list holds a consistent file at every moment: the first segment's `.log` is
 * replaced by one rename, and the other segments are deleted only after it holds their offsets,
 * so an offset is always in the old file or the new one. A reader that opened the old `.log` and
 * then the new `.index` finds the index entry disagreeing with the batch and retries; the owner
 * bumps the storage epoch after the swap, which drops every cached view.
 *
 * Recovery (`recoverInterruptedCleaning`, run by PartitionLog.open): `.cleaned` files are
 * deleted (the swap never committed); for each `.log.swap`, the remaining index swaps are renamed
 * into place, the `.log.swap` replaces the `.log`, and every segment whose base offset falls inside
 * the swap's offsets is deleted (Kafka's rule). A `.swap` index without its `.log.swap` was never
 * committed and is deleted. The log is then either wholly old or wholly new, per group.
 */
import { closeSync, fstatSync, linkSync, openSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError } from '../errors.js';
import {
  CLEANED_FILE_SUFFIX,
  cleanedFilePath,
  type CleanTask,
  type CleanTaskResult,
  type CleanedGroup,
  type ProducerLastBatch,
} from './cleaner-tasks.js';
import { cleanerPool, destroyCleanerPool, type CleanerPoolOptions } from './cleaner-pool.js';
import type { LogConfig } from './log-config.js';
import { OFFSET_INDEX_ENTRY_BYTES } from './offset-index.js';
import type { PartitionLog } from './partition-log.js';
import { deleteSegmentFiles, readOffsetCheckpoint, writeOffsetCheckpoint } from './recovery.js';
import { fsyncDirectory, FileWindow, unlinkIfExists } from './durable-fs.js';
import {
  LOG_FILE_SUFFIX,
  OFFSET_INDEX_FILE_SUFFIX,
  TIME_INDEX_FILE_SUFFIX,
  parseSegmentFileName,
  segmentFileName,
  type StorageLogger,
} from './segment.js';
import { BatchHeaderCursor } from './batch-header-cursor.js';
import { TIME_INDEX_ENTRY_BYTES } from './time-index.js';
import { TXN_INDEX_FILE_SUFFIX, type AbortedTxn } from './txn-index.js';
import { INT32_MAX } from '../protocol/limits.js';
import { integerOption } from '../validate.js';

export const CLEANER_OFFSET_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';
export const SWAP_FILE_SUFFIX = '.swap';
/** The files of a cleaned segment other than its `.log`, in the order the swap installs them. */
const INDEX_SUFFIXES = [TXN_INDEX_FILE_SUFFIX, OFFSET_INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX];
const SWAP_SCAN_WINDOW_BYTES = 1024 * 1024;

/** A segment as the planner sees it. */
export interface CleanerSegmentView {
  readonly baseOffset: number;
  readonly nextOffset: number;
  readonly sizeBytes: number;
  /** The max record timestamp, or the file's mtime without one (Kafka's largestTimestamp). */
  readonly largestTimestampMs: number;
  /** The first batch's max timestamp, or -1. */
  readonly firstBatchTimestampMs: number;
}

/** What PartitionLog.cleanerView gives the cleaner: copies, safe to keep and to send to a task. */
export interface CleanerLogView {
  readonly dir: string;
  readonly config: LogConfig;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly lastStableOffset: number;
  /** Every segment, ascending; the last is the active one. */
  readonly segments: readonly CleanerSegmentView[];
  readonly abortedTxns: readonly AbortedTxn[];
  readonly producers: readonly ProducerLastBatch[];
}

/** Kafka's cleanable range and the numbers that decided it. */
export interface CleaningPlan {
  readonly firstDirtyOffset: number;
  readonly firstUncleanableOffset: number;
  readonly cleanBytes: number;
  readonly dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes). */
  readonly dirtyRatio: number;
  /** The oldest dirty record passed max.compaction.lag.ms: cleaned whatever the ratio. */
  readonly maxLagExceeded: boolean;
  /** Whether the log should be cleaned now. */
  readonly cleanable: boolean;
}

/**
 * Kafka's cleanableOffsets and its filthiest-log test, for one log. Null when there is no dirty
 * section at all (nothing was appended past the checkpoint outside the active segment, or an open
 * transaction or min.compaction.lag.ms holds it back).
 */
export function planCleaning(view: CleanerLogView, checkpointOffset: number | null, nowMs: number): CleaningPlan | null {
  const { segments, config } = view;
  const active = segments[segments.length - 1];
  let firstDirtyOffset = checkpointOffset ?? view.logStartOffset;
  // Kafka resets a checkpoint outside the log (after DeleteRecords or a truncation) to the log start.
  if (firstDirtyOffset < view.logStartOffset || firstDirtyOffset > view.logEndOffset) firstDirtyOffset = view.logStartOffset;
  let firstUncleanableOffset = Math.min(active.baseOffset, view.lastStableOffset);
  if (config.minCompactionLagMs > 0) {
    for (const segment of segments) {
      if (segment === active || segment.nextOffset <= firstDirtyOffset) continue;
      if (segment.largestTimestampMs > nowMs - config.minCompactionLagMs) {
        firstUncleanableOffset = Math.min(firstUncleanableOffset, segment.baseOffset);
        break;
      }
    }
  }
  if (firstUncleanableOffset <= firstDirtyOffset) return null;
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let firstDirtySegment: CleanerSegmentView | null = null;
  for (const segment of segments) {
    if (segment === active) break;
    if (segment.nextOffset <= firstDirtyOffset) {
      cleanBytes += segment.sizeBytes;
    } else if (segment.baseOffset < firstUncleanableOffset) {
      dirtyBytes += segment.sizeBytes;
      firstDirtySegment ??= segment;
    }
  }
  const totalBytes = cleanBytes + dirtyBytes;
  const dirtyRatio = totalBytes === 0 ? 0 : dirtyBytes / totalBytes;
  const firstDirtyTimestampMs = firstDirtySegment?.firstBatchTimestampMs ?? -1;
  const maxLagExceeded =
    config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER &&
    firstDirtyTimestampMs >= 0 &&
    nowMs - firstDirtyTimestampMs > config.maxCompactionLagMs;
  return {
    firstDirtyOffset,
    firstUncleanableOffset,
    cleanBytes,
    dirtyBytes,
    dirtyRatio,
    maxLagExceeded,
    cleanable: dirtyBytes > 0 && (maxLagExceeded || dirtyRatio > config.minCleanableDirtyRatio),
  };
}

/** The cleaner offset checkpoint of a partition directory, or null when there is none (or it is unreadable). */
export function readCleanerCheckpoint(dir: string, logger: StorageLogger): number | null {
  try {
    return readOffsetCheckpoint(join(dir, CLEANER_OFFSET_CHECKPOINT_FILE));
  } catch (error) {
    if (!(error instanceof CorruptFileError)) throw error;
    // Losing it only costs a clean of the whole log.
    logger.warn(`${error.message}; the next clean starts from the log start offset`);
    return null;
  }
}

export interface LogCleanerOptions {
  /** Where cleans and their failures are reported. Default: warnings go to process.emitWarning. */
  logger?: StorageLogger;
  /** Kafka's dedupe buffer, in keys. Default 1,000,000. */
  offsetMapMaxEntries?: number;
  /** Kafka's dedupe buffer, in key bytes (the map keeps keys whole). Default 64 MiB. */
  offsetMapMaxKeyBytes?: number;
  /** After a failed clean the log is left alone this long. Default 60 s. */
  failureBackoffMs?: number;
  /** This thread's cleaner pool settings (cleaner-pool.ts). */
  pool?: CleanerPoolOptions;
}

/** What became of a clean that `completeFinished` collected. */
export interface CleanOutcome<K> {
  readonly key: K;
  readonly log: PartitionLog;
  readonly plan: CleaningPlan;
  /** The task's result; null when it failed or was discarded. */
  readonly result: CleanTaskResult | null;
  /** Segment groups swapped into the log: 0 when the result was discarded. */
  readonly groupsSwapped: number;
  /** Why nothing was swapped: the task's error, or the log changed or closed under it. */
  readonly failure: string | null;
}

interface InFlight<K> {
  readonly key: K;
  readonly log: PartitionLog;
  readonly plan: CleaningPlan;
  readonly task: CleanTask;
  result: CleanTaskResult | null;
  error: Error | null;
  settled: boolean;
  readonly done: Promise<void>;
}

const DEFAULT_OFFSET_MAP_MAX_ENTRIES = 1_000_000;
const DEFAULT_OFFSET_MAP_MAX_KEY_BYTES = 64 * 1024 * 1024;
const DEFAULT_FAILURE_BACKOFF_MS = 60_000;

const DEFAULT_LOGGER: StorageLogger = {
  info: () => {},
  warn: (message) => process.emitWarning(message, { type: 'SluiceStorageWarning' }),
};

/**
 * Cleans the compacted logs of one owner thread, one clean per log at a time, on the thread's
 * cleaner pool. `K` is the owner's name for a log (the shard's partition slot).
 *
 * The owner calls `maybeClean` from its timer, `completeFinished` from its loop (which then must
 * let the thread's event loop turn while `inFlight > 0`: piscina answers through it), `forget`
 * before it closes a log, and `close` when it shuts down.
 */
export class LogCleaner<K> {
  private readonly logger: StorageLogger;
  private readonly offsetMapMaxEntries: number;
  private readonly offsetMapMaxKeyBytes: number;
  private readonly failureBackoffMs: number;
  private readonly poolOptions: CleanerPoolOptions;
  private readonly running = new Map<K, InFlight<K>>();
  private readonly retryAfterMs = new Map<K, number>();
  /** Directories whose forgotten clean still runs: no new clean may write the same `.cleaned` names. */
  private readonly abandonedDirs = new Set<string>();
  private closed = false;

  constructor(options: LogCleanerOptions = {}) {
    this.logger = options.logger ?? DEFAULT_LOGGER;
    this.offsetMapMaxEntries = integerOption('offsetMapMaxEntries', options.offsetMapMaxEntries, DEFAULT_OFFSET_MAP_MAX_ENTRIES, 1);
    this.offsetMapMaxKeyBytes = integerOption(
      'offsetMapMaxKeyBytes',
      options.offsetMapMaxKeyBytes,
      DEFAULT_OFFSET_MAP_MAX_KEY_BYTES,
      1,
      INT32_MAX,
    );
    this.failureBackoffMs = integerOption('failureBackoffMs', options.failureBackoffMs, DEFAULT_FAILURE_BACKOFF_MS, 0);
    this.poolOptions = options.pool ?? {};
  }

  /** Cleans running on the pool; while above 0 the owner must let its event loop turn. */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Starts a clean of `log` when it is compacted (config.cleanupCompact), is not being cleaned
   * already, and its plan says it is cleanable. Returns the plan it started, else null.
   */
  maybeClean(key: K, log: PartitionLog, nowMs: number = Date.now()): CleaningPlan | null {
    if (this.closed || !log.config.cleanupCompact || this.running.has(key)) return null;
    const retryAt = this.retryAfterMs.get(key);
    if (retryAt !== undefined && nowMs < retryAt) return null;
    const view = log.cleanerView();
    if (this.abandonedDirs.has(view.dir)) return null;
    const plan = planCleaning(view, readCleanerCheckpoint(view.dir, this.logger), nowMs);
    if (plan === null || !plan.cleanable) return null;
    const config = view.config;
    const task: CleanTask = {
      dir: view.dir,
      segments: view.segments
        .filter((segment) => segment.baseOffset < plan.firstUncleanableOffset)
        .map(({ baseOffset, nextOffset, sizeBytes }) => ({ baseOffset, nextOffset, sizeBytes })),
      firstDirtyOffset: plan.firstDirtyOffset,
      firstUncleanableOffset: plan.firstUncleanableOffset,
      abortedTxns: view.abortedTxns,
      producers: view.producers,
      nowMs,
      deleteRetentionMs: config.deleteRetentionMs,
      offsetMapMaxEntries: this.offsetMapMaxEntries,
      offsetMapMaxKeyBytes: this.offsetMapMaxKeyBytes,
      segmentBytes: config.segmentBytes,
      indexIntervalBytes: config.indexIntervalBytes,
      maxOffsetIndexEntries: Math.floor(config.segmentIndexBytes / OFFSET_INDEX_ENTRY_BYTES),
      maxTimeIndexEntries: Math.floor(config.segmentIndexBytes / TIME_INDEX_ENTRY_BYTES),
    };
    const entry = { key, log, plan, task, result: null, error: null, settled: false } as Omit<InFlight<K>, 'done'> & { done?: Promise<void> };
    entry.done = cleanerPool(this.poolOptions)
      .run(task)
      .then(
        (result) => {
          entry.result = result;
        },
        (error: unknown) => {
          entry.error = error instanceof Error ? error : new Error(String(error));
        },
      )
      .finally(() => {
        entry.settled = true;
      });
    this.running.set(key, entry as InFlight<K>);
    return plan;
  }

  /**
   * Swaps in every clean whose task has finished, without waiting for the others. Returns one
   * outcome per finished clean; the owner publishes the logs whose groups were swapped (their
   * files changed under readers: bump the storage epoch).
   */
  completeFinished(nowMs: number = Date.now()): CleanOutcome<K>[] {
    const outcomes: CleanOutcome<K>[] = [];
    for (const entry of this.running.values()) {
      if (!entry.settled) continue;
      this.running.delete(entry.key);
      outcomes.push(this.complete(entry, nowMs));
    }
    return outcomes;
  }

  /** Resolves once every running task has finished (the owner still calls completeFinished). */
  async whenIdle(): Promise<void> {
    await Promise.all([...this.running.values()].map((entry) => entry.done));
  }

  /**
   * The owner is closing the log: a running clean's result will be thrown away (its `.cleaned`
   * files are removed when the log next opens, or now if the task is already done).
   */
  forget(key: K): void {
    const entry = this.running.get(key);
    this.retryAfterMs.delete(key);
    if (entry === undefined) return;
    this.running.delete(key);
    const dir = entry.task.dir;
    this.abandonedDirs.add(dir);
    void entry.done.then(() => {
      this.abandonedDirs.delete(dir);
      if (entry.result !== null) removeCleanedFilesQuietly(dir, entry.result.groups.map((group) => group.baseOffsets[0]));
    });
  }

  /** Stops cleaning and ends this thread's cleaner pool: no cleaner thread survives it. */
  async close(): Promise<void> {
    this.closed = true;
    for (const key of [...this.running.keys()]) this.forget(key);
    await destroyCleanerPool();
  }

  private complete(entry: InFlight<K>, nowMs: number): CleanOutcome<K> {
    const { key, log, plan, task, result } = entry;
    const outcome = (groupsSwapped: number, failure: string | null): CleanOutcome<K> => {
      if (failure !== null) {
        this.retryAfterMs.set(key, nowMs + this.failureBackoffMs);
        this.logger.warn(`log cleaner: cleaning ${task.dir} failed: ${failure}`);
      } else {
        this.retryAfterMs.delete(key);
      }
      return { key, log, plan, result, groupsSwapped, failure };
    };
    if (result === null) {
      removeCleanedFilesQuietly(task.dir, task.segments.map((segment) => segment.baseOffset));
      return outcome(0, entry.error?.message ?? 'the task ended without a result');
    }
    if (log.isClosed) {
      removeCleanedFilesQuietly(task.dir, result.groups.map((group) => group.baseOffsets[0]));
      return outcome(0, 'the log was closed during the clean');
    }
    const stale = findStaleGroup(log.cleanerView(), result.groups);
    if (stale !== null) {
      removeCleanedFiles(task.dir, result.groups);
      return outcome(0, `${stale}; the log changed during the clean, it will be cleaned again`);
    }
    let swapped = 0;
    try {
      commitCleanedGroups(task.dir, result.groups);
      for (const group of result.groups) {
        log.replaceSegments(group.baseOffsets, () => installCommittedGroup(task.dir, group.baseOffsets));
        swapped++;
      }
      writeOffsetCheckpoint(task.dir, CLEANER_OFFSET_CHECKPOINT_FILE, result.mapEndOffset);
    } catch (error) {
      // The log stopped itself (fail-stop, see PartitionLog); reopening it completes or drops the swap.
      return outcome(swapped, `the swap failed: ${(error as Error).message}`);
    }
    this.logger.info(
      `log cleaner: cleaned ${task.dir} up to offset ${result.mapEndOffset}: ${result.recordsRetained} of ` +
        `${result.recordsRead} records kept, ${result.bytesRead} bytes read, ${result.bytesWritten} written`,
    );
    return outcome(swapped, null);
  }
}

/** Why a finished clean no longer fits the log (a group's segments were deleted, truncated or rolled into the active one), or null. */
function findStaleGroup(view: CleanerLogView, groups: readonly CleanedGroup[]): string | null {
  const byBase = new Map(view.segments.map((segment, index) => [segment.baseOffset, index]));
  for (const group of groups) {
    const first = byBase.get(group.baseOffsets[0]);
    if (first === undefined) return `segment ${group.baseOffsets[0]} is gone`;
    for (let i = 0; i < group.baseOffsets.length; i++) {
      const segment = view.segments[first + i];
      if (segment === undefined || segment.baseOffset !== group.baseOffsets[i] || segment.sizeBytes !== group.sizesBytes[i]) {
        return `segment ${group.baseOffsets[i]} is gone or changed size`;
      }
    }
    if (first + group.baseOffsets.length >= view.segments.length) return 'the group reaches the active segment';
  }
  return null;
}

function swapFilePath(dir: string, baseOffset: number, suffix: string): string {
  return join(dir, segmentFileName(baseOffset, suffix) + SWAP_FILE_SUFFIX);
}

/** Step a of the swap (see the module comment): commits every group's cleaned files. */
function commitCleanedGroups(dir: string, groups: readonly CleanedGroup[]): void {
  for (const group of groups) {
    const base = group.baseOffsets[0];
    for (const suffix of INDEX_SUFFIXES) renameSync(cleanedFilePath(dir, base, suffix), swapFilePath(dir, base, suffix));
    renameSync(cleanedFilePath(dir, base, LOG_FILE_SUFFIX), swapFilePath(dir, base, LOG_FILE_SUFFIX));
  }
  fsyncDirectory(dir);
}

/**
 * Steps b-d of the swap (see the module comment) for one committed group, on the owner thread. The
 * caller (PartitionLog.replaceSegments) replaces the Segment objects afterwards.
 */
function installCommittedGroup(dir: string, baseOffsets: readonly number[]): void {
  const base = baseOffsets[0];
  installIndexSwaps(dir, base);
  const logPath = join(dir, segmentFileName(base, LOG_FILE_SUFFIX));
  const swapLog = swapFilePath(dir, base, LOG_FILE_SUFFIX);
  // The `.log` changes in one rename, and `.log.swap` stays until the other segments are gone:
  // a crash before that still finds the swap and completes it.
  const linked = cleanedFilePath(dir, base, LOG_FILE_SUFFIX);
  linkSync(swapLog, linked);
  renameSync(linked, logPath);
  if (baseOffsets.length > 1) {
    for (const later of baseOffsets.slice(1)) deleteSegmentFiles(dir, later);
    fsyncDirectory(dir);
  }
  // Not fsynced: a crash that brings it back only repeats this swap, and the next commit's fsync
  // makes the removal durable before any later swap of this segment.
  unlinkSync(swapLog);
}

/** Renames whatever index swaps of `base` remain over its index files; an empty transaction index goes. */
function installIndexSwaps(dir: string, base: number): void {
  for (const suffix of INDEX_SUFFIXES) {
    const swap = swapFilePath(dir, base, suffix);
    const target = join(dir, segmentFileName(base, suffix));
    try {
      renameSync(swap, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Installed before a crash: the target is already the cleaned one.
      continue;
    }
    if (suffix === TXN_INDEX_FILE_SUFFIX && statSync(target).size === 0) unlinkIfExists(target);
  }
}

/**
 * Opening a partition directory: finishes or rolls back a swap a crash interrupted (see the
 * module comment). Runs before the segments are scanned; returns the names it removed or renamed.
 */
export function recoverInterruptedCleaning(dir: string, logger: StorageLogger): string[] {
  const names = readdirSync(dir);
  const touched: string[] = [];
  for (const name of names) {
    if (!name.endsWith(CLEANED_FILE_SUFFIX)) continue;
    unlinkIfExists(join(dir, name));
    touched.push(name);
    logger.info(`removed ${join(dir, name)}, left by a log clean that never committed`);
  }
  const committed = new Set<number>();
  for (const name of names) {
    const base = parseSegmentFileName(name, LOG_FILE_SUFFIX + SWAP_FILE_SUFFIX);
    if (base !== null) committed.add(base);
  }
  for (const name of names) {
    if (!name.endsWith(SWAP_FILE_SUFFIX) || name.endsWith(LOG_FILE_SUFFIX + SWAP_FILE_SUFFIX)) continue;
    const suffix = INDEX_SUFFIXES.find((candidate) => name.endsWith(candidate + SWAP_FILE_SUFFIX));
    const base = suffix === undefined ? null : parseSegmentFileName(name, suffix + SWAP_FILE_SUFFIX);
    if (base !== null && committed.has(base)) continue;
    unlinkIfExists(join(dir, name));
    touched.push(name);
    logger.info(`removed ${join(dir, name)}, left by a log clean swap that never committed`);
  }
  const logBases = names
    .map((name) => parseSegmentFileName(name, LOG_FILE_SUFFIX))
    .filter((base): base is number => base !== null);
  for (const base of [...committed].sort((a, b) => a - b)) {
    const swapLog = swapFilePath(dir, base, LOG_FILE_SUFFIX);
    const nextOffset = swapNextOffset(swapLog, base);
    installIndexSwaps(dir, base);
    renameSync(swapLog, join(dir, segmentFileName(base, LOG_FILE_SUFFIX)));
    const replaced = logBases.filter((other) => other > base && other < nextOffset);
    for (const other of replaced) deleteSegmentFiles(dir, other);
    touched.push(segmentFileName(base, LOG_FILE_SUFFIX + SWAP_FILE_SUFFIX));
    logger.warn(
      `completed a log clean swap interrupted by a crash in ${dir}: segment ${base} now holds the cleaned ` +
        `records up to offset ${nextOffset}` +
        (replaced.length > 0 ? `; deleted the segments it replaced (${replaced.join(', ')})` : ''),
    );
  }
  if (touched.length > 0) fsyncDirectory(dir);
  return touched;
}

/** The offset after the last batch of a swap file (fsynced before it was committed, so whole). */
function swapNextOffset(path: string, baseOffset: number): number {
  const window = new FileWindow(SWAP_SCAN_WINDOW_BYTES);
  const fd = openSync(path, 'r');
  try {
    const sizeBytes = fstatSync(fd).size;
    const cursor = new BatchHeaderCursor(window, fd, 0, sizeBytes, baseOffset, null);
    let nextOffset = baseOffset;
    while (cursor.next()) nextOffset = cursor.lastOffset + 1;
    if (cursor.problem !== null) {
      throw new CorruptFileError(
        path,
        `${cursor.problem}. A committed log clean left it, fsynced, so it should be whole: move it out of the ` +
          `partition directory to keep the segments it would have replaced`,
      );
    }
    return nextOffset;
  } finally {
    closeSync(fd);
  }
}

function removeCleanedFiles(dir: string, groups: readonly CleanedGroup[]): void {
  for (const group of groups) removeCleanedSet(dir, group.baseOffsets[0]);
}

function removeCleanedFilesQuietly(dir: string, baseOffsets: readonly number[]): void {
  try {
    for (const base of baseOffsets) removeCleanedSet(dir, base);
  } catch {
    // Best effort: the next open of the log removes every `.cleaned` file anyway.
  }
}

function removeCleanedSet(dir: string, base: number): void {
  for (const suffix of [LOG_FILE_SUFFIX, ...INDEX_SUFFIXES]) unlinkIfExists(cleanedFilePath(dir, base, suffix));
}
