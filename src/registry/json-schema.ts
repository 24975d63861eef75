// JSON Schema for the registry: validation with ajv 8 (draft-07 by default; 2019-09 and 2020-12 by $schema), the
// stored canonical text, and compatibility as Confluent defines it for JSON Schema: a reader schema R can read
// what a writer schema W wrote when every document valid under W is valid under R. The checks cover the common
// cases Confluent's rules name: properties added/removed with open or closed content models
// (additionalProperties), required properties (with or without a default), type changes (integer widens to
// number), enums and const, string/number/array/object bounds, items, anyOf/oneOf/allOf branches, local $refs
// and references to other subjects' schemas.
import type { Ajv, AnySchema, ValidateFunction } from 'ajv';
import { ajv as ajvLib } from './libs.js';

type Json = boolean | Record<string, any>;

export interface ParsedJsonSchema {
  root: Json;
  /** Referenced schemas by the name they are referenced under. */
  refs: Map<string, Json>;
  canonical: string;
  validate: ValidateFunction;
}

function newAjv(root: Json): Ajv {
  const draft = typeof root === 'object' && typeof root.$schema === 'string' ? root.$schema : '';
  const opts = { strict: false, allErrors: true, validateFormats: false } as const;
  const lib = ajvLib();
  if (draft.includes('2020-12')) return new lib.ajv2020.Ajv2020(opts) as unknown as Ajv;
  if (draft.includes('2019-09')) return new lib.ajv2019.Ajv2019(opts) as unknown as Ajv;
  return new lib.ajv.Ajv(opts);
}

/** Parses and compiles a JSON Schema; `references` maps each referenced name to that schema's text. Throws on an invalid schema. */
export function parseJsonSchema(text: string, references: ReadonlyMap<string, string> = new Map()): ParsedJsonSchema {
  const root = JSON.parse(text) as Json;
  if (typeof root !== 'boolean' && (root === null || typeof root !== 'object' || Array.isArray(root))) throw new Error('a JSON Schema is an object or a boolean');
  const ajv = newAjv(root);
  const refs = new Map<string, Json>();
  for (const [name, refText] of references) {
    const ref = JSON.parse(refText) as Json;
    refs.set(name, ref);
    ajv.addSchema(ref as AnySchema, name);
  }
  const validate = ajv.compile(root as AnySchema);
  return { root, refs, canonical: JSON.stringify(root), validate };
}

/** Why a reader with schema `reader` may reject a document valid under `writer`; empty when it accepts them all. */
export function jsonReadErrors(reader: ParsedJsonSchema, writer: ParsedJsonSchema): string[] {
  const errors: string[] = [];
  new JsonCompat(reader, writer, errors).check(reader.root, writer.root, '#', 0);
  return errors;
}

const isObj = (s: Json): s is Record<string, any> => typeof s === 'object' && s !== null;
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const RESERVED_EMPTY = new Set(['$schema', '$id', 'id', 'title', 'description', '$comment', 'default', 'examples', 'definitions', '$defs', 'readOnly', 'writeOnly', 'deprecated']);

/** The schema accepts every document (true, {} or only annotations). */
function acceptsAll(s: Json): boolean {
  return s === true || (isObj(s) && Object.keys(s).every((k) => RESERVED_EMPTY.has(k)));
}

function typesOf(s: Record<string, any>): string[] | undefined {
  if (typeof s.type === 'string') return [s.type];
  if (Array.isArray(s.type)) return s.type as string[];
  const values = s.enum ?? (s.const !== undefined ? [s.const] : undefined);
  if (Array.isArray(values)) {
    return [...new Set(values.map((v: unknown) => v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v))];
  }
  return undefined;
}

class JsonCompat {
  constructor(private readonly reader: ParsedJsonSchema, private readonly writer: ParsedJsonSchema, private readonly errors: string[]) {}

