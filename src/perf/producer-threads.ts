/**
 * `sluice perf produce --producer-threads N`: N worker threads attached to the broker this
 * thread opened (Sluice.handle / Sluice.attach), each producing its share of the records with
 * the run's producer settings, straight to the shards over its own rings. The total rate is every
 * record over the span from the first thread's start to the last one's end; each thread's rate
 * is over its own span. Latencies of every thread go into one histogram.
 */
import { Worker } from 'node:worker_threads';
import { compiledSiblingUrl } from '../compiled-module-url.js';
import type { Sluice } from '../sluice.js';
import type { PerfConfig } from './config.js';
import { LatencyRecorder } from './latency.js';
import type { Measurement, ProgressFn, ThreadMeasurement } from './measurement.js';
import type { ProducerThreadData, ProducerThreadReport } from './producer-thread.js';

const THREAD_URL = compiledSiblingUrl(import.meta.url, './producer-thread.js');

interface ThreadRun {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly done: Promise<Extract<ProducerThreadReport, { type: 'done' }>>;
  progress: number;
}

export async function produceOnThreads(
  sluice: Sluice,
  config: PerfConfig,
  partitions: number,
  payloads: readonly Buffer[],
  progress: ProgressFn,
): Promise<Measurement> {
  const threads = config.producerThreads!;
  const runs: ThreadRun[] = [];
  const reportProgress = (): void => progress(runs.reduce((sum, run) => sum + run.progress, 0));
  try {
    for (let index = 0; index < threads; index++) {
      // The first threads take the remainder, one record each.
      const records = Math.floor(config.records / threads) + (index < config.records % threads ? 1 : 0);
      runs.push(startThread(sluice, config, partitions, payloads, records, index, reportProgress));
    }
    await Promise.all(runs.map((run) => run.ready));
    for (const run of runs) run.worker.postMessage('go');
    const reports = await Promise.all(runs.map((run) => run.done));
    const latency = new LatencyRecorder();
    for (const report of reports) latency.addEncoded(report.latency);
    const startMs = Math.min(...reports.map((report) => report.startMs));
    const endMs = Math.max(...reports.map((report) => report.endMs));
    const perThread: ThreadMeasurement[] = reports.map((report) => ({ records: report.records, seconds: (report.endMs - report.startMs) / 1000 }));
    return {
      records: reports.reduce((sum, report) => sum + report.records, 0),
      bytes: reports.reduce((sum, report) => sum + report.bytes, 0),
      seconds: (endMs - startMs) / 1000,
      latency,
      partitions,
      threads: perThread,
    };
  } finally {
    await Promise.all(runs.map((run) => run.worker.terminate()));
  }
}

function startThread(
  sluice: Sluice,
  config: PerfConfig,
  partitions: number,
  payloads: readonly Buffer[],
  records: number,
  index: number,
  onProgress: () => void,
): ThreadRun {
  const handle = sluice.handle();
  const workerData: ProducerThreadData = {
    handle,
    config,
    partitions,
    records,
    firstPartition: index % partitions,
    payloads: payloads as Buffer[],
  };
  const worker = new Worker(THREAD_URL, { workerData, transferList: [handle.port] });
  let readyResolve!: () => void;
  let doneResolve!: (report: Extract<ProducerThreadReport, { type: 'done' }>) => void;
  let fail!: (error: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const ready = Promise.race([new Promise<void>((resolve) => (readyResolve = resolve)), failed]);
  const done = Promise.race([new Promise<Extract<ProducerThreadReport, { type: 'done' }>>((resolve) => (doneResolve = resolve)), failed]);
  // Awaited later (done after every ready): a failure meanwhile is the caller's, not unhandled.
  ready.catch(() => undefined);
  done.catch(() => undefined);
  const run: ThreadRun = { worker, ready, done, progress: 0 };
  worker.on('message', (message: ProducerThreadReport) => {
    if (message.type === 'ready') readyResolve();
    else if (message.type === 'progress') {
      run.progress = message.records;
      onProgress();
    } else if (message.type === 'done') {
      run.progress = message.records;
      onProgress();
      doneResolve(message);
    } else fail(new Error(`producer thread ${index} failed: ${message.message}`));
  });
  worker.on('error', (error) => fail(new Error(`producer thread ${index} failed: ${error.message}`)));
  worker.on('exit', (code) => fail(new Error(`producer thread ${index} exited (code ${code}) before reporting its run`)));
  return run;
}
