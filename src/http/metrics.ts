/**
 * Prometheus metrics of a broker (prom-client), served at /metrics in Prometheus's text format.
 *
 * Nothing here runs per record. Produce and fetch count per call in the broker (its partitions'
 * traffic), requests are observed once each when the Kafka server answers them (the server's
 * requestObserver), and everything else is read when Prometheus scrapes: each collect() below
 * reads the broker's shared offsets table, lag evaluator, shard rings and recovery summary.
 *
 * Names follow Prometheus's conventions (base units, _total for counters, _bytes and _seconds)
 * and keep the words of the exporters Kafka dashboards are built on: kafka_exporter's
 * topic_partition_current_offset / oldest_offset and consumergroup_lag / current_offset,
 * the JMX exporter's broker topic bytes/messages in and out, Burrow's status codes (as
 * burrow-exporter publishes them). Each is prefixed sluice_; process and Node.js runtime
 * metrics (GC durations, event-loop delay, heap, CPU) are prom-client's defaults, unprefixed.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import type { Broker, PartitionStats } from '../broker/broker.js';
import type { RequestObserver } from '../server/config.js';
import type { KafkaServer } from '../server/server.js';
import { BURROW_STATUS_CODE, burrowGroupStatus, lagOrNull } from './burrow.js';

/** Request latencies from 50 us (a produce to an in-memory ring) to 10 s (a long poll). */
const REQUEST_SECONDS_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let processRegistry: Registry | null = null;

/**
 * Process and runtime metrics, registered once per process: prom-client's GC observer and
 * event-loop delay monitor are process-wide and cannot be stopped, so every HTTP server of the
 * process shares them.
 */
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * A counter or gauge whose series are computed at each scrape: one per row, `value` of it under
 * `labels` of it. Series of rows gone (a deleted topic) disappear with them.
 */
function scraped<T>(
  kind: 'counter' | 'gauge',
  configuration: { name: string; help: string; labelNames: string[]; registers: Registry[] },
  rows: () => readonly T[],
  labels: (row: T) => LabelValues<string>,
  value: (row: T) => number,
): void {
  if (kind === 'counter') {
    new Counter({
      ...configuration,
      collect() {
        this.reset();
        for (const row of rows()) this.inc(labels(row), value(row));
      },
    });
  } else {
    new Gauge({
      ...configuration,
      collect() {
        this.reset();
        for (const row of rows()) this.set(labels(row), value(row));
      },
    });
  }
}

export class SluiceMetrics {
  readonly registry: Registry;
  /** Give it to the KafkaServer of the same broker (its requestObserver option). */
  readonly requestObserver: RequestObserver;
  private kafkaServer: KafkaServer | null = null;

