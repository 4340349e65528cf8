/*
 * native-bench: what this machine can do, measured in C, so that Sluice's Node benchmarks can
 * report their figures as a fraction of the machine's limit measured in the same run.
 *
 * Prints ONE JSON object on stdout: {"tool", "version", "env", "config", "results",
 * "payloadFnv1a32", "durationMs"}; progress and errors go to stderr. Every result key names its
 * unit (MBps = 10^6 bytes/s, GBps = 10^9 bytes/s, Us = microseconds, MsgsPerSec = messages/s).
 * Exit status: 0 on success, 1 when a measurement fails, 2 on a bad option.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "env.h"
#include "payload.h"

#define KIB 1024ull
#define MIB (1024ull * 1024ull)

_Noreturn void fail(const char *what, const char *detail) {
  fprintf(stderr, "native-bench: %s: %s\n", what, detail);
  exit(1);
}

_Noreturn void fail_errno(const char *what) { fail(what, strerror(errno)); }

void *alloc_touched(size_t bytes) {
  size_t rounded = (bytes + 63) & ~(size_t)63;
  void *p = aligned_alloc(64, rounded ? rounded : 64);
  if (!p) fail("allocation", "out of memory");
  memset(p, 0, rounded);
  return p;
}

typedef struct {
  const char *name;   /* --name=value */
  uint64_t *target;
  uint64_t unit;      /* value is multiplied by this */
  uint64_t min, max;  /* bounds of the value as given, before the unit */
} numeric_option;

static void usage(FILE *out) {
  fprintf(out,
          "usage: native-bench [--name=value ...]\n"
          "  --dir=PATH              parent of the temporary directory (default $TMPDIR or /tmp)\n"
          "  --memcpy-mib=N          memcpy buffer size (default 64)\n"
          "  --file-mib=N            bytes appended then read back (default 1024)\n"
          "  --chunk-kib=N           write()/read() size (default 1024)\n"
          "  --fsync-count=N         append+fsync samples (default 300)\n"
          "  --fsync-bytes=N         bytes appended before each fsync (default 1024)\n"
          "  --lz4-mib=N             benchmark payload size (default 64)\n"
          "  --lz4-frame-kib=N       uncompressed bytes per LZ4 frame (default 64)\n"
          "  --ring-kib=N            SPSC ring capacity, a power of two (default 256)\n"
          "  --ring8-messages=N      8-byte messages through the ring (default 20000000)\n"
          "  --ring100-messages=N    100-byte messages through the ring (default 10000000)\n"
          "  --reps=N                repetitions of throughput passes, best reported (default 3)\n");
}

static uint64_t parse_count(const char *name, const char *text, uint64_t min, uint64_t max) {
  char *end = (char *)text;
  unsigned long long v = 0;
  errno = 0;
  /* strtoull alone would accept leading blanks and a minus sign. */
  if (*text >= '0' && *text <= '9') v = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != 0 || v < min || v > max) {
    fprintf(stderr, "native-bench: --%s=%s is invalid: expected an integer from %llu to %llu\n",
            name, text, (unsigned long long)min, (unsigned long long)max);
    exit(2);
  }
  return v;
}

static void parse_options(int argc, char **argv, bench_options *opt) {
  const char *tmp = getenv("TMPDIR");
  uint64_t reps = 3;
  *opt = (bench_options){
      .parentDir = tmp && *tmp ? tmp : "/tmp",
      .memcpyBytes = 64 * MIB,
      .fileBytes = 1024 * MIB,
      .chunkBytes = 1024 * KIB,
      .fsyncCount = 300,
      .fsyncAppendBytes = 1024,
      .lz4PayloadBytes = 64 * MIB,
      .lz4FrameBytes = 64 * KIB,
      .ringBytes = 256 * KIB,
      .ring8Messages = 20000000,
      .ring100Messages = 10000000,
  };
  numeric_option numeric[] = {
      {"memcpy-mib", &opt->memcpyBytes, MIB, 1, 64 * KIB},
      {"file-mib", &opt->fileBytes, MIB, 1, 1024 * KIB},
      {"chunk-kib", &opt->chunkBytes, KIB, 4, 64 * KIB},
      {"fsync-count", &opt->fsyncCount, 1, 1, 10000000},
      {"fsync-bytes", &opt->fsyncAppendBytes, 1, 1, 64 * MIB},
      {"lz4-mib", &opt->lz4PayloadBytes, MIB, 1, 16 * KIB},
      {"lz4-frame-kib", &opt->lz4FrameBytes, KIB, 1, 64 * KIB},
      {"ring-kib", &opt->ringBytes, KIB, 4, 1024 * KIB},
      {"ring8-messages", &opt->ring8Messages, 1, 1, 1000000000000ull},
      {"ring100-messages", &opt->ring100Messages, 1, 1, 1000000000000ull},
      {"reps", &reps, 1, 1, 1000},
  };
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(stdout);
      exit(0);
    }
    const char *eq = strchr(arg, '=');
    if (strncmp(arg, "--", 2) != 0 || !eq) {
      fprintf(stderr, "native-bench: unexpected argument \"%s\"; options are --name=value\n", arg);
      usage(stderr);
      exit(2);
    }
    size_t nameLength = (size_t)(eq - arg - 2);
    const char *value = eq + 1;
    if (nameLength == 3 && strncmp(arg + 2, "dir", 3) == 0) {
      if (!*value) {
        fprintf(stderr, "native-bench: --dir needs a path\n");
        exit(2);
      }
      opt->parentDir = value;
      continue;
    }
    int known = 0;
    for (size_t k = 0; k < sizeof numeric / sizeof numeric[0]; k++) {
      if (strlen(numeric[k].name) == nameLength && strncmp(arg + 2, numeric[k].name, nameLength) == 0) {
        *numeric[k].target =
            parse_count(numeric[k].name, value, numeric[k].min, numeric[k].max) * numeric[k].unit;
        known = 1;
        break;
      }
    }
    if (!known) {
      fprintf(stderr, "native-bench: unknown option \"%.*s\"\n", (int)(nameLength + 2), arg);
      usage(stderr);
      exit(2);
    }
  }
  opt->reps = (unsigned)reps;
  if (opt->ringBytes & (opt->ringBytes - 1)) {
    fprintf(stderr, "native-bench: --ring-kib must be a power of two\n");
    exit(2);
  }
  /* Whole records only, so the payload is exactly what the Node generator makes. */
  opt->lz4PayloadBytes -= opt->lz4PayloadBytes % PAYLOAD_RECORD_BYTES;
}

