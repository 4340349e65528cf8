/**
 * `sluice topics create|list|describe|delete|alter-config|delete-records|elect-leaders`: the topic
 * admin commands, on a data directory or against a server. alter-config takes kafka-configs.sh's
 * --add-config / --delete-config; delete-records moves log start offsets as
 * kafka-delete-records.sh does; elect-leaders is kafka-leader-election.sh.
 */
import { Option, type Command } from 'commander';
import { ClusterError, TopicExistsError } from '../../errors.js';
import { ErrorCode, errorCodeName } from '../../protocol/api/error-codes.js';
import { configArg, configChangeOf, configNameArg, integerArg } from '../arguments.js';
import { addConnectionOptions, withConnection } from '../connection.js';
import { printJson, printTable, writeOut } from '../output.js';
import { INT32_MAX } from '../../protocol/limits.js';

/** How long the controller may take to see the elected leaders (Kafka's admin default request timeout). */
const ELECTION_TIMEOUT_MS = 60_000;

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

  addConnectionOptions(
    topics
      .command('elect-leaders')
      .description("move partitions' leadership to their preferred replica, or to an out-of-sync replica where no in-sync one is live (kafka-leader-election.sh)")
      .addOption(new Option('--election-type <type>', 'preferred: the first assigned replica, if live and in sync; unclean: any live replica of a partition without a live leader').choices(['preferred', 'unclean']).makeOptionMandatory())
      .option('--topic <name>', 'the topic of the partition to elect (with --partition)')
      .option('--partition <partition>', 'the partition to elect (with --topic)', integerArg(0, INT32_MAX - 1))
      .option('--all-topic-partitions', 'elect every partition of the cluster')
      .option('--json', 'print each partition named with its outcome as JSON'),
  ).action(async (flags: { electionType: 'preferred' | 'unclean'; topic?: string; partition?: number; allTopicPartitions?: boolean; json?: boolean }, command: Command) => {
    const single = flags.topic !== undefined || flags.partition !== undefined;
    if (single === (flags.allTopicPartitions === true)) command.error('error: give either --topic and --partition, or --all-topic-partitions', { exitCode: 2 });
    if (single && (flags.topic === undefined || flags.partition === undefined)) command.error('error: --topic and --partition go together', { exitCode: 2 });
    await withConnection(command, async (connection) => {
      const results = await connection.electLeaders(flags.electionType, single ? [{ topic: flags.topic!, partition: flags.partition! }] : null, ELECTION_TIMEOUT_MS);
      if (flags.json === true) {
        await printJson(results.map(({ topic, partition, errorCode, errorMessage }) => ({ topic, partition, error: errorCode === ErrorCode.NONE ? null : errorCodeName(errorCode), message: errorMessage })));
      } else {
        // kafka-leader-election.sh's report: elected, already led as asked, failed.
        const type = flags.electionType.toUpperCase();
        const named = (rows: typeof results): string => rows.map(({ topic, partition }) => `${topic}-${partition}`).join(', ');
        const elected = results.filter((row) => row.errorCode === ErrorCode.NONE);
        const noop = results.filter((row) => row.errorCode === ErrorCode.ELECTION_NOT_NEEDED);
        let text = '';
        if (elected.length > 0) text += `Successfully completed leader election (${type}) for partitions ${named(elected)}\n`;
        if (noop.length > 0) text += `Valid replica already elected for partitions ${named(noop)}\n`;
        for (const row of results) {
          if (row.errorCode !== ErrorCode.NONE && row.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) {
            text += `Error completing leader election (${type}) for partition: ${row.topic}-${row.partition}: ${errorCodeName(row.errorCode)}: ${row.errorMessage ?? ''}\n`;
          }
        }
        await writeOut(text);
      }
      const failed = results.filter((row) => row.errorCode !== ErrorCode.NONE && row.errorCode !== ErrorCode.ELECTION_NOT_NEEDED).length;
      if (failed > 0) throw new ClusterError(`${failed} replica(s) could not be elected`);
    });
  });
}
