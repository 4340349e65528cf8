/**
 * `sluice topics create|list|describe|delete|alter-config|delete-records`: the topic admin
 * commands, on a data directory or against a server. alter-config takes kafka-configs.sh's
 * --add-config / --delete-config; delete-records moves log start offsets as
 * kafka-delete-records.sh does.
 */
import type { Command } from 'commander';
import { TopicExistsError } from '../../errors.js';
import { configArg, configChangeOf, configNameArg, integerArg } from '../arguments.js';
import { addConnectionOptions, withConnection } from '../connection.js';
import { printJson, printTable, writeOut } from '../output.js';
import { INT32_MAX } from '../../protocol/limits.js';

/** Kafka's upper bound on a partition id, and so on a partition count. */

interface JsonFlag {
  json?: boolean;
}

export function registerTopics(program: Command): void {
  const topics = program.command('topics').description('create, list, describe, alter and delete topics, delete records');

  addConnectionOptions(
    topics
      .command('create')
      .description('create a topic')
      .argument('<name>', 'topic name: 1 to 249 of [a-zA-Z0-9._-]')
      .option('--partitions <count>', "partition count (default: the broker's num.partitions)", integerArg(1, INT32_MAX))
      .option('--replication-factor <n>', "replicas of each partition, at most the cluster's live brokers (default: the broker's default.replication.factor)", integerArg(1, INT32_MAX))
      .option('--config <name=value>', 'a topic config such as retention.ms=86400000; repeat for more', configArg)
      .option('--if-not-exists', 'succeed without change when the topic exists'),
  ).action(async (name: string, flags: { partitions?: number; replicationFactor?: number; config?: Record<string, string>; ifNotExists?: boolean }, command: Command) => {
    await withConnection(command, async (connection) => {
      const created = await connection.createTopic({
        name,
        partitions: flags.partitions,
        ...(flags.replicationFactor === undefined ? {} : { replicationFactor: flags.replicationFactor }),
        configs: flags.config ?? {},
      });
      if (!created && flags.ifNotExists !== true) throw new TopicExistsError(name);
      const partitions = await connection.partitionCount(name);
      await writeOut(created ? `created topic ${name} with ${partitions} partition(s)\n` : `topic ${name} exists, with ${partitions} partition(s)\n`);
    });
  });

  addConnectionOptions(
    topics.command('list').description('list topics with their partition counts').option('--json', 'print JSON'),
  ).action(async (flags: JsonFlag, command: Command) => {
    await withConnection(command, async (connection) => {
      const list = await connection.listTopics();
      if (flags.json === true) return printJson(list);
      await printTable(
        ['TOPIC', 'PARTITIONS'],
        list.map((topic) => [topic.name, topic.partitions]),
      );
    }, true);
  });

  addConnectionOptions(
    topics
      .command('describe')
      .description("a topic's partitions (leader, replicas, in-sync replicas, log start and end offsets) and configs")
      .argument('<name>', 'topic name')
      .option('--json', 'print JSON, with every config and whether it is a default'),
  ).action(async (name: string, flags: JsonFlag, command: Command) => {
    await withConnection(command, async (connection) => {
      const topic = await connection.describeTopic(name);
      if (flags.json === true) return printJson(topic);
      const overrides = topic.configs.filter((config) => !config.isDefault);
      const configs = overrides.length === 0 ? '(all defaults)' : overrides.map((config) => `${config.name}=${config.value}`).join(',');
      await writeOut(`Topic: ${topic.name}\tPartitions: ${topic.partitions.length}\tConfigs: ${configs}\n`);
      await printTable(
        ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'LOG-START-OFFSET', 'LOG-END-OFFSET'],
        topic.partitions.map((p) => [p.partition, p.leader, p.replicas.join(','), p.isr.join(','), p.logStartOffset, p.logEndOffset]),
      );
    }, true);
  });

  addConnectionOptions(
    topics.command('delete').description('delete a topic and its data').argument('<name>', 'topic name'),
  ).action(async (name: string, _flags: unknown, command: Command) => {
    await withConnection(command, async (connection) => {
      await connection.deleteTopic(name);
      await writeOut(`deleted topic ${name}\n`);
    });
  });

  addConnectionOptions(
    topics
      .command('alter-config')
      .description("change a topic's configs while it runs (kafka-configs.sh --alter); the logs apply them at once")
      .argument('<name>', 'topic name')
      .option('--add-config <name=value>', 'set a config such as retention.ms=86400000; repeat for more', configArg)
      .option('--delete-config <name>', 'remove an override so the default applies again; repeat for more', configNameArg)
      .option('--json', 'print the overrides after the change as JSON'),
  ).action(async (name: string, flags: { addConfig?: Record<string, string>; deleteConfig?: string[]; json?: boolean }, command: Command) => {
    const { set, remove } = configChangeOf(flags);
    await withConnection(command, async (connection) => {
      const overrides = await connection.alterTopicConfigs(name, set, remove);
      if (flags.json === true) return printJson(overrides);
      const shown = Object.entries(overrides).map(([config, value]) => `${config}=${value}`).join(',');
      await writeOut(`altered topic ${name}: configs ${shown === '' ? '(all defaults)' : shown}\n`);
    });
  });

  addConnectionOptions(
    topics
      .command('delete-records')
      .description('delete the records below an offset: the log start offset moves there (kafka-delete-records.sh)')
      .argument('<name>', 'topic name')
      .requiredOption('--offset <offset>', 'delete the records below this offset; -1 deletes up to the high watermark', integerArg(-1))
      .option('--partition <partition>', 'the partition (default: every partition of the topic)', integerArg(0, INT32_MAX - 1))
      .option('--json', 'print JSON'),
  ).action(async (name: string, flags: { offset: number; partition?: number; json?: boolean }, command: Command) => {
    await withConnection(command, async (connection) => {
      const partitions =
        flags.partition !== undefined ? [flags.partition] : Array.from({ length: await connection.partitionCount(name) }, (_, partition) => partition);
      const result = await connection.deleteRecords(name, partitions.map((partition) => ({ partition, offset: flags.offset })));
      if (flags.json === true) return printJson(result);
      await printTable(
        ['PARTITION', 'LOG-START-OFFSET'],
        result.map((entry) => [entry.partition, entry.logStartOffset]),
      );
    });
  });
}
