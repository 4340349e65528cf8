/**
 * Serdes: how a topology turns record bytes into keys and values and back, as Kafka Streams'
 * Serde. A null stays null both ways (a null value is a tombstone, a null key has no bytes).
 * Any of the package's Serializers (json, msgpack, string, the registry serializers) is a Serde
 * through Serdes.from.
 */
import { InvalidRecordError } from '../errors.js';
import { json as jsonSerializer, msgpack as msgpackSerializer, string as stringSerializer, type Serializer } from '../client/serializers.js';

export interface Serde<T> {
  readonly name: string;
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

const stringSerde: Serde<string> = stringSerializer();

const bytesSerde: Serde<Buffer> = {
  name: 'bytes',
  serialize: (value) => value,
  deserialize: (bytes) => bytes,
};

/** Kafka's LongSerializer: 8 bytes big-endian, so counts written here read back in Java. */
const longSerde: Serde<number> = {
  name: 'long',
  serialize(value) {
    if (!Number.isSafeInteger(value)) throw new InvalidRecordError(`the long serde takes a safe integer, not ${String(value)}`);
    const bytes = Buffer.allocUnsafe(8);
    bytes.writeBigInt64BE(BigInt(value));
    return bytes;
  },
  deserialize(bytes) {
    if (bytes.length !== 8) throw new InvalidRecordError(`a long is 8 bytes, this record has ${bytes.length}; the producer did not use the long serde`);
    return Number(bytes.readBigInt64BE());
  },
};

export const Serdes = Object.freeze({
  String: (): Serde<string> => stringSerde,
  Bytes: (): Serde<Buffer> => bytesSerde,
  Long: (): Serde<number> => longSerde,
  JSON: <T = unknown>(): Serde<T> => jsonSerializer<T>(),
  MsgPack: <T = unknown>(): Serde<T> => msgpackSerializer() as Serde<T>,
  /** Any of the package's serializers (json(), msgpack(), string(), avro(...)...) as a Serde. */
  from: <T>(serializer: Serializer<T>): Serde<T> => serializer,
});

/** Bytes (or null) to a value through `serde`; null stays null. */
export function deserializeOrNull<T>(serde: Serde<T>, bytes: Buffer | null): T | null {
  return bytes === null ? null : serde.deserialize(bytes);
}

export function serializeOrNull<T>(serde: Serde<T>, value: T | null | undefined): Buffer | null {
  return value === null || value === undefined ? null : serde.serialize(value);
}