static void print_config_json(FILE *out, const bench_options *opt) {
  fprintf(out,
          "\"config\":{\"memcpyBytes\":%llu,\"fileBytes\":%llu,\"chunkBytes\":%llu,"
          "\"fsyncCount\":%llu,\"fsyncAppendBytes\":%llu,\"lz4PayloadBytes\":%llu,"
          "\"lz4RecordBytes\":%d,\"lz4FrameBytes\":%llu,\"ringBytes\":%llu,"
          "\"ring8Messages\":%llu,\"ring100Messages\":%llu,\"reps\":%u}",
          (unsigned long long)opt->memcpyBytes, (unsigned long long)opt->fileBytes,
          (unsigned long long)opt->chunkBytes, (unsigned long long)opt->fsyncCount,
          (unsigned long long)opt->fsyncAppendBytes, (unsigned long long)opt->lz4PayloadBytes,
          PAYLOAD_RECORD_BYTES, (unsigned long long)opt->lz4FrameBytes,
          (unsigned long long)opt->ringBytes, (unsigned long long)opt->ring8Messages,
          (unsigned long long)opt->ring100Messages, opt->reps);
}

static void print_results_json(FILE *out, const bench_results *r) {
  fprintf(out,
          "\"results\":{\"memcpyGBps\":%.3f,\"appendMBps\":%.1f,\"readMBps\":%.1f,"
          "\"fsyncP50Us\":%.1f,\"fsyncP99Us\":%.1f,\"fsyncMaxUs\":%.1f,"
          "\"lz4FrameCompressMBps\":%.1f,\"lz4FrameDecompressMBps\":%.1f,"
          "\"lz4BlockCompressMBps\":%.1f,\"lz4BlockDecompressMBps\":%.1f,"
          "\"lz4CompressionRatio\":%.3f,\"spsc8ByteMsgsPerSec\":%.0f,"
          "\"spsc100ByteMsgsPerSec\":%.0f,\"spsc100ByteMBps\":%.1f}",
          r->memcpyGBps, r->appendMBps, r->readMBps, r->fsyncP50Us, r->fsyncP99Us, r->fsyncMaxUs,
          r->lz4FrameCompressMBps, r->lz4FrameDecompressMBps, r->lz4BlockCompressMBps,
          r->lz4BlockDecompressMBps, r->lz4CompressionRatio, r->spsc8ByteMsgsPerSec,
          r->spsc100ByteMsgsPerSec, r->spsc100ByteMBps);
}

int main(int argc, char **argv) {
  bench_options opt;
  parse_options(argc, argv, &opt);
  double start = now_seconds();

  uint64_t records = opt.lz4PayloadBytes / PAYLOAD_RECORD_BYTES;
  uint8_t *payload = alloc_touched((size_t)opt.lz4PayloadBytes);
  payload_generate(payload, records);
  bench_results results;
  memset(&results, 0, sizeof results);

  fprintf(stderr, "native-bench: memcpy\n");
  bench_memcpy(&opt, &results);
  fprintf(stderr, "native-bench: file append and read in %s\n", opt.parentDir);
  bench_file(&opt, &results);
  fprintf(stderr, "native-bench: lz4\n");
  bench_lz4(&opt, payload, &results);
  fprintf(stderr, "native-bench: spsc ring\n");
  bench_spsc(&opt, payload, &results);

  printf("{\"tool\":\"sluice-native-bench\",\"version\":1,");
  print_env_json(stdout, opt.parentDir);
  putchar(',');
  print_config_json(stdout, &opt);
  putchar(',');
  print_results_json(stdout, &results);
  printf(",\"payloadFnv1a32\":%u,\"durationMs\":%.0f}\n",
         fnv1a32(payload, (size_t)opt.lz4PayloadBytes), (now_seconds() - start) * 1e3);
  free(payload);
  return fflush(stdout) == 0 ? 0 : 1;
}
