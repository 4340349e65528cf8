/**
 * e2e latency rides in the record: the first 8 bytes of each value hold its send time, a
 * float64 of the process's monotonic clock (performance.now(), ms with sub-microsecond
 * resolution). The consumer runs in the same process, so the two readings share one clock and
 * their difference is the end-to-end latency; record timestamps (whole ms) are too coarse.
 */
export const SEND_TIME_BYTES = 8;

export function stampSendTime(value: Buffer, sendTimeMs: number): void {
  value.writeDoubleLE(sendTimeMs, 0);
}

export function readSendTime(value: Buffer): number {
  return value.readDoubleLE(0);
}
