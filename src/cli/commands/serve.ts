/**
 * `sluice serve`: the broker on a data directory behind the Kafka protocol server. Prints one
 * line, `listening on HOST:PORT`, on stdout once clients can connect; logs go to stderr. SIGINT
 * or SIGTERM closes the server (answering requests in flight) and then the broker (every log
 * flushed and closed, the data directory unlocked), and the process exits 0. A second signal
 * during that exits at once.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { Broker } from '../../broker/broker.js';
import { SASL_MECHANISMS, type SaslMechanismName, type SaslOptions } from '../../server/config.js';
import { KafkaServer } from '../../server/server.js';
import { booleanArg, formatHostPort, integerArg } from '../arguments.js';
import { DEFAULT_DATA_DIR } from '../connection.js';
import { printError, stderrLogger, writeOut } from '../output.js';

const INT32_MAX = 0x7fff_ffff;

interface ServeFlags {
  dataDir: string;
  host: string;
  port: number;
  advertisedHost?: string;
  shards?: number;
  numPartitions?: number;
  autoCreateTopics: boolean;
  groupInitialRebalanceDelayMs: number;
  saslMechanisms?: SaslMechanismName[];
  saslCredentialsFile?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a data directory over the Kafka protocol')
    .option('--data-dir <dir>', 'data directory (created if missing)', DEFAULT_DATA_DIR)
    .option('--host <host>', 'interface to bind; 0.0.0.0 for every interface', '127.0.0.1')
    .option('--port <port>', 'TCP port; 0 picks a free one', integerArg(0, 65_535), 9092)
    .option('--advertised-host <host>', 'host name clients are told to connect to (default: the bound host)')
    .option('--shards <n>', 'shard threads, each the writer of its partitions (default: cores, at most 4)', integerArg(1, 256))
    .option('--num-partitions <n>', 'partitions of auto-created topics (Kafka num.partitions, default 1)', integerArg(1, 1_000_000))
    .addOption(
      new Option('--auto-create-topics <bool>', 'create unknown topics on produce or metadata (auto.create.topics.enable)')
        .argParser(booleanArg)
        .default(true),
    )
    .option(
      '--group-initial-rebalance-delay-ms <ms>',
      "how long a new group's first rebalance waits for more members (Kafka group.initial.rebalance.delay.ms)",
      integerArg(0, INT32_MAX),
      3_000,
    )
    .option('--sasl-mechanisms <list>', `require SASL: comma-separated ${SASL_MECHANISMS.join(', ')}`, saslMechanismsArg)
    .option('--sasl-credentials-file <file>', 'JSON file of SASL users: { "users": { "<name>": { "password": "..." } } }')
    .action(async (flags: ServeFlags, command: Command) => {
      if ((flags.saslMechanisms === undefined) !== (flags.saslCredentialsFile === undefined)) {
        command.error('error: --sasl-mechanisms and --sasl-credentials-file go together', { exitCode: 2 });
      }
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  const logger = stderrLogger({ info: true });
  const broker = await Broker.open({
    dataDir: flags.dataDir,
    ...(flags.shards === undefined ? {} : { shards: flags.shards }),
    ...(flags.numPartitions === undefined ? {} : { numPartitions: flags.numPartitions }),
    autoCreateTopicsEnable: flags.autoCreateTopics,
    groupInitialRebalanceDelayMs: flags.groupInitialRebalanceDelayMs,
    logger,
  });
  let server: KafkaServer;
  try {
    const sasl: SaslOptions | undefined =
      flags.saslMechanisms === undefined ? undefined : { mechanisms: flags.saslMechanisms, credentialsFile: flags.saslCredentialsFile! };
    server = new KafkaServer(broker, {
      host: flags.host,
      port: flags.port,
      ...(flags.advertisedHost === undefined ? {} : { advertisedHost: flags.advertisedHost }),
      ...(sasl === undefined ? {} : { sasl }),
      logger,
    });
    const stopRequested = stopSignal();
    const address = await server.listen();
    await writeOut(`listening on ${formatHostPort(address.host, address.port)}\n`);
    await stopRequested;
  } catch (error) {
    await broker.close();
    throw error;
  }
  await server.close();
  await broker.close();
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once, without a clean close. */
function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) {
        printError(`${signal} again: exiting without closing the logs (they recover at the next start)`);
        process.exit(1);
      }
      received = true;
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function saslMechanismsArg(text: string): SaslMechanismName[] {
  const names = text.split(',').map((name) => name.trim().toUpperCase());
  for (const name of names) {
    if (!SASL_MECHANISMS.includes(name as SaslMechanismName)) {
      throw new InvalidArgumentError(`unknown SASL mechanism "${name}"; use ${SASL_MECHANISMS.join(' or ')}`);
    }
  }
  return names as SaslMechanismName[];
}
