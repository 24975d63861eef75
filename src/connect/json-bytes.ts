/**
 * JSON bytes of a source's object values, written straight into a shared Buffer (issue 16): the source runtime
 * hands the producer bytes to copy instead of a JSON string it must measure and utf8-encode, and makes no string
 * per record.
 *
 * Only flat plain objects are encoded here: an object whose prototype is Object.prototype (or null), without
 * toJSON, whose own enumerable keys are those of a known shape in the same order, and whose values are strings,
 * numbers, booleans or null. A shape (the keys in order, their JSON text pre-encoded) is learnt from the first
 * object that has it and checked on every record in one pass over its keys. Anything else — nested objects or
 * arrays, other value types, too many shapes, a value too large for a slab — is serialised by JSON.stringify. The
 * bytes are exactly JSON.stringify's, UTF-8 encoded (test/unit/connect/json-bytes.test.ts compares them on a
 * seeded random corpus): numbers as Number#toString (−0 as 0, NaN and ±Infinity as null), strings with JSON's
 * escapes (\" \\ \b \f \n \r \t, other control characters and lone surrogates as lowercase \u00xx / \udxxx).
 *
 * The encoded values are views of slabs of SLAB_BYTES; a slab is never written again once full, so a view stays
 * valid for as long as the producer holds it (it copies the bytes into its batch).
 */

/** Bytes per slab: the values of several hundred ~100-byte records. */
const SLAB_BYTES = 64 * 1024;
/** Shapes learnt at most; values of further shapes are serialised by JSON.stringify. */
const MAX_SHAPES = 64;
/** Room a number, boolean or null may take (a double's shortest text is at most 24 characters). */
const SCALAR_ROOM = 32;
/** Longest key string written as bytes (ids, short names); longer ones are left to the producer. */
const MAX_KEY_CHARS = 64;

const FALLBACK = -1;
const NO_ROOM = -2;

interface Shape {
  keys: string[];
  /** Per key: `{"key":` for the first, `,"key":` for the others, UTF-8. */
  prefixes: Uint8Array[];
}

const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]; // 0-9a-f

/** The letter of JSON's two-character escapes (\" \\ \b \t \n \f \r) per ASCII code; 0: none (\u00xx). */
const SHORT_ESCAPE = new Uint8Array(128);
for (const [c, letter] of [[0x22, 0x22], [0x5c, 0x5c], [8, 0x62], [9, 0x74], [10, 0x6e], [12, 0x66], [13, 0x72]] as const) SHORT_ESCAPE[c] = letter;

/** JSON's literals as bytes. */
export const TRUE_BYTES = Buffer.from('true');
export const FALSE_BYTES = Buffer.from('false');
export const NULL_BYTES = Buffer.from('null');

/** Copies `bytes` (a few: literals, key prefixes) into `buf` at `pos`; returns the position after them. */
export function writeBytes(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  for (let j = 0; j < bytes.length; j++) buf[pos++] = bytes[j]!;
  return pos;
}

/** Writes \uXXXX (lowercase hex) of a UTF-16 code unit. */
function writeUnicodeEscape(buf: Uint8Array, pos: number, c: number): number {
  buf[pos++] = 0x5c;
  buf[pos++] = 0x75;
  buf[pos++] = HEX[c >>> 12]!;
  buf[pos++] = HEX[(c >>> 8) & 15]!;
  buf[pos++] = HEX[(c >>> 4) & 15]!;
  buf[pos++] = HEX[c & 15]!;
  return pos;
}

/**
 * An ASCII character JSON escapes inside a string ('"', '\\', a control character), escaped as JSON.stringify
 * escapes it: \" \\ \b \t \n \f \r, the other control characters as \u00xx. Returns the position after it.
 */
export function writeAsciiEscape(buf: Uint8Array, pos: number, c: number): number {
  const letter = SHORT_ESCAPE[c]!;
  if (letter === 0) return writeUnicodeEscape(buf, pos, c);
  buf[pos++] = 0x5c;
  buf[pos++] = letter;
  return pos;
}

/** A JSON string literal as JSON.stringify writes it, UTF-8 encoded; the caller made room for 6 bytes per code unit + 2. */
function writeString(buf: Buffer, pos: number, s: string): number {
  buf[pos++] = 0x22;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) buf[pos++] = c;
      else pos = writeAsciiEscape(buf, pos, c);
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >>> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      buf[pos++] = 0xe0 | (c >>> 12);
      buf[pos++] = 0x80 | ((c >>> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        buf[pos++] = 0xf0 | (cp >>> 18);
        buf[pos++] = 0x80 | ((cp >>> 12) & 0x3f);
        buf[pos++] = 0x80 | ((cp >>> 6) & 0x3f);
        buf[pos++] = 0x80 | (cp & 0x3f);
        i++;
      } else {
        // A lone surrogate: JSON.stringify (ES2019) escapes it.
        pos = writeUnicodeEscape(buf, pos, c);
      }
    }
  }
  buf[pos++] = 0x22;
  return pos;
}

