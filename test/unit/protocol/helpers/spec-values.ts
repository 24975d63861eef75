/**
 * Test helper: loads the Kafka spec model (tools/codegen/spec.mjs) and the
 * generated codecs, and builds deterministic values from the spec — the tests
 * check generated code against the specs, not against itself.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { MessageCodec } from '../../../../src/protocol/primitives/codec.js';

/** Repository root, from dist/test/unit/protocol/helpers/. */
export const REPO_ROOT = new URL('../../../../../', import.meta.url);

export interface Range { lo: number; hi: number }
export interface FieldType { kind: string; name?: string; elem?: FieldType }
export interface Field {
  name: string;
  camel: string;
  type: FieldType;
  versions: Range | null;
  nullableVersions: Range | null;
  taggedVersions: Range | null;
  tag?: number;
  default: unknown;
}
export interface Struct { name: string; fields: Field[] }
export interface Model {
  name: string;
  type: string;
  apiKey: number;
  validVersions: Range;
  flexibleVersions: Range | null;
  root: Struct;
  structs: Map<string, Struct>;
}
export interface SpecEntry { dir: string; file: string; model: Model; codec: MessageCodec<any, any> }

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

const specModule = await import(pathToFileURL(join(REPO_ROOT.pathname, 'tools/codegen/spec.mjs')).href);
const REFERENCE_DIR: string = specModule.REFERENCE_DIR;

/**
 * The options of a test that checks the generated code against Kafka's specs in ../shared (beside the checkout,
 * where CI lays it): skipped, saying why, in a clone without it — `npm test` needs only npm packages.
 */
export const needsKafkaReference: { skip: string | false } = {
  skip: existsSync(REFERENCE_DIR)
    ? false
    : `Kafka reference not found at ${REFERENCE_DIR}: this test checks the generated codecs against Kafka's message specs, which CI lays beside the checkout as ../shared`,
};

let cache: Promise<SpecEntry[]> | undefined;

/** Every spec with its generated codec, in the generator's order; none without the Kafka reference (see needsKafkaReference). */
export function loadEntries(): Promise<SpecEntry[]> {
  cache ??= (async () => {
    if (needsKafkaReference.skip !== false) return [];
    const specs: { dir: string; file: string; model: Model }[] = specModule.loadSpecs();
    const out: SpecEntry[] = [];
    for (const { dir, file, model } of specs) {
      const sub = dir === 'internal-records' ? 'internal/' : '';
      const url = new URL(`dist/src/protocol/generated/${sub}${kebab(model.name)}.js`, REPO_ROOT);
      const mod = await import(url.href);
      const codec = mod[model.name] as MessageCodec<any, any>;
      if (!codec) throw new Error(`no codec ${model.name} in ${url.pathname}`);
      out.push({ dir, file, model, codec });
    }
    return out;
  })();
  return cache;
}

const inRange = (r: Range | null, v: number): boolean => r !== null && v >= r.lo && v <= r.hi;

/** Whether field f is on the wire in version v, and whether as a tagged field. */
export function presence(model: Model, f: Field, v: number): 'absent' | 'untagged' | 'tagged' {
  if (!inRange(f.versions, v)) return 'absent';
  if (inRange(f.taggedVersions, v)) return inRange(model.flexibleVersions, v) ? 'tagged' : 'absent';
  return 'untagged';
}

/** Deterministic PRNG (mulberry32). */
export { prng as rng } from '../../../../src/util/prng.js';

const CODE_POINTS = ['a', 'b', 'z', 'Q', '0', '-', '_', '.', ' ', 'é', 'ß', '中', '文', '🎉', '𝄞'];

/** The value decode must produce for a field absent from the wire. */
export function defaultOf(model: Model, f: Field): unknown {
  const d = f.default as any;
  if (d === null) return null;
  if (typeof d === 'object') {
    if (d.array) return [];
    if (d.bytes) return Buffer.alloc(0);
    if (d.struct) return defaultStruct(model, model.structs.get(d.struct)!);
  }
  return d;
}

