/**
 * A perf run's result, the one object `--json` prints (and `sluice tune` collects), and its
 * readable table. Rates are over the timed part only; MB/s counts value bytes (10^6 bytes/s).
 */
import { acksName, type PerfConfig } from './config.js';
import type { LatencySummaryMs } from './latency.js';
import { describeMachine, type MachineInfo } from './machine.js';
import type { Measurement } from './measurement.js';
import type { RuntimeSummary } from './runtime-monitor.js';
import { formatCount, formatFigure } from '../format.js';
import { formatTable } from './table.js';

export interface PerfResult {
  recordsPerSec: number;
  mbPerSec: number;
  records: number;
  seconds: number;
  /** produce: send() to acknowledgement; e2e: send to consumer hand-out; consume: null. */
  latencyMs: LatencySummaryMs | null;
  /** e2e: the main thread's event-loop delay and GC pauses over the timed part (the suspects of a latency tail); null otherwise. */
  runtime: RuntimeSummary | null;
  /**
   * e2e under a target rate: where the latency forms, each from the record's intended send time:
   * the send() call that carried it, that call's acknowledgement, and (latencyMs) the hand-out.
   * Null otherwise (and for kafkajs runs).
   */
  stagesMs: { sendCall: LatencySummaryMs | null; acknowledged: LatencySummaryMs | null } | null;
  config: PerfConfig;
  machine: MachineInfo;
  /** produce --producer-threads: each thread's records and rate over its own span; null otherwise. */
  threads: ThreadFigures[] | null;
}

export interface ThreadFigures {
  records: number;
  seconds: number;
  recordsPerSec: number;
}

export function buildPerfResult(config: PerfConfig, measurement: Measurement, machine: MachineInfo): PerfResult {
  const seconds = measurement.seconds;
  return {
    recordsPerSec: seconds > 0 ? measurement.records / seconds : 0,
    mbPerSec: seconds > 0 ? measurement.bytes / seconds / 1e6 : 0,
    records: measurement.records,
    seconds,
    latencyMs: measurement.latency === null ? null : measurement.latency.summary(),
    runtime: measurement.runtime,
    stagesMs:
      measurement.stages === undefined || config.throughput <= 0
        ? null
        : { sendCall: measurement.stages.sendCall.summary(), acknowledged: measurement.stages.acknowledged.summary() },
    config: { ...config, partitions: measurement.partitions },
    machine,
    threads:
      measurement.threads === undefined
        ? null
        : measurement.threads.map((thread) => ({
            records: thread.records,
            seconds: thread.seconds,
            recordsPerSec: thread.seconds > 0 ? thread.records / thread.seconds : 0,
          })),
  };
}

/** One line naming the settings that shape the figures. */
export function describeConfig(config: PerfConfig): string {
  const parts = [
    `${config.mode}`,
    `${formatCount(config.records)} records of ${config.payloadFile === null ? `${config.recordSizeBytes} B` : `lines of ${config.payloadFile}`}`,
    `${config.partitions} partition${config.partitions === 1 ? '' : 's'}`,
  ];
  if (config.shards !== null) parts.push(`${config.shards} shards`);
  if (config.batchSizeBytes !== null) parts.push(`batch ${config.batchSizeBytes} B`, `linger ${config.lingerMs} ms`);
  parts.push(`${config.compression}`, `acks ${acksName(config.acks)}`);
  if (config.transactional) parts.push(`transactions of ${config.transactionDurationMs} ms`);
  else if (config.idempotent) parts.push('idempotent');
  parts.push(config.throughput > 0 ? `target ${formatCount(config.throughput)} rec/s` : 'max rate');
  parts.push(`${config.sendRecords} records/send x ${config.sendsInFlight} in flight`);
  if (config.producerThreads !== null) parts.push(`${config.producerThreads} producer thread${config.producerThreads === 1 ? '' : 's'} (each its own sends in flight)`);
  parts.push(config.client === 'sluice' ? 'Sluice embedded' : `kafkajs -> ${config.bootstrapServer}`);
  return parts.join(', ');
}

export function formatPerfReport(result: PerfResult): string {
  const latency = result.latencyMs;
  const headers = ['mode', 'records', 'seconds', 'records/s', 'MB/s', 'p50 ms', 'p95 ms', 'p99 ms', 'p99.9 ms', 'max ms'];
  const row = [
    result.config.mode,
    formatCount(result.records),
    formatFigure(result.seconds),
    formatCount(result.recordsPerSec),
    formatFigure(result.mbPerSec),
    formatFigure(latency?.p50 ?? null),
    formatFigure(latency?.p95 ?? null),
    formatFigure(latency?.p99 ?? null),
    formatFigure(latency?.p999 ?? null),
    formatFigure(latency?.max ?? null),
  ];
  const rows = [row];
  // Each thread's share, rate over its own span; the mode row is every record over the whole span.
  result.threads?.forEach((thread, index) => {
    rows.push([`thread ${index}`, formatCount(thread.records), formatFigure(thread.seconds), formatCount(thread.recordsPerSec), '', '', '', '', '', '']);
  });
  let out = formatTable(headers, rows, ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right']);
  if (result.stagesMs !== null) out += describeStages(result.stagesMs);
  if (result.runtime !== null) out += describeRuntime(result.runtime);
  out += `config:  ${describeConfig(result.config)}\n`;
  out += `machine: ${describeMachine(result.machine)}\n`;
  const native = result.machine.nativeLimits;
  if (native !== null) {
    out +=
      `native:  ${formatFigure(result.mbPerSec)} MB/s of values = ${formatFigure(native.percentOfLimit)} % of this machine's ${native.limit} ` +
      `(${formatFigure(native.limitMBps)} MB/s, native-bench)\n`;
  }
  if (result.config.mode === 'consume') out += 'latency: not measured by consume; `sluice perf e2e` measures delivery latency\n';
  return out;
}

/** The e2e run's path: how late the send() calls were, and their acknowledgements, both from the intended send time. */
function describeStages(stages: NonNullable<PerfResult['stagesMs']>): string {
  const line = (name: string, summary: LatencySummaryMs | null): string =>
    summary === null
      ? `${name}: none recorded\n`
      : `${name}: p50 ${formatFigure(summary.p50)} ms, p99 ${formatFigure(summary.p99)} ms, ` +
        `p99.9 ${formatFigure(summary.p999)} ms, max ${formatFigure(summary.max)} ms\n`;
  return (
    line('from the intended send time to the send() call', stages.sendCall) +
    line('from the intended send time to its acknowledgement', stages.acknowledged)
  );
}

/** The e2e run's event-loop delay and GC lines. */
function describeRuntime(runtime: RuntimeSummary): string {
  const delay = runtime.eventLoopDelayMs;
  const { count, totalMs, maxMs } = runtime.gc;
  let out =
    delay === null
      ? 'event loop delay: no sample\n'
      : `event loop delay past due (1 ms samples): p50 ${formatFigure(delay.p50)} ms, p99 ${formatFigure(delay.p99)} ms, ` +
        `p99.9 ${formatFigure(delay.p999)} ms, max ${formatFigure(delay.max)} ms\n`;
  out += `gc pauses (main thread): ${formatCount(count)}, total ${formatFigure(totalMs)} ms, max ${formatFigure(maxMs)} ms\n`;
  const scheduler = runtime.scheduler;
  if (scheduler !== null) {
    out += `main thread: ${formatFigure(scheduler.runningMs)} ms on a core, ${formatFigure(scheduler.runnableWaitingMs)} ms runnable waiting for one\n`;
  }
  return out;
}
