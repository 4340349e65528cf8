/**
 * A ZooKeeper session as promises, over node-zookeeper-client (pure JavaScript: see
 * docs/ARCHITECTURE.md for why this client). Only what the cluster uses: create, read with an
 * optional one-shot watch, compare-and-set writes, multi-op transactions, and the session's
 * expiry. A missing node reads as null and a lost race (node exists, version moved) as a typed
 * outcome, so callers decide; every other ZooKeeper failure throws ClusterError naming the path.
 */
import zk from 'node-zookeeper-client';
import { ClusterError } from '../errors.js';

export interface ZNodeData {
  readonly data: Buffer;
  /** The node's data version, for a compare-and-set write (ZooKeeper's Stat.version). */
  readonly version: number;
}

/** A watch fires once: on any change of the node (or its children), then it is gone. */
export type Watcher = () => void;

export type CreateMode = 'persistent' | 'ephemeral';

/** One operation of a multi-op transaction (ZooKeeper's multi): all apply or none does. */
export type ZkOp =
  | { op: 'create'; path: string; data: Buffer; mode?: CreateMode }
  | { op: 'setData'; path: string; data: Buffer; version: number }
  | { op: 'check'; path: string; version: number }
  | { op: 'remove'; path: string; version?: number };

const MODES: Record<CreateMode, number> = { persistent: zk.CreateMode.PERSISTENT, ephemeral: zk.CreateMode.EPHEMERAL };

export interface ZooKeeperSessionOptions {
  /** Kafka's zookeeper.session.timeout.ms: how long the session outlives a silent broker. */
  readonly sessionTimeoutMs: number;
  /** Kafka's zookeeper.connection.timeout.ms: connect fails after this long. */
  readonly connectTimeoutMs: number;
}

export class ZooKeeperSession {
  private expiredHandler: (() => void) | null = null;
  private closed = false;

  private constructor(
    private readonly client: zk.Client,
    readonly connectString: string,
  ) {
    client.on('state', (state) => {
      if (state === zk.State.EXPIRED && !this.closed) this.expiredHandler?.();
    });
  }

