import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import {
  JwtValidator,
  OAuthBearerError,
  OAuthBearerServer,
  decodeJwt,
  jwksFromUrl,
  jwtValidatorOptions,
  oauthBearerClientMessage,
  parseOAuthBearerClientMessage,
  staticJwks,
} from '../../../src/security/oauthbearer.js';
import { claims, jwks, makeKey, signJwt, unsignedJwt, type TestAlg } from '../../helpers/jwt.js';

const rsa = makeKey('RS256', 'k1');
const ec = makeKey('ES256', 'k2');
const other = makeKey('RS256', 'k1'); // same kid, not in the JWKS

function validator(options: ConstructorParameters<typeof JwtValidator>[1] = {}): JwtValidator {
  return new JwtValidator(staticJwks(jwks(rsa, ec)), options);
}

async function refused(v: JwtValidator, token: string, pattern: RegExp): Promise<void> {
  await assert.rejects(v.validate(token), (err: unknown) => err instanceof OAuthBearerError && pattern.test(err.message));
}

test('client message: KIP-255 layout, round trip with extensions', () => {
  const msg = oauthBearerClientMessage('abc.def.ghi', { traceId: '42' });
  assert.equal(msg.toString('utf8'), 'n,,\x01auth=Bearer abc.def.ghi\x01traceId=42\x01\x01');
  const parsed = parseOAuthBearerClientMessage(msg);
  assert.equal(parsed.token, 'abc.def.ghi');
  assert.equal(parsed.authzid, null);
  assert.deepEqual([...parsed.extensions], [['traceId', '42']]);
  assert.equal(parseOAuthBearerClientMessage('n,a=bob,\x01auth=Bearer t\x01\x01').authzid, 'bob');
});

test('client message: malformed ones are refused with OAuthBearerError', () => {
  for (const bad of ['', 'n,,', 'n,,\x01auth=Bearer t\x01', 'y,,\x01auth=Bearer t\x01\x01', 'n,,\x01auth=Basic t\x01\x01', 'n,,\x01foo=bar\x01\x01',
    'n,,\x01auth=Bearer t\x01auth2=x\x01\x01', 'n,,\x01auth=Bearer t\x01=x\x01\x01', 'n,,\x01auth=Bearer a b\x01\x01']) {
    assert.throws(() => parseOAuthBearerClientMessage(bad), OAuthBearerError, JSON.stringify(bad));
  }
  assert.throws(() => parseOAuthBearerClientMessage(Buffer.from([0x6e, 0x2c, 0x2c, 0xff, 0x01, 0x01])), OAuthBearerError);
  assert.throws(() => oauthBearerClientMessage('has space'), OAuthBearerError);
  assert.throws(() => oauthBearerClientMessage('t', { auth: 'x' }), OAuthBearerError);
});

test('valid tokens for every accepted algorithm verify and give principal, scope and lifetime', async () => {
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'] as TestAlg[]) {
    const key = makeKey(alg, `kid-${alg}`);
    const v = new JwtValidator(staticJwks(jwks(key, rsa)));
    const c = claims({ scope: 'read write' });
    const t = await v.validate(signJwt(key, c));
    assert.equal(t.principalName, 'alice', alg);
    assert.deepEqual([...t.scope], ['read', 'write']);
    assert.equal(t.lifetimeMs, (c.exp as number) * 1000);
  }
});

test('a token without kid is tried against every key of its type', async () => {
  const token = signJwt(ec, claims(), { kid: undefined });
  assert.equal(decodeJwt(token).header.kid, undefined);
  assert.equal((await validator().validate(token)).principalName, 'alice');
});

test('expired token refused; within the clock skew accepted', async () => {
  const now = Date.now();
  const v = validator({ clockSkewSeconds: 30, now: () => now });
  await refused(v, signJwt(rsa, claims({ exp: Math.floor(now / 1000) - 60 })), /expired/);
  assert.ok(await v.validate(signJwt(rsa, claims({ exp: Math.floor(now / 1000) - 10 }))));
  await refused(validator({ clockSkewSeconds: 0, now: () => now }), signJwt(rsa, claims({ exp: Math.floor(now / 1000) - 10 })), /expired/);
});

