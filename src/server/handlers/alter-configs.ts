/**
 * AlterConfigs: replaces a topic's config overrides with the given set, as Kafka's legacy API
 * does (an override left out reverts to its default). The checks Kafka makes before any change
 * (ConfigAdminManager.preprocess) are shared with IncrementalAlterConfigs: a resource named twice
 * fails both entries, a config named twice or given a null value fails its resource with
 * INVALID_REQUEST, a broker resource must name "" or this node. Sluice has no broker config that
 * can change at runtime, so a broker resource with configs is refused as Kafka refuses a static
 * one ("Cannot update these configs dynamically").
 */
import { InvalidRequestError } from '../../errors.js';
import { AlterConfigs, type AlterConfigsResponseInput } from '../../protocol/api/alter-configs.js';
import { CONFIG_RESOURCE_BROKER, CONFIG_RESOURCE_TOPIC } from '../../protocol/api/describe-configs.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { replacementChanges, type ConfigChanges } from '../../broker/config-changes.js';
import { defineHandler, errorMessageOf, type RequestContext } from './handler.js';

type ResourceResult = AlterConfigsResponseInput['responses'][number];

export interface AlterableResource<C> {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: readonly C[];
}

/**
 * Answers each resource of an AlterConfigs or IncrementalAlterConfigs request: a resource named
 * twice fails both entries; `topicChanges` turns a topic's configs into the broker's set/remove map
 * (config-changes.ts, which makes Kafka's other checks), validated and applied (or only validated).
 */
export async function alterResources<C extends { name: string }>(
  ctx: RequestContext,
  resources: readonly AlterableResource<C>[],
  validateOnly: boolean,
  topicChanges: (topic: string, configs: readonly C[]) => ConfigChanges,
): Promise<ResourceResult[]> {
  const counts = new Map<string, number>();
  const keyOf = (resource: AlterableResource<C>): string => `${resource.resourceType}:${resource.resourceName}`;
  for (const resource of resources) counts.set(keyOf(resource), (counts.get(keyOf(resource)) ?? 0) + 1);
  const results: ResourceResult[] = [];
  for (const resource of resources) {
    const { resourceType, resourceName } = resource;
    try {
      if (counts.get(keyOf(resource))! > 1) throw new InvalidRequestError('Each resource must appear at most once.');
      switch (resourceType) {
        case CONFIG_RESOURCE_TOPIC:
          await ctx.broker.alterTopicConfigs(resourceName, topicChanges(resourceName, resource.configs), { validateOnly });
          break;
        case CONFIG_RESOURCE_BROKER:
          checkBrokerResource(ctx, resourceName, resource.configs.map((config) => config.name));
          break;
        default:
          throw new InvalidRequestError(`Unknown resource type ${resourceType}; Sluice alters configs of topics (2) and brokers (4)`);
      }
      results.push({ errorCode: ErrorCode.NONE, errorMessage: null, resourceType, resourceName });
    } catch (error) {
      results.push({ errorCode: ctx.errorCode(error), errorMessage: errorMessageOf(error), resourceType, resourceName });
    }
  }
  return results;
}

/** Kafka's checks of a broker resource name, then a refusal of every config: none is dynamic here. */
function checkBrokerResource(ctx: RequestContext, resourceName: string, configNames: readonly string[]): void {
  const nodeId = ctx.server.nodeId;
  if (resourceName !== '') {
    if (!/^-?\d+$/.test(resourceName)) throw new InvalidRequestError(`Node id must be an integer, but it is: ${resourceName}`);
    if (Number(resourceName) !== nodeId) throw new InvalidRequestError(`Unexpected broker id, expected ${nodeId}, but received ${resourceName}`);
  }
  if (configNames.length > 0) {
    throw new InvalidRequestError(
      `Cannot update these configs dynamically: ${configNames.join(', ')}; Sluice's broker settings are fixed at start ` +
        `(sluice serve options), only topic configs change at runtime`,
    );
  }
}

export const alterConfigsHandler = defineHandler({
  api: AlterConfigs,
  async handle(ctx, request) {
    const responses = await alterResources(ctx, request.resources, request.validateOnly, (topic, configs) =>
      replacementChanges(ctx.broker.topicMetadata(topic).configs, configs),
    );
    return { throttleTimeMs: 0, responses };
  },
});
