/**
 * `sluice groups list|describe`: consumer groups, their members and assignments, and per
 * partition the committed offset, the log end offset and the lag between them.
 *
 * Lag is the log end offset (high watermark) minus the committed offset, as Kafka's
 * kafka-consumer-groups tool reports it. On a data directory, each partition also gets the
 * broker's Burrow-style status of the group's recent commits (Broker.groupLag; the broker
 * replays them from __consumer_offsets, so the history is there even in a fresh process). Over
 * --bootstrap-server there is no status: Kafka's protocol has no API for it, and the CLI runs
 * once, so it never sees commits over time.
 *
 * A committed offset outside the log (below its start, or above its end, as after recovery cut the
 * tail of a log the group had read) is flagged OUT_OF_RANGE, over either connection: the group's
 * consumers will not resume there but start from their reset policy (auto.offset.reset).
 */
import type { Command } from 'commander';
import { partitionLag, type GroupLagStatus, type PartitionLagStatus } from '../../broker/lag.js';
import { GroupIdNotFoundError, TopicNotFoundError } from '../../errors.js';
import { addConnectionOptions, withConnection, type Connection, type GroupDetails, type PartitionOffsets } from '../connection.js';
import { printJson, printTable, printWarning, writeOut } from '../output.js';

interface JsonFlag {
  json?: boolean;
}

export interface GroupPartitionLag {
  topic: string;
  partition: number;
  /** Null when the group has committed nothing for the partition. */
  committedOffset: number | null;
  /** Null when the topic no longer exists. */
  logEndOffset: number | null;
  lag: number | null;
  /** The broker's status of the partition's recent commits; null over --bootstrap-server or without a commit. */
  status: PartitionLagStatus | null;
  /** The member the partition is assigned to, if any. */
  memberId: string | null;
  /** The committed offset lies outside the log: the group's consumers start from their reset policy. */
  outOfRange: boolean;
}

export interface GroupReport extends GroupDetails {
  partitions: GroupPartitionLag[];
  totalLag: number;
  /** The worst partition's status (OK, WARNING, ERROR); null over --bootstrap-server. */
  status: GroupLagStatus | null;
}

const STATUS_HELP =
  '\nLag = log end offset - committed offset, per partition, as kafka-consumer-groups reports it.\n' +
  'STATUS judges the group\'s recent commits the way Burrow does (lag measured to the last stable offset):\n' +
  '  OK       caught up at some point of the window, or the lag shrinks\n' +
  '  WARNING  committing, but the lag never shrank across the window\n' +
  '  STALLED  committing, but the committed offset does not move\n' +
  '  STOPPED  no commit for longer than the window of commits spans, and not caught up recently\n' +
  '  REWIND   the committed offset went backwards and has not come back\n' +
  'STOPPED and REWIND are judged first; WARNING and STALLED only if the lag was never zero in the window.\n' +
  '  OUT_OF_RANGE  the committed offset is outside the log (below its start, or past its end after\n' +
  '           recovery cut it): consumers start from their auto.offset.reset policy instead\n' +
  'The group status is the worst: OK, WARNING, or ERROR (STALLED, STOPPED, REWIND or OUT_OF_RANGE).\n' +
  'With --bootstrap-server there is no STATUS: it needs the history of the group\'s commits, which only\n' +
  'the broker sees (Kafka\'s protocol has no API for it); lag is still shown.';

