// The schema formats the registry serves, behind one shape: parse (with referenced schemas), the canonical text
// that identifies a schema, and "can a reader with this schema read what that schema wrote". Compatibility levels
// are built on the last: BACKWARD asks it of the new schema against the old, FORWARD the other way round.
import { avroReadErrors, parseAvro, type AvroType } from './avro.js';
import { invalidSchema } from './errors.js';
import { jsonReadErrors, parseJsonSchema, type ParsedJsonSchema } from './json-schema.js';

export type SchemaType = 'AVRO' | 'JSON';
export const SCHEMA_TYPES: readonly SchemaType[] = ['JSON', 'AVRO'];

export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

export type ParsedSchema =
  | { schemaType: 'AVRO'; canonical: string; avro: AvroType }
  | { schemaType: 'JSON'; canonical: string; json: ParsedJsonSchema };

/** Parses `text` as `schemaType`; `references` are the referenced schemas (name → text), in dependency order. Throws 42201 when invalid. */
export function parseSchema(schemaType: string | undefined, text: string, references: ReadonlyArray<{ name: string; schema: string }> = []): ParsedSchema {
  const type = (schemaType ?? 'AVRO').toUpperCase();
  try {
    if (type === 'AVRO') {
      const { type: avro, canonical } = parseAvro(text, references.map((r) => r.schema));
      return { schemaType: 'AVRO', canonical, avro };
    }
    if (type === 'JSON') {
      const json = parseJsonSchema(text, new Map(references.map((r) => [r.name, r.schema])));
      return { schemaType: 'JSON', canonical: json.canonical, json };
    }
  } catch (err) {
    throw invalidSchema(`${text}, details: ${(err as Error).message}`);
  }
  if (type === 'PROTOBUF') throw invalidSchema(`of type PROTOBUF: this registry serves AVRO and JSON schemas only`);
  throw invalidSchema(`of unknown type ${schemaType}`);
}

/** Why `reader` cannot read data written with `writer` (empty: it can). Different types never read each other. */
export function readErrors(reader: ParsedSchema, writer: ParsedSchema): string[] {
  if (reader.schemaType === 'AVRO' && writer.schemaType === 'AVRO') return avroReadErrors(reader.avro, writer.avro);
  if (reader.schemaType === 'JSON' && writer.schemaType === 'JSON') return jsonReadErrors(reader.json, writer.json);
  return [`{errorType:'SCHEMA_TYPE_CHANGED', description:'The schema type changed from ${writer.schemaType} to ${reader.schemaType}'}`];
}

export const COMPATIBILITY_LEVELS = ['NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE'] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

/**
 * Confluent's compatibility check of a new schema against the subject's earlier versions (oldest first): the
 * latest alone, or all of them for the transitive levels. Returns the messages of what breaks; empty when compatible.
 */
export function compatibilityErrors(level: CompatibilityLevel, candidate: ParsedSchema, previous: readonly ParsedSchema[]): string[] {
  if (level === 'NONE' || previous.length === 0) return [];
  const against = level.endsWith('_TRANSITIVE') ? previous : previous.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const errors: string[] = [];
  for (const old of [...against].reverse()) {
    if (backward) errors.push(...readErrors(candidate, old).map((e) => `${e} (the new schema reading data written with an old one)`));
    if (forward) errors.push(...readErrors(old, candidate).map((e) => `${e} (an old schema reading data written with the new one)`));
  }
  return errors;
}
