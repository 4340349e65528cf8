/**
 * The embedded entry point: `const sluice = await Sluice.open({ dataDir })`, then
 * `sluice.admin()`, `sluice.producer(options)`, `sluice.consumer(options)`, and `sluice.close()`.
 * The clients are kafkajs-shaped and talk to the in-process broker directly; the same broker can
 * also be served over the Kafka wire protocol.
 */
import { Broker, type RecoverySummary } from './broker/broker.js';
import type { BrokerOptions } from './broker/config.js';
import { ClosedError } from './errors.js';
import { Admin } from './client/admin.js';
import { Consumer, type ConsumerOptions } from './client/consumer.js';
import { Producer, type ProducerOptions, type RawBytes } from './client/producer.js';
import { HttpServer, type HttpOptions } from './http/http-server.js';

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
