import { describe, expect, it } from 'vitest';
import { CommitWindow, evaluateWindow, LagEvaluator, partitionLag } from '../../src/broker/lag.js';
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

describe('evaluateWindow (Burrow rules)', () => {
  const now = 10_000;

  it('OK when the partition has no lag now, even if it stopped committing', () => {
    const window = windowOf([{ offset: 5, lag: 3, atMs: 0 }]);
    expect(evaluateWindow(window, 0, 1e9, undefined)).toBe('OK');
  });

  it('OK when some commit in the window had zero lag (rule 1)', () => {
    const window = windowOf([
      { offset: 5, lag: 3, atMs: 8000 },
      { offset: 5, lag: 0, atMs: 9000 },
      { offset: 5, lag: 4, atMs: 10_000 },
    ]);
    expect(evaluateWindow(window, 4, now, undefined)).toBe('OK');
  });

  it('REWIND when the committed offset went backwards (rule 2)', () => {
    const window = windowOf([
      { offset: 50, lag: 10, atMs: 8000 },
      { offset: 20, lag: 40, atMs: 9000 },
      { offset: 25, lag: 35, atMs: 10_000 },
    ]);
    expect(evaluateWindow(window, 35, now, undefined)).toBe('REWIND');
  });

  it('STOPPED when the last commit is older than the window spans (rule 3, relative)', () => {
    const window = windowOf([
      { offset: 10, lag: 50, atMs: 0 },
      { offset: 20, lag: 45, atMs: 1000 },
      { offset: 30, lag: 40, atMs: 2000 },
    ]);
    expect(evaluateWindow(window, 40, 4000, undefined)).toBe('OK');
    expect(evaluateWindow(window, 40, 4001, undefined)).toBe('STOPPED');
  });

  it('STOPPED after a fixed stoppedAfterMs when one is configured (rule 3, absolute)', () => {
    const window = windowOf([
      { offset: 10, lag: 50, atMs: 0 },
      { offset: 20, lag: 45, atMs: 1000 },
    ]);
    expect(evaluateWindow(window, 45, 1000 + 30_000, 30_000)).toBe('OK');
    expect(evaluateWindow(window, 45, 1000 + 30_001, 30_000)).toBe('STOPPED');
  });

  it('STALLED when commits continue but the offset does not move (rule 4)', () => {
    const window = windowOf([
      { offset: 70, lag: 30, atMs: 8000 },
      { offset: 70, lag: 35, atMs: 9000 },
      { offset: 70, lag: 35, atMs: 10_000 },
    ]);
    expect(evaluateWindow(window, 35, now, undefined)).toBe('STALLED');
  });

  it('WARNING when the offset moves but the lag never shrinks (rule 5)', () => {
    const window = windowOf([
      { offset: 10, lag: 30, atMs: 8000 },
      { offset: 20, lag: 30, atMs: 9000 },
      { offset: 30, lag: 42, atMs: 10_000 },
    ]);
    expect(evaluateWindow(window, 42, now, undefined)).toBe('WARNING');
  });

  it('OK when the offset moves and the lag shrinks somewhere in the window', () => {
    const window = windowOf([
      { offset: 10, lag: 30, atMs: 8000 },
      { offset: 20, lag: 25, atMs: 9000 },
      { offset: 30, lag: 42, atMs: 10_000 },
    ]);
    expect(evaluateWindow(window, 42, now, undefined)).toBe('OK');
  });

  it('does not call a single commit STALLED: movement needs two samples', () => {
    const window = windowOf([{ offset: 10, lag: 30, atMs: 10_000 }]);
    expect(evaluateWindow(window, 30, 10_000, undefined)).toBe('OK');
    expect(evaluateWindow(window, 30, 10_001, undefined)).toBe('STOPPED');
  });
});

