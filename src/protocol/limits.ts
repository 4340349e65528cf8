/**
 * Bounds of Kafka's fixed-width wire integers (Java's short and int). Sizes, counts, partition
 * numbers, positions and timeouts that Kafka declares as int16/int32 are checked against these,
 * whether they arrive on the wire, in a file or in an option.
 */
export const INT16_MAX = 0x7fff;
export const INT32_MIN = -0x8000_0000;
export const INT32_MAX = 0x7fff_ffff;
