/**
 * One client connection: cuts the byte stream into request frames, runs each through its API's
 * handler, and writes the responses back in request order, as Kafka guarantees.
 *
 * Ordering and concurrency follow Kafka, which mutes a connection while a request is being
 * handled: a request starts once every earlier request on the connection has been answered. The
 * one exception is a run of Produce requests (librdkafka pipelines them): each may start while
 * earlier Produce requests are still being appended, because their appends reach each
 * partition's shard in arrival order, so the log order is the request order either way.
 * Responses are held until every earlier one has been written.
 *
 * Limits, so no client can grow the broker's memory without bound:
 *  - a size prefix below 0 or above socketRequestMaxBytes closes the connection before anything
 *    is allocated for the frame;
 *  - at most maxInFlightRequestsPerConnection requests are held unanswered; past that, reading
 *    pauses once 64 KiB more are buffered, and it pauses while the socket holds more unwritten
 *    output than its high-water mark (the peer is not reading);
 *  - once maxQueuedResponseBytesPerConnection bytes of responses are encoded and not yet handed
 *    to the kernel, no further request starts and the connection is not read until the peer
 *    drains them (Kafka mutes such a channel), so a client that asks for large responses and
 *    never reads them holds one response and that many bytes, not one response per request;
 *  - every request's bytes are reserved in the server's MemoryBudget (queuedMaxBytes) when its
 *    size prefix arrives, and responses are counted in it until written: while it is exhausted,
 *    no connection reads a new request, and a connection with a response still unwritten starts
 *    no other request;
 *  - a request whose first byte arrived must be whole within requestReceiveTimeoutMs, while the
 *    connection is being read, or the connection is closed (a client trickling bytes);
 *  - a connection with no traffic for idleTimeoutMs is closed.
 * Frames are slices of the socket's chunks when they fit in one chunk; a frame spread over
 * several chunks is copied once, when its last byte arrives. Frame buffers are never reused, so a
 * produce payload queued behind a full shard ring stays intact.
 *
 * Malformed frames, unknown APIs, versions outside the served range and requests refused before
 * SASL authentication close the connection with a log line, as Kafka does; an ApiVersions
 * request of an unknown version gets a v0 answer with UNSUPPORTED_VERSION instead (KIP-511).
 */
import type { Socket } from 'node:net';
import type { BrokerApi } from '../broker/broker-api.js';
import { ProtocolError, UnsupportedVersionError } from '../errors.js';
import type { AnyApi } from '../protocol/api/api.js';
import { ApiVersions } from '../protocol/api/api-versions.js';
import { ErrorCode } from '../protocol/api/error-codes.js';
import { decodeRequest, encodeResponse } from '../protocol/api/registry.js';
import { Writer } from '../protocol/wire/writer.js';
import type { ServerConfig } from './config.js';
import type { MemoryBudget } from './memory-budget.js';
import { CloseConnection, errorCodeOf, type AnyHandler, type RequestContext, type ServerInfo } from './handlers/handler.js';
import type { CredentialStore } from './sasl/credentials.js';
import { SaslSession } from './sasl/session.js';

const PRODUCE_API_KEY = 0;
const SASL_HANDSHAKE_API_KEY = 17;
const SASL_AUTHENTICATE_API_KEY = 36;
const SIZE_PREFIX_BYTES = 4;
/** Writers kept for reuse per connection; more are dropped when their output has been flushed. */
const MAX_IDLE_WRITERS = 4;
const NOT_PEEKED = -1;
/** Raw bytes read beyond the in-flight limit before reading pauses. */
const READ_AHEAD_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/**
 * On a TLS connection, a response chunk at least this large (segment bytes of a Fetch) is handed to
 * TLS alone: Node copies the buffers of a vectored TLS write into one before encrypting, so a large
 * chunk written beside others would be copied once more for nothing.
 */
const TLS_UNCOPIED_MIN_BYTES = 64 * 1024;

/** A response chunk waiting for its turn on a TLS connection; the last of a response carries its writer. */
interface TlsChunk {
  readonly chunk: Buffer;
  readonly writer: Writer | null;
  readonly bytes: number;
}

