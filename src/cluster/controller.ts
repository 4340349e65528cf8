/**
 * The controller's duties, run by whichever broker won the /controller election (Kafka's
 * KafkaController with its PartitionStateMachine). The controller alone writes partition state
 * nodes, and every write is a ZooKeeper multi that first checks the /controller_epoch node's
 * version seen at election: a controller that lost its session and was replaced cannot
 * overwrite its successor's decisions (Kafka's controller epoch fencing, KIP-279's zkVersion
 * check).
 *
 * What it does here: a partition of a new topic (or a partition added to one) goes online
 * (Kafka's NewPartition -> OnlinePartition) with its first live assigned replica as leader, its
 * live replicas as ISR, and leader epoch 0; replicas whose broker went away leave the ISR; a
 * partition whose leader's broker went away gets a new leader from its ISR, or, with
 * unclean.leader.election.enable, from its live replicas outside it, or goes offline until an ISR
 * member returns (electLeader); a topic marked for deletion is deleted. A partition none of whose
 * replicas is live stays without state until one registers, as Kafka's NewPartition does.
 */
import { ClusterError, ElectionNotNeededError, EligibleLeadersNotAvailableError, InvalidTopicError, PartitionNotFoundError, PreferredLeaderNotAvailableError, TopicNotFoundError } from '../errors.js';
import type { ElectionType } from '../server/cluster-view.js';
import type { ClusterLogger } from './cluster-node.js';
import type { ZooKeeperSession } from './zookeeper.js';
import {
  CONTROLLER_EPOCH_PATH,
  decodePartitionState,
  deleteTopicPath,
  encodePartitionState,
  partitionPath,
  partitionsPath,
  partitionStatePath,
  topicConfigPath,
  topicPath,
  type PartitionState,
  type TopicAssignment,
} from './znodes.js';

/** What the controller decides from: the brokers and topics the node's watches keep current. */
export interface ControllerInput {
  readonly liveBrokerIds: ReadonlySet<number>;
  readonly topics: ReadonlyMap<string, TopicAssignment>;
  /** Partition states by `${topic}/${partition}`. */
  readonly states: ReadonlyMap<string, VersionedPartitionState>;
  /** Topics marked for deletion. */
  readonly deletions: ReadonlySet<string>;
  /** The topic's effective unclean.leader.election.enable: its override, else the broker's default. */
  uncleanLeaderElection(topic: string): boolean;
}

/** A partition state with its node's data version, for a compare-and-set of the next one. */
export interface VersionedPartitionState extends PartitionState {
  readonly version: number;
}

/** An election's outcome for one partition: the leader written, or why there is none. */
export type ElectionResult = { readonly leader: number } | { readonly error: Error };

/** A compare-and-set an admin election lost to a concurrent write is retried on a fresh read this many times. */
const ELECTION_ATTEMPTS = 5;

/** Kafka's auto.leader.rebalance.enable and its two settings. */
export interface LeaderRebalance {
  /** leader.imbalance.check.interval.seconds, in ms. */
  readonly checkIntervalMs: number;
  /** leader.imbalance.per.broker.percentage: a broker is rebalanced past this share of its preferred partitions led elsewhere. */
  readonly perBrokerPercentage: number;
}

