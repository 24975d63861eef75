/**
 * Test tokens for OAUTHBEARER: key pairs made with node:crypto, their JWKS, and JWS compact JWTs signed with
 * RS256/384/512, PS256 and ES256/384 (or left unsigned with alg "none", or signed by a key outside the JWKS).
 */
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export type TestAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384';

export interface TestKey {
  readonly kid: string;
  readonly alg: TestAlg;
  readonly privateKey: KeyObject;
  readonly publicJwk: Record<string, unknown>;
}

const HASH: Record<TestAlg, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512', PS256: 'sha256', ES256: 'sha256', ES384: 'sha384' };

export function makeKey(alg: TestAlg, kid = `${alg.toLowerCase()}-key`): TestKey {
  const pair = alg.startsWith('ES')
    ? generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicJwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg };
  return { kid, alg, privateKey: pair.privateKey, publicJwk };
}

export function jwks(...keys: TestKey[]): { keys: Array<Record<string, unknown>> } {
  return { keys: keys.map((k) => k.publicJwk) };
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Claims with sensible defaults: sub alice, iat now, exp in an hour (seconds since the epoch). */
export function claims(overrides: Record<string, unknown> = {}, nowMs = Date.now()): Record<string, unknown> {
  const now = Math.floor(nowMs / 1000);
  return { sub: 'alice', iat: now, exp: now + 3600, ...overrides };
}

/** A signed JWT; `header` overrides the protected header (kid, alg …). */
export function signJwt(key: TestKey, body: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const h = { alg: key.alg, typ: 'JWT', kid: key.kid, ...header };
  const input = `${b64(h)}.${b64(body)}`;
  const hash = HASH[key.alg];
  const signature = key.alg.startsWith('ES')
    ? sign(hash, Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : key.alg === 'PS256'
      ? sign(hash, Buffer.from(input), { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
      : sign(hash, Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** An unsigned JWT (alg none): refused when a JWKS is configured, the only kind the unsecured validator accepts. */
export function unsignedJwt(body: Record<string, unknown>): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(body)}.`;
}
