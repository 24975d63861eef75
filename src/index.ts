export { startBroker, type StartBrokerOptions, type RunningBroker } from './start-broker.js';
export { TributaryError, KafkaError } from './errors.js';

// The client: speaks only the Kafka protocol, so it works against Apache Kafka as well as Tributary.
export { Producer } from './client/producer.js';
export type {
  Acks, CompressionCodec, ProducerOptions, ProducerRecord, RecordMetadata, SendListener, HeadersInput, OffsetToCommit, GroupMetadata,
} from './client/producer.js';
export { Consumer } from './client/consumer.js';
export type { ConsumerOptions, ConsumerRecord, RebalanceListener, TopicPartition, PartitionAssignorName } from './client/consumer.js';
export { Admin } from './client/admin.js';
export type {
  TopicDescription, PartitionDescription, ConfigEntry, ConfigSource, ConfigResourceDescription, GroupListing,
  GroupDescription, GroupMemberDescription, GroupOffset, ClusterDescription, LogDirDescription,
  ConfigResourceType, ConfigSynonym, AlterConfigOp,
} from './client/admin.js';
export type { ClientOptions } from './client/cluster.js';
export type { SslOptions } from './client/connection.js';
export type { SaslOptions, SaslMechanism, OAuthBearerToken } from './client/sasl.js';
export {
  ProtocolError, ConnectionError, RequestTimeoutError, UnsupportedApiError, ClientStateError,
} from './client/errors.js';
export { murmur2, partitionForKey } from './client/partitioner.js';

// Stream processing (Kafka Streams' concepts and names): the DSL, the Processor API, state stores, the test driver.
export * as streams from './streams/index.js';
export {
  StreamsBuilder, KStream, KTable, GlobalKTable, Topology, TopologyTestDriver, Serdes, Consumed, Produced, Grouped,
  Materialized, Joined, StreamJoined, Repartitioned, Named, Branched, TimeWindows, SlidingWindows, SessionWindows,
  JoinWindows, Suppressed, BufferConfig, Windowed, WindowedSerdes, Stores, StreamsConfig, PunctuationType, KafkaStreams,
  startQueryServer,
} from './streams/index.js';
export type { Serde, Processor, ProcessorContext, KeyValueStore, WindowStore, SessionStore, StreamsProps } from './streams/index.js';
export { HostInfo, KeyQueryMetadata, type StreamsMetadata } from './streams/index.js';

// The schema registry (Confluent's REST API over the `_schemas` topic), its client and the wire-format serdes.
export {
  startRegistry, SchemaRegistryClient, SchemaRegistryError, AvroSerializer, AvroDeserializer, JsonSchemaSerializer,
  JsonSchemaDeserializer, encodeWireFormat, decodeWireFormat, topicNameStrategy, avroSerde, jsonSchemaSerde,
} from './registry/index.js';
export type {
  RegistryServerOptions, RunningRegistry, RegistrySchema, RegisteredSchema, SerializerOptions, DeserializerOptions, CompatibilityLevel,
  RegistrySerdeOptions,
} from './registry/index.js';
