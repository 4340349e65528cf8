/**
 * `sluice serve`: the broker on a data directory behind the Kafka protocol server. Prints one
 * line, `listening on HOST:PORT`, on stdout once clients can connect (with --listener, one
 * `listening on NAME://HOST:PORT` line per listener); SIGHUP re-reads the TLS certificate and key; logs go to stderr: each
 * recovery repair as it happens, then, once serving, a one-line summary of what recovery repaired
 * in the data directory (see formatRecoverySummary). SIGINT
 * or SIGTERM closes the server (answering requests in flight) and then the broker (every log
 * flushed and closed, the data directory unlocked), and the process exits 0. A second signal
 * during that exits at once.
 *
 * With --zookeeper the broker joins a cluster as --broker-id (../../cluster/cluster-node.ts):
 * it registers once listening, before the `listening on` line, and on a stop signal leaves the
 * cluster first: its registration goes at once instead of after the session timeout.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { Broker, formatRecoverySummary } from '../../broker/broker.js';
import {
  DEFAULT_CONNECTIONS_MAX,
  DEFAULT_FETCH_MAX_BYTES,
  DEFAULT_MAX_QUEUED_RESPONSE_BYTES_PER_CONNECTION,
  DEFAULT_QUEUED_MAX_BYTES,
  DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS,
  DEFAULT_SOCKET_REQUEST_MAX_BYTES,
  DEFAULT_MAX_INCREMENTAL_FETCH_SESSION_CACHE_SLOTS,
  DEFAULT_MAX_INCREMENTAL_FETCH_SESSION_CACHE_PARTITIONS,
  DEFAULT_MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS,
  SASL_MECHANISMS,
  type AuthorizerOptions,
  parseListener,
  type KafkaServerOptions,
  type ListenerOptions,
  type SaslMechanismName,
  type SaslOptions,
} from '../../server/config.js';
import { isPrincipal } from '../../broker/acl/acl.js';
import { KafkaServer } from '../../server/server.js';
import { ClusterNode, DEFAULT_REPLICA_LAG_TIME_MAX_MS, DEFAULT_SESSION_TIMEOUT_MS } from '../../cluster/cluster-node.js';
import { HttpServer } from '../../http/http-server.js';
import { CLIENT_AUTH_MODES, DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS, type ClientAuth, type TlsOptions } from '../../server/tls-config.js';
import { ClusterError, InvalidConfigError } from '../../errors.js';
import { booleanArg, formatHostPort, integerArg } from '../arguments.js';
import { DEFAULT_DATA_DIR } from '../connection.js';
import { printError, stderrLogger, writeOut } from '../output.js';
import { startServedRegistry } from '../served-registry.js';
import { INT32_MAX } from '../../protocol/limits.js';


interface ServeFlags {
  dataDir: string;
  host: string;
  port: number;
  advertisedHost?: string;
  listener?: ParsedListener[];
  advertisedListener?: ParsedListener[];
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsClientAuth?: ClientAuth;
  tlsPrincipalMappingRules?: string;
  tlsHandshakeTimeoutMs?: number;
  shards?: number;
  numPartitions?: number;
  autoCreateTopics: boolean;
  maxPartitions?: number;
  groupInitialRebalanceDelayMs: number;
  groupConsumerHeartbeatIntervalMs: number;
  groupConsumerSessionTimeoutMs: number;
  groupMinSessionTimeoutMs?: number;
  fetchMaxBytes?: number;
  socketRequestMaxBytes?: number;
  queuedMaxBytes?: number;
  maxQueuedResponseBytesPerConnection?: number;
  connectionsMax?: number;
  connectionsMaxPerIp?: number;
  requestReceiveTimeoutMs?: number;
  saslMechanisms?: SaslMechanismName[];
  saslCredentialsFile?: string;
  maxIncrementalFetchSessionCacheSlots?: number;
  maxIncrementalFetchSessionCachePartitions?: number;
  minIncrementalFetchSessionEvictionMs?: number;
  authorizer?: boolean;
  superUsers?: string[];
  allowEveryoneIfNoAclFound?: boolean;
  httpPort?: number;
  httpTls?: boolean;
  consoleSchemaRegistry?: string;
  httpHost?: string;
  schemaRegistryPort?: number;
  brokerId: number;
  zookeeper?: string;
  zookeeperSessionTimeoutMs?: number;
  defaultReplicationFactor?: number;
  replicaLagTimeMaxMs?: number;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a data directory over the Kafka protocol')
    .option('--data-dir <dir>', 'data directory (created if missing)', DEFAULT_DATA_DIR)
    .option('--host <host>', 'interface to bind; 0.0.0.0 for every interface', '127.0.0.1')
    .option('--port <port>', 'TCP port; 0 picks a free one', integerArg(0, 65_535), 9092)
    .option('--advertised-host <host>', 'host name clients are told to connect to (default: the bound host)')
    .option(
      '--listener <NAME://host:port>',
      'a Kafka listener, repeatable: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, e.g. --listener SSL://127.0.0.1:9093 (replaces --host/--port)',
      listenerArg,
    )
    .option(
      '--advertised-listener <NAME://host:port>',
      "the address Metadata gives clients of that listener, repeatable (Kafka's advertised.listeners; default the bound address; port 0: the bound port)",
      listenerArg,
    )
    .option('--tls-cert <file>', 'PEM certificate chain of the SSL and SASL_SSL listeners')
    .option('--tls-key <file>', 'PEM private key of --tls-cert (re-read with the certificate on SIGHUP)')
    .option('--tls-ca <file>', 'PEM CA certificates client certificates must chain to')
    .addOption(
      new Option('--tls-client-auth <mode>', "ask for client certificates (Kafka's ssl.client.auth)").choices(CLIENT_AUTH_MODES).default('none'),
    )
    .option(
      '--tls-principal-mapping-rules <rules>',
      "map a client certificate's subject to the principal name (Kafka's ssl.principal.mapping.rules), e.g. 'RULE:^CN=(.*?),.*$/$1/,DEFAULT'",
    )
    .option(
      '--tls-handshake-timeout-ms <ms>',
      `a TLS handshake not finished this long after connecting is closed (default ${DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS})`,
      integerArg(1, INT32_MAX),
    )
    .option('--shards <n>', 'shard threads, each the writer of its partitions (default: cores, at most 4)', integerArg(1, 256))
    .option('--num-partitions <n>', 'partitions of auto-created topics (Kafka num.partitions, default 1)', integerArg(1, 1_000_000))
    .addOption(
      new Option('--auto-create-topics <bool>', 'create unknown topics when a Metadata request allows it; Produce never does (auto.create.topics.enable)')
        .argParser(booleanArg)
        .default(true),
    )
    .option(
      '--max-partitions <n>',
      'partitions open at most; creating more is refused with POLICY_VIOLATION (default 4096, lowered to what ulimit -n allows)',
      integerArg(1),
    )
    .option('--fetch-max-bytes <bytes>', `largest Fetch response, whatever the client asks (fetch.max.bytes, default ${DEFAULT_FETCH_MAX_BYTES})`, integerArg(1024, INT32_MAX))
    .option(
      '--socket-request-max-bytes <bytes>',
      `largest request accepted (socket.request.max.bytes, default ${DEFAULT_SOCKET_REQUEST_MAX_BYTES})`,
      integerArg(64, INT32_MAX),
    )
    .option(
      '--queued-max-bytes <bytes>',
      `request and response bytes held across connections; past it no connection is read (queued.max.request.bytes, default ${DEFAULT_QUEUED_MAX_BYTES})`,
      integerArg(64),
    )
    .option(
      '--max-queued-response-bytes-per-connection <bytes>',
      `unwritten response bytes after which a connection is not read until its client drains them (default ${DEFAULT_MAX_QUEUED_RESPONSE_BYTES_PER_CONNECTION})`,
      integerArg(1),
    )
    .option('--connections-max <n>', `open connections at most (max.connections, default ${DEFAULT_CONNECTIONS_MAX})`, integerArg(1, 1_000_000))
    .option('--connections-max-per-ip <n>', 'open connections from one IP address at most (max.connections.per.ip, default no limit)', integerArg(1, INT32_MAX))
    .option(
      '--request-receive-timeout-ms <ms>',
      `a request begun must arrive whole within this, or its connection is closed (default ${DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS})`,
      integerArg(1, INT32_MAX),
    )
    .option(
      '--group-initial-rebalance-delay-ms <ms>',
      "how long a new group's first rebalance waits for more members (Kafka group.initial.rebalance.delay.ms)",
      integerArg(0, INT32_MAX),
      3_000,
    )
    .option(
      '--max-incremental-fetch-session-cache-slots <n>',
      `fetch sessions kept at most; 0 serves every fetch without one (default ${DEFAULT_MAX_INCREMENTAL_FETCH_SESSION_CACHE_SLOTS})`,
      integerArg(0, INT32_MAX),
    )
    .option(
      '--max-incremental-fetch-session-cache-partitions <n>',
      `partitions held across all fetch sessions at most (default ${DEFAULT_MAX_INCREMENTAL_FETCH_SESSION_CACHE_PARTITIONS})`,
      integerArg(0, INT32_MAX),
    )
    .option(
      '--min-incremental-fetch-session-eviction-ms <ms>',
      `a fetch session unused this long may be evicted for a new one (default ${DEFAULT_MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS})`,
      integerArg(0, INT32_MAX),
    )
    .option(
      '--group-consumer-heartbeat-interval-ms <ms>',
      'how often members of group.protocol=consumer groups heartbeat (Kafka group.consumer.heartbeat.interval.ms)',
      integerArg(1, INT32_MAX),
      5_000,
    )
    .option(
      '--group-consumer-session-timeout-ms <ms>',
      'how long a group.protocol=consumer member may go without a heartbeat (Kafka group.consumer.session.timeout.ms)',
      integerArg(1, INT32_MAX),
      45_000,
    )
    .option(
      '--group-min-session-timeout-ms <ms>',
      'the shortest session timeout a consumer group member may ask for (Kafka group.min.session.timeout.ms, default 6000)',
      integerArg(1, INT32_MAX),
    )
    .option(
      '--sasl-mechanisms <list>',
      `SASL on the SASL_PLAINTEXT and SASL_SSL listeners (without --listener, the one listener becomes SASL_PLAINTEXT): comma-separated ${SASL_MECHANISMS.join(', ')}`,
      saslMechanismsArg,
    )
    .option('--sasl-credentials-file <file>', 'JSON file of SASL users: { "users": { "<name>": { "password": "..." } } }')
    .option('--authorizer', "enforce ACLs (Kafka's authorizer.class.name=StandardAuthorizer); manage them with `sluice acls`")
    .option('--super-users <list>', "with --authorizer: principals allowed everything, ';'-separated, e.g. 'User:admin;User:ops' (super.users)", superUsersArg)
    .option('--allow-everyone-if-no-acl-found', 'with --authorizer: a resource no ACL names is open to everyone (allow.everyone.if.no.acl.found, default false)')
    .option('--http-port <port>', "serve Burrow's lag API (/v3/kafka/local/...), Prometheus /metrics and the web console (/) over HTTP on this port; 0 picks a free one", integerArg(0, 65_535))
    .option('--http-host <host>', 'with --http-port: interface the HTTP server binds (default 127.0.0.1)')
    .option('--http-tls', 'with --http-port: serve HTTPS with the --tls-* certificate, client-certificate mode and principal mapping (re-read on SIGHUP too)')
    .option('--console-schema-registry <url>', "with --http-port: the Schema Registry the web console's message browser decodes records with, e.g. http://127.0.0.1:8081")
    .option('--broker-id <id>', "this broker's id in the cluster (Kafka's broker.id); with --zookeeper, unique among the brokers", integerArg(0, INT32_MAX), 0)
    .option('--zookeeper <host:port>', "join the cluster coordinated by this ZooKeeper (Kafka's zookeeper.connect, host:port[,host:port...][/chroot])")
    .option(
      '--zookeeper-session-timeout-ms <ms>',
      `with --zookeeper: how long after this broker goes silent the cluster counts it gone (zookeeper.session.timeout.ms, default ${DEFAULT_SESSION_TIMEOUT_MS})`,
      integerArg(1, INT32_MAX),
    )
    .option(
      '--replica-lag-time-max-ms <ms>',
      `with --zookeeper: a follower that has not caught up with the leader for this long leaves the ISR (replica.lag.time.max.ms, default ${DEFAULT_REPLICA_LAG_TIME_MAX_MS})`,
      integerArg(1, INT32_MAX),
    )
    .option('--default-replication-factor <n>', 'with --zookeeper: replicas of topics created without a replication factor (default.replication.factor, default 1)', integerArg(1, INT32_MAX))
    .option('--schema-registry-port <port>', 'also serve the Schema Registry (Confluent REST API) on this HTTP port, on --host; 0 picks a free one', integerArg(0, 65_535))
    .action(async (flags: ServeFlags, command: Command) => {
      if ((flags.saslMechanisms === undefined) !== (flags.saslCredentialsFile === undefined)) {
        command.error('error: --sasl-mechanisms and --sasl-credentials-file go together', { exitCode: 2 });
      }
      if (flags.listener !== undefined) {
        for (const name of ['host', 'port', 'advertisedHost']) {
          if (command.getOptionValueSource(name) === 'cli') command.error(`error: --listener replaces --${name === 'advertisedHost' ? 'advertised-host' : name}; give one or the other`, { exitCode: 2 });
        }
      } else if (flags.advertisedListener !== undefined) {
        command.error('error: --advertised-listener needs --listener', { exitCode: 2 });
      }
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
        command.error('error: --tls-cert and --tls-key go together', { exitCode: 2 });
      }
      if (flags.tlsCert === undefined && (flags.tlsCa !== undefined || flags.tlsPrincipalMappingRules !== undefined || flags.tlsHandshakeTimeoutMs !== undefined || flags.tlsClientAuth !== 'none')) {
        command.error('error: the --tls-* options need --tls-cert and --tls-key', { exitCode: 2 });
      }
      if (flags.authorizer !== true && (flags.superUsers !== undefined || flags.allowEveryoneIfNoAclFound !== undefined)) {
        command.error('error: --super-users and --allow-everyone-if-no-acl-found need --authorizer', { exitCode: 2 });
      }
      if (flags.httpHost !== undefined && flags.httpPort === undefined) {
        command.error('error: --http-host needs --http-port', { exitCode: 2 });
      }
      if (flags.consoleSchemaRegistry !== undefined && flags.httpPort === undefined) {
        command.error('error: --console-schema-registry needs --http-port', { exitCode: 2 });
      }
      if (flags.httpTls === true && (flags.httpPort === undefined || flags.tlsCert === undefined)) {
        command.error('error: --http-tls needs --http-port and the certificate of --tls-cert and --tls-key', { exitCode: 2 });
      }
      if (flags.zookeeper === undefined) {
        for (const name of ['zookeeperSessionTimeoutMs', 'defaultReplicationFactor', 'replicaLagTimeMaxMs']) {
          if (command.getOptionValueSource(name) === 'cli') command.error(`error: --${kebab(name)} needs --zookeeper`, { exitCode: 2 });
        }
      } else if (command.getOptionValueSource('autoCreateTopics') === 'cli' && flags.autoCreateTopics) {
        command.error('error: --auto-create-topics true is not available with --zookeeper: create topics with `sluice topics create` (CreateTopics)', { exitCode: 2 });
      }
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  const logger = stderrLogger({ info: true });
  let cluster: ClusterNode | null = null;
  const broker = await Broker.open({
    dataDir: flags.dataDir,
    ...(flags.shards === undefined ? {} : { shards: flags.shards }),
    ...(flags.numPartitions === undefined ? {} : { numPartitions: flags.numPartitions }),
    // A cluster creates topics through the controller; a broker creating one locally would hold a topic no other broker has.
    autoCreateTopicsEnable: flags.zookeeper === undefined && flags.autoCreateTopics,
    ...(flags.maxPartitions === undefined ? {} : { maxPartitions: flags.maxPartitions }),
    groupInitialRebalanceDelayMs: flags.groupInitialRebalanceDelayMs,
    // Producer ids from ZooKeeper: unique across the cluster's brokers. None is asked for before the
    // cluster node is connected (the listener opens after it).
    ...(flags.zookeeper === undefined
      ? {}
      : { producerIdBlocks: { reserveBlock: (size: number) => (cluster === null ? Promise.reject(new ClusterError('not connected to ZooKeeper yet')) : cluster.reserveProducerIdBlock(size)) } }),
    groupConsumerHeartbeatIntervalMs: flags.groupConsumerHeartbeatIntervalMs,
    groupConsumerSessionTimeoutMs: flags.groupConsumerSessionTimeoutMs,
    ...(flags.groupMinSessionTimeoutMs === undefined ? {} : { groupMinSessionTimeoutMs: flags.groupMinSessionTimeoutMs }),
    logger,
  });
  let server: KafkaServer;
  let http: HttpServer | null = null;
  try {
    cluster =
      flags.zookeeper === undefined
        ? null
        : await ClusterNode.connect(broker, {
            brokerId: flags.brokerId,
            zookeeper: flags.zookeeper,
            ...(flags.zookeeperSessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: flags.zookeeperSessionTimeoutMs }),
            ...(flags.defaultReplicationFactor === undefined ? {} : { defaultReplicationFactor: flags.defaultReplicationFactor }),
            ...(flags.replicaLagTimeMaxMs === undefined ? {} : { replicaLagTimeMaxMs: flags.replicaLagTimeMaxMs }),
            ...(flags.numPartitions === undefined ? {} : { defaultPartitions: flags.numPartitions }),
            logger,
          });
    const sasl: SaslOptions | undefined =
      flags.saslMechanisms === undefined ? undefined : { mechanisms: flags.saslMechanisms, credentialsFile: flags.saslCredentialsFile! };
    const authorizer: AuthorizerOptions | undefined =
      flags.authorizer === true ? { superUsers: flags.superUsers ?? [], allowEveryoneIfNoAclFound: flags.allowEveryoneIfNoAclFound ?? false } : undefined;
    // HTTP takes the same credentials and ACLs as the Kafka listener.
    http =
      flags.httpPort === undefined
        ? null
        : new HttpServer(broker, {
            port: flags.httpPort,
            ...(flags.httpHost === undefined ? {} : { host: flags.httpHost }),
            ...(sasl === undefined ? {} : { credentialsFile: sasl.credentialsFile }),
            ...(authorizer === undefined ? {} : { authorizer }),
            ...(flags.httpTls === true ? { tls: tlsOptions(flags) } : {}),
            ...(flags.consoleSchemaRegistry === undefined ? {} : { console: { schemaRegistry: flags.consoleSchemaRegistry } }),
          });
    server = new KafkaServer(broker, {
      ...(flags.listener === undefined
        ? { host: flags.host, port: flags.port, ...(flags.advertisedHost === undefined ? {} : { advertisedHost: flags.advertisedHost }) }
        : { listeners: listenerOptions(flags.listener, flags.advertisedListener ?? []) }),
      ...(sasl === undefined ? {} : { sasl }),
      ...(flags.tlsCert === undefined ? {} : { tls: tlsOptions(flags) }),
      ...(authorizer === undefined ? {} : { authorizer }),
      ...(http === null ? {} : { requestObserver: http.requestObserver }),
      ...limitOptions(flags),
      nodeId: flags.brokerId,
      ...(cluster === null ? {} : { cluster, clusterId: cluster.clusterId }),
      logger,
    });
    http?.attachKafkaServer(server);
    const stopRequested = stopSignal();
    // HTTP first: a failure to bind either is then answered by the catch below, with nothing left listening.
    if (http !== null) {
      const bound = await http.listen();
      logger.info(`serving ${http.https ? 'HTTPS' : 'HTTP'} (Burrow lag API, Prometheus /metrics) on ${formatHostPort(bound.host, bound.port)}`);
    }
    const address = await server.listen();
    // Registered once clients can connect: the cluster then names this broker to them.
    await cluster?.register(server.advertisedAddresses.map(({ name, host, port }) => ({ listener: name, host, port })));
    // Once serving, so a start that fails still reports its one error line (each repair was logged as it happened).
    logger.info(formatRecoverySummary(broker.recovery));
    const reload = reloadOnHangup(server, http, logger);
    await writeOut(
      flags.listener === undefined
        ? `listening on ${formatHostPort(address.host, address.port)}\n`
        : server.addresses.map((bound) => `listening on ${bound.name}://${formatHostPort(bound.host, bound.port)}\n`).join(''),
    );
    const registry = flags.schemaRegistryPort === undefined ? null : await startServedRegistry({ broker }, flags.host, flags.schemaRegistryPort);
    await stopRequested;
    await registry?.close();
    process.off('SIGHUP', reload);
  } catch (error) {
    cluster?.close();
    await http?.close();
    await broker.close();
    throw error;
  }
  // Out of the cluster first: the registration goes at once, not after the session timeout.
  cluster?.close();
  await http?.close();
  await server.close();
  await broker.close();
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

interface ParsedListener {
  name: ListenerOptions['name'];
  host: string | undefined;
  port: number;
}

function listenerArg(text: string, previous: ParsedListener[] = []): ParsedListener[] {
  try {
    return [...previous, parseListener(text)];
  } catch (error) {
    if (error instanceof InvalidConfigError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

/** The --listener flags, each with the --advertised-listener of the same name when one is given. */
function listenerOptions(listeners: readonly ParsedListener[], advertised: readonly ParsedListener[]): ListenerOptions[] {
  for (const entry of advertised) {
    if (!listeners.some((listener) => listener.name === entry.name)) {
      throw new InvalidConfigError(`--advertised-listener ${entry.name} names no --listener; listeners are ${listeners.map((l) => l.name).join(', ')}`);
    }
  }
  return listeners.map((listener) => {
    const own = advertised.find((entry) => entry.name === listener.name);
    return {
      name: listener.name,
      port: listener.port,
      ...(listener.host === undefined ? {} : { host: listener.host }),
      ...(own?.host === undefined ? {} : { advertisedHost: own.host }),
      ...(own === undefined || own.port === 0 ? {} : { advertisedPort: own.port }),
    };
  });
}

