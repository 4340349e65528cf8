/**
 * Test support for the server tests: a real broker in a temp directory behind a real server on an
 * ephemeral loopback port, a minimal Kafka client built on Sluice's own codecs (to send exactly
 * the bytes a test needs, malformed ones included), kcat run as a child process, and a logger
 * that keeps what it is told.
 */
import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { Broker } from '../../src/broker/broker.js';
import type { BrokerOptions } from '../../src/broker/config.js';
import type { AnyApi, RequestInputOf, ResponseOf } from '../../src/protocol/api/api.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { decodeResponse, encodeRequest } from '../../src/protocol/api/registry.js';
import { Writer } from '../../src/protocol/wire/writer.js';
import type { KafkaServerOptions } from '../../src/server/config.js';
import { FrameSplitter } from '../../src/server/connection.js';
import { KafkaServer } from '../../src/server/server.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

export class CapturingLogger {
  readonly infos: string[] = [];
  readonly warns: string[] = [];

  info(message: string): void {
    this.infos.push(message);
  }

  warn(message: string): void {
    this.warns.push(message);
  }
}

export interface TestServer {
  broker: Broker;
  server: KafkaServer;
  port: number;
  bootstrap: string;
  dataDir: string;
  logger: CapturingLogger;
  /** Closes server and broker; keeps the data directory (see `remove`). */
  stop(): Promise<void>;
  /** stop() and removes the data directory. */
  close(): Promise<void>;
}

export function tempDataDir(): string {
  return makeTempDir('server');
}

export async function startServer(
  options: { broker?: Partial<BrokerOptions>; server?: KafkaServerOptions; dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDataDir();
  const logger = new CapturingLogger();
  const broker = await Broker.open({ dataDir, shards: 2, groupInitialRebalanceDelayMs: 0, logger, ...options.broker });
  const server = new KafkaServer(broker, { port: 0, logger, ...options.server });
  const { port } = await server.listen();
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await server.close();
      await broker.close();
    })();
    return stopped;
  };
  return {
    broker,
    server,
    port,
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    logger,
    stop,
    close: async () => {
      await stop();
      removeTempDir(dataDir);
    },
  };
}

/**
 * A Kafka client speaking through Sluice's codecs: requests carry increasing correlation ids and
 * responses are matched to them in order, as a Kafka client does.
 */
export class TestClient {
  private readonly socket: Socket;
  private readonly splitter = new FrameSplitter(1 << 30);
  private readonly waiting: { resolve: (frame: Buffer) => void; reject: (error: Error) => void }[] = [];
  private nextCorrelationId = 1;
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.splitter.append(chunk);
      for (let frame = this.splitter.next(); frame !== null; frame = this.splitter.next()) this.waiting.shift()?.resolve(frame);
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true;
        for (const waiter of this.waiting.splice(0)) waiter.reject(new Error('connection closed'));
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<TestClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new TestClient(socket);
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** The frame of a request, with its size prefix. */
  frame<A extends AnyApi>(api: A, apiVersion: number, body: RequestInputOf<A>, correlationId = this.nextCorrelationId++): Buffer {
    const writer = new Writer();
    encodeRequest(writer, api, { apiVersion, correlationId, clientId: 'sluice-test' }, body);
    return Buffer.from(writer.toBuffer());
  }

  /** Sends a request and decodes its response. */
  async send<A extends AnyApi>(api: A, apiVersion: number, body: RequestInputOf<A>): Promise<ResponseOf<A>> {
    const correlationId = this.nextCorrelationId++;
    const response = this.sendRaw(this.frame(api, apiVersion, body, correlationId));
    const decoded = decodeResponse(await response, api, apiVersion);
    if (decoded.correlationId !== correlationId) throw new Error(`correlation id ${decoded.correlationId}, expected ${correlationId}`);
    return decoded.body;
  }

  /** Sends bytes as they are; resolves with the next response frame (without its size prefix). */
  sendRaw(bytes: Buffer): Promise<Buffer> {
    const response = this.expectResponse();
    this.socket.write(bytes);
    return response;
  }

  /** Sends bytes for which no response is expected (acks 0, or a request that closes the connection). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  expectResponse(): Promise<Buffer> {
    if (this.ended) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  close(): void {
    this.socket.destroy();
  }

  /** Stops reading the socket, as a client that never reads its responses: the server's writes back up. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}

export interface KcatResult {
  stdout: string;
  stderr: string;
}

/** Runs kcat with arguments (never a shell), optional stdin, and a timeout. */
export function kcat(args: string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<KcatResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'kcat',
      args,
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`kcat ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
    // A child that exits without reading its input (kcat -L never does; a failed child neither) closes the
    // pipe: the exit status and output above decide the result, not an EPIPE on the write.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
  });
}

export { eventually } from '../support/eventually.js';

/**
 * A client that never reads its socket pipelines `count` Fetch requests asking for 2 GiB from
 * offset 0 of `topic` partition 0: what the server's memory bounds must withstand.
 */
export function pipelineUnreadFetches(client: TestClient, topic: string, count: number): void {
  client.pause();
  for (let i = 0; i < count; i++) {
    void client
      .sendRaw(
        client.frame(Fetch, 11, {
          maxWaitMs: 0,
          minBytes: 1,
          maxBytes: 0x7fff_ffff,
          isolationLevel: 0,
          topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 0x7fff_ffff }] }],
        }),
      )
      .catch(() => undefined);
  }
}
