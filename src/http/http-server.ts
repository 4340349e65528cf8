/**
 * Sluice's HTTP server (fastify): Burrow's lag API (burrow.ts), Prometheus metrics at
 * /metrics (metrics.ts) and a web console at / (console/) over one broker. Off unless asked
 * for (`sluice serve --http-port`, the `http` option of Sluice.open); binds 127.0.0.1 unless told. With a SASL credentials file
 * every request needs HTTP basic auth, and with an authorizer the broker's ACLs apply
 * (access.ts): DESCRIBE on a topic or group to see it, DESCRIBE on the cluster for /metrics.
 * With the `tls` option it serves HTTPS with the Kafka listeners' certificate options
 * (src/server/tls-config.ts): the same files, client-certificate modes and principal mapping, a
 * verified client certificate naming the caller when no basic auth is asked for, and
 * `reloadTls()` re-reading the files without closing the listener.
 */
import type { AddressInfo } from 'node:net';
import type { Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AclCaller } from '../broker/acl/acl-authorizer.js';
import type { Broker } from '../broker/broker.js';
import { SchemaRegistryClient } from '../client/schema-registry-client.js';
import { ClosedError, InvalidConfigError } from '../errors.js';
import type { AuthorizerOptions, RequestObserver } from '../server/config.js';
import type { KafkaServer } from '../server/server.js';
import { loadTlsServerOptions, resolveTlsOptions, tlsClientPrincipal, type ResolvedTlsOptions, type TlsOptions } from '../server/tls-config.js';
import { HttpAccess } from './access.js';
import { registerBurrowRoutes, replyError } from './burrow.js';
import { checkConsoleOptions, registerConsoleRoutes, type ConsoleOptions } from './console/console-routes.js';
import { BrokerHistory } from './console/history.js';
import { SluiceMetrics } from './metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who asks, as the ACLs see it: set before any route runs. */
    caller: AclCaller;
  }
}

export interface HttpOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind; 0.0.0.0 for every interface. Default 127.0.0.1. */
  host?: string;
  /** The cluster name in Burrow's paths, /v3/kafka/{cluster}/... Default "local". */
  clusterName?: string;
  /** The SASL credentials file (SaslOptions.credentialsFile): given, every request needs basic auth as one of its users. */
  credentialsFile?: string;
  /** Apply the broker's ACLs to HTTP requests, as the Kafka server's authorizer option does. */
  authorizer?: AuthorizerOptions;
  /** Serve HTTPS with these certificate options (the Kafka server's `tls` option). */
  tls?: TlsOptions;
  /** The web console at / (console/console-routes.ts): on unless false. */
  console?: ConsoleOptions | false;
}

export const DEFAULT_HTTP_HOST = '127.0.0.1';
export const DEFAULT_CLUSTER_NAME = 'local';
const KNOWN_KEYS = new Set(['port', 'host', 'clusterName', 'credentialsFile', 'authorizer', 'tls', 'console']);

export class HttpServer {
  private readonly app: FastifyInstance;
  private readonly metrics: SluiceMetrics;
  private readonly history: BrokerHistory | null;
  private readonly options: Required<Pick<HttpOptions, 'port' | 'host' | 'clusterName'>>;
  private readonly tls: ResolvedTlsOptions | null;
  private kafkaServer: KafkaServer | null = null;
  private listening: Promise<{ host: string; port: number }> | null = null;
  private closing: Promise<void> | null = null;

