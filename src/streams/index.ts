// Tributary Streams: Kafka Streams' DSL, Processor API, state stores and TopologyTestDriver for TypeScript.
export { StreamsBuilder, KStream, KTable, GlobalKTable, KGroupedStream, KGroupedTable, TimeWindowedKStream, SessionWindowedKStream, BranchedKStream, Branched } from './dsl.js';
export { Consumed, Grouped, Joined, Materialized, Named, Produced, Repartitioned, StreamJoined } from './options.js';
export type { Aggregator, Initializer, Merger, Reducer, ValueJoiner } from './dsl-processors.js';
export { Serdes, SerializationError, type Serde, type Serializer, type Deserializer } from './serdes.js';
export { Record, keyValue, valueAndTimestamp, type ValueAndTimestamp, type KeyValue, type Change, type Headers, type RecordHeader, type RecordMetadata } from './record.js';
export { PunctuationType, TaskId, type Processor, type ProcessorContext, type ProcessorSupplier, type Punctuator, type Cancellable } from './processor.js';
export { Topology, TopologyDescription, type TopicNameExtractor, type StreamPartitioner, type NodeDescription, type SubtopologyDescription } from './topology.js';
export { StreamsConfig, StreamsException, TopologyException, recordTimestampExtractor, type StreamsProps, type TimestampExtractor, type ConsumedRecord } from './config.js';
export {
  Window, Windowed, TimeWindows, SlidingWindows, SessionWindows, JoinWindows, Suppressed, BufferConfig, WindowedSerdes,
} from './windows.js';
export {
  Stores, StoreBuilder, InMemoryKeyValueStore, InMemoryWindowStore, InMemorySessionStore, KeyValueStoreFacade, WindowStoreFacade, timestampedSerde,
  type TimestampedKeyValueStore, type TimestampedWindowStore,
  type StateStore, type KeyValueStore, type WindowStore, type SessionStore, type ReadOnlyKeyValueStore,
  type ReadOnlyWindowStore, type ReadOnlySessionStore, type ChangeLogger, type StoreContext,
  type BytesStoreSupplier, type KeyValueBytesStoreSupplier, type WindowBytesStoreSupplier, type SessionBytesStoreSupplier,
} from './state/stores.js';
export { TopologyTestDriver, TestInputTopic, TestOutputTopic, type TestRecord } from './test-driver.js';
export { KafkaStreams, type KafkaStreamsProps, type KafkaStreamsState, type StateListener, type StateRestoreListener } from './kafka-streams.js';
export { HostInfo, KeyQueryMetadata, type StreamsMetadata } from './metadata.js';
export { startQueryServer, type QueryServer, type QueryServerOptions } from './query-server.js';
export { TOPOLOGIES_TOPIC, TOPOLOGY_PUBLISH_CONFIG, readPublishedTopologies, type PublishedTopology } from './topology-registry.js';
