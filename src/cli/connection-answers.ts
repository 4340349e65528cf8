/**
 * What both CLI connections (embedded-connection.ts, kafka-connection.ts) share to give commands
 * the same answers: Kafka's config resource types and sources, ACL bindings flattened alike, topic
 * checks with the same messages, classic group descriptions alike, and client retries.
 */
import { decodeAssignment, type TopicPartitions } from '../broker/consumer-protocol.js';
import type { AclEntry, DescribeAclsResult } from '../client/admin.js';
import { validateTopicConfigs } from '../storage/topic-config.js';
import { validateTopicName } from '../storage/topic-store.js';
import type { GroupDetails, PartitionDescription, PartitionOffsets, TopicConfigDescription, TopicToCreate } from './connection.js';

/** Retries of a command line's clients: it should fail within seconds, not retry for a minute. */
export const CLI_RETRY = Object.freeze({ retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 });
/** Kafka's ConfigResource types for topics and brokers. */
export const TOPIC_RESOURCE = 2;
export const BROKER_RESOURCE = 4;
/** DescribeConfigs ConfigSource ids Sluice reports. */
export const CONFIG_SOURCES: Readonly<Record<number, string>> = { 1: 'topic', 2: 'dynamic-broker', 3: 'dynamic-default', 4: 'broker', 5: 'default' };

/** DescribeAcls's resources flattened into bindings. */
export function aclEntriesOf(result: DescribeAclsResult): AclEntry[] {
  return result.resources.flatMap(({ resourceType, resourceName, resourcePatternType, acls }) =>
    acls.map(({ principal, host, operation, permissionType }) => ({ resourceType, resourceName, resourcePatternType, principal, host, operation, permissionType })),
  );
}

/** Only a binding's fields (DeleteAcls adds per-binding error fields). */
export function aclEntryOf(acl: AclEntry): AclEntry {
  const { resourceType, resourceName, resourcePatternType, principal, host, operation, permissionType } = acl;
  return { resourceType, resourceName, resourcePatternType, principal, host, operation, permissionType };
}

/** Checks topic name and configs here, so that both paths report them with the same messages. */
export function checkTopicToCreate(topic: TopicToCreate): void {
  validateTopicName(topic.name);
  validateTopicConfigs(topic.configs);
}

function memberAssignment(protocolType: string, assignment: Buffer): TopicPartitions[] {
  if (protocolType !== 'consumer') return [];
  return decodeAssignment(assignment).assignedPartitions;
}

/** A classic group's description as commands show it, from either side's answer. */
export function classicGroupDetails<M extends { memberId: string; clientId: string; clientHost: string }>(
  group: { groupId: string; state: string; protocolType: string },
  protocol: string,
  members: readonly M[],
  assignmentOf: (member: M) => Buffer,
): GroupDetails {
  return {
    groupId: group.groupId,
    state: group.state,
    protocolType: group.protocolType,
    protocol,
    members: members.map((member) => ({
      memberId: member.memberId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      assignment: memberAssignment(group.protocolType, assignmentOf(member)),
    })),
  };
}

export function describeConfigEntries(entries: { configName: string; configValue: string | null; isDefault: boolean; configSource: number }[]): TopicConfigDescription[] {
  return entries
    .map((entry) => ({
      name: entry.configName,
      value: entry.configValue ?? '',
      isDefault: entry.isDefault,
      source: CONFIG_SOURCES[entry.configSource] ?? `source ${entry.configSource}`,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Each partition's offsets with its leader, replicas and ISR from a Metadata answer (kafkajs' shape, which the embedded admin shares). */
export function describePartitions(
  offsets: readonly PartitionOffsets[],
  metadata: readonly { partitionId: number; leader: number; replicas: number[]; isr: number[] }[],
): PartitionDescription[] {
  return offsets.map((entry) => {
    const placed = metadata.find((partition) => partition.partitionId === entry.partition);
    return { ...entry, leader: placed?.leader ?? -1, replicas: placed?.replicas ?? [], isr: placed?.isr ?? [] };
  });
}
