/**
 * How the consumer's run() retries and restarts after a failure: kafkajs's retrier (backoff
 * doubling with jitter, a bounded number of retries, `restartOnFailure`) and its rule of which
 * errors are worth a retry.
 */
import { InvalidConfigError } from '../errors.js';
import { integerOption } from '../validate.js';
import { DEFAULT_RETRY, type ConsumerRetryOptions } from './consumer-types.js';
import { checkKnownOptions } from './producer.js';

/** Thrown as these, an error is a programming error that a retry cannot fix (kafkajs's list). */
const UNRECOVERABLE_ERROR_NAMES: readonly string[] = ['RangeError', 'ReferenceError', 'SyntaxError', 'TypeError'];

export interface RetryPolicy {
  initialRetryTimeMs: number;
  maxRetryTimeMs: number;
  factor: number;
  multiplier: number;
  retries: number;
  restartOnFailure: ((error: Error) => Promise<boolean> | boolean) | null;
}

export function retryPolicy(options: ConsumerRetryOptions | undefined): RetryPolicy {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw new InvalidConfigError('retry must be an object such as { retries: 5 }');
  checkKnownOptions(options, ['initialRetryTime', 'maxRetryTime', 'factor', 'multiplier', 'retries', 'restartOnFailure'], 'consumer retry');
  const factor = options.factor ?? DEFAULT_RETRY.factor;
  if (typeof factor !== 'number' || !(factor >= 0 && factor <= 1)) {
    throw new InvalidConfigError(`retry.factor must be a number from 0 to 1 (got ${String(factor)})`);
  }
  const multiplier = options.multiplier ?? DEFAULT_RETRY.multiplier;
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier <= 0) {
    throw new InvalidConfigError(`retry.multiplier must be a number above 0 (got ${String(multiplier)})`);
  }
  if (options.restartOnFailure !== undefined && typeof options.restartOnFailure !== 'function') {
    throw new InvalidConfigError('retry.restartOnFailure must be a function (error) => Promise<boolean>');
  }
  return {
    initialRetryTimeMs: integerOption('retry.initialRetryTime', options.initialRetryTime, DEFAULT_RETRY.initialRetryTime, 0),
    maxRetryTimeMs: integerOption('retry.maxRetryTime', options.maxRetryTime, DEFAULT_RETRY.maxRetryTime, 0),
    factor,
    multiplier,
    retries: integerOption('retry.retries', options.retries, DEFAULT_RETRY.retries, 0),
    restartOnFailure: options.restartOnFailure ?? null,
  };
}

/** kafkajs's randomFromRetryTime: `retryTimeMs` ± factor of it, rounded up. */
export function jittered(factor: number, retryTimeMs: number): number {
  const delta = factor * retryTimeMs;
  return Math.ceil(retryTimeMs - delta + Math.random() * 2 * delta);
}

/** kafkajs's isErrorRetriable: anything but an error marked not retriable or a programming error. */
export function isRetriable(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return true;
  const { retriable, name } = error as { retriable?: unknown; name?: unknown };
  return retriable !== false && !UNRECOVERABLE_ERROR_NAMES.includes(name as string);
}

/** The error at the end of a `cause` chain. */
export function rootCause(error: unknown): unknown {
  while (error !== null && typeof error === 'object' && (error as { cause?: unknown }).cause !== undefined) {
    error = (error as { cause?: unknown }).cause;
  }
  return error;
}
