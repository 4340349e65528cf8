/**
 * Space set aside in the data directory for starting on a full file system: `.space-reserve`, a
 * file of SPACE_RESERVE_BYTES written (real blocks, not a sparse file) while the file system has
 * room. Start-up must write before it can serve reads: the lock file, the coordinator epoch,
 * recovery's checkpoints, indexes and producer snapshots. When the file system is full, the broker
 * that opens the directory releases the reserve (cuts the file to nothing) so that those writes
 * fit, and writes it again once the file system has room (checked with the lock's heartbeat).
 * Appends never use it on purpose: they fail with KAFKA_STORAGE_ERROR on a full disk and resume
 * when space returns (partition-log.ts); the reserve only keeps a restart from needing a free
 * block first. Its content means nothing, so a crash while writing it loses nothing.
 */
import { closeSync, ftruncateSync, openSync, statSync, statfsSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { storageErrorOf, writeFully } from './durable-fs.js';
import { KafkaStorageError } from '../errors.js';

export const SPACE_RESERVE_FILE_NAME = '.space-reserve';
/** Enough for what start-up writes: a few 4 KiB files per partition and the metadata stores. */
export const SPACE_RESERVE_BYTES = 1024 * 1024;
/** The reserve is written only while the file system has this many times its size free, so writing it never fills the disk. */
const FREE_SPACE_FACTOR = 4;
const WRITE_CHUNK = Buffer.alloc(64 * 1024);

/** Bytes an unprivileged writer may still use on the file system of `dir`. */
export function freeBytes(dir: string): number {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}

function reserveSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** Cuts the reserve of `dir` to nothing, giving its blocks back to the file system. Returns the bytes released. */
export function releaseSpaceReserve(dir: string): number {
  const path = join(dir, SPACE_RESERVE_FILE_NAME);
  const sizeBytes = reserveSize(path);
  if (sizeBytes > 0) truncateSync(path, 0);
  return sizeBytes;
}

/**
 * Writes the reserve of `dir` to its full size if it is short and the file system has room for it
 * several times over. Returns whether the reserve is whole. A write the file system refuses leaves
 * it short (its partial blocks are released again) and is not an error: the next call retries.
 */
export function topUpSpaceReserve(dir: string): boolean {
  const path = join(dir, SPACE_RESERVE_FILE_NAME);
  const sizeBytes = reserveSize(path);
  if (sizeBytes >= SPACE_RESERVE_BYTES) return true;
  if (freeBytes(dir) < FREE_SPACE_FACTOR * SPACE_RESERVE_BYTES) return false;
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < SPACE_RESERVE_BYTES; written += WRITE_CHUNK.length) {
      writeFully(fd, WRITE_CHUNK, Math.min(WRITE_CHUNK.length, SPACE_RESERVE_BYTES - written), written);
    }
    return true;
  } catch (error) {
    if (!(storageErrorOf(error, path, 'writing the space reserve') instanceof KafkaStorageError)) throw error;
    ftruncateSync(fd, 0);
    return false;
  } finally {
    closeSync(fd);
  }
}
