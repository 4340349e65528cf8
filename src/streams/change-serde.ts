/**
 * Serdes of the application's own topics and stores.
 *
 * changeSerde: a table change (new and old value) through a repartition topic, as Kafka's
 * ChangedSerializer: one flag byte (bit 0: new value present, bit 1: old value present), the
 * new value's length (4 bytes) and bytes, then the old value's bytes.
 *
 * internalSerde: what an internal topic or store uses when the program gave no serde. Buffers
 * keep their bytes, anything else is JSON; a leading tag byte says which, so each value reads
 * back as what was written.
 */
import { InvalidRecordError } from '../errors.js';
import type { Change } from './dsl-processors.js';
import { Serdes, type Serde } from './serdes.js';

const NEW_PRESENT = 1;
const OLD_PRESENT = 2;

export function changeSerde<V>(inner: Serde<V>): Serde<Change<V>> {
  return {
    name: `change(${inner.name})`,
    serialize(change) {
      const newBytes = change.newValue === null ? null : inner.serialize(change.newValue);
      const oldBytes = change.oldValue === null ? null : inner.serialize(change.oldValue);
      const out = Buffer.allocUnsafe(5 + (newBytes?.length ?? 0) + (oldBytes?.length ?? 0));
      out[0] = (newBytes === null ? 0 : NEW_PRESENT) | (oldBytes === null ? 0 : OLD_PRESENT);
      out.writeUInt32BE(newBytes?.length ?? 0, 1);
      newBytes?.copy(out, 5);
      oldBytes?.copy(out, 5 + (newBytes?.length ?? 0));
      return out;
    },
    deserialize(bytes) {
      if (bytes.length < 5) throw new InvalidRecordError(`a table change is at least 5 bytes, this one has ${bytes.length}`);
      const flags = bytes[0];
      const newLength = bytes.readUInt32BE(1);
      return {
        newValue: flags & NEW_PRESENT ? inner.deserialize(bytes.subarray(5, 5 + newLength)) : null,
        oldValue: flags & OLD_PRESENT ? inner.deserialize(bytes.subarray(5 + newLength)) : null,
      };
    },
  };
}

const TAG_BYTES = 0;
const TAG_JSON = 1;
const json = Serdes.JSON();

export const internalSerde: Serde<unknown> = {
  name: 'internal (bytes or JSON)',
  serialize(value) {
    if (Buffer.isBuffer(value)) return Buffer.concat([Buffer.of(TAG_BYTES), value]);
    return Buffer.concat([Buffer.of(TAG_JSON), json.serialize(value)]);
  },
  deserialize(bytes) {
    if (bytes[0] === TAG_BYTES) return bytes.subarray(1);
    if (bytes[0] === TAG_JSON) return json.deserialize(bytes.subarray(1));
    throw new InvalidRecordError(`an internal record starts with tag 0 or 1, not ${bytes[0]}; it was not written by this application`);
  },
};
