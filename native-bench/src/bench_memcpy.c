/*
 * memcpy bandwidth between two buffers larger than the last-level cache: the ceiling for any
 * copy Sluice makes (ring buffer to segment buffer, segment to socket buffer).
 * Reported as bytes copied per second (each byte is read once and written once), best of
 * 8 x reps passes: one pass takes milliseconds, so a single preemption would spoil a short series.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"

void bench_memcpy(const bench_options *opt, bench_results *out) {
  size_t bytes = (size_t)opt->memcpyBytes;
  uint8_t *src = alloc_touched(bytes);
  uint8_t *dst = alloc_touched(bytes);
  for (size_t i = 0; i < bytes; i++) src[i] = (uint8_t)(i * 131u + 7u);

  double best = 0;
  for (unsigned pass = 0; pass < 8 * opt->reps; pass++) {
    double start = now_seconds();
    memcpy(dst, src, bytes);
    /* Keep the copy observable so the compiler cannot drop it. */
    __asm__ __volatile__("" : : "r"(dst) : "memory");
    double seconds = now_seconds() - start;
    double gbps = (double)bytes / seconds / 1e9;
    if (gbps > best) best = gbps;
  }
  if (memcmp(src, dst, bytes) != 0) fail("memcpy", "destination differs from source");
  out->memcpyGBps = best;
  free(src);
  free(dst);
}
