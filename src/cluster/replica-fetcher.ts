/**
 * The follower side of replication (Kafka's ReplicaFetcherThread over AbstractFetcherThread): for
 * the partitions this broker follows, one loop per leader broker fetches from the leader with
 * Fetch requests carrying this broker's replica id, appends what it gets as follower
 * (Broker.appendAsFollower, through the partition's shard) and takes the leader's high watermark
 * from each response. The leader learns this replica's log end offset from the fetch offset.
 *
 * Before fetching a partition it newly follows (a new leader, or a new leader epoch), the loop
 * asks the leader where the epoch of this log's last batch ends (OffsetForLeaderEpoch, KIP-101/279)
 * and truncates the local log there if it holds more: the divergent tail a former leader wrote
 * that the new one never had. Never truncated by guess from the high watermark.
 */
import { OffsetOutOfOrderError } from '../errors.js';
import type { BrokerApi } from '../broker/broker-api.js';
import { Fetch } from '../protocol/api/fetch.js';
import { OffsetForLeaderEpoch } from '../protocol/api/offset-for-leader-epoch.js';
import { ErrorCode } from '../protocol/api/error-codes.js';
import { batchSizeAt, BATCH_HEADER_BYTES } from '../protocol/batch-header.js';
import type { ClusterEndpoint } from '../server/cluster-view.js';
import type { ClusterLogger } from './cluster-node.js';
import type { HighWatermarks } from './high-watermarks.js';
import { ReplicaClient } from './replica-client.js';

/** Fetch v12: replica id in the request body, topic names (v13 moves to topic ids). */
const FETCH_VERSION = 12;
/** OffsetForLeaderEpoch v3: the first with the requesting replica's id. */
const OFFSET_FOR_LEADER_EPOCH_VERSION = 3;
/** Kafka's replica.fetch.wait.max.ms, replica.fetch.min.bytes, replica.fetch.max.bytes, replica.fetch.response.max.bytes. */
const FETCH_WAIT_MAX_MS = 500;
const FETCH_MIN_BYTES = 1;
const FETCH_PARTITION_MAX_BYTES = 1 << 20;
const FETCH_RESPONSE_MAX_BYTES = 10 << 20;
/** Kafka's replica.fetch.backoff.ms: after a failed round (connection, leader not ready). */
const FETCH_BACKOFF_MS = 1000;
const CONNECT_TIMEOUT_MS = 10_000;

/** A partition this broker follows, as the partition's state node says. */
export interface FollowedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
}

interface FetchState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly leaderEpoch: number;
  /** Kafka's Truncating state: OffsetForLeaderEpoch first, then Fetching. */
  truncating: boolean;
}

class LeaderLoop {
  readonly partitions = new Map<string, FetchState>();
  private client: ReplicaClient | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private lastWarning = '';

