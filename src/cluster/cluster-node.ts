/**
 * One broker's membership of a ZooKeeper-coordinated cluster: what `sluice serve --zookeeper`
 * adds to a broker, and the ClusterView the protocol server asks.
 *
 *  - connect(): opens the ZooKeeper session, makes sure of the top-level paths and the cluster id
 *    (/cluster/id, created by the first broker), and starts the watches that keep this broker's
 *    view current: live brokers (/brokers/ids), the controller (/controller), topic assignments
 *    (/brokers/topics) and every partition's state. A topic in ZooKeeper is created in the local
 *    broker with the cluster's topic id, partition count and configs, so every broker holds a log
 *    for each partition; requests for a partition this broker does not lead are refused
 *    (NOT_LEADER_OR_FOLLOWER) by the server.
 *  - register(endpoints): once the server listens, registers the ephemeral /brokers/ids/<id> with
 *    the advertised endpoints and stands in the controller election (an ephemeral /controller; the
 *    winner bumps /controller_epoch). When the controller node goes, every broker stands again.
 *  - createTopic(): places replicas (Kafka's rack-unaware round-robin over the live brokers),
 *    writes the config and the assignment, and waits until the controller has put every
 *    partition online and this broker holds the topic, as Kafka's CreateTopics waits for metadata.
 *
 *  - coordinators: the broker leading partition 0 of __consumer_offsets (__transaction_state) is
 *    the group (transaction) coordinator; it loads the coordinator's state from its replica when
 *    it becomes leader and drops it when it stops being one, and as the coordinators'
 *    CoordinatorCluster this node makes their appends wait for the ISR, routes transaction markers
 *    to each partition's leader and hands out producer ids from ZooKeeper blocks.
 *
 * ZooKeeper watches fire once: each watch handler re-reads the node, setting the next watch, so
 * no change between two reads is missed (the read after a fire sees it). If ZooKeeper expires the
 * session (ephemeral nodes gone), the node opens a new one and registers again.
 */
import { EventEmitter } from 'node:events';
import type { BrokerApi } from '../broker/broker-api.js';
import type { CoordinatorCluster } from '../broker/coordinator-cluster.js';
import type { TopicPartitionRef } from '../broker/group-types.js';
import { CONSUMER_OFFSETS_TOPIC } from '../broker/offset-store.js';
import type { TxnMarker } from '../broker/transaction-types.js';
import { TRANSACTION_STATE_TOPIC } from '../broker/transaction-store.js';
import {
  ClusterChangeTimeoutError,
  ClusterError,
  InvalidConfigError,
  InvalidPartitionsError,
  InvalidReplicaAssignmentError,
  InvalidTopicError,
  NotControllerError,
  NotCoordinatorError,
  PartitionNotFoundError,
  TopicExistsError,
  TopicNotFoundError,
} from '../errors.js';
import {
  awaitInsyncReplicas,
  checkMinInsync,
  writeMarkersAsLeader,
  type ClusterBroker,
  type ClusterEndpoint,
  type ClusterTopicRequest,
  type ClusterView,
  type CoordinatorKind,
  type ElectionOutcome,
  type ElectionType,
  type PartitionLeadership,
} from '../server/cluster-view.js';
import type { TopicMetadata } from '../storage/topic-store.js';
import { INTERNAL_TOPICS, newTopicId, validateTopicName } from '../storage/topic-store.js';
import { alterTopicConfigs, validateTopicConfig, validateTopicConfigs, type TopicConfigValue } from '../storage/topic-config.js';
import { Controller, type ControllerInput, type VersionedPartitionState } from './controller.js';
import { HighWatermarks } from './high-watermarks.js';
import { assignReplicas } from './placement.js';
import { ReplicaFetcher, type FollowedPartition } from './replica-fetcher.js';
import { ZooKeeperProducerIds } from './producer-id-blocks.js';
import { TxnMarkerChannels } from './txn-marker-channel.js';
import { ZooKeeperSession } from './zookeeper.js';
import {
  BROKER_IDS_PATH,
  CLUSTER_ID_PATH,
  CONTROLLER_EPOCH_PATH,
  CONTROLLER_PATH,
  DELETE_TOPICS_PATH,
  TOP_LEVEL_PATHS,
  TOPICS_PATH,
  brokerPath,
  decodeBroker,
  decodeClusterId,
  decodeController,
  decodeControllerEpoch,
  decodePartitionState,
  decodeTopicAssignment,
  decodeTopicConfig,
  encodePartitionState,
  deleteTopicPath,
  encodeBroker,
  encodeClusterId,
  encodeController,
  encodeTopicAssignment,
  encodeTopicConfig,
  partitionStatePath,
  topicConfigPath,
  topicPath,
  type TopicAssignment,
} from './znodes.js';

export interface ClusterLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface ClusterNodeOptions {
  /** Kafka's broker.id: unique in the cluster. */
  readonly brokerId: number;
  /** ZooKeeper's connect string, host:port[,host:port...][/chroot] (Kafka's zookeeper.connect). */
  readonly zookeeper: string;
  /** Kafka's broker.rack; null for none. */
  readonly rack?: string | null;
  /** Kafka's default.replication.factor: for topics created without one (default 1). */
  readonly defaultReplicationFactor?: number;
  /** Kafka's num.partitions: for topics created without a count (default 1). */
  readonly defaultPartitions?: number;
  /** Kafka's zookeeper.session.timeout.ms (default 18000): how soon a silent broker counts as gone. */
  readonly sessionTimeoutMs?: number;
  /** Kafka's zookeeper.connection.timeout.ms (default: the session timeout). */
  readonly connectTimeoutMs?: number;
  /** Kafka's replica.lag.time.max.ms (default 30000): a follower not caught up for this long leaves the ISR. */
  readonly replicaLagTimeMaxMs?: number;
  /**
   * Kafka's broker-level unclean.leader.election.enable (default false), for topics without their
   * own: when no ISR member of a partition is live, may the controller make a live out-of-sync
   * replica its leader (losing what only the ISR held) rather than leave the partition offline.
   */
  readonly uncleanLeaderElectionEnable?: boolean;
  /**
   * Kafka's auto.leader.rebalance.enable (default true): the controller periodically gives
   * partitions back to their preferred replica (the first assigned) once it is in the ISR again.
   */
  readonly autoLeaderRebalanceEnable?: boolean;
  /** Kafka's leader.imbalance.check.interval.seconds (default 300): how often the controller looks. */
  readonly leaderImbalanceCheckIntervalSeconds?: number;
  /**
   * Kafka's leader.imbalance.per.broker.percentage (default 10): a broker's partitions are
   * rebalanced once more than this share of those it is preferred for are led elsewhere.
   */
  readonly leaderImbalancePerBrokerPercentage?: number;
  /** How long createTopic waits for every partition to come online (default 30000). */
  readonly createTopicTimeoutMs?: number;
  readonly logger: ClusterLogger;
}