  private err(type: string, path: string, description: string): void {
    this.errors.push(`{errorType:'${type}', description:'${description}', additionalInfo:'${path}'}`);
  }

  private deref(s: Json, side: ParsedJsonSchema): Json {
    let cur = s;
    for (let i = 0; i < 32 && isObj(cur) && typeof cur.$ref === 'string'; i++) {
      const target = this.resolve(cur.$ref as string, side);
      if (target === undefined) return cur;
      const { $ref: _ref, ...siblings } = cur;
      cur = Object.keys(siblings).length === 0 || !isObj(target) ? target : { ...target, ...siblings };
    }
    return cur;
  }

  private resolve(ref: string, side: ParsedJsonSchema): Json | undefined {
    const hash = ref.indexOf('#');
    const base = hash < 0 ? ref : ref.slice(0, hash);
    const pointer = hash < 0 ? '' : ref.slice(hash + 1);
    let doc: Json | undefined = base === '' ? side.root : side.refs.get(base);
    if (doc === undefined) return undefined;
    for (const part of pointer.split('/').filter((p) => p !== '')) {
      if (!isObj(doc)) return undefined;
      doc = doc[part.replace(/~1/g, '/').replace(/~0/g, '~')] as Json | undefined;
      if (doc === undefined) return undefined;
    }
    return doc;
  }

