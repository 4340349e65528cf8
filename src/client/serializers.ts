/**
 * Opt-in conversions between application values and record bytes. Kafka records carry bytes;
 * a producer given `valueSerializer` (or `keySerializer`) turns whatever the caller passes into
 * bytes, and a consumer given the same object as `valueDeserializer` turns them back.
 *
 *   json()     JSON text in UTF-8: readable by any Kafka tool, slower and larger.
 *   msgpack()  MessagePack through msgpackr: compact and fast; reads back Dates, Maps, typed arrays.
 *   string()   UTF-8 text.
 *
 * A null value stays null both ways: in Kafka a null value is a tombstone, not a serialized null.
 */
import { Packr, type Options as PackrOptions } from 'msgpackr';
import { InvalidRecordError } from '../errors.js';

export interface Serializer<T> {
  /** A short name for error messages ("json", "msgpack"...). */
  readonly name: string;
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

/** JSON text in UTF-8. `undefined` and functions, which JSON cannot carry, are refused. */
export function json<T = unknown>(): Serializer<T> {
  return {
    name: 'json',
    serialize(value: T): Buffer {
      const text = JSON.stringify(value);
      if (text === undefined) {
        throw new InvalidRecordError(`the json serializer cannot encode a ${typeof value}; pass a JSON value or null`);
      }
      return Buffer.from(text, 'utf8');
    },
    deserialize(bytes: Buffer): T {
      try {
        return JSON.parse(bytes.toString('utf8')) as T;
      } catch (error) {
        throw new InvalidRecordError(
          `record bytes are not JSON (${(error as Error).message}); the producer did not use the json serializer`,
        );
      }
    },
  };
}

/**
 * MessagePack via msgpackr. `options` go to msgpackr's Packr; the default keeps records
 * self-describing (no shared structures), so any MessagePack reader can decode them.
 */
export function msgpack<T = unknown>(options: PackrOptions = {}): Serializer<T> {
  const packr = new Packr({ useRecords: false, ...options });
  return {
    name: 'msgpack',
    serialize(value: T): Buffer {
      return packr.pack(value);
    },
    deserialize(bytes: Buffer): T {
      try {
        return packr.unpack(bytes) as T;
      } catch (error) {
        throw new InvalidRecordError(
          `record bytes are not MessagePack (${(error as Error).message}); the producer did not use the msgpack serializer`,
        );
      }
    },
  };
}

/** UTF-8 text. */
export function string(): Serializer<string> {
  return {
    name: 'string',
    serialize(value: string): Buffer {
      if (typeof value !== 'string') {
        throw new InvalidRecordError(`the string serializer needs a string, got a ${typeof value}`);
      }
      return Buffer.from(value, 'utf8');
    },
    deserialize(bytes: Buffer): string {
      return bytes.toString('utf8');
    },
  };
}
