#!/usr/bin/env node
/**
 * The `sluice` command line. Each command lives in ./commands/ and registers itself on the
 * program; adding one is an import and an entry in COMMANDS.
 *
 * Exit codes: 0 on success (and for --help), 2 for a usage error (unknown command or flag, a
 * flag value that does not parse, flags that exclude each other), 1 for a failure while
 * running. Errors print as one line, `error: <message>`, on stderr; SLUICE_DEBUG=1 adds the stack.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerBroker } from './commands/broker.js';
import { registerConsume } from './commands/consume.js';
import { registerGroups } from './commands/groups.js';
import { registerPerfCommand } from './commands/perf.js';
import { registerProduce } from './commands/produce.js';
import { registerRecover } from './commands/recover.js';
import { registerServe } from './commands/serve.js';
import { registerCluster } from './commands/cluster.js';
import { registerTopics } from './commands/topics.js';
import { registerTuneCommand } from './commands/tune.js';
import { registerAcls } from './commands/acls.js';
import { registerSchemaRegistry } from './commands/schema-registry.js';
import { registerSchemas } from './commands/schemas.js';
import { registerConnect } from './commands/connect.js';
import { reportError } from './output.js';

const COMMANDS: readonly ((program: Command) => void)[] = [
  registerServe,
  registerTopics,
  registerBroker,
  registerProduce,
  registerConsume,
  registerGroups,
  registerPerfCommand,
  registerRecover,
  registerTuneCommand,
  registerAcls,
  registerSchemaRegistry,
  registerSchemas,
  registerConnect,
  registerCluster,
];

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** Commander's outcomes that are not errors: help or version shown on request. */
const COMMANDER_SUCCESS_CODES = new Set(['commander.helpDisplayed', 'commander.version']);

function buildProgram(): Command {
  const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };
  const program = new Command('sluice')
    .description('Sluice: a Kafka-compatible log broker. Works on a data directory (--data-dir) or a running server (--bootstrap-server).')
    .version(version)
    // Settings inherited by every command added after this point.
    .exitOverride()
    .configureOutput({
      // One line per error: commander puts its "Did you mean" suggestion on a line of its own.
      outputError: (text, write) => write(`${text.replace(/\s*\n\s*(?=\S)/g, ' ').trimEnd()}\n`),
    });
  for (const register of COMMANDS) register(program);
  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) return COMMANDER_SUCCESS_CODES.has(error.code) ? EXIT_OK : EXIT_USAGE;
    reportError(error);
    return EXIT_FAILURE;
  }
}

// A reader that goes away (`sluice consume t | head`) is not an error of ours: the consume loop sees
// the failed write and stops; without this listener the EPIPE would surface as an uncaught exception.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') reportError(error);
});

const exitCode = await main(process.argv);
// Exit even if a client library left a timer or socket behind; stdout is written synchronously
// to files and pipes, so nothing printed is lost.
process.exit(exitCode);
