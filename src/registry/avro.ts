// Avro schemas for the registry: parsing (avsc), the stored canonical text, and compatibility by the Avro
// specification's schema resolution rules ("Schema Resolution": can a reader with schema R read data written with
// schema W?), which is what Confluent's BACKWARD/FORWARD/FULL checks ask in one direction or both.
import type avro from 'avsc';
import { avsc } from './libs.js';

export type AvroType = avro.Type;

/** Parses an Avro schema text; `references` are the referenced schemas' texts, parsed first (their named types are known to it). */
export function parseAvro(text: string, references: readonly string[] = []): { type: AvroType; canonical: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Avro also allows a bare primitive name such as `string` (Confluent's clients send it quoted).
    json = text.trim();
  }
  const registry: Record<string, avro.Type> = {};
  for (const ref of references) avsc().Type.forSchema(JSON.parse(ref) as avro.Schema, { registry });
  const type = avsc().Type.forSchema(json as avro.Schema, { registry });
  // Compact JSON with every attribute kept (defaults, docs, aliases matter to compatibility and to identity), as
  // Confluent's AvroSchema.canonicalString() does; with references the text is kept as given (named types stay names).
  const canonical = references.length === 0 ? JSON.stringify(type.schema({ exportAttrs: true })) : JSON.stringify(json);
  return { type, canonical };
}

/** The fingerprint of the schema's Parsing Canonical Form (the Avro specification's): 'md5' (default) or 'sha256'. */
export function avroFingerprint(type: AvroType, algorithm = 'md5'): Buffer {
  return type.fingerprint(algorithm);
}

type AnyType = any;

function unlogical(t: AnyType): AnyType {
  return t.typeName.startsWith('logical:') ? t.underlyingType : t;
}

function kind(t: AnyType): string {
  const n = t.typeName as string;
  if (n.startsWith('union')) return 'union';
  if (n === 'error') return 'record';
  return n;
}

// The specification's promotions: what a writer's type may be read as.
const PROMOTIONS: Record<string, readonly string[]> = {
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  string: ['bytes'],
  bytes: ['string'],
};

const unqualified = (name: string): string => name.slice(name.lastIndexOf('.') + 1);

/** Both named types carry the same name, or the reader names the writer's among its aliases. */
function namesMatch(reader: AnyType, writer: AnyType): boolean {
  const w = writer.name as string;
  if (reader.name === w) return true;
  const aliases = (reader.aliases ?? []) as string[];
  return aliases.some((a) => a === w || unqualified(a) === unqualified(w) && !a.includes('.'));
}

/**
 * Why a reader with schema `reader` cannot read every datum written with `writer`; empty when it can. Messages
 * follow Confluent's shape: `{errorType:'…', description:'…', additionalInfo:'…'}`.
 */
export function avroReadErrors(reader: AvroType, writer: AvroType): string[] {
  const errors: string[] = [];
  check(reader, writer, '', errors, new Set());
  return errors;
}

function err(errors: string[], type: string, path: string, description: string, info: string): void {
  errors.push(`{errorType:'${type}', description:'${description} at path '${path || '/'}'', additionalInfo:'${info}'}`);
}

function check(readerIn: AvroType, writerIn: AvroType, path: string, errors: string[], seen: Set<string>): void {
  const reader = unlogical(readerIn);
  const writer = unlogical(writerIn);
  const rk = kind(reader);
  const wk = kind(writer);
  if (wk === 'union') {
    // Every branch the writer may have written must be readable.
    (writer.types as AnyType[]).forEach((branch, i) => check(reader, branch, `${path}/${i}`, errors, seen));
    return;
  }
  if (rk === 'union') {
    const fits = (reader.types as AnyType[]).some((branch) => {
      const sub: string[] = [];
      check(branch, writer, path, sub, new Set(seen));
      return sub.length === 0;
    });
    if (!fits) err(errors, 'MISSING_UNION_BRANCH', path, `The new schema's union has no branch for the old schema's type ${wk}`, wk);
    return;
  }
  if (rk !== wk) {
    if (!(PROMOTIONS[wk] ?? []).includes(rk)) err(errors, 'TYPE_MISMATCH', path, `The type ${rk} in the reader schema cannot read the writer's type ${wk}`, `reader type: ${rk} not compatible with writer type: ${wk}`);
    return;
  }
  switch (rk) {
    case 'record': {
      if (!namesMatch(reader, writer)) {
        err(errors, 'NAME_MISMATCH', `${path}/name`, `The reader's record name ${reader.name} does not match the writer's ${writer.name}`, `expected: ${writer.name}`);
        return;
      }
      const key = `${reader.name}\u0000${writer.name}`;
      if (seen.has(key)) return; // recursive types: this pair is being checked further up
      seen.add(key);
      const writerFields = writer.fields as AnyType[];
      (reader.fields as AnyType[]).forEach((rf, i) => {
        const wf = writerFields.find((f) => f.name === rf.name) ?? writerFields.find((f) => (rf.aliases as string[]).includes(f.name));
        if (!wf) {
          if (rf.defaultValue() === undefined) {
            err(errors, 'READER_FIELD_MISSING_DEFAULT_VALUE', `${path}/fields/${i}`, `The field '${rf.name}' in the reader schema has no default value and is missing in the writer schema`, rf.name);
          }
        } else {
          check(rf.type, wf.type, `${path}/fields/${i}/type`, errors, seen);
        }
      });
      return;
    }
    case 'enum': {
      if (!namesMatch(reader, writer)) {
        err(errors, 'NAME_MISMATCH', `${path}/name`, `The reader's enum name ${reader.name} does not match the writer's ${writer.name}`, `expected: ${writer.name}`);
        return;
      }
      if (reader.default !== undefined) return; // unknown writer symbols resolve to the reader's default
      const missing = (writer.symbols as string[]).filter((s) => !(reader.symbols as string[]).includes(s));
      if (missing.length > 0) err(errors, 'MISSING_ENUM_SYMBOLS', `${path}/symbols`, `The reader's enum ${reader.name} lacks symbols the writer has`, `[${missing.join(', ')}]`);
      return;
    }
    case 'fixed': {
      if (!namesMatch(reader, writer)) {
        err(errors, 'NAME_MISMATCH', `${path}/name`, `The reader's fixed name ${reader.name} does not match the writer's ${writer.name}`, `expected: ${writer.name}`);
        return;
      }
      if (reader.size !== writer.size) err(errors, 'FIXED_SIZE_MISMATCH', `${path}/size`, `The reader's fixed ${reader.name} has size ${reader.size}, the writer's ${writer.size}`, `expected: ${writer.size}, found: ${reader.size}`);
      return;
    }
    case 'array':
      check(reader.itemsType, writer.itemsType, `${path}/items`, errors, seen);
      return;
    case 'map':
      check(reader.valuesType, writer.valuesType, `${path}/values`, errors, seen);
      return;
    default:
      return; // the same primitive
  }
}
