/**
 * Flat JSON objects decoded straight from their bytes, for the SQL sinks (issue 16): a topic's values mostly share
 * one shape (the same keys in the same order, each value a string, a number, true, false or null), and for those
 * a scan that checks the keys byte for byte and cuts the values out costs about half of `JSON.parse(toString())`.
 *
 * The decoder learns the shape from an object JSON.parse made (learn) and gives, for a value of that shape, the
 * object JSON.parse would give: the same keys in the same order and equal values. Whatever it does not read
 * plainly — another key order or key spelling, whitespace, escapes or control characters in a string, numbers with
 * an exponent or more than 15 digits, nested objects or arrays, anything after the closing brace — it gives up on
 * (undefined), and the caller parses with JSON.parse, which stays the reference (and reports bad JSON).
 */

import { FALSE_BYTES, NULL_BYTES, TRUE_BYTES } from './json-bytes.js';

const QUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const CLOSE = 125;
const BSLASH = 92;

/** Keys JSON.parse would not keep in text order (integer-like ones come first) or would treat apart. */
const awkwardKey = (k: string): boolean => k === '__proto__' || /^(?:0|[1-9]\d*)$/.test(k);

/** Whether bytes at `p` are `lit`. */
function matches(b: Uint8Array, p: number, lit: Uint8Array): boolean {
  if (p + lit.length > b.length) return false;
  for (let j = 0; j < lit.length; j++) if (b[p + j] !== lit[j]) return false;
  return true;
}


/** Values JSON.parse'd in a row before the decoder takes another shape (one that merely had an escape keeps it). */
const RELEARN_AFTER = 8;

export class FlatJsonDecoder {
  private keys: string[] | null = null;
  /** Each key's `"name":` bytes, the first with the opening brace before it, the others with a comma. */
  private prefixes: Uint8Array[] = [];
  /** Values not decoded since the last one that was. */
  private misses = 0;
  private tried = false;

  /**
   * What JSON.parse made of a value decode() gave up on: its shape is learnt the first time, then at every
   * RELEARN_AFTER-th miss in a row, so a topic mixing shapes (or with nested values) does not work a shape out per
   * record, and one value with an escape does not make the decoder learn the shape it has again.
   */
  parsed(value: Record<string, unknown>): void {
    if (this.tried && ++this.misses % RELEARN_AFTER !== 0) return;
    this.tried = true;
    this.learn(value);
  }

  /** Takes the shape of `parsed` (an object JSON.parse made), if it is flat and its keys are plain. */
  learn(parsed: Record<string, unknown>): void {
    const keys = Object.keys(parsed);
    if (keys.length === 0 || keys.some(awkwardKey)) return;
    for (const k of keys) {
      const v = parsed[k];
      if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return;
    }
    this.keys = keys;
    this.prefixes = keys.map((k, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(k)}:`, 'utf8'));
  }

  /** The object `b` holds when it has the learnt shape and reads plainly; undefined otherwise. */
  decode(b: Buffer): Record<string, unknown> | undefined {
    const keys = this.keys;
    if (keys === null) return undefined;
    const len = b.length;
    const prefixes = this.prefixes;
    const out: Record<string, unknown> = {};
    let p = 0;
    for (let k = 0; k < keys.length; k++) {
      const prefix = prefixes[k]!;
      if (!matches(b, p, prefix)) return undefined;
      p += prefix.length;
      if (p >= len) return undefined;
      const c = b[p]!;
      let v: unknown;
      if (c === QUOTE) {
        const s = ++p;
        let high = false;
        for (;;) {
          if (p >= len) return undefined;
          const x = b[p]!;
          if (x === QUOTE) break;
          if (x === BSLASH || x < 0x20) return undefined;
          if (x >= 0x80) high = true;
          p++;
        }
        v = high ? b.toString('utf8', s, p) : b.toString('latin1', s, p);
        p++;
      } else if ((c >= ZERO && c <= NINE) || c === MINUS) {
        const s = p;
        if (c === MINUS) p++;
        const ds = p;
        let n = 0;
        while (p < len) {
          const x = b[p]!;
          if (x < ZERO || x > NINE) break;
          n = n * 10 + (x - ZERO);
          p++;
        }
        const digits = p - ds;
        if (digits === 0 || (digits > 1 && b[ds] === ZERO)) return undefined;
        if (p < len && b[p] === DOT) {
          // A plain decimal: Number reads it as JSON.parse does.
          const fs = ++p;
          while (p < len && b[p]! >= ZERO && b[p]! <= NINE) p++;
          if (p === fs || digits + (p - fs) > 15) return undefined;
          v = Number(b.toString('latin1', s, p));
        } else {
          if (digits > 15) return undefined;
          v = c === MINUS ? -n : n;
        }
        const x = b[p];
        if (x !== COMMA && x !== CLOSE) return undefined; // an exponent, or something JSON.parse must judge
      } else if (c === 116 && matches(b, p, TRUE_BYTES)) {
        v = true;
        p += 4;
      } else if (c === 102 && matches(b, p, FALSE_BYTES)) {
        v = false;
        p += 5;
      } else if (c === 110 && matches(b, p, NULL_BYTES)) {
        v = null;
        p += 4;
      } else return undefined;
      out[keys[k]!] = v;
    }
    if (p !== len - 1 || b[p] !== CLOSE) return undefined;
    this.misses = 0;
    return out;
  }
}