  check(rIn: Json, wIn: Json, path: string, depth: number): void {
    if (depth > 64) return; // recursive schemas: assume the deeper levels repeat the ones checked
    const r = this.deref(rIn, this.reader);
    const w = this.deref(wIn, this.writer);
    if (acceptsAll(r) || w === false) return;
    if (r === false) return this.err('SCHEMA_REMOVED', path, 'The new schema accepts nothing');
    if (!isObj(r)) return;
    if (acceptsAll(w) || !isObj(w)) return this.err('TYPE_NARROWED', path, 'The old schema accepts any value; the new one restricts it');

    // Combinators: each writer alternative must be accepted; a reader alternative must accept the writer.
    const wAlternatives = (w.anyOf ?? w.oneOf) as Json[] | undefined;
    if (Array.isArray(wAlternatives)) {
      const { anyOf: _a, oneOf: _o, ...rest } = w;
      wAlternatives.forEach((b, i) => this.check(r, isObj(b) ? { ...rest, ...b } : b, `${path}/${w.anyOf ? 'anyOf' : 'oneOf'}/${i}`, depth + 1));
      return;
    }
    if (Array.isArray(w.allOf)) {
      const { allOf, ...rest } = w;
      this.check(r, (allOf as Json[]).reduce<Record<string, any>>((acc, b) => isObj(b) ? { ...acc, ...b } : acc, rest), path, depth + 1);
      return;
    }
    const rAlternatives = (r.anyOf ?? r.oneOf) as Json[] | undefined;
    if (Array.isArray(rAlternatives)) {
      const fits = rAlternatives.some((b) => {
        const sub = new JsonCompat(this.reader, this.writer, []);
        sub.check(b, w, path, depth + 1);
        return sub.errors.length === 0;
      });
      if (!fits) this.err('COMBINED_TYPE_SUBSCHEMAS_CHANGED', path, 'No alternative of the new schema accepts what the old schema accepts');
      const { anyOf: _a, oneOf: _o, ...rest } = r;
      if (!acceptsAll(rest)) this.check(rest, w, path, depth + 1);
      return;
    }
    if (Array.isArray(r.allOf)) {
      const { allOf, ...rest } = r;
      (allOf as Json[]).forEach((b, i) => this.check(b, w, `${path}/allOf/${i}`, depth + 1));
      if (!acceptsAll(rest)) this.check(rest, w, path, depth + 1);
      return;
    }
    if (r.not !== undefined && !same(r.not, w.not)) this.err('NOT_TYPE_EXTENDED', path, 'The new schema adds or changes a "not"');

    const rTypes = typesOf(r);
    const wTypes = typesOf(w);
    if (rTypes) {
      if (!wTypes) return this.err('TYPE_NARROWED', `${path}/type`, `The old schema accepts any type; the new one only ${rTypes.join(', ')}`);
      const lost = wTypes.filter((t) => !rTypes.includes(t) && !(t === 'integer' && rTypes.includes('number')));
      if (lost.length > 0) this.err(lost.length === wTypes.length ? 'TYPE_CHANGED' : 'TYPE_NARROWED', `${path}/type`, `The new schema no longer accepts type ${lost.join(', ')}`);
    }
    const has = (t: string): boolean => !wTypes || wTypes.includes(t) || (t === 'number' && wTypes.includes('integer'));

    if (r.enum !== undefined || r.const !== undefined) {
      const rValues = (r.enum ?? [r.const]) as unknown[];
      const wValues = (w.enum ?? (w.const !== undefined ? [w.const] : undefined)) as unknown[] | undefined;
      if (!wValues) this.err('ENUM_ADDED', `${path}/enum`, 'The new schema restricts the value to an enum or const');
      else if (wValues.some((v) => !rValues.some((x) => same(x, v)))) this.err('ENUM_ARRAY_NARROWED', `${path}/enum`, 'The new schema\'s enum lacks values the old one allows');
    }

    const bound = (key: string, kindOf: 'min' | 'max', errorType: string): void => {
      const rv = r[key] as number | undefined;
      if (typeof rv !== 'number') return;
      const wv = w[key] as number | undefined;
      if (typeof wv !== 'number' || (kindOf === 'min' ? rv > wv : rv < wv)) this.err(errorType, `${path}/${key}`, `The new schema's ${key} is stricter`);
    };
    if (has('string')) {
      bound('minLength', 'min', 'MIN_LENGTH_INCREASED');
      bound('maxLength', 'max', 'MAX_LENGTH_DECREASED');
      if (r.pattern !== undefined && r.pattern !== w.pattern) this.err('PATTERN_CHANGED', `${path}/pattern`, 'The new schema adds or changes a pattern');
    }
    if (has('number') || has('integer')) {
      bound('minimum', 'min', 'MINIMUM_INCREASED');
      bound('maximum', 'max', 'MAXIMUM_DECREASED');
      if (typeof r.exclusiveMinimum === 'number') bound('exclusiveMinimum', 'min', 'EXCLUSIVE_MINIMUM_INCREASED');
      if (typeof r.exclusiveMaximum === 'number') bound('exclusiveMaximum', 'max', 'EXCLUSIVE_MAXIMUM_DECREASED');
      if (typeof r.multipleOf === 'number' && !(typeof w.multipleOf === 'number' && Number.isInteger(w.multipleOf / r.multipleOf))) {
        this.err('MULTIPLE_OF_CHANGED', `${path}/multipleOf`, 'The new schema\'s multipleOf is not a divisor of the old one');
      }
    }
    if (has('object')) this.checkObject(r, w, path, depth);
    if (has('array')) this.checkArray(r, w, path, depth);
  }

