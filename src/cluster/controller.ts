/**
 * The controller's duties, run by whichever broker won the /controller election (Kafka's
 * KafkaController with its PartitionStateMachine). The controller alone writes partition state
 * nodes, and every write is a ZooKeeper multi that first checks the /controller_epoch node's
 * version seen at election: a controller that lost its session and was replaced cannot
 * overwrite its successor's decisions (Kafka's controller epoch fencing, KIP-279's zkVersion
 * check).
 *
 * What it does here: a partition of a new topic goes online (Kafka's NewPartition ->
 * OnlinePartition) with its first live assigned replica as leader, every live assigned replica in
 * the ISR and leader epoch 0. A partition none of whose replicas is live stays without state until
 * one registers, as Kafka's NewPartition does.
 */
import type { ClusterLogger } from './cluster-node.js';
import type { ZooKeeperSession } from './zookeeper.js';
import { CONTROLLER_EPOCH_PATH, encodePartitionState, partitionPath, partitionStatePath, type PartitionState, type TopicAssignment } from './znodes.js';

/** What the controller decides from: the brokers and topics the node's watches keep current. */
export interface ControllerInput {
  readonly liveBrokerIds: ReadonlySet<number>;
  readonly topics: ReadonlyMap<string, TopicAssignment>;
  /** Partition states by `${topic}/${partition}`. */
  readonly states: ReadonlyMap<string, PartitionState>;
}

export class Controller {
  /** Serializes decisions: each sees the states the previous one wrote. */
  private running: Promise<void> = Promise.resolve();

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

  private async reconcileNow(input: ControllerInput): Promise<void> {
    for (const [topic, assignment] of input.topics) {
      for (const [partition, replicas] of assignment.partitions.entries()) {
        if (input.states.has(`${topic}/${partition}`)) continue;
        await this.onlineNewPartition(topic, partition, replicas, input.liveBrokerIds);
      }
    }
  }

  private async onlineNewPartition(topic: string, partition: number, replicas: readonly number[], live: ReadonlySet<number>): Promise<void> {
    const isr = replicas.filter((id) => live.has(id));
    if (isr.length === 0) return;
    const state: PartitionState = { leader: isr[0], leaderEpoch: 0, isr, controllerEpoch: this.epoch };
    await this.session.ensurePath(partitionPath(topic, partition));
    const written = await this.session.multi([
      { op: 'check', path: CONTROLLER_EPOCH_PATH, version: this.epochVersion },
      { op: 'create', path: partitionStatePath(topic, partition), data: encodePartitionState(state) },
    ]);
    if (written) this.logger.info(`controller (epoch ${this.epoch}): ${topic}-${partition} online, leader ${state.leader}, isr [${isr.join(',')}]`);
  }
}
