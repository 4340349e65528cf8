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
 * Burrow's log end offsets: Burrow samples each partition's end every offset-refresh (10 s) into a
 * ring of the same number of intervals, and a partition whose committed offset some recent end
 * sample did not exceed is not called STOPPED yet. Here the end is sampled at each commit and
 * at each evaluation, at most one sample per `endOffsetSampleIntervalMs` (default 10 s, as
 * Burrow's offset-refresh), `windowSize` samples per partition; only samples less than
 * windowSize x endOffsetSampleIntervalMs old count, the span Burrow's ring covers.
 *
 * Burrow's rules (core/internal/evaluator/caching.go), evaluated in this order:
 *   0. OK if the partition has no lag now (Burrow's allowed-lag 0), or has no commit in the window.
 *   1. STOPPED if the consumer has stopped committing: the time since the newest commit exceeds
 *      `stoppedAfterMs` or, when that is not set, the time the window spans (newest commit time
 *      - oldest commit time), Burrow's relative rule; unless a recent end sample was at or
 *      below the newest committed offset (the consumer was caught up a moment ago).
 *   2. REWIND if the committed offset went backwards between two commits of the window (a reset
 *      or a seek back) and no later commit of the window got back to where it was.
 *   3. Only if no commit of the window had zero lag (else OK):
 *      STALLED if the committed offset never moved across the window (one commit counts as not
 *      moving), WARNING if the lag never decreased from one commit to the next.
 *   4. OK otherwise.
 *
 * A group's status is the worst of its partitions: OK, WARNING when some partition warns, ERROR
 * when some partition is REWIND, STOPPED or STALLED (Burrow's group statuses). A partition's
 * `complete` is the share of the window its commits fill, the group's the share of its
 * partitions whose window is full (Burrow's completeness).
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
  /** Log end samples are at least this far apart (Burrow's offset-refresh). Default 10000. */
  endOffsetSampleIntervalMs?: number;
}

export const DEFAULT_LAG_WINDOW_SIZE = 10;
export const DEFAULT_MIN_COMMIT_INTERVAL_MS = 1_000;
export const DEFAULT_MAX_TRACKED_PARTITIONS = 100_000;
export const DEFAULT_END_OFFSET_SAMPLE_INTERVAL_MS = 10_000;

/** One commit of a window, as Burrow reports its first and last (ConsumerOffset). */
export interface CommitWindowEntry {
  offset: number;
  /** When the commit was made. */
  timestampMs: number;
  /** When the evaluator saw it (differs from timestampMs for commits replayed at open). */
  observedAtMs: number;
  /** The lag the commit left, measured to the end at that moment. */
  lag: number;
}

/** The last commits of one partition, in a fixed ring: no allocation per commit. */
export class CommitWindow {
  private readonly offsets: Float64Array;
  private readonly lags: Float64Array;
  private readonly timestampsMs: Float64Array;
  private readonly observedAtMs: Float64Array;
  /** Index of the oldest entry. */
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new InvalidConfigError(`windowSize must be an integer >= 1, got ${capacity}`);
    this.offsets = new Float64Array(capacity);
    this.lags = new Float64Array(capacity);
    this.timestampsMs = new Float64Array(capacity);
    this.observedAtMs = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Adds a commit. One closer than `minIntervalMs` to the newest entry overwrites that entry's
   * offset and lag but keeps its time, so a consumer committing more often than the interval
   * still moves the window on once per interval (Burrow does the same).
   */
  push(offset: number, lag: number, timestampMs: number, minIntervalMs: number, observedAtMs = timestampMs): void {
    if (this.count > 0) {
      const newest = this.slot(this.count - 1);
      if (timestampMs - this.timestampsMs[newest] < minIntervalMs) {
        this.write(newest, offset, lag, this.timestampsMs[newest], observedAtMs);
        return;
      }
    }
    if (this.count < this.capacity) {
      this.write(this.slot(this.count), offset, lag, timestampMs, observedAtMs);
      this.count++;
    } else {
      this.write(this.start, offset, lag, timestampMs, observedAtMs);
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

  entryAt(i: number): CommitWindowEntry {
    const slot = this.slot(i);
    return { offset: this.offsets[slot], timestampMs: this.timestampsMs[slot], observedAtMs: this.observedAtMs[slot], lag: this.lags[slot] };
  }

  private slot(i: number): number {
    return (this.start + i) % this.capacity;
  }

  private write(slot: number, offset: number, lag: number, timestampMs: number, observedAtMs: number): void {
    this.offsets[slot] = offset;
    this.lags[slot] = lag;
    this.timestampsMs[slot] = timestampMs;
    this.observedAtMs[slot] = observedAtMs;
  }
}

/**
 * A partition's log end over time (Burrow's broker offsets): a ring of `capacity` samples at
 * least `intervalMs` apart. A sample closer than that to the newest is dropped, not merged, so
 * the lowest end of each interval is kept: what tells whether a consumer was caught up.
 */
export class EndOffsetHistory {
  private readonly ends: Float64Array;
  private readonly timestampsMs: Float64Array;
  private start = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    readonly intervalMs: number,
  ) {
    this.ends = new Float64Array(capacity);
    this.timestampsMs = new Float64Array(capacity);
  }

  sample(endOffset: number, timestampMs: number): void {
    if (this.count > 0 && timestampMs - this.timestampsMs[(this.start + this.count - 1) % this.capacity] < this.intervalMs) return;
    let slot: number;
    if (this.count < this.capacity) {
      slot = (this.start + this.count) % this.capacity;
      this.count++;
    } else {
      slot = this.start;
      this.start = (this.start + 1) % this.capacity;
    }
    this.ends[slot] = endOffset;
    this.timestampsMs[slot] = timestampMs;
  }

  /**
   * Burrow's checkIfRecentLagZero: did some sample of the last capacity x intervalMs find the
   * end at or below `offset`?
   */
  reachedWithin(offset: number, nowMs: number): boolean {
    const horizonMs = nowMs - this.capacity * this.intervalMs;
    for (let i = 0; i < this.count; i++) {
      const slot = (this.start + i) % this.capacity;
      if (this.timestampsMs[slot] >= horizonMs && this.ends[slot] <= offset) return true;
    }
    return false;
  }
}

/**
 * Burrow's rules (see the module comment) over one partition's window. `recentlyCaughtUp` is
 * Burrow's checkIfRecentLagZero for the newest committed offset.
 */
export function evaluateWindow(
  window: CommitWindow,
  currentLag: number,
  nowMs: number,
  stoppedAfterMs: number | undefined,
  recentlyCaughtUp = false,
): PartitionLagStatus {
  const n = window.size;
  if (n === 0 || currentLag <= 0) return 'OK';
  const newestMs = window.timestampAt(n - 1);
  const stoppedLimitMs = stoppedAfterMs ?? newestMs - window.timestampAt(0);
  if (nowMs - newestMs > stoppedLimitMs && !recentlyCaughtUp) return 'STOPPED';
  for (let i = 1; i < n; i++) {
    if (window.offsetAt(i) < window.offsetAt(i - 1)) {
      // Burrow's checkIfRewindRecovered: only the first rewind counts, and only until a later commit is back where it was.
      let recovered = false;
      for (let j = i; j < n && !recovered; j++) recovered = window.offsetAt(j) >= window.offsetAt(i - 1);
      if (!recovered) return 'REWIND';
      break;
    }
  }
  for (let i = 0; i < n; i++) if (window.lagAt(i) === 0) return 'OK';
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
  /** commitsInWindow / windowSize (Burrow's complete). */
  complete: number;
  /** The oldest and newest commits of the window, null when it is empty. */
  start: CommitWindowEntry | null;
  end: CommitWindowEntry | null;
}

export interface GroupLagReport {
  groupId: string;
  status: GroupLagStatus;
  totalLag: number;
  /** The partition furthest behind, or null when none was given. */
  maxLag: PartitionLagReport | null;
  /** Share of the partitions whose window is full; 0 without partitions (Burrow's complete). */
  complete: number;
  partitions: PartitionLagReport[];
}

/** A partition of a group, as evaluateGroup takes it: its lag and log end now. */
export interface PartitionLagNow {
  topic: string;
  partition: number;
  currentLag: number;
  /** The end the lag is measured to, sampled into the partition's end history. */
  endOffset: number;
}

/**
 * Sliding windows of commits for every tracked (group, topic, partition), the history of each
 * partition's log end, and the evaluation of Burrow's rules over them. Memory is bounded:
 * windowSize entries per window or history, and at most maxTrackedPartitions of each (the least
 * recently used is forgotten first).
 */
export class LagEvaluator {
  readonly windowSize: number;
  readonly minCommitIntervalMs: number;
  readonly stoppedAfterMs: number | undefined;
  readonly maxTrackedPartitions: number;
  readonly endOffsetSampleIntervalMs: number;
  /** Key -> window, in least-recently-committed-first order (a commit moves its key to the end). */
  private readonly windows = new Map<string, CommitWindow>();
  /** Topic-partition key -> log end samples, in least-recently-sampled-first order. */
  private readonly ends = new Map<string, EndOffsetHistory>();

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
    this.endOffsetSampleIntervalMs = integerOption(
      'endOffsetSampleIntervalMs',
      options.endOffsetSampleIntervalMs,
      DEFAULT_END_OFFSET_SAMPLE_INTERVAL_MS,
      0,
    );
  }

  /**
   * Records a commit with the lag it left (computed with partitionLag at commit time), and the
   * end it was measured to into the partition's end history. `observedAtMs` is when the commit
   * was seen, for commits replayed long after they were made.
   */
  recordCommit(
    groupId: string,
    topic: string,
    partition: number,
    committedOffset: number,
    lag: number,
    timestampMs: number,
    observedAtMs = timestampMs,
  ): void {
    requireSafeInteger('committedOffset', committedOffset, 0);
    requireSafeInteger('lag', lag, 0);
    if (!Number.isFinite(timestampMs)) throw new InvalidRequestError(`timestampMs must be a number, got ${timestampMs}`);
    const window = touch(this.windows, windowKey(groupId, topic, partition), this.maxTrackedPartitions, () => new CommitWindow(this.windowSize));
    window.push(committedOffset, lag, timestampMs, this.minCommitIntervalMs, observedAtMs);
    this.sampleEnd(topic, partition, committedOffset + lag, timestampMs);
  }

  /** Adds a sample of the partition's log end (kept if the newest is endOffsetSampleIntervalMs old). */
  sampleEnd(topic: string, partition: number, endOffset: number, timestampMs: number): void {
    const history = touch(
      this.ends,
      partitionKey(topic, partition),
      this.maxTrackedPartitions,
      () => new EndOffsetHistory(this.windowSize, this.endOffsetSampleIntervalMs),
    );
    history.sample(endOffset, timestampMs);
  }

  /**
   * One partition's status now, given its current lag and the end it is measured to (sampled
   * into the end history first, as Burrow's refresh would have).
   */
  evaluatePartition(groupId: string, part: PartitionLagNow, nowMs: number): PartitionLagReport {
    const { topic, partition, currentLag, endOffset } = part;
    requireSafeInteger('currentLag', currentLag, 0);
    requireSafeInteger('endOffset', endOffset, 0);
    this.sampleEnd(topic, partition, endOffset, nowMs);
    const window = this.windows.get(windowKey(groupId, topic, partition));
    if (window === undefined || window.size === 0) {
      return { topic, partition, currentLag, status: 'OK', commitsInWindow: 0, complete: 0, start: null, end: null };
    }
    const newest = window.offsetAt(window.size - 1);
    const recentlyCaughtUp = this.ends.get(partitionKey(topic, partition))?.reachedWithin(newest, nowMs) ?? false;
    return {
      topic,
      partition,
      currentLag,
      status: evaluateWindow(window, currentLag, nowMs, this.stoppedAfterMs, recentlyCaughtUp),
      commitsInWindow: window.size,
      complete: window.size / this.windowSize,
      start: window.entryAt(0),
      end: window.entryAt(window.size - 1),
    };
  }

  /** The commits of one partition's window, oldest first; none when it is not tracked. */
  windowEntries(groupId: string, topic: string, partition: number): CommitWindowEntry[] {
    const window = this.windows.get(windowKey(groupId, topic, partition));
    return window === undefined ? [] : Array.from({ length: window.size }, (_, i) => window.entryAt(i));
  }

  /** A group's status over the partitions it consumes, each with its current lag and end. */
  evaluateGroup(groupId: string, partitions: readonly PartitionLagNow[], nowMs: number): GroupLagReport {
    const reports = partitions.map((p) => this.evaluatePartition(groupId, p, nowMs));
    let status: GroupLagStatus = 'OK';
    let totalLag = 0;
    let maxLag: PartitionLagReport | null = null;
    let completePartitions = 0;
    for (const report of reports) {
      totalLag += report.currentLag;
      if (maxLag === null || report.currentLag > maxLag.currentLag) maxLag = report;
      if (report.complete === 1) completePartitions++;
      if (report.status === 'WARNING' && status === 'OK') status = 'WARNING';
      else if (report.status !== 'OK' && report.status !== 'WARNING') status = 'ERROR';
    }
    const complete = reports.length === 0 ? 0 : completePartitions / reports.length;
    return { groupId, status, totalLag, maxLag, complete, partitions: reports };
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

/** The entry of `key`, made if missing (evicting the least recently used beyond `max`), moved to the end. */
function touch<T>(map: Map<string, T>, key: string, max: number, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    if (map.size >= max) map.delete(map.keys().next().value as string);
    value = make();
  } else {
    map.delete(key);
  }
  map.set(key, value);
  return value;
}

/** Length-prefixed, so no group id can be a prefix of another group's keys. */
function groupKeyPrefix(groupId: string): string {
  return `${groupId.length}:${groupId}`;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic.length}:${topic}${partition}`;
}

function windowKey(groupId: string, topic: string, partition: number): string {
  return `${groupKeyPrefix(groupId)}${partitionKey(topic, partition)}`;
}
