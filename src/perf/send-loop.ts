/**
 * The producing side of every perf run, whatever the client: records go out in send() calls of
 * `sendRecords` records to one partition each (partitions in turn), with at most
 * `sendsInFlight` calls awaiting their acknowledgement, which bounds the memory the run holds.
 *
 * Under a target rate (`throughput` > 0) record i is due at start + i / throughput; the loop
 * sends the records due (at most sendRecords at once) and waits for the next one otherwise. Its
 * latency is measured from that intended time, not from when the loop got round to it
 * (coordinated-omission correction): if the client stalls, the records it held back are charged
 * for the stall. At full speed, latency runs from the send() call.
 *
 * The latency of a record is from then to the resolution of its send() call; a send() resolves
 * once every batch holding its records is acknowledged, so with sendRecords 1 this is exactly
 * the record's batch acknowledgement, and with larger sends an upper bound of it.
 */
import { performance } from 'node:perf_hooks';
import type { LatencyRecorder } from './latency.js';
import { stampSendTime } from './send-time.js';

export interface PerfMessage {
  value: Buffer;
  partition: number;
}

/** One send() of the client under test; resolves when the records are acknowledged. */
export type SendFn = (messages: PerfMessage[]) => Promise<unknown>;

export interface SendLoopOptions {
  records: number;
  partitions: number;
  /** The partition of the first send (then each in turn); default 0. Producer threads start apart. */
  firstPartition?: number;
  sendRecords: number;
  sendsInFlight: number;
  /** Target records/s, or -1 for as fast as the client takes them. */
  throughput: number;
  /** The value pool, cycled. */
  payloads: readonly Buffer[];
  /** e2e: each value is copied and carries its send time in its first 8 bytes. */
  stampValues: boolean;
  /** Where per-record send-to-ack latencies go (from the intended time under a target rate); null to skip. */
  recorder: LatencyRecorder | null;
  /**
   * Under a target rate, where each record's lag goes: from its intended send time to the send()
   * call that carried it (the sending thread's lateness: a GC pause, a wait for a core, the
   * previous turn's work). Null to skip.
   */
  lagRecorder?: LatencyRecorder | null;
  onProgress?: (recordsSent: number) => void;
}

export interface SendLoopResult {
  records: number;
  /** Value bytes sent. */
  bytes: number;
  startMs: number;
  endMs: number;
}

/** Below this wait, yield to the event loop rather than sleep: timers are too coarse for sub-ms gaps. */
const SPIN_BELOW_MS = 2;

/**
 * The loop is a function re-entered from callbacks (an acknowledgement, a timer, setImmediate)
 * rather than an async function awaiting a promise per event-loop turn: under a target rate of
 * 10 k records/s and more it spins on setImmediate between records, and a promise and an async
 * resumption per turn made about 45 % of the bytes an e2e run allocated, so most of its
 * garbage-collection pauses, which the records sent or delivered during them wait out.
 */
export function runSendLoop(send: SendFn, options: SendLoopOptions): Promise<SendLoopResult> {
  const { records, partitions, sendRecords, sendsInFlight, payloads, stampValues, recorder } = options;
  const lagRecorder = options.lagRecorder ?? null;
  if (payloads.length === 0) return Promise.reject(new RangeError('the payload pool is empty'));
  const intervalMs = options.throughput > 0 ? 1000 / options.throughput : 0;
  return new Promise<SendLoopResult>((resolve, reject) => {
    let inFlight = 0;
    let failure: { error: unknown } | null = null;
    let sent = 0;
    let bytes = 0;
    let partition = (options.firstPartition ?? 0) % partitions;
    let payloadIndex = 0;
    // True while the loop waits for an acknowledgement to make room (sendsInFlight reached).
    let waitingForRoom = false;
    const startMs = performance.now();

    const finishIfDone = (): void => {
      if (inFlight > 0 || (sent < records && failure === null)) return;
      if (failure !== null) reject(failure.error);
      else resolve({ records: sent, bytes, startMs, endMs: performance.now() });
    };

    // A throw inside the loop (a send() that throws rather than rejects) ends the run with it, as
    // a rejected send does; the loop may be running from a timer, where nothing would catch it.
    const pump = (): void => {
      try {
        pumpDue();
      } catch (error) {
        failure ??= { error };
        finishIfDone();
      }
    };

    const pumpDue = (): void => {
      while (sent < records && failure === null) {
        if (inFlight >= sendsInFlight) {
          waitingForRoom = true;
          return;
        }
        let count: number;
        if (intervalMs > 0) {
          const due = Math.min(records, Math.floor((performance.now() - startMs) / intervalMs) + 1);
          if (due <= sent) {
            const waitMs = startMs + sent * intervalMs - performance.now();
            if (waitMs > SPIN_BELOW_MS) setTimeout(pump, waitMs - 1);
            else setImmediate(pump);
            return;
          }
          count = Math.min(due - sent, sendRecords);
        } else {
          count = Math.min(sendRecords, records - sent);
        }
        sendOne(count);
      }
      finishIfDone();
    };

    const sendOne = (count: number): void => {
      const firstIndex = sent;
      const messages: PerfMessage[] = new Array(count);
      const callMs = performance.now();
      let slab: Buffer | null = null;
      let slabUsed = 0;
      if (stampValues) {
        let slabBytes = 0;
        for (let i = 0; i < count; i++) slabBytes += payloads[(payloadIndex + i) % payloads.length].length;
        // One allocation per send for the stamped copies, not one per record.
        slab = Buffer.allocUnsafe(slabBytes);
      }
      for (let i = 0; i < count; i++) {
        let value = payloads[payloadIndex];
        payloadIndex = payloadIndex + 1 === payloads.length ? 0 : payloadIndex + 1;
        if (slab !== null) {
          const copy = slab.subarray(slabUsed, slabUsed + value.length);
          slabUsed += value.length;
          value.copy(copy);
          stampSendTime(copy, intervalMs > 0 ? startMs + (firstIndex + i) * intervalMs : callMs);
          value = copy;
        }
        bytes += value.length;
        messages[i] = { value, partition };
      }
      if (lagRecorder !== null && intervalMs > 0) {
        for (let i = 0; i < count; i++) lagRecorder.recordMs(callMs - (startMs + (firstIndex + i) * intervalMs));
      }
      partition = partition + 1 === partitions ? 0 : partition + 1;
      sent += count;
      const acked = send(messages);
      inFlight++;
      acked.then(
        () => {
          if (recorder !== null) {
            const ackMs = performance.now();
            if (intervalMs > 0) {
              for (let i = 0; i < count; i++) recorder.recordMs(ackMs - (startMs + (firstIndex + i) * intervalMs));
            } else {
              recorder.recordManyMs(ackMs - callMs, count);
            }
          }
          acknowledged();
        },
        (error: unknown) => {
          failure ??= { error };
          acknowledged();
        },
      );
      options.onProgress?.(sent);
    };

    const acknowledged = (): void => {
      inFlight--;
      if (waitingForRoom) {
        waitingForRoom = false;
        pump();
      } else {
        finishIfDone();
      }
    };

    pump();
  });
}