describe('LagEvaluator', () => {
  it('tracks commits per partition and reports each partition and the group', () => {
    const lag = new LagEvaluator({ windowSize: 3, minCommitIntervalMs: 0 });
    for (let i = 0; i < 3; i++) {
      lag.recordCommit('g', 'orders', 0, 100 + i * 10, 50 - i * 5, i * 1000); // catching up
      lag.recordCommit('g', 'orders', 1, 70, 20 + i, i * 1000); // stuck
      lag.recordCommit('g', 'payments', 0, 10 + i, 5 + i, i * 1000); // falling behind
    }
    const report = lag.evaluateGroup(
      'g',
      [
        { topic: 'orders', partition: 0, currentLag: 40 },
        { topic: 'orders', partition: 1, currentLag: 22 },
        { topic: 'payments', partition: 0, currentLag: 7 },
        { topic: 'payments', partition: 1, currentLag: 3 },
      ],
      2000,
    );
    expect(report.partitions.map((p) => [p.topic, p.partition, p.status, p.commitsInWindow])).toEqual([
      ['orders', 0, 'OK', 3],
      ['orders', 1, 'STALLED', 3],
      ['payments', 0, 'WARNING', 3],
      ['payments', 1, 'OK', 0],
    ]);
    expect(report.status).toBe('ERROR');
    expect(report.totalLag).toBe(72);
    expect(report.maxLag).toMatchObject({ topic: 'orders', partition: 0, currentLag: 40 });
  });

  it('rates a group WARNING when its worst partition warns, OK when all are fine', () => {
    const lag = new LagEvaluator({ minCommitIntervalMs: 0 });
    lag.recordCommit('g', 't', 0, 1, 5, 0);
    lag.recordCommit('g', 't', 0, 2, 6, 1000);
    expect(lag.evaluateGroup('g', [{ topic: 't', partition: 0, currentLag: 6 }], 1000).status).toBe('WARNING');
    expect(lag.evaluateGroup('g', [{ topic: 't', partition: 0, currentLag: 0 }], 1000).status).toBe('OK');
    expect(lag.evaluateGroup('g', [], 1000)).toEqual({ groupId: 'g', status: 'OK', totalLag: 0, maxLag: null, partitions: [] });
  });

  it('bounds memory: beyond maxTrackedPartitions the least recently committed partition is forgotten', () => {
    const lag = new LagEvaluator({ maxTrackedPartitions: 2, minCommitIntervalMs: 0 });
    lag.recordCommit('g', 't', 0, 1, 1, 0);
    lag.recordCommit('g', 't', 1, 1, 1, 0);
    lag.recordCommit('g', 't', 0, 2, 1, 1000); // partition 0 is now the most recent
    lag.recordCommit('g', 't', 2, 1, 1, 1000); // evicts partition 1
    expect(lag.trackedPartitions).toBe(2);
    expect(lag.evaluatePartition('g', 't', 1, 5, 1000).commitsInWindow).toBe(0);
    expect(lag.evaluatePartition('g', 't', 0, 5, 1000).commitsInWindow).toBe(2);
  });

  it('forgets exactly one group, whatever characters group ids contain', () => {
    const lag = new LagEvaluator();
    lag.recordCommit('a', 't', 0, 1, 1, 0);
    lag.recordCommit('a1:', 't', 0, 1, 1, 0);
    lag.recordCommit('a\u0000t', 't', 0, 1, 1, 0);
    lag.forgetGroup('a');
    expect(lag.trackedPartitions).toBe(2);
    expect(lag.evaluatePartition('a1:', 't', 0, 5, 0).commitsInWindow).toBe(1);
  });

  it('forgets one partition, so a later commit starts a new history', () => {
    const lag = new LagEvaluator({ minCommitIntervalMs: 0 });
    lag.recordCommit('g', 't', 0, 10, 5, 0);
    lag.recordCommit('g', 't', 1, 10, 5, 0);
    lag.forgetPartition('g', 't', 0);
    lag.recordCommit('g', 't', 0, 3, 12, 1000); // would be REWIND against the forgotten history
    expect(lag.evaluatePartition('g', 't', 0, 12, 1000)).toMatchObject({ status: 'OK', commitsInWindow: 1 });
    expect(lag.evaluatePartition('g', 't', 1, 5, 0).commitsInWindow).toBe(1);
  });

  it('validates its options and inputs', () => {
    expect(() => new LagEvaluator({ windowSize: 0 })).toThrow(InvalidConfigError);
    expect(() => new LagEvaluator({ stoppedAfterMs: -1 })).toThrow(InvalidConfigError);
    const lag = new LagEvaluator();
    expect(() => lag.recordCommit('g', 't', 0, -1, 0, 0)).toThrow(InvalidRequestError);
    expect(() => lag.recordCommit('g', 't', 0, 1, 0, Number.NaN)).toThrow(InvalidRequestError);
  });
});
