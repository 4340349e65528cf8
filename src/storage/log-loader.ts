/**
 * Kafka's LogLoader: what opening a partition directory does before the log can serve. It
 * finishes or undoes a log clean that a crash interrupted (log-cleaner.ts), removes leftovers
 * and lists the segments (recovery.ts), reads the log start offset and recovery point
 * checkpoints, loads the segments below the recovery point and recovers those above it, and
 * settles the log start offset against what survived. The segments it returns are open, the
 * last one active; PartitionLog restores producer state from them (log-producer-state.ts) and the
 * leader epoch cache (loadLeaderEpochs, below).
 */
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError } from '../errors.js';
import { readBaseOffset, readPartitionLeaderEpoch } from '../protocol/batch-header.js';
import { FileWindow } from './durable-fs.js';
import { LeaderEpochCache, readLeaderEpochCheckpoint, type EpochEntry } from './leader-epoch-cache.js';
import type { LocalLog } from './local-log.js';
import { CLEANED_FILE_SUFFIX } from './cleaner-tasks.js';
import { SWAP_FILE_SUFFIX, recoverInterruptedCleaning } from './log-cleaner.js';
import {
  CHECKPOINT_TEMP_SUFFIX,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_WINDOW_BYTES,
  SEGMENT_SUFFIXES,
  RECOVERY_POINT_CHECKPOINT_FILE,
  loadSegments,
  readOffsetCheckpoint,
  scanPartitionDirectory,
  type RecoveryReport,
} from './recovery.js';
import {
  LOG_FILE_SUFFIX,
  Segment,
  parseSegmentFileName,
  scanValidBatches,
  segmentFileName,
  type SegmentSettings,
  type StorageLogger,
} from './segment.js';

export interface LoadedLog {
  /** Open segments in offset order; the last is active. */
  readonly segments: Segment[];
  readonly startOffset: number;
  /** The recovery point as the checkpoint holds it (0 when it is missing or unreadable). */
  readonly recoveryPoint: number;
  readonly report: RecoveryReport;
  /** Segment files were created or deleted, and the directory is not fsynced yet. */
  readonly dirDirty: boolean;
}

/** Loads (creating if needed) the partition directory `dir`; see the module comment. */
export function loadLog(dir: string, settings: SegmentSettings, nowMs: number): LoadedLog {
  const logger = settings.logger;
  mkdirSync(dir, { recursive: true });
  const cleanerRepairs = recoverInterruptedCleaning(dir, logger);
  const { baseOffsets, filesRemoved } = scanPartitionDirectory(dir, logger);
  filesRemoved.unshift(...cleanerRepairs);
  const checkpointedStart = readOffsetCheckpoint(join(dir, LOG_START_OFFSET_CHECKPOINT_FILE));
  const recoveryPoint = readRecoveryPoint(dir, logger);
  const { segments, report } = loadSegments(dir, baseOffsets, recoveryPoint, settings, nowMs, filesRemoved);
  let dirDirty = false;
  try {
    const endOffset = segments.length === 0 ? 0 : segments[segments.length - 1].nextOffset;
    const startOffset = Math.max(checkpointedStart ?? 0, segments.length === 0 ? 0 : segments[0].baseOffset);
    if (startOffset > endOffset) {
      // Only a lost tail can put the checkpointed start past the end. Offsets below the start
      // were handed out already, so restart the log empty at the start rather than reuse them.
      if (segments.length > 0) {
        logger.warn(
          `log start offset ${startOffset} is past the recovered log end offset ${endOffset} in ${dir}; ` +
            `deleting ${segments.length} segment(s) and restarting the log empty at ${startOffset}`,
        );
      }
      for (const segment of segments.splice(0)) segment.delete();
    }
    if (segments.length === 0) {
      segments.push(Segment.create(dir, startOffset, settings, nowMs));
      dirDirty = true;
    }
    segments[segments.length - 1].activate();
    return { segments, startOffset, recoveryPoint, report, dirDirty };
  } catch (error) {
    for (const segment of segments) segment.close();
    throw error;
  }
}

/** A checkpoint that cannot be parsed only costs a longer recovery: validate everything. */
function readRecoveryPoint(dir: string, logger: StorageLogger): number {
  try {
    return readOffsetCheckpoint(join(dir, RECOVERY_POINT_CHECKPOINT_FILE)) ?? 0;
  } catch (error) {
    if (!(error instanceof CorruptFileError)) throw error;
    logger.warn(`${error.message}; validating every segment instead`);
    return 0;
  }
}

/**
 * Why opening `dir` would change its data on disk, found without writing anything, or null when it
 * would not: leftovers of interrupted work to remove or finish (checkpoint writes, segment
 * deletions, log cleans), or a segment from the recovery point on whose tail recovery would cut
 * (a torn write, a corrupt batch), with the later segments it would delete. Read-only inspection
 * of a data directory refuses to open one that needs recovery rather than repair it unasked.
 * Index files are not compared here: recovery rebuilds them from the log, losing no record.
 */