test('nbf and iat in the future (beyond the skew) refused; exp and iat required', async () => {
  const now = Math.floor(Date.now() / 1000);
  const v = validator();
  await refused(v, signJwt(rsa, claims({ nbf: now + 300 })), /not valid before/);
  assert.ok(await v.validate(signJwt(rsa, claims({ nbf: now + 10 }))));
  await refused(v, signJwt(rsa, claims({ iat: now + 300 })), /in the future/);
  await refused(v, signJwt(rsa, claims({ exp: undefined })), /no exp/);
  await refused(v, signJwt(rsa, claims({ iat: undefined })), /no iat/);
  await refused(v, signJwt(rsa, claims({ exp: 'tomorrow' })), /NumericDate/);
});

test('wrong key, unknown kid, alg none and HMAC refused', async () => {
  const v = validator();
  await refused(v, signJwt(other, claims()), /signature does not verify/);
  await refused(v, signJwt(rsa, claims(), { kid: 'nope' }), /no key with kid 'nope'/);
  await refused(v, unsignedJwt(claims()), /alg none/);
  await refused(v, signJwt(rsa, claims(), { alg: 'HS256' }), /HS256 is not accepted/);
  // An RSA signature presented as ES256 does not verify against the EC key.
  await refused(v, signJwt(rsa, claims(), { alg: 'ES256', kid: 'k2' }), /signature does not verify/);
  // A tampered payload.
  const [h, , s] = signJwt(rsa, claims()).split('.');
  await refused(v, `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'mallory' }))).toString('base64url')}.${s}`, /signature does not verify/);
});

test('audience and issuer checked when configured', async () => {
  const v = validator({ expectedAudience: ['kafka', 'other'], expectedIssuer: 'https://issuer.example' });
  assert.ok(await v.validate(signJwt(rsa, claims({ aud: 'kafka', iss: 'https://issuer.example' }))));
  assert.ok(await v.validate(signJwt(rsa, claims({ aud: ['x', 'other'], iss: 'https://issuer.example' }))));
  await refused(v, signJwt(rsa, claims({ aud: 'web', iss: 'https://issuer.example' })), /audience/);
  await refused(v, signJwt(rsa, claims({ iss: 'https://issuer.example' })), /audience/);
  await refused(v, signJwt(rsa, claims({ aud: 'kafka', iss: 'https://evil.example' })), /issuer/);
  // Not configured: not checked.
  assert.ok(await validator().validate(signJwt(rsa, claims({ aud: 'anything', iss: 'anyone' }))));
});

test('sub and scope claim names are configurable; a missing principal is refused', async () => {
  const v = validator({ subClaimName: 'client_id', scopeClaimName: 'scp' });
  const t = await v.validate(signJwt(rsa, claims({ client_id: 'svc-1', scp: ['a', 'b'] })));
  assert.equal(t.principalName, 'svc-1');
  assert.deepEqual([...t.scope], ['a', 'b']);
  await refused(v, signJwt(rsa, claims()), /no client_id claim/);
});

test('malformed tokens refused without throwing anything but OAuthBearerError', async () => {
  const v = validator();
  for (const bad of ['', 'a.b', 'a.b.c.d', '!!!.e30.', 'e30.e30.', `${Buffer.from('[1]').toString('base64url')}.e30.`, `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.bm90IGpzb24.`]) {
    await assert.rejects(v.validate(bad), OAuthBearerError, JSON.stringify(bad));
  }
});

test('OAuthBearerServer: a valid token completes with the token exp as session end', async () => {
  const c = claims({ sub: 'svc' });
  const server = new OAuthBearerServer(validator());
  const r = await server.step(oauthBearerClientMessage(signJwt(rsa, c), { ext: 'v' }));
  assert.deepEqual(r, { response: Buffer.alloc(0), done: true });
  assert.equal(server.authenticatedUser, 'svc');
  assert.equal(server.sessionExpiresAtMs, (c.exp as number) * 1000);
  assert.equal(server.extensions.get('ext'), 'v');
});

test('OAuthBearerServer: an invalid token gets the RFC 7628 error challenge, then fails after the client\'s 0x01', async () => {
  const server = new OAuthBearerServer(validator());
  const first = await server.step(oauthBearerClientMessage(signJwt(other, claims())));
  assert.equal(first.done, false);
  assert.deepEqual(JSON.parse(first.response.toString()), { status: 'invalid_token' });
  assert.equal(server.state, 'error-sent');
  const second = await server.step(Buffer.from([1]));
  assert.equal(second.done, true);
  assert.equal(second.error?.message, '{"status":"invalid_token"}');
  assert.match(second.error!.reason, /signature/);
  assert.equal(server.claimedUser, 'alice'); // unverified, for the audit trail
  assert.equal(server.authenticatedUser, undefined);
  // A malformed message fails at once.
  const s2 = new OAuthBearerServer(validator());
  const r = await s2.step(Buffer.from('garbage'));
  assert.equal(r.done, true);
  assert.ok(r.error);
});

