/**
 * What the `topics` and `groups` commands share: an Admin for the command's lifetime, argument parsers that
 * fail as usage errors, and errors that say what to do.
 */
import { InvalidArgumentError } from 'commander';
import { Admin } from '../client/admin.js';
import { ProtocolError } from '../client/errors.js';
import { clientOptions, type ClientFlags } from './common.js';

/** Runs `fn` with a connected Admin, closing it afterwards whatever happens. */
export async function withAdmin<T>(flags: ClientFlags, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(clientOptions(flags));
  try {
    await admin.connect();
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/** A whole number ≥ min, for commander option parsers (a bad value is a usage error). */
export function intOption(name: string, min: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}, got "${value}"`);
    return n;
  };
}

/** Any whole number (offsets may be shifted back), for commander option parsers. */
export function signedIntOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number, got "${value}"`);
    return n;
  };
}

/** Repeatable `key=value` option collected into a record. */
export function collectConfig(value: string, previous: Record<string, string>): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`--config expects key=value, e.g. --config retention.ms=86400000; got "${value}"`);
  return { ...previous, [value.slice(0, i).trim()]: value.slice(i + 1).trim() };
}

/** Repeatable plain option collected into a list. */
export function collectList(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function isKafkaError(err: unknown, name: string): err is ProtocolError {
  return err instanceof ProtocolError && err.kafkaError === name;
}

export function unknownTopicError(topic: string): Error {
  return new Error(`topic '${topic}' does not exist — create it with \`tributary topics create --topic ${topic}\``);
}

/** Rethrows UNKNOWN_TOPIC_OR_PARTITION for `topic` as the advice to create it; anything else as it is. */
export function explainTopicError(err: unknown, topic: string): never {
  if (isKafkaError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) throw unknownTopicError(topic);
  throw err;
}

/** Kafka prints topic ids as URL-safe base64 without padding (Uuid.toString), e.g. NPmZHyhbR9y00wMglMH2sg. */
export function kafkaUuid(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

/** Sorts by topic, then partition. */
export function byTopicPartition<T extends { topic: string; partition: number }>(a: T, b: T): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}
