/**
 * Durable group metadata (generation, protocol, members and their assignments), written to
 * `__consumer_offsets` beside the committed offsets, as Kafka's GroupMetadataValue records are:
 * see offset-store.ts for the record layout and the replay. A restarted broker restores each
 * group from its latest snapshot, and groups that only have committed offsets as Empty groups.
 */
import { encodeRecordBatch } from '../protocol/record-batch-builder.js';
import type { GroupMetadataStore, GroupSnapshot } from './group-types.js';
import { groupRecord, groupTombstone, type ConsumerOffsetsState, type InternalLogAppender } from './offset-store.js';

export class DurableGroupStore implements GroupMetadataStore {
  private readonly state: ConsumerOffsetsState;
  private readonly append: InternalLogAppender;

  constructor(state: ConsumerOffsetsState, append: InternalLogAppender) {
    this.state = state;
    this.append = append;
  }

  async storeGroup(snapshot: GroupSnapshot): Promise<void> {
    await this.append(encodeRecordBatch({ records: [groupRecord(snapshot)] }));
    this.state.groups.set(snapshot.groupId, snapshot);
  }

  async deleteGroup(groupId: string): Promise<void> {
    if (!this.state.groups.has(groupId)) return;
    await this.append(encodeRecordBatch({ records: [groupTombstone(groupId)] }));
    this.state.groups.delete(groupId);
  }

  /**
   * What the coordinator restores at start: every stored group, plus an Empty group for each
   * group id that has offsets but no stored snapshot (a standalone consumer's group).
   */
  restoredGroups(groupIdsWithOffsets: readonly string[], nowMs: number): GroupSnapshot[] {
    const restored = [...this.state.groups.values()];
    for (const groupId of groupIdsWithOffsets) {
      if (this.state.groups.has(groupId)) continue;
      restored.push({
        groupId,
        protocolType: null,
        generationId: 0,
        protocolName: null,
        leaderId: null,
        stateTimestampMs: nowMs,
        members: [],
      });
    }
    return restored;
  }
}
