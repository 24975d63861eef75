/**
 * SASL PLAIN (RFC 4616) as Kafka's PlainSaslServer: the client's one message is authzid NUL authcid NUL passwd;
 * the authzid must be empty or equal to the authcid; the password is checked against a user table (the JAAS
 * config's user_<name>="<password>" options) with a timing-safe compare.
 */
import { isUtf8 } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';

export interface PlainMessage {
  readonly authzid: string;
  readonly username: string;
  readonly password: string;
}

export class PlainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlainError';
  }
}

/** Parses a PLAIN message; throws PlainError with Kafka's wording when it is malformed. */
export function parsePlainMessage(message: Buffer | string): PlainMessage {
  const text = typeof message === 'string' ? message : message.toString('utf8');
  if (typeof message !== 'string' && !isUtf8(message)) throw new PlainError('Invalid SASL/PLAIN response: not valid UTF-8');
  const tokens = text.split('\u0000');
  if (tokens.length !== 3) throw new PlainError(`Invalid SASL/PLAIN response: expected 3 tokens, got ${tokens.length}`);
  const [authzid, username, password] = tokens as [string, string, string];
  if (username === '') throw new PlainError('Authentication failed: username not specified');
  if (password === '') throw new PlainError('Authentication failed: password not specified');
  if (authzid !== '' && authzid !== username) {
    throw new PlainError('Authentication failed: Client requested an authorization id that is different from username');
  }
  return { authzid, username, password };
}

/** The client's PLAIN message (authzid left empty, as Kafka's client sends it). */
export function plainMessage(username: string, password: string): Buffer {
  return Buffer.from(`\u0000${username}\u0000${password}`, 'utf8');
}

/** Compares two strings in time independent of where they differ (hashes first, so lengths do not leak either). */
export function timingSafeStringEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a === b;
}

export type PlainResult = { readonly ok: true; readonly username: string } | { readonly ok: false; readonly error: string };

/**
 * One PLAIN authentication: parses the message and checks the password against `users` (name → password).
 * Never throws on client input; an unknown user and a wrong password fail alike.
 */
export function authenticatePlain(message: Buffer | string, users: ReadonlyMap<string, string>): PlainResult {
  let m: PlainMessage;
  try {
    m = parsePlainMessage(message);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const expected = users.get(m.username);
  // Compare even for an unknown user, so its answer takes as long as a wrong password's.
  const match = timingSafeStringEqual(m.password, expected ?? '\u0000unknown');
  if (expected === undefined || !match) return { ok: false, error: 'Authentication failed: Invalid username or password' };
  return { ok: true, username: m.username };
}
