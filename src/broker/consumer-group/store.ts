/**
 * Durable consumer groups (KIP-848): each change of a group is one snapshot record in
 * `__consumer_offsets` (key [4, groupId], offset-store.ts), replayed at start. Kafka writes finer
 * records (member metadata, target assignment, current assignment, epochs); one record per change
 * keeps replay trivial and costs little for groups of a few members.
 */
import { encodeRecordBatch } from '../../protocol/record-batch-builder.js';
import { consumerGroupRecord, consumerGroupTombstone, type ConsumerOffsetsState, type InternalLogAppender } from '../offset-store.js';
import type { ConsumerGroupSnapshot, ConsumerGroupStore } from './types.js';

export class DurableConsumerGroupStore implements ConsumerGroupStore {
  constructor(
    private readonly state: ConsumerOffsetsState,
    private readonly append: InternalLogAppender,
  ) {}

  async storeGroup(snapshot: ConsumerGroupSnapshot): Promise<void> {
    await this.append(encodeRecordBatch({ records: [consumerGroupRecord(snapshot)] }));
    this.state.consumerGroups.set(snapshot.groupId, snapshot);
  }

  async deleteGroup(groupId: string): Promise<void> {
    if (!this.state.consumerGroups.has(groupId)) return;
    await this.append(encodeRecordBatch({ records: [consumerGroupTombstone(groupId)] }));
    this.state.consumerGroups.delete(groupId);
  }

  restoredGroups(): ConsumerGroupSnapshot[] {
    return [...this.state.consumerGroups.values()];
  }
}
