/**
 * The Kafka protocol server: Kafka's listeners (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) in front
 * of a BrokerApi, so Kafka clients (librdkafka and kcat, kafkajs) produce, consume and manage
 * topics and groups as they would against one Apache Kafka broker. This module owns the listeners,
 * their TLS handshakes and the set of connections; each connection (./connection.ts) owns its framing, limits and response order,
 * and one handler per API (./handlers/) maps requests onto the broker.
 *
 * Alone, the server is a single-node cluster: Metadata names this node as the leader of every
 * partition and FindCoordinator names it as every group's coordinator, at the advertised address
 * of the listener the client connected through, as Kafka answers per listener. Given a
 * ClusterView (options.cluster, ./cluster-view.ts), it answers as one broker of that cluster.
 *
 * TLS: each encrypted listener is a plain TCP server whose accepted sockets go through the
 * connection limits first and are then handed to a tls.Server, which bounds the handshake by
 * tls.handshakeTimeoutMs. A failed handshake (a plaintext client, an unknown CA, an expired
 * certificate, a timeout) closes that one socket with a log line naming the reason.
 */
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { AclAuthorizer } from '../broker/acl/acl-authorizer.js';
import type { BrokerApi } from '../broker/broker-api.js';
import { ClosedError, InvalidConfigError } from '../errors.js';
import { supportedApiVersions, type ApiVersionRange } from '../protocol/api/registry.js';
import { CONSUMER_OFFSETS_TOPIC } from '../broker/offset-store.js';
import { ANONYMOUS_PRINCIPAL } from './authorizer.js';
import { resolveServerConfig, type KafkaServerOptions, type ResolvedListener, type SecurityProtocol, type ServerConfig } from './config.js';
import { Connection } from './connection.js';
import { FetchSessionCache } from './fetch-session-cache.js';
import { MemoryBudget } from './memory-budget.js';
import type { AnyHandler, BoundListener, ServerInfo } from './handlers/handler.js';
import { HANDLERS } from './handlers/index.js';
import { loadCredentials, type CredentialStore } from './sasl/credentials.js';
import { loadTlsServerOptions, tlsClientPrincipal } from './tls-config.js';

export interface ListeningAddress {
  host: string;
  port: number;
}

/** A bound listener: its name (security protocol) and bound address. */
export interface ListenerAddress extends ListeningAddress {
  name: SecurityProtocol;
}

type State = 'new' | 'listening' | 'closing' | 'closed';

interface Listener {
  readonly config: ResolvedListener;
  readonly server: Server;
  /** The TLS engine of an SSL or SASL_SSL listener, fed the listener's accepted sockets; null for plaintext. */
  readonly tls: TlsServer | null;
  /** Accepted sockets whose TLS handshake has not finished, by remote address and port. */
  readonly handshaking: Map<string, Socket>;
  info: ServerInfo | null;
}

export class KafkaServer {
  readonly config: ServerConfig;
  private readonly broker: BrokerApi;
  private readonly handlers: (AnyHandler | undefined)[] = [];
  private readonly credentials: CredentialStore | null;
  private readonly connections = new Set<Connection>();
  /** Open connections per remote IP address (connectionsMaxPerIp), TLS handshakes in progress included. */
  private readonly connectionsPerIp = new Map<string, number>();
  private readonly budget: MemoryBudget;
  private readonly fetchSessions: FetchSessionCache;
  private readonly listeners: Listener[] = [];
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

