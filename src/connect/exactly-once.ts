/**
 * Exactly-once source tasks (KIP-618, exactly.once.source.support=enabled): each poll's records
 * and the source offsets they carry are written in one transaction, with the task's own
 * transactional id, so a crash leaves either both or neither. The task's producer fences any
 * previous incarnation before the task reads its offsets, so the offsets it resumes from are
 * exactly those of the records that were committed; readers with isolation.level=read_committed
 * then see each record once.
 */
import type { SourceRecord } from './api.js';
import { clientIdFor, type Cluster, type ClusterProducer } from './cluster.js';
import type { TopicOffsetStore } from './offset-store.js';
import { SourceTaskRunnerBase, type SourceTaskSetup } from './worker-source-task.js';
import type { ExactlyOnceRunnerFactory } from './worker.js';

export class ExactlyOnceSourceTaskRunner extends SourceTaskRunnerBase {
  private producer: ClusterProducer | null = null;

  constructor(
    setup: SourceTaskSetup,
    private readonly cluster: Cluster,
    private readonly store: TopicOffsetStore,
    private readonly transactionalId: string,
  ) {
    super(setup);
  }

  protected async open(): Promise<void> {
    // InitProducerId with this id bumps its epoch: a previous incarnation's open transaction is aborted and the zombie fenced.
    this.producer = await this.cluster.producer({ transactionalId: this.transactionalId, clientId: clientIdFor(`eos-${this.transactionalId}`) });
    await this.store.catchUp();
  }

  protected async process(polled: readonly SourceRecord[]): Promise<void> {
    const { out, offsets } = await this.prepare(polled);
    const transaction = await this.producer!.transaction();
    try {
      await transaction.send([...out, ...this.store.offsetRecords(offsets)]);
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => {});
      throw error;
    }
    this.store.applyCommitted(offsets);
    await this.setup.task.commit();
  }

  protected async idle(): Promise<void> {}

  protected async close(): Promise<void> {
    await this.producer?.close();
    this.producer = null;
  }
}

/** The worker's factory of exactly-once runners over `store`. */
export function exactlyOnceRunners(cluster: Cluster, store: TopicOffsetStore): ExactlyOnceRunnerFactory {
  return async ({ setup, transactionalId }) => new ExactlyOnceSourceTaskRunner(setup, cluster, store, transactionalId);
}
