/**
 * Consumer lag and its health, judged the way LinkedIn's Burrow judges it: not by a threshold
 * on the number of records behind, but by how the group's commits behave over a sliding window.
 *
 * Lag of a partition = the end the consumer can read up to - its committed offset, where the end
 * is the log end offset (high watermark) for read_uncommitted and the last stable offset for
 * read_committed. A lag below zero (the end was read before the commit) counts as zero.
 *
 * The window: for each (group, topic, partition), the last `windowSize` commits, each with its
 * committed offset, the lag at the time of the commit and the commit time. A commit less than
 * `minCommitIntervalMs` after the newest entry updates it (keeping its time) instead of pushing
 * the oldest out, so a consumer committing many times a second still spans a meaningful stretch
 * of time (Burrow's min-distance).
 *
 * Burrow's rules, evaluated in this order:
 *   1. OK if the partition has no lag now, or any commit in the window had zero lag: the
 *      consumer caught up at some point of the window.
 *   2. REWIND if the committed offset went backwards between two commits of the window (a reset
 *      or a seek back): an error, since records are being consumed again.
 *   3. STOPPED if the consumer has stopped committing: the time since the newest commit exceeds
 *      `stoppedAfterMs` or, when that is not set, the time the window spans (newest commit time
 *      - oldest commit time), Burrow's relative rule.
 *   4. STALLED if the committed offset did not move across the window while commits continued:
 *      the consumer is alive but stuck.
 *   5. WARNING if the offset moves but the lag never decreased from one commit to the next: the
 *      consumer is alive and working but falling behind.
 *   6. OK otherwise.
 * Rules 4 and 5 need two commits to see movement; with one (a partition just starting to be
 * tracked) they do not apply, where Burrow would already call a single sample STALLED.
 *
 * A group's status is the worst of its partitions: OK, WARNING when some partition warns, ERROR
 * when some partition is REWIND, STOPPED or STALLED (Burrow's group statuses).
 */
import { InvalidConfigError, InvalidRequestError } from '../errors.js';
import { integerOption, requireSafeInteger } from '../validate.js';

export type IsolationLevel = 'read_uncommitted' | 'read_committed';

/** Burrow's statuses; OUT_OF_RANGE is given by the broker, beside them, to a committed offset outside the log. */
export type PartitionLagStatus = 'OK' | 'WARNING' | 'STALLED' | 'STOPPED' | 'REWIND' | 'OUT_OF_RANGE';
export type GroupLagStatus = 'OK' | 'WARNING' | 'ERROR';

export interface PartitionLagInput {
  /** The group's committed offset, or -1 (or below) when it has none. */
  committedOffset: number;
  /** High watermark: the end read_uncommitted consumers read up to. */
  logEndOffset: number;
  /** Last stable offset: the end read_committed consumers read up to; defaults to logEndOffset. */
  lastStableOffset?: number;
  isolationLevel?: IsolationLevel;
}

/** Records the group still has to consume in the partition, or null when it has committed nothing. */
export function partitionLag(input: PartitionLagInput): number | null {
  const { committedOffset, logEndOffset } = input;
  requireSafeInteger('logEndOffset', logEndOffset, 0);
  requireSafeInteger('committedOffset', committedOffset, -Infinity);
  const end = input.isolationLevel === 'read_committed' ? (input.lastStableOffset ?? logEndOffset) : logEndOffset;
  if (input.isolationLevel === 'read_committed') requireSafeInteger('lastStableOffset', end, 0);
  if (committedOffset < 0) return null;
  return Math.max(0, end - committedOffset);
}

export interface LagEvaluatorOptions {
  /** Commits kept per partition (Burrow's intervals). Default 10. */
  windowSize?: number;
  /** A commit closer than this to the newest entry replaces it (Burrow's min-distance). Default 1000. */
  minCommitIntervalMs?: number;
  /** STOPPED after this long without a commit; unset, Burrow's relative rule applies. */
  stoppedAfterMs?: number;
  /** Partitions tracked at once; the least recently committed one is forgotten beyond it. Default 100000. */
  maxTrackedPartitions?: number;
}