export const DEFAULT_SESSION_TIMEOUT_MS = 18_000;
export const DEFAULT_REPLICA_LAG_TIME_MAX_MS = 30_000;
export const DEFAULT_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS = 300;
export const DEFAULT_LEADER_IMBALANCE_PER_BROKER_PERCENTAGE = 10;
const DEFAULT_CREATE_TOPIC_TIMEOUT_MS = 30_000;
const UNCLEAN_LEADER_ELECTION_ENABLE = 'unclean.leader.election.enable';
/** A failed watch read is retried after this long (a ZooKeeper hiccup, not a decision). */
const WATCH_RETRY_MS = 500;
/** Kafka's offsets.topic.replication.factor and transaction.state.log.replication.factor: the internal topics' RF, at most the live brokers. */
export const INTERNAL_TOPIC_REPLICATION_FACTOR = 3;
/** Kafka's offsets.commit.timeout.ms: how long a coordinator's append waits for the ISR. */
const COORDINATOR_APPEND_TIMEOUT_MS = 5_000;
/** Kafka's request.timeout.ms: how long a leader's marker append waits for the ISR. */
const MARKER_APPEND_TIMEOUT_MS = 30_000;

export class ClusterNode implements ClusterView, CoordinatorCluster {
  readonly brokerId: number;
  private session: ZooKeeperSession;
  private readonly options: Required<Omit<ClusterNodeOptions, 'rack'>> & { rack: string | null };
  private readonly changes = new EventEmitter();
  private brokers = new Map<number, ClusterBroker>();
  private controller = -1;
  private readonly topics = new Map<string, TopicAssignment>();
  /** Each cluster topic's config overrides, as its /config/topics node holds them (for the controller). */
  private readonly topicConfigs = new Map<string, Readonly<Record<string, string>>>();
  private readonly states = new Map<string, VersionedPartitionState>();
  /** The leader epoch this broker's log was last told to take, per `${topic}/${partition}` it led. */
  private readonly localEpochs = new Map<string, number>();
  /** Partitions whose log is still taking its new leader epoch: not served as leader until done. */
  private readonly becoming = new Set<string>();
  /** The last queued change to each topic's local logs, and how many are queued (see enqueueLocal). */
  private readonly localWork = new Map<string, Promise<void>>();
  private readonly localBusy = new Map<string, number>();
  /** Watch loops running on the current session (`topic:<name>`, `state:<name>/<partition>`): one each. */
  private readonly watched = new Set<string>();
  /** Topics marked for deletion (/admin/delete_topics), for the controller. */
  private deletions: ReadonlySet<string> = new Set();
  private ownController: Controller | null = null;
  private endpoints: readonly ClusterEndpoint[] | null = null;
  /** The session this broker's /brokers/ids node was created on, once it was. */
  private registeredOn: ZooKeeperSession | null = null;
  private closed = false;
  private readonly highWatermarks: HighWatermarks;
  private readonly fetcher: ReplicaFetcher;
  /**
   * Partitions whose ISR change this broker is writing (one write at a time each), with Kafka's
   * maximal ISR: the current ISR and the one being written together. The high watermark counts
   * every member of it until the write is done, as Kafka's PendingExpandIsr/PendingShrinkIsr do: a
   * replica joining is in the state node the moment ZooKeeper takes the write, electable from then
   * on, so no record it lacks may count as acknowledged from that moment.
   */
  private readonly isrWrites = new Map<string, readonly number[]>();
  /** Kafka's isr-expiration task: every half replica.lag.time.max.ms. */
  private readonly isrExpiration: NodeJS.Timeout;
  readonly producerIds: ZooKeeperProducerIds;
  private readonly markerChannels: TxnMarkerChannels;
  /** Internal topics this broker is creating in ZooKeeper (first coordinator lookup). */
  private readonly creatingInternal = new Set<string>();
  /** Per internal topic, the leader epoch its coordinator was last told to load here, -1 when told to drop it. */
  private readonly coordinatorEpochs = new Map<string, number>();

  private constructor(
    private readonly broker: BrokerApi,
    options: ClusterNodeOptions,
    session: ZooKeeperSession,
    readonly clusterId: string,
  ) {
    this.brokerId = options.brokerId;
    this.session = session;
    this.options = {
      rack: null,
      defaultReplicationFactor: 1,
      defaultPartitions: 1,
      sessionTimeoutMs: DEFAULT_SESSION_TIMEOUT_MS,
      createTopicTimeoutMs: DEFAULT_CREATE_TOPIC_TIMEOUT_MS,
      replicaLagTimeMaxMs: DEFAULT_REPLICA_LAG_TIME_MAX_MS,
      uncleanLeaderElectionEnable: false,
      autoLeaderRebalanceEnable: true,
      leaderImbalanceCheckIntervalSeconds: DEFAULT_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS,
      leaderImbalancePerBrokerPercentage: DEFAULT_LEADER_IMBALANCE_PER_BROKER_PERCENTAGE,
      ...options,
      connectTimeoutMs: options.connectTimeoutMs ?? options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    };
    this.changes.setMaxListeners(0);
    this.highWatermarks = new HighWatermarks(this.brokerId);
    this.fetcher = new ReplicaFetcher(this.brokerId, broker, this.highWatermarks, options.logger, (id) => this.brokers.get(id)?.endpoints ?? null);
    // Every change of the view (brokers, states, local logs) may change what this broker follows.
    this.changes.on('change', () => this.fetcher.update(this.followedPartitions()));
    this.isrExpiration = setInterval(() => this.shrinkIsrs(), Math.max(1, Math.floor(this.options.replicaLagTimeMaxMs / 2))).unref();
    this.producerIds = new ZooKeeperProducerIds(() => this.session, this.brokerId);
    this.markerChannels = new TxnMarkerChannels(this.brokerId, (id) => this.fetcher.endpointOf(id));
  }