test('file:// JWKS is re-read when the file changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jwks-'));
  try {
    const path = join(dir, 'jwks.json');
    writeFileSync(path, JSON.stringify(jwks(rsa)));
    const v = new JwtValidator(jwksFromUrl(pathToFileURL(path).href));
    assert.ok(await v.validate(signJwt(rsa, claims())));
    await refused(v, signJwt(ec, claims()), /no key with kid 'k2'/);
    writeFileSync(path, JSON.stringify(jwks(ec)));
    const later = new Date(Date.now() + 5000);
    utimesSync(path, later, later);
    assert.ok(await v.validate(signJwt(ec, claims())));
    await refused(v, signJwt(rsa, claims()), /no key with kid 'k1'/);
    await assert.rejects(new JwtValidator(jwksFromUrl(pathToFileURL(join(dir, 'missing.json')).href)).validate(signJwt(rsa, claims())), /cannot load the JWKS/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('http JWKS endpoint: fetched, refreshed on an unknown kid (rate-limited) and after refresh.ms', async () => {
  let served = jwks(rsa);
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(served));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    let now = 1_000_000;
    const port = (server.address() as AddressInfo).port;
    const source = jwksFromUrl(`http://127.0.0.1:${port}/jwks`, { refreshMs: 60_000, retryBackoffMs: 1000, now: () => now });
    const v = new JwtValidator(source);
    assert.ok(await v.validate(signJwt(rsa, claims())));
    assert.equal(hits, 1);
    served = jwks(rsa, ec);
    // Within the backoff an unknown kid does not refetch.
    await refused(v, signJwt(ec, claims()), /no key with kid/);
    assert.equal(hits, 1);
    now += 2000;
    assert.ok(await v.validate(signJwt(ec, claims())));
    assert.equal(hits, 2);
    // A removed key stays usable until the periodic refresh.
    served = jwks(ec);
    assert.ok(await v.validate(signJwt(rsa, claims())));
    now += 61_000;
    await refused(v, signJwt(rsa, claims()), /no key with kid 'k1'/);
    assert.equal(hits, 3);
  } finally {
    server.close();
  }
});

test('validator options from Kafka config keys', () => {
  const cfg: Record<string, string> = {
    'sasl.oauthbearer.clock.skew.seconds': '5',
    'sasl.oauthbearer.expected.audience': 'a, b',
    'sasl.oauthbearer.expected.issuer': 'iss',
    'sasl.oauthbearer.sub.claim.name': 'uid',
  };
  const o = jwtValidatorOptions((k) => cfg[k]);
  assert.deepEqual(o, { clockSkewSeconds: 5, expectedAudience: ['a', 'b'], expectedIssuer: 'iss', subClaimName: 'uid', scopeClaimName: undefined });
  assert.throws(() => jwtValidatorOptions((k) => (k === 'sasl.oauthbearer.clock.skew.seconds' ? 'x' : undefined)), OAuthBearerError);
});

test("the unsecured validator (Kafka's default without a JWKS): unsigned tokens only, exp and sub required, required scope", async () => {
  const v = new JwtValidator(null, { unsecured: { requiredScope: ['produce'] } });
  const ok = await v.validate(unsignedJwt({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 60, scope: 'produce consume' }));
  assert.equal(ok.principalName, 'admin');
  await refused(v, signJwt(makeKey('RS256'), claims({ scope: 'produce' })), /accepts only unsigned JWTs/);
  await refused(v, unsignedJwt({ sub: 'admin', exp: Math.floor(Date.now() / 1000) - 1, scope: 'produce' }), /expired/);
  await refused(v, unsignedJwt({ exp: Math.floor(Date.now() / 1000) + 60, scope: 'produce' }), /no sub claim/);
  await refused(v, unsignedJwt({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 60, scope: 'consume' }), /lacks the required produce/);
  await refused(v, `${unsignedJwt({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 60, scope: 'produce' })}c2ln`, /accepts only unsigned/);
  assert.throws(() => new JwtValidator(null), /JWKS is needed/);
});
