/*
 * liblz4 speed on the benchmark payload, the peer of Sluice's LZ4 path.
 *
 * Frame API, framed as Kafka frames a compressed RecordBatch: one LZ4 frame per batch of
 * lz4FrameBytes, 64 KiB independent blocks, no content size, no checksums, fast (level 0)
 * compression, which is what Kafka's default compression.lz4.level selects. The contexts are
 * created once and reused, so the figures exclude allocation.
 * Block API (LZ4_compress_default / LZ4_decompress_safe) on the same batches, for reference.
 * Both directions are reported in uncompressed bytes per second, as lz4 -b does.
 */
#include <lz4.h>
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

typedef struct {
  uint8_t *data;          /* compressed batches, back to back */
  size_t *offsets;        /* start of batch i in data; offsets[count] is the end */
  size_t count;
} compressed_batches;

static void check_lz4f(size_t code, const char *what) {
  if (LZ4F_isError(code)) fail(what, LZ4F_getErrorName(code));
}

static LZ4F_preferences_t kafka_frame_preferences(void) {
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.compressionLevel = 0;
  return prefs;
}

/* Room for one whole frame: header, the compressed batch, and the end mark. */
static size_t frame_bound(const bench_options *opt, const LZ4F_preferences_t *prefs) {
  return LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound((size_t)opt->lz4FrameBytes, prefs) +
         LZ4F_compressBound(0, prefs);
}

static size_t batch_length(const bench_options *opt, size_t i) {
  size_t start = i * (size_t)opt->lz4FrameBytes;
  size_t left = (size_t)opt->lz4PayloadBytes - start;
  return left < opt->lz4FrameBytes ? left : (size_t)opt->lz4FrameBytes;
}

static size_t frame_compress_all(const bench_options *opt, LZ4F_cctx *cctx,
                                 const LZ4F_preferences_t *prefs, const uint8_t *payload,
                                 compressed_batches *out) {
  size_t bound = frame_bound(opt, prefs);
  size_t pos = 0;
  for (size_t i = 0; i < out->count; i++) {
    const uint8_t *src = payload + i * opt->lz4FrameBytes;
    size_t n = batch_length(opt, i);
    uint8_t *dst = out->data + pos;
    out->offsets[i] = pos;
    size_t written = LZ4F_compressBegin(cctx, dst, bound, prefs);
    check_lz4f(written, "LZ4F_compressBegin");
    size_t w = LZ4F_compressUpdate(cctx, dst + written, bound - written, src, n, NULL);
    check_lz4f(w, "LZ4F_compressUpdate");
    written += w;
    w = LZ4F_compressEnd(cctx, dst + written, bound - written, NULL);
    check_lz4f(w, "LZ4F_compressEnd");
    pos += written + w;
  }
  out->offsets[out->count] = pos;
  return pos;
}

static void frame_decompress_all(const bench_options *opt, LZ4F_dctx *dctx,
                                 const compressed_batches *in, uint8_t *out) {
  for (size_t i = 0; i < in->count; i++) {
    const uint8_t *src = in->data + in->offsets[i];
    size_t srcLeft = in->offsets[i + 1] - in->offsets[i];
    uint8_t *dst = out + i * opt->lz4FrameBytes;
    size_t dstLeft = batch_length(opt, i);
    size_t hint = 1;
    while (srcLeft > 0 && hint != 0) {
      size_t dstSize = dstLeft, srcSize = srcLeft;
      hint = LZ4F_decompress(dctx, dst, &dstSize, src, &srcSize, NULL);
      check_lz4f(hint, "LZ4F_decompress");
      dst += dstSize;
      dstLeft -= dstSize;
      src += srcSize;
      srcLeft -= srcSize;
    }
    if (hint != 0 || dstLeft != 0) fail("LZ4F_decompress", "frame did not decode to its batch");
  }
}

static size_t block_compress_all(const bench_options *opt, const uint8_t *payload,
                                 compressed_batches *out) {
  int bound = LZ4_compressBound((int)opt->lz4FrameBytes);
  size_t pos = 0;
  for (size_t i = 0; i < out->count; i++) {
    out->offsets[i] = pos;
    int n = LZ4_compress_default((const char *)payload + i * opt->lz4FrameBytes,
                                 (char *)out->data + pos, (int)batch_length(opt, i), bound);
    if (n <= 0) fail("LZ4_compress_default", "compression failed");
    pos += (size_t)n;
  }
  out->offsets[out->count] = pos;
  return pos;
}

