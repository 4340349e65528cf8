/**
 * The bytes of requests and responses the server holds across all its connections, bounded by
 * queuedMaxBytes as Kafka's queued.max.request.bytes bounds its request memory pool.
 *
 * A connection reserves a request's whole size when the request's size prefix arrives, before
 * reading the rest, and may do so only while the total is below the bound. As with Kafka's
 * non-strict pool, the reservation that crosses the bound is granted whole, so a request of any
 * size the server accepts is admitted eventually and the total exceeds the bound by less than one
 * request. A refused connection stops reading and is woken when bytes are released. Responses
 * are counted when encoded (their requests were admitted already; refusing them would only hold
 * the request bytes longer) and released once handed to the socket.
 */
import type { ServerLogger } from './config.js';

export class MemoryBudget {
  readonly maxBytes: number;
  private readonly logger: ServerLogger;
  private used = 0;
  private readonly waiters = new Set<() => void>();
  private exhaustedLogged = false;

  constructor(maxBytes: number, logger: ServerLogger) {
    this.maxBytes = maxBytes;
    this.logger = logger;
  }

  /** Bytes held now. */
  get usedBytes(): number {
    return this.used;
  }

  /** At or past the bound: nothing more is admitted until bytes are released. */
  get exhausted(): boolean {
    return this.used >= this.maxBytes;
  }

  /**
   * Reserves `bytes` for a request while the bound is not reached; otherwise returns false and
   * calls `wake` once bytes are released (the caller then tries again).
   */
  tryReserve(bytes: number, wake: () => void): boolean {
    if (this.used >= this.maxBytes) {
      this.waiters.add(wake);
      return false;
    }
    this.add(bytes);
    return true;
  }

  /** Counts bytes that are held whatever the bound (an encoded response). */
  add(bytes: number): void {
    this.used += bytes;
    if (this.used >= this.maxBytes && !this.exhaustedLogged) {
      this.exhaustedLogged = true;
      this.logger.warn(
        `queuedMaxBytes reached: ${this.used} bytes of requests and responses are held (bound ${this.maxBytes}); ` +
          'no connection reads a new request, and none with a response unwritten starts another, until responses are written',
      );
    }
  }

  release(bytes: number): void {
    if (bytes === 0) return;
    this.used -= bytes;
    if (this.used >= this.maxBytes) return;
    if (this.exhaustedLogged) {
      this.exhaustedLogged = false;
      this.logger.info(`queuedMaxBytes: ${this.used} bytes held, below the bound again; connections read again`);
    }
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** A connection that closes stops waiting. */
  forget(wake: () => void): void {
    this.waiters.delete(wake);
  }
}
