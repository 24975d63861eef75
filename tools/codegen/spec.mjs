// Loads Apache Kafka's JSON message specs into a small model shared by the
// generator and the protocol tests. Plain Node ESM, no dependencies.
//
// Versions are closed intervals { lo, hi } (hi = Infinity for "N+"); null is "none".

import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const REFERENCE_DIR = resolve(REPO_ROOT, '../shared/reference/kafka-protocol');

const PRIMITIVES = new Set([
  'bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'uuid', 'bytes', 'records',
]);

/** Removes // comments outside string literals (the specs are JSON plus line comments). */
export function stripComments(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[++i] ?? '';
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

/** "0+", "3-7", "5", "none" → interval or null. */
export function parseVersions(s, fallback = undefined) {
  if (s === undefined) {
    if (fallback === undefined) throw new Error('missing versions');
    return fallback;
  }
  s = String(s).trim();
  if (s === 'none') return null;
  let m = /^(\d+)\+$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Infinity };
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  m = /^(\d+)$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) };
  throw new Error(`bad version range ${JSON.stringify(s)}`);
}

export function intersect(a, b) {
  if (!a || !b) return null;
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo <= hi ? { lo, hi } : null;
}

/** Smallest interval covering both. */
export function hull(a, b) {
  if (!a) return b;
  if (!b) return a;
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
}

export function contains(range, v) {
  return range !== null && v >= range.lo && v <= range.hi;
}

export function camelCase(name) {
  return name[0].toLowerCase() + name.slice(1);
}

/** File name: ProduceRequest → produce-request, KRaftVersionRecord → kraft-version-record. */
export function kebabCase(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** "[]Foo" → { kind: 'array', elem }, "int32" → { kind: 'int32' }, "Foo" → { kind: 'struct', name }. */
export function parseType(t) {
  if (t.startsWith('[]')) {
    const elem = parseType(t.slice(2));
    if (elem.kind === 'array') throw new Error(`nested arrays are not supported: ${t}`);
    return { kind: 'array', elem };
  }
  if (PRIMITIVES.has(t)) return { kind: t };
  if (!/^[A-Z][A-Za-z0-9]*$/.test(t)) throw new Error(`unknown type ${t}`);
  return { kind: 'struct', name: t };
}

/** Parses an integer default the way the spec format allows: decimal, 0x hex, leading-0 octal. */
export function parseIntDefault(s) {
  s = String(s).trim();
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  let v;
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) v = BigInt(body);
  else if (/^0[0-7]+$/.test(body)) v = BigInt('0o' + body.slice(1));
  else if (/^\d+$/.test(body)) v = BigInt(body);
  else throw new Error(`bad integer default ${JSON.stringify(s)}`);
  return neg ? -v : v;
}

const INT_RANGES = {
  int8: [-(2n ** 7n), 2n ** 7n - 1n],
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
};
export { INT_RANGES };

/**
 * The field's default as a JS value: number / bigint / boolean / string / null,
 * or the markers { array: true } and { struct: name } for empty arrays and
 * default structs, or { bytes: true } for an empty byte array.
 */
function fieldDefault(field) {
  const { type } = field;
  const d = field.rawDefault;
  const isNull = d === null || d === 'null';
  if (isNull && d !== undefined) {
    if (!field.nullableVersions) throw new Error(`${field.name}: default null on a non-nullable field`);
    return null;
  }
  switch (type.kind) {
    case 'bool':
      if (d === undefined) return false;
      if (d === true || d === 'true') return true;
      if (d === false || d === 'false') return false;
      throw new Error(`${field.name}: bad bool default ${d}`);
    case 'int8': case 'int16': case 'uint16': case 'int32': case 'uint32': case 'int64': {
      const v = d === undefined || d === '' ? 0n : parseIntDefault(d);
      const [min, max] = INT_RANGES[type.kind];
      if (v < min || v > max) throw new Error(`${field.name}: default ${d} out of range for ${type.kind}`);
      return type.kind === 'int64' ? v : Number(v);
    }
    case 'float64':
      return d === undefined ? 0 : Number(d);
    case 'string':
      return d === undefined ? '' : String(d);
    case 'uuid':
      if (d !== undefined) throw new Error(`${field.name}: uuid defaults are not supported`);
      return '00000000-0000-0000-0000-000000000000';
    case 'bytes':
      if (d !== undefined && d !== '') throw new Error(`${field.name}: bytes defaults are not supported`);
      return { bytes: true };
    case 'records':
      return null;
    case 'array':
      if (d !== undefined && d !== '') throw new Error(`${field.name}: array defaults other than null are not supported`);
      return { array: true };
    case 'struct':
      if (d !== undefined && d !== '') throw new Error(`${field.name}: struct defaults other than null are not supported`);
      return { struct: type.kind === 'struct' ? type.name : undefined };
    default:
      throw new Error(`unhandled type ${type.kind}`);
  }
}

