import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { ClosedError, InvalidConfigError, OffsetOutOfRangeError, RingMessageTooLargeError, SluiceError } from '../../src/errors.js';
import { FRAME_HEADER_BYTES, RING_CONTROL_BYTES, RingBuffer } from '../../src/shard/ring.js';
import {
  APPENDED_PAYLOAD_BYTES,
  APPENDED_TAG,
  APPEND_FLAG_COORDINATOR,
  APPEND_FLAG_CRC_VERIFIED,
  APPEND_HEADER_BYTES,
  APPEND_TAG,
  FAILED_TAG,
  kafkaCodeOf,
  readAppend,
  readAppended,
  readJsonBody,
  readRequestId,
  reserveAppend,
  reviveError,
  serializeError,
  tryWriteAppend,
  tryWriteAppended,
  tryWriteJsonMessage,
  type AppendOutcome,
  type SerializedError,
} from '../../src/shard/shard-messages.js';
import { eventually, within } from '../support/eventually.js';
import { seededUint32 } from '../support/prng.js';

// The worker runs the compiled ring (dist/, built by `npm test`'s pretest): Node 20 cannot load
// TypeScript in a worker thread.
const WORKER_SCRIPT = new URL('../fixtures/ring-worker.mjs', import.meta.url);

/** Deterministic content for message `sequence`: 1 to 2,000 bytes derived from the seed and sequence. */
function fillMessage(sequence: number, scratch: Uint32Array): number {
  const next = seededUint32(0x51ce ^ Math.imul(sequence, 0x9e3779b1));
  const length = 1 + (next() % 2000);
  for (let i = 0; i < (length + 3) >> 2; i++) scratch[i] = next();
  return length;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function readAll(ring: RingBuffer): { tag: number; text: string }[] {
  const messages: { tag: number; text: string }[] = [];
  while (ring.tryRead()) messages.push({ tag: ring.messageTag, text: new TextDecoder().decode(ring.messagePayload()) });
  ring.release();
  return messages;
}

function startWorker(
  mode: string,
  requests: RingBuffer,
  completions: RingBuffer,
  extra: Record<string, unknown> = {},
): { worker: Worker; exitCode: Promise<number> } {
  const worker = new Worker(WORKER_SCRIPT, {
    workerData: { mode, requests: requests.sharedBuffer, completions: completions.sharedBuffer, ...extra },
  });
  const exitCode = new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
  return { worker, exitCode };
}

/** The acks an APPEND of message `sequence` carries, so every value crosses the ring. */
const ACKS = [-1, 0, 1];

/** Counts the echo worker's answers that disagree with what message `requestId` carried. */
function echoMismatches(requestId: number, outcome: AppendOutcome, checksum: number): number {
  return (
    (outcome.baseOffset !== checksum ? 1 : 0) +
    (outcome.lastOffset !== requestId % 16 ? 1 : 0) +
    (outcome.logAppendTimeMs !== ACKS[requestId % 3] ? 1 : 0) +
    (outcome.logStartOffset !== requestId % 4 ? 1 : 0)
  );
}

describe('RingBuffer in one thread', () => {
  it('carries messages of every size with their tags, in order, as views into shared memory', () => {
    const ring = RingBuffer.create(1024);
    expect(ring.sharedBuffer.byteLength).toBe(RING_CONTROL_BYTES + 1024);
    expect(ring.tryWrite(7, bytesOf('hello'))).toBe(true);
    expect(ring.tryWrite(-3, new Uint8Array(0))).toBe(true);
    expect(ring.tryWrite(0x7fffffff, bytesOf('x'.repeat(300)))).toBe(true);
    expect(ring.tryRead()).toBe(true);
    expect(ring.messageTag).toBe(7);
    expect(ring.messageLength).toBe(5);
    expect(ring.messageOffset % 8).toBe(0);
    const payload = ring.messagePayload();
    expect(payload.buffer).toBe(ring.sharedBuffer);
    expect(new TextDecoder().decode(payload)).toBe('hello');
    ring.release();
    expect(readAll(ring)).toEqual([
      { tag: -3, text: '' },
      { tag: 0x7fffffff, text: 'x'.repeat(300) },
    ]);
    expect(ring.tryRead()).toBe(false);
    expect(ring.usedBytes()).toBe(0);
  });

  it('is seen identically through RingBuffer.from on the same memory', () => {
    const writer = RingBuffer.create(512);
    const reader = RingBuffer.from(writer.sharedBuffer);
    expect(reader.capacityBytes).toBe(512);
    expect(writer.tryWrite(1, bytesOf('across'))).toBe(true);
    expect(readAll(reader)).toEqual([{ tag: 1, text: 'across' }]);
    expect(writer.usedBytes()).toBe(0);
  });

  it('agrees with a model queue over 200,000 random operations in a 256-byte ring', () => {
    const ring = RingBuffer.create(256);
    const next = seededUint32(42);
    const model: Uint8Array[] = [];
    const held: { offset: number; expected: Uint8Array }[] = [];
    let sequence = 0;
    let refusals = 0;
    let refusedWithRoom = 0;
    let wrongMessages = 0;
    let emptyWithMessagesLeft = 0;
    let overwrittenWhileHeld = 0;
    for (let step = 0; step < 200_000; step++) {
      const op = next() % 3;
      if (op === 0) {
        // Mostly small messages, sometimes up to the largest the ring takes.
        const length = next() % 4 === 0 ? next() % (ring.maxPayloadBytes + 1) : next() % 40;
        const payload = new Uint8Array(length);
        for (let i = 0; i < length; i++) payload[i] = (sequence + i * 7) & 0xff;
        if (ring.tryWrite(sequence, payload)) {
          model.push(payload);
          sequence++;
        } else {
          // Refused only for lack of room: once everything is read and released, it must fit.
          refusals++;
          if (ring.usedBytes() === 0) refusedWithRoom++;
        }
      } else if (op === 1) {
        if (ring.tryRead()) {
          const expected = model.shift()!;
          if (ring.messageTag !== sequence - model.length - 1 || !sameBytes(ring.messagePayload(), expected)) wrongMessages++;
          held.push({ offset: ring.messageOffset, expected });
        } else if (model.length !== 0) {
          emptyWithMessagesLeft++;
        }
      } else {
        // Held payloads were not overwritten while unreleased.
        for (const { offset, expected } of held) {
          if (!sameBytes(ring.bytes.subarray(offset, offset + expected.length), expected)) overwrittenWhileHeld++;
        }
        held.length = 0;
        ring.release();
      }
    }
    expect({ refusedWithRoom, wrongMessages, emptyWithMessagesLeft, overwrittenWhileHeld }).toEqual({
      refusedWithRoom: 0,
      wrongMessages: 0,
      emptyWithMessagesLeft: 0,
      overwrittenWhileHeld: 0,
    });
    expect(refusals).toBeGreaterThan(1000);
    while (ring.tryRead()) expect(ring.messagePayload()).toEqual(model.shift());
    ring.release();
    expect(model.length).toBe(0);
    expect(ring.usedBytes()).toBe(0);
  });

  it('refuses a write when full, and frees room only on release', () => {
    const ring = RingBuffer.create(256);
    const payload = new Uint8Array(24); // 32-byte frames: 8 fill the ring
    let written = 0;
    while (ring.tryWrite(written, payload)) written++;
    expect(written).toBe(256 / 32);
    expect(ring.tryRead()).toBe(true);
    expect(ring.tryWrite(99, payload)).toBe(false);
    ring.release();
    expect(ring.tryWrite(99, payload)).toBe(true);
    expect(ring.tryWrite(100, payload)).toBe(false);
  });

  it('takes a message of capacity - 8 bytes even when the free room straddles the end', () => {
    const ring = RingBuffer.create(256);
    expect(ring.maxPayloadBytes).toBe(256 - FRAME_HEADER_BYTES);
    expect(ring.tryWrite(1, new Uint8Array(8))).toBe(true);
    expect(readAll(ring)).toHaveLength(1);
    const largest = new Uint8Array(ring.maxPayloadBytes).fill(0xab);
    // The first attempt can only publish padding up to the end of the ring...
    expect(ring.tryWrite(2, largest)).toBe(false);
    // ...which the reader skips (and gives back) without seeing a message...
    expect(ring.tryRead()).toBe(false);
    // ...so the frame now fits at offset 0.
    expect(ring.tryWrite(2, largest)).toBe(true);
    expect(ring.tryRead()).toBe(true);
    expect(ring.messageOffset).toBe(FRAME_HEADER_BYTES);
    expect(ring.messagePayload()).toEqual(largest);
    ring.release();
  });

  it('rejects a message larger than the ring can ever hold, naming the fix', () => {
    const ring = RingBuffer.create(4096);
    expect(() => ring.tryWrite(1, new Uint8Array(4096 - FRAME_HEADER_BYTES + 1))).toThrow(RingMessageTooLargeError);
    expect(() => ring.reserve(1_000_000)).toThrow(
      'message of 1000000 bytes cannot fit a ring buffer of 4096 bytes (largest message: 4088 bytes); ' +
        'split the message or create the ring with a larger capacityBytes',
    );
    expect(() => ring.waitForSpace(5000, 0)).toThrow(RingMessageTooLargeError);
  });

  it('rejects capacities that are not a power of two in range, and memory that is not a ring', () => {
    for (const capacity of [0, 100, 128, 1000, 3 * 1024, 2 ** 31, 1.5, Number.NaN]) {
      expect(() => RingBuffer.create(capacity)).toThrow(InvalidConfigError);
    }
    expect(() => RingBuffer.from(new SharedArrayBuffer(RING_CONTROL_BYTES + 1024))).toThrow(InvalidConfigError);
    expect(() => RingBuffer.from(new SharedArrayBuffer(16))).toThrow(InvalidConfigError);
    expect(() => RingBuffer.from(new ArrayBuffer(4096) as unknown as SharedArrayBuffer)).toThrow(InvalidConfigError);
    const ring = RingBuffer.create(1024);
    const truncated = new SharedArrayBuffer(RING_CONTROL_BYTES + 512);
    new Uint8Array(truncated).set(new Uint8Array(ring.sharedBuffer, 0, RING_CONTROL_BYTES));
    expect(() => RingBuffer.from(truncated)).toThrow(InvalidConfigError);
  });

  it('lets only one instance write and one read', () => {
    const ring = RingBuffer.create(1024);
    expect(ring.tryWrite(1, bytesOf('a'))).toBe(true);
    const second = RingBuffer.from(ring.sharedBuffer);
    expect(() => second.tryWrite(2, bytesOf('b'))).toThrow(SluiceError);
    expect(second.tryRead()).toBe(true);
    expect(() => ring.tryRead()).toThrow(/already has a reader/);
  });

  it('validates commits and tags', () => {
    const ring = RingBuffer.create(1024);
    expect(() => ring.commit(1)).toThrow(/needs a successful reserve/);
    expect(ring.reserve(16)).toBeGreaterThanOrEqual(0);
    expect(() => ring.commit(1, 17)).toThrow(RangeError);
    expect(() => ring.commit(2 ** 31)).toThrow(RangeError);
    expect(() => ring.reserve(-1)).toThrow(RangeError);
    expect(() => ring.tryWrite(1, 'text' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('lets a writer encode in place and commit fewer bytes than reserved', () => {
    const ring = RingBuffer.create(1024);
    const offset = ring.reserve(100);
    ring.bytes.set(bytesOf('in place'), offset);
    ring.commit(5, 8);
    expect(ring.usedBytes()).toBe(RingBuffer.frameBytes(8));
    expect(readAll(ring)).toEqual([{ tag: 5, text: 'in place' }]);
  });

  it('after close refuses writes, still delivers what was written, then reports closed', async () => {
    const ring = RingBuffer.create(1024);
    expect(ring.tryWrite(1, bytesOf('before close'))).toBe(true);
    ring.close();
    expect(ring.closed).toBe(true);
    expect(() => ring.tryWrite(2, bytesOf('after'))).toThrow(ClosedError);
    await expect(ring.writeAsync(2, bytesOf('after'))).rejects.toThrow(ClosedError);
    expect(await ring.waitForSpaceAsync(8)).toBe('closed');
    expect(ring.waitForData(0)).toBe('ok');
    expect(readAll(ring)).toEqual([{ tag: 1, text: 'before close' }]);
    expect(ring.waitForData(0)).toBe('closed');
    expect(await ring.waitForDataAsync()).toBe('closed');
  });

  it('wakes asynchronous waiters on data, on room and on close, and times out otherwise', async () => {
    const ring = RingBuffer.create(256);
    expect(ring.waitForData(0)).toBe('timed-out');
    expect(await ring.waitForDataAsync(1)).toBe('timed-out');

    const dataWait = ring.waitForDataAsync();
    expect(ring.isReaderWaiting()).toBe(true);
    await expect(ring.waitForDataAsync()).rejects.toThrow(/already pending/);
    ring.tryWrite(1, new Uint8Array(200));
    expect(await dataWait).toBe('ok');
    expect(ring.isReaderWaiting()).toBe(false);

    expect(ring.tryWrite(2, new Uint8Array(200))).toBe(false);
    expect(await ring.waitForSpaceAsync(200, 1)).toBe('timed-out');
    const spaceWait = ring.waitForSpaceAsync(200);
    expect(ring.writerWaitingBytes()).toBeGreaterThan(0);
    expect(ring.tryRead()).toBe(true);
    ring.release();
    expect(await spaceWait).toBe('ok');
    expect(ring.writerWaitingBytes()).toBe(0);

    readAll(ring);
    const closingWait = ring.waitForDataAsync();
    ring.close();
    expect(await closingWait).toBe('closed');
  });

  it('wakes a parked writer once a quarter of the ring is free, not for every freed frame', async () => {
    const ring = RingBuffer.create(1024);
    const payload = new Uint8Array(56); // 64-byte frames: 16 fill the ring
    for (let i = 0; i < 16; i++) expect(ring.tryWrite(i, payload)).toBe(true);
    const woken = ring.waitForSpaceAsync(payload.length);
    expect(ring.writerWaitingBytes()).toBe(256);
    for (let freed = 1; freed <= 3; freed++) {
      expect(ring.tryRead()).toBe(true);
      ring.release();
      expect(ring.writerWaitingBytes()).toBe(256);
    }
    expect(ring.tryRead()).toBe(true);
    ring.release();
    expect(ring.writerWaitingBytes()).toBe(0);
    expect(await woken).toBe('ok');

    // A wait that times out below the wake-up mark still reports room for the frame.
    for (let i = 0; i < 4; i++) expect(ring.tryWrite(i, payload)).toBe(true);
    const timedOut = ring.waitForSpaceAsync(payload.length, 20);
    expect(ring.tryRead()).toBe(true);
    ring.release();
    expect(await timedOut).toBe('ok');
    expect(ring.writerWaitingBytes()).toBe(0);
  });

  it('queues writeAsync calls behind a full ring and keeps their order', async () => {
    const ring = RingBuffer.create(256);
    const payload = new Uint8Array(56); // 64-byte frames: 4 fill the ring
    for (let i = 0; i < 4; i++) expect(ring.tryWrite(i, payload)).toBe(true);
    const queued = [4, 5, 6, 7, 8, 9].map((tag) => ring.writeAsync(tag, payload));
    const tags: number[] = [];
    while (tags.length < 10) {
      if (ring.tryRead()) {
        tags.push(ring.messageTag);
        ring.release();
      } else {
        expect(await ring.waitForDataAsync()).toBe('ok');
      }
    }
    await Promise.all(queued);
    expect(tags).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('a reader of several rings (a shard and its attached threads)', () => {
  it('noticeWhenFree leaves a notice on a full ring; the release that frees enough clears it and rings the bell of the ring the reader parks on', async () => {
    const answers = RingBuffer.create(256);
    const answersReader = RingBuffer.from(answers.sharedBuffer);
    const main = RingBuffer.create(256);
    answersReader.wakesReaderOf(RingBuffer.from(main.sharedBuffer));
    while (answers.tryWrite(1, new Uint8Array(24))) {
      // fill it
    }
    expect(answers.noticeWhenFree(128)).toBe(false);
    expect(answers.writerWaitingBytes()).toBe(128);
    // The thread parks on its main ring, which nobody writes.
    const parked = main.waitForDataAsync(60_000);
    expect(main.isReaderWaiting()).toBe(true);
    // Reading one message frees too little: the notice stays and nobody is woken.
    expect(answersReader.tryRead()).toBe(true);
    answersReader.release();
    expect(answers.writerWaitingBytes()).toBe(128);
    expect(main.isReaderWaiting()).toBe(true);
    while (answersReader.tryRead()) answersReader.release();
    expect(answers.writerWaitingBytes()).toBe(0);
    // Woken with nothing to read on its own ring: the caller looks at the other rings.
    await within(parked, { what: 'the bell to wake the parked reader' });
    expect(main.isReaderWaiting()).toBe(false);
    expect(answers.noticeWhenFree(128)).toBe(true);
    expect(answers.writerWaitingBytes()).toBe(0);
    expect(() => answers.hasFree(257)).toThrow(RangeError);
  });

  it('a publish on a ring wakes the reader parked on the ring it rings the bell of; waitForData returns at once while alsoReady holds', async () => {
    const main = RingBuffer.create(256);
    const attached = RingBuffer.create(256);
    attached.wakesReaderOf(RingBuffer.from(main.sharedBuffer));
    const attachedReader = RingBuffer.from(attached.sharedBuffer);
    const parked = main.waitForDataAsync(60_000);
    expect(main.isReaderWaiting()).toBe(true);
    expect(attached.tryWrite(7, new Uint8Array(8))).toBe(true);
    await within(parked, { what: 'the attached ring’s publish to wake the main ring’s reader' });
    expect(main.isReaderWaiting()).toBe(false);
    expect(main.waitForData(60_000, () => attachedReader.hasUnread())).toBe('ok');
    expect(attachedReader.tryRead()).toBe(true);
    expect(attachedReader.messageTag).toBe(7);
  });
});

describe('the shard message layouts over the ring', () => {
  it('round-trip APPEND requests, written by copy or encoded in place', () => {
    const ring = RingBuffer.create(1024);
    expect(tryWriteAppend(ring, 0xffffffff, 3, -1, APPEND_FLAG_CRC_VERIFIED, bytesOf('batch-bytes'))).toBe(true);
    const offset = reserveAppend(ring, 7, 0, 1, APPEND_FLAG_COORDINATOR, 64);
    ring.bytes.set(bytesOf('encoded'), offset);
    ring.commit(APPEND_TAG, APPEND_HEADER_BYTES + 7);
    const request = { requestId: 0, slot: 0, acks: 0, flags: 0, batchesOffset: 0, batchesLength: 0 };
    const seen: [number, number, number, number, string][] = [];
    while (ring.tryRead()) {
      expect(ring.messageTag).toBe(APPEND_TAG);
      readAppend(ring, request);
      expect(readRequestId(ring)).toBe(request.requestId);
      const batches = ring.bytes.subarray(request.batchesOffset, request.batchesOffset + request.batchesLength);
      seen.push([request.requestId, request.slot, request.acks, request.flags, new TextDecoder().decode(batches)]);
    }
    ring.release();
    expect(seen).toEqual([
      [0xffffffff, 3, -1, APPEND_FLAG_CRC_VERIFIED, 'batch-bytes'],
      [7, 0, 1, APPEND_FLAG_COORDINATOR, 'encoded'],
    ]);
  });

  it('round-trip APPENDED answers with any safe-integer offset', () => {
    const ring = RingBuffer.create(1024);
    const big = { baseOffset: Number.MAX_SAFE_INTEGER - 9, lastOffset: Number.MAX_SAFE_INTEGER, logAppendTimeMs: -1, logStartOffset: 2 ** 40 };
    expect(tryWriteAppended(ring, 1, big)).toBe(true);
    expect(ring.tryRead()).toBe(true);
    expect(ring.messageTag).toBe(APPENDED_TAG);
    expect(ring.messageLength).toBe(APPENDED_PAYLOAD_BYTES);
    expect(readRequestId(ring)).toBe(1);
    expect(readAppended(ring, { baseOffset: 0, lastOffset: 0, logAppendTimeMs: 0, logStartOffset: 0 })).toEqual(big);
    ring.release();
  });

  it('carry a FAILED answer whose error comes back as its own class, with its Kafka code in the header', () => {
    const ring = RingBuffer.create(4096);
    const error = new OffsetOutOfRangeError(50, 0, 10);
    expect(tryWriteJsonMessage(ring, FAILED_TAG, 42, kafkaCodeOf(error), serializeError(error))).toBe(true);
    expect(ring.tryRead()).toBe(true);
    expect(ring.messageTag).toBe(FAILED_TAG);
    expect(readRequestId(ring)).toBe(42);
    expect(ring.view.getInt32(ring.messageOffset + 4, true)).toBe(1);
    const revived = reviveError(readJsonBody<SerializedError>(ring), 'shard 0');
    ring.release();
    expect(revived).toBeInstanceOf(OffsetOutOfRangeError);
    expect(revived.message).toBe(error.message);
  });
});

describe('RingBuffer between the main thread and a worker thread', () => {
  it('moves 250,000 messages of 1 to 2,000 bytes through a 64 KiB ring and acknowledges each, in order', async () => {
    // About 4,000 trips round the ring; a loaded host may take minutes, hence the test's deadline.
    const messageCount = 250_000;
    const requests = RingBuffer.create(64 * 1024);
    const completions = RingBuffer.create(64 * 1024);
    const { exitCode } = startWorker('echo', requests, completions);

    const sentChecksums = new Uint32Array(messageCount);
    const scratch = new Uint32Array(500);
    const scratchBytes = new Uint8Array(scratch.buffer);
    let waitsForSpace = 0;
    const send = async (): Promise<void> => {
      for (let sequence = 0; sequence < messageCount; sequence++) {
        const length = fillMessage(sequence, scratch);
        const message = scratchBytes.subarray(0, length);
        sentChecksums[sequence] = crc32c(message);
        while (!tryWriteAppend(requests, sequence, sequence % 16, ACKS[sequence % 3], sequence % 4, message)) {
          waitsForSpace++;
          expect(await requests.waitForSpaceAsync(APPEND_HEADER_BYTES + length)).toBe('ok');
        }
      }
      requests.close();
    };

    let received = 0;
    let outOfOrder = 0;
    let mismatches = 0;
    let otherTags = 0;
    const receive = async (): Promise<void> => {
      const outcome: AppendOutcome = { baseOffset: 0, lastOffset: 0, logAppendTimeMs: 0, logStartOffset: 0 };
      for (;;) {
        while (completions.tryRead()) {
          if (completions.messageTag !== APPENDED_TAG) otherTags++;
          const requestId = readRequestId(completions);
          readAppended(completions, outcome);
          if (requestId !== received) outOfOrder++;
          mismatches += echoMismatches(requestId, outcome, sentChecksums[requestId]);
          received++;
        }
        completions.release();
        if ((await completions.waitForDataAsync()) === 'closed') return;
      }
    };

    await Promise.all([send(), receive()]);
    expect(received).toBe(messageCount);
    expect(outOfOrder).toBe(0);
    expect(mismatches).toBe(0);
    expect(otherTags).toBe(0);
    // The ring was full many times: the writer really waited, and the data really wrapped.
    expect(waitsForSpace).toBeGreaterThan(100);
    expect(requests.usedBytes()).toBe(0);
    expect(await exitCode).toBe(0);
  }, 240_000);

  it('loses no wake-up when both sides park all the time: 50,000 round trips through 256-byte rings', async () => {
    // Every message parks and wakes both threads: under load each wake-up waits for a core.
    const messageCount = 50_000;
    const requests = RingBuffer.create(256);
    const completions = RingBuffer.create(256);
    // The worker waits without a timeout: a missed notify on either side hangs this test.
    const { exitCode } = startWorker('echo', requests, completions, { waitTimeoutMs: Infinity });
    const scratch = new Uint32Array(500);
    const scratchBytes = new Uint8Array(scratch.buffer);
    const sentChecksums = new Uint32Array(messageCount);
    const send = async (): Promise<void> => {
      for (let sequence = 0; sequence < messageCount; sequence++) {
        const message = scratchBytes.subarray(0, 1 + (fillMessage(sequence, scratch) % 120));
        sentChecksums[sequence] = crc32c(message);
        while (!tryWriteAppend(requests, sequence, sequence % 16, ACKS[sequence % 3], sequence % 4, message)) {
          await requests.waitForSpaceAsync(APPEND_HEADER_BYTES + message.length);
        }
      }
      requests.close();
    };
    let received = 0;
    let wrong = 0;
    const receive = async (): Promise<void> => {
      const outcome: AppendOutcome = { baseOffset: 0, lastOffset: 0, logAppendTimeMs: 0, logStartOffset: 0 };
      for (;;) {
        while (completions.tryRead()) {
          const requestId = readRequestId(completions);
          readAppended(completions, outcome);
          if (requestId !== received || echoMismatches(requestId, outcome, sentChecksums[received]) !== 0) wrong++;
          received++;
        }
        completions.release();
        if ((await completions.waitForDataAsync()) === 'closed') return;
      }
    };
    await Promise.all([send(), receive()]);
    expect(received).toBe(messageCount);
    expect(wrong).toBe(0);
    expect(await exitCode).toBe(0);
  }, 240_000);

  it('makes the writer wait for room without blocking the main event loop while the worker stalls', async () => {
    const requests = RingBuffer.create(4096);
    const completions = RingBuffer.create(64 * 1024);
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const { exitCode } = startWorker('echo', requests, completions, { gate: gate.buffer });

    const batches = new Uint8Array(100).fill(1);
    let written = 0;
    while (tryWriteAppend(requests, written, written % 16, ACKS[written % 3], written % 4, batches)) written++;
    // The same APPEND, built whole for writeAsync (the layout of shard-messages.ts).
    const request = new Uint8Array(APPEND_HEADER_BYTES + batches.length);
    const header = new DataView(request.buffer);
    header.setUint32(0, written, true);
    header.setUint32(4, written % 16, true);
    header.setInt32(8, ACKS[written % 3], true);
    header.setUint32(12, written % 4, true);
    request.set(batches, APPEND_HEADER_BYTES);
    let writeSettled = false;
    const pendingWrite = requests.writeAsync(APPEND_TAG, request).then(() => {
      writeSettled = true;
    });

    // Timers keep firing on this thread while the write waits for a full ring.
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (++ticks === 5) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    expect(writeSettled).toBe(false);
    expect(requests.writerWaitingBytes()).toBeGreaterThan(0);

    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    await pendingWrite;

    const acknowledged: number[] = [];
    let mismatches = 0;
    const outcome: AppendOutcome = { baseOffset: 0, lastOffset: 0, logAppendTimeMs: 0, logStartOffset: 0 };
    const checksum = crc32c(batches);
    while (acknowledged.length < written + 1) {
      while (completions.tryRead()) {
        const requestId = readRequestId(completions);
        mismatches += echoMismatches(requestId, readAppended(completions, outcome), checksum);
        acknowledged.push(requestId);
      }
      completions.release();
      if (acknowledged.length < written + 1) expect(await completions.waitForDataAsync()).toBe('ok');
    }
    expect(acknowledged).toEqual(Array.from({ length: written + 1 }, (_, i) => i));
    expect(mismatches).toBe(0);
    requests.close();
    expect(await exitCode).toBe(0);
  });

  it('close wakes a worker blocked waiting for data, which then exits', async () => {
    const requests = RingBuffer.create(1024);
    const completions = RingBuffer.create(1024);
    const { worker, exitCode } = startWorker('wait-for-data', requests, completions);
    const report = once(worker, 'message');
    await eventually(() => requests.isReaderWaiting(), { what: 'the worker parking for data' });
    requests.close();
    expect(await report).toEqual([{ result: 'closed' }]);
    expect(await exitCode).toBe(0);
  });

  it('close wakes a worker blocked waiting for room, which then exits', async () => {
    const requests = RingBuffer.create(1024);
    const completions = RingBuffer.create(1024);
    const { worker, exitCode } = startWorker('wait-for-space', requests, completions);
    const reports: unknown[] = [];
    worker.on('message', (message) => reports.push(message));
    await eventually(() => completions.writerWaitingBytes() > 0, { what: 'the worker parking for room' });
    completions.close();
    expect(await exitCode).toBe(0);
    expect(reports).toEqual([{ filled: Math.floor(1024 / RingBuffer.frameBytes(APPENDED_PAYLOAD_BYTES)) }, { result: 'closed' }]);
  });
});
