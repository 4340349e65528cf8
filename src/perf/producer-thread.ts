/**
 * Entry point of one producer thread of `sluice perf produce --producer-threads N`: attaches to
 * the broker its parent opened (Sluice.attach), makes the producer the run asks for, reports
 * 'ready', waits for 'go' (so that attaching and setting up are not timed, and every thread
 * starts together), runs the send loop over its share of the records, and reports what it
 * measured. Times are on the process-wide clock (timeOrigin + now), since each thread's
 * performance.now() counts from its own start.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { Sluice } from '../sluice.js';
import type { SluiceHandle } from '../client/thread-messages.js';
import type { PerfConfig } from './config.js';
import { loopSettings, openProducer } from './embedded-runner.js';
import { LatencyRecorder } from './latency.js';
import { runSendLoop } from './send-loop.js';

export interface ProducerThreadData {
  handle: SluiceHandle;
  config: PerfConfig;
  partitions: number;
  /** This thread's share of the records. */
  records: number;
  firstPartition: number;
  /** The value pool (cloned once into the thread at start, as Uint8Arrays). */
  payloads: Uint8Array[];
}

export type ProducerThreadReport =
  | { type: 'ready' }
  | { type: 'progress'; records: number }
  | { type: 'done'; records: number; bytes: number; startMs: number; endMs: number; latency: string }
  | { type: 'failed'; message: string };

/** Progress goes to the parent at most this often: a message per send would cost the loop a structured clone each. */
const PROGRESS_INTERVAL_MS = 100;

const data = workerData as ProducerThreadData;
const port = parentPort!;

function report(message: ProducerThreadReport): void {
  port.postMessage(message);
}

async function run(): Promise<void> {
  const sluice = await Sluice.attach(data.handle);
  try {
    const producer = openProducer(sluice, data.config);
    const payloads = data.payloads.map((value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    const latency = new LatencyRecorder();
    report({ type: 'ready' });
    await new Promise((resolve) => port.once('message', resolve));
    let lastProgressMs = 0;
    const sent = await runSendLoop(producer.send, {
      ...loopSettings(data.config, data.partitions, payloads),
      records: data.records,
      firstPartition: data.firstPartition,
      stampValues: false,
      recorder: latency,
      onProgress: (records) => {
        const nowMs = performance.now();
        if (nowMs - lastProgressMs < PROGRESS_INTERVAL_MS) return;
        lastProgressMs = nowMs;
        report({ type: 'progress', records });
      },
    });
    await producer.close();
    const origin = performance.timeOrigin;
    report({
      type: 'done',
      records: sent.records,
      bytes: sent.bytes,
      startMs: origin + sent.startMs,
      endMs: origin + performance.now(),
      latency: latency.encoded(),
    });
  } finally {
    await sluice.close();
  }
}

run().catch((error: unknown) => report({ type: 'failed', message: error instanceof Error ? error.message : String(error) }));
