import { describe, expect, it } from 'vitest';
import { CommitWindow, EndOffsetHistory, evaluateWindow, LagEvaluator, partitionLag } from '../../src/broker/lag.js';
import { InvalidConfigError, InvalidRequestError } from '../../src/errors.js';

/** A window holding the given commits, oldest first, with no min-interval merging. */
function windowOf(commits: { offset: number; lag: number; atMs: number }[], capacity = 10): CommitWindow {
  const window = new CommitWindow(capacity);
  for (const c of commits) window.push(c.offset, c.lag, c.atMs, 0);
  return window;
}

describe('partitionLag', () => {
  it('is log end offset minus committed offset for read_uncommitted', () => {
    expect(partitionLag({ committedOffset: 40, logEndOffset: 100 })).toBe(60);
    expect(partitionLag({ committedOffset: 40, logEndOffset: 100, lastStableOffset: 70, isolationLevel: 'read_uncommitted' })).toBe(60);
  });

  it('stops at the last stable offset for read_committed', () => {
    expect(partitionLag({ committedOffset: 40, logEndOffset: 100, lastStableOffset: 70, isolationLevel: 'read_committed' })).toBe(30);
    expect(partitionLag({ committedOffset: 40, logEndOffset: 100, isolationLevel: 'read_committed' })).toBe(60);
  });

  it('counts a commit past the end as zero lag, and no commit as unknown', () => {
    expect(partitionLag({ committedOffset: 120, logEndOffset: 100 })).toBe(0);
    expect(partitionLag({ committedOffset: -1, logEndOffset: 100 })).toBeNull();
  });

  it('rejects offsets that are not safe integers', () => {
    expect(() => partitionLag({ committedOffset: 1.5, logEndOffset: 100 })).toThrow(InvalidRequestError);
    expect(() => partitionLag({ committedOffset: 1, logEndOffset: -3 })).toThrow(/logEndOffset/);
  });
});

describe('CommitWindow', () => {
  it('keeps the newest commits, oldest first, once full', () => {
    const window = windowOf(
      Array.from({ length: 7 }, (_, i) => ({ offset: i * 10, lag: 100 - i, atMs: i * 1000 })),
      3,
    );
    expect(window.size).toBe(3);
    expect([0, 1, 2].map((i) => window.offsetAt(i))).toEqual([40, 50, 60]);
    expect([0, 1, 2].map((i) => window.lagAt(i))).toEqual([96, 95, 94]);
    expect([0, 1, 2].map((i) => window.timestampAt(i))).toEqual([4000, 5000, 6000]);
  });

  it('folds commits closer than the minimum interval into the newest entry, keeping its time (Burrow min-distance)', () => {
    const window = new CommitWindow(5);
    window.push(10, 5, 1000, 500);
    window.push(11, 4, 1400, 500); // folded into the 1000 ms entry
    window.push(12, 3, 1800, 500); // 800 ms after that entry: a new one
    window.push(13, 2, 2200, 500); // folded into the 1800 ms entry
    expect(window.size).toBe(2);
    expect([window.offsetAt(0), window.lagAt(0), window.timestampAt(0)]).toEqual([11, 4, 1000]);
    expect([window.offsetAt(1), window.lagAt(1), window.timestampAt(1)]).toEqual([13, 2, 1800]);
  });

  it('needs a capacity of at least one', () => {
    expect(() => new CommitWindow(0)).toThrow(InvalidConfigError);
  });
});

/** A commit of Burrow's evaluator tests: offset, lag at commit, commit time in seconds. */
type Commit = [offset: number, lag: number, atSeconds: number];

interface BurrowCase {
  name: string;
  commits: Commit[];
  /** Burrow's broker offsets: the partition's log end sampled recently. */
  ends: number[];
  currentLag: number;
  nowSeconds: number;
  status: string;
}

/**
 * The histories of Burrow's own evaluator tests (core/internal/evaluator/caching_test.go,
 * TestCachingEvaluator_CheckRules), each with the status Burrow gives it. Burrow's cases for
 * allowed-lag and for commits without a known lag are left out: Sluice has no allowed-lag and
 * knows the lag of every commit.
 */
