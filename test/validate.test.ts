import { describe, expect, it } from 'vitest';
import { InvalidConfigError, InvalidRequestError } from '../src/errors.js';
import {
  integerOption,
  requireArray,
  requireIntegerInRange,
  requireNonEmptyString,
  requireObject,
  requireOffset,
  requireSafeInteger,
} from '../src/validate.js';

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

  it('requireObject, requireArray and requireNonEmptyString name the argument and show what was given', () => {
    expect(() => requireObject('createTopics options', {})).not.toThrow();
    expect(() => requireObject('createTopics options', null)).toThrow(new InvalidRequestError('createTopics options must be an object, got null'));
    expect(() => requireObject('createTopics options', 'x')).toThrow('createTopics options must be an object, got "x"');
    const topics = ['a'];
    expect(requireArray('deleteTopics topics', topics)).toBe(topics);
    expect(() => requireArray('deleteTopics topics', undefined)).toThrow(new InvalidRequestError('deleteTopics topics must be an array, got undefined'));
    expect(requireNonEmptyString('groupId', 'g')).toBe('g');
    expect(() => requireNonEmptyString('groupId', '')).toThrow(new InvalidRequestError('groupId must be a non-empty string, got an empty string'));
    expect(() => requireNonEmptyString('groupId', 7)).toThrow('groupId must be a non-empty string, got 7');
  });
});

describe('integerOption', () => {
  it('gives the fallback when absent and checks the bounds with InvalidConfigError otherwise', () => {
    expect(integerOption('windowSize', undefined, 10, 1)).toBe(10);
    expect(integerOption('windowSize', 3, 10, 1)).toBe(3);
    expect(() => integerOption('windowSize', 0, 10, 1)).toThrow(new InvalidConfigError('windowSize must be an integer >= 1, got 0'));
    expect(() => integerOption('coordinatorEpoch', 2 ** 31, 0, 0, 2 ** 31 - 1)).toThrow(
      'coordinatorEpoch must be an integer from 0 to 2147483647, got 2147483648',
    );
    expect(() => integerOption('windowSize', 1.5, 10, 1)).toThrow(InvalidConfigError);
  });
});
