/**
 * Sluice Connect: Kafka Connect's model for Sluice. Connectors (SourceConnector, SinkConnector)
 * and their tasks copy data into and out of topics; a worker runs them, standalone (offsets in a
 * file) or in a group of distributed workers; Kafka Connect's REST API manages them.
 *
 *   const worker = await startStandalone({ workerProps, connectorProps: [source, sink], log });
 */
export {
  SourceConnector,
  SourceTask,
  SinkConnector,
  SinkTask,
  sourceRecord,
  type ConnectHeader,
  type ConnectRecord,
  type SourceRecord,
  type SinkRecord,
  type SourcePartition,
  type SourceOffset,
  type TopicPartition as ConnectTopicPartition,
  type TopicPartitionOffset as ConnectTopicPartitionOffset,
  type ConnectorContext,
  type SourceTaskContext,
  type SinkTaskContext,
  type OffsetStorageReader,
  type Props as ConnectProps,
} from './api.js';
export { ConfigDef, atLeast, oneOf, nonEmptyString, type ConfigKey, type ConfigType, type ConfigValue, type ConfigInfos, type Importance } from './config-def.js';
export { Schemas, structSchema, optionalOf, type Schema, type SchemaAndValue, type Field, type SchemaType as ConnectSchemaType } from './data.js';
export { StringConverter, ByteArrayConverter, JsonConverter, SimpleHeaderConverter, type Converter } from './converters.js';
export { AvroConverter } from './avro-converter.js';
export { FileStreamSourceConnector, FileStreamSourceTask, FileStreamSinkConnector, FileStreamSinkTask } from './file-stream.js';
export type { Transformation } from './transforms.js';
export { readPropertiesFile, parseProperties } from './properties.js';
export { startStandalone, type StandaloneOptions, type StandaloneWorker } from './standalone.js';
export { startDistributed, type DistributedWorker } from './distributed.js';
export type { WorkerLogger } from './worker.js';
