/**
 * AlterConfigs: replaces a topic's config overrides with the given set, as Kafka's legacy API
 * does (an override left out reverts to its default). The checks Kafka makes before any change
 * (ConfigAdminManager.preprocess) are shared with IncrementalAlterConfigs: a resource named twice
 * fails both entries, a config named twice or given a null value fails its resource with
 * INVALID_REQUEST, a broker resource must name "" (the cluster-wide default scope) or this node (the
 * broker scope). A broker resource changes the dynamic broker configs (broker-configs.ts); the
 * listener settings fixed at start are refused as Kafka refuses a static one ("Cannot update these
 * configs dynamically"). In a cluster a topic's change goes to every broker (ClusterView.alterTopicConfigs).
 */
import { InvalidRequestError } from '../../errors.js';
import { AlterConfigs, type AlterConfigsResponseInput } from '../../protocol/api/alter-configs.js';
import { CONFIG_RESOURCE_BROKER, CONFIG_RESOURCE_TOPIC } from '../../protocol/api/describe-configs.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import type { BrokerConfigOverrides, BrokerConfigScope } from '../../broker/broker-configs.js';
import { replacementChanges, type ConfigChanges } from '../../broker/config-changes.js';
import { staticBrokerRows } from './describe-configs.js';
import { CLUSTER_NAME } from '../../broker/acl/acl.js';
import { requireAuthorized } from '../authorizer.js';
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
  changesOf: {
    topic(topic: string, configs: readonly C[]): ConfigChanges;
    broker(current: BrokerConfigOverrides, configs: readonly C[]): ConfigChanges;
  },
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
          requireAuthorized(ctx, 'ALTER_CONFIGS', 'TOPIC', resourceName);
          if (ctx.server.config.cluster === null) await ctx.broker.alterTopicConfigs(resourceName, changesOf.topic(resourceName, resource.configs), { validateOnly });
          else await ctx.server.config.cluster.alterTopicConfigs(resourceName, changesOf.topic(resourceName, resource.configs), { validateOnly });
          break;
        case CONFIG_RESOURCE_BROKER: {
          requireAuthorized(ctx, 'ALTER_CONFIGS', 'CLUSTER', CLUSTER_NAME);
          const scope = brokerScope(ctx, resourceName, resource.configs.map((config) => config.name));
          await ctx.broker.alterBrokerConfigs(scope, changesOf.broker(ctx.broker.brokerConfigs(scope), resource.configs), { validateOnly });
          break;
        }
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

/**
 * Kafka's checks of a broker resource name ("" is the cluster-wide default scope, this node's id
 * the broker scope), then a refusal of the settings fixed at start.
 */
function brokerScope(ctx: RequestContext, resourceName: string, configNames: readonly string[]): BrokerConfigScope {
  const nodeId = ctx.server.nodeId;
  if (resourceName !== '') {
    if (!/^-?\d+$/.test(resourceName)) throw new InvalidRequestError(`Node id must be an integer, but it is: ${resourceName}`);
    if (Number(resourceName) !== nodeId) throw new InvalidRequestError(`Unexpected broker id, expected ${nodeId}, but received ${resourceName}`);
  }
  const fixed = new Set(staticBrokerRows(ctx.server).map((row) => row.name));
  const refused = configNames.filter((name) => fixed.has(name));
  if (refused.length > 0) {
    throw new InvalidRequestError(`Cannot update these configs dynamically: ${refused.join(', ')}; they are fixed when the server starts (sluice serve options)`);
  }
  return resourceName === '' ? 'default' : 'broker';
}

export const alterConfigsHandler = defineHandler({
  api: AlterConfigs,
  async handle(ctx, request) {
    const responses = await alterResources(ctx, request.resources, request.validateOnly, {
      topic: (topic, configs) => replacementChanges(ctx.broker.topicMetadata(topic).configs, configs),
      broker: (current, configs) => replacementChanges(current, configs),
    });
    return { throttleTimeMs: 0, responses };
  },
});
