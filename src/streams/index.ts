/**
 * Sluice Streams, shaped after Kafka Streams: `import { StreamsBuilder, KafkaStreams } from 'sluice/streams'`.
 */
export {
  StreamsBuilder,
  KStream,
  KTable,
  KGroupedStream,
  KGroupedTable,
  BranchedKStream,
  GlobalKTable,
  TimeWindowedKStream,
  SessionWindowedKStream,
  Suppressed,
  type Consumed,
  type Produced,
  type Grouped,
  type Repartitioned,
  type Materialized,
  type Predicate,
  type StreamJoined,
  type StoreSpec,
  keyValueStore,
} from './builder.js';
export type { Change, KeyValue } from './dsl-processors.js';
export { KafkaStreams, QueryableStoreTypes, type QueryableStoreType, type StreamsConfig, type KafkaStreamsState, type ProcessingGuarantee, type ThreadMetadata } from './kafka-streams.js';
export { Topology, TopologyDescription, type TopicNameExtractor, type StoreDefinition } from './topology.js';
export type { Processor, ProcessorContext, ProcessorSupplier, StreamRecord, RecordMetadata as StreamsRecordMetadata, PunctuationType, Cancellable } from './processor.js';
export { Serdes, type Serde } from './serdes.js';
export type { KeyValueStore, ReadOnlyKeyValueStore } from './stores.js';
export { TimeWindows, SlidingWindows, SessionWindows, WindowedSerdes, type Window, type Windowed, type ReadOnlyWindowStore, type ReadOnlySessionStore } from './windows.js';
export { JoinWindows } from './joins.js';