function parseField(raw, owner) {
  const taggedVersions = parseVersions(raw.taggedVersions, null);
  const field = {
    name: raw.name,
    camel: camelCase(raw.name),
    type: parseType(raw.type),
    // A tagged-only field may leave out "versions"; it then exists where it is tagged.
    versions: parseVersions(raw.versions, taggedVersions ?? undefined),
    nullableVersions: parseVersions(raw.nullableVersions, null),
    taggedVersions,
    tag: raw.tag,
    flexibleVersions: raw.flexibleVersions === undefined ? undefined : parseVersions(raw.flexibleVersions),
    zeroCopy: raw.zeroCopy === true,
    ignorable: raw.ignorable === true,
    rawDefault: raw.default,
    fields: raw.fields,
  };
  if ((field.tag === undefined) !== (taggedVersions === null)) {
    throw new Error(`${owner}.${raw.name}: tag and taggedVersions must come together`);
  }
  if (taggedVersions && taggedVersions.hi !== Infinity) {
    throw new Error(`${owner}.${raw.name}: taggedVersions must be open-ended`);
  }
  if (field.nullableVersions && !['string', 'bytes', 'records', 'array', 'struct', 'uuid'].includes(field.type.kind)) {
    throw new Error(`${owner}.${raw.name}: ${field.type.kind} cannot be nullable`);
  }
  field.default = fieldDefault(field);
  return field;
}

/**
 * Builds the model of one spec:
 * { name, apiName, type, apiKey, validVersions, flexibleVersions, latestVersionUnstable, root, structs }
 * where structs is a Map name → { name, fields, versions (all versions it can be encoded in), isRoot }
 * in order of first definition (root first). Struct fields of struct type point at structs by name.
 */
export function buildModel(spec, file = spec.name) {
  const validVersions = parseVersions(spec.validVersions);
  const flexibleVersions = parseVersions(spec.flexibleVersions);
  if (flexibleVersions && flexibleVersions.hi !== Infinity) throw new Error(`${file}: flexibleVersions must be open-ended`);
  const structs = new Map();
  const pending = new Map(); // commonStructs by name, registered on first use or at the end

  const register = (name, rawFields, isRoot, declaredVersions) => {
    if (structs.has(name)) throw new Error(`${file}: struct ${name} defined twice`);
    const struct = { name, fields: [], versions: null, isRoot, declaredVersions };
    structs.set(name, struct);
    for (const raw of rawFields) {
      const field = parseField(raw, name);
      const elem = field.type.kind === 'array' ? field.type.elem : field.type;
      if (elem.kind === 'struct') {
        if (field.fields) {
          register(elem.name, field.fields, false, { lo: 0, hi: Infinity });
        } else if (pending.has(elem.name) && !structs.has(elem.name)) {
          const common = pending.get(elem.name);
          register(common.name, common.fields, false, parseVersions(common.versions, { lo: 0, hi: Infinity }));
        }
      } else if (field.fields) {
        throw new Error(`${file}: field ${field.name} of type ${field.type.kind} has nested fields`);
      }
      delete field.fields;
      struct.fields.push(field);
    }
    const names = new Set();
    const tags = new Set();
    for (const f of struct.fields) {
      if (names.has(f.camel)) throw new Error(`${file}: duplicate field ${f.name} in ${name}`);
      names.add(f.camel);
      if (f.tag !== undefined) {
        if (tags.has(f.tag)) throw new Error(`${file}: duplicate tag ${f.tag} in ${name}`);
        tags.add(f.tag);
      }
    }
    return struct;
  };

  for (const common of spec.commonStructs ?? []) pending.set(common.name, common);
  const root = register(spec.name, spec.fields, true, { lo: 0, hi: Infinity });
  // Common structs nobody references are still part of the spec's types.
  for (const common of pending.values()) {
    if (!structs.has(common.name)) {
      register(common.name, common.fields, false, parseVersions(common.versions, { lo: 0, hi: Infinity }));
    }
  }
  for (const struct of structs.values()) {
    for (const f of struct.fields) {
      const elem = f.type.kind === 'array' ? f.type.elem : f.type;
      if (elem.kind === 'struct' && !structs.has(elem.name)) throw new Error(`${file}: unknown struct type ${elem.name}`);
    }
  }

  // Each struct's versions: every message version in which it can appear.
  const visit = (struct, ctx) => {
    const here = intersect(ctx, struct.declaredVersions);
    if (!here) return;
    struct.versions = hull(struct.versions, here);
    for (const f of struct.fields) {
      const elem = f.type.kind === 'array' ? f.type.elem : f.type;
      if (elem.kind === 'struct') {
        const sub = intersect(here, f.versions);
        if (sub) visit(structs.get(elem.name), sub);
      }
    }
  };
  visit(root, validVersions);

  const type = spec.type;
  if (!['request', 'response', 'header', 'data'].includes(type)) throw new Error(`${file}: unknown type ${type}`);
  let apiName = spec.name;
  if (type === 'request') apiName = spec.name.replace(/Request$/, '');
  if (type === 'response') apiName = spec.name.replace(/Response$/, '');
  return {
    name: spec.name,
    apiName,
    type,
    apiKey: spec.apiKey ?? -1,
    validVersions,
    flexibleVersions,
    latestVersionUnstable: spec.latestVersionUnstable === true,
    root,
    structs,
  };
}

/** Every spec: [{ dir: 'messages' | 'internal-records', file, model }], sorted by directory then file name. */
export function loadSpecs(referenceDir = REFERENCE_DIR) {
  if (!existsSync(referenceDir)) throw new Error(`Kafka reference not found at ${referenceDir}`);
  const out = [];
  for (const dir of ['messages', 'internal-records']) {
    const full = join(referenceDir, dir);
    const files = readdirSync(full).filter((f) => f.endsWith('.json')).sort();
    for (const file of files) {
      const text = readFileSync(join(full, file), 'utf8');
      let spec;
      try {
        spec = JSON.parse(stripComments(text));
      } catch (err) {
        throw new Error(`${dir}/${file}: ${err.message}`);
      }
      out.push({ dir, file, model: buildModel(spec, `${dir}/${file}`) });
    }
  }
  return out;
}
