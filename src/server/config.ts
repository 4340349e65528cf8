/**
 * The Kafka protocol server's settings: Kafka's listener and socket settings in camelCase with
 * units in the names. resolveServerConfig fills in the defaults and rejects anything invalid with
 * an InvalidConfigError that names the setting and the fix.
 */
import type { ClusterView } from './cluster-view.js';
import { hostname } from 'node:os';
import { InvalidConfigError } from '../errors.js';
import { INT32_MAX } from '../protocol/limits.js';
import { isPrincipal } from '../broker/acl/acl.js';
import { resolveTlsOptions, type ResolvedTlsOptions, type TlsOptions } from './tls-config.js';

export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256';
export const SASL_MECHANISMS: readonly SaslMechanismName[] = ['PLAIN', 'SCRAM-SHA-256'];

/** Kafka's security protocols; a listener's name is its protocol (Kafka's default listener.security.protocol.map). */
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
export const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

/** One of Kafka's listeners: where it binds, and the address Metadata gives clients that connect through it. */
export interface ListenerOptions {
  /** The listener name, which is its security protocol. */
  name: SecurityProtocol;
  /** Interface to bind; loopback unless told otherwise. */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Host name clients of this listener are told to connect to (Kafka's advertised.listeners); default the bound host. */
  advertisedHost?: string;
  /** Port clients of this listener are told to connect to; default the bound port. */
  advertisedPort?: number;
}

export interface ResolvedListener {
  readonly name: SecurityProtocol;
  readonly host: string;
  readonly port: number;
  readonly advertisedHost: string;
  /** null: the bound port. */
  readonly advertisedPort: number | null;
  readonly tls: boolean;
  readonly sasl: boolean;
}

export interface ServerLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface SaslOptions {
  /** Mechanisms offered in SaslHandshake, in order of preference. */
  mechanisms: readonly SaslMechanismName[];
  /** JSON file `{ "users": { "<name>": { "password": "..." } } }` or salted SCRAM credentials (see sasl/credentials.ts). */
  credentialsFile: string;
}

/**
 * The ACL authorizer (Kafka's authorizer.class.name set to StandardAuthorizer). Given, every
 * request is checked against the broker's ACLs and the ACL APIs are served; absent, everything is
 * allowed and the ACL APIs answer SECURITY_DISABLED, as Kafka does without an authorizer.
 */
export interface AuthorizerOptions {
  /** Principals allowed everything, "User:<name>" (Kafka's super.users). */
  superUsers?: readonly string[];
  /** Whether a resource no ACL names is open to everyone (Kafka's allow.everyone.if.no.acl.found, default false). */
  allowEveryoneIfNoAclFound?: boolean;
}

export interface ResolvedAuthorizerOptions {
  readonly superUsers: readonly string[];
  readonly allowEveryoneIfNoAclFound: boolean;
}

export interface KafkaServerOptions {
  /**
   * Kafka's listeners, each with its own address and advertised address, e.g.
   * [{ name: 'PLAINTEXT', port: 9092 }, { name: 'SSL', port: 9093 }]. Without it, host and port
   * make one listener: SASL_PLAINTEXT when sasl is given, else PLAINTEXT.
   */
  listeners?: readonly ListenerOptions[];
  /** Interface to bind; loopback unless told otherwise. */
  host?: string;
  /** TCP port; 0 picks a free one (listen() returns it). */
  port?: number;
  /** Host name clients are told to connect to (Kafka's advertised.listeners); default the bound host. */
  advertisedHost?: string;
  /** Certificate, key and client authentication of the SSL and SASL_SSL listeners. */
  tls?: TlsOptions;
  /** This broker's id in Metadata and FindCoordinator answers (Kafka's node.id). */
  nodeId?: number;
  /** Kafka cluster id reported in Metadata; default a stable id derived from the data directory. */
  clusterId?: string;
  /** Largest request frame accepted (Kafka's socket.request.max.bytes); a larger size prefix closes the connection. */
  socketRequestMaxBytes?: number;
  /** Requests read from one connection and not yet answered; reading pauses at this many. */
  maxInFlightRequestsPerConnection?: number;
  /** Open connections at most (Kafka's max.connections); further ones are closed at once. */
  connectionsMax?: number;
  /** Open connections from one IP address at most (Kafka's max.connections.per.ip); further ones are closed at once. */
  connectionsMaxPerIp?: number;
  /**
   * Largest Fetch response (Kafka's broker fetch.max.bytes): a request asking for more gets at
   * most this much, except that the first batch is returned whole so a consumer always progresses.
   */
  fetchMaxBytes?: number;
  /**
   * Encoded responses of one connection not yet handed to its socket's kernel buffer: at this many
   * bytes no further request of the connection starts and the connection is not read until the
   * peer drains it (Kafka mutes such a channel).
   */
  maxQueuedResponseBytesPerConnection?: number;
  /**
   * Request and response bytes held across all connections (Kafka's queued.max.request.bytes):
   * at this many, no connection reads a new request until memory is released.
   */
  queuedMaxBytes?: number;
  /** A request whose first byte has arrived must be complete this long after, or its connection is closed (slow senders). */
  requestReceiveTimeoutMs?: number;
  /** A connection with no traffic in either direction for this long is closed (Kafka's connections.max.idle.ms). */
  idleTimeoutMs?: number;
  /** close() waits this long for in-flight requests to be answered, then drops the connections still open. */
  closeTimeoutMs?: number;
  /** SASL authentication of the SASL_PLAINTEXT and SASL_SSL listeners; off unless given. */
  sasl?: SaslOptions;
  /** Fetch sessions (KIP-227) kept at most (Kafka's max.incremental.fetch.session.cache.slots); 0 serves every fetch without one. */
  maxIncrementalFetchSessionCacheSlots?: number;
  /** Partitions held across all fetch sessions at most: a session that would pass it is not created (or is closed). */
  maxIncrementalFetchSessionCachePartitions?: number;
  /**
   * A fetch session unused this long may be evicted for a new one, and one at least this old may
   * give way to a larger one (Kafka's fixed 120 s).
   */
  minIncrementalFetchSessionEvictionMs?: number;
  logger?: ServerLogger;
  /** ACL authorization; off unless given. Without SASL every client is the principal User:ANONYMOUS. */
  authorizer?: AuthorizerOptions;
  /** Told of every answered request (metrics); none unless given. */
  requestObserver?: RequestObserver;
  /** The cluster this server is one broker of (leaders, replicas, live brokers); unset: a single-node cluster. */
  cluster?: ClusterView;
}

/** Sees each request the server answers, once its response is encoded. */
export interface RequestObserver {
  /**
   * `api`: Kafka's name of the API (Produce, Fetch...); `queueMs`: from the whole request being
   * read to its handler starting (Kafka's RequestQueueTimeMs); `totalMs`: from read to answered.
   */
  requestCompleted(api: string, queueMs: number, totalMs: number): void;
}

export interface ServerConfig {
  /** Every listener, in the order given; the first is the one host, port and advertisedHost describe. */
  readonly listeners: readonly ResolvedListener[];
  readonly host: string;
  readonly port: number;
  readonly advertisedHost: string;
  readonly tls: ResolvedTlsOptions | null;
  readonly nodeId: number;
  readonly clusterId: string | null;
  readonly socketRequestMaxBytes: number;
  readonly maxInFlightRequestsPerConnection: number;
  readonly connectionsMax: number;
  readonly connectionsMaxPerIp: number;
  readonly fetchMaxBytes: number;
  readonly maxQueuedResponseBytesPerConnection: number;
  readonly queuedMaxBytes: number;
  readonly requestReceiveTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly sasl: SaslOptions | null;
  readonly logger: ServerLogger;
  readonly maxIncrementalFetchSessionCacheSlots: number;
  readonly maxIncrementalFetchSessionCachePartitions: number;
  readonly minIncrementalFetchSessionEvictionMs: number;
  readonly authorizer: ResolvedAuthorizerOptions | null;
  readonly requestObserver: RequestObserver | null;
  readonly cluster: ClusterView | null;
}

export const DEFAULT_PORT = 9092;
/** Kafka's socket.request.max.bytes default: 100 MiB. */
export const DEFAULT_SOCKET_REQUEST_MAX_BYTES = 104_857_600;
/**
 * Enough pipelining for librdkafka's producer to keep every shard busy; each in-flight request
 * holds at most socketRequestMaxBytes of frame, so this also bounds a connection's memory.
 */
export const DEFAULT_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION = 16;
export const DEFAULT_CONNECTIONS_MAX = 1_000;
/** Kafka's max.connections.per.ip default: no limit beyond connectionsMax. */
export const DEFAULT_CONNECTIONS_MAX_PER_IP = 0x7fff_ffff;
/** Kafka's fetch.max.bytes default: 55 MiB. */
export const DEFAULT_FETCH_MAX_BYTES = 57_671_680;
/** Kafka's fetch.max.bytes floor. */
const MIN_FETCH_MAX_BYTES = 1024;
/**
 * Kafka holds one response per connection; 1 MiB lets small answers (pipelined Produce
 * acknowledgements) flow without waiting for each to be written, while a large Fetch response
 * always stops the connection until the peer has read it.
 */
export const DEFAULT_MAX_QUEUED_RESPONSE_BYTES_PER_CONNECTION = 1024 * 1024;
/** Five full-size requests (socketRequestMaxBytes) across all connections. */
export const DEFAULT_QUEUED_MAX_BYTES = 512 * 1024 * 1024;
/** As Kafka clients' request.timeout.ms default: a sender that needs longer for one request is stalled. */
export const DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS = 30_000;
/** Kafka's connections.max.idle.ms default: 10 minutes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 600_000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
/** Kafka's max.incremental.fetch.session.cache.slots default. */
export const DEFAULT_MAX_INCREMENTAL_FETCH_SESSION_CACHE_SLOTS = 1_000;
/** A hundred partitions for each of the default slots: tens of MB at most. */
export const DEFAULT_MAX_INCREMENTAL_FETCH_SESSION_CACHE_PARTITIONS = 100_000;
/** Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS. */
export const DEFAULT_MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS = 120_000;

/** Kafka's cluster id form: 16 bytes in unpadded base64url (22 characters). */
const CLUSTER_ID_TEXT = /^[A-Za-z0-9_-]{22}$/;

const DEFAULT_LOGGER: ServerLogger = {
  info: () => {},
  warn: (message) => process.emitWarning(message, { type: 'SluiceServerWarning' }),
};

const KNOWN_KEYS = new Set<string>([
  'listeners',
  'tls',
  'host',
  'port',
  'advertisedHost',
  'nodeId',
  'clusterId',
  'socketRequestMaxBytes',
  'maxInFlightRequestsPerConnection',
  'connectionsMax',
  'connectionsMaxPerIp',
  'fetchMaxBytes',
  'maxQueuedResponseBytesPerConnection',
  'queuedMaxBytes',
  'requestReceiveTimeoutMs',
  'idleTimeoutMs',
  'closeTimeoutMs',
  'sasl',
  'logger',
  'maxIncrementalFetchSessionCacheSlots',
  'maxIncrementalFetchSessionCachePartitions',
  'minIncrementalFetchSessionEvictionMs',
  'authorizer',
  'requestObserver',
  'cluster',
]);

export function resolveServerConfig(options: KafkaServerOptions = {}): ServerConfig {
  if (options === null || typeof options !== 'object') throw new InvalidConfigError('KafkaServer options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new InvalidConfigError(`unknown KafkaServer option "${key}"; known options are ${[...KNOWN_KEYS].join(', ')}`);
    }
  }
  const sasl = options.sasl === undefined ? null : resolveSasl(options.sasl);
  const tls = options.tls === undefined ? null : resolveTlsOptions(options.tls);
  const listeners = resolveListeners(options, sasl !== null);
  if (sasl !== null && !listeners.some((listener) => listener.sasl)) {
    throw new InvalidConfigError('sasl is given but no listener is SASL_PLAINTEXT or SASL_SSL; add one, or drop sasl');
  }
  if (tls === null && listeners.some((listener) => listener.tls)) {
    throw new InvalidConfigError('an SSL or SASL_SSL listener needs tls: { certFile, keyFile }');
  }
  if (tls !== null && !listeners.some((listener) => listener.tls)) {
    throw new InvalidConfigError('tls is given but no listener is SSL or SASL_SSL; add one, or drop tls');
  }
  const { host, port, advertisedHost } = listeners[0];
  const clusterId = options.clusterId ?? null;
  if (clusterId !== null && (typeof clusterId !== 'string' || !CLUSTER_ID_TEXT.test(clusterId))) {
    throw new InvalidConfigError(`clusterId must be 22 characters of base64url, as Kafka's, got ${JSON.stringify(clusterId)}`);
  }
  const logger = options.logger ?? DEFAULT_LOGGER;
  if (typeof logger !== 'object' || typeof logger.info !== 'function' || typeof logger.warn !== 'function') {
    throw new InvalidConfigError('logger must be an object with info(message) and warn(message)');
  }
  const socketRequestMaxBytes = integer(options.socketRequestMaxBytes, DEFAULT_SOCKET_REQUEST_MAX_BYTES, 'socketRequestMaxBytes', 64, INT32_MAX);
  const queuedMaxBytes = integer(options.queuedMaxBytes, DEFAULT_QUEUED_MAX_BYTES, 'queuedMaxBytes', 64, Number.MAX_SAFE_INTEGER);
  // As Kafka's check of queued.max.request.bytes: a bound below one request could never admit it.
  if (queuedMaxBytes < socketRequestMaxBytes) {
    throw new InvalidConfigError(
      `queuedMaxBytes (${queuedMaxBytes}) must be at least socketRequestMaxBytes (${socketRequestMaxBytes}); raise it or lower socketRequestMaxBytes`,
    );
  }
  return Object.freeze({
    listeners,
    host,
    port,
    advertisedHost,
    tls,
    nodeId: integer(options.nodeId, 0, 'nodeId', 0, INT32_MAX),
    clusterId,
    socketRequestMaxBytes,
    maxInFlightRequestsPerConnection: integer(
      options.maxInFlightRequestsPerConnection,
      DEFAULT_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION,
      'maxInFlightRequestsPerConnection',
      1,
      1_000,
    ),
    connectionsMax: integer(options.connectionsMax, DEFAULT_CONNECTIONS_MAX, 'connectionsMax', 1, 1_000_000),
    connectionsMaxPerIp: integer(options.connectionsMaxPerIp, DEFAULT_CONNECTIONS_MAX_PER_IP, 'connectionsMaxPerIp', 1, INT32_MAX),
    fetchMaxBytes: integer(options.fetchMaxBytes, DEFAULT_FETCH_MAX_BYTES, 'fetchMaxBytes', MIN_FETCH_MAX_BYTES, INT32_MAX),
    maxQueuedResponseBytesPerConnection: integer(
      options.maxQueuedResponseBytesPerConnection,
      DEFAULT_MAX_QUEUED_RESPONSE_BYTES_PER_CONNECTION,
      'maxQueuedResponseBytesPerConnection',
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    queuedMaxBytes,
    requestReceiveTimeoutMs: integer(
      options.requestReceiveTimeoutMs,
      DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS,
      'requestReceiveTimeoutMs',
      1,
      INT32_MAX,
    ),
    idleTimeoutMs: integer(options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS, 'idleTimeoutMs', 1, INT32_MAX),
    closeTimeoutMs: integer(options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS, 'closeTimeoutMs', 0, INT32_MAX),
    sasl,
    logger,
    maxIncrementalFetchSessionCacheSlots: integer(
      options.maxIncrementalFetchSessionCacheSlots,
      DEFAULT_MAX_INCREMENTAL_FETCH_SESSION_CACHE_SLOTS,
      'maxIncrementalFetchSessionCacheSlots',
      0,
      INT32_MAX,
    ),
    maxIncrementalFetchSessionCachePartitions: integer(
      options.maxIncrementalFetchSessionCachePartitions,
      DEFAULT_MAX_INCREMENTAL_FETCH_SESSION_CACHE_PARTITIONS,
      'maxIncrementalFetchSessionCachePartitions',
      0,
      INT32_MAX,
    ),
    minIncrementalFetchSessionEvictionMs: integer(
      options.minIncrementalFetchSessionEvictionMs,
      DEFAULT_MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS,
      'minIncrementalFetchSessionEvictionMs',
      0,
      INT32_MAX,
    ),
    authorizer: options.authorizer === undefined ? null : resolveAuthorizer(options.authorizer),
    requestObserver: resolveRequestObserver(options.requestObserver),
    cluster: resolveCluster(options.cluster),
  });
}

function resolveCluster(cluster: ClusterView | undefined): ClusterView | null {
  if (cluster === undefined) return null;
  if (cluster === null || typeof cluster !== 'object' || typeof cluster.leaderOf !== 'function' || typeof cluster.liveBrokers !== 'function') {
    throw new InvalidConfigError('cluster must be a ClusterView (liveBrokers(), leadership(topic, partition)...), such as a ClusterNode');
  }
  return cluster;
}

function resolveRequestObserver(observer: RequestObserver | undefined): RequestObserver | null {
  if (observer === undefined) return null;
  if (observer === null || typeof observer !== 'object' || typeof observer.requestCompleted !== 'function') {
    throw new InvalidConfigError('requestObserver must be an object with requestCompleted(api, queueMs, totalMs)');
  }
  return observer;
}

/**
 * The listeners option, or the one listener host and port describe. Each protocol appears once,
 * as Kafka's listener names must be unique, and no two listeners share a port.
 */
function resolveListeners(options: KafkaServerOptions, sasl: boolean): readonly ResolvedListener[] {
  if (options.listeners === undefined) {
    return Object.freeze([
      resolveListener({
        name: sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT',
        host: options.host,
        port: options.port ?? DEFAULT_PORT,
        advertisedHost: options.advertisedHost,
      }),
    ]);
  }
  if (options.host !== undefined || options.port !== undefined || options.advertisedHost !== undefined) {
    throw new InvalidConfigError('give either listeners or host/port/advertisedHost (one PLAINTEXT listener), not both');
  }
  if (!Array.isArray(options.listeners) || options.listeners.length === 0) {
    throw new InvalidConfigError('listeners must list at least one listener, e.g. [{ name: "PLAINTEXT", port: 9092 }]');
  }
  const listeners = options.listeners.map(resolveListener);
  const names = new Set<string>();
  const ports = new Set<number>();
  for (const listener of listeners) {
    if (names.has(listener.name)) throw new InvalidConfigError(`listeners names ${listener.name} twice; each listener name appears once`);
    names.add(listener.name);
    if (listener.port !== 0 && ports.has(listener.port)) throw new InvalidConfigError(`listeners bind port ${listener.port} twice`);
    ports.add(listener.port);
  }
  return Object.freeze(listeners);
}

function resolveListener(listener: ListenerOptions): ResolvedListener {
  if (listener === null || typeof listener !== 'object') throw new InvalidConfigError('a listener must be { name, host?, port, advertisedHost?, advertisedPort? }');
  for (const key of Object.keys(listener)) {
    if (!['name', 'host', 'port', 'advertisedHost', 'advertisedPort'].includes(key)) {
      throw new InvalidConfigError(`unknown listener option "${key}"; known options are name, host, port, advertisedHost, advertisedPort`);
    }
  }
  const { name } = listener;
  if (!SECURITY_PROTOCOLS.includes(name)) {
    throw new InvalidConfigError(`listener name ${JSON.stringify(name)} is not a security protocol; use one of ${SECURITY_PROTOCOLS.join(', ')}`);
  }
  const host = listener.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) throw new InvalidConfigError('host must be a non-empty host name or IP address');
  const advertisedHost = listener.advertisedHost ?? defaultAdvertisedHost(host);
  if (typeof advertisedHost !== 'string' || advertisedHost.length === 0) {
    throw new InvalidConfigError('advertisedHost must be a non-empty host name clients can reach');
  }
  return Object.freeze({
    name,
    host,
    port: integer(listener.port, DEFAULT_PORT, 'port', 0, 65_535),
    advertisedHost,
    advertisedPort: listener.advertisedPort === undefined ? null : integer(listener.advertisedPort, 0, 'advertisedPort', 1, 65_535),
    tls: name === 'SSL' || name === 'SASL_SSL',
    sasl: name === 'SASL_PLAINTEXT' || name === 'SASL_SSL',
  });
}

