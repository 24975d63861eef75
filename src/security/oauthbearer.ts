/**
 * SASL OAUTHBEARER (RFC 7628, Kafka's KIP-255) and the broker's JWT validation (KIP-768 style).
 *
 * - The client's one message: GS2 header `n,[a=<authzid>],` then `\x01`-separated `key=value` pairs —
 *   `auth=Bearer <token>` and any SASL extensions — ended by `\x01\x01`.
 * - The broker validates the token as a JWS compact JWT signed with RS256/384/512, PS256/384/512 or
 *   ES256/384/512 (never `none`, never an HMAC) by a key of a JWKS (an http(s):// endpoint refreshed every
 *   `sasl.oauthbearer.jwks.endpoint.refresh.ms` and on an unknown `kid`, or a file:// path re-read when it
 *   changes), checks exp (required), iat (required, not in the future), nbf, the expected audience and issuer
 *   with `sasl.oauthbearer.clock.skew.seconds` of slack, and takes the principal from the sub claim (or the one
 *   `sasl.oauthbearer.sub.claim.name` names) and the scope from `sasl.oauthbearer.scope.claim.name`.
 * - OAuthBearerServer is one exchange: a valid token completes it (session lifetime = the token's exp, for
 *   KIP-368); an invalid one is answered with the RFC 7628 error challenge `{"status":"invalid_token"}`, the
 *   client acknowledges with `\x01`, and the exchange fails with the challenge as the message, as Kafka's
 *   OAuthBearerSaslServer does. `step` never throws on client input.
 */
import { isUtf8 } from 'node:buffer';
import { createPublicKey, verify as cryptoVerify, constants as cryptoConstants, type KeyObject, type JsonWebKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const OAUTHBEARER = 'OAUTHBEARER';
const KVSEP = '\u0001';

export class OAuthBearerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OAuthBearerError';
  }
}

// ---- the client's message ------------------------------------------------------------------------

/** Extension keys are alphabetic (RFC 7628 §3.1); `auth` is reserved for the token. */
const EXTENSION_KEY_RE = /^[A-Za-z]+$/;
/** Extension values: printable ASCII, space, tab, CR, LF. */
const EXTENSION_VALUE_RE = /^[\x21-\x7E \t\r\n]*$/;
/** RFC 6750 b64token. */
const BEARER_TOKEN_RE = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The client's initial response: `n,,\x01auth=Bearer <token>\x01[key=value\x01…]\x01`. */
export function oauthBearerClientMessage(token: string, extensions: Readonly<Record<string, string>> = {}, authzid?: string): Buffer {
  if (!BEARER_TOKEN_RE.test(token)) throw new OAuthBearerError('the OAUTHBEARER token is not a valid bearer token (RFC 6750 b64token)');
  let ext = '';
  for (const [k, v] of Object.entries(extensions)) {
    if (k === 'auth' || !EXTENSION_KEY_RE.test(k)) throw new OAuthBearerError(`invalid SASL extension name '${k}'`);
    if (!EXTENSION_VALUE_RE.test(v)) throw new OAuthBearerError(`invalid value for SASL extension '${k}'`);
    ext += `${k}=${v}${KVSEP}`;
  }
  const gs2 = `n,${authzid ? `a=${authzid.replace(/=/g, '=3D').replace(/,/g, '=2C')}` : ''},`;
  return Buffer.from(`${gs2}${KVSEP}auth=Bearer ${token}${KVSEP}${ext}${KVSEP}`, 'utf8');
}

/** The parsed client message. */
export interface OAuthBearerClientMessage {
  readonly authzid: string | null;
  readonly token: string;
  readonly extensions: ReadonlyMap<string, string>;
}

