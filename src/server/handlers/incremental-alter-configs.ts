/**
 * IncrementalAlterConfigs: per config SET, DELETE, APPEND or SUBTRACT (config-changes.ts); an
 * operation id Kafka does not define is INVALID_REQUEST. Checks shared with AlterConfigs: see
 * alter-configs.ts.
 */
import { CONFIG_OPERATIONS, incrementalChanges } from '../../broker/config-changes.js';
import { InvalidRequestError } from '../../errors.js';
import { IncrementalAlterConfigs } from '../../protocol/api/incremental-alter-configs.js';
import { alterResources } from './alter-configs.js';
import { defineHandler } from './handler.js';

export const incrementalAlterConfigsHandler = defineHandler({
  api: IncrementalAlterConfigs,
  async handle(ctx, request) {
    const responses = await alterResources(ctx, request.resources, request.validateOnly, (topic, configs) =>
      incrementalChanges(
        ctx.broker.topicMetadata(topic).configs,
        configs.map(({ name, configOperation, value }) => {
          const operation = CONFIG_OPERATIONS[configOperation];
          if (operation === undefined) throw new InvalidRequestError(`Unknown operations type ${configOperation}`);
          return { name, operation, value };
        }),
      ),
    );
    return { throttleTimeMs: 0, responses };
  },
});
