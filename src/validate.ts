/**
 * Checks shared by every layer for values that arrive from callers: offsets, bounded integers,
 * objects, arrays, non-empty strings.
 * Each throws InvalidRequestError naming the argument, the accepted range and what was given, so
 * the caller learns what to change. Name first, value second, everywhere.
 */
import { InvalidConfigError, InvalidRequestError } from './errors.js';

/** How a rejected value is shown: strings quoted, so "5" and 5 read differently. */
function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** A log offset: a safe integer >= 0. */
export function requireOffset(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidRequestError(`${name} must be an offset (an integer >= 0), got ${shown(value)}`);
  }
}

/** A non-null object (an options bag, an entry of a list). */
export function requireObject(name: string, value: unknown): asserts value is object {
  if (value === null || typeof value !== 'object') throw new InvalidRequestError(`${name} must be an object, got ${shown(value)}`);
}

/** An array; returns it typed. */
export function requireArray<T>(name: string, value: T[] | undefined): T[] {
  if (!Array.isArray(value)) throw new InvalidRequestError(`${name} must be an array, got ${shown(value)}`);
  return value;
}

/** A string with at least one character; returns it typed. */
export function requireNonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidRequestError(`${name} must be a non-empty string, got ${value === '' ? 'an empty string' : shown(value)}`);
  }
  return value;
}

/** A safe integer of at least `min` (any safe integer when `min` is -Infinity). */
export function requireSafeInteger(name: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidRequestError(`${name} must be a safe integer${min === -Infinity ? '' : ` >= ${min}`}, got ${shown(value)}`);
  }
}

/** A safe integer from `min` to `max` inclusive; returns it typed. */
export function requireIntegerInRange(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidRequestError(`${name} must be an integer from ${min} to ${max}, got ${shown(value)}`);
  }
  return value;
}

/**
 * An integer option: `fallback` when absent, else a safe integer from `min` to `max` inclusive.
 * Throws InvalidConfigError, since a bad option is the operator's to fix, not a request's.
 */
export function integerOption(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InvalidConfigError(`${name} must be an integer ${range}, got ${value}`);
  }
  return value;
}
