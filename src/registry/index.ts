// The schema registry: the Confluent Schema Registry REST API over a `_schemas` topic, its client, and the serdes.
export { startRegistry, type RegistryServerOptions, type RunningRegistry } from './server.js';
export { SchemaStore, type SchemaStoreOptions, type StoredSchema, type Mode } from './store.js';
export { SchemaRegistryClient, SchemaRegistryError, type SchemaRegistryClientOptions, type RegistrySchema, type RegisteredSchema } from './client.js';
export {
  AvroSerializer, AvroDeserializer, JsonSchemaSerializer, JsonSchemaDeserializer, encodeWireFormat, decodeWireFormat,
  topicNameStrategy, MAGIC_BYTE, type SerializerOptions, type DeserializerOptions, type SubjectNameStrategy,
} from './serdes.js';
export { compatibilityErrors, readErrors, parseSchema, COMPATIBILITY_LEVELS, type CompatibilityLevel, type SchemaType, type ParsedSchema } from './formats.js';
export { avroFingerprint } from './avro.js';
export { RegistryError } from './errors.js';
export { avroSerde, jsonSchemaSerde, type RegistrySerdeOptions, type SyncSerde } from './streams-serdes.js';
