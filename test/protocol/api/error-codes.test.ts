import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  CorruptRecordError,
  OffsetOutOfRangeError,
  ProtocolError,
  TopicExistsError,
  TopicNotFoundError,
  UnsupportedVersionError,
} from '../../../src/errors.js';
import { ErrorCode, kafkaErrorCode } from '../../../src/protocol/api/error-codes.js';

const require = createRequire(import.meta.url);

describe('Kafka error codes', () => {
  it('agree with kafkajs wherever both name the same error', () => {
    const { errorCodes } = require('kafkajs/src/protocol/error.js') as { errorCodes: { type: string; code: number }[] };
    const kafkajs = new Map(errorCodes.map((entry) => [entry.type, entry.code]));
    let compared = 0;
    for (const [name, code] of Object.entries(ErrorCode)) {
      if (!kafkajs.has(name)) continue;
      expect(code, name).toBe(kafkajs.get(name));
      compared++;
    }
    expect(compared).toBeGreaterThan(50);
  });

  it('map SluiceErrors to the Kafka error their code names', () => {
    expect(kafkaErrorCode(new TopicNotFoundError('t'))).toBe(3);
    expect(kafkaErrorCode(new OffsetOutOfRangeError(5, 0, 3))).toBe(1);
    expect(kafkaErrorCode(new CorruptRecordError(0, 'bad crc'))).toBe(2);
    expect(kafkaErrorCode(new TopicExistsError('t'))).toBe(36);
    expect(kafkaErrorCode(new ProtocolError(0, 'int32', 'truncated'))).toBe(42);
    expect(kafkaErrorCode(new UnsupportedVersionError({ apiKey: 1, apiVersion: 99 }))).toBe(35);
  });

  it('answer anything else with UNKNOWN_SERVER_ERROR', () => {
    expect(kafkaErrorCode(new ClosedError('log'))).toBe(-1);
    expect(kafkaErrorCode(new Error('boom'))).toBe(-1);
    expect(kafkaErrorCode('not even an error')).toBe(-1);
  });
});