/** Parses the client's initial response; throws OAuthBearerError when it is malformed. */
export function parseOAuthBearerClientMessage(message: Buffer | string): OAuthBearerClientMessage {
  const text = typeof message === 'string' ? message : message.toString('utf8');
  if (typeof message !== 'string' && !isUtf8(message)) throw new OAuthBearerError('Invalid OAUTHBEARER client first message: not valid UTF-8');
  // eslint-disable-next-line no-control-regex -- 0x01 is the protocol's separator
  const m = /^([ny]|p=[^,]*),(a=[^,]*)?,\u0001(.*)\u0001\u0001$/s.exec(text);
  if (!m) throw new OAuthBearerError('Invalid OAUTHBEARER client first message: expected GS2 header, then key=value pairs separated by 0x01, ended by 0x01 0x01');
  if (m[1] !== 'n') throw new OAuthBearerError('Invalid OAUTHBEARER client first message: channel binding is not supported');
  let authzid: string | null = null;
  if (m[2] !== undefined) {
    const raw = m[2].slice(2);
    if (/=(?!2C|3D)/.test(raw)) throw new OAuthBearerError('Invalid OAUTHBEARER client first message: bad authzid escape');
    authzid = raw.replace(/=2C/g, ',').replace(/=3D/g, '=');
  }
  let token: string | undefined;
  const extensions = new Map<string, string>();
  for (const kv of m[3]!.split(KVSEP)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new OAuthBearerError(`Invalid OAUTHBEARER client first message: malformed key=value '${kv.slice(0, 40)}'`);
    const key = kv.slice(0, eq);
    const value = kv.slice(eq + 1);
    if (key === 'auth') {
      const a = /^Bearer +(\S+) *$/i.exec(value);
      if (!a || !BEARER_TOKEN_RE.test(a[1]!)) throw new OAuthBearerError('Invalid OAUTHBEARER client first message: auth is not "Bearer <token>"');
      token = a[1]!;
      continue;
    }
    if (!EXTENSION_KEY_RE.test(key) || !EXTENSION_VALUE_RE.test(value)) throw new OAuthBearerError(`Invalid OAUTHBEARER client first message: invalid extension '${key.slice(0, 40)}'`);
    if (extensions.has(key)) throw new OAuthBearerError(`Invalid OAUTHBEARER client first message: extension '${key}' given twice`);
    extensions.set(key, value);
  }
  if (token === undefined) throw new OAuthBearerError('Invalid OAUTHBEARER client first message: no auth=Bearer token');
  return { authzid, token, extensions };
}

// ---- JWT -----------------------------------------------------------------------------------------

export interface JwtHeader {
  readonly alg: string;
  readonly kid?: string;
  readonly typ?: string;
  readonly [k: string]: unknown;
}

export type JwtClaims = Readonly<Record<string, unknown>>;

