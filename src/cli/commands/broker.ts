/**
 * `sluice broker alter-config`: the dynamic broker configs, the defaults of every topic that does
 * not set its own (log.retention.ms, message.max.bytes, log.cleanup.policy...), for this broker or,
 * with --cluster-default, for every broker (kafka-configs.sh --entity-type brokers --entity-name /
 * --entity-default). Applied at once and kept across restarts.
 */
import type { Command } from 'commander';
import { BROKER_TOPIC_DEFAULTS } from '../../broker/broker-configs.js';
import { configArg, configChangeOf, configNameArg } from '../arguments.js';
import { addConnectionOptions, withConnection } from '../connection.js';
import { printJson, writeOut } from '../output.js';

export function registerBroker(program: Command): void {
  const broker = program.command('broker').description("change the broker's dynamic configs");

  addConnectionOptions(
    broker
      .command('alter-config')
      .description(`set the topic config defaults at runtime: ${Object.keys(BROKER_TOPIC_DEFAULTS).join(', ')}`)
      .option('--add-config <name=value>', 'set a config such as log.retention.ms=86400000; repeat for more', configArg)
      .option('--delete-config <name>', 'remove a dynamic config so the built-in default applies again; repeat for more', configNameArg)
      .option('--cluster-default', 'change the default of every broker instead of this broker (which wins over it)')
      .option('--json', 'print the dynamic configs after the change as JSON'),
  ).action(async (flags: { addConfig?: Record<string, string>; deleteConfig?: string[]; clusterDefault?: boolean; json?: boolean }, command: Command) => {
    const { set, remove } = configChangeOf(flags);
    const scope = flags.clusterDefault === true ? 'default' : 'broker';
    await withConnection(command, async (connection) => {
      const configs = await connection.alterBrokerConfigs(scope, set, remove);
      if (flags.json === true) return printJson(configs);
      const shown = Object.entries(configs).map(([config, value]) => `${config}=${value}`).join(',');
      await writeOut(`altered ${scope === 'default' ? 'the cluster-wide default' : 'this broker'}: dynamic configs ${shown === '' ? '(none)' : shown}\n`);
    });
  });
}
