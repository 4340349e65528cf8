/**
 * Opening a partition directory after a clean shutdown or a crash: which files belong there, the
 * two checkpoint files, and which segments are trusted or scanned.
 *
 * The recovery point (Kafka's recovery-point-offset-checkpoint, kept per partition here) is an
 * offset below which every byte was fsynced. Segments that end below the segment holding it are
 * trusted: their indexes are checked and the batch headers after the last index entry are read,
 * with no CRC work. The segment holding the recovery point and every later one may have lost or
 * torn bytes in a crash, so each batch in them is validated (length, magic, CRC32C, counts,
 * ascending offsets); the first invalid batch and everything after it are cut, and, as in Kafka,
 * later segments are deleted since offsets must stay contiguous. The active (last) segment is
 * always validated, even after a clean close, so a restart costs at most one segment of CRC work.
 * Producer state and the transaction indexes are restored afterwards, by the partition log, from
 * the segments this leaves (see PartitionLog's restoreProducerState).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError } from '../errors.js';
import { FileWindow, fsyncDirectory, readFileIfExists, replaceFile, unlinkIfExists } from './durable-fs.js';
import {
  LOG_FILE_SUFFIX,
  OFFSET_INDEX_FILE_SUFFIX,
  Segment,
  TIME_INDEX_FILE_SUFFIX,
  parseSegmentFileName,
  segmentFileName,
  type SegmentSettings,
  type StorageLogger,
} from './segment.js';
import { TXN_INDEX_FILE_SUFFIX } from './txn-index.js';

export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset.checkpoint';
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point.checkpoint';
export const CHECKPOINT_TEMP_SUFFIX = '.tmp';
/** Kafka's checkpoint files start with a version line; this is the only version. */
const CHECKPOINT_VERSION = 0;
/** Recovery reads segments through a window this large (grown for larger batches). */
export const RECOVERY_WINDOW_BYTES = 1024 * 1024;

export const SEGMENT_SUFFIXES = [LOG_FILE_SUFFIX, OFFSET_INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, TXN_INDEX_FILE_SUFFIX];

/** What opening the log found and repaired. */
export interface RecoveryReport {
  /** The checkpointed recovery point, 0 when there was none. */
  readonly recoveryPointOffset: number;
  readonly segmentsLoaded: number;
  /** Segments whose every batch was validated. */
  readonly segmentsRecovered: number;
  /** Bytes cut from the end of the log: torn writes and corrupt batches. */
  readonly bytesTruncated: number;
  /** Segments deleted because an earlier one was cut. */
  readonly segmentsDeleted: number;
  /** Segments whose index files were rewritten to match their log. */
  readonly indexesRebuilt: number;
  /** Leftover files removed: interrupted checkpoint writes, index files without a log. */
  readonly filesRemoved: readonly string[];
}

export interface LoadedPartition {
  /** Open segments in offset order; the last is not yet activated. May be empty. */
  readonly segments: Segment[];
  readonly report: RecoveryReport;
}

/**
 * The base offsets of the segments in `dir`, ascending. Removes leftovers of interrupted work
 * (checkpoint temp files, index files whose `.log` is gone). Files named like segment files but
 * not parseable as one are refused with CorruptFileError; other files belong to the log's owner
 * (partition metadata and the like) and are left alone.
 */
export function scanPartitionDirectory(
  dir: string,
  logger: StorageLogger,
): { baseOffsets: number[]; filesRemoved: string[] } {
  const names = readdirSync(dir);
  const logBaseOffsets = new Set<number>();
  const indexFiles: { name: string; baseOffset: number }[] = [];
  const filesRemoved: string[] = [];
  for (const name of names) {
    if (name.endsWith(CHECKPOINT_TEMP_SUFFIX)) {
      unlinkIfExists(join(dir, name));
      filesRemoved.push(name);
      logger.info(`removed ${join(dir, name)}, left by an interrupted checkpoint write`);
      continue;
    }
    const suffix = SEGMENT_SUFFIXES.find((candidate) => name.endsWith(candidate));
    if (suffix === undefined) continue;
    const baseOffset = parseSegmentFileName(name, suffix);
    if (baseOffset === null) {
      throw new CorruptFileError(
        join(dir, name),
        `segment files are named by their base offset as 20 digits (e.g. ${segmentFileName(0, suffix)}); ` +
          `move this file out of the partition directory`,
      );
    }
    if (suffix === LOG_FILE_SUFFIX) logBaseOffsets.add(baseOffset);
    else indexFiles.push({ name, baseOffset });
  }
  for (const { name, baseOffset } of indexFiles) {
    if (logBaseOffsets.has(baseOffset)) continue;
    unlinkIfExists(join(dir, name));
    filesRemoved.push(name);
    logger.warn(`removed ${join(dir, name)}: its segment's .log is gone (an interrupted segment deletion)`);
  }
  return { baseOffsets: [...logBaseOffsets].sort((a, b) => a - b), filesRemoved };
}

/**
 * Opens every segment, trusting those below the recovery point and validating the rest batch by
 * batch (see the module comment). On failure every segment opened so far is closed again.
 */
