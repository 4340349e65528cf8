/**
 * Kafka's LogLoader: what opening a partition directory does before the log can serve. It
 * finishes or undoes a log clean that a crash interrupted (log-cleaner.ts), removes leftovers
 * and lists the segments (recovery.ts), reads the log start offset and recovery point
 * checkpoints, loads the segments below the recovery point and recovers those above it, and
 * settles the log start offset against what survived. The segments it returns are open, the
 * last one active; PartitionLog restores producer state from them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError } from '../errors.js';
import { recoverInterruptedCleaning } from './log-cleaner.js';
import {
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  loadSegments,
  readOffsetCheckpoint,
  scanPartitionDirectory,
  type RecoveryReport,
} from './recovery.js';
import { Segment, type SegmentSettings, type StorageLogger } from './segment.js';

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
