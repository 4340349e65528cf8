/**
 * Parsers for the flags of `sluice perf` and `sluice tune`: each turns the text into the value
 * or throws commander's InvalidArgumentError, which commander reports as
 * "error: option '--records <n>' argument 'x' is invalid. <reason>".
 */
import { InvalidArgumentError } from 'commander';
import type { Acks } from '../broker/broker-api.js';
import { PERF_COMPRESSIONS, type PerfCompression } from './config.js';

export function parseInteger(text: string): number {
  const value = Number(text.replace(/_/g, ''));
  if (!/^-?[\d_]+$/.test(text) || !Number.isSafeInteger(value)) throw new InvalidArgumentError('Expected an integer.');
  return value;
}

export function parseNumber(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new InvalidArgumentError('Expected a number.');
  return value;
}

export function parseAcks(text: string): Acks {
  if (text === 'all' || text === '-1') return -1;
  if (text === '0') return 0;
  if (text === '1') return 1;
  throw new InvalidArgumentError('Expected 0, 1 or all.');
}

export function parseCompression(text: string): PerfCompression {
  if (!(PERF_COMPRESSIONS as readonly string[]).includes(text)) throw new InvalidArgumentError(`Expected one of ${PERF_COMPRESSIONS.join(', ')}.`);
  return text as PerfCompression;
}

/** "a,b,c" through one of the parsers above; an empty list is refused. */
export function listOf<T>(parse: (text: string) => T): (text: string) => T[] {
  return (text) => {
    const items = text.split(',').map((item) => item.trim());
    if (items.length === 0 || items.some((item) => item.length === 0)) throw new InvalidArgumentError('Expected a comma-separated list without empty items.');
    return items.map(parse);
  };
}