function defaultStruct(model: Model, s: Struct): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of s.fields) out[f.camel] = defaultOf(model, f);
  return out;
}

export interface Built { init: Record<string, unknown>; expected: Record<string, unknown> }

/**
 * A value for struct s in version v: every field on the wire gets a
 * non-default value (or null in the 'nulls' variant where the version allows
 * it); fields not in v get junk in `init` (encode must skip it) and their
 * default in `expected`.
 */
export function buildStruct(model: Model, s: Struct, v: number, next: () => number, nulls: boolean, depth = 0): Built {
  const init: Record<string, unknown> = {};
  const expected: Record<string, unknown> = {};
  for (const f of s.fields) {
    const where = presence(model, f, v);
    if (where === 'absent') {
      expected[f.camel] = defaultOf(model, f);
      // Junk the encoder must ignore (kept shallow).
      if (depth < 2) init[f.camel] = buildField(model, f, v, next, false, depth + 1).init;
      continue;
    }
    if (nulls && inRange(f.nullableVersions, v)) {
      init[f.camel] = null;
      expected[f.camel] = null;
      continue;
    }
    const b = buildField(model, f, v, next, nulls, depth);
    init[f.camel] = b.init;
    expected[f.camel] = b.expected;
  }
  return { init, expected };
}

function buildField(model: Model, f: Field, v: number, next: () => number, nulls: boolean, depth: number): { init: unknown; expected: unknown } {
  const t = f.type;
  if (t.kind === 'array') {
    const n = 1 + Math.floor(next() * 2);
    const init: unknown[] = [];
    const expected: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const e = buildElem(model, t.elem!, f, v, next, nulls, depth);
      init.push(e.init);
      expected.push(e.expected);
    }
    return { init, expected };
  }
  return buildElem(model, t, f, v, next, nulls, depth);
}

function buildElem(model: Model, t: FieldType, f: Field, v: number, next: () => number, nulls: boolean, depth: number): { init: unknown; expected: unknown } {
  const d = f.type.kind === 'array' ? undefined : f.default;
  const int = (lo: number, hi: number): number => {
    let x = lo + Math.floor(next() * (hi - lo + 1));
    if (x === d) x = x === hi ? lo : x + 1;
    return x;
  };
  const same = (x: unknown) => ({ init: x, expected: x });
  switch (t.kind) {
    case 'bool': return same(d === undefined ? next() < 0.5 : !d);
    case 'int8': return same(int(-128, 127));
    case 'int16': return same(int(-32768, 32767));
    case 'uint16': return same(int(0, 65535));
    case 'int32': return same(int(-2147483648, 2147483647));
    case 'uint32': return same(int(0, 4294967295));
    case 'int64': {
      let x = BigInt.asIntN(64, (BigInt(Math.floor(next() * 2 ** 32)) << 32n) | BigInt(Math.floor(next() * 2 ** 32)));
      if (x === d) x += 1n;
      return same(x);
    }
    case 'float64': return same((next() - 0.5) * 1e9 + 0.25);
    case 'string': {
      let s = '';
      const n = 1 + Math.floor(next() * 6);
      for (let i = 0; i < n; i++) s += CODE_POINTS[Math.floor(next() * CODE_POINTS.length)];
      if (s === d) s += 'x';
      return same(s);
    }
    case 'uuid': {
      const bytes = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) bytes[i] = Math.floor(next() * 256);
      bytes[0] |= 1; // never the zero UUID
      const h = bytes.toString('hex');
      return same(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
    }
    case 'bytes': case 'records': {
      const n = 1 + Math.floor(next() * (t.kind === 'records' ? 40 : 8));
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return { init: b, expected: Buffer.from(b) };
    }
    case 'struct': {
      const s = model.structs.get(t.name!)!;
      return buildStruct(model, s, v, next, nulls, depth);
    }
    default:
      throw new Error(`unhandled type ${t.kind}`);
  }
}