  constructor(
    private readonly fetcher: ReplicaFetcher,
    readonly leader: number,
  ) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.client?.close();
    this.wake?.();
  }

  /** Cuts a backoff short: the partitions changed. */
  poke(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        this.client ??= await this.connect();
        const truncating = [...this.partitions.values()].filter((state) => state.truncating);
        if (truncating.length > 0) await this.truncate(this.client, truncating);
        const fetching = [...this.partitions.values()].filter((state) => !state.truncating);
        const backoff = fetching.length === 0 || !(await this.fetch(this.client, fetching));
        if (backoff) await this.sleep(FETCH_BACKOFF_MS);
        this.lastWarning = '';
      } catch (error) {
        if (this.stopped) return;
        const message = `replicating from broker ${this.leader}: ${(error as Error).message}`;
        // One line per kind of failure, not one per retry.
        if (message !== this.lastWarning) this.fetcher.logger.warn(`${message}; retrying`);
        this.lastWarning = message;
        this.client?.close();
        this.client = null;
        await this.sleep(FETCH_BACKOFF_MS);
      }
    }
  }

  private async connect(): Promise<ReplicaClient> {
    const endpoint = this.fetcher.endpointOf(this.leader);
    if (endpoint === null) throw new Error(`broker ${this.leader} has no endpoint registered`);
    return ReplicaClient.connect(endpoint.host, endpoint.port, `broker-${this.fetcher.brokerId}-fetcher`, CONNECT_TIMEOUT_MS);
  }

  /** Kafka's truncateToEpochEndOffsets: asks the leader where this log's last epoch ends and cuts the log there. */
  private async truncate(client: ReplicaClient, states: FetchState[]): Promise<void> {
    const broker = this.fetcher.broker;
    const asking: { state: FetchState; epoch: number }[] = [];
    for (const state of states) {
      const { logEndOffset, leaderEpoch } = broker.partitionOffsets(state.topic, state.partition);
      // An empty log has nothing that could diverge.
      if (logEndOffset === 0) state.truncating = false;
      else asking.push({ state, epoch: leaderEpoch });
    }
    if (asking.length === 0) return;
    const response = await client.send(OffsetForLeaderEpoch, OFFSET_FOR_LEADER_EPOCH_VERSION, {
      replicaId: this.fetcher.brokerId,
      topics: groupByTopic(asking.map(({ state, epoch }) => ({ topic: state.topic, body: { partition: state.partition, currentLeaderEpoch: state.leaderEpoch, leaderEpoch: epoch } }))),

    });
    for (const topic of response.topics) {
      for (const answer of topic.partitions) {
        const state = this.partitions.get(`${topic.topic}/${answer.partition}`);
        if (state === undefined || !state.truncating) continue;
        if (answer.errorCode !== ErrorCode.NONE) continue; // The leader is not ready at this epoch yet: asked again next round.
        const asked = asking.find((entry) => entry.state === state)!;
        const { logEndOffset } = broker.partitionOffsets(state.topic, state.partition);
        let offset = logEndOffset;
        if (answer.endOffset >= 0) {
          offset = Math.min(offset, answer.endOffset);
          // KIP-279: the leader knows only an older epoch than ours; our end of that epoch bounds the cut too.
          if (answer.leaderEpoch !== asked.epoch && answer.leaderEpoch >= 0) {
            offset = Math.min(offset, broker.offsetForLeaderEpoch(state.topic, state.partition, answer.leaderEpoch).endOffset);
          }
        }
        if (offset < logEndOffset) {
          const end = await broker.truncateAsFollower(state.topic, state.partition, offset);
          this.fetcher.highWatermarks.truncated(state.key, end);
          this.fetcher.logger.info(`${state.key.replace('/', '-')}: truncated to offset ${end} to follow broker ${this.leader} at leader epoch ${state.leaderEpoch}`);
        }
        state.truncating = false;
      }
    }
  }

  /** One Fetch round; false when nothing could be fetched (every partition refused), to back off. */
  private async fetch(client: ReplicaClient, states: FetchState[]): Promise<boolean> {
    const broker = this.fetcher.broker;
    const sent = states.map((state) => ({ state, offset: broker.partitionOffsets(state.topic, state.partition).logEndOffset }));
    const response = await client.send(Fetch, FETCH_VERSION, {
      replicaId: this.fetcher.brokerId,
      maxWaitMs: FETCH_WAIT_MAX_MS,
      minBytes: FETCH_MIN_BYTES,
      maxBytes: FETCH_RESPONSE_MAX_BYTES,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: groupByTopic(
        sent.map(({ state, offset }) => ({
          topic: state.topic,
          body: { partition: state.partition, currentLeaderEpoch: state.leaderEpoch, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: FETCH_PARTITION_MAX_BYTES },
        })),
      ),
      forgottenTopicsData: [],
      rackId: '',
    });
    let fetched = false;
    for (const topic of response.responses) {
      for (const answer of topic.partitions) {
        const key = `${topic.topic}/${answer.partitionIndex}`;
        const entry = sent.find(({ state }) => state.key === key);
        // Unfollowed or given a new epoch while the fetch was out: its answer is stale.
        if (entry === undefined || this.partitions.get(key) !== entry.state) continue;
        const { state } = entry;
        if (answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          state.truncating = true;
          continue;
        }
        if (answer.errorCode !== ErrorCode.NONE) continue;
        fetched = true;
        const records = wholeBatches(answer.records ?? EMPTY);
        let logEndOffset = entry.offset;
        if (records.length > 0) {
          try {
            logEndOffset = (await broker.appendAsFollower(state.topic, state.partition, records)).lastOffset + 1;
          } catch (error) {
            if (!(error instanceof OffsetOutOfOrderError)) throw error;
            // What the leader sent does not continue this log: find the divergence again.
            state.truncating = true;
            continue;
          }
        }
        this.fetcher.highWatermarks.followerHighWatermark(key, answer.highWatermark, logEndOffset);
      }
    }
    return fetched;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}

