/**
 * `sluice schema-registry`: the Schema Registry (Confluent's REST API) on its own, keeping
 * _schemas in a data directory's embedded broker (--data-dir) or on a running Kafka server
 * (--bootstrap-server). Prints `schema registry listening on http://HOST:PORT` once it answers;
 * SIGINT or SIGTERM stops it. `sluice serve --schema-registry-port` runs the same registry inside
 * the serving process, on its broker (served-registry.ts).
 */
import { Option, type Command } from 'commander';
import { Sluice } from '../../sluice.js';
import { formatHostPort, hostPortArg, integerArg, type HostPort } from '../arguments.js';
import { DEFAULT_DATA_DIR } from '../connection.js';
import { DEFAULT_SCHEMA_REGISTRY_PORT } from '../served-registry.js';
import { stderrLogger } from '../output.js';
import { startServedRegistry } from '../served-registry.js';
import { stopSignal } from './serve.js';

interface SchemaRegistryFlags {
  host: string;
  port: number;
  dataDir: string;
  bootstrapServer?: HostPort;
}

export function registerSchemaRegistry(program: Command): void {
  program
    .command('schema-registry')
    .description("serve a Schema Registry (Confluent's REST API), keeping schemas in the _schemas topic")
    .option('--host <host>', 'interface to bind; 0.0.0.0 for every interface', '127.0.0.1')
    .option('--port <port>', 'HTTP port; 0 picks a free one', integerArg(0, 65_535), DEFAULT_SCHEMA_REGISTRY_PORT)
    .addOption(new Option('--data-dir <dir>', 'data directory of an embedded broker holding _schemas').default(DEFAULT_DATA_DIR).conflicts('bootstrapServer'))
    .addOption(new Option('--bootstrap-server <host:port>', 'keep _schemas on a running Kafka server (sluice serve) instead').argParser(hostPortArg))
    .action(async (flags: SchemaRegistryFlags) => {
      const stopRequested = stopSignal();
      if (flags.bootstrapServer !== undefined) {
        const served = await startServedRegistry({ bootstrapServer: formatHostPort(flags.bootstrapServer.host, flags.bootstrapServer.port) }, flags.host, flags.port);
        await stopRequested;
        await served.close();
        return;
      }
      const sluice = await Sluice.open({ dataDir: flags.dataDir, logger: stderrLogger({ info: false }) });
      try {
        const served = await startServedRegistry({ sluice }, flags.host, flags.port);
        await stopRequested;
        await served.close();
      } finally {
        await sluice.close();
      }
    });
}