  /** Connects and resolves once the session is established; throws ClusterError after connectTimeoutMs. */
  static async connect(connectString: string, options: ZooKeeperSessionOptions): Promise<ZooKeeperSession> {
    const client = zk.createClient(connectString, { sessionTimeout: options.sessionTimeoutMs, spinDelay: 200, retries: 1 });
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(new ClusterError(`could not connect to ZooKeeper at ${connectString} within ${options.connectTimeoutMs} ms; is it running?`));
      }, options.connectTimeoutMs);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    client.connect();
    await connected;
    return new ZooKeeperSession(client, connectString);
  }

  /** Called once if ZooKeeper expires this session (ephemeral nodes gone, watches lost). */
  onExpired(handler: () => void): void {
    this.expiredHandler = handler;
  }

  /** Creates the node; false when it exists already. */
  create(path: string, data: Buffer, mode: CreateMode = 'persistent'): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.client.create(path, data, MODES[mode], (error) => {
        if (error === null) resolve(true);
        else if (codeOf(error) === zk.Exception.NODE_EXISTS) resolve(false);
        else reject(failure('create', path, error));
      });
    });
  }

  /** Creates the node and any missing parents (persistent); succeeds when it exists already. */
  ensurePath(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.mkdirp(path, (error) => (error === null ? resolve() : reject(failure('create', path, error))));
    });
  }

  /** The node's data and version, or null when there is no such node. The watch is set either way (exists() when absent). */
  async getData(path: string, watcher?: Watcher): Promise<ZNodeData | null> {
    const found = await new Promise<ZNodeData | null>((resolve, reject) => {
      const callback = (error: Error | zk.Exception | null, data: Buffer, stat: zk.Stat): void => {
        if (error === null) resolve({ data: data ?? Buffer.alloc(0), version: stat.version });
        else if (codeOf(error) === zk.Exception.NO_NODE) resolve(null);
        else reject(failure('read', path, error));
      };
      if (watcher === undefined) this.client.getData(path, callback);
      else this.client.getData(path, () => watcher(), callback);
    });
    if (found !== null || watcher === undefined) return found;
    // getData sets no watch on a missing node; exists() does, so the caller hears of its creation.
    // Created in between: read it (the exists watch fires too; handlers re-read, so twice is harmless).
    return (await this.exists(path, watcher)) ? this.getData(path, watcher) : null;
  }

  /** Whether the node exists, watching its creation, change or deletion when a watcher is given. */
  exists(path: string, watcher?: Watcher): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const callback = (error: Error | zk.Exception | null, stat: zk.Stat): void =>
        error === null ? resolve(stat !== null && stat !== undefined) : reject(failure('check', path, error));
      if (watcher === undefined) this.client.exists(path, callback);
      else this.client.exists(path, () => watcher(), callback);
    });
  }

  /** The node's children, or null when there is no such node. */
  getChildren(path: string, watcher?: Watcher): Promise<string[] | null> {
    return new Promise((resolve, reject) => {
      const callback = (error: Error | zk.Exception | null, children: string[]): void => {
        if (error === null) resolve(children);
        else if (codeOf(error) === zk.Exception.NO_NODE) resolve(null);
        else reject(failure('list', path, error));
      };
      if (watcher === undefined) this.client.getChildren(path, callback);
      else this.client.getChildren(path, () => watcher(), callback);
    });
  }

  /** Compare-and-set: writes only if the node's version is still `version`; resolves with the new version, or null when it moved on (or the node is gone). */
  setData(path: string, data: Buffer, version: number): Promise<number | null> {
    return new Promise((resolve, reject) => {
      this.client.setData(path, data, version, (error, stat) => {
        if (error === null) resolve(stat.version);
        else if (codeOf(error) === zk.Exception.BAD_VERSION || codeOf(error) === zk.Exception.NO_NODE) resolve(null);
        else reject(failure('write', path, error));
      });
    });
  }

  /** Removes the node; false when it was not there. */
  remove(path: string, version = -1): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.client.remove(path, version, (error) => {
        if (error === null) resolve(true);
        else if (codeOf(error) === zk.Exception.NO_NODE) resolve(false);
        else reject(failure('remove', path, error));
      });
    });
  }

  /** Removes the node and everything under it, children first; a node already gone is skipped. */
  async removeTree(path: string): Promise<void> {
    for (const child of (await this.getChildren(path)) ?? []) await this.removeTree(`${path}/${child}`);
    await this.remove(path);
  }

  /**
   * Applies every operation or none (ZooKeeper's multi). Resolves true when applied, false when a
   * version check failed or a node to create exists (a fenced writer or a lost race).
   */
  multi(ops: readonly ZkOp[]): Promise<boolean> {
    const transaction = this.client.transaction();
    for (const op of ops) {
      if (op.op === 'create') transaction.create(op.path, op.data, MODES[op.mode ?? 'persistent']);
      else if (op.op === 'setData') transaction.setData(op.path, op.data, op.version);
      else if (op.op === 'check') transaction.check(op.path, op.version);
      else transaction.remove(op.path, op.version ?? -1);
    }
    return new Promise((resolve, reject) => {
      transaction.commit((error) => {
        if (error === null) resolve(true);
        else if ([zk.Exception.BAD_VERSION, zk.Exception.NODE_EXISTS, zk.Exception.NO_NODE].includes(codeOf(error))) resolve(false);
        else reject(failure('apply a transaction on', ops.map((op) => op.path).join(', '), error));
      });
    });
  }

  /** Ends the session: its ephemeral nodes go at once, as a clean broker shutdown wants. */
  close(): void {
    this.closed = true;
    this.client.close();
  }
}

function codeOf(error: Error | zk.Exception): number {
  return typeof (error as zk.Exception).getCode === 'function' ? (error as zk.Exception).getCode() : Number.NaN;
}

function failure(action: string, path: string, error: Error | zk.Exception): ClusterError {
  return new ClusterError(`ZooKeeper could not ${action} ${path}: ${error instanceof Error ? error.message : String(error)}`);
}
