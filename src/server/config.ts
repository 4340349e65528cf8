/**
 * The Kafka protocol server's settings: Kafka's listener and socket settings in camelCase with
 * units in the names. resolveServerConfig fills in the defaults and rejects anything invalid with
 * an InvalidConfigError that names the setting and the fix.
 */
import { hostname } from 'node:os';
import { InvalidConfigError } from '../errors.js';

export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256';
export const SASL_MECHANISMS: readonly SaslMechanismName[] = ['PLAIN', 'SCRAM-SHA-256'];

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

export interface KafkaServerOptions {
  /** Interface to bind; loopback unless told otherwise. */
  host?: string;
  /** TCP port; 0 picks a free one (listen() returns it). */
  port?: number;
  /** Host name clients are told to connect to (Kafka's advertised.listeners); default the bound host. */
  advertisedHost?: string;
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
  /** A connection with no traffic in either direction for this long is closed (Kafka's connections.max.idle.ms). */
  idleTimeoutMs?: number;
  /** close() waits this long for in-flight requests to be answered, then drops the connections still open. */
  closeTimeoutMs?: number;
  /** SASL authentication (SASL_PLAINTEXT); off unless given. */
  sasl?: SaslOptions;
  logger?: ServerLogger;
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly advertisedHost: string;
  readonly nodeId: number;
  readonly clusterId: string | null;
  readonly socketRequestMaxBytes: number;
  readonly maxInFlightRequestsPerConnection: number;
  readonly connectionsMax: number;
  readonly idleTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly sasl: SaslOptions | null;
  readonly logger: ServerLogger;
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
/** Kafka's connections.max.idle.ms default: 10 minutes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 600_000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

const INT32_MAX = 0x7fff_ffff;
/** Kafka's cluster id form: 16 bytes in unpadded base64url (22 characters). */
const CLUSTER_ID_TEXT = /^[A-Za-z0-9_-]{22}$/;

const DEFAULT_LOGGER: ServerLogger = {
  info: () => {},
  warn: (message) => process.emitWarning(message, { type: 'SluiceServerWarning' }),
};

const KNOWN_KEYS = new Set<string>([
  'host',
  'port',
  'advertisedHost',
  'nodeId',
  'clusterId',
  'socketRequestMaxBytes',
  'maxInFlightRequestsPerConnection',
  'connectionsMax',
  'idleTimeoutMs',
  'closeTimeoutMs',
  'sasl',
  'logger',
]);

export function resolveServerConfig(options: KafkaServerOptions = {}): ServerConfig {
  if (options === null || typeof options !== 'object') throw new InvalidConfigError('KafkaServer options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new InvalidConfigError(`unknown KafkaServer option "${key}"; known options are ${[...KNOWN_KEYS].join(', ')}`);
    }
  }
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) throw new InvalidConfigError('host must be a non-empty host name or IP address');
  const advertisedHost = options.advertisedHost ?? defaultAdvertisedHost(host);
  if (typeof advertisedHost !== 'string' || advertisedHost.length === 0) {
    throw new InvalidConfigError('advertisedHost must be a non-empty host name clients can reach');
  }
  const clusterId = options.clusterId ?? null;
  if (clusterId !== null && (typeof clusterId !== 'string' || !CLUSTER_ID_TEXT.test(clusterId))) {
    throw new InvalidConfigError(`clusterId must be 22 characters of base64url, as Kafka's, got ${JSON.stringify(clusterId)}`);
  }
  const logger = options.logger ?? DEFAULT_LOGGER;
  if (typeof logger !== 'object' || typeof logger.info !== 'function' || typeof logger.warn !== 'function') {
    throw new InvalidConfigError('logger must be an object with info(message) and warn(message)');
  }
  return Object.freeze({
    host,
    port: integer(options.port, DEFAULT_PORT, 'port', 0, 65_535),
    advertisedHost,
    nodeId: integer(options.nodeId, 0, 'nodeId', 0, INT32_MAX),
    clusterId,
    socketRequestMaxBytes: integer(options.socketRequestMaxBytes, DEFAULT_SOCKET_REQUEST_MAX_BYTES, 'socketRequestMaxBytes', 64, INT32_MAX),
    maxInFlightRequestsPerConnection: integer(
      options.maxInFlightRequestsPerConnection,
      DEFAULT_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION,
      'maxInFlightRequestsPerConnection',
      1,
      1_000,
    ),
    connectionsMax: integer(options.connectionsMax, DEFAULT_CONNECTIONS_MAX, 'connectionsMax', 1, 1_000_000),
    idleTimeoutMs: integer(options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS, 'idleTimeoutMs', 1, INT32_MAX),
    closeTimeoutMs: integer(options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS, 'closeTimeoutMs', 0, INT32_MAX),
    sasl: options.sasl === undefined ? null : resolveSasl(options.sasl),
    logger,
  });
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

function integer(value: unknown, fallback: number, name: string, min: number, max: number): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isInteger(resolved) || resolved < min || resolved > max) {
    throw new InvalidConfigError(`${name} must be an integer from ${min} to ${max}, got ${String(resolved)}`);
  }
  return resolved;
}
