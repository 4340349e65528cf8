/**
 * Where a CLI command's work happens: an embedded broker on a data directory (`--data-dir`, the
 * default), or a running Kafka protocol server (`--bootstrap-server host:port`) through kafkajs.
 * Commands see one interface, `Connection`, with offsets as numbers in both cases; this module
 * defines it and opens one of the two: embedded-connection.ts or kafka-connection.ts (which
 * converts kafkajs's string offsets and error shapes), sharing connection-answers.ts.
 *
 * A data directory is locked by the process that opens it: while `sluice serve` holds one, an
 * embedded command on it fails with DataDirLockedError, whose message points to --bootstrap-server.
 */
import { Option, type Command } from 'commander';
import type { GroupLagDescription, IsolationLevel } from '../broker/broker-api.js';
import { alterBrokerConfigs, type BrokerConfigScope } from '../broker/broker-configs.js';
import type { TopicPartitions } from '../broker/consumer-protocol.js';
import type { AclEntry, AclFilter } from '../client/admin.js';
import { TopicNotFoundError } from '../errors.js';
import type { CompressionType } from '../protocol/compression.js';
import type { ElectionType } from '../server/cluster-view.js';
import { Sluice } from '../sluice.js';
import { alterTopicConfigs } from '../storage/topic-config.js';
import { hostPortArg, type HostPort } from './arguments.js';
import { stderrLogger } from './output.js';
import { EmbeddedConnection } from './embedded-connection.js';
import { KafkaConnection } from './kafka-connection.js';

export const DEFAULT_DATA_DIR = './sluice-data';

export type CompressionName = CompressionType;
export type AcksValue = 0 | 1 | -1;

export interface ConnectionOptions {
  dataDir: string;
  bootstrapServer?: HostPort;
  saslMechanism?: 'plain' | 'scram-sha-256';
  saslUsername?: string;
  saslPassword?: string;
}

export interface TopicSummary {
  name: string;
  partitions: number;
}

export interface PartitionOffsets {
  partition: number;
  logStartOffset: number;
  /** The high watermark: the end consumers read up to. */
  logEndOffset: number;
}

export interface TopicConfigDescription {
  name: string;
  value: string;
  isDefault: boolean;
  source: string;
}

export interface DeleteRecordsTarget {
  partition: number;
  /** Records below this offset are deleted; -1 deletes up to the high watermark. */
  offset: number;
}