/** A JWS compact serialization split into its parts (nothing verified yet). */
export interface DecodedJwt {
  readonly header: JwtHeader;
  readonly claims: JwtClaims;
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

const B64URL_RE = /^[A-Za-z0-9_-]*$/;

function b64url(part: string, what: string): Buffer {
  if (!B64URL_RE.test(part)) throw new OAuthBearerError(`malformed JWT: ${what} is not base64url`);
  return Buffer.from(part, 'base64url');
}

function jsonObject(buf: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new OAuthBearerError(`malformed JWT: ${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OAuthBearerError(`malformed JWT: ${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** Splits and decodes a JWS compact JWT; throws OAuthBearerError when it is malformed. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new OAuthBearerError(`malformed JWT: expected 3 dot-separated parts, got ${parts.length}`);
  const header = jsonObject(b64url(parts[0]!, 'header'), 'header');
  if (typeof header.alg !== 'string') throw new OAuthBearerError('malformed JWT: header has no alg');
  if (header.kid !== undefined && typeof header.kid !== 'string') throw new OAuthBearerError('malformed JWT: kid is not a string');
  if (Array.isArray(header.crit)) throw new OAuthBearerError('JWT header has critical extensions, which are not supported');
  const claims = jsonObject(b64url(parts[1]!, 'payload'), 'payload');
  return { header: header as JwtHeader, claims, signingInput: Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'), signature: b64url(parts[2]!, 'signature') };
}

type AlgSpec = { kty: 'RSA' | 'EC'; hash: string; pss?: boolean; crv?: string; size?: number };
const ALGORITHMS: Record<string, AlgSpec> = {
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  PS256: { kty: 'RSA', hash: 'sha256', pss: true, size: 32 },
  PS384: { kty: 'RSA', hash: 'sha384', pss: true, size: 48 },
  PS512: { kty: 'RSA', hash: 'sha512', pss: true, size: 64 },
  ES256: { kty: 'EC', hash: 'sha256', crv: 'P-256' },
  ES384: { kty: 'EC', hash: 'sha384', crv: 'P-384' },
  ES512: { kty: 'EC', hash: 'sha512', crv: 'P-521' },
};
export const SUPPORTED_JWS_ALGORITHMS: readonly string[] = Object.keys(ALGORITHMS);

/** One usable key of a JWKS. */
export interface VerificationKey {
  readonly kid: string | undefined;
  readonly kty: string;
  readonly alg: string | undefined;
  readonly crv: string | undefined;
  readonly key: KeyObject;
}

/** The signing keys of a JWKS document (`{"keys":[…]}`); keys that are not public RSA/EC signature keys are skipped. */
export function parseJwks(json: unknown): VerificationKey[] {
  const keys = (json as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new OAuthBearerError('JWKS has no "keys" array');
  const out: VerificationKey[] = [];
  for (const jwk of keys as Array<Record<string, unknown>>) {
    if (typeof jwk !== 'object' || jwk === null) continue;
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if ('d' in jwk) continue; // a private key has no place in a JWKS; refuse to use it
    try {
      const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
      out.push({ kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, kty: jwk.kty, alg: typeof jwk.alg === 'string' ? jwk.alg : undefined, crv: typeof jwk.crv === 'string' ? jwk.crv : undefined, key });
    } catch {
      // an unusable key is skipped, as jose4j does
    }
  }
  return out;
}

/** Checks the signature of `jwt` with `key`; false when it does not verify or the key does not fit the algorithm. */
export function verifyJwtSignature(jwt: DecodedJwt, key: VerificationKey): boolean {
  const spec = ALGORITHMS[jwt.header.alg];
  if (!spec || key.kty !== spec.kty) return false;
  if (key.alg !== undefined && key.alg !== jwt.header.alg) return false;
  if (spec.crv && key.crv !== undefined && key.crv !== spec.crv) return false;
  try {
    if (spec.kty === 'EC') return cryptoVerify(spec.hash, jwt.signingInput, { key: key.key, dsaEncoding: 'ieee-p1363' }, jwt.signature);
    if (spec.pss) return cryptoVerify(spec.hash, jwt.signingInput, { key: key.key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: spec.size }, jwt.signature);
    return cryptoVerify(spec.hash, jwt.signingInput, key.key, jwt.signature);
  } catch {
    return false;
  }
}

// ---- JWKS sources --------------------------------------------------------------------------------

/** Where the validator gets its keys. */
export interface JwksSource {
  /** The current keys (loaded on first use). */
  keys(): Promise<VerificationKey[]>;
  /** Called when a token names a kid the keys lack: a source may reload (rate-limited). */
  refreshForUnknownKid(): Promise<VerificationKey[]>;
  close(): void;
}

/** A fixed key set (tests, or keys given inline). */
export function staticJwks(json: unknown): JwksSource {
  const keys = parseJwks(json);
  return { keys: async () => keys, refreshForUnknownKid: async () => keys, close: () => {} };
}

export interface JwksEndpointOptions {
  /** Kafka's sasl.oauthbearer.jwks.endpoint.refresh.ms (default 1 h). */
  refreshMs?: number;
  /** Kafka's sasl.oauthbearer.jwks.endpoint.retry.backoff.ms (default 100): the least time between reloads for unknown kids. */
  retryBackoffMs?: number;
  /** Give up an HTTP fetch after this long (default 10 s). */
  timeoutMs?: number;
  now?: () => number;
}

/**
 * The JWKS at `sasl.oauthbearer.jwks.endpoint.url`: an http(s) URL (fetched, refreshed every refreshMs and on
 * an unknown kid) or a file:// URL (re-read whenever its modification time or size changes).
 */
export function jwksFromUrl(url: string, options: JwksEndpointOptions = {}): JwksSource {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OAuthBearerError(`sasl.oauthbearer.jwks.endpoint.url '${url}' is not a URL`);
  }
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? 3_600_000;
  const backoffMs = options.retryBackoffMs ?? 100;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let cached: VerificationKey[] | undefined;
  let loadedAt = 0;
  let loading: Promise<VerificationKey[]> | undefined;
  let fileStamp = '';

  const fetchKeys = async (): Promise<VerificationKey[]> => {
    if (parsed.protocol === 'file:') {
      const path = fileURLToPath(parsed);
      const st = await stat(path);
      const stamp = `${st.mtimeMs}/${st.size}`;
      if (cached && stamp === fileStamp) return cached;
      const keys = parseJwks(JSON.parse(await readFile(path, 'utf8')));
      fileStamp = stamp;
      return keys;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new OAuthBearerError(`sasl.oauthbearer.jwks.endpoint.url must be http(s):// or file://, got ${parsed.protocol}`);
    const res = await fetch(parsed, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) throw new OAuthBearerError(`JWKS endpoint ${url} answered HTTP ${res.status}`);
    return parseJwks(await res.json());
  };

  const load = (): Promise<VerificationKey[]> => {
    loading ??= fetchKeys().then(
      (keys) => {
        cached = keys;
        loadedAt = now();
        loading = undefined;
        return keys;
      },
      (err: unknown) => {
        loading = undefined;
        loadedAt = now();
        // Keep serving the last good keys when a refresh fails; fail only when there are none.
        if (cached) return cached;
        throw err instanceof OAuthBearerError ? err : new OAuthBearerError(`cannot load the JWKS from ${url}: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    return loading;
  };

  return {
    async keys() {
      if (!cached) return load();
      // A file is cheap to stat: check it on every use, so a replaced key file takes effect at once.
      if (parsed.protocol === 'file:' || now() - loadedAt >= refreshMs) return load();
      return cached;
    },
    async refreshForUnknownKid() {
      if (cached && now() - loadedAt < backoffMs) return cached;
      return load();
    },
    close() {},
  };
}

// ---- validation ----------------------------------------------------------------------------------

export interface JwtValidatorOptions {
  /** sasl.oauthbearer.clock.skew.seconds (default 30). */
  clockSkewSeconds?: number;
  /** sasl.oauthbearer.expected.audience: the token's aud must hold one of these (unset: aud not checked). */
  expectedAudience?: readonly string[];
  /** sasl.oauthbearer.expected.issuer (unset: iss not checked). */
  expectedIssuer?: string;
  /** sasl.oauthbearer.sub.claim.name (default 'sub'). */
  subClaimName?: string;
  /** sasl.oauthbearer.scope.claim.name (default 'scope'). */
  scopeClaimName?: string;
  now?: () => number;
  /**
   * Kafka's unsecured validator (OAuthBearerUnsecuredValidatorCallbackHandler, the broker default when no JWKS is
   * configured): only unsigned tokens (alg none, empty signature), exp and the principal claim required, iat
   * optional, `requiredScope` every scope that must be granted. For development, as in Kafka.
   */
  unsecured?: { requiredScope?: readonly string[] };
}

/** A validated token. */
export interface ValidatedToken {
  readonly value: string;
  readonly principalName: string;
  readonly scope: ReadonlySet<string>;
  /** exp, in epoch milliseconds. */
  readonly lifetimeMs: number;
  readonly startTimeMs: number | undefined;
  readonly claims: JwtClaims;
}

/** Validates JWTs against a JWKS; `validate` throws OAuthBearerError naming what is wrong. */
export class JwtValidator {
  private readonly skewMs: number;
  readonly subClaimName: string;
  private readonly scopeClaim: string;
  private readonly now: () => number;

  constructor(private readonly jwks: JwksSource | null, private readonly options: JwtValidatorOptions = {}) {
    if (jwks === null && !options.unsecured) throw new Error('a JWKS is needed unless the validator is the unsecured one');
    this.skewMs = (options.clockSkewSeconds ?? (options.unsecured ? 0 : 30)) * 1000;
    this.subClaimName = options.subClaimName ?? 'sub';
    this.scopeClaim = options.scopeClaimName ?? 'scope';
    this.now = options.now ?? Date.now;
  }

  async validate(token: string): Promise<ValidatedToken> {
    const jwt = decodeJwt(token);
    const alg = jwt.header.alg;
    if (this.jwks === null) {
      if (alg !== 'none' || token.split('.')[2] !== '') {
        throw new OAuthBearerError(`the unsecured validator accepts only unsigned JWTs (alg none, empty signature), not alg ${String(alg)}: set sasl.oauthbearer.jwks.endpoint.url to validate signed tokens`);
      }
    } else {
      if (alg === 'none') throw new OAuthBearerError('JWT is unsigned (alg none), which is refused');
      if (!ALGORITHMS[alg]) throw new OAuthBearerError(`JWT algorithm ${alg} is not accepted (accepted: ${SUPPORTED_JWS_ALGORITHMS.join(', ')})`);
      await this.verifySignature(jwt);
    }

    const c = jwt.claims;
    const now = this.now();
    const numericDate = (name: string, required: boolean): number | undefined => {
      const v = c[name];
      if (v === undefined) {
        if (required) throw new OAuthBearerError(`JWT has no ${name} claim`);
        return undefined;
      }
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new OAuthBearerError(`JWT ${name} claim is not a NumericDate`);
      return v * 1000;
    };
    const exp = numericDate('exp', true)!;
    if (now - this.skewMs >= exp) throw new OAuthBearerError(`JWT expired at ${new Date(exp).toISOString()}`);
    const iat = numericDate('iat', this.jwks !== null);
    if (iat !== undefined && iat > now + this.skewMs) throw new OAuthBearerError(`JWT iat ${new Date(iat).toISOString()} is in the future`);
    const nbf = numericDate('nbf', false);
    if (nbf !== undefined && nbf > now + this.skewMs) throw new OAuthBearerError(`JWT is not valid before ${new Date(nbf).toISOString()}`);

    const expectedAud = this.options.expectedAudience?.filter((a) => a !== '');
    if (expectedAud && expectedAud.length > 0) {
      const aud = c.aud;
      const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
      if (!auds.some((a) => expectedAud.includes(a))) throw new OAuthBearerError(`JWT audience ${JSON.stringify(aud ?? null)} is not one of the expected ${JSON.stringify(expectedAud)}`);
    }
    if (this.options.expectedIssuer !== undefined && this.options.expectedIssuer !== '' && c.iss !== this.options.expectedIssuer) {
      throw new OAuthBearerError(`JWT issuer ${JSON.stringify(c.iss ?? null)} is not the expected ${JSON.stringify(this.options.expectedIssuer)}`);
    }
    const sub = c[this.subClaimName];
    if (typeof sub !== 'string' || sub.trim() === '') throw new OAuthBearerError(`JWT has no ${this.subClaimName} claim (the principal)`);
    const rawScope = c[this.scopeClaim];
    const scope = new Set<string>(
      typeof rawScope === 'string' ? rawScope.split(' ').filter(Boolean) : Array.isArray(rawScope) ? rawScope.filter((s): s is string => typeof s === 'string') : [],
    );
    const missing = (this.options.unsecured?.requiredScope ?? []).filter((x) => !scope.has(x));
    if (missing.length > 0) throw new OAuthBearerError(`JWT scope lacks the required ${missing.join(' ')}`);
    return { value: token, principalName: sub, scope, lifetimeMs: exp, startTimeMs: iat, claims: c };
  }

  private async verifySignature(jwt: DecodedJwt): Promise<void> {
    const jwks = this.jwks!;
    const kid = jwt.header.kid;
    const pick = (keys: VerificationKey[]): VerificationKey[] => (kid !== undefined ? keys.filter((k) => k.kid === kid) : keys);
    let candidates = pick(await jwks.keys());
    if (candidates.length === 0 && kid !== undefined) candidates = pick(await jwks.refreshForUnknownKid());
    if (candidates.length === 0) throw new OAuthBearerError(kid !== undefined ? `no key with kid '${kid}' in the JWKS` : 'the JWKS has no key');
    if (!candidates.some((k) => verifyJwtSignature(jwt, k))) throw new OAuthBearerError('JWT signature does not verify with the JWKS keys');
  }
}

// ---- the broker's side of one exchange -----------------------------------------------------------

export type OAuthBearerServerState = 'initial' | 'error-sent' | 'complete' | 'failed';

export interface OAuthBearerStepResult {
  /** The challenge to send back: empty on success, the RFC 7628 error JSON after an invalid token. */
  readonly response: Buffer;
  readonly done: boolean;
  /** Set when the exchange failed: the message for SASL_AUTHENTICATION_FAILED and the reason (for logs and audit). */
  readonly error?: { readonly message: string; readonly reason: string };
}

/** RFC 7628 §3.2.2's error JSON. */
export function oauthBearerErrorJson(status = 'invalid_token', scope?: string): string {
  return JSON.stringify(scope ? { status, scope } : { status });
}

export class OAuthBearerServer {
  private st: OAuthBearerServerState = 'initial';
  private token: ValidatedToken | undefined;
  private errorJson = '';
  private reason = '';
  private ext: ReadonlyMap<string, string> = new Map();
  private claimed: string | undefined;

  constructor(private readonly validator: JwtValidator) {}

  get state(): OAuthBearerServerState { return this.st; }
  /** The principal name once complete. */
  get authenticatedUser(): string | undefined { return this.st === 'complete' ? this.token?.principalName : undefined; }
  get validatedToken(): ValidatedToken | undefined { return this.st === 'complete' ? this.token : undefined; }
  /** When the session must end (the token's exp, epoch ms), once complete. */
  get sessionExpiresAtMs(): number | undefined { return this.st === 'complete' ? this.token?.lifetimeMs : undefined; }
  get extensions(): ReadonlyMap<string, string> { return this.ext; }
  /** Why the token was refused, after a failure (not sent to the client). */
  get failureReason(): string { return this.reason; }
  /** The principal a refused token claimed (unverified: for the audit trail only). */
  get claimedUser(): string | undefined { return this.claimed; }

  /** Feeds one client message; never throws. */
  async step(message: Buffer): Promise<OAuthBearerStepResult> {
    if (this.st === 'error-sent') {
      // The client acknowledges our error challenge with a lone 0x01; anything else is a protocol error too.
      this.st = 'failed';
      return { response: Buffer.alloc(0), done: true, error: { message: this.errorJson, reason: this.reason } };
    }
    if (this.st !== 'initial') {
      this.st = 'failed';
      return { response: Buffer.alloc(0), done: true, error: { message: 'Authentication failed: unexpected OAUTHBEARER message', reason: `message in state ${this.st}` } };
    }
    let parsed: OAuthBearerClientMessage;
    try {
      parsed = parseOAuthBearerClientMessage(message);
    } catch (err) {
      // A malformed client message is not a token problem: fail at once (Kafka throws SaslException here).
      this.st = 'failed';
      this.reason = (err as Error).message;
      return { response: Buffer.alloc(0), done: true, error: { message: this.reason, reason: this.reason } };
    }
    this.ext = parsed.extensions;
    try {
      const token = await this.validator.validate(parsed.token);
      if (parsed.authzid !== null && parsed.authzid !== token.principalName) {
        throw new OAuthBearerError(`authorization id ${parsed.authzid} differs from the token's principal ${token.principalName}`);
      }
      this.token = token;
      this.st = 'complete';
      return { response: Buffer.alloc(0), done: true };
    } catch (err) {
      this.reason = err instanceof Error ? err.message : String(err);
      try {
        const sub = decodeJwt(parsed.token).claims[this.validator.subClaimName];
        if (typeof sub === 'string') this.claimed = sub;
      } catch {
        // not even decodable: no claimed name
      }
      this.errorJson = oauthBearerErrorJson('invalid_token');
      this.st = 'error-sent';
      return { response: Buffer.from(this.errorJson, 'utf8'), done: false };
    }
  }
}

/** Validator options from broker config values (Kafka's names); undefined entries keep the defaults. */
export function jwtValidatorOptions(get: (key: string) => string | undefined): JwtValidatorOptions {
  const num = (key: string): number | undefined => {
    const v = get(key);
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new OAuthBearerError(`${key} must be a non-negative number, got '${v}'`);
    return n;
  };
  const aud = get('sasl.oauthbearer.expected.audience');
  return {
    clockSkewSeconds: num('sasl.oauthbearer.clock.skew.seconds'),
    expectedAudience: aud ? aud.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    expectedIssuer: get('sasl.oauthbearer.expected.issuer') || undefined,
    subClaimName: get('sasl.oauthbearer.sub.claim.name') || undefined,
    scopeClaimName: get('sasl.oauthbearer.scope.claim.name') || undefined,
  };
}
