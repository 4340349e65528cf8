/**
 * The consumer group coordinator's vocabulary: the requests it takes and the results it gives,
 * the persisted shape of a group, the store interfaces the broker implements, and the
 * `GroupCoordinatorApi` the embedded clients and the wire handlers call. Types only, so the group
 * state (group.ts, group-member.ts), the coordinator, the offset manager and the stores all depend
 * on this module and never on each other's implementations.
 */
import type { KafkaApiError } from '../errors.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupProtocol {
  /** Protocol name, e.g. an assignor name ("range", "cooperative-sticky"). */
  name: string;
  /** Opaque to the coordinator; for consumers, a ConsumerProtocol Subscription. */
  metadata: Buffer;
}

// ---- Persistence interfaces (implemented by the broker) ----

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

export interface CommittedOffset extends TopicPartitionRef {
  offset: number;
  /** Leader epoch of the record at `offset - 1` as the consumer saw it, or -1. */
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
}

export interface OffsetStore {
  /** Durably records the offsets (later entries for a partition win); the commit is acknowledged after this. */
  commitOffsets(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> | void;
  /** The latest committed offsets of the partitions (all of the group's when null); absent ones are left out. */
  fetchOffsets(
    groupId: string,
    partitions: readonly TopicPartitionRef[] | null,
  ): Promise<readonly CommittedOffset[]> | readonly CommittedOffset[];
  deleteOffsets(groupId: string): Promise<void> | void;
  /** Durably deletes the group's offsets of these partitions (Kafka's OffsetDelete); absent ones are skipped. */
  deletePartitionOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<void> | void;
}

export interface GroupMemberSnapshot {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the group's protocol (for consumers, its Subscription). */
  subscription: Buffer;
  assignment: Buffer;
}

/** A group as persisted: Kafka's GroupMetadataValue. Members are present only with a protocol. */
export interface GroupSnapshot {
  groupId: string;
  protocolType: string | null;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  stateTimestampMs: number;
  members: GroupMemberSnapshot[];
}

/** Writes must take effect in call order (a later storeGroup or deleteGroup wins). */
export interface GroupMetadataStore {
  /** Durably records the group; SyncGroup completes (and JoinGroup for a returning static member) after this. */
  storeGroup(snapshot: GroupSnapshot): Promise<void> | void;
  deleteGroup(groupId: string): Promise<void> | void;
}

// ---- Requests and results ----

export interface JoinGroupRequest {
  groupId: string;
  /** '' for a member joining for the first time. */
  memberId: string;
  /** Static membership (group.instance.id), or null/undefined for a dynamic member. */
  groupInstanceId?: string | null;
  clientId?: string;
  clientHost?: string;
  protocolType: string;
  protocols: GroupProtocol[];
  sessionTimeoutMs: number;
  /** How long a rebalance waits for this member to rejoin; defaults to sessionTimeoutMs (JoinGroup v0). */
  rebalanceTimeoutMs?: number;
  /** JoinGroup v4+: a new member first gets MemberIdRequiredError carrying its id, and joins again with it. */
  requireKnownMemberId?: boolean;
  /** JoinGroup v9+: a returning static leader is told it leads but must not reassign (skipAssignment). */
  supportsSkipAssignment?: boolean;
}

export interface JoinGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResult {
  memberId: string;
  generationId: number;
  protocolType: string;
  protocolName: string;
  leaderId: string;
  /** The leader must not run the assignor: the group is Stable and keeps its assignment. */
  skipAssignment: boolean;
  /** Every member with its metadata for the chosen protocol, for the leader only; empty for others. */
  members: JoinGroupMember[];
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
  /** When given (SyncGroup v5+), must match the group's. */
  protocolType?: string | null;
  protocolName?: string | null;
  /** The leader's assignment of every member; empty from followers. */
  assignments?: { memberId: string; assignment: Buffer }[];
}

export interface SyncGroupResult {
  protocolType: string;
  protocolName: string;
  assignment: Buffer;
}

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
}

export interface LeaveGroupRequest {
  groupId: string;
  /** A static member may be removed by instance id alone, with memberId ''. */
  members: { memberId: string; groupInstanceId?: string | null }[];
}

export interface LeaveGroupMemberResult {
  memberId: string;
  groupInstanceId: string | null;
  error: KafkaApiError | null;
}

