/*
 * Single-producer single-consumer ring buffer between two threads, C11 atomics: the ceiling for
 * Sluice's SharedArrayBuffer rings between worker threads.
 *
 * Layout as a JavaScript ring over a SharedArrayBuffer would have it: a byte ring of capacity
 * ringBytes (a power of two) holding length-prefixed messages (uint32 length, payload, padded to
 * 8 bytes); a message that does not fit before the end of the ring is preceded by a wrap marker
 * and written at the start. The producer publishes its write position with a release store after
 * every message and the consumer its read position after every message; each side caches the
 * other's position and reloads it only when the ring looks full (producer) or empty (consumer).
 * The consumer checks every message's sequence number, so a lost or reordered message fails the
 * run instead of inflating the figure.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "payload.h"

#define WRAP_MARKER 0xFFFFFFFFu
#define CACHE_LINE 64

typedef struct {
  _Alignas(CACHE_LINE) _Atomic uint64_t writePos; /* bytes ever written; producer-owned */
  _Alignas(CACHE_LINE) _Atomic uint64_t readPos;  /* bytes ever consumed; consumer-owned */
  _Alignas(CACHE_LINE) uint8_t *data;
  uint64_t capacity;
  uint64_t messages;
  uint32_t payloadBytes;
  const uint8_t *payload; /* source of message bodies beyond the sequence number */
  _Atomic int started;
  uint64_t checksum;      /* consumer's sum of sequence numbers, checked by the main thread */
} spsc_ring;

/* Spin politely; after many spins give the CPU away, because on a busy machine the other side
 * may be waiting for this very core, and pure spinning would then measure the scheduler. */
static inline void cpu_relax(unsigned *spins) {
  if (++*spins % 1024 == 0) {
    sched_yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static inline uint64_t framed_bytes(uint32_t payloadBytes) {
  return (4u + payloadBytes + 7u) & ~(uint64_t)7u;
}

static void *producer(void *arg) {
  spsc_ring *ring = arg;
  uint64_t mask = ring->capacity - 1;
  uint64_t need = framed_bytes(ring->payloadBytes);
  uint64_t write = 0, cachedRead = 0;
  unsigned spins = 0;
  while (!atomic_load_explicit(&ring->started, memory_order_acquire)) cpu_relax(&spins);
  for (uint64_t seq = 0; seq < ring->messages; seq++) {
    uint64_t pos = write & mask;
    uint64_t skip = ring->capacity - pos < need ? ring->capacity - pos : 0;
    while (write + skip + need - cachedRead > ring->capacity) {
      cachedRead = atomic_load_explicit(&ring->readPos, memory_order_acquire);
      if (write + skip + need - cachedRead > ring->capacity) cpu_relax(&spins);
    }
    if (skip) {
      uint32_t marker = WRAP_MARKER;
      memcpy(ring->data + pos, &marker, 4);
      write += skip;
      pos = 0;
    }
    uint8_t *slot = ring->data + pos;
    memcpy(slot, &ring->payloadBytes, 4);
    memcpy(slot + 4, &seq, 8);
    if (ring->payloadBytes > 8) memcpy(slot + 12, ring->payload, ring->payloadBytes - 8);
    write += need;
    atomic_store_explicit(&ring->writePos, write, memory_order_release);
  }
  return NULL;
}

static void *consumer(void *arg) {
  spsc_ring *ring = arg;
  uint64_t mask = ring->capacity - 1;
  uint64_t read = 0, cachedWrite = 0, sum = 0;
  uint8_t sink[PAYLOAD_RECORD_BYTES];
  unsigned spins = 0;
  while (!atomic_load_explicit(&ring->started, memory_order_acquire)) cpu_relax(&spins);
  for (uint64_t expected = 0; expected < ring->messages;) {
    while (read == cachedWrite) {
      cachedWrite = atomic_load_explicit(&ring->writePos, memory_order_acquire);
      if (read == cachedWrite) cpu_relax(&spins);
    }
    uint64_t pos = read & mask;
    uint32_t length;
    memcpy(&length, ring->data + pos, 4);
    if (length == WRAP_MARKER) {
      read += ring->capacity - pos;
    } else {
      uint64_t seq;
      memcpy(&seq, ring->data + pos + 4, 8);
      if (length != ring->payloadBytes || seq != expected) fail("spsc", "message lost or reordered");
      sum += seq;
      if (length > 8) {
        /* Consume the body as a reader would: copy it out of the ring. */
        memcpy(sink, ring->data + pos + 12, length - 8);
        sum += sink[0];
      }
      read += framed_bytes(length);
      expected++;
    }
    atomic_store_explicit(&ring->readPos, read, memory_order_release);
  }
  ring->checksum = sum;
  return NULL;
}

/* Returns messages per second. */
static double run_ring(const bench_options *opt, const uint8_t *payload, uint32_t payloadBytes,
                       uint64_t messages) {
  spsc_ring *ring = aligned_alloc(CACHE_LINE, sizeof(spsc_ring));
  if (!ring) fail("spsc", "out of memory");
  memset(ring, 0, sizeof *ring);
  atomic_init(&ring->writePos, 0);
  atomic_init(&ring->readPos, 0);
  atomic_init(&ring->started, 0);
  ring->data = alloc_touched((size_t)opt->ringBytes);
  ring->capacity = opt->ringBytes;
  ring->messages = messages;
  ring->payloadBytes = payloadBytes;
  ring->payload = payload;

  pthread_t producerThread, consumerThread;
  if (pthread_create(&consumerThread, NULL, consumer, ring) != 0) fail("spsc", "pthread_create");
  if (pthread_create(&producerThread, NULL, producer, ring) != 0) fail("spsc", "pthread_create");
  double start = now_seconds();
  atomic_store_explicit(&ring->started, 1, memory_order_release);
  pthread_join(producerThread, NULL);
  pthread_join(consumerThread, NULL);
  double seconds = now_seconds() - start;

  uint64_t expectedSum = messages * (messages - 1) / 2;
  if (payloadBytes > 8) expectedSum += messages * payload[0];
  if (ring->checksum != expectedSum) fail("spsc", "consumer checksum mismatch");
  free(ring->data);
  free(ring);
  return (double)messages / seconds;
}

void bench_spsc(const bench_options *opt, const uint8_t *payload, bench_results *out) {
  out->spsc8ByteMsgsPerSec = run_ring(opt, payload, 8, opt->ring8Messages);
  out->spsc100ByteMsgsPerSec = run_ring(opt, payload, PAYLOAD_RECORD_BYTES, opt->ring100Messages);
  out->spsc100ByteMBps = out->spsc100ByteMsgsPerSec * PAYLOAD_RECORD_BYTES / 1e6;
}