  constructor(broker: Broker, options: HttpOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidConfigError('http options must be an object such as { port: 8080 }');
    for (const key of Object.keys(options)) {
      if (!KNOWN_KEYS.has(key)) throw new InvalidConfigError(`unknown http option "${key}"; known options are ${[...KNOWN_KEYS].join(', ')}`);
    }
    const { port, host = DEFAULT_HTTP_HOST, clusterName = DEFAULT_CLUSTER_NAME } = options;
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidConfigError(`http port must be an integer from 0 to 65535, got ${String(port)}`);
    if (typeof host !== 'string' || host.length === 0) throw new InvalidConfigError('http host must be a non-empty string such as 127.0.0.1');
    if (typeof clusterName !== 'string' || !/^[A-Za-z0-9._-]+$/.test(clusterName)) {
      throw new InvalidConfigError(`http clusterName must be letters, digits, '.', '_' or '-', got ${JSON.stringify(clusterName)}`);
    }
    if (options.credentialsFile !== undefined && typeof options.credentialsFile !== 'string') {
      throw new InvalidConfigError('http credentialsFile must be the path of the SASL credentials JSON file');
    }
    this.options = { port, host, clusterName };
    const access = new HttpAccess(options, () => broker.aclBindings());
    this.metrics = new SluiceMetrics(broker, clusterName);
    const tls = options.tls === undefined ? null : resolveTlsOptions(options.tls);
    this.tls = tls;
    // Connections still open at close (keep-alive clients) are dropped, so close never waits on a client.
    const app = (
      tls === null
        ? Fastify({ logger: false, forceCloseConnections: true })
        : Fastify({ logger: false, forceCloseConnections: true, https: loadTlsServerOptions(tls) })
    ) as FastifyInstance;
    this.app = app;
    app.decorateRequest('caller', null as unknown as AclCaller);
    app.addHook('onRequest', async (request, response) => {
      // The TLS layer asks for a client certificate but leaves judging it to here, as the Kafka listeners do.
      const certificate = tls === null ? null : tlsClientPrincipal(request.socket as TLSSocket, tls);
      if (certificate !== null && 'refused' in certificate) {
        response.header('connection', 'close');
        return replyError(request, response, 403, certificate.refused);
      }
      const caller = access.authenticate(request.headers, request.socket.remoteAddress ?? '');
      if (caller === null) {
        response.header('www-authenticate', 'Basic realm="sluice", charset="UTF-8"');
        return replyError(request, response, 401, 'authentication required: HTTP basic auth with a user of the SASL credentials file');
      }
      // As on SASL_SSL: the basic-auth user when there is one, else the certificate's principal.
      request.caller = certificate !== null && !access.requiresAuthentication ? { ...caller, principal: certificate.principal } : caller;
    });
    registerBurrowRoutes(app, {
      broker,
      clusterName,
      access,
      servers: () => {
        const kafka = this.kafkaServer;
        const address = kafka?.address ?? null;
        return kafka === null || address === null ? [] : [`${kafka.config.advertisedHost}:${address.port}`];
      },
    });
    const consoleOptions = options.console ?? {};
    if (consoleOptions === false) {
      this.history = null;
    } else {
      const refreshSeconds = checkConsoleOptions(consoleOptions);
      const { sampleIntervalMs, historySamples, schemaRegistry } = consoleOptions;
      if (schemaRegistry !== undefined && typeof schemaRegistry !== 'string') {
        throw new InvalidConfigError('http console schemaRegistry must be the base URL of a Schema Registry, such as http://127.0.0.1:8081');
      }
      const registry = schemaRegistry === undefined ? null : new SchemaRegistryClient(schemaRegistry);
      this.history = new BrokerHistory(broker, { sampleIntervalMs, historySamples });
      registerConsoleRoutes(app, { broker, clusterName, access, history: this.history, refreshSeconds, registry });
    }
    const registry = this.metrics.registry;
    app.get('/metrics', async (request, response) => {
      if (!access.mayDescribe(request.caller, 'CLUSTER', '')) return replyError(request, response, 403, 'not authorized to describe the cluster (needed for /metrics)');
      return response.type(registry.contentType).send(await registry.metrics());
    });
    // Burrow's answer to any other path.
    app.setNotFoundHandler((_request, response) =>
      response.code(404).type('application/json').send({ error: true, message: 'invalid request type', result: {} }),
    );
  }

  /** Give it to the KafkaServer of the same broker (its requestObserver option), for per-API request metrics. */
  get requestObserver(): RequestObserver {
    return this.metrics.requestObserver;
  }

  /** The Kafka protocol server of the same broker: its connections in /metrics, its address in Burrow's cluster detail. */
  attachKafkaServer(server: KafkaServer): void {
    this.kafkaServer = server;
    this.metrics.attachKafkaServer(server);
  }

  /** Whether it serves HTTPS. */
  get https(): boolean {
    return this.tls !== null;
  }

  /**
   * Re-reads the certificate, key and CA files for new connections (open ones keep theirs).
   * Throws InvalidConfigError, keeping the current ones, when the files do not make a certificate.
   */
  reloadTls(): void {
    if (this.tls === null) throw new InvalidConfigError('the HTTP server was started without tls; there is no certificate to reload');
    (this.app.server as HttpsServer).setSecureContext(loadTlsServerOptions(this.tls));
  }

  /** Binds and serves; resolves with the bound address (the real port when port was 0). */
  listen(): Promise<{ host: string; port: number }> {
    if (this.closing !== null) return Promise.reject(new ClosedError('HTTP server'));
    this.listening ??= this.app.listen({ port: this.options.port, host: this.options.host }).then(() => {
      this.history?.start();
      const address = this.app.server.address() as AddressInfo;
      return { host: address.address, port: address.port };
    });
    return this.listening;
  }

  /** Stops serving; idempotent. The broker stays open: it is the caller's. */
  close(): Promise<void> {
    this.history?.stop();
    this.closing ??= this.app.close();
    return this.closing;
  }
}
