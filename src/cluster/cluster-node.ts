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
 * ZooKeeper watches fire once: each watch handler re-reads the node, setting the next watch, so
 * no change between two reads is missed (the read after a fire sees it). If ZooKeeper expires the
 * session (ephemeral nodes gone), the node opens a new one and registers again.
 */
import { EventEmitter } from 'node:events';
import type { BrokerApi } from '../broker/broker-api.js';
import { MAX_PRODUCER_ID, type ProducerIdBlock } from '../broker/producer-id-manager.js';
import { ClusterChangeTimeoutError, ClusterError, ProducerIdsExhaustedError, InvalidConfigError, InvalidPartitionsError, InvalidReplicaAssignmentError, InvalidTopicError, PartitionNotFoundError, TopicExistsError, TopicNotFoundError } from '../errors.js';
import type { ClusterBroker, ClusterEndpoint, ClusterTopicRequest, ClusterView, PartitionLeadership } from '../server/cluster-view.js';
import type { TopicMetadata } from '../storage/topic-store.js';
import { INTERNAL_TOPICS, newTopicId, validateTopicName } from '../storage/topic-store.js';
import { alterTopicConfigs, validateTopicConfigs, type TopicConfigValue } from '../storage/topic-config.js';
import { Controller, type ControllerInput, type VersionedPartitionState } from './controller.js';
import { HighWatermarks } from './high-watermarks.js';
import { assignReplicas } from './placement.js';
import { ReplicaFetcher, type FollowedPartition } from './replica-fetcher.js';
import { ZooKeeperSession } from './zookeeper.js';
import {
  BROKER_IDS_PATH,
  CLUSTER_ID_PATH,
  CONTROLLER_EPOCH_PATH,
  CONTROLLER_PATH,
  DELETE_TOPICS_PATH,
  PRODUCER_ID_BLOCK_PATH,
  TOP_LEVEL_PATHS,
  TOPICS_PATH,
  brokerPath,
  decodeBroker,
  decodeClusterId,
  decodeController,
  decodeControllerEpoch,
  decodePartitionState,
  decodeProducerIdBlock,
  decodeTopicAssignment,
  decodeTopicConfig,
  encodePartitionState,
  encodeProducerIdBlock,
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
  /** How long createTopic waits for every partition to come online (default 30000). */
  readonly createTopicTimeoutMs?: number;
  readonly logger: ClusterLogger;
}

export const DEFAULT_SESSION_TIMEOUT_MS = 18_000;
export const DEFAULT_REPLICA_LAG_TIME_MAX_MS = 30_000;
const DEFAULT_CREATE_TOPIC_TIMEOUT_MS = 30_000;
/** A failed watch read is retried after this long (a ZooKeeper hiccup, not a decision). */
const WATCH_RETRY_MS = 500;

