/**
 * SCRAM (RFC 5802) with SHA-256 and SHA-512 (RFC 7677), as Kafka's SCRAM-SHA-256 / SCRAM-SHA-512 SASL mechanisms.
 *
 * - Credentials are stored as Kafka stores them: salt, iterations, StoredKey = H(HMAC(SaltedPassword, "Client Key"))
 *   and ServerKey = HMAC(SaltedPassword, "Server Key"); never the password nor the salted password.
 * - ScramServer is the broker's side of one exchange: client-first → server-first → client-final → server-final.
 *   Every failure (malformed message, nonce mismatch, unknown user, wrong proof) ends the exchange with an
 *   `e=` server-final message and a reason; `step` never throws on client input.
 * - ScramClient is the client's side (the own client's SASL slice uses it).
 * Channel binding is not supported: the only GS2 header accepted is 'n,,' (or 'n,a=<user>,' naming the user itself).
 */
import { isUtf8 } from 'node:buffer';
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** Kafka's ScramMechanism codes on the wire (Describe/AlterUserScramCredentials). */
export const ScramMechanismCode = { UNKNOWN: 0, 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 } as const;

export const SCRAM_MECHANISMS: readonly ScramMechanismName[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];
/** Kafka's bounds for AlterUserScramCredentials (and its default for kafka-configs.sh / the Admin). */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;
export const SCRAM_DEFAULT_ITERATIONS = 4096;

/** The hash behind each mechanism; 'sha1' is RFC 5802's SCRAM-SHA-1, kept only for its published test vector. */
export type ScramHash = 'sha1' | 'sha256' | 'sha512';
const HASH_OF: Record<ScramMechanismName, ScramHash> = { 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512' };
const HASH_LENGTH: Record<ScramHash, number> = { sha1: 20, sha256: 32, sha512: 64 };

export function isScramMechanism(name: string): name is ScramMechanismName {
  return name === 'SCRAM-SHA-256' || name === 'SCRAM-SHA-512';
}

export function mechanismByCode(code: number): ScramMechanismName | undefined {
  return code === 1 ? 'SCRAM-SHA-256' : code === 2 ? 'SCRAM-SHA-512' : undefined;
}

export function mechanismCode(name: ScramMechanismName): number {
  return ScramMechanismCode[name];
}

export function hashOf(m: ScramMechanismName | ScramHash): ScramHash {
  return isScramMechanism(m) ? HASH_OF[m] : m;
}

/** A stored SCRAM credential (Kafka's ScramCredential / UserScramCredentialRecord). */
export interface ScramCredential {
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
  readonly iterations: number;
}

const hmac = (hash: ScramHash, key: Buffer, data: string | Buffer): Buffer => createHmac(hash, key).update(data).digest();
const digest = (hash: ScramHash, data: Buffer): Buffer => createHash(hash).update(data).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Hi(password, salt, i): PBKDF2 with HMAC-H, one block. */
export function saltedPassword(m: ScramMechanismName | ScramHash, password: string, salt: Buffer, iterations: number): Buffer {
  const hash = hashOf(m);
  return pbkdf2Sync(Buffer.from(saslPrep(password), 'utf8'), salt, iterations, HASH_LENGTH[hash], hash);
}

/** The stored credential from a salted password (what AlterUserScramCredentials carries). */
export function credentialFromSaltedPassword(m: ScramMechanismName | ScramHash, salted: Buffer, salt: Buffer, iterations: number): ScramCredential {
  const hash = hashOf(m);
  const clientKey = hmac(hash, salted, 'Client Key');
  return { salt: Buffer.from(salt), storedKey: digest(hash, clientKey), serverKey: hmac(hash, salted, 'Server Key'), iterations };
}

/** A new credential for a password, with a fresh 32-byte random salt unless one is given. */
export function generateCredential(m: ScramMechanismName, password: string, iterations = SCRAM_DEFAULT_ITERATIONS, salt: Buffer = randomBytes(32)): ScramCredential {
  if (!Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS) {
    throw new ScramError('invalid-iterations', `SCRAM iterations must be at least ${SCRAM_MIN_ITERATIONS}, got ${iterations}`);
  }
  return credentialFromSaltedPassword(m, saltedPassword(m, password, salt, iterations), salt, iterations);
}

/**
 * A light SASLprep (RFC 4013): NFKC-normalised, and refused when it holds control characters (C0, DEL, C1) or
 * is empty. Full stringprep tables (prohibited and bidi checks) are not applied.
 */
export function saslPrep(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(s)) throw new ScramError('invalid-encoding', 'control characters are not allowed');
  return s.normalize('NFKC');
}