  /** Accepted connections whose TLS handshake has not finished (each counts against connectionsMax). */
  get tlsHandshakeCount(): number {
    let count = 0;
    for (const listener of this.listeners) count += listener.handshaking.size;
    return count;
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

  /** The bound address of the first listener once listening. */
  get address(): ListeningAddress | null {
    const first = this.addresses[0];
    return first === undefined ? null : { host: first.host, port: first.port };
  }

  /** Every listener's bound address once listening, in the order configured. */
  get addresses(): ListenerAddress[] {
    const bound: ListenerAddress[] = [];
    for (const listener of this.listeners) {
      const address = listener.server.address() as AddressInfo | null;
      if (address !== null) bound.push({ name: listener.config.name, host: address.address, port: address.port });
    }
    return bound;
  }

  /** Every listener's advertised address once listening (what Metadata tells clients), in the order configured. */
  get advertisedAddresses(): ListenerAddress[] {
    return this.listeners.flatMap((listener) => (listener.info === null ? [] : [{ name: listener.config.name, host: listener.info.host, port: listener.info.port }]));
  }

  /**
   * Binds every listener and starts accepting connections; resolves with the first listener's
   * bound address (the real port when port was 0). If one listener cannot bind, none stays bound.
   */
  async listen(): Promise<ListeningAddress> {
    if (this.state !== 'new') throw new ClosedError(`KafkaServer (it is ${this.state}; create a new one to listen again)`);
    this.state = 'listening';
    try {
      // Read again at listen: the files may have changed since the options were checked.
      const tlsOptions = this.config.tls === null ? null : loadTlsServerOptions(this.config.tls);
      for (const config of this.config.listeners) {
        const tls =
          config.tls && tlsOptions !== null ? createTlsServer({ ...tlsOptions, handshakeTimeout: this.config.tls!.handshakeTimeoutMs }) : null;
        // A half-open socket would hide a peer that closes before the TLS layer takes the socket over
        // until the handshake deadline; the connection closes on the peer's end either way.
        const server = createServer({ allowHalfOpen: tls === null, noDelay: true });
        const listener: Listener = { config, server, tls, handshaking: new Map(), info: null };
        this.listeners.push(listener);
        server.on('connection', (socket) => this.accept(socket, listener));
        if (tls !== null) {
          tls.on('secureConnection', (socket: TLSSocket) => this.secured(socket, listener));
          tls.on('tlsClientError', (error: Error, socket: TLSSocket) => this.handshakeFailed(error, socket, listener));
        }
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(config.port, config.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        server.on('error', (error) => this.config.logger.warn(`Kafka listener ${config.name} error: ${error.message}`));
      }
    } catch (error) {
      // A listener could not bind (EADDRINUSE, EACCES...): this server is done; the error says why.
      await Promise.all(this.listeners.map((listener) => new Promise<void>((resolve) => listener.server.close(() => resolve()))));
      this.listeners.length = 0;
      this.state = 'closed';
      throw error;
    }
    const clusterId = this.config.clusterId ?? deriveClusterId(this.broker);
    const apiVersions = advertisedApiVersions(this.handlers);
    const authorizer =
      this.config.authorizer === null ? null : new AclAuthorizer(this.config.authorizer, () => this.broker.aclBindings());
    const bound: BoundListener[] = this.listeners.map(({ config, server }) => {
      const { port } = server.address() as AddressInfo;
      return { ...config, port, advertisedPort: config.advertisedPort ?? port };
    });
    for (const [i, listener] of this.listeners.entries()) {
      const own = bound[i];
      listener.info = {
        config: this.config,
        nodeId: this.config.nodeId,
        host: own.advertisedHost,
        port: own.advertisedPort,
        listener: own,
        listeners: bound,
        clusterId,
        apiVersions,
        fetchSessions: this.fetchSessions,
        authorizer,
      };
      this.config.logger.info(
        `serving the Kafka protocol on ${own.name}://${own.host}:${own.port} (advertised ${own.advertisedHost}:${own.advertisedPort})`,
      );
    }
    return this.address!;
  }

  /**
   * Re-reads the TLS certificate, key and CA files: new handshakes use them, connections already
   * open keep theirs, and no listener stops. Throws InvalidConfigError (and keeps the current
   * files) when the new ones cannot be read or do not fit together.
   */
  reloadTls(): void {
    if (this.config.tls === null) throw new InvalidConfigError('reloadTls: this server has no SSL or SASL_SSL listener');
    const options = loadTlsServerOptions(this.config.tls);
    for (const listener of this.listeners) listener.tls?.setSecureContext(options);
    this.config.logger.info(`reloaded the TLS certificate ${this.config.tls.certFile} and key ${this.config.tls.keyFile}`);
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
    this.state = 'closing';
    if (this.listeners.length === 0) {
      this.state = 'closed';
      return;
    }
    const stopped = Promise.all(this.listeners.map((listener) => new Promise<void>((resolve) => listener.server.close(() => resolve()))));
    // A handshake in progress has nothing to answer: it is dropped at once.
    for (const listener of this.listeners) for (const socket of listener.handshaking.values()) socket.destroy();
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

  /** A TCP connection arrived: admitted within the limits, then served (plaintext) or handed to TLS. */
  private accept(socket: Socket, listener: Listener): void {
    if (this.state !== 'listening' || listener.info === null) {
      socket.destroy();
      return;
    }
    const open = this.connections.size + this.tlsHandshakeCount;
    if (open >= this.config.connectionsMax) {
      this.config.logger.warn(`refusing a connection from ${socket.remoteAddress}: ${open} are open (connectionsMax)`);
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
    // On TLS too: a TLS socket destroys the socket it wraps when it closes.
    socket.once('close', () => {
      const left = this.connectionsPerIp.get(ip)! - 1;
      if (left === 0) this.connectionsPerIp.delete(ip);
      else this.connectionsPerIp.set(ip, left);
    });
    if (listener.tls === null) {
      this.serve(socket, listener, ANONYMOUS_PRINCIPAL);
      return;
    }
    const key = remoteKey(socket);
    listener.handshaking.set(key, socket);
    socket.once('close', () => {
      if (listener.handshaking.get(key) === socket) listener.handshaking.delete(key);
    });
    // Documented way to hand tls.Server a socket accepted elsewhere; it enforces handshakeTimeout.
    listener.tls.emit('connection', socket);
  }

  /**
   * The handshake finished: the client certificate, when one was asked for, is checked (see
   * tlsClientPrincipal) and becomes the connection's principal; a refusal is logged with its reason.
   */
  private secured(socket: TLSSocket, listener: Listener): void {
    listener.handshaking.delete(remoteKey(socket));
    const outcome = tlsClientPrincipal(socket, this.config.tls!);
    if ('refused' in outcome) {
      this.config.logger.warn(`closing TLS connection from ${describePeer(socket)} on listener ${listener.config.name}: ${outcome.refused}`);
      socket.destroy();
      return;
    }
    if (this.state !== 'listening') {
      socket.destroy();
      return;
    }
    this.serve(socket, listener, outcome.principal);
  }

  private handshakeFailed(error: Error, socket: TLSSocket, listener: Listener): void {
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_HTTP_REQUEST'
        ? ' (the client is not speaking TLS: is it configured for security.protocol SSL?)'
        : code === 'ERR_TLS_HANDSHAKE_TIMEOUT'
          ? ` (tls.handshakeTimeoutMs ${this.config.tls!.handshakeTimeoutMs})`
          : code === 'ECONNRESET'
            ? ' (the client closed the connection before the handshake finished)'
            : '';
    // A socket the peer already closed no longer knows its address.
    const from = socket.remoteAddress === undefined ? '' : ` from ${describePeer(socket)}`;
    this.config.logger.warn(`closing TLS connection${from} on listener ${listener.config.name}: handshake failed: ${code ?? error.message}${hint}`);
    socket.destroy();
  }

  private serve(socket: Socket, listener: Listener, principal: string): void {
    const connection = new Connection(socket, {
      broker: this.broker,
      server: listener.info!,
      config: this.config,
      handlers: this.handlers,
      credentials: listener.config.sasl ? this.credentials : null,
      budget: this.budget,
      principal,
    });
    this.connections.add(connection);
    void connection.closed.then(() => this.connections.delete(connection));
  }
}

function remoteKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

function describePeer(socket: Socket): string {
  return `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? '?'}`;
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
