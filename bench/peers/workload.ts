/**
 * The workload every peer runs in the comparison, so that the rows compare like with like: the
 * same values (Sluice's perf payload pool), the same send loop (calls of `sendRecords` records,
 * `sendsInFlight` of them awaiting acknowledgement), and the same latency rule (send call to
 * acknowledgement, per record). Only the send function differs: an XADD pipeline, a group of
 * JetStream publishes, a Sluice producer send().
 */
import { LatencyRecorder } from '../../src/perf/latency.js';
import type { LatencySummaryMs } from '../../src/perf/latency.js';
import { randomPayloads } from '../../src/perf/payload.js';
import { runSendLoop, type SendFn } from '../../src/perf/send-loop.js';

export interface PeerWorkload {
  records: number;
  recordSizeBytes: number;
  compressibility: number;
  sendRecords: number;
  sendsInFlight: number;
}

/** As LatencySummaryMs; p999 is null for a tool that does not report it (redis-benchmark). */
export type PeerLatencyMs = Omit<LatencySummaryMs, 'p999'> & { p999: number | null };

export interface PeerMeasurement {
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs: PeerLatencyMs | null;
  /** Reading every record back in order after the appends, for the peers that measure it. */
  read?: PeerReadMeasurement;
}

export interface PeerReadMeasurement {
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
}

export async function measureSends(send: SendFn, workload: PeerWorkload): Promise<PeerMeasurement> {
  const payloads = randomPayloads(workload.recordSizeBytes, workload.compressibility, workload.records);
  const latency = new LatencyRecorder();
  const sent = await runSendLoop(send, {
    records: workload.records,
    partitions: 1,
    sendRecords: workload.sendRecords,
    sendsInFlight: workload.sendsInFlight,
    throughput: -1,
    payloads,
    stampValues: false,
    recorder: latency,
  });
  const seconds = (sent.endMs - sent.startMs) / 1000;
  return { records: sent.records, seconds, recordsPerSec: sent.records / seconds, mbPerSec: sent.bytes / seconds / 1e6, latencyMs: latency.summary() };
}