/**
 * Cuts a byte stream into size-prefixed frames. Frames are pulled one at a time, so the caller
 * decides how many it takes (the in-flight limit) and the rest stay as received bytes.
 */
export class FrameSplitter {
  private readonly maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole frame without its size prefix, or null until more bytes arrive. Throws ProtocolError on a bad size. */
  next(): Buffer | null {
    const frameBytes = this.nextFrameBytes();
    if (frameBytes === null || this.buffered < frameBytes) return null;
    this.take(SIZE_PREFIX_BYTES);
    return this.take(frameBytes - SIZE_PREFIX_BYTES);
  }

  /**
   * The next frame's whole size, its size prefix included, once the prefix has arrived (else
   * null). Throws ProtocolError on a bad size.
   */
  nextFrameBytes(): number | null {
    if (this.buffered < SIZE_PREFIX_BYTES) return null;
    const size = this.peekSize();
    if (size < 0 || size > this.maxFrameBytes) {
      throw new ProtocolError(
        0,
        `a request size from 0 to ${this.maxFrameBytes} bytes (socketRequestMaxBytes)`,
        `the size prefix says ${size}`,
      );
    }
    return SIZE_PREFIX_BYTES + size;
  }

  /** Drops everything buffered (the connection is closing). */
  clear(): void {
    this.chunks = [];
    this.buffered = 0;
  }

  private peekSize(): number {
    const first = this.chunks[0];
    if (first.length >= SIZE_PREFIX_BYTES) return first.readInt32BE(0);
    const prefix = Buffer.allocUnsafe(SIZE_PREFIX_BYTES);
    let filled = 0;
    for (let i = 0; filled < SIZE_PREFIX_BYTES; i++) filled += this.chunks[i].copy(prefix, filled, 0, SIZE_PREFIX_BYTES - filled);
    return prefix.readInt32BE(0);
  }

  /** Removes `bytes` from the front: a slice of the first chunk when it holds them all, else one copy. */
  private take(bytes: number): Buffer {
    if (bytes === 0) return EMPTY;
    this.buffered -= bytes;
    const first = this.chunks[0];
    if (first.length >= bytes) {
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
      return first.subarray(0, bytes);
    }
    const frame = Buffer.allocUnsafe(bytes);
    let filled = 0;
    let used = 0;
    while (filled < bytes) {
      const chunk = this.chunks[used];
      const n = Math.min(chunk.length, bytes - filled);
      chunk.copy(frame, filled, 0, n);
      filled += n;
      if (n === chunk.length) used++;
      else this.chunks[used] = chunk.subarray(n);
    }
    this.chunks.splice(0, used);
    return frame;
  }
}

export interface ConnectionDeps {
  readonly broker: BrokerApi;
  readonly server: ServerInfo;
  readonly config: ServerConfig;
  /** Handlers by API key. */
  readonly handlers: readonly (AnyHandler | undefined)[];
  /** Credentials when the connection's listener requires SASL, else null. */
  readonly credentials: CredentialStore | null;
  /** The principal before any SASL authentication: the TLS client certificate's, else User:ANONYMOUS. */
  readonly principal: string;
  /** The server's bound on request and response bytes held across connections. */
  readonly budget: MemoryBudget;
}

interface Entry {
  readonly frame: Buffer;
  /** The api key read from the frame before decoding, to schedule it; NOT_PEEKED if too short. */
  readonly apiKey: number;
  /** Bytes reserved in the MemoryBudget for the frame; released once the request is answered. */
  heldBytes: number;
  state: 'queued' | 'running' | 'done';
  /** The encoded response, or null when none is sent. */
  response: Writer | null;
  closeAfter: boolean;
  /** performance.now() when the whole frame was read, and when its handler started (requestObserver). */
  readAtMs: number;
  startedAtMs: number;
}