const BURROW_CASES: BurrowCase[] = [
  {
    name: '0: OK, the lag was zero once in the window',
    commits: [[1000, 0, 100], [2000, 50, 200], [3000, 100, 300], [4000, 150, 400], [5000, 200, 500]],
    ends: [5200],
    currentLag: 200,
    nowSeconds: 600,
    status: 'OK',
  },
  {
    name: '1: OK, 400 s since the last commit is not more than the 400 s the window spans',
    commits: [[1000, 0, 100], [2000, 50, 200], [3000, 100, 300], [4000, 150, 400], [5000, 200, 500]],
    ends: [5200],
    currentLag: 200,
    nowSeconds: 900,
    status: 'OK',
  },
  {
    name: '2: STOP once 500 s have passed, though the lag was zero at the start of the window',
    commits: [[1000, 0, 100], [2000, 50, 200], [3000, 100, 300], [4000, 150, 400], [5000, 200, 500]],
    ends: [5200],
    currentLag: 200,
    nowSeconds: 1000,
    status: 'STOPPED',
  },
  {
    name: '3: STOP with a lag never zero',
    commits: [[1000, 50, 100], [2000, 100, 200], [3000, 150, 300], [4000, 200, 400], [5000, 250, 500]],
    ends: [5250],
    currentLag: 250,
    nowSeconds: 1000,
    status: 'STOPPED',
  },
  {
    name: '4: OK, a stuck offset whose lag was zero once',
    commits: [[1000, 0, 100], [1000, 50, 200], [1000, 100, 300], [1000, 150, 400], [1000, 200, 500]],
    ends: [1200],
    currentLag: 200,
    nowSeconds: 600,
    status: 'OK',
  },
  {
    name: '5: STALL, a stuck offset with a lag never zero',
    commits: [[1000, 100, 100], [1000, 150, 200], [1000, 200, 300], [1000, 250, 400], [1000, 300, 500]],
    ends: [1300],
    currentLag: 300,
    nowSeconds: 600,
    status: 'STALLED',
  },
  {
    name: '6: STALL with a constant lag',
    commits: [[1000, 100, 100], [1000, 100, 200], [1000, 100, 300], [1000, 100, 400], [1000, 100, 500]],
    ends: [1100],
    currentLag: 100,
    nowSeconds: 600,
    status: 'STALLED',
  },
  {
    name: '7: OK, a rewind caught up within the window and the lag decreased',
    commits: [[1000, 100, 100], [2000, 150, 200], [3000, 200, 300], [2000, 1250, 400], [4000, 300, 500]],
    ends: [4300],
    currentLag: 300,
    nowSeconds: 600,
    status: 'OK',
  },
  {
    name: '8: OK with no lag now, though the commits stopped',
    commits: [[1000, 50, 100], [2000, 100, 200], [3000, 150, 300], [4000, 200, 400], [5000, 250, 500]],
    ends: [5250],
    currentLag: 0,
    nowSeconds: 1000,
    status: 'OK',
  },
  {
    name: '9: STOP, commits always at zero lag stopped while new records arrived',
    commits: Array.from({ length: 15 }, (_, i): Commit => [792748079 + i, 0, 1512224618.356 + i * 1.0029]),
    ends: [792749024, 792749000, 792748800, 792748600, 792748500],
    currentLag: 931,
    nowSeconds: 1512224650,
    status: 'STOPPED',
  },
  {
    name: '10: OK, stopped by the clock but the end was at the last commit in a recent sample',
    commits: Array.from({ length: 15 }, (_, i): Commit => [792748079 + i, 0, 1512224618.356 + i * 1.0029]),
    ends: [792748094, 792748093, 792748093, 792748093],
    currentLag: 1,
    nowSeconds: 1512224650,
    status: 'OK',
  },
  {
    name: '15: REWIND, the offset went back and has not reached where it was',
    commits: [[1000, 100, 100], [2000, 150, 200], [3000, 200, 300], [2000, 1250, 400], [2500, 300, 500]],
    ends: [4300],
    currentLag: 300,
    nowSeconds: 600,
    status: 'REWIND',
  },
];

