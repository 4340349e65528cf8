/*
 * The benchmark payload: 100-byte text-like records, moderately compressible (LZ4 ratio near 2),
 * generated deterministically so the Node benchmarks produce byte-identical data
 * (src/perf/native-bench.ts, benchmarkPayload). The algorithm is specified in payload.c and README.md.
 */
#ifndef NATIVE_BENCH_PAYLOAD_H
#define NATIVE_BENCH_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_RECORD_BYTES 100

/* Fills out[0 .. recordCount*100) with records 0 .. recordCount-1. */
void payload_generate(uint8_t *out, uint64_t recordCount);

/* FNV-1a, 32 bits: lets a test prove that another implementation of the generator agrees. */
uint32_t fnv1a32(const uint8_t *data, size_t length);

#endif
