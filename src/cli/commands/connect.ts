/**
 * `sluice connect standalone worker.properties [connector.properties ...]`: a Kafka Connect
 * worker with Kafka's property names. Its broker is the embedded one of `data.dir` (or
 * --data-dir) or any Kafka-protocol broker of `bootstrap.servers`. Prints
 * `connect worker listening on http://HOST:PORT` once its REST API answers and its connectors
 * started; SIGINT or SIGTERM stops it, flushing source offsets and sink commits first.
 *
 * `sluice connect distributed worker.properties`: one worker of the group named by group.id, on
 * the brokers of bootstrap.servers; connectors are created through the REST API.
 */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { readPropertiesFile } from '../../connect/properties.js';
import { startDistributed } from '../../connect/distributed.js';
import { startStandalone } from '../../connect/standalone.js';
import { printError, printInfo } from '../output.js';
import { stopSignal } from './serve.js';

interface StandaloneFlags {
  dataDir?: string;
}

export function registerConnect(program: Command): void {
  const connect = program.command('connect').description("run Kafka Connect workers (source and sink connectors, Kafka Connect's REST API)");
  connect
    .command('standalone')
    .description('run a standalone worker: connectors from properties files, source offsets in offset.storage.file.filename')
    .argument('<worker.properties>', 'worker settings (bootstrap.servers or data.dir, offset.storage.file.filename, listeners, ...)')
    .argument('[connector.properties...]', 'one file per connector to start (name, connector.class, tasks.max, ...)')
    .option('--data-dir <dir>', "run on an embedded broker in this data directory (overrides the worker's data.dir)")
    .action(async (workerFile: string, connectorFiles: string[], flags: StandaloneFlags) => {
      const stopRequested = stopSignal();
      const workerProps = readPropertiesFile(workerFile);
      if (flags.dataDir !== undefined) workerProps['data.dir'] = flags.dataDir;
      const worker = await startStandalone({
        workerProps,
        connectorProps: connectorFiles.map((file) => readPropertiesFile(file)),
        baseDir: dirname(resolve(workerFile)),
        log: { info: printInfo, error: printError },
      });
      process.stdout.write(`connect worker listening on ${worker.rest.url}\n`);
      await stopRequested;
      await worker.close();
    });
  connect
    .command('distributed')
    .description('run a distributed worker: workers with the same group.id share connectors and tasks, kept in the connect-configs, connect-offsets and connect-status topics')
    .argument('<worker.properties>', 'worker settings (bootstrap.servers, group.id, config.storage.topic, offset.storage.topic, status.storage.topic, listeners, ...)')
    .action(async (workerFile: string) => {
      const stopRequested = stopSignal();
      const worker = await startDistributed({ workerProps: readPropertiesFile(workerFile), baseDir: dirname(resolve(workerFile)), log: { info: printInfo, error: printError } });
      process.stdout.write(`connect worker listening on ${worker.rest.url}\n`);
      await stopRequested;
      await worker.close();
    });
}
