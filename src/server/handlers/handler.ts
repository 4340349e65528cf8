/**
 * What every API handler is: the API it serves, the highest version it serves when that is below
 * the codec's, and a function from a decoded request body to a response body. Handlers see the
 * broker and the connection only through RequestContext, so each stays a small module that maps
 * one Kafka API onto BrokerApi.
 */
import type { AclAuthorizer } from '../../broker/acl/acl-authorizer.js';
import type { BrokerApi } from '../../broker/broker-api.js';
import { KafkaApiError, ShardFailedError } from '../../errors.js';
import type { AnyApi, RequestOf, ResponseInputOf } from '../../protocol/api/api.js';
import { ErrorCode, kafkaErrorCode } from '../../protocol/api/error-codes.js';
import type { ApiVersionRange } from '../../protocol/api/registry.js';
import type { ResolvedListener, ServerConfig } from '../config.js';
import type { FetchSessionCache } from '../fetch-session-cache.js';
import type { SaslSession } from '../sasl/session.js';

/** A listener once bound: its real port, and the port it advertises. */
export interface BoundListener extends ResolvedListener {
  readonly advertisedPort: number;
}

/** What the server tells clients about itself, as seen through one listener. */
export interface ServerInfo {
  readonly config: ServerConfig;
  readonly nodeId: number;
  /** Host and port clients connect to: the advertised address of the listener the client came through. */
  readonly host: string;
  readonly port: number;
  /** The listener the client came through. */
  readonly listener: BoundListener;
  /** Every listener of the server (DescribeConfigs' listeners and advertised.listeners). */
  readonly listeners: readonly BoundListener[];
  readonly clusterId: string;
  /** The ApiVersions answer: only APIs with a handler, at the versions their handlers serve. */
  readonly apiVersions: readonly ApiVersionRange[];
  /** The server's fetch sessions (KIP-227), shared by all connections as Kafka's are. */
  readonly fetchSessions: FetchSessionCache;
  /** The ACL authorizer, or null when none is configured (everything allowed; see ../authorizer.ts). */
  readonly authorizer: AclAuthorizer | null;
}

export interface RequestContext {
  readonly broker: BrokerApi;
  readonly server: ServerInfo;
  readonly apiVersion: number;
  /** Empty when the client sent none (Kafka reads a null client id as ""). */
  readonly clientId: string;
  /** The peer as Kafka reports it in DescribeGroups: "/" + IP address. */
  readonly clientHost: string;
  /** Aborted when the connection closes or the server shuts down: long waits end early. */
  readonly signal: AbortSignal;
  /** The connection's SASL state, or null on a listener without SASL. */
  readonly sasl: SaslSession | null;
  /**
   * Kafka's principal of the connection: "User:<sasl user>" once SASL authenticated, else the TLS
   * client certificate's mapped subject, else User:ANONYMOUS.
   */
  readonly principal: string;
  /** Kafka's error code for a thrown error; an unexpected one is logged (it is a bug or an I/O failure). */
  errorCode(error: unknown): number;
  /** Closes the connection once this request's response is written (failed authentication). */
  closeAfterResponse(): void;
}

export type HandlerResult<A extends AnyApi> = ResponseInputOf<A> | null;

export interface Handler<A extends AnyApi> {
  readonly api: A;
  /** Highest version served, when lower than the codec's (capped features). */
  readonly maxVersion?: number;
  /** The response body, or null to send none (Produce with acks 0). */
  handle(ctx: RequestContext, request: RequestOf<A>): HandlerResult<A> | Promise<HandlerResult<A>>;
}

export type AnyHandler = Handler<AnyApi>;

export function defineHandler<A extends AnyApi>(handler: Handler<A>): Handler<A> {
  return handler;
}

/**
 * Thrown by a handler that must answer by closing the connection instead of responding: Kafka's
 * way to tell an acks=0 producer that its request failed.
 */
export class CloseConnection extends Error {}

/**
 * Kafka's error code for an error thrown by the broker. A shard that failed mid-request maps to
 * REQUEST_TIMED_OUT: as after a Kafka timeout, the request may or may not have taken effect and
 * the client retries.
 */
export function errorCodeOf(error: unknown): number {
  if (error instanceof KafkaApiError) return error.kafkaErrorCode;
  if (error instanceof ShardFailedError) return ErrorCode.REQUEST_TIMED_OUT;
  return kafkaErrorCode(error);
}

/** The message to put in a response's errorMessage field. */
export function errorMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
