/**
 * The storage layer's file helpers, written once: positional reads and writes that loop over short
 * transfers, a reusable read window, removal that tolerates a missing file, and the steps every
 * durable file change is made of: write a whole file and fsync it before it is renamed or relied
 * on, rename it over the old one, and fsync the directory that holds it, which makes its
 * creation, renames and deletions durable. A write the file system refuses (no space, an I/O
 * error) throws KafkaStorageError (storageErrorOf), so callers tell it from a bug.
 */
import assert from 'node:assert/strict';
import { closeSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CorruptFileError, KafkaStorageError } from '../errors.js';

/**
 * The errno codes that mean the file system, not the caller, refused a write: Kafka's storage
 * errors (an IOException in its log directory), answered with KAFKA_STORAGE_ERROR.
 */
const STORAGE_ERRNOS: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS']);

/**
 * `error` as a KafkaStorageError naming `path` and `what` failed when the file system refused the
 * write; any other error (a bug, a missing file, corruption) is returned as it is.
 */
export function storageErrorOf(error: unknown, path: string, what: string): unknown {
  if (error instanceof KafkaStorageError) return error;
  const errno = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof errno !== 'string' || !STORAGE_ERRNOS.has(errno)) return error;
  const detail = (error as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+.*$/, '');
  return new KafkaStorageError(path, what, errno, detail);
}

/** One file system block: a write that needs space the file system has not yet handed out. */
const PROBE_BYTES = Buffer.alloc(4096);

/**
 * Whether the file system holding `probePath` takes writes again: writes one block there, fsyncs
 * it and removes it. A storage errno (ENOSPC, EIO...) answers false; any other error is thrown.
 */
export function probeWritable(probePath: string): boolean {
  try {
    writeFileDurably(probePath, PROBE_BYTES);
    return true;
  } catch (error) {
    if (storageErrorOf(error, probePath, 'probe') instanceof KafkaStorageError) return false;
    throw error;
  } finally {
    rmSync(probePath, { force: true });
  }
}

/**
 * Creates (or truncates) `path`, writes all of `bytes` and fsyncs it. `flag` 'wx' refuses an
 * existing file.
 */
export function writeFileDurably(path: string, bytes: Buffer | string, options: { flag?: 'w' | 'wx'; mode?: number } = {}): void {
  try {
    const fd = openSync(path, options.flag ?? 'w', options.mode ?? 0o666);
    try {
      writeFileSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw storageErrorOf(error, path, 'writing the file');
  }
}

/** fsyncs a directory, which makes file creations, renames and deletions in it durable. */
export function fsyncDirectory(dir: string): void {
  // Windows cannot open a directory for fsync; its renames are durable without it.
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` atomically: writes `bytes` to `tempPath`, renames it over `path`. A crash leaves
 * the old or the new content, never a torn one; a failed write removes the temp file. With `sync`
 * (the default) the temp file is fsynced before the rename and the directory after it, so the
 * new content survives a power loss; `sync: false` is for files whose loss only costs time.
 */
export function replaceFile(
  path: string,
  bytes: Buffer | string,
  options: { tempPath?: string; flag?: 'w' | 'wx'; mode?: number; sync?: boolean } = {},
): void {
  const tempPath = options.tempPath ?? `${path}.tmp`;
  const sync = options.sync ?? true;
  try {
    if (sync) writeFileDurably(tempPath, bytes, { flag: options.flag, mode: options.mode });
    else writeFileSync(tempPath, bytes, { flag: options.flag ?? 'w', mode: options.mode ?? 0o666 });
    renameSync(tempPath, path);
  } catch (error) {
    rmSync(tempPath, { force: true });
    throw storageErrorOf(error, path, 'replacing the file');
  }
  try {
    if (sync) fsyncDirectory(dirname(path));
  } catch (error) {
    throw storageErrorOf(error, dirname(path), 'syncing the directory');
  }
}

/**
 * A reusable read window over a file, so that header scans and recovery read a file in chunks
 * instead of one syscall per batch. The buffer grows to hold the largest span asked for.
 */
export class FileWindow {
  private bytes: Buffer;
  private fd = -1;
  private start = 0;
  private end = 0;

  constructor(private readonly chunkBytes: number) {
    this.bytes = Buffer.allocUnsafe(chunkBytes);
  }

  /** The current buffer; read it again after each `load`, which may replace it. */
  get buffer(): Buffer {
    return this.bytes;
  }

  /** Forgets the cached span (the file may have changed: truncation, a reused descriptor). */
  invalidate(): void {
    this.fd = -1;
    this.start = 0;
    this.end = 0;
  }

  /**
   * A copy of file bytes [position, position + length) when the span last loaded from `fd` holds
   * them all, else null: a reader whose whole answer came in with the headers it walked needs no
   * second read of the file.
   */
  copyOut(fd: number, position: number, length: number): Buffer | null {
    if (fd !== this.fd || position < this.start || position + length > this.end) return null;
    const from = position - this.start;
    return Buffer.from(this.bytes.subarray(from, from + length));
  }

  /**
   * Makes file bytes [position, position + length) available and returns where `position` sits
   * in `buffer`. Requires position + length <= fileSizeBytes.
   */
  load(fd: number, position: number, length: number, fileSizeBytes: number): number {
    if (fd === this.fd && position >= this.start && position + length <= this.end) return position - this.start;
    assert.ok(position + length <= fileSizeBytes, 'window loads stay inside the file');
    const span = Math.min(Math.max(length, this.chunkBytes), fileSizeBytes - position);
    if (span > this.bytes.length) this.bytes = Buffer.allocUnsafe(span);
    const read = readFully(fd, this.bytes, 0, span, position);
    if (read < length) {
      this.invalidate();
      throw new CorruptFileError(`descriptor ${fd}`, `expected ${length} bytes at byte ${position}, found ${read}`);
    }
    this.fd = fd;
    this.start = position;
    this.end = position + read;
    return 0;
  }
}

/** Writes `buffer[0, length)` at `position`, looping over short writes. */
export function writeFully(fd: number, buffer: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) done += writeSync(fd, buffer, done, length - done, position + done);
}

/** Reads up to `length` bytes at `position`; returns fewer only at end of file. */
export function readFully(fd: number, target: Buffer, targetOffset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const read = readSync(fd, target, targetOffset + done, length - done, position + done);
    if (read === 0) break;
    done += read;
  }
  return done;
}

/** The whole content of `path`, or null when there is no such file. */
export function readFileIfExists(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Removes `path`; a file already gone is not an error. */
export function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