function tlsOptions(flags: ServeFlags): TlsOptions {
  return {
    certFile: flags.tlsCert!,
    keyFile: flags.tlsKey!,
    ...(flags.tlsCa === undefined ? {} : { caFile: flags.tlsCa }),
    clientAuth: flags.tlsClientAuth ?? 'none',
    ...(flags.tlsPrincipalMappingRules === undefined ? {} : { principalMappingRules: flags.tlsPrincipalMappingRules }),
    ...(flags.tlsHandshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: flags.tlsHandshakeTimeoutMs }),
  };
}

/**
 * SIGHUP re-reads the TLS certificate and key (a renewed certificate) without closing a listener;
 * files that cannot be used are reported and the current ones kept. Returns the handler, to remove.
 */
function reloadOnHangup(server: KafkaServer, http: HttpServer | null, logger: { warn(message: string): void }): () => void {
  const reload = (): void => {
    if (server.config.tls === null && http?.https !== true) {
      logger.warn('SIGHUP: no SSL or SASL_SSL listener and no HTTPS, nothing to reload');
      return;
    }
    // Each server re-reads the files itself: one that cannot keeps its current certificate.
    const reloads: [string, () => void][] = [];
    if (server.config.tls !== null) reloads.push(['TLS listeners', () => server.reloadTls()]);
    if (http?.https === true) reloads.push(['HTTPS', () => http.reloadTls()]);
    for (const [what, reloadOne] of reloads) {
      try {
        reloadOne();
      } catch (error) {
        logger.warn(`SIGHUP: kept the current ${what} certificate: ${(error as Error).message}`);
      }
    }
  };
  process.on('SIGHUP', reload);
  return reload;
}

