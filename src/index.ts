/**
 * The package's public API: `import { Sluice } from 'sluice'`.
 */
export { Sluice, AttachedSluice, type SluiceOptions } from './sluice.js';
export type { SluiceHandle } from './client/thread-messages.js';
export type { AttachOptions } from './client/attached-broker.js';
export { Broker, formatRecoverySummary, type RecoverySummary } from './broker/broker.js';
export { resolveBrokerConfig, defaultShardCount, type BrokerConfig, type BrokerOptions, type BrokerLogger } from './broker/config.js';
export type {
  Acks,
  BrokerApi,
  FetchPartitionResult,
  GroupLagDescription,
  IsolationLevel,
  PartitionLagDescription,
  ProduceOptions,
  ProduceResult,
  TopicPartitionOffsets,
} from './broker/broker-api.js';
export type { GroupLagStatus, PartitionLagStatus } from './broker/lag.js';
export type { TopicPartitions } from './broker/consumer-protocol.js';
export type { TopicMetadata, CreateTopicOptions } from './storage/topic-store.js';
export {
  Admin,
  ConfigResourceTypes,
  type TopicToCreate,
  type ConfigEntry,
  type TopicOffsets,
  type PartitionMetadata,
  type GroupDescriptionResult,
  type AlterConfigsResult,
  type AclEntry,
  type AclFilter,
  type DescribeAclsResult,
  type DeleteAclsResult,
} from './client/admin.js';
/** Kafka's ACL codes under kafkajs's names, for Admin.createAcls / describeAcls / deleteAcls. */
export {
  ResourceType as AclResourceTypes,
  PatternType as ResourcePatternTypes,
  AclOperation as AclOperationTypes,
  AclPermissionType as AclPermissionTypes,
} from './broker/acl/acl.js';
export type { ConfigOperation } from './broker/config-changes.js';
export {
  Producer,
  Transaction,
  type ProducerOptions,
  type ProducerRecord,
  type ProducerBatchRecord,
  type TopicMessages,
  type Message,
  type MessageHeaders,
  type RecordMetadata,
  type RawBytes,
  type AcksSetting,
  type CompressionSetting,
} from './client/producer.js';
export type { ConsumerGroupMetadata, SendOffsetsRequest } from './client/transaction-manager.js';
export type { AccumulatorStats } from './client/accumulator.js';
export {
  Consumer,
  CONSUMER_EVENTS,
  type ConsumerOptions,
  type AutoOffsetReset,
  type SubscribeOptions,
  type ManualAssignment,
  type TopicPartitionOffset,
  type RunOptions,
  type EachMessagePayload,
  type EachBatchPayload,
  type Batch,
  type ConsumerRetryOptions,
} from './client/consumer.js';
export type { ConsumedMessage, ConsumedHeaders } from './client/fetcher.js';
export { json, msgpack, string, type Serializer } from './client/serializers.js';
export { murmur2 } from './protocol/murmur2.js';
export { partitionForKey, type CustomPartitioner, type PartitionerArgs } from './client/partitioner.js';
export { KafkaServer, type ListeningAddress, type ListenerAddress } from './server/server.js';
export type { KafkaServerOptions, ListenerOptions, SaslOptions, SaslMechanismName, SecurityProtocol, ServerLogger } from './server/config.js';
export type { ClientAuth, TlsOptions } from './server/tls-config.js';
export type { RequestObserver } from './server/config.js';
export { HttpServer, type HttpOptions } from './http/http-server.js';
export { encodeRecordBatch, type RecordToEncode } from './protocol/record-batch-builder.js';
export { decodeRecordBatches, forEachRecord } from './protocol/record-batch-reader.js';
export * from './errors.js';
export {
  openSchemaRegistry,
  startRegistryServer,
  SchemaRegistry,
  COMPATIBILITY_LEVELS,
  SCHEMA_TYPES,
  type SchemaStorage,
  type CompatibilityLevel,
  type SchemaType,
  type RegistryServerOptions,
  type RunningRegistryServer,
} from './registry/index.js';
export { SchemaRegistryClient, type RegistryReference, type RegistrySchema, type RegistrySchemaType, type RegistrySubjectVersion } from './client/schema-registry-client.js';
export {
  avro,
  jsonSchema,
  protobufSerializer as protobuf,
  type RegistrySerializer,
  type RegistrySerializerOptions,
  type AvroSerializerOptions,
  type JsonSchemaSerializerOptions,
  type ProtobufSerializerOptions,
} from './client/schema-serializers.js';
/** Sluice Connect: the Connector API, converters, the file connectors and the standalone worker. */
export * from './connect/index.js';
/** Sluice Streams: StreamsBuilder, KafkaStreams and the DSL (also the `sluice/streams` subpath). */
export * from './streams/index.js';