/**
 * Parses Kafka's listener form NAME://host:port ("SSL://127.0.0.1:9093", "PLAINTEXT://[::1]:9092",
 * an empty host meaning the default interface).
 */
export function parseListener(text: string): { name: SecurityProtocol; host: string | undefined; port: number } {
  const match = /^([A-Z_]+):\/\/(\[[^\]]*\]|[^:/]*):(\d+)$/.exec(text.trim());
  if (match === null) throw new InvalidConfigError(`listener ${JSON.stringify(text)} is not NAME://host:port, e.g. SSL://127.0.0.1:9093`);
  const name = match[1] as SecurityProtocol;
  if (!SECURITY_PROTOCOLS.includes(name)) {
    throw new InvalidConfigError(`listener name ${name} is not a security protocol; use one of ${SECURITY_PROTOCOLS.join(', ')}`);
  }
  const host = match[2].startsWith('[') ? match[2].slice(1, -1) : match[2];
  return { name, host: host.length === 0 ? undefined : host, port: integer(Number(match[3]), 0, `port of ${text}`, 0, 65_535) };
}

/** A wildcard bind is not an address clients can dial: advertise this machine's name instead. */
function defaultAdvertisedHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return hostname();
  return host;
}

function resolveSasl(sasl: SaslOptions): SaslOptions {
  if (sasl === null || typeof sasl !== 'object') {
    throw new InvalidConfigError('sasl must be { mechanisms: ["PLAIN" | "SCRAM-SHA-256"], credentialsFile }');
  }
  const { mechanisms, credentialsFile } = sasl;
  if (!Array.isArray(mechanisms) || mechanisms.length === 0) {
    throw new InvalidConfigError(`sasl.mechanisms must list at least one of ${SASL_MECHANISMS.join(', ')}`);
  }
  for (const mechanism of mechanisms) {
    if (!SASL_MECHANISMS.includes(mechanism)) {
      throw new InvalidConfigError(`sasl mechanism ${JSON.stringify(mechanism)} is not supported; use ${SASL_MECHANISMS.join(' or ')}`);
    }
  }
  if (new Set(mechanisms).size !== mechanisms.length) throw new InvalidConfigError('sasl.mechanisms lists a mechanism twice');
  if (typeof credentialsFile !== 'string' || credentialsFile.length === 0) {
    throw new InvalidConfigError('sasl.credentialsFile must be the path of the JSON credentials file');
  }
  return Object.freeze({ mechanisms: Object.freeze([...mechanisms]), credentialsFile });
}