/** saslname escaping (RFC 5802 §5.1): ',' → '=2C', '=' → '=3D'. */
export function escapeUsername(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** The inverse of escapeUsername; throws ScramError on a '=' not followed by 2C or 3D. */
export function unescapeUsername(s: string): string {
  if (/=(?!2C|3D)/.test(s)) throw new ScramError('invalid-username-encoding', `invalid saslname escape in '${s}'`);
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** Values of RFC 5802's server-error (sent as 'e=<value>'). */
export type ScramErrorValue =
  | 'invalid-encoding' | 'extensions-not-supported' | 'invalid-proof' | 'channel-bindings-dont-match'
  | 'server-does-support-channel-binding' | 'channel-binding-not-supported' | 'unsupported-channel-binding-type'
  | 'unknown-user' | 'invalid-username-encoding' | 'no-resources' | 'other-error'
  // Not RFC values; used locally only (never sent): bad arguments to generateCredential, nonce mismatch.
  | 'invalid-iterations' | 'invalid-nonce';

export class ScramError extends Error {
  constructor(readonly value: ScramErrorValue, message: string) {
    super(message);
    this.name = 'ScramError';
  }
}

/**
 * Parses 'k=v,k=v,…' attributes, in order; throws ScramError('invalid-encoding') when malformed. RFC 5802's keys
 * are one letter; Kafka's extensions after the nonce (tokenauth=true) have longer names.
 */
function parseAttributes(msg: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of msg.split(',')) {
    const m = /^([a-zA-Z]+)=/.exec(part);
    if (!m) throw new ScramError('invalid-encoding', `malformed attribute '${part}'`);
    out.push([m[1]!, part.slice(m[0].length)]);
  }
  return out;
}

/** printable chars except ',' (RFC 5802 'printable'). */
const NONCE_RE = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(s: string, what: string): Buffer {
  if (!BASE64_RE.test(s)) throw new ScramError('invalid-encoding', `${what} is not base64`);
  return Buffer.from(s, 'base64');
}

export function newNonce(): string {
  return randomBytes(24).toString('base64');
}

/** The parsed client-first message. */
export interface ClientFirstMessage {
  readonly gs2Header: string;
  readonly authzid: string | null;
  readonly username: string;
  readonly nonce: string;
  /** Extensions after the nonce (Kafka's tokenauth=true, KIP-48); as key → value. */
  readonly extensions: ReadonlyMap<string, string>;
  readonly bare: string;
}

export function parseClientFirst(msg: string): ClientFirstMessage {
  // gs2-header = gs2-cbind-flag "," [ authzid ] ","
  const first = msg.indexOf(',');
  const second = first < 0 ? -1 : msg.indexOf(',', first + 1);
  if (first < 0 || second < 0) throw new ScramError('invalid-encoding', 'client-first message has no GS2 header');
  const cbind = msg.slice(0, first);
  if (cbind === 'y') throw new ScramError('server-does-support-channel-binding', 'channel binding flag y is not accepted');
  if (cbind.startsWith('p=')) throw new ScramError('channel-binding-not-supported', 'channel binding is not supported');
  if (cbind !== 'n') throw new ScramError('invalid-encoding', `invalid GS2 channel binding flag '${cbind}'`);
  const authzPart = msg.slice(first + 1, second);
  let authzid: string | null = null;
  if (authzPart !== '') {
    if (!authzPart.startsWith('a=')) throw new ScramError('invalid-encoding', 'invalid GS2 authzid');
    authzid = unescapeUsername(authzPart.slice(2));
  }
  const bare = msg.slice(second + 1);
  const attrs = parseAttributes(bare);
  let i = 0;
  if (attrs[i]?.[0] === 'm') throw new ScramError('extensions-not-supported', 'mandatory extension (m=) is not supported');
  if (attrs[i]?.[0] !== 'n') throw new ScramError('invalid-encoding', 'client-first message has no username (n=)');
  const username = unescapeUsername(attrs[i++]![1]);
  if (username === '') throw new ScramError('invalid-encoding', 'empty username');
  saslPrep(username);
  if (attrs[i]?.[0] !== 'r') throw new ScramError('invalid-encoding', 'client-first message has no nonce (r=)');
  const nonce = attrs[i++]![1];
  if (!NONCE_RE.test(nonce)) throw new ScramError('invalid-encoding', 'invalid client nonce');
  const extensions = new Map<string, string>();
  for (; i < attrs.length; i++) extensions.set(attrs[i]![0], attrs[i]![1]);
  return { gs2Header: msg.slice(0, second + 1), authzid, username, nonce, extensions, bare };
}

export interface ServerFirstMessage {
  readonly nonce: string;
  readonly salt: Buffer;
  readonly iterations: number;
}

export function parseServerFirst(msg: string): ServerFirstMessage {
  const attrs = parseAttributes(msg);
  if (attrs[0]?.[0] === 'm') throw new ScramError('extensions-not-supported', 'mandatory extension (m=) is not supported');
  if (attrs.length < 3 || attrs[0]![0] !== 'r' || attrs[1]![0] !== 's' || attrs[2]![0] !== 'i') {
    throw new ScramError('invalid-encoding', 'server-first message must be r=…,s=…,i=…');
  }
  const nonce = attrs[0]![1];
  if (!NONCE_RE.test(nonce)) throw new ScramError('invalid-encoding', 'invalid server nonce');
  const salt = decodeBase64(attrs[1]![1], 'salt');
  if (!/^[1-9][0-9]{0,9}$/.test(attrs[2]![1])) throw new ScramError('invalid-encoding', 'invalid iteration count');
  return { nonce, salt, iterations: Number(attrs[2]![1]) };
}

export interface ClientFinalMessage {
  readonly channelBinding: Buffer;
  readonly nonce: string;
  readonly proof: Buffer;
  readonly withoutProof: string;
}

export function parseClientFinal(msg: string): ClientFinalMessage {
  const attrs = parseAttributes(msg);
  if (attrs.length < 3 || attrs[0]![0] !== 'c' || attrs[1]![0] !== 'r') throw new ScramError('invalid-encoding', 'client-final message must be c=…,r=…,…,p=…');
  const last = attrs[attrs.length - 1]!;
  if (last[0] !== 'p') throw new ScramError('invalid-encoding', 'client-final message must end with the proof (p=)');
  const proofAt = msg.lastIndexOf(',p=');
  return {
    channelBinding: decodeBase64(attrs[0]![1], 'channel binding'),
    nonce: attrs[1]![1],
    proof: decodeBase64(last[1], 'proof'),
    withoutProof: msg.slice(0, proofAt),
  };
}

/** Where the server looks up a user's credential for a mechanism. */
export type ScramCredentialLookup = (username: string, mechanism: ScramMechanismName | ScramHash) => ScramCredential | undefined;

export type ScramServerState = 'client-first' | 'client-final' | 'complete' | 'failed';

export interface ScramStepResult {
  /** The message to send back: server-first, server-final (v=…) or an error server-final (e=…). */
  readonly response: Buffer;
  /** True once the exchange is over (successfully or not). */
  readonly done: boolean;
  /** Set when the exchange failed: the RFC error value and a reason for logs / SASL_AUTHENTICATION_FAILED. */
  readonly error?: { readonly value: ScramErrorValue; readonly message: string };
}

export interface ScramServerOptions {
  /** The server's nonce part (tests); a fresh random one otherwise. */
  serverNonce?: string;
}

/**
 * The broker's side of one SCRAM exchange. An unknown user gets a server-first message built from a fake
 * credential (so the exchange does not reveal which users exist) and fails at the proof, as Kafka does.
 */
export class ScramServer {
  private st: ScramServerState = 'client-first';
  private clientFirst: ClientFirstMessage | undefined;
  private serverFirst = '';
  private nonce = '';
  private credential: ScramCredential | undefined;
  private unknownUser = false;
  private user: string | undefined;
  private readonly hash: ScramHash;

  constructor(readonly mechanism: ScramMechanismName | ScramHash, private readonly lookup: ScramCredentialLookup, private readonly opts: ScramServerOptions = {}) {
    this.hash = hashOf(mechanism);
  }

  get state(): ScramServerState { return this.st; }
  /** The authenticated user, once complete. */
  get authenticatedUser(): string | undefined { return this.st === 'complete' ? this.user : undefined; }
  /** The client-first message's extensions (e.g. tokenauth), once received. */
  get extensions(): ReadonlyMap<string, string> { return this.clientFirst?.extensions ?? new Map(); }

  /** Feeds one client message; never throws on its content. */
  step(message: Buffer | string): ScramStepResult {
    const text = typeof message === 'string' ? message : message.toString('utf8');
    try {
      if (typeof message !== 'string' && !isUtf8(message)) throw new ScramError('invalid-encoding', 'message is not valid UTF-8');
      if (this.st === 'client-first') return this.onClientFirst(text);
      if (this.st === 'client-final') return this.onClientFinal(text);
      return this.fail(new ScramError('other-error', `unexpected message in state ${this.st}`));
    } catch (err) {
      if (err instanceof ScramError) return this.fail(err);
      return this.fail(new ScramError('other-error', err instanceof Error ? err.message : String(err)));
    }
  }

  private onClientFirst(text: string): ScramStepResult {
    const cf = parseClientFirst(text);
    if (cf.authzid !== null && cf.authzid !== cf.username) {
      throw new ScramError('other-error', 'authorization id differs from the username');
    }
    this.clientFirst = cf;
    this.user = cf.username;
    this.credential = this.lookup(cf.username, this.mechanism);
    if (!this.credential) {
      this.unknownUser = true;
      const fakeKey = randomBytes(HASH_LENGTH[this.hash]);
      this.credential = { salt: randomBytes(32), storedKey: fakeKey, serverKey: fakeKey, iterations: SCRAM_DEFAULT_ITERATIONS };
    }
    this.nonce = cf.nonce + (this.opts.serverNonce ?? newNonce());
    this.serverFirst = `r=${this.nonce},s=${this.credential.salt.toString('base64')},i=${this.credential.iterations}`;
    this.st = 'client-final';
    return { response: Buffer.from(this.serverFirst, 'utf8'), done: false };
  }

  private onClientFinal(text: string): ScramStepResult {
    const cf = parseClientFinal(text);
    const first = this.clientFirst!;
    if (!cf.channelBinding.equals(Buffer.from(first.gs2Header, 'utf8'))) {
      throw new ScramError('channel-bindings-dont-match', 'channel binding does not match the GS2 header');
    }
    // Kafka checks only that the client's nonce ends with the server-first nonce: librdkafka sends its own nonce
    // again in front of it (client nonce + the whole server nonce), and Kafka brokers accept that.
    if (!cf.nonce.endsWith(this.nonce)) throw new ScramError('other-error', 'nonce does not match the server-first message');
    const cred = this.credential!;
    const authMessage = `${first.bare},${this.serverFirst},${cf.withoutProof}`;
    const clientSignature = hmac(this.hash, cred.storedKey, authMessage);
    if (cf.proof.length !== clientSignature.length) throw new ScramError('invalid-proof', 'invalid client proof');
    const clientKey = xor(cf.proof, clientSignature);
    const ok = timingSafeEqual(digest(this.hash, clientKey), cred.storedKey);
    if (!ok || this.unknownUser) {
      throw this.unknownUser ? new ScramError('unknown-user', `unknown user '${first.username}'`) : new ScramError('invalid-proof', 'invalid client proof');
    }
    this.st = 'complete';
    return { response: Buffer.from(`v=${hmac(this.hash, cred.serverKey, authMessage).toString('base64')}`, 'utf8'), done: true };
  }

  private fail(err: ScramError): ScramStepResult {
    this.st = 'failed';
    // An unknown user is reported to the client as a wrong proof: the reply does not reveal who exists.
    const sent = err.value === 'unknown-user' ? 'invalid-proof' : err.value === 'invalid-iterations' || err.value === 'invalid-nonce' ? 'other-error' : err.value;
    return { response: Buffer.from(`e=${sent}`, 'utf8'), done: true, error: { value: err.value, message: err.message } };
  }
}

export interface ScramClientOptions {
  /** The client nonce (tests); a fresh random one otherwise. */
  clientNonce?: string;
  /** Extensions appended to client-first (Kafka's tokenauth=true). */
  extensions?: ReadonlyMap<string, string>;
}

/**
 * The client's side: first() → client-first; final(serverFirst) → client-final; verify(serverFinal) checks the
 * server's signature. Throws ScramError on a malformed or failing server message.
 */
export class ScramClient {
  private readonly hash: ScramHash;
  private readonly nonce: string;
  private bare = '';
  private expectedServerSignature: Buffer | undefined;
  private done = false;

  constructor(readonly mechanism: ScramMechanismName | ScramHash, private readonly username: string, private readonly password: string, private readonly opts: ScramClientOptions = {}) {
    this.hash = hashOf(mechanism);
    this.nonce = opts.clientNonce ?? newNonce();
    saslPrep(username);
  }

  first(): Buffer {
    let ext = '';
    for (const [k, v] of this.opts.extensions ?? []) ext += `,${k}=${v}`;
    this.bare = `n=${escapeUsername(this.username)},r=${this.nonce}${ext}`;
    return Buffer.from(`n,,${this.bare}`, 'utf8');
  }

  final(serverFirstMessage: Buffer | string): Buffer {
    const text = serverFirstMessage.toString();
    if (text.startsWith('e=')) throw new ScramError('other-error', `server error: ${text.slice(2)}`);
    const sf = parseServerFirst(text);
    if (!sf.nonce.startsWith(this.nonce) || sf.nonce.length === this.nonce.length) {
      throw new ScramError('invalid-nonce', 'server nonce does not extend the client nonce');
    }
    if (sf.iterations < SCRAM_MIN_ITERATIONS) throw new ScramError('invalid-iterations', `server asked for ${sf.iterations} iterations, fewer than ${SCRAM_MIN_ITERATIONS}`);
    const salted = saltedPassword(this.hash, this.password, sf.salt, sf.iterations);
    const clientKey = hmac(this.hash, salted, 'Client Key');
    const storedKey = digest(this.hash, clientKey);
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${sf.nonce}`;
    const authMessage = `${this.bare},${text},${withoutProof}`;
    const proof = xor(clientKey, hmac(this.hash, storedKey, authMessage));
    this.expectedServerSignature = hmac(this.hash, hmac(this.hash, salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Checks server-final; throws ScramError on e=… or a wrong signature. */
  verify(serverFinalMessage: Buffer | string): void {
    const text = serverFinalMessage.toString();
    if (!this.expectedServerSignature) throw new ScramError('other-error', 'server-final before client-final');
    if (text.startsWith('e=')) throw new ScramError('other-error', `server error: ${text.slice(2)}`);
    const attrs = parseAttributes(text);
    if (attrs[0]?.[0] !== 'v') throw new ScramError('invalid-encoding', 'server-final message must be v=… or e=…');
    const sig = decodeBase64(attrs[0][1], 'server signature');
    if (sig.length !== this.expectedServerSignature.length || !timingSafeEqual(sig, this.expectedServerSignature)) {
      throw new ScramError('invalid-proof', 'invalid server signature');
    }
    this.done = true;
  }

  get complete(): boolean { return this.done; }
}
