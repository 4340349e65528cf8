/**
 * A standalone Apache ZooKeeper server for a local cluster (`sluice cluster up`) and the cluster
 * tests: the installed ZooKeeper (Debian's `zookeeper` package, its zkServer.sh
 * start-foreground, which execs the JVM so the child is ZooKeeper itself) on 127.0.0.1 and a free
 * port, with a generated zoo.cfg and its own data directory. It is ready once it answers the
 * `ruok` four-letter command with `imok`; its output goes to zookeeper.log in the directory.
 * The tick is short (500 ms) so session timeouts of a few seconds are allowed (ZooKeeper clamps a
 * client's timeout to 2 to 20 ticks): a killed broker then leaves the cluster within seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ClusterError } from '../errors.js';

export const DEFAULT_ZK_SERVER_SCRIPT = '/usr/share/zookeeper/bin/zkServer.sh';
const TICK_MS = 500;
const READY_POLL_MS = 100;

export interface ZooKeeperServerOptions {
  /** Holds zoo.cfg, the snapshots and logs (data/) and zookeeper.log; created if missing. */
  readonly dir: string;
  /** Client port; 0 (default) picks a free one. */
  readonly port?: number;
  /** zkServer.sh of the installed ZooKeeper (default Debian's). */
  readonly script?: string;
  /** How long ZooKeeper may take to answer `ruok` (the JVM's start; default 60000). */
  readonly startTimeoutMs?: number;
}

export class ZooKeeperServer {
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly dir: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
      // A script that cannot be run at all (spawn failed) never exits: it is as good as exited.
      child.once('error', () => resolve());
    });
  }

  /** host:port, for --zookeeper. */
  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(options: ZooKeeperServerOptions): Promise<ZooKeeperServer> {
    const script = options.script ?? DEFAULT_ZK_SERVER_SCRIPT;
    if (!existsSync(script)) {
      throw new ClusterError(`ZooKeeper is not installed (${script} is missing): install the zookeeper package (apt-get install zookeeper) and Java`);
    }
    const port = options.port === undefined || options.port === 0 ? await freePort() : options.port;
    const dataDir = join(options.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const config = join(options.dir, 'zoo.cfg');
    writeFileSync(
      config,
      [
        `tickTime=${TICK_MS}`,
        `dataDir=${dataDir}`,
        `clientPort=${port}`,
        'clientPortAddress=127.0.0.1',
        // No AdminServer: it would bind 8080, and a second cluster on the machine would clash.
        'admin.enableServer=false',
        '4lw.commands.whitelist=ruok,srvr',
        'maxClientCnxns=0',
        '',
      ].join('\n'),
    );
    const log = openSync(join(options.dir, 'zookeeper.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawn(script, ['start-foreground', config], {
        stdio: ['ignore', log, log],
        // Its own process group: a terminal's Ctrl-C reaches only `sluice cluster up`, which stops the brokers before ZooKeeper.
        detached: true,
      });
    } finally {
      closeSync(log);
    }
    const server = new ZooKeeperServer(child, port, options.dir);
    try {
      await server.untilReady(options.startTimeoutMs ?? 60_000);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  private async untilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      if (exited) throw new ClusterError(`ZooKeeper exited while starting; see ${join(this.dir, 'zookeeper.log')}`);
      if ((await fourLetterWord(this.port, 'ruok')) === 'imok') return;
      if (Date.now() > deadline) throw new ClusterError(`ZooKeeper did not answer on port ${this.port} within ${timeoutMs} ms; see ${join(this.dir, 'zookeeper.log')}`);
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }

  /** Stops ZooKeeper (SIGTERM; SIGKILL if it has not exited after 10 s) and waits for its exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** A port free on 127.0.0.1 now (the OS's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** ZooKeeper's answer to a four-letter command, or '' when it does not answer. */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(2_000, () => socket.destroy());
    socket.on('connect', () => socket.end(word));
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answer));
  });
}