/** The server's limits given on the command line; the rest keep the server's defaults. */
function limitOptions(flags: ServeFlags): KafkaServerOptions {
  const options: KafkaServerOptions = {};
  const keys = [
    'fetchMaxBytes',
    'socketRequestMaxBytes',
    'queuedMaxBytes',
    'maxQueuedResponseBytesPerConnection',
    'connectionsMax',
    'connectionsMaxPerIp',
    'requestReceiveTimeoutMs',
    'maxIncrementalFetchSessionCacheSlots',
    'maxIncrementalFetchSessionCachePartitions',
    'minIncrementalFetchSessionEvictionMs',
  ] as const;
  for (const key of keys) if (flags[key] !== undefined) options[key] = flags[key];
  return options;
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once, without a clean close. */
export function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) {
        printError(`${signal} again: exiting without closing the logs (they recover at the next start)`);
        process.exit(1);
      }
      received = true;
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Kafka's super.users list: principals separated by ';' (a name may hold ','), each "<type>:<name>". */
function superUsersArg(text: string): string[] {
  const principals = text.split(';').map((principal) => principal.trim()).filter((principal) => principal.length > 0);
  for (const principal of principals) {
    if (!isPrincipal(principal)) throw new InvalidArgumentError(`"${principal}" is not a principal "<type>:<name>", such as User:admin`);
  }
  return principals;
}

function saslMechanismsArg(text: string): SaslMechanismName[] {
  const names = text.split(',').map((name) => name.trim().toUpperCase());
  for (const name of names) {
    if (!SASL_MECHANISMS.includes(name as SaslMechanismName)) {
      throw new InvalidArgumentError(`unknown SASL mechanism "${name}"; use ${SASL_MECHANISMS.join(' or ')}`);
    }
  }
  return names as SaslMechanismName[];
}
