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
import type { TopicConfigValue } from '../../storage/topic-config.js';
import { defineHandler, errorMessageOf, type RequestContext } from './handler.js';

type ResourceResult = AlterConfigsResponseInput['responses'][number];
export type ConfigChanges = Record<string, TopicConfigValue | null>;

export interface AlterableResource<C extends { name: string; value: string | null }> {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: readonly C[];
}

/**
 * Answers each resource of an AlterConfigs or IncrementalAlterConfigs request: the shared checks,
 * then `topicChanges` turns a topic's configs into the broker's set/remove map (throwing for a bad
 * operation), which is validated and applied (or only validated).
 */
export async function alterResources<C extends { name: string; value: string | null }>(
  ctx: RequestContext,
  resources: readonly AlterableResource<C>[],
  validateOnly: boolean,
  options: { nullAllowed(config: C): boolean; topicChanges(topic: string, configs: readonly C[]): ConfigChanges },
): Promise<ResourceResult[]> {
  const counts = new Map<string, number>();
  const keyOf = (resource: AlterableResource<C>): string => `${resource.resourceType}:${resource.resourceName}`;
  for (const resource of resources) counts.set(keyOf(resource), (counts.get(keyOf(resource)) ?? 0) + 1);
  const results: ResourceResult[] = [];
  for (const resource of resources) {
    const { resourceType, resourceName } = resource;
    try {
      if (counts.get(keyOf(resource))! > 1) throw new InvalidRequestError('Each resource must appear at most once.');
      const names = resource.configs.map((config) => config.name);
      if (new Set(names).size !== names.length) throw new InvalidRequestError('Error due to duplicate config keys');
      const nullUpdates = resource.configs.filter((config) => config.value === null && !options.nullAllowed(config)).map((config) => config.name);
      if (nullUpdates.length > 0) throw new InvalidRequestError(`Null value not supported for : ${nullUpdates.join(', ')}`);
      switch (resourceType) {
        case CONFIG_RESOURCE_TOPIC:
          await ctx.broker.alterTopicConfigs(resourceName, options.topicChanges(resourceName, resource.configs), { validateOnly });
          break;
        case CONFIG_RESOURCE_BROKER:
          checkBrokerResource(ctx, resourceName, names);
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
    const responses = await alterResources(ctx, request.resources, request.validateOnly, {
      nullAllowed: () => false,
      topicChanges(topic, configs) {
        // The given set replaces the overrides: every override not in it is removed.
        const changes: ConfigChanges = {};
        for (const name of Object.keys(ctx.broker.topicMetadata(topic).configs)) changes[name] = null;
        for (const { name, value } of configs) changes[name] = value;
        return changes;
      },
    });
    return { throttleTimeMs: 0, responses };
  },
});