export class Connection {
  /** Resolves once the socket is closed and every buffer of the connection released. */
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private readonly deps: ConnectionDeps;
  private readonly splitter: FrameSplitter;
  private readonly queue: Entry[] = [];
  private readonly abort = new AbortController();
  private readonly sasl: SaslSession | null;
  private readonly clientHost: string;
  private readonly idleWriters: Writer[] = [];
  private running = 0;
  private runningNonProduce = 0;
  private readingPaused = false;
  private starting = false;
  private writeBlocked = false;
  private ending = false;
  private isClosed = false;
  /** Bytes reserved in the budget for the frame being received, 0 before its size prefix is admitted. */
  private reservedFrameBytes = 0;
  /** The budget refused the next frame: not read until it wakes this connection. */
  private waitingForMemory = false;
  /** Encoded responses not yet handed to the kernel (queued in order, or in the socket's buffer). */
  private queuedResponseBytes = 0;
  /** Armed while a partly received request is awaited from the peer (requestReceiveTimeoutMs). */
  private receiveTimer: NodeJS.Timeout | null = null;
  private readonly wake = (): void => this.takeFrames();
  /** Response chunks not yet given to a TLS socket (see TLS_UNCOPIED_MIN_BYTES); null on plaintext. */
  private readonly tlsChunks: TlsChunk[] | null;
  /** Writes given to the TLS socket whose callbacks have not run. */
  private tlsWritesInFlight = 0;
  /** The connection ends once the TLS chunks still queued are written. */
  private endAfterTlsChunks = false;

