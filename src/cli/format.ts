/**
 * Output of `tributary consume`: kcat-style `-f` templates, compiled once into a function from a
 * record to the bytes to print, and `--json` (one object per line).
 */
import { UsageError } from './common.js';
import type { ConsumerRecord } from '../client/consumer.js';
import { textOrBase64 } from '../util/text-or-base64.js';

/** What the formatters read from a consumed record (a subset of the Consumer's ConsumerRecord). */
export type FormattableRecord = Pick<ConsumerRecord, 'topic' | 'partition' | 'offset' | 'timestamp' | 'key' | 'value' | 'headers'>;

export type RecordFormatter = (record: FormattableRecord) => Buffer;

type Part = Buffer | ((r: FormattableRecord) => Buffer | string);

const EMPTY = Buffer.alloc(0);

function lengthOf(b: Buffer | null): string {
  return b === null ? '-1' : String(b.length);
}

/** Headers as kcat prints them with %h: k=v pairs separated by commas (a null value prints as nothing). */
function headersText(r: FormattableRecord): Buffer {
  if (r.headers.length === 0) return EMPTY;
  const parts: Buffer[] = [];
  r.headers.forEach((h, i) => {
    if (i > 0) parts.push(Buffer.from(','));
    parts.push(Buffer.from(`${h.key}=`), h.value ?? EMPTY);
  });
  return Buffer.concat(parts);
}

/** kcat's %R: the value's length as a binary 32-bit big-endian signed integer (-1 for null), for `-f '%R%s'` framing. */
function binaryLength(r: FormattableRecord): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(r.value === null ? -1 : r.value.length);
  return b;
}

const DIRECTIVES: Record<string, (r: FormattableRecord) => Buffer | string> = {
  t: (r) => r.topic,
  p: (r) => String(r.partition),
  o: (r) => String(r.offset),
  k: (r) => r.key ?? EMPTY,
  s: (r) => r.value ?? EMPTY,
  K: (r) => lengthOf(r.key),
  S: (r) => lengthOf(r.value),
  T: (r) => String(r.timestamp),
  h: headersText,
  R: binaryLength,
};

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };

/**
 * Compiles a kcat `-f` template: %t topic, %p partition, %o offset, %k key, %s value, %K / %S key /
 * value length (-1 for null), %T timestamp (ms), %h headers (k=v,k=v), %R value length as 4 binary
 * big-endian bytes, %% a percent sign; escapes \n \t \r \\. Anything else is a usage error, so a typo
 * does not print silently wrong output.
 */
export function compileFormat(template: string): RecordFormatter {
  const parts: Part[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal) parts.push(Buffer.from(literal, 'utf8'));
    literal = '';
  };
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '%' || c === '\\') {
      const next = template[i + 1];
      if (next === undefined) throw new UsageError(`--format ends with a lone "${c}"; write ${c}${c} for a literal one`);
      i++;
      if (c === '%' && next === '%') {
        literal += '%';
      } else if (c === '%') {
        const directive = DIRECTIVES[next];
        if (!directive) throw new UsageError(`--format: unknown directive %${next}; use %t %p %o %k %s %K %S %T %h %R or %%`);
        flush();
        parts.push(directive);
      } else {
        const escaped = ESCAPES[next];
        if (escaped === undefined) throw new UsageError(`--format: unknown escape \\${next}; use \\n \\t \\r or \\\\`);
        literal += escaped;
      }
    } else {
      literal += c;
    }
  }
  flush();
  return (record) => {
    const out: Buffer[] = new Array(parts.length);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (Buffer.isBuffer(part)) {
        out[i] = part;
      } else {
        const v = part(record);
        out[i] = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
      }
    }
    return Buffer.concat(out);
  };
}

/**
 * One JSON object per record, newline-terminated: topic, partition, offset, timestamp, key, value,
 * headers ([{key, value}]). Bytes that are not valid UTF-8 are base64 and flagged by keyEncoding /
 * valueEncoding (or a header's `valueEncoding`) = "base64"; the fields are absent for UTF-8 text.
 */
export function formatJson(r: FormattableRecord): Buffer {
  const key = textOrBase64(r.key);
  const value = textOrBase64(r.value);
  const obj: Record<string, unknown> = {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: key.text,
    value: value.text,
    headers: r.headers.map((h) => {
      const v = textOrBase64(h.value);
      return v.base64 ? { key: h.key, value: v.text, valueEncoding: 'base64' } : { key: h.key, value: v.text };
    }),
  };
  if (key.base64) obj.keyEncoding = 'base64';
  if (value.base64) obj.valueEncoding = 'base64';
  return Buffer.from(JSON.stringify(obj) + '\n', 'utf8');
}

/** The default output, as kafka-console-consumer prints it: the value, "null" for a null value, one per line. */
export function formatValueLine(r: FormattableRecord): Buffer {
  return r.value === null ? Buffer.from('null\n') : Buffer.concat([r.value, Buffer.from('\n')]);
}

export const DESERIALIZERS = ['string', 'hex', 'base64', 'int32', 'int64'] as const;
export type DeserializerName = (typeof DESERIALIZERS)[number];

/**
 * How key or value bytes are shown (kafka-console-consumer's --key-deserializer / --value-deserializer):
 * string as they are, hex or base64 text, or a big-endian int32 / int64 (Kafka's IntegerDeserializer /
 * LongDeserializer) as decimal text. Null stays null.
 */
export function deserializer(name: DeserializerName, what: 'key' | 'value'): ((b: Buffer, r: FormattableRecord) => Buffer) | null {
  switch (name) {
    case 'string':
      return null;
    case 'hex':
      return (b) => Buffer.from(b.toString('hex'));
    case 'base64':
      return (b) => Buffer.from(b.toString('base64'));
    case 'int32':
    case 'int64': {
      const size = name === 'int32' ? 4 : 8;
      return (b, r) => {
        if (b.length !== size) throw new Error(`${r.topic}-${r.partition}@${r.offset}: the ${what} has ${b.length} bytes, not the ${size} of an ${name}`);
        return Buffer.from(size === 4 ? String(b.readInt32BE()) : b.readBigInt64BE().toString());
      };
    }
  }
}

/** Applies key and value deserializers before a formatter (the identity when both are `string`). */
export function withDeserializers(formatter: RecordFormatter, key: DeserializerName, value: DeserializerName): RecordFormatter {
  const k = deserializer(key, 'key');
  const v = deserializer(value, 'value');
  if (k === null && v === null) return formatter;
  return (r) => formatter({ ...r, key: k && r.key !== null ? k(r.key, r) : r.key, value: v && r.value !== null ? v(r.value, r) : r.value });
}
