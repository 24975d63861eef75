/**
 * `produce`/`consume` with the schema registry: --value-format avro|json-schema --schema-registry URL. Values are
 * JSON text on the terminal and Confluent's wire format (magic byte 0, schema id, Avro binary / JSON bytes) on
 * the topic; produce registers its --value-schema under `<topic>-value` (unless --no-auto-register, or without a
 * schema: the subject's latest version).
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { ConsumerRecord } from '../client/consumer/types.js';
import { UsageError } from './common.js';

export interface SchemaValueFlags {
  valueFormat?: 'avro' | 'json-schema';
  schemaRegistry?: string;
  valueSchema?: string;
  valueSchemaFile?: string;
  autoRegister?: boolean;
}

export function addSchemaValueFlags(cmd: Command, side: 'produce' | 'consume'): Command {
  cmd
    .addOption(new Option('--value-format <format>', 'values in the schema registry\'s wire format: JSON text here, Avro or JSON Schema on the topic').choices(['avro', 'json-schema']))
    .option('--schema-registry <url>', 'the schema registry (e.g. http://127.0.0.1:8081), for --value-format (env TRIBUTARY_SCHEMA_REGISTRY)', process.env.TRIBUTARY_SCHEMA_REGISTRY);
  if (side === 'produce') {
    cmd
      .option('--value-schema <schema>', 'the values\' schema (Avro or JSON Schema text); default: the latest of <topic>-value')
      .option('--value-schema-file <file>', 'read --value-schema from this file')
      .option('--no-auto-register', 'look the schema up under <topic>-value instead of registering it');
  }
  return cmd;
}

/** The registry's client and serdes, loaded only with --value-format (avsc and ajv cost start-up time). */
async function registryOf(flags: SchemaValueFlags) {
  if (flags.valueFormat === undefined) {
    if (flags.valueSchema !== undefined || flags.valueSchemaFile !== undefined) throw new UsageError('--value-schema needs --value-format avro|json-schema');
    return undefined;
  }
  if (!flags.schemaRegistry) throw new UsageError(`--value-format ${flags.valueFormat} needs --schema-registry URL`);
  const [{ SchemaRegistryClient }, serdes] = await Promise.all([import('../registry/client.js'), import('../registry/serdes.js')]);
  return { client: new SchemaRegistryClient(flags.schemaRegistry), serdes };
}

/** produce: JSON text of a value → its wire-format bytes (undefined: values go as they are). */
export async function valueEncoder(flags: SchemaValueFlags): Promise<((topic: string, value: string | Buffer | null) => Promise<Buffer | null>) | undefined> {
  const loaded = await registryOf(flags);
  if (!loaded) return undefined;
  const { client: registry, serdes: { AvroSerializer, JsonSchemaSerializer } } = loaded;
  if (flags.valueSchema !== undefined && flags.valueSchemaFile !== undefined) throw new UsageError('choose one of --value-schema and --value-schema-file');
  let schema = flags.valueSchema;
  if (flags.valueSchemaFile !== undefined) {
    try {
      schema = readFileSync(flags.valueSchemaFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--value-schema-file ${flags.valueSchemaFile}: ${(err as Error).message}`);
    }
  }
  const options = { registry, ...(schema !== undefined ? { schema } : {}), autoRegister: flags.autoRegister !== false };
  const serializer = flags.valueFormat === 'avro' ? new AvroSerializer(options) : new JsonSchemaSerializer(options);
  return async (topic, value) => {
    if (value === null) return null;
    const text = typeof value === 'string' ? value : value.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`--value-format ${flags.valueFormat}: the value is not JSON: ${text.slice(0, 80)}`);
    }
    return serializer.serialize(topic, parsed);
  };
}

/** consume: a wire-format record → the same record with its value as JSON text (undefined: values as they are). */
export async function valueDecoder(flags: SchemaValueFlags): Promise<((r: ConsumerRecord) => Promise<ConsumerRecord>) | undefined> {
  const loaded = await registryOf(flags);
  if (!loaded) return undefined;
  const { client: registry, serdes: { AvroDeserializer, JsonSchemaDeserializer } } = loaded;
  const deserializer = flags.valueFormat === 'avro' ? new AvroDeserializer({ registry }) : new JsonSchemaDeserializer({ registry });
  return async (r) => {
    if (r.value === null) return r;
    const value = await deserializer.deserialize(r.topic, r.value);
    return { ...r, value: Buffer.from(JSON.stringify(value, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('base64') : v), 'utf8') };
  };
}