export class Controller {
  /** Serializes decisions: each sees the states the previous one wrote. */
  private running: Promise<void> = Promise.resolve();
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly session: ZooKeeperSession,
    readonly epoch: number,
    /** The /controller_epoch node's data version at election, checked by every write. */
    private readonly epochVersion: number,
    private readonly logger: ClusterLogger,
  ) {}

  /** Brings every partition in line with the cluster as `input` describes it; decisions run one at a time. */
  reconcile(input: () => ControllerInput): Promise<void> {
    this.running = this.running.then(() => this.reconcileNow(input())).catch((error: unknown) => {
      this.logger.warn(`controller (epoch ${this.epoch}): ${(error as Error).message}`);
    });
    return this.running;
  }

  /**
   * Kafka's auto leader rebalance task: every checkIntervalMs, for each broker, the share of the
   * partitions it is the preferred replica of (first assigned) that another broker leads; past
   * perBrokerPercentage, each of them whose preferred replica is live and in the ISR gets a
   * preferred-replica election. Runs until close().
   */
  startLeaderRebalance(input: () => ControllerInput, rebalance: LeaderRebalance): void {
    const schedule = (): void => {
      if (this.closed) return;
      this.rebalanceTimer = setTimeout(() => {
        this.running = this.running
          .then(() => this.rebalanceNow(input(), rebalance.perBrokerPercentage))
          .catch((error: unknown) => this.logger.warn(`controller (epoch ${this.epoch}): leader rebalance: ${(error as Error).message}`))
          .finally(schedule);
      }, rebalance.checkIntervalMs).unref();
    };
    schedule();
  }

  /** This broker is no longer the controller: its periodic work stops (its writes are fenced by the epoch anyway). */
  close(): void {
    this.closed = true;
    if (this.rebalanceTimer !== null) clearTimeout(this.rebalanceTimer);
  }

  private async rebalanceNow(input: ControllerInput, perBrokerPercentage: number): Promise<void> {
    if (this.closed) return;
    const byPreferred = new Map<number, { topic: string; partition: number; state: VersionedPartitionState | undefined }[]>();
    for (const [topic, assignment] of input.topics) {
      if (input.deletions.has(topic)) continue;
      for (const [partition, replicas] of assignment.partitions.entries()) {
        let owned = byPreferred.get(replicas[0]);
        if (owned === undefined) byPreferred.set(replicas[0], (owned = []));
        owned.push({ topic, partition, state: input.states.get(`${topic}/${partition}`) });
      }
    }
    for (const [preferred, owned] of byPreferred) {
      const elsewhere = owned.filter(({ state }) => state !== undefined && state.leader !== preferred);
      if (elsewhere.length / owned.length <= perBrokerPercentage / 100) continue;
      this.logger.info(
        `controller (epoch ${this.epoch}): leader rebalance: ${elsewhere.length} of the ${owned.length} partition(s) preferring broker ${preferred} are led elsewhere, ` +
          `more than leader.imbalance.per.broker.percentage ${perBrokerPercentage}`,
      );
      for (const { topic, partition, state } of elsewhere) {
        // Kafka's canPreferredReplicaBeLeader: live and in the ISR; a lost compare-and-set waits for the next round.
        if (input.liveBrokerIds.has(preferred) && state!.isr.includes(preferred)) await this.electPreferred(topic, partition, preferred, state!);
      }
    }
  }

  /**
   * Kafka's processReplicaLeaderElection for ElectLeaders (AdminClientTriggered): each partition
   * is elected on its state freshly read from ZooKeeper, in the same queue as reconcile. PREFERRED
   * needs a partition not led by its first replica, which must be live and in the ISR; UNCLEAN
   * needs a partition without a live leader and runs the offline election with unclean allowed
   * whatever the topic's config says, as an operator asked for it.
   */
  elect(type: ElectionType, partitions: readonly { topic: string; partition: number }[], input: () => ControllerInput): Promise<ElectionResult[]> {
    const done = this.running.then(async () => {
      const now = input();
      const results: ElectionResult[] = [];
      for (const { topic, partition } of partitions) {
        try {
          results.push({ leader: await this.electOne(type, topic, partition, now) });
        } catch (error) {
          results.push({ error: error as Error });
        }
      }
      return results;
    });
    this.running = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  private async electOne(type: ElectionType, topic: string, partition: number, input: ControllerInput): Promise<number> {
    const assignment = input.topics.get(topic);
    if (assignment === undefined) throw new TopicNotFoundError(topic);
    const replicas = assignment.partitions[partition];
    if (replicas === undefined) throw new PartitionNotFoundError(topic, partition, assignment.partitions.length);
    if (input.deletions.has(topic)) throw new InvalidTopicError(`topic "${topic}" is being deleted`);
    const live = input.liveBrokerIds;
    for (let attempt = 0; attempt < ELECTION_ATTEMPTS; attempt++) {
      const node = await this.session.getData(partitionStatePath(topic, partition));
      const state = node === null ? null : { ...decodePartitionState(topic, partition, node.data), version: node.version };
      if (type === 'preferred') {
        const preferred = replicas[0];
        if (state?.leader === preferred) throw new ElectionNotNeededError(topic, partition, `its preferred replica ${preferred} leads it`);
        if (state === null || !live.has(preferred) || !state.isr.includes(preferred)) {
          throw new PreferredLeaderNotAvailableError(topic, partition, `broker ${preferred} is ${live.has(preferred) ? `not in the ISR [${state?.isr.join(',') ?? ''}]` : 'not live'}`);
        }
        if (await this.electPreferred(topic, partition, preferred, state)) return preferred;
      } else {
        if (state !== null && state.leader !== -1 && live.has(state.leader)) throw new ElectionNotNeededError(topic, partition, `broker ${state.leader} leads it and is live`);
        if (state === null) throw new EligibleLeadersNotAvailableError(topic, partition, replicas);
        const next = await this.electLeader(topic, partition, replicas, state, live, true);
        if (next !== null && next.leader !== -1) return next.leader;
        // Nothing written with a live replica to take it: none is live. Otherwise the write lost; read again.
        if (next !== null || !replicas.some((id) => live.has(id))) throw new EligibleLeadersNotAvailableError(topic, partition, replicas);
      }
    }
    throw new ClusterError(`${topic}-${partition}: its state changed under ${ELECTION_ATTEMPTS} election attempts in a row; retry`);
  }

  /** Kafka's preferredReplicaPartitionLeaderElection applied: the preferred replica leads, ISR kept, epoch bumped; false when the write lost. */
  private async electPreferred(topic: string, partition: number, preferred: number, state: VersionedPartitionState): Promise<boolean> {
    const next: PartitionState = { leader: preferred, leaderEpoch: state.leaderEpoch + 1, isr: state.isr, controllerEpoch: this.epoch };
    if (!(await this.writeState(topic, partition, next, state.version))) return false;
    this.logger.info(`controller (epoch ${this.epoch}): preferred replica election for ${topic}-${partition}: leader ${state.leader} -> ${preferred} at epoch ${next.leaderEpoch}, isr [${next.isr.join(',')}]`);
    return true;
  }

  private async reconcileNow(input: ControllerInput): Promise<void> {
    for (const topic of input.deletions) await this.deleteTopic(topic);
    for (const [topic, assignment] of input.topics) {
      if (input.deletions.has(topic)) continue;
      for (const [partition, replicas] of assignment.partitions.entries()) {
        const state = input.states.get(`${topic}/${partition}`);
        if (state === undefined) await this.onlineNewPartition(topic, partition, replicas, input.liveBrokerIds);
        else if (state.leader === -1 || !input.liveBrokerIds.has(state.leader)) await this.electLeader(topic, partition, replicas, state, input.liveBrokerIds, input.uncleanLeaderElection(topic));
        else if (state.isr.some((id) => !input.liveBrokerIds.has(id))) await this.removeOfflineFromIsr(topic, partition, state, input.liveBrokerIds);
      }
    }
  }

  /**
   * Kafka's TopicDeletionManager, without the replica deletion round-trips: the topic's nodes go
   * (brokers, watching them, drop their logs), then its config, then the mark. Each step is
   * idempotent, so a controller that dies midway leaves its successor the rest.
   */
  private async deleteTopic(topic: string): Promise<void> {
    await this.session.removeTree(topicPath(topic));
    await this.session.remove(topicConfigPath(topic));
    await this.session.remove(deleteTopicPath(topic));
    this.logger.info(`controller (epoch ${this.epoch}): deleted topic ${topic}`);
  }

  /**
   * Kafka's offline-partition election (PartitionLeaderElectionAlgorithms.offlinePartitionLeaderElection):
   * the first assigned replica that is live and in the ISR leads, with the ISR's live members and
   * the leader epoch bumped. With none, and `allowUnclean` (the topic's
   * unclean.leader.election.enable), the first live assigned replica leads with itself alone as
   * ISR: what the ISR acknowledged beyond its log is lost, and the old replicas truncate to it when
   * they return. Otherwise a leader that went away is taken off (leader -1, epoch bumped, the ISR
   * kept when it is that leader alone, as Kafka keeps the last ISR member so it can lead again
   * without losing what it acknowledged), and the partition stays offline until an ISR member
   * returns. Returns the state written, or null when nothing was (none electable, or the
   * compare-and-set lost to a newer write).
   */
  private async electLeader(
    topic: string,
    partition: number,
    replicas: readonly number[],
    state: VersionedPartitionState,
    live: ReadonlySet<number>,
    allowUnclean: boolean,
  ): Promise<PartitionState | null> {
    const clean = replicas.find((id) => live.has(id) && state.isr.includes(id));
    const unclean = clean === undefined && allowUnclean ? replicas.find((id) => live.has(id)) : undefined;
    let next: PartitionState;
    if (clean !== undefined) {
      next = { leader: clean, leaderEpoch: state.leaderEpoch + 1, isr: state.isr.filter((id) => live.has(id)), controllerEpoch: this.epoch };
    } else if (unclean !== undefined) {
      next = { leader: unclean, leaderEpoch: state.leaderEpoch + 1, isr: [unclean], controllerEpoch: this.epoch };
    } else if (state.leader !== -1) {
      const isr = state.isr.length === 1 ? state.isr : state.isr.filter((id) => id !== state.leader);
      next = { leader: -1, leaderEpoch: state.leaderEpoch + 1, isr, controllerEpoch: this.epoch };
    } else {
      return null;
    }
    if (!(await this.writeState(topic, partition, next, state.version))) return null;
    if (unclean !== undefined) {
      this.logger.warn(
        `controller (epoch ${this.epoch}): unclean leader election for ${topic}-${partition}: broker ${unclean}, outside the ISR [${state.isr.join(',')}] none of which is live, ` +
          `leads at epoch ${next.leaderEpoch}; records the ISR acknowledged beyond broker ${unclean}'s log are lost`,
      );
    } else if (next.leader === -1) {
      this.logger.warn(
        `controller (epoch ${this.epoch}): ${topic}-${partition} is offline: no replica of its ISR [${next.isr.join(',')}] is live` +
          (allowUnclean ? '' : ' (unclean.leader.election.enable is false: an out-of-sync replica may not lead)'),
      );
    } else {
      this.logger.info(`controller (epoch ${this.epoch}): ${topic}-${partition} leader ${next.leader} at epoch ${next.leaderEpoch}, isr [${next.isr.join(',')}]`);
    }
    return next;
  }

  /** A compare-and-set of the partition's state node, fenced by the controller epoch; false when it lost. */
  private writeState(topic: string, partition: number, next: PartitionState, version: number): Promise<boolean> {
    return this.session.multi([
      { op: 'check', path: CONTROLLER_EPOCH_PATH, version: this.epochVersion },
      { op: 'setData', path: partitionStatePath(topic, partition), data: encodePartitionState(next), version },
    ]);
  }

  /**
   * Kafka's onReplicasBecomeOffline for a partition whose leader lives on: replicas whose broker
   * went away leave the ISR, so the leader's high watermark and acks=all stop waiting for them.
   * The leader and its epoch stay (nothing about leadership changed).
   */
  private async removeOfflineFromIsr(topic: string, partition: number, state: VersionedPartitionState, live: ReadonlySet<number>): Promise<void> {
    const next: PartitionState = { leader: state.leader, leaderEpoch: state.leaderEpoch, isr: state.isr.filter((id) => live.has(id)), controllerEpoch: this.epoch };
    if (await this.writeState(topic, partition, next, state.version)) this.logger.info(`controller (epoch ${this.epoch}): ${topic}-${partition} isr [${next.isr.join(',')}] without its offline replicas`);
  }

  private async onlineNewPartition(topic: string, partition: number, replicas: readonly number[], live: ReadonlySet<number>): Promise<void> {
    const leader = replicas.find((id) => live.has(id));
    if (leader === undefined) return;
    // Kafka's initial ISR: every live assigned replica, in sync with an empty log.
    const isr = replicas.filter((id) => live.has(id));
    const state: PartitionState = { leader, leaderEpoch: 0, isr, controllerEpoch: this.epoch };
    // Parents one by one, never mkdirp: that would bring back a topic node deleted meanwhile
    // (creating under a missing topic node fails instead, and is logged).
    await this.session.create(partitionsPath(topic), Buffer.alloc(0));
    await this.session.create(partitionPath(topic, partition), Buffer.alloc(0));
    const written = await this.session.multi([
      { op: 'check', path: CONTROLLER_EPOCH_PATH, version: this.epochVersion },
      { op: 'create', path: partitionStatePath(topic, partition), data: encodePartitionState(state) },
    ]);
    if (written) this.logger.info(`controller (epoch ${this.epoch}): ${topic}-${partition} online, leader ${state.leader}, isr [${isr.join(',')}]`);
  }
}