static void block_decompress_all(const bench_options *opt, const compressed_batches *in,
                                 uint8_t *out) {
  for (size_t i = 0; i < in->count; i++) {
    int expected = (int)batch_length(opt, i);
    int n = LZ4_decompress_safe((const char *)in->data + in->offsets[i],
                                (char *)out + i * opt->lz4FrameBytes,
                                (int)(in->offsets[i + 1] - in->offsets[i]), expected);
    if (n != expected) fail("LZ4_decompress_safe", "block did not decode to its batch");
  }
}

static double mbps(uint64_t bytes, double seconds) { return (double)bytes / seconds / 1e6; }

void bench_lz4(const bench_options *opt, const uint8_t *payload, bench_results *out) {
  LZ4F_preferences_t prefs = kafka_frame_preferences();
  size_t count = (size_t)((opt->lz4PayloadBytes + opt->lz4FrameBytes - 1) / opt->lz4FrameBytes);
  size_t frameBound = frame_bound(opt, &prefs);
  size_t blockBound = (size_t)LZ4_compressBound((int)opt->lz4FrameBytes);
  size_t perBatchBound = frameBound > blockBound ? frameBound : blockBound;

  compressed_batches batches;
  batches.count = count;
  batches.data = alloc_touched(perBatchBound * count);
  batches.offsets = malloc(sizeof(size_t) * (count + 1));
  if (!batches.offsets) fail("lz4", "out of memory");
  uint8_t *decoded = alloc_touched((size_t)opt->lz4PayloadBytes);

  LZ4F_cctx *cctx;
  LZ4F_dctx *dctx;
  check_lz4f(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION), "LZ4F_createCompressionContext");
  check_lz4f(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION), "LZ4F_createDecompressionContext");

  double bestCompress = 0, bestDecompress = 0;
  size_t frameBytes = 0;
  for (unsigned rep = 0; rep < opt->reps; rep++) {
    double start = now_seconds();
    frameBytes = frame_compress_all(opt, cctx, &prefs, payload, &batches);
    double c = mbps(opt->lz4PayloadBytes, now_seconds() - start);
    start = now_seconds();
    frame_decompress_all(opt, dctx, &batches, decoded);
    double d = mbps(opt->lz4PayloadBytes, now_seconds() - start);
    if (c > bestCompress) bestCompress = c;
    if (d > bestDecompress) bestDecompress = d;
  }
  if (memcmp(decoded, payload, (size_t)opt->lz4PayloadBytes) != 0)
    fail("LZ4F round trip", "decoded payload differs from the original");
  out->lz4FrameCompressMBps = bestCompress;
  out->lz4FrameDecompressMBps = bestDecompress;
  out->lz4CompressionRatio = (double)opt->lz4PayloadBytes / (double)frameBytes;

  memset(decoded, 0, (size_t)opt->lz4PayloadBytes);
  bestCompress = 0;
  bestDecompress = 0;
  for (unsigned rep = 0; rep < opt->reps; rep++) {
    double start = now_seconds();
    block_compress_all(opt, payload, &batches);
    double c = mbps(opt->lz4PayloadBytes, now_seconds() - start);
    start = now_seconds();
    block_decompress_all(opt, &batches, decoded);
    double d = mbps(opt->lz4PayloadBytes, now_seconds() - start);
    if (c > bestCompress) bestCompress = c;
    if (d > bestDecompress) bestDecompress = d;
  }
  if (memcmp(decoded, payload, (size_t)opt->lz4PayloadBytes) != 0)
    fail("LZ4 block round trip", "decoded payload differs from the original");
  out->lz4BlockCompressMBps = bestCompress;
  out->lz4BlockDecompressMBps = bestDecompress;

  LZ4F_freeCompressionContext(cctx);
  LZ4F_freeDecompressionContext(dctx);
  free(decoded);
  free(batches.offsets);
  free(batches.data);
}