export const DEFAULT_LAG_WINDOW_SIZE = 10;
export const DEFAULT_MIN_COMMIT_INTERVAL_MS = 1_000;
export const DEFAULT_MAX_TRACKED_PARTITIONS = 100_000;

/** The last commits of one partition, in a fixed ring: no allocation per commit. */
export class CommitWindow {
  private readonly offsets: Float64Array;
  private readonly lags: Float64Array;
  private readonly timestampsMs: Float64Array;
  /** Index of the oldest entry. */
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new InvalidConfigError(`windowSize must be an integer >= 1, got ${capacity}`);
    this.offsets = new Float64Array(capacity);
    this.lags = new Float64Array(capacity);
    this.timestampsMs = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Adds a commit. One closer than `minIntervalMs` to the newest entry overwrites that entry's
   * offset and lag but keeps its time, so a consumer committing more often than the interval
   * still moves the window on once per interval (Burrow does the same).
   */
  push(offset: number, lag: number, timestampMs: number, minIntervalMs: number): void {
    if (this.count > 0) {
      const newest = this.slot(this.count - 1);
      if (timestampMs - this.timestampsMs[newest] < minIntervalMs) {
        this.offsets[newest] = offset;
        this.lags[newest] = lag;
        return;
      }
    }
    if (this.count < this.capacity) {
      this.write(this.slot(this.count), offset, lag, timestampMs);
      this.count++;
    } else {
      this.write(this.start, offset, lag, timestampMs);
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The i-th entry from the oldest (0) to the newest (size - 1). */
  offsetAt(i: number): number {
    return this.offsets[this.slot(i)];
  }

  lagAt(i: number): number {
    return this.lags[this.slot(i)];
  }

  timestampAt(i: number): number {
    return this.timestampsMs[this.slot(i)];
  }

  private slot(i: number): number {
    return (this.start + i) % this.capacity;
  }

  private write(slot: number, offset: number, lag: number, timestampMs: number): void {
    this.offsets[slot] = offset;
    this.lags[slot] = lag;
    this.timestampsMs[slot] = timestampMs;
  }
}

/** Burrow's rules (see the module comment) over one partition's window. */
export function evaluateWindow(
  window: CommitWindow,
  currentLag: number,
  nowMs: number,
  stoppedAfterMs: number | undefined,
): PartitionLagStatus {
  const n = window.size;
  if (n === 0 || currentLag <= 0) return 'OK';
  for (let i = 0; i < n; i++) if (window.lagAt(i) === 0) return 'OK';
  for (let i = 1; i < n; i++) if (window.offsetAt(i) < window.offsetAt(i - 1)) return 'REWIND';
  const newestMs = window.timestampAt(n - 1);
  const stoppedLimitMs = stoppedAfterMs ?? newestMs - window.timestampAt(0);
  if (nowMs - newestMs > stoppedLimitMs) return 'STOPPED';
  if (n < 2) return 'OK';
  let offsetMoved = false;
  let lagDecreased = false;
  for (let i = 1; i < n; i++) {
    if (window.offsetAt(i) !== window.offsetAt(i - 1)) offsetMoved = true;
    if (window.lagAt(i) < window.lagAt(i - 1)) lagDecreased = true;
  }
  if (!offsetMoved) return 'STALLED';
  if (!lagDecreased) return 'WARNING';
  return 'OK';
}

export interface PartitionLagReport {
  topic: string;
  partition: number;
  currentLag: number;
  status: PartitionLagStatus;
  /** Commits in the window; fewer than the window size means the judgement rests on less history. */
  commitsInWindow: number;
}

export interface GroupLagReport {
  groupId: string;
  status: GroupLagStatus;
  totalLag: number;
  /** The partition furthest behind, or null when none was given. */
  maxLag: PartitionLagReport | null;
  partitions: PartitionLagReport[];
}

/**
 * Sliding windows of commits for every tracked (group, topic, partition), and the evaluation of
 * Burrow's rules over them. Memory is bounded: windowSize entries per partition, and at most
 * maxTrackedPartitions partitions (the least recently committed is forgotten first).
 */
export class LagEvaluator {
  readonly windowSize: number;
  readonly minCommitIntervalMs: number;
  readonly stoppedAfterMs: number | undefined;
  readonly maxTrackedPartitions: number;
  /** Key -> window, in least-recently-committed-first order (a commit moves its key to the end). */
  private readonly windows = new Map<string, CommitWindow>();

  constructor(options: LagEvaluatorOptions = {}) {
    this.windowSize = integerOption('windowSize', options.windowSize, DEFAULT_LAG_WINDOW_SIZE, 1);
    this.minCommitIntervalMs = integerOption('minCommitIntervalMs', options.minCommitIntervalMs, DEFAULT_MIN_COMMIT_INTERVAL_MS, 0);
    this.stoppedAfterMs =
      options.stoppedAfterMs === undefined ? undefined : integerOption('stoppedAfterMs', options.stoppedAfterMs, 0, 1);
    this.maxTrackedPartitions = integerOption(
      'maxTrackedPartitions',
      options.maxTrackedPartitions,
      DEFAULT_MAX_TRACKED_PARTITIONS,
      1,
    );
  }

  /** Records a commit with the lag it left (computed with partitionLag at commit time). */
  recordCommit(groupId: string, topic: string, partition: number, committedOffset: number, lag: number, timestampMs: number): void {
    requireSafeInteger('committedOffset', committedOffset, 0);
    requireSafeInteger('lag', lag, 0);
    if (!Number.isFinite(timestampMs)) throw new InvalidRequestError(`timestampMs must be a number, got ${timestampMs}`);
    const key = windowKey(groupId, topic, partition);
    let window = this.windows.get(key);
    if (window === undefined) {
      if (this.windows.size >= this.maxTrackedPartitions) {
        this.windows.delete(this.windows.keys().next().value as string);
      }
      window = new CommitWindow(this.windowSize);
    } else {
      this.windows.delete(key);
    }
    this.windows.set(key, window);
    window.push(committedOffset, lag, timestampMs, this.minCommitIntervalMs);
  }

  /** One partition's status now, given its current lag (partitionLag with today's log end). */
  evaluatePartition(groupId: string, topic: string, partition: number, currentLag: number, nowMs: number): PartitionLagReport {
    requireSafeInteger('currentLag', currentLag, 0);
    const window = this.windows.get(windowKey(groupId, topic, partition));
    if (window === undefined) return { topic, partition, currentLag, status: 'OK', commitsInWindow: 0 };
    return {
      topic,
      partition,
      currentLag,
      status: evaluateWindow(window, currentLag, nowMs, this.stoppedAfterMs),
      commitsInWindow: window.size,
    };
  }

  /** A group's status over the partitions it consumes, each with its current lag. */
  evaluateGroup(
    groupId: string,
    partitions: readonly { topic: string; partition: number; currentLag: number }[],
    nowMs: number,
  ): GroupLagReport {
    const reports = partitions.map((p) => this.evaluatePartition(groupId, p.topic, p.partition, p.currentLag, nowMs));
    let status: GroupLagStatus = 'OK';
    let totalLag = 0;
    let maxLag: PartitionLagReport | null = null;
    for (const report of reports) {
      totalLag += report.currentLag;
      if (maxLag === null || report.currentLag > maxLag.currentLag) maxLag = report;
      if (report.status === 'WARNING' && status === 'OK') status = 'WARNING';
      else if (report.status !== 'OK' && report.status !== 'WARNING') status = 'ERROR';
    }
    return { groupId, status, totalLag, maxLag, partitions: reports };
  }

  /** Forgets one partition's window (its offset was deleted: a later commit starts a new history). */
  forgetPartition(groupId: string, topic: string, partition: number): void {
    this.windows.delete(windowKey(groupId, topic, partition));
  }

  /** Forgets a group's windows (after the group is deleted). */
  forgetGroup(groupId: string): void {
    const prefix = groupKeyPrefix(groupId);
    for (const key of [...this.windows.keys()]) if (key.startsWith(prefix)) this.windows.delete(key);
  }

  get trackedPartitions(): number {
    return this.windows.size;
  }
}

/** Length-prefixed, so no group id can be a prefix of another group's keys. */
function groupKeyPrefix(groupId: string): string {
  return `${groupId.length}:${groupId}`;
}

function windowKey(groupId: string, topic: string, partition: number): string {
  return `${groupKeyPrefix(groupId)}${topic.length}:${topic}${partition}`;
}
