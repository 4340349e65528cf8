/**
 * The data directory: where a broker keeps its partitions (`<topic>-<partition>/`, Kafka's layout)
 * and its metadata (`__sluice_meta/`), owned by exactly one process at a time.
 *
 * Ownership is a lock file, `<dataDir>/.lock`, holding a JSON description of its holder. Kafka uses
 * an OS file lock, which the kernel releases when the process dies; Node has no such call, so a
 * lock can outlive its process and must be judged stale by its content:
 *   - the holder's pid no longer exists, or exists with another start time (pid reused), or the
 *     machine rebooted since (boot id): the lock is stale and is taken over at once;
 *   - the holder runs on another host or in another pid namespace (a container, including the same
 *     container after a restart), where its pid cannot be checked: the holder touches the lock file
 *     every `lockHeartbeatMs`, and the lock is stale once it has not been touched for `lockStaleMs`.
 * The lock is created atomically with its content (written to a private file, then hard-linked to
 * `.lock`, which fails if `.lock` exists), so no reader ever sees a half-written lock. Replacing a
 * stale lock is serialised by a second such file, `.lock.takeover`: only its holder may delete a
 * lock, and only the exact stale lock it inspected, so two openers racing over a stale lock can
 * never both win.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ClosedError,
  CorruptFileError,
  DataDirLockedError,
  InvalidConfigError,
  KafkaStorageError,
  LockTakeoverInterruptedError,
} from '../errors.js';
import { fsyncDirectory, storageErrorOf } from './durable-fs.js';
import { SPACE_RESERVE_BYTES, freeBytes, releaseSpaceReserve, topUpSpaceReserve } from './space-reserve.js';
import { integerOption } from '../validate.js';

export const LOCK_FILE_NAME = '.lock';
export const TAKEOVER_FILE_NAME = '.lock.takeover';
/** Broker metadata (topics, ...) lives here; the name holds no '-', so it never parses as a partition. */
export const META_DIR_NAME = '__sluice_meta';

/** Characters Kafka allows in a topic name. */
export const TOPIC_NAME_CHARS = /^[a-zA-Z0-9._-]+$/;
const PARTITION_DIGITS = /^(0|[1-9]\d*)$/;
const MAX_PARTITION_ID = 2_147_483_647;

export interface DataDirLogger {
  warn(message: string): void;
}

export interface DataDirOptions {
  /** Told when a stale lock is taken over or the lock file disappears. */
  logger?: DataDirLogger;
  /** How often the holder touches the lock file, proving it is alive to openers that cannot check its pid. */
  lockHeartbeatMs?: number;
  /** A lock whose holder cannot be checked is stale once untouched this long; at least 3 heartbeats. */
  lockStaleMs?: number;
  /** How long to wait for another opener that is replacing a stale lock. */
  lockWaitMs?: number;
  /**
   * Keep the space reserve (space-reserve.ts): release it when the file system is too full to
   * start, write it again once there is room. Default true; false for inspection, which must
   * change nothing (and so cannot open a directory whose file system has no block for the lock).
   */
  spaceReserve?: boolean;
}

export interface PartitionDirEntry {
  readonly topic: string;
  readonly partition: number;
  /** Absolute path of the partition's directory. */
  readonly path: string;
}

const DEFAULT_LOCK_HEARTBEAT_MS = 5_000;
const DEFAULT_LOCK_STALE_MS = 30_000;
const DEFAULT_LOCK_WAIT_MS = 2_000;
const RETRY_SLEEP_MS = 5;

/** What a lock file says about its holder. */
interface LockHolder {
  readonly version: 1;
  readonly pid: number;
  readonly hostname: string;
  /** Changes at every boot (Linux); null where unknown. */
  readonly bootId: string | null;
  /** Identity of the pid namespace the pid belongs to (Linux); null where unknown. */
  readonly pidNamespace: string | null;
  /** Process start time in clock ticks since boot (Linux); tells a live holder from a reused pid. */
  readonly startTicks: number | null;
  /** Unique per lock: tells this lock from a later one with the same holder fields. */
  readonly nonce: string;
  readonly acquiredAtMs: number;
}

type Identity = Omit<LockHolder, 'version' | 'nonce' | 'acquiredAtMs'>;

function readTextOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat, counted after the command name, which may itself hold spaces and parentheses. */
function processStartTicks(pid: number): number | null {
  const stat = readTextOrNull(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[19]);
  return Number.isSafeInteger(ticks) ? ticks : null;
}