describe("evaluateWindow: Burrow's rules, case by case", () => {
  it.each(BURROW_CASES)('$name', ({ commits, ends, currentLag, nowSeconds, status }) => {
    const window = windowOf(
      commits.map(([offset, lag, atSeconds]) => ({ offset, lag, atMs: Math.round(atSeconds * 1000) })),
      commits.length,
    );
    const nowMs = nowSeconds * 1000;
    // Burrow's ring of end samples, all recent: taken at the evaluation time.
    const history = new EndOffsetHistory(ends.length, 0);
    for (const end of ends) history.sample(end, nowMs);
    const recentlyCaughtUp = history.reachedWithin(window.offsetAt(window.size - 1), nowMs);
    expect(evaluateWindow(window, currentLag, nowMs, undefined, recentlyCaughtUp)).toBe(status);
  });

  it('calls a single commit with lag STALLED (Burrow: no movement), and STOPPED once any time has passed', () => {
    const window = windowOf([{ offset: 10, lag: 30, atMs: 10_000 }]);
    expect(evaluateWindow(window, 30, 10_000, undefined)).toBe('STALLED');
    expect(evaluateWindow(window, 30, 10_001, undefined)).toBe('STOPPED');
    expect(evaluateWindow(window, 30, 10_001, undefined, true)).toBe('STALLED');
  });

  it('WARNING when the offset moves but the lag never decreases', () => {
    const window = windowOf([
      { offset: 10, lag: 30, atMs: 8000 },
      { offset: 20, lag: 30, atMs: 9000 },
      { offset: 30, lag: 42, atMs: 10_000 },
    ]);
    expect(evaluateWindow(window, 42, 10_000, undefined)).toBe('WARNING');
  });

  it('stoppedAfterMs replaces the relative rule when set', () => {
    const window = windowOf([
      { offset: 10, lag: 30, atMs: 0 },
      { offset: 20, lag: 25, atMs: 1000 },
    ]);
    expect(evaluateWindow(window, 25, 1500, undefined)).toBe('OK');
    expect(evaluateWindow(window, 25, 2001, undefined)).toBe('STOPPED');
    expect(evaluateWindow(window, 25, 2001, 60_000)).toBe('OK');
    expect(evaluateWindow(window, 25, 61_001, 60_000)).toBe('STOPPED');
  });
});

describe('EndOffsetHistory', () => {
  it('keeps one sample per interval (the first, the lowest end) and only counts samples of the last capacity x interval', () => {
    const history = new EndOffsetHistory(3, 1000);
    history.sample(10, 0);
    history.sample(50, 500); // within the interval: dropped, 10 stays the sample of [0, 1000)
    expect(history.reachedWithin(10, 2999)).toBe(true);
    expect(history.reachedWithin(10, 3001)).toBe(false); // older than 3 x 1000 ms
    history.sample(20, 1000);
    history.sample(30, 2000);
    history.sample(40, 3000); // the ring holds 3: the 10 is gone
    expect(history.reachedWithin(19, 3000)).toBe(false);
    expect(history.reachedWithin(20, 3000)).toBe(true);
  });
});

