// Serdes: how keys and values become bytes at the edges of a topology (sources, sinks, repartition topics) and in
// state stores, which are keyed by serialized bytes so a persistent or changelogged store can sit under the same
// processors. A user-defined serde is any object with these two methods.
import type { Headers } from './record.js';

export interface Serializer<T> {
  serialize(topic: string, value: T | null, headers?: Headers): Buffer | null;
}

export interface Deserializer<T> {
  deserialize(topic: string, data: Buffer | null, headers?: Headers): T | null;
}

export interface Serde<T> extends Serializer<T>, Deserializer<T> {}

/** Thrown when bytes cannot become a value (a source's poison record) or a value cannot become bytes. */
export class SerializationError extends Error {
  override readonly name = 'SerializationError';
}

function serde<T>(toBytes: (v: T) => Buffer, fromBytes: (b: Buffer) => T): Serde<T> {
  return {
    serialize: (_topic, value) => (value === null || value === undefined ? null : toBytes(value)),
    deserialize: (_topic, data) => (data === null || data === undefined ? null : fromBytes(data)),
  };
}

/**
 * A serde whose bytes are the UTF-8 of a string (String, JSON): a sink hands the string to the producer, which
 * writes it into the batch as UTF-8 — the same bytes without a Buffer per record.
 */
export interface TextSerializer<T> {
  serializeText(topic: string, value: T | null, headers?: Headers): string | null;
}

export function isTextSerializer<T>(s: Serializer<T>): s is Serializer<T> & TextSerializer<T> {
  return typeof (s as Partial<TextSerializer<T>>).serializeText === 'function';
}

function textSerde<T>(toText: (v: T) => string, fromBytes: (b: Buffer) => T): Serde<T> & TextSerializer<T> {
  return {
    serialize: (_topic, value) => (value === null || value === undefined ? null : Buffer.from(toText(value), 'utf8')),
    serializeText: (_topic, value) => (value === null || value === undefined ? null : toText(value)),
    deserialize: (_topic, data) => (data === null || data === undefined ? null : fromBytes(data)),
  };
}

function fixedWidth(width: number, what: string, data: Buffer): Buffer {
  if (data.length !== width) throw new SerializationError(`a ${what} is ${width} bytes, got ${data.length}`);
  return data;
}

export const Serdes = {
  /** UTF-8 text. */
  String(): Serde<string> {
    return textSerde((v) => v, (b) => b.toString('utf8'));
  },
  /** JSON text (UTF-8); the type parameter is trusted, not checked. */
  JSON<T>(): Serde<T> {
    return textSerde(
      (v) => JSON.stringify(v),
      (b) => {
        try {
          return JSON.parse(b.toString('utf8')) as T;
        } catch (e) {
          throw new SerializationError(`not JSON: ${(e as Error).message}`);
        }
      },
    );
  },
  /** The bytes as they are. */
  Bytes(): Serde<Buffer> {
    return serde((v) => v, (b) => b);
  },
  /** A signed 64-bit big-endian integer, as Kafka's LongSerializer writes it (a bigint-free number: |v| < 2^53). */
  Long(): Serde<number> {
    return serde(
      (v) => {
        const b = Buffer.allocUnsafe(8);
        b.writeBigInt64BE(BigInt(Math.trunc(v)));
        return b;
      },
      (b) => Number(fixedWidth(8, 'Long', b).readBigInt64BE(0)),
    );
  },
  /** A signed 32-bit big-endian integer. */
  Integer(): Serde<number> {
    return serde(
      (v) => {
        const b = Buffer.allocUnsafe(4);
        b.writeInt32BE(v);
        return b;
      },
      (b) => fixedWidth(4, 'Integer', b).readInt32BE(0),
    );
  },
  /** An IEEE 754 double, big-endian. */
  Double(): Serde<number> {
    return serde(
      (v) => {
        const b = Buffer.allocUnsafe(8);
        b.writeDoubleBE(v);
        return b;
      },
      (b) => fixedWidth(8, 'Double', b).readDoubleBE(0),
    );
  },
  /** Always null: for topics whose keys are not used. */
  Void(): Serde<null> {
    return { serialize: () => null, deserialize: () => null };
  },
  /** A serde from a serializer and a deserializer. */
  serdeFrom<T>(serializer: Serializer<T>, deserializer: Deserializer<T>): Serde<T> {
    return { serialize: serializer.serialize.bind(serializer), deserialize: deserializer.deserialize.bind(deserializer) };
  },
};
