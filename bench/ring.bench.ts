/**
 * Main thread -> worker thread throughput of the SharedArrayBuffer ring, against the peer a
 * Node.js program would otherwise use: worker.postMessage (structured clone) of the same payloads.
 *
 *   npm run build && node dist/bench/ring.bench.js [--ring-bytes 1048576] [--scale 1] [--json]
 *
 * Ring run: the main thread copies each payload into the ring with tryWrite and, when the ring is
 * full, waits with waitForSpaceAsync (it never blocks). The worker reads every message (tag,
 * length, first payload byte), releases, and acknowledges each drained group of up to
 * ACK_EVERY_MESSAGES messages with one APPENDED completion on a second ring; the main thread reads those
 * with waitForDataAsync. The clock runs from the first write to the last acknowledgement.
 * postMessage run: same payloads, same acknowledgement grouping, at most IN_FLIGHT_MESSAGES
 * unacknowledged (postMessage has no backpressure of its own).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { RingBuffer } from '../src/shard/ring.js';
import { APPENDED_PAYLOAD_BYTES, readAppended, tryWriteAppended, type AppendOutcome } from '../src/shard/shard-messages.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs } from './support.js';

const ACK_EVERY_MESSAGES = 1024;
const IN_FLIGHT_MESSAGES = 16 * 1024;
const ACK_RING_BYTES = 64 * 1024;

interface Case {
  payloadBytes: number;
  ringMessages: number;
  postMessageMessages: number;
}

const CASES: Case[] = [
  { payloadBytes: 8, ringMessages: 10_000_000, postMessageMessages: 500_000 },
  { payloadBytes: 100, ringMessages: 5_000_000, postMessageMessages: 500_000 },
  { payloadBytes: 16 * 1024, ringMessages: 200_000, postMessageMessages: 50_000 },
];

interface WorkerSetup {
  mode: 'ring' | 'postMessage';
  requests?: SharedArrayBuffer;
  acks?: SharedArrayBuffer;
}

interface Result {
  transport: string;
  payloadBytes: number;
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
}

// ---------------------------------------------------------------------------------------------
// Worker side

function ringConsumer(requests: RingBuffer, acks: RingBuffer): void {
  let consumed = 0;
  let touched = 0;
  // Acknowledged as a shard answers an append (an APPENDED), the count of messages in baseOffset.
  const ack: AppendOutcome = { baseOffset: 0, lastOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 };
  for (;;) {
    let drained = 0;
    while (drained < ACK_EVERY_MESSAGES && requests.tryRead()) {
      // Touch the message as a shard would before writing it out: tag, length, first byte.
      touched = (touched + requests.messageTag + requests.messageLength + requests.bytes[requests.messageOffset]) | 0;
      drained++;
    }
    if (drained > 0) {
      requests.release();
      consumed += drained;
      ack.baseOffset = consumed;
      while (!tryWriteAppended(acks, touched >>> 0, ack)) {
        if (acks.waitForSpace(APPENDED_PAYLOAD_BYTES, 100) === 'closed') return;
      }
    } else if (requests.waitForData(100) === 'closed') {
      return;
    }
  }
}

function postMessageConsumer(): void {
  let consumed = 0;
  let touched = 0;
  parentPort!.on('message', (payload: Uint8Array | null) => {
    if (payload === null) {
      parentPort!.close();
      return;
    }
    touched = (touched + payload.length + payload[0]) | 0;
    if (++consumed % ACK_EVERY_MESSAGES === 0) parentPort!.postMessage([consumed, touched]);
  });
}

function workerMain(setup: WorkerSetup): void {
  if (setup.mode === 'ring') ringConsumer(RingBuffer.from(setup.requests!), RingBuffer.from(setup.acks!));
  else postMessageConsumer();
}

// ---------------------------------------------------------------------------------------------
// Main side

async function runRing(payloadBytes: number, messages: number, ringBytes: number): Promise<number> {
  const requests = RingBuffer.create(ringBytes);
  const acks = RingBuffer.create(ACK_RING_BYTES);
  const setup: WorkerSetup = { mode: 'ring', requests: requests.sharedBuffer, acks: acks.sharedBuffer };
  const worker = new Worker(new URL(import.meta.url), { workerData: setup });
  const exited = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', () => resolve());
  });
  const payload = new Uint8Array(payloadBytes).fill(7);

  const started = process.hrtime.bigint();
  const send = async (): Promise<void> => {
    for (let i = 0; i < messages; i++) {
      while (!requests.tryWrite(1, payload)) await requests.waitForSpaceAsync(payloadBytes);
    }
  };
  const receive = async (): Promise<void> => {
    const ack: AppendOutcome = { baseOffset: 0, lastOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 };
    let acknowledged = 0;
    while (acknowledged < messages) {
      while (acks.tryRead()) acknowledged = readAppended(acks, ack).baseOffset;
      acks.release();
      if (acknowledged < messages) await acks.waitForDataAsync();
    }
  };
  await Promise.all([send(), receive()]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  requests.close();
  acks.close();
  await exited;
  return seconds;
}

async function runPostMessage(payloadBytes: number, messages: number): Promise<number> {
  const setup: WorkerSetup = { mode: 'postMessage' };
  const worker = new Worker(new URL(import.meta.url), { workerData: setup });
  const exited = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', () => resolve());
  });
  const payload = new Uint8Array(payloadBytes).fill(7);
  let acknowledged = 0;
  let wakeSender: (() => void) | null = null;
  let allAcknowledged!: () => void;
  const done = new Promise<void>((resolve) => (allAcknowledged = resolve));
  worker.on('message', ([count]: [number, number]) => {
    acknowledged = count;
    if (wakeSender !== null) {
      const wake = wakeSender;
      wakeSender = null;
      wake();
    }
    if (acknowledged >= messages) allAcknowledged();
  });

  const started = process.hrtime.bigint();
  for (let sent = 0; sent < messages; sent++) {
    while (sent - acknowledged >= IN_FLIGHT_MESSAGES) await new Promise<void>((resolve) => (wakeSender = resolve));
    worker.postMessage(payload);
  }
  // Message counts are multiples of ACK_EVERY_MESSAGES, so the last message is acknowledged.
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  worker.postMessage(null);
  await exited;
  return seconds;
}

const USAGE = 'node dist/bench/ring.bench.js [--ring-bytes 1048576] [--scale 1] [--json]';

function result(transport: string, payloadBytes: number, messages: number, seconds: number): Result {
  return {
    transport,
    payloadBytes,
    messages,
    seconds,
    messagesPerSecond: messages / seconds,
    megabytesPerSecond: (messages * payloadBytes) / seconds / 1e6,
  };
}

async function main(): Promise<void> {
  const flags = parseBenchArgs(
    process.argv.slice(2),
    { 'ring-bytes': { type: 'positive-integer' }, scale: { type: 'positive-number' }, json: { type: 'boolean' } },
    USAGE,
  );
  const ringBytes = flags['ring-bytes'] ?? 1 << 20;
  const scale = flags.scale ?? 1;
  const json = flags.json;
  const environment = benchEnvironment();
  const configuration = { ringBytes, ackRingBytes: ACK_RING_BYTES, ackEveryMessages: ACK_EVERY_MESSAGES, scale };
  if (!json) {
    console.log('ring.bench: main thread -> worker thread, payload copied in, acknowledged back');
    console.log(`environment: ${describeEnvironment(environment)}`);
    console.log('configuration', configuration);
  }

  const results: Result[] = [];
  for (const { payloadBytes, ringMessages, postMessageMessages } of CASES) {
    const round = (n: number): number => Math.max(ACK_EVERY_MESSAGES, Math.round((n * scale) / ACK_EVERY_MESSAGES) * ACK_EVERY_MESSAGES);
    // Warm-up runs let V8 optimise both sides before the measured runs.
    await runRing(payloadBytes, round(ringMessages / 10), ringBytes);
    const ringCount = round(ringMessages);
    results.push(result('SharedArrayBuffer ring', payloadBytes, ringCount, await runRing(payloadBytes, ringCount, ringBytes)));
    await runPostMessage(payloadBytes, round(postMessageMessages / 10));
    const peerCount = round(postMessageMessages);
    results.push(result('postMessage (peer)', payloadBytes, peerCount, await runPostMessage(payloadBytes, peerCount)));
  }

  if (json) {
    console.log(JSON.stringify({ environment, configuration, results }));
    return;
  }
  console.table(
    results.map((r) => ({
      transport: r.transport,
      'payload bytes': r.payloadBytes,
      messages: r.messages,
      'messages/s': Math.round(r.messagesPerSecond).toLocaleString('en-US'),
      'MB/s': r.megabytesPerSecond.toFixed(1),
    })),
  );
  for (const size of CASES.map((c) => c.payloadBytes)) {
    const ring = results.find((r) => r.payloadBytes === size && r.transport.startsWith('Shared'))!;
    const peer = results.find((r) => r.payloadBytes === size && r.transport.startsWith('post'))!;
    console.log(`${size}-byte payloads: ring / postMessage = ${(ring.messagesPerSecond / peer.messagesPerSecond).toFixed(1)}x`);
  }
}

if (!isMainThread) {
  workerMain(workerData as WorkerSetup);
} else if (isMainModule(import.meta.url)) {
  await main();
}
