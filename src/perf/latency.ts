/**
 * Latency percentiles through an HDR histogram (3 significant digits, microsecond units, so a
 * percentile is exact to 0.1 % from 1 us to an hour) rather than a sorted sample: memory stays
 * fixed whatever the record count, and recording is a counter increment.
 *
 * Coordinated omission is handled by the callers, not here: under a target rate they record
 * each latency from the record's INTENDED send time (when the schedule said it should go), so a
 * stall that delays the sender is charged to every record it held back.
 */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummaryMs {
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

const HIGHEST_TRACKABLE_US = 3_600_000_000;

export class LatencyRecorder {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });

  /** Records one latency given in milliseconds (fractions kept to the microsecond). */
  recordMs(latencyMs: number): void {
    this.histogram.recordValue(toMicros(latencyMs));
  }

  /** Records `count` records that shared one latency (one send() call's records). */
  recordManyMs(latencyMs: number, count: number): void {
    this.histogram.recordValueWithCount(toMicros(latencyMs), count);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** The histogram as compressed base64 (HdrHistogram's encoding), to carry it to another thread. */
  encoded(): string {
    return hdr.encodeIntoCompressedBase64(this.histogram);
  }

  /** Adds the counts of a histogram encoded() on another thread. */
  addEncoded(encoded: string): void {
    const other = hdr.decodeFromCompressedBase64(encoded);
    try {
      this.histogram.add(other);
    } finally {
      other.destroy();
    }
  }

  /** Percentiles in milliseconds, or null when nothing was recorded. */
  summary(): LatencySummaryMs | null {
    if (this.histogram.totalCount === 0) return null;
    const maxUs = this.histogram.maxValue;
    // A percentile reads as the top of its bucket (within 0.1 %), which may lie above the exact max.
    const at = (percentile: number): number => Math.min(this.histogram.getValueAtPercentile(percentile), maxUs) / 1000;
    return { p50: at(50), p95: at(95), p99: at(99), p999: at(99.9), max: maxUs / 1000 };
  }
}

/** A clock reading below the previous one (clock adjustments) must not throw: it counts as 0. */
function toMicros(latencyMs: number): number {
  const micros = Math.round(latencyMs * 1000);
  if (micros <= 0) return 0;
  return micros > HIGHEST_TRACKABLE_US ? HIGHEST_TRACKABLE_US : micros;
}
