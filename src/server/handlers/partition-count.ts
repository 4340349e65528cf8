/**
 * The partition count handlers check a request's partitions against: a partition at or past it,
 * or of a topic that does not exist (count 0), gets UNKNOWN_TOPIC_OR_PARTITION instead of being
 * handed to the broker.
 */
import type { BrokerApi } from '../../broker/broker-api.js';

/**
 * The topic's partition count, 0 when the broker cannot describe it (it does not exist). With
 * `memo`, each topic is looked up once per request however many times the request names it.
 */
export function partitionCountOrZero(broker: BrokerApi, topic: string, memo?: Map<string, number>): number {
  let count = memo?.get(topic);
  if (count === undefined) {
    try {
      count = broker.topicMetadata(topic).partitionCount;
    } catch {
      count = 0;
    }
    memo?.set(topic, count);
  }
  return count;
}
