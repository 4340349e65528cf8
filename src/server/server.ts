/**
 * The Kafka protocol server: a TCP listener in front of a BrokerApi, so Kafka clients (librdkafka
 * and kcat, kafkajs) produce, consume and manage topics and groups as they would against one
 * Apache Kafka broker. This module owns the listener and the set of
 * connections; each connection (./connection.ts) owns its framing, limits and response order,
 * and one handler per API (./handlers/) maps requests onto the broker.
 *
 * The server is a single-node cluster: Metadata names this node as the leader of every
 * partition and FindCoordinator names it as every group's coordinator.
 */
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { AclAuthorizer } from '../broker/acl/acl-authorizer.js';
import type { BrokerApi } from '../broker/broker-api.js';
import { ClosedError, InvalidConfigError } from '../errors.js';
import { supportedApiVersions, type ApiVersionRange } from '../protocol/api/registry.js';
import { CONSUMER_OFFSETS_TOPIC } from '../broker/offset-store.js';
import { resolveServerConfig, type KafkaServerOptions, type ServerConfig } from './config.js';
import { Connection } from './connection.js';
import { FetchSessionCache } from './fetch-session-cache.js';
import { MemoryBudget } from './memory-budget.js';
import type { AnyHandler, ServerInfo } from './handlers/handler.js';
import { HANDLERS } from './handlers/index.js';
import { loadCredentials, type CredentialStore } from './sasl/credentials.js';

export interface ListeningAddress {
  host: string;
  port: number;
}

type State = 'new' | 'listening' | 'closing' | 'closed';

export class KafkaServer {
  readonly config: ServerConfig;
  private readonly broker: BrokerApi;
  private readonly handlers: (AnyHandler | undefined)[] = [];
  private readonly credentials: CredentialStore | null;
  private readonly connections = new Set<Connection>();
  /** Open connections per remote IP address (connectionsMaxPerIp). */
  private readonly connectionsPerIp = new Map<string, number>();
  private readonly budget: MemoryBudget;
  private readonly fetchSessions: FetchSessionCache;
  private server: Server | null = null;
  private info: ServerInfo | null = null;
  private state: State = 'new';
  private closing: Promise<void> | null = null;

