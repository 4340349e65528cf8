/**
 * Checks on the embedded consumer's options and arguments, each failure an InvalidConfigError or
 * InvalidOffsetError naming the option and what it must be.
 */
import { InvalidConfigError, InvalidOffsetError } from '../errors.js';
import type { AutoOffsetReset } from './consumer-types.js';

/** Every option ConsumerOptions knows; anything else is refused as a likely typo. */
export const CONSUMER_OPTION_NAMES: readonly string[] = [
  'groupId',
  'groupInstanceId',
  'clientId',
  'sessionTimeout',
  'rebalanceTimeout',
  'heartbeatInterval',
  'assignors',
  'autoOffsetReset',
  'maxBytes',
  'maxBytesPerPartition',
  'minBytes',
  'maxWaitTimeInMs',
  'isolationLevel',
  'metadataMaxAge',
  'checkCrcs',
  'keyDeserializer',
  'valueDeserializer',
  'retry',
];

export function resetOption(value: unknown, name: string): AutoOffsetReset {
  if (value === 'earliest' || value === 'latest' || value === 'none') return value;
  throw new InvalidConfigError(`${name} must be 'earliest', 'latest' or 'none' (got ${JSON.stringify(value)})`);
}

export function checkOffset(offset: unknown, what: string): void {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidOffsetError(offset, what);
  }
}