export function resolveAuthorizer(authorizer: AuthorizerOptions): ResolvedAuthorizerOptions {
  if (authorizer === null || typeof authorizer !== 'object') {
    throw new InvalidConfigError('authorizer must be { superUsers?: ["User:<name>"], allowEveryoneIfNoAclFound?: boolean }');
  }
  for (const key of Object.keys(authorizer)) {
    if (key !== 'superUsers' && key !== 'allowEveryoneIfNoAclFound') {
      throw new InvalidConfigError(`unknown authorizer option "${key}"; known options are superUsers, allowEveryoneIfNoAclFound`);
    }
  }
  const superUsers = authorizer.superUsers ?? [];
  if (!Array.isArray(superUsers)) throw new InvalidConfigError('authorizer.superUsers must be an array of principals such as "User:admin"');
  for (const principal of superUsers) {
    if (!isPrincipal(principal)) {
      throw new InvalidConfigError(`authorizer.superUsers: ${JSON.stringify(principal)} is not a principal "<type>:<name>", such as "User:admin"`);
    }
  }
  const allowEveryoneIfNoAclFound = authorizer.allowEveryoneIfNoAclFound ?? false;
  if (typeof allowEveryoneIfNoAclFound !== 'boolean') throw new InvalidConfigError('authorizer.allowEveryoneIfNoAclFound must be true or false');
  return Object.freeze({ superUsers: Object.freeze([...superUsers]), allowEveryoneIfNoAclFound });
}

function integer(value: unknown, fallback: number, name: string, min: number, max: number): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isInteger(resolved) || resolved < min || resolved > max) {
    throw new InvalidConfigError(`${name} must be an integer from ${min} to ${max}, got ${String(resolved)}`);
  }
  return resolved;
}
