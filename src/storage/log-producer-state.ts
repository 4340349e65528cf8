/**
 * The steps a partition log takes around its ProducerStateManager (producer-state.ts), Kafka's
 * UnifiedLog.rebuildProducerState and the snapshot handling of its ProducerStateManager: restoring
 * producer state on open and after a truncation (the newest usable snapshot, then a replay of the
 * batch headers after it), repairing the transaction indexes that replay rewrites, taking
 * snapshots, and deleting the snapshots no replay can start from.
 *
 * It holds no offsets: PartitionLog passes its log start and end offsets to every call, and
 * applies appended batches to the manager itself (the append path goes through nothing else).
 * Owned by one thread, like the PartitionLog holding it.
 */
import { ProducerSnapshots, type LoadedSnapshot } from './producer-state-snapshot.js';
import type { ProducerStateManager } from './producer-state.js';
import type { LocalLog } from './local-log.js';
import type { StorageLogger } from './segment.js';

/** How opening the log restored producer state and the transaction indexes. */
export interface ProducerStateRecovery {
  /** The snapshot the replay started from, or null when it started empty at the log start offset. */
  readonly snapshotOffset: number | null;
  readonly replayedFromOffset: number;
  /** Batches whose headers were replayed. */
  readonly batchesReplayed: number;
  /** Snapshots that failed their checks and were deleted. */
  readonly snapshotsDiscarded: number;
  /** Transaction index entries for markers at or after this offset were rebuilt by the replay. */
  readonly txnIndexRebuiltFrom: number;
}

export class LogProducerState {
  private readonly snapshots: ProducerSnapshots;

  constructor(
    private readonly producers: ProducerStateManager,
    private readonly local: LocalLog,
    private readonly logger: StorageLogger,
  ) {
    this.snapshots = new ProducerSnapshots(local.dir, (message) => logger.warn(message));
  }

  /**
   * Opening: restores producer state and repairs the transaction indexes. Index entries below the
   * recovery point were fsynced by a flush, and those below a snapshot's offset were fsynced
   * before it was written, so entries are trusted up to the higher of the two (lowered to where an
   * index file was found torn or damaged); the replay rewrites every entry after that.
   */
  load(startOffset: number, endOffset: number, recoveryPoint: number, nowMs: number): ProducerStateRecovery {
    this.dropUnusableSnapshots(startOffset, endOffset);
    let damagedFrom = endOffset;
    for (const segment of this.local.segments) {
      const damaged = segment.txnIndex.damagedFromOffset;
      if (damaged === null) continue;
      this.logger.warn(
        `${segment.txnIndex.path}: ${segment.txnIndex.damageReason}; rebuilding its entries from offset ${damaged}`,
      );
      damagedFrom = Math.min(damagedFrom, damaged);
    }
    const discarded = { count: 0 };
    const newest = this.snapshots.newestAtOrBelow(endOffset, discarded);
    const trustedUpTo = Math.min(endOffset, damagedFrom, Math.max(Math.min(recoveryPoint, endOffset), newest?.offset ?? 0));
    const start = newest !== null && newest.offset <= trustedUpTo ? newest : this.snapshots.newestAtOrBelow(trustedUpTo, discarded);
    const replay = this.restore(startOffset, endOffset, trustedUpTo, nowMs, start);
    if (replay.replayedFromOffset !== endOffset) this.writeSnapshot(endOffset);
    return { ...replay, snapshotsDiscarded: discarded.count };
  }

  /**
   * After a truncation to `endOffset`: the transaction indexes are exact below the new end, so
   * only their entries past it go; state is restored from the newest snapshot at or below it.
   */
  restoreAfterTruncation(startOffset: number, endOffset: number, nowMs: number): void {
    this.dropUnusableSnapshots(startOffset, endOffset);
    this.restore(startOffset, endOffset, endOffset, nowMs, this.snapshots.newestAtOrBelow(endOffset, { count: 0 }));
  }

  /**
   * Snapshots producer state at `endOffset` (the log end) and keeps only the newest snapshots. The
   * transaction index entries it covers are fsynced first: the next open trusts them (see load).
   */
  writeSnapshot(endOffset: number): number {
    for (const segment of this.local.segments) segment.txnIndex.flush();
    this.local.syncDirectoryIfDirty();
    this.snapshots.write(endOffset, this.producers.snapshotEntries());
    return endOffset;
  }

  /** Deletes the snapshots no replay can start from: past `maxOffset` (the log end), or below the log start. */
  dropUnusableSnapshots(startOffset: number, maxOffset: number): void {
    this.snapshots.dropOutside(startOffset, maxOffset);
  }

  /**
   * After the log start offset moved: its snapshots below it go, as in Kafka. Producer state
   * outlives the records it came from, so if none is left, one is taken at the log end to keep it.
   */
  dropSnapshotsBelowLogStart(startOffset: number, endOffset: number): void {
    this.dropUnusableSnapshots(startOffset, endOffset);
    if (this.snapshots.count === 0 && this.producers.producerCount > 0) this.writeSnapshot(endOffset);
  }

  /**
   * Rebuilds producer state for the log as it is: from `snapshot` (or empty at the log start
   * offset), replaying the batch headers after it to the log end. Transaction index entries for
   * markers at or after `trustedUpTo` (or the replay's start, if later: nothing before it can be
   * rebuilt) are dropped and rewritten by the replay.
   */
  private restore(
    startOffset: number,
    endOffset: number,
    trustedUpTo: number,
    nowMs: number,
    snapshot: LoadedSnapshot | null,
  ): Omit<ProducerStateRecovery, 'snapshotsDiscarded'> {
    const fromOffset = snapshot?.offset ?? startOffset;
    const txnIndexFrom = Math.max(trustedUpTo, fromOffset);
    this.producers.load(snapshot?.entries ?? [], nowMs);
    const local = this.local;
    for (const segment of local.segments) segment.txnIndex.truncateTo(txnIndexFrom);
    let batchesReplayed = 0;
    local.window.invalidate();
    for (let i = local.floorIndex(fromOffset); i < local.segments.length && fromOffset < endOffset; i++) {
      const segment = local.segments[i];
      segment.visitBatches(Math.max(fromOffset, segment.baseOffset), local.window, (buffer, at) => {
        batchesReplayed++;
        const aborted = this.producers.applyBatch(buffer, at);
        if (aborted !== null && aborted.lastOffset >= txnIndexFrom && segment.txnIndex.append(aborted)) local.markDirectoryDirty();
      });
    }
    this.producers.removeExpiredProducers(nowMs);
    return {
      snapshotOffset: snapshot?.offset ?? null,
      replayedFromOffset: fromOffset,
      batchesReplayed,
      txnIndexRebuiltFrom: txnIndexFrom,
    };
  }
}
