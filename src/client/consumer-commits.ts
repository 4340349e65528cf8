/**
 * The embedded consumer's offset commits: what was processed and not yet committed, auto-commit
 * (every autoCommitInterval ms or autoCommitThreshold messages), and commits to the group as a
 * member of its current generation, or as a standalone consumer after assign().
 */
import type { BrokerApi } from '../broker/broker-api.js';
import { IllegalGenerationError, InvalidConfigError, RebalanceInProgressError, UnknownMemberIdError } from '../errors.js';
import type { GroupMembership } from './consumer-group-member.js';
import { integerOption } from '../validate.js';
import { DEFAULT_AUTO_COMMIT_INTERVAL_MS, type TopicPartitionOffset } from './consumer-types.js';
import type { PartitionState, SubscriptionState } from './subscription-state.js';

export class ConsumerCommits {
  private autoCommitOn = false;
  private autoCommitIntervalMs = DEFAULT_AUTO_COMMIT_INTERVAL_MS;
  private autoCommitThreshold = Infinity;
  private processedSinceCommit = 0;
  private lastCommitMs = Date.now();

  constructor(
    /** Its `groups` is read at each commit: the broker refuses it once closed. */
    private readonly broker: Pick<BrokerApi, 'groups'>,
    private readonly groupId: string | null,
    private readonly groupInstanceId: string | null,
    private readonly subscription: SubscriptionState,
    /** The consumer's group membership now: null without a group or between runs. */
    private readonly membership: () => GroupMembership | null,
  ) {}

  /** Whether run() (or iteration) commits processed offsets by itself. */
  get autoCommit(): boolean {
    return this.autoCommitOn;
  }

  /** `messageCount` more messages were processed (counted against autoCommitThreshold). */
  processed(messageCount: number): void {
    this.processedSinceCommit += messageCount;
  }

  /** run()'s commit options (iteration: the defaults); restarts the interval and threshold counts. */
  configure(autoCommit: boolean | undefined, intervalMs: number | undefined, threshold: number | undefined): void {
    if (autoCommit !== undefined && typeof autoCommit !== 'boolean') throw new InvalidConfigError('autoCommit must be a boolean');
    this.autoCommitOn = (autoCommit ?? true) && this.groupId !== null;
    this.autoCommitIntervalMs = integerOption('autoCommitInterval', intervalMs, DEFAULT_AUTO_COMMIT_INTERVAL_MS, 0);
    this.autoCommitThreshold = threshold === undefined ? Infinity : integerOption('autoCommitThreshold', threshold, 1, 1);
    this.lastCommitMs = Date.now();
    this.processedSinceCommit = 0;
  }

  async maybeAutoCommit(): Promise<void> {
    if (!this.autoCommitOn) return;
    if (this.processedSinceCommit < this.autoCommitThreshold && Date.now() - this.lastCommitMs < this.autoCommitIntervalMs) return;
    await this.commitProcessedQuietly();
  }

  /** Processed offsets not yet committed. */
  uncommitted(states?: Iterable<PartitionState>): (TopicPartitionOffset & { state: PartitionState })[] {
    const out: (TopicPartitionOffset & { state: PartitionState })[] = [];
    const visit = (state: PartitionState): void => {
      if (state.processed >= 0 && state.processed !== state.committed) {
        out.push({ topic: state.topic, partition: state.partition, offset: state.processed, state });
      }
    };
    if (states !== undefined) {
      for (const state of states) visit(state);
    } else {
      for (const state of this.subscription.all()) visit(state);
    }
    return out;
  }

  /**
   * Commits processed offsets; a commit the group refuses because it is rebalancing (or this
   * member was removed) is dropped: those records are read again by their next owner, which
   * at-least-once allows.
   */
  async commitProcessedQuietly(states?: Iterable<PartitionState>): Promise<void> {
    const pending = this.uncommitted(states);
    this.lastCommitMs = Date.now();
    this.processedSinceCommit = 0;
    if (pending.length === 0 || this.groupId === null) return;
    try {
      await this.commit(pending);
    } catch (error) {
      if (error instanceof RebalanceInProgressError || error instanceof IllegalGenerationError || error instanceof UnknownMemberIdError) {
        this.membership()?.requestRejoin();
        return;
      }
      throw error;
    }
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const membership = this.membership();
    const request = {
      groupId: this.groupId!,
      generationId: membership === null ? -1 : membership.generationId,
      memberId: membership === null ? '' : membership.memberId,
      groupInstanceId: membership === null ? null : this.groupInstanceId,
      offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
    };
    const results = await this.broker.groups.commitOffsets(request);
    for (const result of results) {
      if (result.error !== null) throw result.error;
    }
    for (const { topic, partition, offset } of offsets) {
      const state = this.subscription.get(topic, partition);
      if (state !== undefined) state.committed = offset;
    }
  }
}