/** A partition's offsets and placement: its leader, replicas and in-sync replicas. */
export interface PartitionDescription extends PartitionOffsets {
  /** -1 while it has no leader. */
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface TopicDescription {
  name: string;
  partitions: PartitionDescription[];
  configs: TopicConfigDescription[];
}

export interface GroupSummary {
  groupId: string;
  state: string;
  protocolType: string;
  members: number;
}

export interface GroupMember {
  memberId: string;
  clientId: string;
  clientHost: string;
  assignment: TopicPartitions[];
}

export interface GroupDetails {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMember[];
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
}

export interface TopicToCreate {
  name: string;
  /** Unset: the broker's default partition count. */
  partitions?: number;
  /** Unset: the broker's default (a single broker takes only 1). */
  replicationFactor?: number;
  configs: Record<string, string>;
}

export interface OutgoingRecord {
  key: Buffer | null;
  value: Buffer;
  partition?: number;
}

export interface CliProducer {
  /** Resolves once the broker acknowledged every record (per acks). */
  send(topic: string, records: OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** The fields of a consumed record the CLI reads; the embedded and kafkajs messages both have them. */
export interface ConsumedRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** A number from the embedded consumer, a decimal string from kafkajs. */
  readonly offset: number | string;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: readonly ConsumedRecord[];
}

export interface ConsumeRequest {
  topic: string;
  partitionCount: number;
  /** Null: read without a group and commit nothing. */
  groupId: string | null;
  /** Where to start without a committed offset. */
  fromBeginning: boolean;
  /** Read only this partition, starting at `offset` when given. */
  partition: number | null;
  offset: number | null;
  isolationLevel: IsolationLevel;
}

export interface CliConsumer {
  /**
   * Starts consuming; resolves once the consumer holds its partitions. `handler` gets each
   * fetched batch, one at a time; `onCrash` a failure that stopped the consumer.
   */
  start(handler: (batch: ConsumedBatch) => Promise<void>, onCrash: (error: Error) => void): Promise<void>;
  /** Commits offsets (each the next offset to read) for the group. */
  commit(offsets: CommittedOffset[]): Promise<void>;
  /** Stops fetching, leaves the group, and releases what was set up for this read. */
  stop(): Promise<void>;
}

/** ElectLeaders' answer for one partition: error code 0 when it was elected. */
export interface ElectionResultRow {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
}

export interface Connection {
  createTopic(topic: TopicToCreate): Promise<boolean>;
  listTopics(): Promise<TopicSummary[]>;
  /** Throws TopicNotFoundError for an unknown topic. */
  partitionCount(topic: string): Promise<number>;
  partitionOffsets(topic: string): Promise<PartitionOffsets[]>;
  describeTopic(topic: string): Promise<TopicDescription>;
  deleteTopic(topic: string): Promise<void>;
  /**
   * Sets (`set`) and removes (`remove`: back to the default) topic config overrides, as
   * kafka-configs.sh --add-config / --delete-config; resolves with the topic's overrides after.
   */
  alterTopicConfigs(topic: string, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<Record<string, string>>;
  /**
   * Sets and removes dynamic broker configs of a scope ('default': every broker, 'broker': this
   * one); resolves with the scope's configs after.
   */
  alterBrokerConfigs(scope: BrokerConfigScope, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<Record<string, string>>;
  /** Moves log start offsets (offset -1: the high watermark); resolves with each partition's new one. */
  deleteRecords(topic: string, partitions: readonly DeleteRecordsTarget[]): Promise<{ partition: number; logStartOffset: number }[]>;
  listGroups(): Promise<GroupSummary[]>;
  describeGroup(groupId: string): Promise<GroupDetails>;
  /** The group's committed offsets, partitions without one left out. */
  committedOffsets(groupId: string): Promise<CommittedOffset[]>;
  /**
   * The broker's lag report of the group with its Burrow-style statuses, or null where it cannot
   * be had: over --bootstrap-server, Kafka's protocol has no API for it, and the CLI, which runs
   * once, never sees the group's commits over time.
   */
  lagStatus(groupId: string): Promise<GroupLagDescription | null>;
  producer(options: { acks: AcksValue; compression: CompressionName }): Promise<CliProducer>;
  consumer(request: ConsumeRequest): Promise<CliConsumer>;
  /**
   * Kafka's ElectLeaders (kafka-leader-election.sh), sent to the controller: each partition named
   * (null: every one, those needing no election left out) gets its preferred replica, or a live
   * out-of-sync one when no in-sync replica is live ('unclean').
   */
  electLeaders(type: ElectionType, partitions: readonly { topic: string; partition: number }[] | null, timeoutMs: number): Promise<ElectionResultRow[]>;
  /** The ACL bindings matching the filter. */
  describeAcls(filter: AclFilter): Promise<AclEntry[]>;
  createAcls(entries: AclEntry[]): Promise<void>;
  /** Removes the ACL bindings matching the filter; resolves with them. */
  deleteAcls(filter: AclFilter): Promise<AclEntry[]>;
  close(): Promise<void>;
}

/** Adds --data-dir, --bootstrap-server and the SASL client options to a command that talks to a broker. */
export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--data-dir <dir>', 'data directory of an embedded broker').default(DEFAULT_DATA_DIR).conflicts('bootstrapServer'))
    .addOption(new Option('--bootstrap-server <host:port>', 'talk to a running server (sluice serve) instead').argParser(hostPortArg))
    .addOption(new Option('--sasl-mechanism <mechanism>', 'SASL mechanism for --bootstrap-server').choices(['plain', 'scram-sha-256']))
    .addOption(new Option('--sasl-username <name>', 'SASL user name'))
    .addOption(new Option('--sasl-password <password>', 'SASL password').env('SLUICE_SASL_PASSWORD'));
}

/** The connection options of a command's parsed flags, with their combinations checked. */
export function connectionOptionsOf(command: Command): ConnectionOptions {
  const flags = command.opts<ConnectionOptions>();
  const sasl = [flags.saslMechanism, flags.saslUsername, flags.saslPassword];
  if (sasl.some((value) => value !== undefined)) {
    if (flags.bootstrapServer === undefined) {
      command.error('error: the --sasl-* options apply to --bootstrap-server; an embedded data directory needs no login', { exitCode: 2 });
    }
    if (sasl.some((value) => value === undefined)) {
      command.error('error: SASL needs --sasl-mechanism, --sasl-username and --sasl-password (or SLUICE_SASL_PASSWORD) together', { exitCode: 2 });
    }
  }
  return flags;
}

/**
 * `inspect`: the command only reads (topics list/describe, groups list/describe). A data directory
 * that needs recovery is then not repaired unasked: the open fails with RecoveryNeededError, which
 * names the command that repairs it, and leaves every file as it was.
 */
export async function openConnection(options: ConnectionOptions, inspect = false): Promise<Connection> {
  if (options.bootstrapServer !== undefined) return KafkaConnection.open(options.bootstrapServer, options);
  const sluice = await Sluice.open({
    dataDir: options.dataDir,
    logger: stderrLogger({ info: false }),
    // The data directory is locked to this process, so no other member can join a group: nothing to wait for.
    groupInitialRebalanceDelayMs: 0,
    refuseRecovery: inspect,
  });
  return new EmbeddedConnection(sluice);
}

/**
 * Opens the command's connection, runs `work`, and closes the connection whatever happens.
 * `inspect`: see openConnection.
 */
export async function withConnection(command: Command, work: (connection: Connection) => Promise<void>, inspect = false): Promise<void> {
  const connection = await openConnection(connectionOptionsOf(command), inspect);
  try {
    await work(connection);
  } finally {
    await connection.close();
  }
}