  private checkObject(r: Record<string, any>, w: Record<string, any>, path: string, depth: number): void {
    const rProps = (r.properties ?? {}) as Record<string, Json>;
    const wProps = (w.properties ?? {}) as Record<string, Json>;
    const rAdditional = (r.additionalProperties ?? true) as Json;
    const wAdditional = (w.additionalProperties ?? true) as Json;
    for (const [name, rp] of Object.entries(rProps)) {
      const wp = wProps[name];
      if (wp !== undefined) {
        this.check(rp, wp, `${path}/properties/${name}`, depth + 1);
      } else if (wAdditional === false) {
        // The old schema never wrote it: adding a property to a closed content model is compatible.
      } else if (acceptsAll(wAdditional)) {
        if (!acceptsAll(rp)) this.err('PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL', `${path}/properties/${name}`, `The property '${name}' was added to an open content model: old documents may hold any value under it`);
      } else {
        this.check(rp, wAdditional, `${path}/properties/${name}`, depth + 1);
      }
    }
    for (const [name, wp] of Object.entries(wProps)) {
      if (rProps[name] !== undefined) continue;
      if (rAdditional === false) this.err('PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL', `${path}/properties/${name}`, `The property '${name}' was removed from a closed content model`);
      else if (!acceptsAll(rAdditional)) this.check(rAdditional, wp, `${path}/properties/${name}`, depth + 1);
    }
    if (wAdditional !== false) {
      if (rAdditional === false) this.err('ADDITIONAL_PROPERTIES_REMOVED', `${path}/additionalProperties`, 'The new schema closes the content model (additionalProperties false)');
      else if (!acceptsAll(rAdditional)) this.check(rAdditional, wAdditional, `${path}/additionalProperties`, depth + 1);
    }
    const wRequired = new Set((w.required ?? []) as string[]);
    for (const name of (r.required ?? []) as string[]) {
      if (wRequired.has(name)) continue;
      const rp = rProps[name];
      if (isObj(rp) && rp.default !== undefined) continue; // Confluent: a required property with a default is compatible
      this.err(wProps[name] !== undefined ? 'REQUIRED_ATTRIBUTE_ADDED' : 'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL', `${path}/required/${name}`, `The property '${name}' is required by the new schema but not by the old one`);
    }
    const bound = (key: string, kindOf: 'min' | 'max'): void => {
      const rv = r[key] as number | undefined;
      if (typeof rv !== 'number') return;
      const wv = w[key] as number | undefined;
      if (typeof wv !== 'number' || (kindOf === 'min' ? rv > wv : rv < wv)) this.err(kindOf === 'min' ? 'MIN_PROPERTIES_INCREASED' : 'MAX_PROPERTIES_DECREASED', `${path}/${key}`, `The new schema's ${key} is stricter`);
    };
    bound('minProperties', 'min');
    bound('maxProperties', 'max');
  }

  private checkArray(r: Record<string, any>, w: Record<string, any>, path: string, depth: number): void {
    const rItems = (r.items ?? r.additionalItems ?? true) as Json | Json[];
    const wItems = (w.items ?? true) as Json | Json[];
    if (Array.isArray(rItems) || Array.isArray(wItems)) {
      const rTuple = Array.isArray(rItems) ? rItems : [];
      const wTuple = Array.isArray(wItems) ? wItems : [];
      const rRest = (Array.isArray(rItems) ? r.additionalItems ?? true : rItems) as Json;
      const wRest = (Array.isArray(wItems) ? w.additionalItems ?? true : wItems) as Json;
      const n = Math.max(rTuple.length, wTuple.length);
      for (let i = 0; i < n; i++) this.check(rTuple[i] ?? rRest, wTuple[i] ?? wRest, `${path}/items/${i}`, depth + 1);
      this.check(rRest, wRest, `${path}/additionalItems`, depth + 1);
    } else {
      this.check(rItems, wItems, `${path}/items`, depth + 1);
    }
    const bound = (key: string, kindOf: 'min' | 'max'): void => {
      const rv = r[key] as number | undefined;
      if (typeof rv !== 'number') return;
      const wv = w[key] as number | undefined;
      if (typeof wv !== 'number' || (kindOf === 'min' ? rv > wv : rv < wv)) this.err(kindOf === 'min' ? 'MIN_ITEMS_INCREASED' : 'MAX_ITEMS_DECREASED', `${path}/${key}`, `The new schema's ${key} is stricter`);
    };
    bound('minItems', 'min');
    bound('maxItems', 'max');
    if (r.uniqueItems === true && w.uniqueItems !== true) this.err('UNIQUE_ITEMS_ADDED', `${path}/uniqueItems`, 'The new schema requires unique items');
  }
}
