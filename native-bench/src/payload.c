/*
 * Benchmark payload generator. The specification, which src/perf/native-bench.ts reproduces exactly:
 *
 *   state = 0x2545F491 (uint32); next(): state ^= state << 13; state ^= state >> 17;
 *   state ^= state << 5; return state   (xorshift32, all arithmetic modulo 2^32)
 *
 *   record i (i = 0, 1, ...) is built as: i in decimal, zero-padded to 10 digits (modulo 10^10),
 *   then a space, then words VOCABULARY[next() & 31] each followed by a space, until the record
 *   holds at least 100 bytes; it is cut to exactly 100 bytes. The generator state runs on from one
 *   record to the next and is never reseeded.
 *
 * A small vocabulary gives the repetition found in real log lines and JSON events; the random
 * word order and the counter keep LZ4 from collapsing it.
 */
#include "payload.h"

#include <string.h>

static const char *const VOCABULARY[32] = {
    "order",   "user",     "created", "updated", "payment", "shipped", "id",      "status",
    "amount",  "currency", "EUR",     "USD",     "item",    "cart",    "session", "login",
    "logout",  "error",    "warning", "info",    "latency", "ms",      "region",  "eu-west",
    "us-east", "retry",    "ok",      "failed",  "true",    "false",   "null",    "event"};

void payload_generate(uint8_t *out, uint64_t recordCount) {
  uint32_t state = 0x2545F491u;
  char record[PAYLOAD_RECORD_BYTES + 16]; /* room for the longest word past the cut */
  for (uint64_t i = 0; i < recordCount; i++) {
    uint64_t counter = i % 10000000000ull;
    for (int d = 9; d >= 0; d--) {
      record[d] = (char)('0' + counter % 10);
      counter /= 10;
    }
    record[10] = ' ';
    size_t length = 11;
    while (length < PAYLOAD_RECORD_BYTES) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      const char *word = VOCABULARY[state & 31];
      size_t wordLength = strlen(word);
      memcpy(record + length, word, wordLength);
      length += wordLength;
      record[length++] = ' ';
    }
    memcpy(out + i * PAYLOAD_RECORD_BYTES, record, PAYLOAD_RECORD_BYTES);
  }
}

uint32_t fnv1a32(const uint8_t *data, size_t length) {
  uint32_t hash = 0x811C9DC5u;
  for (size_t i = 0; i < length; i++) {
    hash ^= data[i];
    hash *= 0x01000193u;
  }
  return hash;
}
