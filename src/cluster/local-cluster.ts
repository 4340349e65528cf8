/**
 * A cluster on this machine, for `sluice cluster up` and the cluster tests: its own ZooKeeper
 * (./zookeeper-server.ts) and N `sluice serve --zookeeper` broker processes with ids 1..N on
 * 127.0.0.1, each with its own data directory under `dir` (zookeeper/, broker-<id>/). A broker is
 * up once it printed its `listening on` line, which `sluice serve` prints after registering in
 * ZooKeeper. Broker output goes to broker-<id>/serve.log. A broker can be stopped (SIGTERM, or
 * SIGKILL as a crash) and started again on the same port and data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { compiledSiblingUrl } from '../compiled-module-url.js';
import { ClusterError, InvalidConfigError } from '../errors.js';
import { ZooKeeperServer } from './zookeeper-server.js';

export interface LocalClusterOptions {
  /** Root of the cluster's files; created if missing. */
  readonly dir: string;
  /** Broker count, ids 1..brokers. */
  readonly brokers: number;
  /** ZooKeeper's client port; 0 (default) picks a free one. */
  readonly zookeeperPort?: number;
  /** Broker 1's port, broker n's is firstPort + n - 1; 0 (default) picks free ones. */
  readonly firstPort?: number;
  /** Each broker's --zookeeper-session-timeout-ms (default 6000: a killed broker leaves within seconds). */
  readonly sessionTimeoutMs?: number;
  /** More `sluice serve` arguments for every broker. */
  readonly serveArgs?: readonly string[];
  /** Node.js flags for every broker process, before the script (--cpu-prof, which NODE_OPTIONS refuses). */
  readonly nodeArgs?: readonly string[];
  /** How long a broker may take to print `listening on` (default 60000). */
  readonly startTimeoutMs?: number;
}

export interface LocalBroker {
  readonly id: number;
  readonly dataDir: string;
  /** The port it listens on (fixed after its first start, so restarts keep it). */
  port: number;
  process: ChildProcess | null;
}

const CLI_MAIN = fileURLToPath(compiledSiblingUrl(import.meta.url, '../cli/main.js'));
export const DEFAULT_LOCAL_SESSION_TIMEOUT_MS = 6_000;

export class LocalCluster {
  readonly brokers = new Map<number, LocalBroker>();

  private constructor(
    readonly zookeeper: ZooKeeperServer,
    private readonly options: LocalClusterOptions,
  ) {}

  /** Starts ZooKeeper, then every broker; on a failure, stops what started and throws. */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    if (!Number.isInteger(options.brokers) || options.brokers < 1 || options.brokers > 64) {
      throw new InvalidConfigError(`brokers must be an integer from 1 to 64, got ${options.brokers}`);
    }
    mkdirSync(options.dir, { recursive: true });
    const zookeeper = await ZooKeeperServer.start({ dir: join(options.dir, 'zookeeper'), port: options.zookeeperPort ?? 0 });
    const cluster = new LocalCluster(zookeeper, options);
    try {
      for (let id = 1; id <= options.brokers; id++) {
        const port = options.firstPort === undefined || options.firstPort === 0 ? 0 : options.firstPort + id - 1;
        cluster.brokers.set(id, { id, dataDir: join(options.dir, `broker-${id}`), port, process: null });
      }
      // One at a time: each start is a JVM-free Node process, but the first sets up ZooKeeper's paths.
      for (const id of cluster.brokers.keys()) await cluster.startBroker(id);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** host:port of every broker, for --bootstrap-server. */
  get bootstrap(): string {
    return [...this.brokers.values()].map((broker) => `127.0.0.1:${broker.port}`).join(',');
  }

  /**
   * Starts (or restarts) broker `id` on its port and data directory; resolves once it is
   * registered and listening. `serveArgs` are added to the cluster's for this start.
   */
  async startBroker(id: number, serveArgs: readonly string[] = []): Promise<void> {
    const broker = this.requireBroker(id);
    if (broker.process !== null) throw new ClusterError(`broker ${id} is running already`);
    mkdirSync(broker.dataDir, { recursive: true });
    const log = openSync(join(broker.dataDir, 'serve.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        [
          ...(this.options.nodeArgs ?? []),
          CLI_MAIN,
          'serve',
          '--broker-id', String(id),
          '--zookeeper', this.zookeeper.connectString,
          '--zookeeper-session-timeout-ms', String(this.options.sessionTimeoutMs ?? DEFAULT_LOCAL_SESSION_TIMEOUT_MS),
          '--data-dir', broker.dataDir,
          '--host', '127.0.0.1',
          '--port', String(broker.port),
          ...(this.options.serveArgs ?? []),
          ...serveArgs,
        ],
        { stdio: ['ignore', 'pipe', log], detached: true },
      );
    } finally {
      closeSync(log);
    }
    broker.process = child;
    child.once('exit', () => {
      if (broker.process === child) broker.process = null;
    });
    broker.port = await listeningPort(child, id, this.options.startTimeoutMs ?? 60_000, join(broker.dataDir, 'serve.log'));
  }

  /** Stops broker `id` and waits for its exit: SIGTERM closes it cleanly, SIGKILL is a crash. */
  async stopBroker(id: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.requireBroker(id).process;
    if (child === null) return;
    await stopChild(child, signal);
  }

  /** Stops every broker (cleanly), then ZooKeeper. */
  async close(): Promise<void> {
    await Promise.all([...this.brokers.keys()].map((id) => this.stopBroker(id)));
    await this.zookeeper.stop();
  }

  private requireBroker(id: number): LocalBroker {
    const broker = this.brokers.get(id);
    if (broker === undefined) throw new InvalidConfigError(`this cluster has brokers 1 to ${this.brokers.size}, not ${id}`);
    return broker;
  }
}

/** Sends `signal` (SIGKILL after 20 s of SIGTERM) and resolves on exit. */
function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** The port of the broker's `listening on HOST:PORT` line; throws if it exits or stays silent. */
function listeningPort(child: ChildProcess, id: number, timeoutMs: number, logFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(new ClusterError(`broker ${id} ${why}; see ${logFile}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited (${signal ?? `code ${code}`}) before listening`);
    const timer = setTimeout(() => fail(`did not start listening within ${timeoutMs} ms`), timeoutMs);
    child.once('exit', onExit);
    child.once('error', (error) => fail(`could not be started: ${error.message}`));
    lines.on('line', (line) => {
      const match = /^listening on .*:(\d+)$/.exec(line);
      if (match === null) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(Number(match[1]));
    });
  });
}