export function loadSegments(
  dir: string,
  baseOffsets: readonly number[],
  recoveryPoint: number,
  settings: SegmentSettings,
  nowMs: number,
  filesRemoved: string[],
): LoadedPartition {
  const logger = settings.logger;
  const segments: Segment[] = [];
  const window = new FileWindow(RECOVERY_WINDOW_BYTES);
  let recoverFrom = 0;
  for (let i = 0; i < baseOffsets.length; i++) if (baseOffsets[i] <= recoveryPoint) recoverFrom = i;
  let segmentsRecovered = 0;
  let bytesTruncated = 0;
  let segmentsDeleted = 0;
  let indexesRebuilt = 0;
  try {
    for (let i = 0; i < baseOffsets.length; i++) {
      const segment = Segment.openExisting(dir, baseOffsets[i], settings, nowMs);
      segments.push(segment);
      const upperBoundOffset = i + 1 < baseOffsets.length ? baseOffsets[i + 1] : null;
      if (i < recoverFrom) {
        const loaded = segment.loadTrusted(upperBoundOffset, window);
        if (loaded.outcome === 'logInconsistent') {
          throw new CorruptFileError(
            segment.logPath,
            `${loaded.reason}. The segment lies below the recovery point ${recoveryPoint}, so it was flushed ` +
              `and is not cut automatically: restore it from a replica or backup, or move it and every later ` +
              `segment out of the partition directory`,
          );
        }
        if (loaded.outcome === 'indexRebuilt') {
          indexesRebuilt++;
          logger.warn(`rebuilt the indexes of ${segment.logPath} from the log: ${loaded.reason}`);
        }
        continue;
      }
      const recovered = segment.recover(upperBoundOffset, window);
      segmentsRecovered++;
      if (recovered.indexesRewritten) {
        indexesRebuilt++;
        logger.info(`rewrote the indexes of ${segment.logPath} from the recovered log`);
      }
      if (recovered.truncatedBytes === 0) continue;
      bytesTruncated += recovered.truncatedBytes;
      logger.warn(
        `recovery cut ${recovered.truncatedBytes} bytes from the end of ${segment.logPath} (${recovered.reason}); ` +
          `that segment now ends at offset ${segment.nextOffset}`,
      );
      for (const later of baseOffsets.slice(i + 1)) {
        deleteSegmentFiles(dir, later);
        segmentsDeleted++;
        logger.warn(
          `deleted segment ${join(dir, segmentFileName(later, LOG_FILE_SUFFIX))}: it follows the cut, and offsets ` +
            `must stay contiguous`,
        );
      }
      if (segmentsDeleted > 0) fsyncDirectory(dir);
      break;
    }
  } catch (error) {
    for (const segment of segments) segment.close();
    throw error;
  }
  return {
    segments,
    report: {
      recoveryPointOffset: recoveryPoint,
      segmentsLoaded: segments.length,
      segmentsRecovered,
      bytesTruncated,
      segmentsDeleted,
      indexesRebuilt,
      filesRemoved,
    },
  };
}

export function deleteSegmentFiles(dir: string, baseOffset: number): void {
  unlinkIfExists(join(dir, segmentFileName(baseOffset, TXN_INDEX_FILE_SUFFIX)));
  unlinkIfExists(join(dir, segmentFileName(baseOffset, OFFSET_INDEX_FILE_SUFFIX)));
  unlinkIfExists(join(dir, segmentFileName(baseOffset, TIME_INDEX_FILE_SUFFIX)));
  unlinkIfExists(join(dir, segmentFileName(baseOffset, LOG_FILE_SUFFIX)));
}

/**
 * Reads a checkpoint holding one offset, in Kafka's checkpoint style: a version line, then the
 * value. Returns null when the file does not exist; throws CorruptFileError when it is not one.
 */
export function readOffsetCheckpoint(path: string): number | null {
  const bytes = readFileIfExists(path);
  if (bytes === null) return null;
  const text = bytes.toString('utf8');
  const match = /^(\d+)\n(\d+)\n$/.exec(text);
  if (match === null) {
    const found = JSON.stringify(text.slice(0, 64));
    throw new CorruptFileError(path, `expected "${CHECKPOINT_VERSION}\\n<offset>\\n", found ${found}`);
  }
  if (Number(match[1]) !== CHECKPOINT_VERSION) {
    throw new CorruptFileError(path, `checkpoint version ${match[1]} is not supported (only ${CHECKPOINT_VERSION})`);
  }
  const offset = Number(match[2]);
  if (!Number.isSafeInteger(offset)) throw new CorruptFileError(path, `offset ${match[2]} is out of range`);
  return offset;
}

/**
 * Replaces a checkpoint atomically: write a temp file, fsync it, rename it over the old one, fsync
 * the directory. A crash leaves either the old or the new value, never a torn one.
 */
export function writeOffsetCheckpoint(dir: string, fileName: string, offset: number): void {
  const path = join(dir, fileName);
  replaceFile(path, `${CHECKPOINT_VERSION}\n${offset}\n`, { tempPath: path + CHECKPOINT_TEMP_SUFFIX });
}