  constructor(socket: Socket, deps: ConnectionDeps) {
    this.socket = socket;
    this.deps = deps;
    this.splitter = new FrameSplitter(deps.config.socketRequestMaxBytes);
    this.sasl = deps.config.sasl === null || deps.credentials === null ? null : new SaslSession(deps.config.sasl.mechanisms, deps.credentials);
    this.clientHost = `/${socket.remoteAddress ?? 'unknown'}`;
    this.tlsChunks = (socket as Socket & { encrypted?: boolean }).encrypted === true ? [] : null;
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.release();
      resolve();
    }));
    socket.setNoDelay(true);
    socket.setTimeout(deps.config.idleTimeoutMs);
    socket.on('timeout', () => this.onIdle());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.updateReading();
    });
    // Like Kafka, a peer that stops sending is gone: nothing more is answered.
    socket.on('end', () => this.socket.destroy());
    socket.on('error', (error) => this.log('info', `connection error: ${error.message}`));
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.queue.length;
  }

  /** Bytes received but not yet cut into requests (held back by the in-flight limit, or a partial frame). */
  get bufferedBytes(): number {
    return this.splitter.bufferedBytes;
  }

  /** Bytes of encoded responses not yet handed to the kernel. */
  get responseBytes(): number {
    return this.queuedResponseBytes;
  }

  /**
   * Stops reading, ends long waits (a waiting Fetch answers with what it has), lets the requests
   * already received be answered, then ends the connection.
   */
  shutdown(): Promise<void> {
    this.stopReading();
    this.abort.abort();
    return this.closed;
  }

  /** Closes at once, dropping whatever is unanswered. */
  destroy(): void {
    this.socket.destroy();
  }

  // ---- Reading ----

  private onData(chunk: Buffer): void {
    if (this.isClosed || this.ending) return;
    this.splitter.append(chunk);
    this.takeFrames();
  }

  /**
   * Queues frames while the in-flight limit and the memory budget allow, then starts what may
   * start. A frame's bytes are reserved once its size prefix is in, before the rest is read.
   */
  private takeFrames(): void {
    const max = this.deps.config.maxInFlightRequestsPerConnection;
    this.waitingForMemory = false;
    try {
      while (this.queue.length < max && !this.ending && !this.isClosed) {
        if (this.reservedFrameBytes === 0) {
          const frameBytes = this.splitter.nextFrameBytes();
          if (frameBytes === null) break;
          if (!this.deps.budget.tryReserve(frameBytes, this.wake)) {
            this.waitingForMemory = true;
            break;
          }
          this.reservedFrameBytes = frameBytes;
        }
        const frame = this.splitter.next();
        if (frame === null) break;
        this.queue.push({
          frame,
          apiKey: frame.length >= 2 ? frame.readInt16BE(0) : NOT_PEEKED,
          heldBytes: this.reservedFrameBytes,
          state: 'queued',
          response: null,
          closeAfter: false,
          readAtMs: this.deps.config.requestObserver === null ? 0 : performance.now(),
          startedAtMs: 0,
        });
        this.reservedFrameBytes = 0;
        // The next frame, if it has begun, gets a deadline of its own.
        this.clearReceiveTimer();
      }
    } catch (error) {
      this.closeForProtocolError(error);
      return;
    }
    this.startQueued();
    this.updateReading();
  }

  private updateReading(): void {
    // Once ended, the socket is read only to see the peer's end (endSocket).
    if (this.isClosed || this.socket.writableEnded) return;
    // At the in-flight limit, a little more is read ahead (kept as raw bytes), so the end of a
    // peer that stopped sending is still seen and its connection released.
    const full =
      this.queue.length >= this.deps.config.maxInFlightRequestsPerConnection && this.splitter.bufferedBytes >= READ_AHEAD_BYTES;
    const pause = this.ending || this.writeBlocked || full || this.waitingForMemory || this.responsesBacklogged();
    if (pause && !this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
    } else if (!pause && this.readingPaused) {
      this.readingPaused = false;
      this.socket.resume();
    }
    // Bytes of an unfinished request while the connection is read: the peer owes the rest. A
    // pause is the server's doing, so it stops the clock (it restarts when reading resumes).
    const awaitingPeer =
      !this.readingPaused && this.splitter.bufferedBytes > 0 && this.queue.length < this.deps.config.maxInFlightRequestsPerConnection;
    if (awaitingPeer && this.receiveTimer === null) {
      this.receiveTimer = setTimeout(() => this.onReceiveTimeout(), this.deps.config.requestReceiveTimeoutMs);
      this.receiveTimer.unref();
    } else if (!awaitingPeer) {
      this.clearReceiveTimer();
    }
  }

  /**
   * No further request starts while this connection's unwritten responses reach their bound, or
   * while the server's budget is exhausted and this connection still has a response unwritten.
   */
  private responsesBacklogged(): boolean {
    return (
      this.queuedResponseBytes >= this.deps.config.maxQueuedResponseBytesPerConnection ||
      (this.queuedResponseBytes > 0 && this.deps.budget.exhausted)
    );
  }

  private onReceiveTimeout(): void {
    this.receiveTimer = null;
    const expected = this.reservedFrameBytes > 0 ? ` of ${this.reservedFrameBytes}` : '';
    this.closeWithLog(
      'warn',
      `a request was not received whole within ${this.deps.config.requestReceiveTimeoutMs} ms (requestReceiveTimeoutMs): ` +
        `${this.splitter.bufferedBytes}${expected} bytes arrived`,
    );
  }

  private clearReceiveTimer(): void {
    if (this.receiveTimer === null) return;
    clearTimeout(this.receiveTimer);
    this.receiveTimer = null;
  }

  /**
   * No bytes in either direction for idleTimeoutMs: closed, as Kafka's connections.max.idle.ms
   * closes a channel whatever it has in flight. This also bounds how long a connection whose peer
   * vanished can hold its requests (a paused socket does not see the peer's end).
   */
  private onIdle(): void {
    this.log('info', `closing connection idle for ${this.deps.config.idleTimeoutMs} ms (idleTimeoutMs)`);
    this.socket.destroy();
  }

  /** The server is shutting down: answer what is running, drop what has not started, then end. */
  private stopReading(): void {
    if (this.ending || this.isClosed) return;
    this.ending = true;
    this.splitter.clear();
    this.deps.budget.release(this.reservedFrameBytes);
    this.reservedFrameBytes = 0;
    for (let i = this.queue.length - 1; i >= 0 && this.queue[i].state === 'queued'; i--) this.deps.budget.release(this.queue.pop()!.heldBytes);
    this.updateReading();
    if (this.queue.length === 0) this.end();
  }

  // ---- Running requests ----

  /**
   * Starts queued requests in order, as far as the ordering rule allows. Handlers that answer at
   * once re-enter through finish(); the outer call's loop picks their effects up, so the scan
   * always restarts from the oldest queued request.
   */
  private startQueued(): void {
    if (this.starting) return;
    this.starting = true;
    try {
      while (!this.isClosed) {
        const entry = this.queue.find((queued) => queued.state === 'queued');
        if (entry === undefined || this.responsesBacklogged()) return;
        const produce = entry.apiKey === PRODUCE_API_KEY && this.sasl?.expectsRawToken !== true;
        if (this.running > 0 && !(produce && this.runningNonProduce === 0)) return;
        entry.state = 'running';
        this.running++;
        if (!produce) this.runningNonProduce++;
        this.run(entry, produce);
      }
    } finally {
      this.starting = false;
    }
  }

  private run(entry: Entry, produce: boolean): void {
    if (this.deps.config.requestObserver !== null) entry.startedAtMs = performance.now();
    let outcome: { api: AnyApi; version: number; correlationId: number; result: unknown } | null;
    try {
      outcome = this.dispatch(entry);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (outcome === null) return;
    const { api, version, correlationId, result } = outcome;
    if (isPromise(result)) {
      result.then(
        (body) => this.complete(entry, produce, api, version, correlationId, body),
        (error: unknown) => this.fail(error),
      );
    } else {
      this.complete(entry, produce, api, version, correlationId, result);
    }
  }

  /**
   * Decodes the frame and calls its handler. Returns null when the entry was answered here (a raw
   * SASL token, an ApiVersions of an unknown version).
   */
  private dispatch(entry: Entry): { api: AnyApi; version: number; correlationId: number; result: unknown } | null {
    if (this.sasl?.expectsRawToken) {
      this.answerRawSaslToken(entry);
      return null;
    }
    let request;
    try {
      request = decodeRequest(entry.frame);
    } catch (error) {
      if (error instanceof UnsupportedVersionError && error.apiKey === ApiVersions.apiKey && error.correlationId !== undefined) {
        this.answerUnsupportedApiVersions(entry, error.correlationId);
        return null;
      }
      throw error;
    }
    const { apiKey, apiVersion, correlationId, clientId, body } = request;
    const handler = this.deps.handlers[apiKey];
    if (handler === undefined || apiVersion > (handler.maxVersion ?? handler.api.maxVersion)) {
      throw new UnsupportedVersionError({
        apiKey,
        apiVersion,
        apiName: handler?.api.name,
        minVersion: handler?.api.minVersion,
        maxVersion: handler === undefined ? undefined : (handler.maxVersion ?? handler.api.maxVersion),
        correlationId,
      });
    }
    if (
      this.sasl !== null &&
      !this.sasl.authenticated &&
      apiKey !== ApiVersions.apiKey &&
      apiKey !== SASL_HANDSHAKE_API_KEY &&
      apiKey !== SASL_AUTHENTICATE_API_KEY
    ) {
      throw new CloseConnection(
        `${handler.api.name} before SASL authentication; only ApiVersions, SaslHandshake and SaslAuthenticate are served until the client authenticates`,
      );
    }
    const ctx: RequestContext = {
      broker: this.deps.broker,
      server: this.deps.server,
      apiVersion,
      clientId,
      clientHost: this.clientHost,
      signal: this.abort.signal,
      sasl: this.sasl,
      principal: this.sasl?.principal ?? this.deps.principal,
      errorCode: (error) => this.errorCode(error, handler.api.name),
      closeAfterResponse: () => {
        entry.closeAfter = true;
      },
    };
    return { api: handler.api, version: apiVersion, correlationId, result: handler.handle(ctx, body as never) };
  }

  private complete(entry: Entry, produce: boolean, api: AnyApi, version: number, correlationId: number, body: unknown): void {
    if (this.isClosed) return;
    if (body !== null) {
      const writer = this.takeWriter();
      try {
        encodeResponse(writer, api, version, correlationId, body as never);
      } catch (error) {
        this.fail(error);
        return;
      }
      this.setResponse(entry, writer);
    }
    const observer = this.deps.config.requestObserver;
    if (observer !== null) observer.requestCompleted(api.name, entry.startedAtMs - entry.readAtMs, performance.now() - entry.readAtMs);
    this.finish(entry, produce);
  }

  /** The response is counted against both bounds until the socket has taken it (see write). */
  private setResponse(entry: Entry, writer: Writer): void {
    entry.response = writer;
    this.queuedResponseBytes += writer.length;
    this.deps.budget.add(writer.length);
  }

  private finish(entry: Entry, produce: boolean): void {
    entry.state = 'done';
    // The request's bytes are no longer needed: its response (if any) is what is held now.
    this.deps.budget.release(entry.heldBytes);
    entry.heldBytes = 0;
    this.running--;
    if (!produce) this.runningNonProduce--;
    this.flush();
    if (this.isClosed) return;
    this.takeFrames();
  }

  private answerUnsupportedApiVersions(entry: Entry, correlationId: number): void {
    const writer = this.takeWriter();
    encodeResponse(writer, ApiVersions, 0, correlationId, {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: [{ apiKey: ApiVersions.apiKey, minVersion: ApiVersions.minVersion, maxVersion: ApiVersions.maxVersion }],
    });
    this.setResponse(entry, writer);
    this.finish(entry, false);
  }

  /** After a v0 SaslHandshake: the frame is a bare token, answered by a bare size-prefixed token. */
  private answerRawSaslToken(entry: Entry): void {
    const outcome = this.sasl!.authenticate(entry.frame);
    if (outcome.close) {
      this.closeWithLog('warn', `SASL authentication failed: ${outcome.errorMessage ?? 'error ' + outcome.errorCode}`);
      return;
    }
    const writer = this.takeWriter();
    writer.int32(outcome.token.length).raw(outcome.token);
    this.setResponse(entry, writer);
    this.finish(entry, false);
  }

  // ---- Writing ----

  /**
   * Writes every answered request at the head of the queue, in order: in one vectored write on
   * plaintext, through pumpTls on TLS.
   */
  private flush(): void {
    if (this.queue.length === 0 || this.queue[0].state !== 'done') return;
    // Corked TLS writes are vectored, which copies (see TLS_UNCOPIED_MIN_BYTES); TLS chunks are paced by pumpTls instead.
    if (this.tlsChunks === null) this.socket.cork();
    let closeAfter = false;
    while (this.queue.length > 0 && this.queue[0].state === 'done') {
      const entry = this.queue.shift()!;
      if (entry.response !== null) this.write(entry.response);
      if (entry.closeAfter) {
        closeAfter = true;
        break;
      }
    }
    if (this.tlsChunks === null) this.socket.uncork();
    if (closeAfter) {
      this.log('warn', 'closing connection after reporting a SASL failure');
      // A dropped request still running releases nothing more when it finishes.
      for (const dropped of this.queue) {
        this.deps.budget.release(dropped.heldBytes);
        dropped.heldBytes = 0;
      }
      this.queue.length = 0;
      this.ending = true;
      this.end();
    } else if (this.ending && this.queue.length === 0) {
      this.end();
    }
  }

  /** Ends the socket once everything answered has been handed to it. */
  private end(): void {
    if (this.tlsChunks !== null && this.tlsChunks.length > 0) this.endAfterTlsChunks = true;
    else this.endSocket();
  }

  /**
   * Ends the write side, then reads again (onData drops what arrives while ending): a paused
   * socket never reports the peer's end, so the connection would stay half open until the
   * server's closeTimeoutMs dropped it, although the peer closes as soon as it sees ours.
   */
  private endSocket(): void {
    this.socket.end();
    this.readingPaused = false;
    this.socket.resume();
  }

  private write(writer: Writer): void {
    const chunks = writer.chunks();
    if (this.tlsChunks !== null) {
      for (let i = 0; i < chunks.length - 1; i++) this.tlsChunks.push({ chunk: chunks[i], writer: null, bytes: 0 });
      this.tlsChunks.push({ chunk: chunks[chunks.length - 1], writer, bytes: writer.length });
      this.pumpTls();
      return;
    }
    let writable = true;
    for (let i = 0; i < chunks.length - 1; i++) writable = this.socket.write(chunks[i]);
    // The chunks are views of the writer's memory: it is reused only once the socket is done with them.
    const bytes = writer.length;
    writable = this.socket.write(chunks[chunks.length - 1], () => this.written(writer, bytes));
    if (!writable) {
      this.writeBlocked = true;
      this.updateReading();
    }
  }

  /**
   * Hands queued chunks to the TLS socket in order. A large chunk waits until every earlier write
   * has completed, so the socket passes it to TLS on its own (encrypted from its own memory);
   * small chunks go at once and may be gathered into one write.
   */
  private pumpTls(): void {
    const pending = this.tlsChunks!;
    while (pending.length > 0 && !this.isClosed) {
      if (pending[0].chunk.length >= TLS_UNCOPIED_MIN_BYTES && this.tlsWritesInFlight > 0) return;
      const { chunk, writer, bytes } = pending.shift()!;
      this.tlsWritesInFlight++;
      const writable = this.socket.write(chunk, () => {
        this.tlsWritesInFlight--;
        if (writer !== null) this.written(writer, bytes);
        if (this.isClosed) return;
        this.pumpTls();
        if (this.endAfterTlsChunks && pending.length === 0) this.endSocket();
      });
      if (!writable) {
        this.writeBlocked = true;
        this.updateReading();
      }
    }
  }

  private takeWriter(): Writer {
    return this.idleWriters.pop() ?? new Writer();
  }

  /** A response reached the kernel: its bytes leave both bounds, and what they held back may go on. */
  private written(writer: Writer, bytes: number): void {
    writer.reset();
    if (this.isClosed) return;
    if (this.idleWriters.length < MAX_IDLE_WRITERS) this.idleWriters.push(writer);
    this.queuedResponseBytes -= bytes;
    this.deps.budget.release(bytes);
    this.takeFrames();
  }

  // ---- Failures and closing ----

  private errorCode(error: unknown, apiName: string): number {
    const code = errorCodeOf(error);
    if (code === ErrorCode.UNKNOWN_SERVER_ERROR) {
      this.log('warn', `${apiName} failed unexpectedly: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    return code;
  }

  /** A handler threw instead of answering: the connection cannot stay in order, so it closes. */
  private fail(error: unknown): void {
    if (this.isClosed) return;
    if (error instanceof CloseConnection) {
      this.closeWithLog('info', error.message);
    } else if (error instanceof ProtocolError || error instanceof UnsupportedVersionError) {
      this.closeForProtocolError(error);
    } else {
      this.closeWithLog('warn', `request failed unexpectedly: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }

  private closeForProtocolError(error: unknown): void {
    this.closeWithLog('warn', error instanceof Error ? error.message : String(error));
  }

  private closeWithLog(level: 'info' | 'warn', reason: string): void {
    if (this.isClosed) return;
    this.log(level, `closing connection: ${reason}`);
    this.release();
    this.socket.destroy();
  }

  /** Drops every buffer the connection holds and ends pending waits. Idempotent. */
  private release(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.abort.abort();
    this.clearReceiveTimer();
    this.splitter.clear();
    const budget = this.deps.budget;
    budget.forget(this.wake);
    // Whatever is still counted, written or not: write callbacks after this point release nothing.
    let held = this.reservedFrameBytes + this.queuedResponseBytes;
    for (const entry of this.queue) held += entry.heldBytes;
    this.reservedFrameBytes = 0;
    this.queuedResponseBytes = 0;
    this.queue.length = 0;
    this.idleWriters.length = 0;
    // Chunks not yet given to the socket are counted in queuedResponseBytes, released above.
    if (this.tlsChunks !== null) this.tlsChunks.length = 0;
    budget.release(held);
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.deps.config.logger[level](`client ${this.clientHost}:${this.socket.remotePort ?? '?'}: ${message}`);
  }
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | null)?.then === 'function';
}