/** A number as JSON.stringify writes it: an int32 digit by digit, other finite numbers by toString, the rest as null. */
function writeNumber(buf: Buffer, pos: number, x: number): number {
  if (x === (x | 0)) {
    // -0 === 0: written as 0, as JSON.stringify does.
    let u = x;
    if (u < 0) {
      buf[pos++] = 0x2d;
      u = -u;
    }
    let digits = 1;
    for (let t = u; t >= 10; t = Math.floor(t / 10)) digits++;
    let end = pos + digits;
    const next = end;
    do {
      buf[--end] = 48 + (u % 10);
      u = Math.floor(u / 10);
    } while (u > 0);
    return next;
  }
  if (x - x !== 0) return writeBytes(buf, pos, NULL_BYTES); // NaN, Infinity, -Infinity
  const s = String(x);
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}

/** The object's JSON after its shape's keys, from `pos`; FALLBACK when it does not fit the shape, NO_ROOM when the slab is full. */
function writeObject(buf: Buffer, pos: number, v: Record<string, unknown>, shape: Shape): number {
  const { keys, prefixes } = shape;
  const n = keys.length;
  const cap = buf.length;
  let i = 0;
  // for-in visits the own enumerable string keys in Object.keys order, then inherited enumerable ones (a mismatch).
  for (const k in v) {
    if (i === n || k !== keys[i]) return FALLBACK;
    const x = v[k];
    const pre = prefixes[i++]!;
    if (pos + pre.length + SCALAR_ROOM > cap) return NO_ROOM;
    pos = writeBytes(buf, pos, pre);
    if (typeof x === 'string') {
      if (pos + 6 * x.length + 2 > cap) return NO_ROOM;
      pos = writeString(buf, pos, x);
    } else if (typeof x === 'number') {
      pos = writeNumber(buf, pos, x);
    } else if (typeof x === 'boolean') {
      pos = writeBytes(buf, pos, x ? TRUE_BYTES : FALSE_BYTES);
    } else if (x === null) {
      pos = writeBytes(buf, pos, NULL_BYTES);
    } else {
      return FALLBACK;
    }
  }
  if (i !== n) return FALLBACK;
  if (pos >= cap) return NO_ROOM;
  buf[pos++] = 0x7d;
  return pos;
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && (v as { toJSON?: unknown }).toJSON === undefined;
}

/**
 * serializeValue (source-offsets.ts) for a run of records: the same bytes, as a Buffer view for flat objects.
 * One encoder per source run; not shared between concurrent users.
 */
export class JsonBytesEncoder {
  private slab: Buffer = Buffer.allocUnsafe(SLAB_BYTES);
  private pos = 0;
  private last: Shape | null = null;
  private readonly shapes = new Map<string, Shape | null>();
  /** Values written as bytes here, and values handed to JSON.stringify (objects only). */
  encoded = 0;
  stringified = 0;

  /** A record value as the producer takes it: null, a Buffer or string as given, an object's JSON (bytes or text). */
  encode(value: unknown): string | Buffer | null {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string' || Buffer.isBuffer(value)) return value;
    if (typeof value === 'object' && !Array.isArray(value) && isPlainObject(value)) {
      const bytes = this.flat(value);
      if (bytes !== null) return bytes;
    }
    this.stringified++;
    return JSON.stringify(value);
  }

  /**
   * A record key as the producer takes it: an ASCII string of up to MAX_KEY_CHARS as its bytes in the slab (the
   * producer would otherwise make a Buffer of it per record), anything else as given.
   */
  key(key: string | Buffer | null | undefined): string | Buffer | null | undefined {
    if (typeof key !== 'string' || key.length > MAX_KEY_CHARS) return key;
    const n = key.length;
    if (this.pos + n > this.slab.length) {
      this.slab = Buffer.allocUnsafe(SLAB_BYTES);
      this.pos = 0;
    }
    const buf = this.slab;
    const start = this.pos;
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return key; // the bytes written so far are left unused
      buf[start + i] = c;
    }
    this.pos = start + n;
    return buf.subarray(start, start + n);
  }

  private flat(v: Record<string, unknown>): Buffer | null {
    let shape = this.last ?? this.shapeOf(v);
    if (shape === null) return null;
    // At most: the last shape does not fit, the object's own shape does not find room, a new slab.
    for (let attempt = 0; attempt < 3; attempt++) {
      const end = writeObject(this.slab, this.pos, v, shape);
      if (end >= 0) {
        this.last = shape;
        const out = this.slab.subarray(this.pos, end);
        this.pos = end;
        this.encoded++;
        return out;
      }
      if (end === FALLBACK) {
        const own = this.shapeOf(v);
        if (own === null || own === shape) return null;
        shape = own;
      } else {
        // A value that does not fit an empty slab is left to JSON.stringify.
        if (this.pos === 0) return null;
        this.slab = Buffer.allocUnsafe(SLAB_BYTES);
        this.pos = 0;
      }
    }
    return null;
  }

  /** The shape of an object's keys, learnt the first time (null: not encoded here). */
  private shapeOf(v: Record<string, unknown>): Shape | null {
    const keys = Object.keys(v);
    const id = keys.join('\u0000');
    let shape = this.shapes.get(id);
    if (shape !== undefined) return shape;
    if (this.shapes.size >= MAX_SHAPES) return null;
    shape = keys.length === 0 ? null : { keys, prefixes: keys.map((k, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(k)}:`, 'utf8')) };
    this.shapes.set(id, shape);
    return shape;
  }
}
