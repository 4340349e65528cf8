/**
 * KIP-558's active topics: the topics a connector's tasks have produced to or consumed from since
 * they were last reset. GET /connectors/{name}/topics answers {"<name>": {"topics": [...]}} (for
 * any name, as Kafka's: a connector that never ran has none); PUT .../topics/reset forgets them.
 * A worker with topic.tracking.enable=false (or topic.tracking.allow.reset=false) answers 403.
 */
import { ConnectRestError } from '../errors.js';
import type { WorkerConfig } from './worker-config.js';

export type ActiveTopicsInfo = Record<string, { topics: string[] }>;

/** Throws Kafka's 403 when the worker does not track topics, or does not let them be reset. */
export function requireTopicTracking(config: WorkerConfig, reset: boolean): void {
  if (!config.topicTracking.enabled) throw new ConnectRestError(403, 'Topic tracking is disabled.');
  if (reset && !config.topicTracking.allowReset) throw new ConnectRestError(403, 'Topic tracking reset is disabled.');
}

export function activeTopicsInfo(connector: string, topics: Iterable<string>): ActiveTopicsInfo {
  return { [connector]: { topics: [...topics].sort() } };
}
