/**
 * Kafka's `uuid` type (topic ids since KIP-516): 16 bytes on the wire. Sluice carries it as the
 * string Kafka itself prints (org.apache.kafka.common.Uuid#toString): URL-safe base64 without
 * padding, 22 characters, so ids compare with === and read the same as in Kafka's tools.
 */

export const UUID_BYTES = 16;

/** The all-zero uuid, Kafka's "no topic id" (Uuid.ZERO_UUID). */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

// 22 base64 characters carry 132 bits; the last one holds the final 2 bits of the 128 and four
// zero bits, so it can only be A, Q, g or w. Anything else would not round-trip.
const UUID_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}