const EMPTY = Buffer.alloc(0);

/** The whole batches at the start of `records`: a response cut at its byte limit may end in part of one. */
function wholeBatches(records: Buffer): Buffer {
  let position = 0;
  while (position + BATCH_HEADER_BYTES <= records.length) {
    const size = batchSizeAt(records, position);
    if (size < BATCH_HEADER_BYTES || position + size > records.length) break;
    position += size;
  }
  return position === records.length ? records : records.subarray(0, position);
}

function groupByTopic<T>(entries: readonly { topic: string; body: T }[]): { topic: string; partitions: T[] }[] {
  const topics = new Map<string, T[]>();
  for (const { topic, body } of entries) {
    const partitions = topics.get(topic);
    if (partitions === undefined) topics.set(topic, [body]);
    else partitions.push(body);
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

export class ReplicaFetcher {
  private readonly loops = new Map<number, LeaderLoop>();
  private closed = false;

  constructor(
    readonly brokerId: number,
    readonly broker: BrokerApi,
    readonly highWatermarks: HighWatermarks,
    readonly logger: ClusterLogger,
    private readonly endpoints: (brokerId: number) => readonly ClusterEndpoint[] | null,
  ) {}

  /** The leader's PLAINTEXT listener (else its first): replicas speak plain Kafka protocol to it. */
  endpointOf(brokerId: number): ClusterEndpoint | null {
    const endpoints = this.endpoints(brokerId);
    if (endpoints === null || endpoints.length === 0) return null;
    return endpoints.find((endpoint) => endpoint.listener === 'PLAINTEXT') ?? endpoints[0];
  }

  /**
   * Makes the loops fetch exactly `followed` (Kafka's addFetcherForPartitions and
   * removeFetcherForPartitions): a partition with a new leader or leader epoch is truncated by
   * OffsetForLeaderEpoch before it is fetched again.
   */
  update(followed: readonly FollowedPartition[]): void {
    if (this.closed) return;
    const wanted = new Map(followed.map((entry) => [`${entry.topic}/${entry.partition}`, entry]));
    for (const loop of this.loops.values()) {
      for (const [key, state] of loop.partitions) {
        const entry = wanted.get(key);
        if (entry === undefined || entry.leader !== loop.leader || entry.leaderEpoch !== state.leaderEpoch) loop.partitions.delete(key);
      }
    }
    for (const [key, entry] of wanted) {
      let loop = this.loops.get(entry.leader);
      if (loop?.partitions.has(key) === true) continue;
      if (loop === undefined) {
        loop = new LeaderLoop(this, entry.leader);
        this.loops.set(entry.leader, loop);
        loop.start();
      }
      loop.partitions.set(key, { topic: entry.topic, partition: entry.partition, key, leaderEpoch: entry.leaderEpoch, truncating: true });
      loop.poke();
    }
    for (const [leader, loop] of this.loops) {
      if (loop.partitions.size > 0) continue;
      loop.stop();
      this.loops.delete(leader);
    }
  }

  close(): void {
    this.closed = true;
    for (const loop of this.loops.values()) loop.stop();
    this.loops.clear();
  }
}