export function registerGroups(program: Command): void {
  const groups = program.command('groups').description('list and describe consumer groups');

  addConnectionOptions(
    groups.command('list').description('list consumer groups with their state and member count').option('--json', 'print JSON'),
  ).action(async (flags: JsonFlag, command: Command) => {
    await withConnection(command, async (connection) => {
      const list = (await connection.listGroups()).sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
      if (flags.json === true) return printJson(list);
      await printTable(
        ['GROUP', 'STATE', 'MEMBERS', 'PROTOCOL-TYPE'],
        list.map((group) => [group.groupId, group.state, group.members, group.protocolType === '' ? null : group.protocolType]),
      );
    }, true);
  });

  addConnectionOptions(
    groups
      .command('describe')
      .description('a group: state, members with their assignment, and per partition the committed offset, log end offset and lag')
      .argument('<group>', 'group id')
      .option('--json', 'print JSON')
      .addHelpText('after', STATUS_HELP),
  ).action(async (groupId: string, flags: JsonFlag, command: Command) => {
    await withConnection(command, async (connection) => {
      const report = await describeGroupLag(connection, groupId);
      if (flags.json === true) return printJson(report);
      const protocol = report.protocol === '' ? report.protocolType || '-' : `${report.protocolType}/${report.protocol}`;
      const status = report.status === null ? '' : `\tStatus: ${report.status}`;
      await writeOut(
        `Group: ${report.groupId}\tState: ${report.state}\tProtocol: ${protocol}\tMembers: ${report.members.length}\tTotal lag: ${report.totalLag}${status}\n`,
      );
      const memberById = new Map(report.members.map((member) => [member.memberId, member]));
      // Without a status (over --bootstrap-server) the column is left out rather than shown empty.
      const withStatus = report.status !== null;
      await printTable(
        ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', ...(withStatus ? ['STATUS'] : []), 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
        report.partitions.map((p) => {
          const member = p.memberId === null ? undefined : memberById.get(p.memberId);
          return [
            p.topic,
            p.partition,
            p.committedOffset,
            p.logEndOffset,
            p.lag,
            ...(withStatus ? [p.status] : []),
            p.memberId,
            member?.clientHost ?? null,
            member?.clientId ?? null,
          ];
        }),
      );
      for (const p of report.partitions.filter((entry) => entry.outOfRange)) {
        printWarning(
          `the committed offset ${p.committedOffset} of ${p.topic}-${p.partition} is out of range, outside the log's offsets: ` +
            `the group's consumers start from their auto.offset.reset policy, not from it`,
        );
      }
    }, true);
  });
}

/** The group's description with, per partition it owns or committed, the lag behind the log end. */
export async function describeGroupLag(connection: Connection, groupId: string): Promise<GroupReport> {
  const group = await connection.describeGroup(groupId);
  const committed = await connection.committedOffsets(groupId);
  if (group.state === 'Dead' && committed.length === 0) throw new GroupIdNotFoundError(groupId);
  const rows = new Map<string, GroupPartitionLag>();
  const row = (topic: string, partition: number): GroupPartitionLag => {
    const key = `${topic}\0${partition}`;
    let found = rows.get(key);
    if (found === undefined) {
      found = { topic, partition, committedOffset: null, logEndOffset: null, lag: null, status: null, memberId: null, outOfRange: false };
      rows.set(key, found);
    }
    return found;
  };
  for (const offset of committed) row(offset.topic, offset.partition).committedOffset = offset.offset;
  // The broker's report also has the offsets it holds back from the group's consumers (out of range since it opened).
  const lagStatus = await connection.lagStatus(groupId);
  for (const judged of lagStatus?.partitions ?? []) row(judged.topic, judged.partition).committedOffset ??= judged.committedOffset;
  for (const member of group.members) {
    for (const { topic, partitions } of member.assignment) {
      for (const partition of partitions) row(topic, partition).memberId = member.memberId;
    }
  }
  const ends = new Map<string, PartitionOffsets[] | null>();
  for (const topic of new Set([...rows.values()].map((entry) => entry.topic))) {
    try {
      ends.set(topic, await connection.partitionOffsets(topic));
    } catch (error) {
      // Offsets can outlive their topic; its rows then show no end and no lag.
      if (!(error instanceof TopicNotFoundError)) throw error;
      ends.set(topic, null);
    }
  }
  let totalLag = 0;
  for (const entry of rows.values()) {
    const end = ends.get(entry.topic)?.find((offsets) => offsets.partition === entry.partition);
    if (end === undefined) continue;
    entry.logEndOffset = end.logEndOffset;
    entry.lag = partitionLag({ committedOffset: entry.committedOffset ?? -1, logEndOffset: end.logEndOffset });
    totalLag += entry.lag ?? 0;
    const committedOffset = entry.committedOffset;
    entry.outOfRange = committedOffset !== null && (committedOffset < end.logStartOffset || committedOffset > end.logEndOffset);
  }
  for (const judged of lagStatus?.partitions ?? []) {
    const entry = rows.get(`${judged.topic}\0${judged.partition}`)!;
    entry.status = judged.status;
    if (judged.status === 'OUT_OF_RANGE') entry.outOfRange = true;
  }
  const partitions = [...rows.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return { ...group, partitions, totalLag, status: lagStatus?.status ?? null };
}
