/**
 * Each partition's high watermark on this broker (Kafka's Partition.maybeIncrementLeaderHW and
 * the follower's updateHighWatermark): the offset below which every ISR member holds the log, the
 * end of what consumers may read and what acks=all waits for.
 *
 *  - As leader: each follower's Fetch carries its fetch offset, which is its log end offset
 *    (recordFollowerFetch, Kafka's updateFollowerFetchState); the high watermark is the minimum of
 *    the leader's own log end offset and those of the other ISR members, and never goes down.
 *  - As follower: the leader's high watermark from each Fetch response, capped at the local log
 *    end offset (followerHighWatermark), so that, elected leader, it starts from what it knew.
 *
 * A partition whose ISR is its leader alone has its log end offset as high watermark.
 */
import { EventEmitter } from 'node:events';

interface FollowerProgress {
  readonly caughtUpMs: number;
  readonly lastFetchLeaderLogEnd: number;
  readonly lastFetchMs: number;
}

export class HighWatermarks {
  /** By `${topic}/${partition}`: the highest watermark known (never lowered while this broker holds the partition). */
  private readonly marks = new Map<string, number>();
  /** By `${topic}/${partition}`: each follower's log end offset, as its last fetch said. */
  private readonly followerEnds = new Map<string, Map<number, number>>();
  /** By `${topic}/${partition}`: each follower's Kafka lastCaughtUpTimeMs and what its previous fetch saw. */
  private readonly caughtUpMs = new Map<string, Map<number, FollowerProgress>>();
  private readonly moved = new EventEmitter();

  constructor(private readonly brokerId: number) {
    this.moved.setMaxListeners(0);
  }

  /** The high watermark of a partition whose ISR is `isr`, with this broker's log end offset `logEndOffset`. */
  current(key: string, isr: readonly number[], leader: number, logEndOffset: number): number {
    const known = this.marks.get(key) ?? 0;
    if (leader !== this.brokerId) return Math.min(known, logEndOffset);
    let mark = logEndOffset;
    const ends = this.followerEnds.get(key);
    for (const id of isr) {
      if (id === this.brokerId) continue;
      const end = ends?.get(id) ?? 0;
      if (end < mark) mark = end;
    }
    if (mark <= known) return Math.min(known, logEndOffset);
    this.marks.set(key, mark);
    return mark;
  }

  /**
   * Leader: follower `replicaId` fetched from `fetchOffset`, so its log ends there; caught up when
   * that is the leader's log end `leaderLogEnd`. Wakes acks=all waiters.
   */
  recordFollowerFetch(key: string, replicaId: number, fetchOffset: number, leaderLogEnd: number, nowMs: number): void {
    let progress = this.caughtUpMs.get(key);
    if (progress === undefined) this.caughtUpMs.set(key, (progress = new Map()));
    const previous = progress.get(replicaId);
    // Kafka's updateFollowerFetchState: caught up now if it fetched from the leader's log end, or as
    // of its previous fetch if it now has what the leader had then (a busy partition's log end
    // moves between any two fetches).
    let caughtUpMs = previous?.caughtUpMs ?? nowMs;
    if (fetchOffset >= leaderLogEnd) caughtUpMs = nowMs;
    else if (previous !== undefined && fetchOffset >= previous.lastFetchLeaderLogEnd) caughtUpMs = Math.max(caughtUpMs, previous.lastFetchMs);
    progress.set(replicaId, { caughtUpMs, lastFetchLeaderLogEnd: leaderLogEnd, lastFetchMs: nowMs });
    let ends = this.followerEnds.get(key);
    if (ends === undefined) this.followerEnds.set(key, (ends = new Map()));
    if (ends.get(replicaId) === fetchOffset) return;
    ends.set(replicaId, fetchOffset);
    this.moved.emit(key);
  }

  /** Follower: the leader's high watermark, as its Fetch response said, capped at this log's end. */
  followerHighWatermark(key: string, leaderHighWatermark: number, logEndOffset: number): void {
    const mark = Math.min(leaderHighWatermark, logEndOffset);
    if (mark > (this.marks.get(key) ?? 0)) this.marks.set(key, mark);
  }

  /** A follower's log was cut below what it knew: its high watermark follows the cut. */
  truncated(key: string, logEndOffset: number): void {
    if ((this.marks.get(key) ?? 0) > logEndOffset) this.marks.set(key, logEndOffset);
  }

  /** The ISR changed (a follower left or came back): waiters re-check. */
  isrChanged(key: string): void {
    this.moved.emit(key);
  }

  /**
   * Resolves true once `reached()` holds, re-checked whenever a follower of the partition fetches
   * or its ISR changes; false after timeoutMs or once `signal` aborts.
   */
  waitUntil(key: string, reached: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (reached()) return Promise.resolve(true);
    if (signal?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (outcome: boolean): void => {
        clearTimeout(timer);
        this.moved.off(key, check);
        signal?.removeEventListener('abort', abort);
        resolve(outcome);
      };
      const check = (): void => {
        if (reached()) finish(true);
      };
      const abort = (): void => finish(false);
      const timer = setTimeout(abort, timeoutMs);
      this.moved.on(key, check);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** This broker became the partition's leader: followers' ends are learnt afresh from their fetches (Kafka's makeLeader). */
  resetFollowers(key: string, nowMs: number, replicas: readonly number[]): void {
    this.followerEnds.delete(key);
    // Kafka's makeLeader: every follower gets replica.lag.time.max.ms from now to show it keeps up.
    this.caughtUpMs.set(key, new Map(replicas.map((id) => [id, { caughtUpMs: nowMs, lastFetchLeaderLogEnd: Number.MAX_SAFE_INTEGER, lastFetchMs: nowMs }])));
  }

  /** Kafka's getOutOfSyncReplicas: ISR followers that have not caught up for more than lagTimeMaxMs. */
  laggingFollowers(key: string, isr: readonly number[], nowMs: number, lagTimeMaxMs: number): number[] {
    const progress = this.caughtUpMs.get(key);
    return isr.filter((id) => id !== this.brokerId && nowMs - (progress?.get(id)?.caughtUpMs ?? nowMs) > lagTimeMaxMs);
  }

  /** The partition is gone from this broker (its topic deleted). */
  forget(key: string): void {
    this.marks.delete(key);
    this.followerEnds.delete(key);
    this.caughtUpMs.delete(key);
  }
}
