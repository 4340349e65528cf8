import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../src/errors.js';
import { requireIntegerInRange, requireOffset, requireSafeInteger } from '../src/validate.js';

describe('shared argument checks', () => {
  it('requireOffset accepts safe integers >= 0 and names the argument and the value otherwise', () => {
    expect(() => requireOffset('fetch offset', 0)).not.toThrow();
    expect(() => requireOffset('fetch offset', Number.MAX_SAFE_INTEGER)).not.toThrow();
    expect(() => requireOffset('fetch offset', -1)).toThrow(new InvalidRequestError('fetch offset must be an offset (an integer >= 0), got -1'));
    expect(() => requireOffset('fetch offset', 1.5)).toThrow(InvalidRequestError);
    expect(() => requireOffset('fetch offset', 2 ** 53)).toThrow(InvalidRequestError);
    expect(() => requireOffset('fetch offset', '5')).toThrow('fetch offset must be an offset (an integer >= 0), got "5"');
  });

  it('requireSafeInteger applies its minimum, or none at -Infinity', () => {
    expect(() => requireSafeInteger('committedOffset', -7, -Infinity)).not.toThrow();
    expect(() => requireSafeInteger('committedOffset', NaN, -Infinity)).toThrow('committedOffset must be a safe integer, got NaN');
    expect(() => requireSafeInteger('lag', -1, 0)).toThrow('lag must be a safe integer >= 0, got -1');
  });

  it('requireIntegerInRange returns the value inside the range and rejects the bounds plus one', () => {
    expect(requireIntegerInRange('producerEpoch', 32767, 0, 32767)).toBe(32767);
    expect(() => requireIntegerInRange('producerEpoch', 32768, 0, 32767)).toThrow(
      'producerEpoch must be an integer from 0 to 32767, got 32768',
    );
    expect(() => requireIntegerInRange('producerEpoch', -1, 0, 32767)).toThrow(InvalidRequestError);
  });
});