  constructor(broker: BrokerApi, options: KafkaServerOptions = {}) {
    if (broker === null || typeof broker !== 'object' || typeof broker.produce !== 'function') {
      throw new InvalidConfigError('KafkaServer needs a broker (a BrokerApi such as the one Broker.open returns)');
    }
    this.broker = broker;
    this.config = resolveServerConfig(options);
    this.budget = new MemoryBudget(this.config.queuedMaxBytes, this.config.logger);
    this.fetchSessions = new FetchSessionCache(this.config);
    for (const handler of HANDLERS) this.handlers[handler.api.apiKey] = handler;
    this.credentials = this.config.sasl === null ? null : loadCredentials(this.config.sasl.credentialsFile);
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Per open connection: requests unanswered, bytes received but not yet read as requests, and
   * bytes of responses not yet handed to the kernel.
   */
  connectionStats(): { inFlight: number; bufferedBytes: number; responseBytes: number }[] {
    return [...this.connections].map((connection) => ({
      inFlight: connection.inFlight,
      bufferedBytes: connection.bufferedBytes,
      responseBytes: connection.responseBytes,
    }));
  }

  /** Fetch sessions held and their partitions (Kafka's NumIncrementalFetchSessions and NumIncrementalFetchPartitionsCached). */
  fetchSessionStats(): { sessions: number; partitions: number } {
    return { sessions: this.fetchSessions.size, partitions: this.fetchSessions.totalPartitions };
  }

  /** Request and response bytes held across all connections, the figure queuedMaxBytes bounds. */
  get queuedBytes(): number {
    return this.budget.usedBytes;
  }

  /** The bound address once listening. */
  get address(): ListeningAddress | null {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? { host: address.address, port: address.port } : null;
  }

  /** Binds and starts accepting connections; resolves with the bound address (the real port when port was 0). */
  async listen(): Promise<ListeningAddress> {
    if (this.state !== 'new') throw new ClosedError(`KafkaServer (it is ${this.state}; create a new one to listen again)`);
    this.state = 'listening';
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    this.server = server;
    server.on('connection', (socket) => this.accept(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.config.port, this.config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      // Nothing is bound (EADDRINUSE, EACCES...): this server is done; the error says why.
      this.server = null;
      this.state = 'closed';
      throw error;
    }
    server.on('error', (error) => this.config.logger.warn(`Kafka listener error: ${error.message}`));
    const { port } = server.address() as AddressInfo;
    this.info = {
      config: this.config,
      nodeId: this.config.nodeId,
      host: this.config.advertisedHost,
      port,
      clusterId: this.config.clusterId ?? deriveClusterId(this.broker),
      apiVersions: advertisedApiVersions(this.handlers),
      fetchSessions: this.fetchSessions,
      authorizer: this.config.authorizer === null ? null : new AclAuthorizer(this.config.authorizer, () => this.broker.aclBindings()),
    };
    this.config.logger.info(`serving the Kafka protocol on ${this.config.host}:${port} (advertised ${this.info.host}:${port})`);
    return this.address!;
  }

  /**
   * Stops accepting connections, lets every connection answer the requests it has received
   * (long polls end early) and closes it; connections still busy after closeTimeoutMs are
   * dropped. Idempotent. The broker stays open: it is the caller's.
   */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    const server = this.server;
    this.state = 'closing';
    if (server === null) {
      this.state = 'closed';
      return;
    }
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const connections = [...this.connections];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.config.closeTimeoutMs);
    });
    await Promise.race([Promise.all(connections.map((connection) => connection.shutdown())), deadline]);
    clearTimeout(timer);
    for (const connection of this.connections) connection.destroy();
    await Promise.all(connections.map((connection) => connection.closed));
    await stopped;
    this.state = 'closed';
  }

  private accept(socket: Socket): void {
    if (this.state !== 'listening' || this.info === null) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.config.connectionsMax) {
      this.config.logger.warn(
        `refusing a connection from ${socket.remoteAddress}: ${this.connections.size} are open (connectionsMax)`,
      );
      socket.destroy();
      return;
    }
    // remoteAddress is missing only for a socket already closed; it is counted under '' until its close is seen.
    const ip = socket.remoteAddress ?? '';
    const fromIp = this.connectionsPerIp.get(ip) ?? 0;
    if (fromIp >= this.config.connectionsMaxPerIp) {
      this.config.logger.warn(
        `refusing a connection from ${ip}: ${fromIp} are open from that address (connectionsMaxPerIp ${this.config.connectionsMaxPerIp})`,
      );
      socket.destroy();
      return;
    }
    this.connectionsPerIp.set(ip, fromIp + 1);
    const connection = new Connection(socket, {
      broker: this.broker,
      server: this.info,
      config: this.config,
      handlers: this.handlers,
      credentials: this.credentials,
      budget: this.budget,
    });
    this.connections.add(connection);
    void connection.closed.then(() => {
      this.connections.delete(connection);
      const open = this.connectionsPerIp.get(ip)! - 1;
      if (open === 0) this.connectionsPerIp.delete(ip);
      else this.connectionsPerIp.set(ip, open);
    });
  }
}

/** ApiVersions lists only APIs that have a handler, at the versions their handlers serve. */
export function advertisedApiVersions(handlers: readonly (AnyHandler | undefined)[]): readonly ApiVersionRange[] {
  const caps = new Map<number, number>();
  for (const handler of handlers) if (handler?.maxVersion !== undefined) caps.set(handler.api.apiKey, handler.maxVersion);
  const ranges: ApiVersionRange[] = [];
  for (const range of supportedApiVersions(caps)) if (handlers[range.apiKey] !== undefined) ranges.push(range);
  return Object.freeze(ranges);
}

/**
 * A cluster id that stays the same across restarts of the same data directory: derived from the
 * topic id of the broker's own offsets topic, which is created once with the data directory and
 * persisted with it. Hashed so the cluster id does not reveal or equal a topic id.
 */
function deriveClusterId(broker: BrokerApi): string {
  const offsetsTopic = broker.topicMetadata(CONSUMER_OFFSETS_TOPIC);
  const id = createHash('sha256').update(`sluice cluster ${offsetsTopic.topicId}`).digest().subarray(0, 16);
  // As Kafka's Uuid: the text must not start with '-', which command-line tools read as a flag.
  id[0] &= 0x7f;
  return id.toString('base64url');
}
