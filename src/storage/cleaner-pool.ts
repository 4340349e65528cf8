/**
 * The log cleaner's thread pool: a Piscina running cleaner-tasks.ts, one per thread that owns logs
 * and cleans them (in the broker, each shard worker; in an embedding that drives PartitionLog
 * itself, its own thread). A clean is a stateless task over files, exactly what a task pool is for.
 *
 * Bounded: at most `maxThreads` (default 1) cleaner threads per pool, created on the first clean
 * (minThreads 0) and ended after `idleTimeoutMs` without work, so a broker that never compacts
 * never starts one. The pool is created lazily by `cleanerPool()` and ended by
 * `destroyCleanerPool()`, which the owner calls when it shuts down (the shard worker does on its
 * shutdown command) so that no cleaner thread outlives the broker.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { compiledSiblingUrl } from '../compiled-module-url.js';
import { InvalidConfigError } from '../errors.js';
import type { CleanTask, CleanTaskResult } from './cleaner-tasks.js';
import { integerOption } from '../validate.js';

export interface CleanerPoolOptions {
  /** Cleaner threads at most. Default 1: the cleaner is background work on a machine that also serves. */
  maxThreads?: number;
  /** An idle cleaner thread ends after this long. Default 60 s. */
  idleTimeoutMs?: number;
}

export const DEFAULT_CLEANER_THREADS = 1;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** The compiled task module, beside this one (see compiled-module-url.ts). */
const TASK_MODULE_URL = compiledSiblingUrl(import.meta.url, './cleaner-tasks.js');

let pool: Piscina<CleanTask, CleanTaskResult> | null = null;
let poolOptions: Required<CleanerPoolOptions> | null = null;

/**
 * This thread's cleaner pool, created on first use with `options` (validated, InvalidConfigError).
 * Asking again with different options while the pool lives is refused: destroy it first.
 */
export function cleanerPool(options: CleanerPoolOptions = {}): Piscina<CleanTask, CleanTaskResult> {
  const resolved = resolveOptions(options);
  if (pool !== null) {
    if (poolOptions!.maxThreads !== resolved.maxThreads || poolOptions!.idleTimeoutMs !== resolved.idleTimeoutMs) {
      throw new InvalidConfigError(
        `the cleaner pool already runs with maxThreads ${poolOptions!.maxThreads} and idleTimeoutMs ` +
          `${poolOptions!.idleTimeoutMs}; destroy it (destroyCleanerPool) before asking for other settings`,
      );
    }
    return pool;
  }
  pool = new Piscina<CleanTask, CleanTaskResult>({
    filename: TASK_MODULE_URL.href,
    minThreads: 0,
    maxThreads: resolved.maxThreads,
    idleTimeout: resolved.idleTimeoutMs,
  });
  poolOptions = resolved;
  return pool;
}

/** Whether this thread has a live cleaner pool. */
export function hasCleanerPool(): boolean {
  return pool !== null;
}

/**
 * Ends this thread's cleaner pool: running cleans are abandoned (their `.cleaned` files are
 * removed when the log next opens) and every cleaner thread exits before the promise resolves.
 * A no-op without a pool.
 */
export async function destroyCleanerPool(): Promise<void> {
  const ending = pool;
  pool = null;
  poolOptions = null;
  if (ending !== null) await ending.destroy();
}

function resolveOptions(options: CleanerPoolOptions): Required<CleanerPoolOptions> {
  const maxThreads = options.maxThreads ?? DEFAULT_CLEANER_THREADS;
  const limit = Math.max(1, availableParallelism());
  if (!Number.isSafeInteger(maxThreads) || maxThreads < 1 || maxThreads > limit) {
    throw new InvalidConfigError(`cleaner maxThreads must be an integer from 1 to ${limit} (the cores), got ${String(maxThreads)}`);
  }
  const idleTimeoutMs = integerOption('cleaner idleTimeoutMs', options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS, 0);
  return { maxThreads, idleTimeoutMs };
}