describe('LagEvaluator', () => {
  const at = (topic: string, partition: number, currentLag: number, endOffset = 1_000) => ({ topic, partition, currentLag, endOffset });

  it('tracks commits per partition and reports each partition and the group, with Burrow completeness', () => {
    const lag = new LagEvaluator({ windowSize: 3, minCommitIntervalMs: 0 });
    for (let i = 0; i < 3; i++) {
      lag.recordCommit('g', 'orders', 0, 100 + i * 10, 50 - i * 5, i * 1000); // catching up
      lag.recordCommit('g', 'orders', 1, 70, 20 + i, i * 1000); // stuck
      if (i > 0) lag.recordCommit('g', 'payments', 0, 10 + i, 5 + i, i * 1000); // falling behind
    }
    const report = lag.evaluateGroup('g', [at('orders', 0, 40), at('orders', 1, 22), at('payments', 0, 7), at('payments', 1, 3)], 2000);
    expect(report.partitions.map((p) => [p.topic, p.partition, p.status, p.commitsInWindow, p.complete])).toEqual([
      ['orders', 0, 'OK', 3, 1],
      ['orders', 1, 'STALLED', 3, 1],
      ['payments', 0, 'WARNING', 2, 2 / 3],
      ['payments', 1, 'OK', 0, 0],
    ]);
    expect(report.status).toBe('ERROR');
    expect(report.totalLag).toBe(72);
    expect(report.complete).toBe(0.5);
    expect(report.maxLag).toMatchObject({ topic: 'orders', partition: 0, currentLag: 40 });
    expect(report.partitions[0].start).toEqual({ offset: 100, timestampMs: 0, observedAtMs: 0, lag: 50 });
    expect(report.partitions[0].end).toEqual({ offset: 120, timestampMs: 2000, observedAtMs: 2000, lag: 40 });
  });

  it('rates a group WARNING when its worst partition warns, OK when all are fine', () => {
    const lag = new LagEvaluator({ minCommitIntervalMs: 0 });
    lag.recordCommit('g', 't', 0, 1, 5, 0);
    lag.recordCommit('g', 't', 0, 2, 6, 1000);
    expect(lag.evaluateGroup('g', [at('t', 0, 6)], 1000).status).toBe('WARNING');
    expect(lag.evaluateGroup('g', [at('t', 0, 0)], 1000).status).toBe('OK');
    expect(lag.evaluateGroup('g', [], 1000)).toEqual({ groupId: 'g', status: 'OK', totalLag: 0, maxLag: null, complete: 0, partitions: [] });
  });

  it('does not call a consumer STOPPED that was caught up at its last commit, until that end sample ages out', () => {
    const lag = new LagEvaluator({ windowSize: 3, minCommitIntervalMs: 0, endOffsetSampleIntervalMs: 1000 });
    lag.recordCommit('g', 't', 0, 5, 5, 0); // the end was 10
    lag.recordCommit('g', 't', 0, 10, 0, 1000); // caught up: the end was 10
    // Records arrive; the consumer commits no more. 2 s on, the window's relative rule says stopped,
    // but an end sample of the last 3 x 1 s was at the committed offset.
    expect(lag.evaluatePartition('g', at('t', 0, 20, 30), 2500).status).toBe('OK');
    expect(lag.evaluatePartition('g', at('t', 0, 20, 30), 3500).status).toBe('OK');
    // Samples taken at evaluations (30, 30) push it out of the ring: STOPPED.
    expect(lag.evaluatePartition('g', at('t', 0, 20, 30), 4600).status).toBe('STOPPED');
  });

  it('bounds memory: beyond maxTrackedPartitions the least recently committed partition is forgotten', () => {
    const lag = new LagEvaluator({ maxTrackedPartitions: 2, minCommitIntervalMs: 0 });
    lag.recordCommit('g', 't', 0, 1, 1, 0);
    lag.recordCommit('g', 't', 1, 1, 1, 0);
    lag.recordCommit('g', 't', 0, 2, 1, 1000); // partition 0 is now the most recent
    lag.recordCommit('g', 't', 2, 1, 1, 1000); // evicts partition 1
    expect(lag.trackedPartitions).toBe(2);
    expect(lag.evaluatePartition('g', at('t', 1, 5), 1000).commitsInWindow).toBe(0);
    expect(lag.evaluatePartition('g', at('t', 0, 5), 1000).commitsInWindow).toBe(2);
  });

  it('forgets exactly one group, whatever characters group ids contain', () => {
    const lag = new LagEvaluator();
    lag.recordCommit('a', 't', 0, 1, 1, 0);
    lag.recordCommit('a1:', 't', 0, 1, 1, 0);
    lag.recordCommit('a\u0000t', 't', 0, 1, 1, 0);
    lag.forgetGroup('a');
    expect(lag.trackedPartitions).toBe(2);
    expect(lag.evaluatePartition('a1:', at('t', 0, 5), 0).commitsInWindow).toBe(1);
  });

  it('forgets one partition, so a later commit starts a new history', () => {
    const lag = new LagEvaluator({ minCommitIntervalMs: 0 });
    lag.recordCommit('g', 't', 0, 10, 5, 0);
    lag.recordCommit('g', 't', 1, 10, 5, 0);
    lag.forgetPartition('g', 't', 0);
    lag.recordCommit('g', 't', 0, 3, 12, 1000); // would be REWIND against the forgotten history
    expect(lag.evaluatePartition('g', at('t', 0, 12), 1000)).toMatchObject({ status: 'STALLED', commitsInWindow: 1 });
    expect(lag.evaluatePartition('g', at('t', 1, 5), 0).commitsInWindow).toBe(1);
  });

  it('validates its options and inputs', () => {
    expect(() => new LagEvaluator({ windowSize: 0 })).toThrow(InvalidConfigError);
    expect(() => new LagEvaluator({ stoppedAfterMs: -1 })).toThrow(InvalidConfigError);
    expect(() => new LagEvaluator({ endOffsetSampleIntervalMs: -1 })).toThrow(InvalidConfigError);
    const lag = new LagEvaluator();
    expect(() => lag.recordCommit('g', 't', 0, -1, 0, 0)).toThrow(InvalidRequestError);
    expect(() => lag.recordCommit('g', 't', 0, 1, 0, Number.NaN)).toThrow(InvalidRequestError);
    expect(() => lag.evaluatePartition('g', at('t', 0, 1, -1), 0)).toThrow(InvalidRequestError);
  });
});
