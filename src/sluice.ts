/**
 * The embedded entry point: `const sluice = await Sluice.open({ dataDir })`, then
 * `sluice.admin()`, `sluice.producer(options)`, `sluice.consumer(options)`, and `sluice.close()`.
 * The clients are kafkajs-shaped and talk to the in-process broker directly; the same broker can
 * also be served over the Kafka wire protocol.
 *
 * Other threads: `sluice.handle()` makes a handle to pass to one worker thread (or piscina task),
 * where `await Sluice.attach(handle)` gives an AttachedSluice whose producers append straight to
 * the shards over that thread's own rings.
 */
import { Broker, type RecoverySummary } from './broker/broker.js';
import type { BrokerOptions } from './broker/config.js';
import { ClosedError } from './errors.js';
import { Admin } from './client/admin.js';
import { Consumer, type ConsumerOptions } from './client/consumer.js';
import { Producer, type ProducerOptions, type RawBytes } from './client/producer.js';
import { HttpServer, type HttpOptions } from './http/http-server.js';
import { AttachedBroker, groupsNotAttached, transactionsNotAttached, type AttachOptions } from './client/attached-broker.js';
import { ThreadHost } from './client/thread-host.js';
import type { SluiceHandle } from './client/thread-messages.js';

export type SluiceOptions = BrokerOptions & {
  /** Serve Burrow's lag API and Prometheus metrics over HTTP (off unless given); see HttpServer. */
  http?: HttpOptions;
};

interface Disconnectable {
  disconnect(): Promise<void>;
}

export class Sluice {
  /** The broker, for code that needs BrokerApi itself (the Kafka protocol server, tools). */
  readonly broker: Broker;
  /** The HTTP server's bound address when the `http` option was given, else null. */
  readonly httpAddress: { host: string; port: number } | null;
  private readonly http: HttpServer | null;
  private readonly clients = new Set<Disconnectable>();
  private readonly hosts = new Set<ThreadHost>();
  private closing: Promise<void> | null = null;

  private constructor(broker: Broker, http: HttpServer | null, httpAddress: { host: string; port: number } | null) {
    this.broker = broker;
    this.http = http;
    this.httpAddress = httpAddress;
  }

  /**
   * Opens (or creates) the data directory `dataDir`, recovers its logs and starts the shard
   * threads. Every other option has a default: see BrokerConfig.
   */
  static async open(options: SluiceOptions): Promise<Sluice> {
    const { http: httpOptions, ...brokerOptions } = options ?? ({} as SluiceOptions);
    const broker = await Broker.open(brokerOptions);
    if (httpOptions === undefined) return new Sluice(broker, null, null);
    let http: HttpServer | null = null;
    try {
      http = new HttpServer(broker, httpOptions);
      return new Sluice(broker, http, await http.listen());
    } catch (error) {
      await http?.close();
      await broker.close();
      throw error;
    }
  }

  /**
   * What opening repaired in the data directory after a crash: bytes cut from torn tails, segments
   * removed, indexes rebuilt, snapshots discarded (zeros after a clean shutdown). Each repair was
   * also given to the logger as it happened.
   */
  get recovery(): RecoverySummary {
    return this.broker.recovery;
  }

  admin(): Admin {
    this.checkOpen();
    return new Admin(this.broker);
  }

  producer<K = RawBytes, V = RawBytes>(options: ProducerOptions<K, V> = {}): Producer<K, V> {
    this.checkOpen();
    return this.track(new Producer<K, V>(this.broker, options));
  }

  consumer<K = Buffer, V = Buffer>(options: ConsumerOptions<K, V> = {}): Consumer<K, V> {
    this.checkOpen();
    return this.track(new Consumer<K, V>(this.broker, options));
  }

  /**
   * A handle for one other thread of this process: pass it in workerData (or a piscina task)
   * with `handle.port` in the transfer list, and call `Sluice.attach(handle)` there. That thread
   * gets a ring pair on every shard when it attaches (at most maxAttachedThreads at once), kept
   * until its AttachedSluice closes or the thread ends.
   */
  handle(): SluiceHandle {
    this.checkOpen();
    const host = new ThreadHost(this.broker, (ended) => this.hosts.delete(ended));
    this.hosts.add(host);
    return host.handle;
  }

  /**
   * In a worker thread: attaches to the broker another thread opened, through a handle it made
   * (sluice.handle()). Producers made on the result append to the shards directly.
   */
  static async attach(handle: SluiceHandle, options: AttachOptions = {}): Promise<AttachedSluice> {
    return new AttachedSluice(await AttachedBroker.attach(handle, options));
  }

  /**
   * Disconnects the producers (sending what they buffered) and consumers made here, then closes
   * the broker: every shard finishes its requests, closes its logs and exits. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    const disconnects = await Promise.allSettled([...this.clients].map((client) => client.disconnect()));
    this.clients.clear();
    for (const host of [...this.hosts]) host.close();
    await this.http?.close();
    await this.broker.close();
    const failed = disconnects.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }

  private track<T extends Disconnectable>(client: T): T {
    this.clients.add(client);
    return client;
  }

  private checkOpen(): void {
    if (this.closing !== null) throw new ClosedError('sluice instance');
  }
}

/**
 * A worker thread's view of a broker another thread opened (Sluice.attach). Its producers have the
 * opening thread's API and append to the shards over this thread's own rings; its consumers read
 * the partitions they are assigned (assign()) from the logs on this thread. Transactional
 * producers and consumer groups stay on the opening thread (transactionsNotAttached,
 * groupsNotAttached).
 */
export class AttachedSluice {
  /** What this thread's clients talk to: its appends, reads and placements (diagnostics, tools). */
  readonly broker: AttachedBroker;
  private readonly clients = new Set<Disconnectable>();
  private closing: Promise<void> | null = null;

  constructor(broker: AttachedBroker) {
    this.broker = broker;
  }

  producer<K = RawBytes, V = RawBytes>(options: ProducerOptions<K, V> = {}): Producer<K, V> {
    if (this.closing !== null) throw new ClosedError('attached sluice');
    if (options !== null && typeof options === 'object' && options.transactionalId !== undefined) throw transactionsNotAttached();
    const producer = new Producer<K, V>(this.broker, options);
    this.clients.add(producer);
    return producer;
  }

  /** A consumer without a group: assign() it the partitions this thread reads. */
  consumer<K = Buffer, V = Buffer>(options: ConsumerOptions<K, V> = {}): Consumer<K, V> {
    if (this.closing !== null) throw new ClosedError('attached sluice');
    if (options !== null && typeof options === 'object' && (options.groupId !== undefined || options.groupInstanceId !== undefined)) {
      throw groupsNotAttached();
    }
    const consumer = new Consumer<K, V>(this.broker, options);
    this.clients.add(consumer);
    return consumer;
  }

  /** Disconnects the producers (sending what they buffered) and consumers made here, then detaches the thread. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    const disconnects = await Promise.allSettled([...this.clients].map((client) => client.disconnect()));
    this.clients.clear();
    this.broker.close();
    const failed = disconnects.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }
}
