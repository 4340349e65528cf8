/*
 * Shared declarations of the native benchmarks: options, results, timing and failure helpers.
 *
 * Units: throughput in MB/s and GB/s uses decimal units (1 MB = 10^6 bytes, 1 GB = 10^9 bytes),
 * the convention of lz4 -b, fio and Kafka's perf tools; sizes given on the command line are
 * binary (MiB, KiB) because they are buffer sizes.
 */
#ifndef NATIVE_BENCH_COMMON_H
#define NATIVE_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct {
  const char *parentDir;        /* where the temporary directory is created */
  uint64_t memcpyBytes;         /* size of each of the two memcpy buffers */
  uint64_t fileBytes;           /* bytes appended, then read back */
  uint64_t chunkBytes;          /* write()/read() size for the append and read passes */
  uint64_t fsyncCount;          /* number of append+fsync samples */
  uint64_t fsyncAppendBytes;    /* bytes appended before each fsync */
  uint64_t lz4PayloadBytes;     /* benchmark payload size, a whole number of records */
  uint64_t lz4FrameBytes;       /* uncompressed bytes per LZ4 frame (one Kafka batch) */
  uint64_t ringBytes;           /* SPSC ring capacity, a power of two */
  uint64_t ring8Messages;       /* messages sent through the ring with 8-byte payloads */
  uint64_t ring100Messages;     /* messages sent through the ring with 100-byte payloads */
  unsigned reps;                /* repetitions of each throughput pass; the best one is reported */
} bench_options;

typedef struct {
  double memcpyGBps;
  double appendMBps;
  double readMBps;
  double fsyncP50Us;
  double fsyncP99Us;
  double fsyncMaxUs;
  double lz4FrameCompressMBps;
  double lz4FrameDecompressMBps;
  double lz4BlockCompressMBps;
  double lz4BlockDecompressMBps;
  double lz4CompressionRatio;
  double spsc8ByteMsgsPerSec;
  double spsc100ByteMsgsPerSec;
  double spsc100ByteMBps;
} bench_results;

static inline double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Prints "native-bench: <what>: <detail>" on stderr and exits with status 1. */
_Noreturn void fail(const char *what, const char *detail);
/* fail() with strerror(errno) as the detail. */
_Noreturn void fail_errno(const char *what);
/* malloc that never returns NULL, aligned to 64 bytes (a cache line) and touched once so the
 * first timed pass does not pay for page faults. */
void *alloc_touched(size_t bytes);

void bench_memcpy(const bench_options *opt, bench_results *out);
/* Append, read and fsync passes in a fresh temporary directory under opt->parentDir. */
void bench_file(const bench_options *opt, bench_results *out);
void bench_lz4(const bench_options *opt, const uint8_t *payload, bench_results *out);
void bench_spsc(const bench_options *opt, const uint8_t *payload, bench_results *out);

#endif
