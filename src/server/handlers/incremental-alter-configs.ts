/**
 * IncrementalAlterConfigs: per config SET, DELETE, APPEND or SUBTRACT (config-changes.ts); an
 * operation id Kafka does not define is INVALID_REQUEST. Checks shared with AlterConfigs: see
 * alter-configs.ts.
 */
import { CONFIG_OPERATIONS, brokerIncrementalChanges, incrementalChanges, type IncrementalConfigChange } from '../../broker/config-changes.js';
import { InvalidRequestError } from '../../errors.js';
import { IncrementalAlterConfigs, type IncrementalAlterConfigsRequest } from '../../protocol/api/incremental-alter-configs.js';
import { alterResources } from './alter-configs.js';
import { defineHandler } from './handler.js';

type IncrementalConfig = IncrementalAlterConfigsRequest['resources'][number]['configs'][number];

export const incrementalAlterConfigsHandler = defineHandler({
  api: IncrementalAlterConfigs,
  async handle(ctx, request) {
    const operations = (configs: readonly IncrementalConfig[]): IncrementalConfigChange[] =>
      configs.map(({ name, configOperation, value }) => {
        const operation = CONFIG_OPERATIONS[configOperation];
        if (operation === undefined) throw new InvalidRequestError(`Unknown operations type ${configOperation}`);
        return { name, operation, value };
      });
    const responses = await alterResources(ctx, request.resources, request.validateOnly, {
      topic: (topic, configs) => incrementalChanges(ctx.broker.topicMetadata(topic).configs, operations(configs)),
      broker: (current, configs) => brokerIncrementalChanges(current, operations(configs)),
    });
    return { throttleTimeMs: 0, responses };
  },
});