export class ClusterNode implements ClusterView {
  readonly brokerId: number;
  private session: ZooKeeperSession;
  private readonly options: Required<Omit<ClusterNodeOptions, 'rack'>> & { rack: string | null };
  private readonly changes = new EventEmitter();
  private brokers = new Map<number, ClusterBroker>();
  private controller = -1;
  private readonly topics = new Map<string, TopicAssignment>();
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
      ...options,
      connectTimeoutMs: options.connectTimeoutMs ?? options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    };
    this.changes.setMaxListeners(0);
    this.highWatermarks = new HighWatermarks(this.brokerId);
    this.fetcher = new ReplicaFetcher(this.brokerId, broker, this.highWatermarks, options.logger, (id) => this.brokers.get(id)?.endpoints ?? null);
    // Every change of the view (brokers, states, local logs) may change what this broker follows.
    this.changes.on('change', () => this.fetcher.update(this.followedPartitions()));
    this.isrExpiration = setInterval(() => this.shrinkIsrs(), Math.max(1, Math.floor(this.options.replicaLagTimeMaxMs / 2))).unref();
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
    if (this.topics.get(topic)?.partitions[partition] === undefined) return INTERNAL_TOPICS.includes(topic) ? this.coordinatorId() : null;
    const key = `${topic}/${partition}`;
    const leader = this.states.get(key)?.leader ?? -1;
    return this.brokers.has(leader) && !(leader === this.brokerId && this.becoming.has(key)) ? leader : -1;
  }

  leadership(topic: string, partition: number): PartitionLeadership | null {
    const replicas = this.topics.get(topic)?.partitions[partition];
    if (replicas === undefined) return INTERNAL_TOPICS.includes(topic) ? this.internalLeadership() : null;
    const state = this.states.get(`${topic}/${partition}`);
    const offlineReplicas = replicas.filter((id) => !this.brokers.has(id));
    if (state === undefined) return { leader: -1, leaderEpoch: -1, replicas, isr: [], offlineReplicas };
    // A leader whose broker is gone leads nothing until the controller elects another (Kafka's LEADER_NOT_AVAILABLE).
    const leader = this.brokers.has(state.leader) ? state.leader : -1;
    return { leader, leaderEpoch: state.leaderEpoch, replicas, isr: state.isr, offlineReplicas };
  }

  /**
   * The internal topics are each broker's own (its coordinators' state): every broker describes
   * them as held by the coordinator broker alone, so clients see one consistent cluster.
   */
  private internalLeadership(): PartitionLeadership {
    const coordinator = this.coordinatorId();
    const replicas = coordinator === -1 ? [] : [coordinator];
    return { leader: coordinator, leaderEpoch: -1, replicas, isr: replicas, offlineReplicas: [] };
  }

  /**
   * The live broker with the lowest id: each broker's group and transaction state lives in its
   * own internal topics, so clients must all meet on one, and the lowest-id broker, restarted,
   * gets its groups back. Coordinators on replicated internal topics would fail over with their state.
   */
  coordinatorId(): number {
    let lowest = -1;
    for (const id of this.brokers.keys()) if (lowest === -1 || id < lowest) lowest = id;
    return lowest;
  }

  highWatermark(topic: string, partition: number, logEndOffset: number): number {
    const key = `${topic}/${partition}`;
    const state = this.states.get(key);
    // An internal topic (held by the coordinator broker alone) or a partition without state yet: no replicas to wait for.
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

  /**
   * Kafka's ZkProducerIdManager: the block after /latest_producer_id_block, written with a
   * compare-and-set on the version read (another broker's reservation meanwhile makes it read
   * again), so no two brokers ever give out the same producer id.
   */
  async reserveProducerIdBlock(size: number): Promise<ProducerIdBlock> {
    for (;;) {
      const latest = await this.session.getData(PRODUCER_ID_BLOCK_PATH);
      const previous = latest === null ? null : decodeProducerIdBlock(latest.data);
      const first = previous === null ? 0 : previous.firstProducerId + previous.size;
      if (first + size - 1 > MAX_PRODUCER_ID) throw new ProducerIdsExhaustedError(MAX_PRODUCER_ID);
      const block = { firstProducerId: first, size };
      const data = encodeProducerIdBlock(this.brokerId, block);
      const reserved = latest === null ? await this.session.create(PRODUCER_ID_BLOCK_PATH, data) : (await this.session.setData(PRODUCER_ID_BLOCK_PATH, data, latest.version)) !== null;
      if (reserved) return block;
    }
  }

  replicationFactorOf(topic: string): number {
    return this.topics.get(topic)?.partitions[0]?.length ?? this.options.defaultReplicationFactor;
  }

  /**
   * As Kafka's ZooKeeper-era CreateTopics: the broker that got the request writes the config and
   * the assignment (any broker may), then waits for the controller to bring the partitions online.
   */
  async createTopic(request: ClusterTopicRequest): Promise<TopicMetadata> {
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
    if (metadata.internal || !this.topics.has(name)) throw new InvalidTopicError(`topic "${name}" is not a cluster topic (internal topics stay each broker's own); it cannot be deleted`);
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
    this.ownController = new Controller(session, epoch, epochVersion, this.options.logger);
    this.options.logger.info(`elected controller with epoch ${epoch}`);
    void this.ownController.reconcile(() => this.controllerInput());
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
    this.ownController = null;
    this.session.close();
    // Re-read on the new session, with its watches.
    this.topics.clear();
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
    if (this.controller !== this.brokerId) this.ownController = null;
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
      this.enqueueLocal(name, () => this.createLocally(name, assignment, configs));
      if (!this.watched.has(`config:${name}`)) {
        this.watched.add(`config:${name}`);
        await this.watchData(session, topicConfigPath(name), (data) => {
          if (data !== null && this.topics.has(name)) this.enqueueLocal(name, () => this.applyConfigs(name, decodeTopicConfig(name, data)));
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
          return;
        }
        const state = { ...decodePartitionState(name, partition, data), version };
        this.states.set(key, state);
        this.highWatermarks.isrChanged(key);
        if (state.leader === this.brokerId) this.becomeLeader(name, partition, state.leaderEpoch);
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
      await this.broker.createTopic(name, { partitions: assignment.partitions.length, configs, topicId: assignment.topicId });
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

  private controllerInput(): ControllerInput {
    return { liveBrokerIds: new Set(this.brokers.keys()), topics: this.topics, states: this.states, deletions: this.deletions };
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
    this.ownController = null;
    this.fetcher.close();
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
  for (const key of ['sessionTimeoutMs', 'connectTimeoutMs', 'createTopicTimeoutMs', 'defaultReplicationFactor', 'defaultPartitions', 'replicaLagTimeMaxMs'] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new InvalidConfigError(`${key} must be an integer >= 1, got ${value}`);
  }
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