function pidNamespace(): string | null {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

let selfIdentity: Identity | undefined;

function self(): Identity {
  selfIdentity ??= {
    pid: process.pid,
    hostname: os.hostname(),
    bootId: readTextOrNull('/proc/sys/kernel/random/boot_id')?.trim() || null,
    pidNamespace: pidNamespace(),
    startTicks: processStartTicks(process.pid),
  };
  return selfIdentity;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Nonces of locks this process released at close but could not delete (the file system refused:
 * read-only, I/O errors): stale to a later open in this process, which cannot tell them from live ones by pid.
 */
const locksReleasedInPlace = new Set<string>();

/** Whether the holder of a lock may still be running. Errs on the side of "alive". */
function holderAlive(holder: LockHolder, lockMtimeMs: number, staleMs: number): boolean {
  if (locksReleasedInPlace.has(holder.nonce)) return false;
  const me = self();
  if (holder.hostname === me.hostname && holder.bootId && me.bootId && holder.bootId !== me.bootId) {
    return false; // the machine rebooted since the lock was taken
  }
  const pidComparable =
    holder.hostname === me.hostname &&
    (holder.pidNamespace === null || me.pidNamespace === null || holder.pidNamespace === me.pidNamespace);
  if (!pidComparable) return Date.now() - lockMtimeMs < staleMs;
  if (holder.pid === me.pid) {
    // This very process (another thread, or a second open), or an earlier process given the same pid.
    return holder.startTicks === null || me.startTicks === null || holder.startTicks === me.startTicks;
  }
  if (!pidExists(holder.pid)) return false;
  if (holder.startTicks !== null) {
    const ticks = processStartTicks(holder.pid);
    if (ticks !== null && ticks !== holder.startTicks) return false; // the pid now names another process
  }
  return true;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

function parseHolder(file: string, text: string): LockHolder {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(text) as Record<string, unknown>;
  } catch {
    h = {};
  }
  const nullable = (v: unknown, ok: (x: unknown) => boolean): boolean => v === null || ok(v);
  const valid =
    typeof h === 'object' &&
    h !== null &&
    h.version === 1 &&
    Number.isSafeInteger(h.pid) &&
    (h.pid as number) > 0 &&
    isNonEmptyString(h.hostname) &&
    nullable(h.bootId, isNonEmptyString) &&
    nullable(h.pidNamespace, isNonEmptyString) &&
    nullable(h.startTicks, Number.isSafeInteger) &&
    isNonEmptyString(h.nonce) &&
    Number.isSafeInteger(h.acquiredAtMs);
  if (!valid) {
    throw new CorruptFileError(
      file,
      `it is not a Sluice data directory lock; if no Sluice process uses ${path.dirname(file)}, delete this file`,
    );
  }
  return h as unknown as LockHolder;
}

interface LockSnapshot {
  readonly holder: LockHolder;
  readonly mtimeMs: number;
}

/** The lock at `file`, or null if there is none (it may vanish between two calls). */
function readLock(file: string): LockSnapshot | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const mtimeMs = fs.fstatSync(fd).mtimeMs;
    return { holder: parseHolder(file, fs.readFileSync(fd, 'utf8')), mtimeMs };
  } finally {
    fs.closeSync(fd);
  }
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

function notWritable(dir: string, err: unknown): InvalidConfigError {
  const uid = typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : '';
  return new InvalidConfigError(
    `data directory "${dir}" is not writable by this process${uid}: ${describeFsError(err)}; ` +
      `fix its permissions or choose another --data-dir`,
  );
}

const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * Creates `file` holding `content`, atomically: the content is written to a private file first and
 * hard-linked into place. Returns false if `file` already exists.
 */
function createExclusive(dir: string, file: string, content: string, settings: Pick<AcquireSettings, 'spaceReserve' | 'logger'>): boolean {
  const staging = path.join(dir, `.lock.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeStaging(staging, content);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (PERMISSION_CODES.has(code)) throw notWritable(dir, err);
    // A full file system: the space reserve is there to make room for start-up (space-reserve.ts).
    const releasedBytes = code === 'ENOSPC' && settings.spaceReserve ? releaseSpaceReserve(dir) : 0;
    if (releasedBytes === 0) throw storageErrorOf(err, staging, 'writing the lock');
    settings.logger?.warn(fullFileSystemWarning(dir, releasedBytes));
    try {
      writeStaging(staging, content);
    } catch (retryErr) {
      throw storageErrorOf(retryErr, staging, 'writing the lock');
    }
  }
  try {
    fs.linkSync(staging, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(code)) {
      throw new InvalidConfigError(
        `the file system of data directory "${dir}" does not support hard links (${code}), which its lock ` +
          `needs; put the data directory on a local POSIX file system or NTFS`,
      );
    }
    throw err;
  } finally {
    fs.unlinkSync(staging);
  }
}

function fullFileSystemWarning(dir: string, releasedBytes: number): string {
  return (
    `the file system of data directory "${dir}" is full: released the ${releasedBytes}-byte space reserve so that ` +
    `start-up can write; it is written again once the file system has room`
  );
}

/**
 * Writes a lock's content to its private staging file and fsyncs it, so that the lock is never
 * linked into place with content a crash (or a file system turned read-only before writeback) can
 * lose: an empty lock would stop every later start. A failed write leaves no staging file behind.
 */
function writeStaging(staging: string, content: string): void {
  try {
    const fd = fs.openSync(staging, 'wx', 0o644);
    try {
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    fs.rmSync(staging, { force: true });
    throw err;
  }
}

function sameLock(a: LockHolder, b: LockHolder): boolean {
  return a.nonce === b.nonce && a.pid === b.pid && a.acquiredAtMs === b.acquiredAtMs;
}

interface AcquireSettings {
  readonly staleMs: number;
  readonly waitMs: number;
  readonly logger: DataDirLogger | undefined;
  readonly spaceReserve: boolean;
}

function newHolder(): LockHolder {
  return {
    version: 1,
    ...self(),
    nonce: randomBytes(12).toString('hex'),
    acquiredAtMs: Date.now(),
  };
}

/**
 * Replaces `stale` with our lock, under the takeover file. Returns our holder on success, null when
 * the caller must look again (someone else won or is busy taking over).
 */
function takeOver(dir: string, stale: LockHolder, settings: AcquireSettings): LockHolder | null {
  const lockFile = path.join(dir, LOCK_FILE_NAME);
  const takeoverFile = path.join(dir, TAKEOVER_FILE_NAME);
  const guard = newHolder();
  if (!createExclusive(dir, takeoverFile, JSON.stringify(guard), settings)) {
    const other = readLock(takeoverFile);
    if (other !== null && !holderAlive(other.holder, other.mtimeMs, settings.staleMs)) {
      throw new LockTakeoverInterruptedError(takeoverFile, dir, other.holder.pid);
    }
    return null; // another opener is replacing the stale lock right now
  }
  try {
    const current = readLock(lockFile);
    // Nobody else deletes a lock while we hold the takeover file, and the stale holder is gone, so
    // the lock we inspected is still in place unless its owner closed it.
    if (current !== null && sameLock(current.holder, stale)) fs.unlinkSync(lockFile);
    const mine = newHolder();
    if (!createExclusive(dir, lockFile, JSON.stringify(mine), settings)) return null;
    settings.logger?.warn(
      `took over the stale lock of data directory "${dir}" left by process ${stale.pid} on ${stale.hostname} ` +
        `(acquired ${new Date(stale.acquiredAtMs).toISOString()}); that process is gone`,
    );
    return mine;
  } finally {
    fs.unlinkSync(takeoverFile);
  }
}

/**
 * The takeover step of DataDir.open on its own, exported so its handling of a lost race can be
 * tested: replaces the lock of `dir`, which read as `staleLockText` earlier, by a lock of this
 * process, unless another opener replaced it in between. Returns whether this process now holds
 * the lock. A lock taken this way has no DataDir to release it: applications use DataDir.open.
 */
export function takeOverStaleLock(dir: string, staleLockText: string, logger?: DataDirLogger): boolean {
  const stale = parseHolder(path.join(dir, LOCK_FILE_NAME), staleLockText);
  const settings = { staleMs: DEFAULT_LOCK_STALE_MS, waitMs: DEFAULT_LOCK_WAIT_MS, logger, spaceReserve: false };
  return takeOver(dir, stale, settings) !== null;
}

function acquireLock(dir: string, settings: AcquireSettings): LockHolder {
  const lockFile = path.join(dir, LOCK_FILE_NAME);
  const deadline = Date.now() + settings.waitMs;
  for (;;) {
    const mine = newHolder();
    if (createExclusive(dir, lockFile, JSON.stringify(mine), settings)) return mine;
    const existing = readLock(lockFile);
    if (existing !== null) {
      if (holderAlive(existing.holder, existing.mtimeMs, settings.staleMs)) {
        throw new DataDirLockedError(dir, existing.holder.pid);
      }
      const taken = takeOver(dir, existing.holder, settings);
      if (taken !== null) return taken;
    }
    if (Date.now() > deadline) {
      // Still busy: name whoever is replacing the stale lock, else whoever holds it now.
      const holder = readLock(path.join(dir, TAKEOVER_FILE_NAME))?.holder ?? readLock(lockFile)?.holder;
      if (holder !== undefined) throw new DataDirLockedError(dir, holder.pid);
      continue; // both just went away: the lock is free, try at once
    }
    sleepSync(RETRY_SLEEP_MS);
  }
}

/** Resolves, creates and checks the directory; returns its real absolute path. */
function prepareDirectory(dirPath: string): string {
  if (typeof dirPath !== 'string' || dirPath.length === 0 || dirPath.includes('\0')) {
    throw new InvalidConfigError(`data directory must be a non-empty path, got ${JSON.stringify(dirPath)}`);
  }
  const abs = path.resolve(dirPath);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') {
      throw new InvalidConfigError(`data directory "${abs}" cannot be created: a parent of it is a file; choose another --data-dir`);
    }
    if (code !== 'ENOENT') throw err;
  }
  if (stat !== undefined && !stat.isDirectory()) {
    throw new InvalidConfigError(`data directory "${abs}" exists and is not a directory; choose another --data-dir`);
  }
  if (stat === undefined) {
    try {
      const firstCreated = fs.mkdirSync(abs, { recursive: true });
      // Make the new directories' entries durable, or a power cut could lose the whole tree.
      for (let dir = abs; firstCreated !== undefined; dir = path.dirname(dir)) {
        fsyncDirectory(path.dirname(dir));
        if (dir === firstCreated) break;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'ENOTDIR') {
        throw new InvalidConfigError(`data directory "${abs}" cannot be created: a parent of it is a file; choose another --data-dir`);
      }
      if (code === 'EEXIST') {
        throw new InvalidConfigError(`data directory "${abs}" exists and is not a directory; choose another --data-dir`);
      }
      if (PERMISSION_CODES.has(code)) throw notWritable(abs, err);
      throw err;
    }
  }
  return fs.realpathSync(abs);
}

/** The directory name of a partition, `<topic>-<partition>` as in Kafka. */
export function partitionDirName(topic: string, partition: number): string {
  if (typeof topic !== 'string' || !TOPIC_NAME_CHARS.test(topic) || topic === '.' || topic === '..') {
    throw new InvalidConfigError(`"${topic}" is not a valid topic name for a partition directory`);
  }
  if (!Number.isInteger(partition) || partition < 0 || partition > MAX_PARTITION_ID) {
    throw new InvalidConfigError(`partition must be an integer from 0 to ${MAX_PARTITION_ID}, got ${partition}`);
  }
  return `${topic}-${partition}`;
}

/**
 * Splits a partition directory name into topic and partition, or returns null for anything else
 * (the lock, the metadata directory, Kafka's "-delete" and "-future" directories). The split is at
 * the last '-', because topic names may contain '-' and partition numbers cannot.
 */
export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const dash = name.lastIndexOf('-');
  if (dash <= 0) return null;
  const topic = name.slice(0, dash);
  const digits = name.slice(dash + 1);
  if (!PARTITION_DIGITS.test(digits) || !TOPIC_NAME_CHARS.test(topic) || topic === '.' || topic === '..') {
    return null;
  }
  const partition = Number(digits);
  return partition <= MAX_PARTITION_ID ? { topic, partition } : null;
}

export class DataDir {
  /** Real absolute path of the directory. */
  readonly path: string;
  private readonly lockFile: string;
  private readonly holder: LockHolder;
  private readonly logger: DataDirLogger | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private isClosed = false;
  private readonly spaceReserve: boolean;

  private constructor(dir: string, holder: LockHolder, heartbeatMs: number, logger: DataDirLogger | undefined, spaceReserve: boolean) {
    this.path = dir;
    this.lockFile = path.join(dir, LOCK_FILE_NAME);
    this.holder = holder;
    this.logger = logger;
    this.spaceReserve = spaceReserve;
    this.heartbeat = setInterval(() => this.beat(), heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * Creates the directory if missing and locks it for this process. Throws DataDirLockedError if a
   * live process (this one included) holds it, InvalidConfigError if the path is unusable.
   */
  static open(dirPath: string, options: DataDirOptions = {}): DataDir {
    const heartbeatMs = integerOption('lockHeartbeatMs', options.lockHeartbeatMs, DEFAULT_LOCK_HEARTBEAT_MS, 1);
    const staleMs = integerOption('lockStaleMs', options.lockStaleMs, DEFAULT_LOCK_STALE_MS, 1);
    const waitMs = integerOption('lockWaitMs', options.lockWaitMs, DEFAULT_LOCK_WAIT_MS, 1);
    if (staleMs < 3 * heartbeatMs) {
      throw new InvalidConfigError(
        `lockStaleMs (${staleMs}) must be at least 3 x lockHeartbeatMs (${heartbeatMs}), or a live holder could look stale`,
      );
    }
    const spaceReserve = options.spaceReserve ?? true;
    if (typeof spaceReserve !== 'boolean') throw new InvalidConfigError(`spaceReserve must be a boolean, got ${String(spaceReserve)}`);
    const dir = prepareDirectory(dirPath);
    const holder = acquireLock(dir, { staleMs, waitMs, logger: options.logger, spaceReserve });
    const dataDir = new DataDir(dir, holder, heartbeatMs, options.logger, spaceReserve);
    if (spaceReserve) {
      try {
        dataDir.prepareSpaceForStart();
      } catch (error) {
        dataDir.close();
        throw error;
      }
    }
    return dataDir;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Directory for broker metadata (created by whoever stores something there). */
  get metaDir(): string {
    return path.join(this.path, META_DIR_NAME);
  }

  /** Absolute path of a partition's directory (not created). */
  partitionDir(topic: string, partition: number): string {
    this.checkOpen();
    return path.join(this.path, partitionDirName(topic, partition));
  }

  /** The partition directories present, sorted by topic then partition. */
  partitionDirs(): PartitionDirEntry[] {
    this.checkOpen();
    const entries: PartitionDirEntry[] = [];
    for (const entry of fs.readdirSync(this.path, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const parsed = parsePartitionDirName(entry.name);
      if (parsed !== null) entries.push({ ...parsed, path: path.join(this.path, entry.name) });
    }
    return entries.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /** Releases the lock. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    let current: LockSnapshot | null = null;
    try {
      current = readLock(this.lockFile);
      if (current !== null && sameLock(current.holder, this.holder)) {
        fs.unlinkSync(this.lockFile);
        return;
      }
    } catch (err) {
      // A corrupt lock is not ours: warned about below.
      if (!(err instanceof CorruptFileError)) {
        const storageError = storageErrorOf(err, this.lockFile, 'releasing the lock');
        if (!(storageError instanceof KafkaStorageError)) throw err;
        // Closing must not fail on a file system that refuses reads or writes (EROFS, EIO): the lock
        // stays, and the next opener judges it stale (this process marks it released; another
        // process sees its holder gone).
        locksReleasedInPlace.add(this.holder.nonce);
        this.logger?.warn(`left the lock of data directory "${this.path}" in place at close: ${storageError.message}`);
        return;
      }
    }
    this.logger?.warn(
      `the lock of data directory "${this.path}" was no longer this process's at close` +
        (current ? ` (held by process ${current.holder.pid})` : ' (the lock file was gone)'),
    );
  }

  private checkOpen(): void {
    if (this.isClosed) throw new ClosedError(`data directory "${this.path}"`);
  }

  /**
   * Start-up on a file system with less than the reserve free releases the reserve, so that what
   * opening writes fits; with room, the reserve is written if it is missing.
   */
  private prepareSpaceForStart(): void {
    if (freeBytes(this.path) >= SPACE_RESERVE_BYTES) {
      topUpSpaceReserve(this.path);
      return;
    }
    const releasedBytes = releaseSpaceReserve(this.path);
    if (releasedBytes > 0) this.logger?.warn(fullFileSystemWarning(this.path, releasedBytes));
  }

  private beat(): void {
    this.touchLock();
    if (!this.spaceReserve) return;
    try {
      topUpSpaceReserve(this.path);
    } catch (error) {
      this.logger?.warn(`cannot write the space reserve of data directory "${this.path}": ${(error as Error).message}`);
    }
  }

  private touchLock(): void {
    const now = new Date();
    fs.utimes(this.lockFile, now, now, (err) => {
      if (err && !this.isClosed) {
        this.logger?.warn(
          `cannot refresh the lock of data directory "${this.path}": ${describeFsError(err)}; ` +
            `another process may take the directory over`,
        );
      }
    });
  }
}