  /** Opens the session, reads (or creates) the cluster id and starts following the cluster. */
  static async connect(broker: BrokerApi, options: ClusterNodeOptions): Promise<ClusterNode> {
    checkOptions(options);
    const session = await ZooKeeperSession.connect(options.zookeeper, {
      sessionTimeoutMs: options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      connectTimeoutMs: options.connectTimeoutMs ?? options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    });
    try {
      for (const path of TOP_LEVEL_PATHS) await session.ensurePath(path);
      const clusterId = await readOrCreateClusterId(session);
      const node = new ClusterNode(broker, options, session, clusterId);
      // Before the first watch: leadership of an internal partition loads its coordinator.
      broker.attachCoordinatorCluster(node);
      await node.follow(session);
      return node;
    } catch (error) {
      session.close();
      throw error;
    }
  }

  // ---- ClusterView ----

  liveBrokers(): readonly ClusterBroker[] {
    return [...this.brokers.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  controllerId(): number {
    return this.controller;
  }

  leaderOf(topic: string, partition: number): number | null {
    // An internal topic is only ever served as the cluster's: none leads it before it is created.
    if (this.topics.get(topic)?.partitions[partition] === undefined) return INTERNAL_TOPICS.includes(topic) ? -1 : null;
    const key = `${topic}/${partition}`;
    const leader = this.states.get(key)?.leader ?? -1;
    return this.brokers.has(leader) && !(leader === this.brokerId && this.becoming.has(key)) ? leader : -1;
  }

  leadership(topic: string, partition: number): PartitionLeadership | null {
    const replicas = this.topics.get(topic)?.partitions[partition];
    if (replicas === undefined) return null;
    const state = this.states.get(`${topic}/${partition}`);
    const offlineReplicas = replicas.filter((id) => !this.brokers.has(id));
    if (state === undefined) return { leader: -1, leaderEpoch: -1, replicas, isr: [], offlineReplicas };
    // A leader whose broker is gone leads nothing until the controller elects another (Kafka's LEADER_NOT_AVAILABLE).
    const leader = this.brokers.has(state.leader) ? state.leader : -1;
    return { leader, leaderEpoch: state.leaderEpoch, replicas, isr: state.isr, offlineReplicas };
  }

  coordinatorOf(kind: CoordinatorKind): number {
    const topic = kind === 'group' ? CONSUMER_OFFSETS_TOPIC : TRANSACTION_STATE_TOPIC;
    if (!this.topics.has(topic)) {
      this.createInternalTopic(topic);
      return -1;
    }
    return this.leaderOf(topic, 0) ?? -1;
  }

  /**
   * As Kafka creates __consumer_offsets and __transaction_state on the first FindCoordinator: one
   * partition (the coordinators keep all their state in partition 0; Kafka's default is 50 and
   * 50), compacted, replication factor offsets.topic.replication.factor (3) or the live broker
   * count if smaller, placed and brought online as any topic. Runs in the background: the lookup
   * answers COORDINATOR_NOT_AVAILABLE until the partition has a leader, and the client retries.
   */
  private createInternalTopic(name: string): void {
    if (this.creatingInternal.has(name) || this.closed || this.brokers.size === 0) return;
    this.creatingInternal.add(name);
    const replicationFactor = Math.min(INTERNAL_TOPIC_REPLICATION_FACTOR, this.brokers.size);
    this.placeTopic({ name, partitions: 1, replicationFactor, configs: { 'cleanup.policy': 'compact' } })
      .then(
        () => this.options.logger.info(`created the internal topic ${name} with replication factor ${replicationFactor}`),
        (error: unknown) => {
          // Another broker created it first: its assignment is the cluster's.
          if (!(error instanceof TopicExistsError)) this.options.logger.warn(`creating the internal topic ${name}: ${(error as Error).message}`);
        },
      )
      .finally(() => this.creatingInternal.delete(name));
  }

  // ---- CoordinatorCluster: the coordinators' side of replication ----

  checkAppend(topic: string, partition: number): void {
    if (this.states.get(`${topic}/${partition}`)?.leader !== this.brokerId) {
      throw new NotCoordinatorError(`broker ${this.brokerId} no longer leads ${topic}-${partition}`);
    }
    checkMinInsync(this, this.broker.minInsyncReplicas(topic), topic, partition);
  }

  awaitReplicated(topic: string, partition: number, lastOffset: number): Promise<void> {
    return awaitInsyncReplicas(this, this.broker.minInsyncReplicas(topic), topic, partition, lastOffset, COORDINATOR_APPEND_TIMEOUT_MS);
  }

  async writeTxnMarkers(partitions: readonly TopicPartitionRef[], marker: TxnMarker): Promise<void> {
    const byLeader = new Map<number, TopicPartitionRef[]>();
    for (const ref of partitions) {
      // A topic deleted since the transaction touched it gets no marker (Kafka's coordinator skips it too).
      if (this.topics.get(ref.topic)?.partitions[ref.partition] === undefined) continue;
      const leader = this.leaderOf(ref.topic, ref.partition) ?? -1;
      if (leader === -1) throw new ClusterError(`${ref.topic}-${ref.partition} has no live leader now to write the transaction marker`);
      const list = byLeader.get(leader) ?? [];
      list.push(ref);
      byLeader.set(leader, list);
    }
    await Promise.all(
      [...byLeader].map(async ([leader, refs]) => {
        if (leader !== this.brokerId) return this.markerChannels.send(leader, refs, marker);
        const failure = (await writeMarkersAsLeader(this.broker, this, this.brokerId, refs, marker, MARKER_APPEND_TIMEOUT_MS)).find((error) => error !== null);
        if (failure !== undefined) throw failure;
      }),
    );
  }

  highWatermark(topic: string, partition: number, logEndOffset: number): number {
    const key = `${topic}/${partition}`;
    const state = this.states.get(key);
    // A partition without state yet: no replicas to wait for.
    if (state === undefined) return logEndOffset;
    return this.highWatermarks.current(key, this.isrWrites.get(key) ?? state.isr, state.leader, logEndOffset);
  }

  recordFollowerFetch(topic: string, partition: number, replicaId: number, fetchOffset: number): void {
    const key = `${topic}/${partition}`;
    const logEndOffset = this.broker.partitionOffsets(topic, partition).logEndOffset;
    this.highWatermarks.recordFollowerFetch(key, replicaId, fetchOffset, logEndOffset, Date.now());
    // Kafka's maybeExpandIsr: an assigned replica out of the ISR rejoins once it has the high watermark.
    const state = this.states.get(key);
    if (state === undefined || state.leader !== this.brokerId || state.isr.includes(replicaId) || this.becoming.has(key)) return;
    if (!(this.topics.get(topic)?.partitions[partition]?.includes(replicaId) ?? false)) return;
    if (fetchOffset >= this.highWatermark(topic, partition, logEndOffset)) void this.writeIsr(topic, partition, [...state.isr, replicaId], `broker ${replicaId} caught up`);
  }

  /** Kafka's maybeShrinkIsr, on each partition this broker leads. */
  private shrinkIsrs(): void {
    const nowMs = Date.now();
    for (const [key, state] of this.states) {
      if (state.leader !== this.brokerId || this.becoming.has(key)) continue;
      const lagging = this.highWatermarks.laggingFollowers(key, state.isr, nowMs, this.options.replicaLagTimeMaxMs);
      if (lagging.length === 0) continue;
      const slash = key.lastIndexOf('/');
      const isr = state.isr.filter((id) => !lagging.includes(id));
      void this.writeIsr(key.slice(0, slash), Number(key.slice(slash + 1)), isr, `broker(s) ${lagging.join(', ')} not caught up for ${this.options.replicaLagTimeMaxMs} ms`);
    }
  }

  /**
   * The leader's ISR change (Kafka's ZooKeeper-era Partition.updateIsr): a compare-and-set of the
   * state node on the version this broker last read, leader and epoch unchanged. Losing the race
   * (the controller or a newer leader wrote meanwhile) changes nothing: the watch brings the new
   * state, and the next fetch or expiration pass decides again.
   */
  private async writeIsr(topic: string, partition: number, isr: readonly number[], why: string): Promise<void> {
    const key = `${topic}/${partition}`;
    const state = this.states.get(key);
    if (state === undefined || this.isrWrites.has(key) || this.closed) return;
    this.isrWrites.set(key, [...new Set([...state.isr, ...isr])]);
    try {
      const next = { leader: state.leader, leaderEpoch: state.leaderEpoch, isr, controllerEpoch: state.controllerEpoch };
      const version = await this.session.setData(partitionStatePath(topic, partition), encodePartitionState(next), state.version);
      if (version !== null) {
        this.options.logger.info(`${topic}-${partition}: isr [${state.isr.join(',')}] -> [${isr.join(',')}]: ${why}`);
        // Written: this broker's view takes it now (Kafka's updateIsr), not when the watch brings it
        // back, so acks=all does not answer NOT_ENOUGH_REPLICAS from the ISR it just grew. A newer state
        // the watch brought meanwhile stays.
        if (this.states.get(key)?.version === state.version) this.states.set(key, { ...next, version });
      }
    } catch (error) {
      this.options.logger.warn(`changing the ISR of ${topic}-${partition}: ${(error as Error).message}`);
    } finally {
      this.isrWrites.delete(key);
      // The high watermark may move now that it counts the written ISR alone: acks=all waiters look again.
      this.highWatermarks.isrChanged(key);
    }
  }

  waitForHighWatermark(topic: string, partition: number, offset: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const reached = (): boolean => this.highWatermark(topic, partition, this.broker.partitionOffsets(topic, partition).logEndOffset) >= offset;
    return this.highWatermarks.waitUntil(`${topic}/${partition}`, reached, timeoutMs, signal);
  }

  /** The partitions this broker follows: assigned here, led by another live broker, with a local log. */
  private followedPartitions(): FollowedPartition[] {
    const followed: FollowedPartition[] = [];
    for (const [topic, assignment] of this.topics) {
      if (this.localBusy.has(topic)) continue;
      for (const [partition, replicas] of assignment.partitions.entries()) {
        if (!replicas.includes(this.brokerId)) continue;
        const state = this.states.get(`${topic}/${partition}`);
        if (state === undefined || state.leader === this.brokerId || !this.brokers.has(state.leader)) continue;
        followed.push({ topic, partition, leader: state.leader, leaderEpoch: state.leaderEpoch });
      }
    }
    return followed;
  }

  async electLeaders(type: ElectionType, partitions: readonly { topic: string; partition: number }[] | null, timeoutMs: number): Promise<ElectionOutcome[]> {
    const asked = partitions ?? [...this.topics].flatMap(([topic, assignment]) => assignment.partitions.map((_, partition) => ({ topic, partition })));
    const controller = this.ownController;
    if (controller === null) {
      const error = new NotControllerError(this.brokerId, this.controller);
      return asked.map(({ topic, partition }) => ({ topic, partition, error }));
    }
    const results = await controller.elect(type, asked, () => this.controllerInput());
    // Kafka's DelayedElectLeader: answered once this broker's view has each elected leader.
    const expected = asked.flatMap(({ topic, partition }, i) => {
      const result = results[i];
      return 'leader' in result ? [{ key: `${topic}-${partition}`, topic, partition, leader: result.leader }] : [];
    });
    const led = (one: (typeof expected)[number]): boolean => this.leaderOf(one.topic, one.partition) === one.leader;
    let timedOut: Error | null = null;
    try {
      await this.waitFor(() => expected.every(led), timeoutMs, `the elected leaders of ${expected.map((one) => one.key).join(', ')}`);
    } catch (error) {
      timedOut = error as Error;
    }
    return asked.map(({ topic, partition }, i) => {
      const result = results[i];
      if ('error' in result) return { topic, partition, error: result.error };
      return { topic, partition, error: timedOut !== null && this.leaderOf(topic, partition) !== result.leader ? timedOut : null };
    });
  }

  replicationFactorOf(topic: string): number {
    return this.topics.get(topic)?.partitions[0]?.length ?? this.options.defaultReplicationFactor;
  }

  /**
   * As Kafka's ZooKeeper-era CreateTopics: the broker that got the request writes the config and
   * the assignment (any broker may), then waits for the controller to bring the partitions online.
   */
  async createTopic(request: ClusterTopicRequest): Promise<TopicMetadata> {
    if (INTERNAL_TOPICS.includes(request.name)) throw new InvalidTopicError(`topic "${request.name}" is internal: the cluster creates it on the first coordinator lookup`);
    return this.placeTopic(request);
  }

  private async placeTopic(request: ClusterTopicRequest): Promise<TopicMetadata> {
    validateTopicName(request.name);
    const configs = validateTopicConfigs(request.configs);
    const live = [...this.brokers.keys()];
    let partitions: number[][];
    if (request.assignments !== undefined) {
      partitions = request.assignments.map((replicas) => [...replicas]);
      for (const [partition, replicas] of partitions.entries()) checkAssignment(request.name, partition, replicas, live);
    } else {
      const replicationFactor = request.replicationFactor ?? this.options.defaultReplicationFactor;
      partitions = assignReplicas(request.name, request.partitions ?? this.options.defaultPartitions, replicationFactor, live);
    }
    if (this.topics.has(request.name) || (await this.session.exists(topicPath(request.name)))) throw new TopicExistsError(request.name);
    const topicId = newTopicId();
    // The config first, as Kafka's AdminZkClient does: a broker that sees the assignment reads it.
    const config = encodeTopicConfig(configs);
    const topicNode = { op: 'create', path: topicPath(request.name), data: encodeTopicAssignment({ topicId, partitions }) } as const;
    // Config and assignment together: a request that loses the race for the name changes nothing.
    if (!(await this.session.multi([{ op: 'create', path: topicConfigPath(request.name), data: config }, topicNode]))) {
      const stale = await this.session.getData(topicConfigPath(request.name));
      // A config node left by an earlier topic of this name is replaced, in the same multi.
      const created =
        stale !== null &&
        !(await this.session.exists(topicPath(request.name))) &&
        (await this.session.multi([{ op: 'setData', path: topicConfigPath(request.name), data: config, version: stale.version }, topicNode]));
      if (!created) throw new TopicExistsError(request.name);
    }
    await this.waitFor(
      () => !this.localBusy.has(request.name) && this.hasLocalTopic(request.name, topicId) && this.allLed(request.name, partitions.length),
      this.options.createTopicTimeoutMs,
      `topic "${request.name}" to come online on every partition`,
    );
    return this.broker.topicMetadata(request.name);
  }

  /** As Kafka's ZooKeeper-era DeleteTopics: mark the topic in /admin/delete_topics; the controller deletes it. */
  async deleteTopic(name: string): Promise<void> {
    const metadata = this.broker.topicMetadata(name);
    if (metadata.internal) throw new InvalidTopicError(`topic "${name}" is internal: it holds the coordinators' state and cannot be deleted`);
    if (!this.topics.has(name)) throw new InvalidTopicError(`topic "${name}" is not a cluster topic; it cannot be deleted`);
    await this.session.create(deleteTopicPath(name), Buffer.alloc(0));
    await this.waitFor(
      () => !this.topics.has(name) && !this.localBusy.has(name) && !this.broker.listTopics().some((topic) => topic.name === name),
      this.options.createTopicTimeoutMs,
      `topic "${name}" to be deleted`,
    );
  }

  /**
   * As Kafka's AdminZkClient.addPartitions: the new partitions are placed round-robin from where
   * partition 0's first replica sits among the live brokers, with its replication factor, and the
   * assignment is written with a compare-and-set (a concurrent change makes it start over).
   */
  async createPartitions(name: string, count: number, assignments?: readonly (readonly number[])[]): Promise<void> {
    for (;;) {
      const node = await this.session.getData(topicPath(name));
      if (node === null) throw new TopicNotFoundError(name);
      const current = decodeTopicAssignment(name, node.data);
      const existing = current.partitions.length;
      if (count <= existing) {
        throw new InvalidPartitionsError(`topic "${name}" has ${existing} partitions; it can only grow, and ${count} is not more`);
      }
      const live = [...this.brokers.keys()].sort((a, b) => a - b);
      let added: number[][];
      if (assignments !== undefined) {
        if (assignments.length !== count - existing) {
          throw new InvalidReplicaAssignmentError(`adding ${count - existing} partitions to "${name}" needs as many replica lists, got ${assignments.length}`);
        }
        added = assignments.map((replicas) => [...replicas]);
        for (const [i, replicas] of added.entries()) checkAssignment(name, existing + i, replicas, live);
      } else {
        const startIndex = Math.max(0, live.findIndex((id) => id >= current.partitions[0][0]));
        added = assignReplicas(name, count - existing, current.partitions[0].length, live, { fixedStartIndex: startIndex, startPartition: existing });
      }
      const grown = encodeTopicAssignment({ topicId: current.topicId, partitions: [...current.partitions, ...added] });
      if ((await this.session.setData(topicPath(name), grown, node.version)) === null) continue;
      await this.waitFor(
        () => !this.localBusy.has(name) && (this.topics.get(name)?.partitions.length ?? 0) === count && this.broker.topicMetadata(name).partitionCount === count && this.allLed(name, count),
        this.options.createTopicTimeoutMs,
        `the new partitions of "${name}" to come online`,
      );
      return;
    }
  }

  async alterTopicConfigs(
    name: string,
    changes: Readonly<Record<string, TopicConfigValue | null>>,
    options: { validateOnly: boolean },
  ): Promise<TopicMetadata> {
    if (!this.topics.has(name) || options.validateOnly) return this.broker.alterTopicConfigs(name, changes, options);
    // Refused here as every broker would refuse it, before anything is written.
    await this.broker.alterTopicConfigs(name, changes, { validateOnly: true });
    for (;;) {
      const node = await this.session.getData(topicConfigPath(name));
      const next = alterTopicConfigs(node === null ? {} : decodeTopicConfig(name, node.data), changes);
      const written =
        node === null ? await this.session.create(topicConfigPath(name), encodeTopicConfig(next)) : (await this.session.setData(topicConfigPath(name), encodeTopicConfig(next), node.version)) !== null;
      // Changed meanwhile by another broker's request: apply these changes to that.
      if (!written) continue;
      await this.waitFor(
        () => !this.localBusy.has(name) && sameConfigs(this.broker.topicMetadata(name).configs, next),
        this.options.createTopicTimeoutMs,
        `the configs of "${name}" to apply`,
      );
      return this.broker.topicMetadata(name);
    }
  }

  // ---- membership ----

  /**
   * Registers this broker under /brokers/ids/<id> with its advertised endpoints and stands in
   * the controller election. A registration left by this broker's previous run (killed before
   * its session ended) is waited out, up to the session timeout and a margin.
   */
  async register(endpoints: readonly ClusterEndpoint[]): Promise<void> {
    if (endpoints.length === 0) throw new InvalidConfigError('a cluster broker needs at least one listener endpoint to register');
    this.endpoints = endpoints;
    await this.registerWith(this.session);
  }

  private async registerWith(session: ZooKeeperSession): Promise<void> {
    const data = encodeBroker({ nodeId: this.brokerId, rack: this.options.rack, endpoints: this.endpoints! });
    const path = brokerPath(this.brokerId);
    const deadline = Date.now() + this.options.sessionTimeoutMs * 2;
    let warned = false;
    while (!(await session.create(path, data, 'ephemeral'))) {
      if (Date.now() > deadline) {
        throw new ClusterError(`broker id ${this.brokerId} is registered by another live broker (${path} exists); give this broker another --broker-id`);
      }
      if (!warned) {
        this.options.logger.warn(`${path} exists (a previous run's session, or another broker with this id); waiting for it to go`);
        warned = true;
      }
      await this.untilChanged(session, path);
    }
    this.registeredOn = session;
    this.options.logger.info(`registered as broker ${this.brokerId} in ZooKeeper ${session.connectString}`);
    await this.standForController(session);
  }

  /** Resolves when the node changes or goes (or after the session timeout, to look again). */
  private untilChanged(session: ZooKeeperSession, path: string): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.options.sessionTimeoutMs);
      void session.exists(path, () => {
        clearTimeout(timer);
        resolve();
      }).then((exists) => {
        if (!exists) {
          clearTimeout(timer);
          resolve();
        }
      }, () => undefined);
    });
  }

  /** Kafka's controller election: first to create the ephemeral /controller wins and bumps the epoch. */
  private async standForController(session: ZooKeeperSession): Promise<void> {
    // Only a registered broker stands: one still waiting for its id (or not yet listening) may not lead the cluster.
    if (this.closed || session !== this.session || this.registeredOn !== session) return;
    if (!(await session.create(CONTROLLER_PATH, encodeController(this.brokerId), 'ephemeral'))) return;
    let epoch: number;
    let epochVersion: number;
    for (;;) {
      const current = await session.getData(CONTROLLER_EPOCH_PATH);
      if (current === null) {
        // Kafka's first controller epoch is 1: the node starts at 0 and the winner bumps it.
        await session.create(CONTROLLER_EPOCH_PATH, Buffer.from('0'));
        continue;
      }
      epoch = decodeControllerEpoch(current.data) + 1;
      const version = await session.setData(CONTROLLER_EPOCH_PATH, Buffer.from(String(epoch)), current.version);
      if (version !== null) {
        epochVersion = version;
        break;
      }
    }
    this.setController(new Controller(session, epoch, epochVersion, this.options.logger));
    this.options.logger.info(`elected controller with epoch ${epoch}`);
    void this.ownController!.reconcile(() => this.controllerInput());
    if (this.options.autoLeaderRebalanceEnable) {
      this.ownController!.startLeaderRebalance(() => this.controllerInput(), {
        checkIntervalMs: this.options.leaderImbalanceCheckIntervalSeconds * 1000,
        perBrokerPercentage: this.options.leaderImbalancePerBrokerPercentage,
      });
    }
  }

  // ---- the view: watches ----

  /** Starts every watch of `session`; resolves once the first reads are in. */
  private async follow(session: ZooKeeperSession): Promise<void> {
    session.onExpired(() => void this.renewSession());
    await Promise.all([
      this.watchChildren(session, BROKER_IDS_PATH, (ids) => this.onBrokers(session, ids)),
      this.watchData(session, CONTROLLER_PATH, (data) => this.onController(session, data)),
      this.watchChildren(session, TOPICS_PATH, (names) => this.onTopics(session, names)),
      this.watchChildren(session, DELETE_TOPICS_PATH, (names) => {
        this.deletions = new Set(names);
        this.ownController?.reconcile(() => this.controllerInput());
      }),
    ]);
  }

  private async renewSession(): Promise<void> {
    if (this.closed) return;
    this.options.logger.warn('the ZooKeeper session expired: this broker is out of the cluster until it opens a new one and registers again');
    this.setController(null);
    this.session.close();
    // Re-read on the new session, with its watches.
    this.topics.clear();
    this.topicConfigs.clear();
    this.states.clear();
    this.watched.clear();
    for (;;) {
      try {
        const session = await ZooKeeperSession.connect(this.options.zookeeper, this.options);
        if (this.closed) {
          session.close();
          return;
        }
        this.session = session;
        await this.follow(session);
        if (this.endpoints !== null) await this.registerWith(session);
        return;
      } catch (error) {
        this.options.logger.warn(`reconnecting to ZooKeeper: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, WATCH_RETRY_MS));
        if (this.closed) return;
      }
    }
  }

  /** Calls `handle` with the node's children now and after every change, while the session is current. */
  private async watchChildren(session: ZooKeeperSession, path: string, handle: (children: string[]) => Promise<void> | void): Promise<void> {
    const read = async (): Promise<void> => {
      if (this.closed || session !== this.session) return;
      try {
        const children = await session.getChildren(path, () => void read());
        await handle(children ?? []);
        this.changes.emit('change');
      } catch (error) {
        this.retryLater(session, path, error, read);
      }
    };
    await read();
  }

  /** Calls `handle` with the node's data (null when absent) now and after every change. */
  private async watchData(session: ZooKeeperSession, path: string, handle: (data: Buffer | null, version: number) => Promise<void> | void): Promise<void> {
    const read = async (): Promise<void> => {
      if (this.closed || session !== this.session) return;
      try {
        const found = await session.getData(path, () => void read());
        await handle(found?.data ?? null, found?.version ?? -1);
        this.changes.emit('change');
      } catch (error) {
        this.retryLater(session, path, error, read);
      }
    };
    await read();
  }

  private retryLater(session: ZooKeeperSession, path: string, error: unknown, read: () => Promise<void>): void {
    if (this.closed || session !== this.session) return;
    this.options.logger.warn(`reading ${path}: ${(error as Error).message}; retrying`);
    setTimeout(() => void read(), WATCH_RETRY_MS).unref();
  }

  private async onBrokers(session: ZooKeeperSession, ids: string[]): Promise<void> {
    const brokers = new Map<number, ClusterBroker>();
    for (const text of ids) {
      const id = Number(text);
      const found = await session.getData(brokerPath(id));
      // Gone between the listing and the read: it is not live.
      if (found !== null) brokers.set(id, decodeBroker(id, found.data));
    }
    this.brokers = brokers;
    this.ownController?.reconcile(() => this.controllerInput());
  }

  private async onController(session: ZooKeeperSession, data: Buffer | null): Promise<void> {
    this.controller = data === null ? -1 : decodeController(data);
    if (this.controller !== this.brokerId) this.setController(null);
    if (data === null) await this.standForController(session);
  }

  /** One data watch per topic node: it reports the topic's creation, growth and deletion. */
  private async onTopics(session: ZooKeeperSession, names: string[]): Promise<void> {
    for (const name of names) {
      if (this.watched.has(`topic:${name}`)) continue;
      this.watched.add(`topic:${name}`);
      await this.watchData(session, topicPath(name), (data) => this.onAssignment(session, name, data));
    }
    this.ownController?.reconcile(() => this.controllerInput());
  }

  private async onAssignment(session: ZooKeeperSession, name: string, data: Buffer | null): Promise<void> {
    const known = this.topics.get(name);
    const assignment = data === null ? null : decodeTopicAssignment(name, data);
    if (known !== undefined && (assignment === null || assignment.topicId !== known.topicId)) {
      // Deleted (or deleted and created again under the same name): its logs go.
      this.topics.delete(name);
      this.topicConfigs.delete(name);
      for (const partition of known.partitions.keys()) {
        this.states.delete(`${name}/${partition}`);
        this.localEpochs.delete(`${name}/${partition}`);
        this.highWatermarks.forget(`${name}/${partition}`);
      }
      this.enqueueLocal(name, () => this.deleteLocally(name));
    }
    if (assignment === null) return;
    this.topics.set(name, assignment);
    if (known === undefined || known.topicId !== assignment.topicId) {
      const configNode = await session.getData(topicConfigPath(name));
      const configs = configNode === null ? {} : decodeTopicConfig(name, configNode.data);
      this.topicConfigs.set(name, configs);
      this.enqueueLocal(name, () => this.createLocally(name, assignment, configs));
      if (!this.watched.has(`config:${name}`)) {
        this.watched.add(`config:${name}`);
        await this.watchData(session, topicConfigPath(name), (data) => {
          if (data === null || !this.topics.has(name)) return;
          const changed = decodeTopicConfig(name, data);
          this.topicConfigs.set(name, changed);
          this.enqueueLocal(name, () => this.applyConfigs(name, changed));
          // Kafka's TopicUncleanLeaderElectionEnable: offline partitions may now be electable.
          this.ownController?.reconcile(() => this.controllerInput());
        });
      }
    } else if (assignment.partitions.length > known.partitions.length) {
      this.enqueueLocal(name, () => this.growLocally(name, assignment.partitions.length));
    }
    for (const partition of assignment.partitions.keys()) {
      const key = `${name}/${partition}`;
      if (this.watched.has(`state:${key}`)) continue;
      this.watched.add(`state:${key}`);
      await this.watchData(session, partitionStatePath(name, partition), (data, version) => {
        // A state of a topic this broker no longer knows (deleted meanwhile) is not kept.
        if (data === null || this.topics.get(name)?.partitions[partition] === undefined) {
          this.states.delete(key);
          if (partition === 0 && INTERNAL_TOPICS.includes(name)) this.followCoordinator(name, -1);
          return;
        }
        const state = { ...decodePartitionState(name, partition, data), version };
        this.states.set(key, state);
        this.highWatermarks.isrChanged(key);
        if (state.leader === this.brokerId) this.becomeLeader(name, partition, state.leaderEpoch);
        if (partition === 0 && INTERNAL_TOPICS.includes(name)) this.followCoordinator(name, state.leader === this.brokerId ? state.leaderEpoch : -1);
        this.ownController?.reconcile(() => this.controllerInput());
      });
    }
    this.ownController?.reconcile(() => this.controllerInput());
  }

  /**
   * Kafka's makeLeader: the local log takes the leader epoch the controller gave this broker
   * before the broker serves the partition as its leader (leaderOf answers -1 meanwhile), so every
   * batch it appends carries that epoch and KIP-320 clients' epochs match.
   */
  private becomeLeader(name: string, partition: number, leaderEpoch: number): void {
    const key = `${name}/${partition}`;
    if ((this.localEpochs.get(key) ?? -1) >= leaderEpoch) return;
    this.localEpochs.set(key, leaderEpoch);
    this.highWatermarks.resetFollowers(key, Date.now(), this.topics.get(name)?.partitions[partition] ?? []);
    if (this.localLeaderEpoch(name, partition) >= leaderEpoch) return;
    this.becoming.add(key);
    this.enqueueLocal(name, async () => {
      try {
        if (this.localLeaderEpoch(name, partition) < leaderEpoch) await this.broker.becomeLeader(name, partition, leaderEpoch);
      } catch (error) {
        this.options.logger.warn(`taking leader epoch ${leaderEpoch} of ${key}: ${(error as Error).message}`);
      } finally {
        if (this.localEpochs.get(key) === leaderEpoch) this.becoming.delete(key);
      }
    });
  }

  /**
   * Kafka's onLeadershipChange for the coordinators: a leadership of partition 0 of an internal
   * topic loads its coordinator from the local log (after the log took the leader epoch, queued
   * behind it), a lost one drops it. `leaderEpoch` -1: not led here.
   */
  private followCoordinator(name: string, leaderEpoch: number): void {
    if ((this.coordinatorEpochs.get(name) ?? -1) === leaderEpoch) return;
    this.coordinatorEpochs.set(name, leaderEpoch);
    this.enqueueLocal(name, async () => {
      try {
        if (leaderEpoch === -1) this.broker.unloadCoordinator(name);
        else await this.broker.loadCoordinator(name, leaderEpoch);
      } catch (error) {
        this.options.logger.warn(`${leaderEpoch === -1 ? 'dropping' : `loading (leader epoch ${leaderEpoch})`} the coordinator of ${name}-0: ${(error as Error).message}`);
      }
    });
  }

  /** The local log's leader epoch; -1 while the partition's log is not created here yet. */
  private localLeaderEpoch(name: string, partition: number): number {
    try {
      return this.broker.partitionOffsets(name, partition).leaderEpoch;
    } catch (error) {
      if (error instanceof TopicNotFoundError || error instanceof PartitionNotFoundError) return -1;
      throw error;
    }
  }

  /** Runs changes to a topic's local logs one after another, in the order ZooKeeper reported them. */
  private enqueueLocal(name: string, work: () => Promise<void>): void {
    this.localBusy.set(name, (this.localBusy.get(name) ?? 0) + 1);
    const previous = this.localWork.get(name) ?? Promise.resolve();
    const next = previous.then(work).finally(() => {
      const left = this.localBusy.get(name)! - 1;
      if (left === 0) {
        this.localBusy.delete(name);
        this.localWork.delete(name);
      } else {
        this.localBusy.set(name, left);
      }
      this.changes.emit('change');
    });
    this.localWork.set(name, next);
  }

  /** The local log of every partition of a cluster topic, with the cluster's topic id. */
  private async createLocally(name: string, assignment: TopicAssignment, configs: Record<string, string>): Promise<void> {
    if (this.hasLocalTopic(name, assignment.topicId)) return;
    try {
      const internal = INTERNAL_TOPICS.includes(name);
      await this.broker.createTopic(name, { partitions: assignment.partitions.length, configs, topicId: assignment.topicId, ...(internal ? { internal } : {}) });
    } catch (error) {
      this.options.logger.warn(
        error instanceof TopicExistsError
          ? `topic "${name}" exists in this broker's data directory with another topic id than the cluster's ${assignment.topicId}; its local data is not this cluster's topic`
          : `creating the local logs of topic "${name}": ${(error as Error).message}`,
      );
    }
  }

  private async growLocally(name: string, count: number): Promise<void> {
    try {
      if (this.broker.topicMetadata(name).partitionCount < count) await this.broker.createPartitions(name, count);
    } catch (error) {
      this.options.logger.warn(`adding partitions to the local logs of topic "${name}": ${(error as Error).message}`);
    }
  }

  /** Makes the local topic's overrides those of the cluster's config node. */
  private async applyConfigs(name: string, configs: Readonly<Record<string, string>>): Promise<void> {
    try {
      const local = this.broker.topicMetadata(name).configs;
      if (sameConfigs(local, configs)) return;
      const changes: Record<string, string | null> = { ...configs };
      for (const key of Object.keys(local)) if (!Object.hasOwn(configs, key)) changes[key] = null;
      await this.broker.alterTopicConfigs(name, changes);
    } catch (error) {
      this.options.logger.warn(`applying the cluster's configs of topic "${name}": ${(error as Error).message}`);
    }
  }

  private async deleteLocally(name: string): Promise<void> {
    try {
      await this.broker.deleteTopic(name);
    } catch (error) {
      if (!(error instanceof TopicNotFoundError)) this.options.logger.warn(`deleting the local logs of topic "${name}": ${(error as Error).message}`);
    }
  }

  private hasLocalTopic(name: string, topicId: string): boolean {
    return this.broker.listTopics().some((topic) => topic.name === name && topic.topicId === topicId);
  }

  /** The controller duties this broker runs, if any; the previous ones stop. */
  private setController(controller: Controller | null): void {
    this.ownController?.close();
    this.ownController = controller;
  }

  private controllerInput(): ControllerInput {
    return {
      liveBrokerIds: new Set(this.brokers.keys()),
      topics: this.topics,
      states: this.states,
      deletions: this.deletions,
      uncleanLeaderElection: (topic) => {
        const value = this.topicConfigs.get(topic)?.[UNCLEAN_LEADER_ELECTION_ENABLE];
        if (value === undefined) return this.options.uncleanLeaderElectionEnable;
        try {
          return validateTopicConfig(UNCLEAN_LEADER_ELECTION_ENABLE, value) === 'true';
        } catch (error) {
          // Written by another program: the safe reading, so the other partitions' decisions go on.
          this.options.logger.warn(`topic "${topic}": ${(error as Error).message}; its partitions are elected cleanly only`);
          return false;
        }
      },
    };
  }

  /** Whether partitions 0 to count-1 of the topic all have a live leader. */
  private allLed(name: string, count: number): boolean {
    for (let partition = 0; partition < count; partition++) if ((this.leadership(name, partition)?.leader ?? -1) < 0) return false;
    return true;
  }

  /** Resolves once `check` holds after some change of the view; throws ClusterError after timeoutMs. */
  private waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onChange = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.changes.off('change', onChange);
        resolve();
      };
      const timer = setTimeout(() => {
        this.changes.off('change', onChange);
        reject(new ClusterChangeTimeoutError(`waited ${timeoutMs} ms for ${what}; is a controller running (sluice cluster status)?`));
      }, timeoutMs);
      this.changes.on('change', onChange);
    });
  }

  /** Leaves the cluster: the session closes, so this broker's registration (and controllership) go at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.setController(null);
    this.fetcher.close();
    this.markerChannels.close();
    clearInterval(this.isrExpiration);
    this.session.close();
  }
}

function sameConfigs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

function checkOptions(options: ClusterNodeOptions): void {
  if (!Number.isInteger(options.brokerId) || options.brokerId < 0) throw new InvalidConfigError(`brokerId must be an integer >= 0, got ${options.brokerId}`);
  if (typeof options.zookeeper !== 'string' || !/^[^,\s]+:\d+(,[^,\s]+:\d+)*(\/\S*)?$/.test(options.zookeeper)) {
    throw new InvalidConfigError(`zookeeper must be host:port[,host:port...][/chroot], got ${JSON.stringify(options.zookeeper)}`);
  }
  for (const key of ['sessionTimeoutMs', 'connectTimeoutMs', 'createTopicTimeoutMs', 'defaultReplicationFactor', 'defaultPartitions', 'replicaLagTimeMaxMs', 'leaderImbalanceCheckIntervalSeconds'] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new InvalidConfigError(`${key} must be an integer >= 1, got ${value}`);
  }
  checkPercentage(options);
}

function checkPercentage(options: ClusterNodeOptions): void {
  const value = options.leaderImbalancePerBrokerPercentage;
  if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > 100)) throw new InvalidConfigError(`leaderImbalancePerBrokerPercentage must be an integer from 0 to 100, got ${value}`);
}

function checkAssignment(topic: string, partition: number, replicas: readonly number[], live: readonly number[]): void {
  if (replicas.length === 0 || new Set(replicas).size !== replicas.length) {
    throw new InvalidReplicaAssignmentError(`partition ${partition} of "${topic}": replicas [${replicas.join(', ')}] must be distinct broker ids, at least one`);
  }
  const unknown = replicas.filter((id) => !live.includes(id));
  if (unknown.length > 0) {
    throw new InvalidReplicaAssignmentError(`partition ${partition} of "${topic}" names broker(s) ${unknown.join(', ')}, which are not live (live: ${live.join(', ')})`);
  }
}

async function readOrCreateClusterId(session: ZooKeeperSession): Promise<string> {
  const existing = await session.getData(CLUSTER_ID_PATH);
  if (existing !== null) return decodeClusterId(existing.data);
  await session.create(CLUSTER_ID_PATH, encodeClusterId(newTopicId()));
  // Another broker may have won the race: its id is the cluster's.
  const settled = await session.getData(CLUSTER_ID_PATH);
  if (settled === null) throw new ClusterError(`${CLUSTER_ID_PATH} vanished right after it was created`);
  return decodeClusterId(settled.data);
}
