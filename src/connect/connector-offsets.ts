/**
 * KIP-875's offset changes, shared by both herders: PATCH /connectors/{name}/offsets alters the
 * offsets of a STOPPED connector (a source's in the offset store, a sink's in its consumer group
 * connect-<name>), DELETE resets them all. The connector sees them first (alterOffsets) and may
 * refuse them; the answers and errors are Kafka's (Worker, SinkUtils, ConnectorsResource).
 */
import { ConnectError, ConnectRestError } from '../errors.js';
import { SinkConnector, SourceConnector, type Props, type SourceOffset, type SourcePartition } from './api.js';
import { CONNECTOR_CLASS_CONFIG } from './connector-config.js';
import { canonicalJson, offsetKey } from './offset-store.js';
import type { ConnectorType, Worker } from './worker.js';

/** The REST body's entries: {"partition": {...}, "offset": {...} | null}. */
export type OffsetEntries = readonly { partition: Record<string, unknown> | null; offset: Record<string, unknown> | null }[];

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The body of an alter request, {"offsets": [...]}; Kafka refuses an absent or empty list. */
export function offsetEntries(body: unknown): OffsetEntries {
  const offsets = isObject(body) ? body.offsets : undefined;
  if (!Array.isArray(offsets) || offsets.length === 0) throw new ConnectRestError(400, 'Partitions / offsets need to be provided for an alter offsets request');
  return offsets.map((entry: unknown) => {
    if (!isObject(entry)) throw new ConnectRestError(400, `Each entry of offsets must be an object {"partition": {...}, "offset": {...}}, got ${JSON.stringify(entry)}`);
    const { partition, offset } = entry;
    if ((partition !== undefined && partition !== null && !isObject(partition)) || (offset !== undefined && offset !== null && !isObject(offset))) {
      throw new ConnectRestError(400, `A partition and an offset must each be a JSON object (an offset may be null), got ${JSON.stringify(entry)}`);
    }
    return { partition: partition ?? null, offset: offset ?? null };
  });
}

/** Offsets change only while nothing runs that could overwrite them (Kafka's check, in both herders). */
export function requireStopped(name: string, stopped: boolean): void {
  if (!stopped) {
    throw new ConnectRestError(
      400,
      `Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/${name}/stop' endpoint`,
    );
  }
}

/** SinkUtils.parseSinkConnectorOffsets: "10" and 10 are both accepted, as Kafka's JSON parsing does. */
function sinkOffsets(entries: OffsetEntries): { topic: string; partition: number; offset: number | null }[] {
  return entries.map(({ partition, offset }) => {
    if (partition === null) throw new ConnectRestError(400, 'The partition for a sink connector offset cannot be null or missing');
    if (!('kafka_topic' in partition) || !('kafka_partition' in partition)) {
      throw new ConnectRestError(400, "The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'");
    }
    if (partition.kafka_topic === null) throw new ConnectRestError(400, 'Kafka topic names must be valid strings and may not be null');
    if (partition.kafka_partition === null) throw new ConnectRestError(400, 'Kafka partitions must be valid numbers and may not be null');
    const number = Number(partition.kafka_partition);
    if (!/^-?\d+$/.test(String(partition.kafka_partition)) || !Number.isSafeInteger(number)) {
      throw new ConnectRestError(400, `Failed to parse the following Kafka partition value in the provided offsets: '${String(partition.kafka_partition)}'. Partition values for sink connectors need to be integers.`);
    }
    if (offset === null) return { topic: String(partition.kafka_topic), partition: number, offset: null };
    if (!('kafka_offset' in offset)) throw new ConnectRestError(400, "The offset for a sink connector should either be null or contain the key 'kafka_offset'");
    const value = Number(offset.kafka_offset);
    if (!/^-?\d+$/.test(String(offset.kafka_offset)) || !Number.isSafeInteger(value)) {
      throw new ConnectRestError(400, `Failed to parse the following Kafka offset value in the provided offsets: '${String(offset.kafka_offset)}'. Offset values for sink connectors need to be integers.`);
    }
    return { topic: String(partition.kafka_topic), partition: number, offset: value };
  });
}

async function askConnector(name: string, alter: () => boolean | Promise<boolean>): Promise<boolean> {
  try {
    return await alter();
  } catch (error) {
    if (error instanceof ConnectRestError) throw error;
    throw new ConnectError(`Failed to modify offsets for connector ${name}: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}

function answer(connectorManagesNone: boolean, modification: 'altered' | 'reset'): { message: string } {
  return {
    message: connectorManagesNone
      ? `The offsets for this connector have been ${modification} successfully`
      : `The Connect framework-managed offsets for this connector have been ${modification} successfully. However, if this connector manages offsets externally, they will need to be manually ${modification} in the system that the connector uses.`,
  };
}

/**
 * Alters (`entries`) or resets (null) a stopped connector's offsets. A source's null offset
 * forgets that partition; a sink's reset deletes its consumer group, as Kafka does.
 */
export async function modifyConnectorOffsets(worker: Worker, name: string, config: Props, type: ConnectorType, entries: OffsetEntries | null): Promise<{ message: string }> {
  const connector = worker.plugins.newConnector(config[CONNECTOR_CLASS_CONFIG]!);
  const modification = entries === null ? 'reset' : 'altered';
  if (type === 'source' && connector instanceof SourceConnector) {
    await worker.offsets.catchUp();
    const offsets: { partition: SourcePartition; offset: SourceOffset | null }[] =
      entries === null
        ? worker.offsets.connectorOffsets(name).map(({ partition }) => ({ partition, offset: null }))
        : entries.map(({ partition, offset }) => {
            if (partition === null) throw new ConnectRestError(400, 'The partition for a source connector offset cannot be null or missing');
            return { partition, offset };
          });
    const managesNone = await askConnector(name, () => connector.alterOffsets(config, offsets));
    if (offsets.length > 0) {
      await worker.offsets.write(new Map(offsets.map(({ partition, offset }) => [offsetKey(name, partition), offset === null ? null : canonicalJson(offset)])));
    }
    return answer(managesNone, modification);
  }
  if (!(connector instanceof SinkConnector)) throw new ConnectError(`Connector ${name}'s class ${config[CONNECTOR_CLASS_CONFIG]} is not a ${type} connector`);
  const groupId = `connect-${name}`;
  if (entries === null) {
    const committed = await worker.cluster.committedOffsets(groupId);
    const managesNone = await askConnector(name, () => connector.alterOffsets(config, committed.map(({ topic, partition }) => ({ topic, partition, offset: null }))));
    await worker.cluster.deleteGroup(groupId);
    return answer(managesNone, modification);
  }
  const offsets = sinkOffsets(entries);
  const resets = offsets.filter((entry) => entry.offset === null);
  if (resets.length > 0) {
    // Kafka deletes one partition's group offset with OffsetDelete, which kafkajs (the client for a
    // Kafka broker) does not offer; both clusters behave alike.
    throw new ConnectRestError(
      400,
      `Resetting the offsets of single partitions of a sink connector is not supported (${resets.map(({ topic, partition }) => `${topic}-${partition}`).join(', ')}); DELETE /connectors/${name}/offsets resets them all`,
    );
  }
  const managesNone = await askConnector(name, () => connector.alterOffsets(config, offsets));
  await worker.cluster.setCommittedOffsets(groupId, offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: offset! })));
  return answer(managesNone, modification);
}
