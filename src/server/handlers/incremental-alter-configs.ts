/**
 * IncrementalAlterConfigs: per config SET, DELETE (back to the default), APPEND or SUBTRACT (items
 * of a list-typed config, from its current value: the override or else the default), as Kafka's
 * ConfigAdminManager.prepareIncrementalConfigs computes them. APPEND and SUBTRACT of a config that
 * is not a list are INVALID_CONFIG; an unknown operation is INVALID_REQUEST. Checks shared with
 * AlterConfigs: see alter-configs.ts.
 */
import { InvalidConfigError, InvalidRequestError } from '../../errors.js';
import {
  CONFIG_OPERATION_APPEND,
  CONFIG_OPERATION_DELETE,
  CONFIG_OPERATION_SET,
  CONFIG_OPERATION_SUBTRACT,
  IncrementalAlterConfigs,
} from '../../protocol/api/incremental-alter-configs.js';
import { describeTopicConfigs } from '../../storage/topic-config.js';
import { alterResources, type ConfigChanges } from './alter-configs.js';
import { defineHandler } from './handler.js';

export const incrementalAlterConfigsHandler = defineHandler({
  api: IncrementalAlterConfigs,
  async handle(ctx, request) {
    const responses = await alterResources(ctx, request.resources, request.validateOnly, {
      nullAllowed: (config) => config.configOperation === CONFIG_OPERATION_DELETE,
      topicChanges(topic, configs) {
        const current = describeTopicConfigs(ctx.broker.topicMetadata(topic).configs);
        const changes: ConfigChanges = {};
        for (const { name, configOperation, value } of configs) {
          switch (configOperation) {
            case CONFIG_OPERATION_SET:
              changes[name] = value;
              break;
            case CONFIG_OPERATION_DELETE:
              changes[name] = null;
              break;
            case CONFIG_OPERATION_APPEND:
            case CONFIG_OPERATION_SUBTRACT: {
              const append = configOperation === CONFIG_OPERATION_APPEND;
              const entry = current.find((row) => row.name === name);
              if (entry === undefined) throw new InvalidConfigError(`Unknown config name: ${name}`);
              if (entry.type !== 'LIST') {
                throw new InvalidConfigError(`Config value ${append ? 'append' : 'subtract'} is not allowed for config key: ${name}`);
              }
              const items = entry.value.split(',').filter((item) => item !== '');
              const given = value!.split(',');
              const next = append ? [...items, ...given.filter((item) => !items.includes(item))] : items.filter((item) => !given.includes(item));
              changes[name] = next.join(',');
              break;
            }
            default:
              throw new InvalidRequestError(`Unknown operations type ${configOperation}`);
          }
        }
        return changes;
      },
    });
    return { throttleTimeMs: 0, responses };
  },
});
