/**
 * What the console's charts draw: a bounded history of the broker sampled on an interval.
 *
 * Each sample holds every consumer group's lag per partition (Broker.groupLag, the figures
 * Burrow's API answers), the records appended and handed out since the previous sample (the
 * partitions' traffic counters /metrics reads) and each shard's ring occupancy and backlog.
 * Samples are taken whether or not anyone looks, so a chart opened late still shows the last
 * `historySamples` intervals; the oldest sample is dropped when a new one comes. Sampling reads
 * shared tables and counters only (no I/O, nothing per record) and its timer never holds the
 * process open; stop() ends it.
 */
import type { Broker } from '../../broker/broker.js';
import { ClosedError, InvalidConfigError } from '../../errors.js';
import { lagOrNull } from '../burrow.js';

export interface GroupLagSample {
  totalLag: number;
  /** Lag per partition, keyed "topic-partition". */
  partitions: Map<string, { topic: string; partition: number; lag: number }>;
}

export interface ShardSample {
  shard: number;
  /** Records appended to and fetched from the shard's partitions per second; null for the first sample. */
  recordsInPerSec: number | null;
  recordsOutPerSec: number | null;
  requestRingUsedBytes: number;
  completionRingUsedBytes: number;
  backlogRequests: number;
}

export interface BrokerSample {
  atMs: number;
  groups: Map<string, GroupLagSample>;
  /** Records per second over the interval ending at atMs; null for the first sample. */
  recordsInPerSec: number | null;
  recordsOutPerSec: number | null;
  shards: ShardSample[];
}

export interface HistoryOptions {
  /** Time between samples. Default 5000 ms. */
  sampleIntervalMs?: number;
  /** Samples kept; the oldest is dropped past it. Default 360 (30 minutes at 5 s). */
  historySamples?: number;
}

export const DEFAULT_SAMPLE_INTERVAL_MS = 5_000;
export const DEFAULT_HISTORY_SAMPLES = 360;
const MIN_SAMPLE_INTERVAL_MS = 10;
const MAX_HISTORY_SAMPLES = 100_000;

export class BrokerHistory {
  readonly sampleIntervalMs: number;
  readonly historySamples: number;
  private readonly samples: BrokerSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private previous: { atMs: number; recordsIn: number; recordsOut: number; shardIn: number[]; shardOut: number[] } | null = null;

  constructor(
    private readonly broker: Broker,
    options: HistoryOptions = {},
  ) {
    const { sampleIntervalMs = DEFAULT_SAMPLE_INTERVAL_MS, historySamples = DEFAULT_HISTORY_SAMPLES } = options;
    if (!Number.isInteger(sampleIntervalMs) || sampleIntervalMs < MIN_SAMPLE_INTERVAL_MS) {
      throw new InvalidConfigError(`console sampleIntervalMs must be an integer >= ${MIN_SAMPLE_INTERVAL_MS}, got ${String(sampleIntervalMs)}`);
    }
    if (!Number.isInteger(historySamples) || historySamples < 2 || historySamples > MAX_HISTORY_SAMPLES) {
      throw new InvalidConfigError(`console historySamples must be an integer from 2 to ${MAX_HISTORY_SAMPLES}, got ${String(historySamples)}`);
    }
    this.sampleIntervalMs = sampleIntervalMs;
    this.historySamples = historySamples;
  }

  /** Takes a first sample now, then one every sampleIntervalMs until stop(). */
  start(): void {
    if (this.timer !== null) return;
    this.sample();
    this.timer = setInterval(() => {
      try {
        this.sample();
      } catch (error) {
        // The broker closed under a server not yet closed: nothing more to sample.
        if (!(error instanceof ClosedError)) throw error;
        this.stop();
      }
    }, this.sampleIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The samples held, oldest first. */
  all(): readonly BrokerSample[] {
    return this.samples;
  }

  private sample(): void {
    const broker = this.broker;
    const atMs = Date.now();
    const groups = new Map<string, GroupLagSample>();
    // A cluster broker that is not the group coordinator has no groups to sample.
    for (const { groupId } of broker.coordinates('group') ? broker.groups.listGroups() : []) {
      const report = lagOrNull(broker, groupId);
      if (report === null) continue;
      const partitions = new Map<string, { topic: string; partition: number; lag: number }>();
      for (const p of report.partitions) partitions.set(`${p.topic}-${p.partition}`, { topic: p.topic, partition: p.partition, lag: p.lag });
      groups.set(groupId, { totalLag: report.totalLag, partitions });
    }
    const shardStats = broker.shardStats();
    const shardIn = shardStats.map(() => 0);
    const shardOut = shardStats.map(() => 0);
    let recordsIn = 0;
    let recordsOut = 0;
    for (const stats of broker.partitionStats()) {
      recordsIn += stats.traffic.recordsIn;
      recordsOut += stats.traffic.recordsOut;
      shardIn[stats.shard] += stats.traffic.recordsIn;
      shardOut[stats.shard] += stats.traffic.recordsOut;
    }
    const previous = this.previous;
    const elapsedSec = previous === null ? 0 : (atMs - previous.atMs) / 1000;
    // A counter that went down (a deleted topic took its counts) gives no rate for that interval.
    const rate = (now: number, before: number | undefined): number | null =>
      before === undefined || elapsedSec <= 0 || now < before ? null : (now - before) / elapsedSec;
    this.previous = { atMs, recordsIn, recordsOut, shardIn, shardOut };
    const shards = shardStats.map(({ shard, rings }) => ({
      shard,
      recordsInPerSec: rate(shardIn[shard], previous?.shardIn[shard]),
      recordsOutPerSec: rate(shardOut[shard], previous?.shardOut[shard]),
      requestRingUsedBytes: rings.requestUsedBytes,
      completionRingUsedBytes: rings.completionUsedBytes,
      backlogRequests: rings.backlogMessages,
    }));
    this.samples.push({
      atMs,
      groups,
      recordsInPerSec: rate(recordsIn, previous?.recordsIn),
      recordsOutPerSec: rate(recordsOut, previous?.recordsOut),
      shards,
    });
    if (this.samples.length > this.historySamples) this.samples.shift();
  }
}