export interface OffsetCommitRequest {
  groupId: string;
  /** -1 (with memberId '') for a standalone consumer that does not use group membership. */
  generationId?: number;
  memberId?: string;
  groupInstanceId?: string | null;
  offsets: {
    topic: string;
    partition: number;
    offset: number;
    leaderEpoch?: number;
    metadata?: string | null;
  }[];
}

/** Who makes a transactional offset commit (TxnOffsetCommit v3+); all but groupId absent before KIP-447. */
export interface TransactionalCommitMember {
  groupId: string;
  generationId?: number;
  memberId?: string;
  groupInstanceId?: string | null;
}

export interface OffsetCommitPartitionResult extends TopicPartitionRef {
  /** Null when committed; otherwise why this partition's offset was not. */
  error: KafkaApiError | null;
}

export interface OffsetFetchRequest {
  groupId: string;
  /** null for every partition the group has committed. */
  partitions: TopicPartitionRef[] | null;
}

export interface FetchedOffset extends TopicPartitionRef {
  /** -1 when the group has no committed offset for the partition. */
  offset: number;
  leaderEpoch: number;
  metadata: string;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Metadata for the group's protocol; empty unless the group is Stable (as Kafka's DescribeGroups). */
  metadata: Buffer;
  /** Empty unless the group is Stable. */
  assignment: Buffer;
}

export interface GroupDescription {
  groupId: string;
  state: GroupState;
  protocolType: string;
  /** The chosen protocol while Stable, else ''. */
  protocolName: string;
  generationId: number;
  leaderId: string | null;
  members: GroupMemberDescription[];
}

export interface GroupOverview {
  groupId: string;
  protocolType: string;
  state: GroupState;
}

export interface DeleteGroupResult {
  groupId: string;
  error: KafkaApiError | null;
}

export interface OffsetDeleteRequest {
  groupId: string;
  partitions: TopicPartitionRef[];
}

export interface OffsetDeletePartitionResult extends TopicPartitionRef {
  /** Null when deleted (or there was nothing to delete); GroupSubscribedToTopicError when a member consumes the topic. */
  error: KafkaApiError | null;
}

// ---- The coordinator as its callers see it ----

/**
 * Kafka's classic group protocol and the group's offsets, as BrokerApi.groups exposes them. The
 * broker owns the coordinator's lifecycle (start, close); callers only make requests.
 */
export interface GroupCoordinatorApi {
  /**
   * Joins (or rejoins) the group. Resolves when the join phase completes, with the generation;
   * only the leader gets the member list. Rejects with MemberIdRequiredError (carrying the id
   * to join with) under `requireKnownMemberId`, and with Kafka's errors otherwise.
   */
  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResult>;
  /**
   * Sends the leader's assignment (leader) or waits for it (followers). Resolves with this
   * member's assignment once the leader's SyncGroup has been persisted.
   */
  syncGroup(request: SyncGroupRequest): Promise<SyncGroupResult>;
  /** Keeps the member alive. Throws RebalanceInProgressError when it must rejoin, as Kafka answers. */
  heartbeat(request: HeartbeatRequest): void;
  /** Removes members (by member id, or static ones by instance id); each gets its own outcome. */
  leaveGroup(request: LeaveGroupRequest): LeaveGroupMemberResult[];
  /** Kafka's validateOffsetCommit for TxnOffsetCommit v3+ (KIP-447): fences zombie members. */
  validateTransactionalCommit(request: TransactionalCommitMember): void;
  /** Commits offsets for a member of the current generation, or a standalone consumer. */
  commitOffsets(request: OffsetCommitRequest): Promise<OffsetCommitPartitionResult[]>;
  /** The group's committed offsets; offset -1 for a requested partition without one. */
  fetchOffsets(request: OffsetFetchRequest): Promise<FetchedOffset[]>;
  /** Kafka's DescribeGroups: an unknown group is reported Dead with no members, not as an error. */
  describeGroup(groupId: string): GroupDescription;
  /** Every group, or those in one of `states` (KIP-518). */
  listGroups(states?: readonly GroupState[]): GroupOverview[];
  /** Deletes groups that have no members, with their offsets. Each group gets its own outcome. */
  deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]>;
  /** Kafka's OffsetDelete (KIP-496): deletes the group's committed offsets of some partitions. */
  deletePartitionOffsets(request: OffsetDeleteRequest): Promise<OffsetDeletePartitionResult[]>;
}