export function recoveryNeeded(dir: string): string | null {
  const names = readdirSync(dir);
  const logBases = new Set<number>();
  for (const name of names) {
    if (name.endsWith(CHECKPOINT_TEMP_SUFFIX) || name.endsWith(CLEANED_FILE_SUFFIX) || name.endsWith(SWAP_FILE_SUFFIX)) {
      return `${join(dir, name)} is left by interrupted work`;
    }
    const base = parseSegmentFileName(name, LOG_FILE_SUFFIX);
    if (base !== null) logBases.add(base);
  }
  for (const name of names) {
    const suffix = SEGMENT_SUFFIXES.find((candidate) => candidate !== LOG_FILE_SUFFIX && name.endsWith(candidate));
    if (suffix === undefined) continue;
    const base = parseSegmentFileName(name, suffix);
    if (base !== null && !logBases.has(base)) return `${join(dir, name)} has no segment .log (an interrupted segment deletion)`;
  }
  const baseOffsets = [...logBases].sort((a, b) => a - b);
  if (baseOffsets.length === 0) return null;
  let recoveryPoint = 0;
  try {
    recoveryPoint = readOffsetCheckpoint(join(dir, RECOVERY_POINT_CHECKPOINT_FILE)) ?? 0;
  } catch (error) {
    // As loadLog does: an unreadable recovery point only means every segment is validated.
    if (!(error instanceof CorruptFileError)) throw error;
  }
  let recoverFrom = 0;
  for (let i = 0; i < baseOffsets.length; i++) if (baseOffsets[i] <= recoveryPoint) recoverFrom = i;
  const window = new FileWindow(RECOVERY_WINDOW_BYTES);
  let endOffset = 0;
  for (let i = recoverFrom; i < baseOffsets.length; i++) {
    const path = join(dir, segmentFileName(baseOffsets[i], LOG_FILE_SUFFIX));
    const upperBoundOffset = i + 1 < baseOffsets.length ? baseOffsets[i + 1] : null;
    const fd = openSync(path, 'r');
    try {
      const sizeBytes = fstatSync(fd).size;
      const scan = scanValidBatches(fd, baseOffsets[i], sizeBytes, upperBoundOffset, window);
      if (scan.validBytes < sizeBytes) {
        const later = baseOffsets.length - i - 1;
        return (
          `recovery would cut ${sizeBytes - scan.validBytes} bytes from the end of ${path} (at byte ${scan.validBytes}: ${scan.reason})` +
          (later > 0 ? ` and delete the ${later} segment(s) after it` : '')
        );
      }
      endOffset = scan.nextOffset;
    } finally {
      closeSync(fd);
    }
  }
  const checkpointedStart = readOffsetCheckpoint(join(dir, LOG_START_OFFSET_CHECKPOINT_FILE)) ?? 0;
  if (checkpointedStart > endOffset) {
    return `its log start offset ${checkpointedStart} is past its log end offset ${endOffset}: recovery would restart the log empty`;
  }
  return null;
}

/**
 * Opening: Kafka's LogLoader steps for the epoch cache. The checkpoint is read; the batches from
 * the recovery point on (unflushed when the process stopped, so possibly newer than the file)
 * assign the epochs they carry above the latest known one; entries past the log end go,
 * and the first is moved up to the log start. A missing checkpoint on a non-empty log, or one
 * that fails its checks, is rebuilt from every batch header instead. Batches written before
 * epochs were kept carry -1 and assign nothing: such a log gets epoch 0 from its end offset on.
 *
 * Unlike Kafka, whose controller keeps the current epoch, this file is its only record: an entry
 * starting exactly at the log end survives (the current epoch, begun with no batch yet), and
 * when recovery cut every batch of the latest epoch, that epoch carries on from the new end.
 */
export function loadLeaderEpochs(
  local: LocalLog,
  startOffset: number,
  endOffset: number,
  recoveryPoint: number,
  logger: StorageLogger,
): LeaderEpochCache {
  let entries: EpochEntry[] | null;
  try {
    entries = readLeaderEpochCheckpoint(local.dir);
  } catch (error) {
    if (!(error instanceof CorruptFileError)) throw error;
    logger.warn(`${error.message}; rebuilding it from the batch headers`);
    entries = null;
  }
  const replayFrom = entries === null ? startOffset : Math.max(startOffset, Math.min(recoveryPoint, endOffset));
  const rebuilt = (entries ?? []).filter((entry) => entry.startOffset <= endOffset);
  local.window.invalidate();
  for (let i = local.floorIndex(replayFrom); i < local.segments.length && replayFrom < endOffset; i++) {
    const segment = local.segments[i];
    segment.visitBatches(Math.max(replayFrom, segment.baseOffset), local.window, (buffer, at) => {
      const epoch = readPartitionLeaderEpoch(buffer, at);
      const latest = rebuilt[rebuilt.length - 1];
      if (epoch < 0 || (latest !== undefined && epoch <= latest.epoch)) return;
      const baseOffset = readBaseOffset(buffer, at);
      while (rebuilt.length > 0 && rebuilt[rebuilt.length - 1].startOffset >= baseOffset) rebuilt.pop();
      rebuilt.push({ epoch, startOffset: baseOffset });
    });
  }
  const changed = entries === null || rebuilt.length !== entries.length || rebuilt.some((entry, i) => entry !== entries![i]);
  const epochs = new LeaderEpochCache(local.dir, rebuilt);
  // An empty cache is written by the assign below.
  if (changed && rebuilt.length > 0) epochs.replace(rebuilt);
  epochs.truncateFromStart(startOffset);
  // The current epoch never goes back: one whose batches recovery cut carries on from the end.
  const recordedEpoch = Math.max(0, entries?.[entries.length - 1]?.epoch ?? 0);
  if (epochs.latestEpoch < recordedEpoch || epochs.latestEpoch < 0) epochs.assign(recordedEpoch, endOffset);
  return epochs;
}
