/**
 * A follower's connection to its leader's Kafka listener: requests encoded and responses decoded
 * with the protocol's own codecs (src/protocol/api), one request in flight at a time, as Kafka's
 * ReplicaFetcherBlockingSend. A replica speaks the Kafka protocol to its leader, exactly as any
 * client: nothing crosses brokers that a Kafka broker would not send. The CLI sends the
 * controller-only admin requests kafkajs lacks (ElectLeaders) on one too.
 */
import { connect, type Socket } from 'node:net';
import { ClusterError } from '../errors.js';
import type { AnyApi, RequestInputOf, ResponseOf } from '../protocol/api/api.js';
import { decodeResponse, encodeRequest } from '../protocol/api/registry.js';
import { Writer } from '../protocol/wire/writer.js';
import { FrameSplitter } from '../server/connection.js';

/** Responses larger than this are refused: a fetch asks for far less (its maxBytes). */
const MAX_RESPONSE_BYTES = 256 << 20;

export class ReplicaClient {
  private readonly splitter = new FrameSplitter(MAX_RESPONSE_BYTES);
  private waiting: { resolve: (frame: Buffer) => void; reject: (error: Error) => void } | null = null;
  private nextCorrelationId = 1;
  private failure: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly clientId: string,
    /** Who the connection is to, for messages ("the leader", "the controller"). */
    private readonly peer: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.splitter.append(chunk);
      try {
        const frame = this.splitter.next();
        if (frame !== null) this.settle(null, frame);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new ClusterError(`the connection to ${peer} closed`)));
  }

  static connect(host: string, port: number, clientId: string, timeoutMs: number, peer = 'the leader'): Promise<ReplicaClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ClusterError(`connecting to ${peer} at ${host}:${port} took more than ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new ReplicaClient(socket, clientId, peer));
      });
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(new ClusterError(`connecting to ${peer} at ${host}:${port}: ${error.message}`));
      };
      socket.once('error', onError);
    });
  }

  /** Sends one request and resolves with its decoded response; rejects when the connection fails. */
  async send<A extends AnyApi>(api: A, apiVersion: number, body: RequestInputOf<A>): Promise<ResponseOf<A>> {
    if (this.failure !== null) throw this.failure;
    if (this.waiting !== null) throw new ClusterError(`the connection to ${this.peer} carries one request at a time`);
    const correlationId = this.nextCorrelationId++;
    const writer = new Writer();
    encodeRequest(writer, api, { apiVersion, correlationId, clientId: this.clientId }, body);
    const frame = await new Promise<Buffer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(writer.toBuffer());
    });
    const decoded = decodeResponse(frame, api, apiVersion);
    if (decoded.correlationId !== correlationId) throw new ClusterError(`${this.peer} answered correlation id ${decoded.correlationId} to request ${correlationId}`);
    return decoded.body;
  }

  close(): void {
    this.socket.destroy();
  }

  private settle(error: Error | null, frame: Buffer | null): void {
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting === null) return;
    if (error !== null) waiting.reject(error);
    else waiting.resolve(frame!);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.socket.destroy();
    this.settle(this.failure, null);
  }
}
