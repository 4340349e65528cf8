/**
 * The package's public API: `import { Sluice } from 'sluice'`.
 */
export { Sluice, type SluiceOptions } from './sluice.js';
export { Broker } from './broker/broker.js';
export { resolveBrokerConfig, defaultShardCount, type BrokerConfig, type BrokerOptions, type BrokerLogger } from './broker/config.js';
export type {
  Acks,
  BrokerApi,
  FetchPartitionResult,
  IsolationLevel,
  ProduceOptions,
  ProduceResult,
  TopicPartitionOffsets,
} from './broker/broker-api.js';
export type { TopicMetadata, CreateTopicOptions } from './storage/topic-store.js';
export { Admin, ConfigResourceTypes, type TopicToCreate, type ConfigEntry, type TopicOffsets } from './client/admin.js';
export {
  Producer,
  type ProducerOptions,
  type ProducerRecord,
  type Message,
  type RecordMetadata,
  type RawBytes,
} from './client/producer.js';
export { Consumer, type ConsumerOptions, type EachMessagePayload, type EachBatchPayload } from './client/consumer.js';
export { json, msgpack, string, type Serializer } from './client/serializers.js';
export { murmur2, partitionForKey, type CustomPartitioner, type PartitionerArgs } from './client/partitioner.js';
export { encodeRecordBatch, type RecordToEncode } from './protocol/record-batch-builder.js';
export { decodeRecordBatches, forEachRecord } from './protocol/record-batch-reader.js';
export * from './errors.js';