  constructor(broker: Broker, clusterName: string) {
    const own = new Registry();
    const registers = [own];
    const tp = ['topic', 'partition'];

    // ---- Kafka requests, observed once each by the Kafka server ----
    const requests = new Counter({ name: 'sluice_requests_total', help: 'Kafka protocol requests answered, per API', labelNames: ['api'], registers });
    const requestSeconds = new Histogram({
      name: 'sluice_request_duration_seconds',
      help: 'Time from a Kafka request being read whole to its response being encoded, per API (Kafka TotalTimeMs)',
      labelNames: ['api'],
      buckets: REQUEST_SECONDS_BUCKETS,
      registers,
    });
    const queueSeconds = new Histogram({
      name: 'sluice_request_queue_time_seconds',
      help: 'Time a Kafka request waited on its connection before its handler started, per API (Kafka RequestQueueTimeMs)',
      labelNames: ['api'],
      buckets: REQUEST_SECONDS_BUCKETS,
      registers,
    });
    // One child per API, found once: observing a request allocates nothing.
    const children = new Map<string, { count: Counter.Internal; total: Histogram.Internal<'api'>; queue: Histogram.Internal<'api'> }>();
    this.requestObserver = {
      requestCompleted(api: string, queueMs: number, totalMs: number): void {
        let child = children.get(api);
        if (child === undefined) {
          child = { count: requests.labels(api), total: requestSeconds.labels(api), queue: queueSeconds.labels(api) };
          children.set(api, child);
        }
        child.count.inc();
        child.total.observe(totalMs / 1000);
        child.queue.observe(queueMs / 1000);
      },
    };

    // ---- Partitions: offsets and traffic, read at scrape time ----
    const partitionLabels = (stats: PartitionStats) => ({ topic: stats.topic, partition: stats.partition });
    const partitionCounter = (name: string, help: string, value: (stats: PartitionStats) => number) =>
      scraped('counter', { name, help, labelNames: tp, registers }, () => broker.partitionStats(), partitionLabels, value);
    const partitionGauge = (name: string, help: string, value: (stats: PartitionStats) => number) =>
      scraped('gauge', { name, help, labelNames: tp, registers }, () => broker.partitionStats(), partitionLabels, value);
    partitionCounter('sluice_topic_partition_records_in_total', 'Records appended by producers since the partition was opened', (s) => s.traffic.recordsIn);
    partitionCounter('sluice_topic_partition_bytes_in_total', 'Bytes of record batches appended by producers since the partition was opened', (s) => s.traffic.bytesIn);
    partitionCounter(
      'sluice_topic_partition_records_out_total',
      'Offsets handed to consumers by fetches since the partition was opened (records, and control records among them)',
      (s) => s.traffic.recordsOut,
    );
    partitionCounter('sluice_topic_partition_bytes_out_total', 'Bytes of record batches handed to consumers by fetches since the partition was opened', (s) => s.traffic.bytesOut);
    partitionGauge('sluice_topic_partition_current_offset', 'High watermark: the offset after the last record consumers can read', (s) => s.highWatermark);
    partitionGauge('sluice_topic_partition_oldest_offset', 'Log start offset: the oldest offset still held', (s) => s.logStartOffset);
    partitionGauge('sluice_topic_partition_log_end_offset', 'The offset after the last record written', (s) => s.logEndOffset);
    partitionGauge('sluice_topic_partition_last_stable_offset', 'The offset read_committed consumers read up to', (s) => s.lastStableOffset);
    scraped(
      'gauge',
      { name: 'sluice_topic_partitions', help: 'Partitions of each topic', labelNames: ['topic'], registers },
      () => broker.listTopics(),
      (topic) => ({ topic: topic.name }),
      (topic) => topic.partitionCount,
    );
    new Gauge({
      name: 'sluice_log_size_bytes',
      help: "Bytes of a partition's segment files on disk",
      labelNames: tp,
      registers,
      async collect() {
        this.reset();
        for (const p of (await broker.describeLogDir(null)).partitions) this.set({ topic: p.topic, partition: p.partition }, p.sizeBytes);
      },
    });

    // ---- Consumer groups: lag and Burrow's status, judged at scrape time ----
    const groupLabels = ['consumergroup', 'topic', 'partition'];
    // One pass over the groups sets every consumergroup gauge: the first registered (scraped first) does it.
    const currentOffset: Gauge = new Gauge({
      name: 'sluice_consumergroup_current_offset',
      help: "The group's committed offset",
      labelNames: groupLabels,
      registers,
      collect() {
        for (const gauge of [currentOffset, lag, partitionStatus, lagSum, groupStatus, members]) gauge.reset();
        // A cluster broker that is not the group coordinator has no groups to report.
        if (!broker.coordinates('group')) return;
        for (const { groupId } of broker.groups.listGroups()) {
          members.set({ consumergroup: groupId }, broker.groups.describeGroup(groupId).members.length);
          const report = lagOrNull(broker, groupId);
          if (report === null) continue;
          const status = burrowGroupStatus(clusterName, report, new Map(), true);
          groupStatus.set({ consumergroup: groupId }, BURROW_STATUS_CODE[status.status]);
          lagSum.set({ consumergroup: groupId }, status.totallag);
          for (const p of report.partitions) {
            const labels = { consumergroup: groupId, topic: p.topic, partition: p.partition };
            currentOffset.set(labels, p.committedOffset);
            lag.set(labels, p.lag);
          }
          for (const p of status.partitions) {
            partitionStatus.set({ consumergroup: groupId, topic: p.topic, partition: p.partition }, BURROW_STATUS_CODE[p.status]);
          }
        }
      },
    });
    const lag = new Gauge({
      name: 'sluice_consumergroup_lag',
      help: 'Records between the committed offset and the last stable offset',
      labelNames: groupLabels,
      registers,
    });
    const partitionStatus = new Gauge({
      name: 'sluice_consumergroup_partition_status',
      help: "Burrow's status code of the partition: 1 OK, 2 WARN, 3 ERR (offset out of range), 4 STOP, 5 STALL, 6 REWIND",
      labelNames: groupLabels,
      registers,
    });
    const lagSum = new Gauge({ name: 'sluice_consumergroup_lag_sum', help: "Sum of the group's partition lags", labelNames: ['consumergroup'], registers });
    const groupStatus = new Gauge({
      name: 'sluice_consumergroup_status',
      help: "Burrow's status code of the group: 1 OK, 2 WARN, 3 ERR",
      labelNames: ['consumergroup'],
      registers,
    });
    const members = new Gauge({ name: 'sluice_consumergroup_members', help: 'Members of the group', labelNames: ['consumergroup'], registers });

    // ---- Shards: ring occupancy, waits for room, restarts ----
    type ShardStats = ReturnType<Broker['shardStats']>[number];
    const shardLabels = (shard: ShardStats) => ({ shard: shard.shard });
    const shardGauge = (name: string, help: string, value: (shard: ShardStats) => number) =>
      scraped('gauge', { name, help, labelNames: ['shard'], registers }, () => broker.shardStats(), shardLabels, value);
    const shardCounter = (name: string, help: string, value: (shard: ShardStats) => number) =>
      scraped('counter', { name, help, labelNames: ['shard'], registers }, () => broker.shardStats(), shardLabels, value);
    shardGauge('sluice_shard_request_ring_used_bytes', "Bytes held in the shard's request ring (appends and commands not yet taken)", (s) => s.rings.requestUsedBytes);
    shardGauge('sluice_shard_request_ring_capacity_bytes', "Size of the shard's request ring", (s) => s.rings.requestCapacityBytes);
    shardGauge('sluice_shard_completion_ring_used_bytes', "Bytes held in the shard's completion ring", (s) => s.rings.completionUsedBytes);
    shardGauge('sluice_shard_completion_ring_capacity_bytes', "Size of the shard's completion ring", (s) => s.rings.completionCapacityBytes);
    shardGauge('sluice_shard_backlog_requests', 'Requests queued while the request ring was full', (s) => s.rings.backlogMessages);
    shardCounter('sluice_shard_ring_full_waits_total', 'Waits for room in the request ring since the shard thread (re)started', (s) => s.rings.ringFullWaits);
    shardCounter(
      'sluice_shard_ring_full_wait_seconds_total',
      'Time spent waiting for room in the request ring since the shard thread (re)started',
      (s) => s.rings.ringFullWaitMs / 1000,
    );
    shardCounter('sluice_shard_restarts_total', 'Times the shard thread failed and was restarted', (s) => s.restarts);

    // ---- Recovery at open ----
    new Gauge({
      name: 'sluice_recovery_repairs',
      help: 'What recovery repaired when the broker opened, by kind (bytes truncated, segments removed, indexes rebuilt...)',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, value] of Object.entries(broker.recovery)) this.set({ kind }, value);
      },
    });

    // ---- The Kafka server, once attached ----
    const server = (): KafkaServer | null => this.kafkaServer;
    new Gauge({
      name: 'sluice_server_connections',
      help: 'Open Kafka protocol connections',
      registers,
      collect() {
        this.reset();
        const kafka = server();
        if (kafka !== null) this.set(kafka.connectionCount);
      },
    });
    new Gauge({
      name: 'sluice_server_queued_bytes',
      help: 'Request and response bytes held across Kafka connections (bounded by queuedMaxBytes)',
      registers,
      collect() {
        this.reset();
        const kafka = server();
        if (kafka !== null) this.set(kafka.queuedBytes);
      },
    });

    this.registry = Registry.merge([processMetrics(), own]);
  }

  /** The Kafka protocol server of the same broker, whose connections the metrics report. */
  attachKafkaServer(server: KafkaServer): void {
    this.kafkaServer = server;
  }
}
