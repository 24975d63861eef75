import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ScramClient,
  ScramError,
  ScramServer,
  credentialFromSaltedPassword,
  escapeUsername,
  generateCredential,
  parseClientFirst,
  saltedPassword,
  unescapeUsername,
  type ScramCredential,
  type ScramHash,
  type ScramMechanismName,
} from '../../../src/security/scram.js';

// RFC 5802 §5 (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256): user "user", password "pencil".
const VECTORS: Array<{ name: string; hash: ScramHash; clientNonce: string; serverNonce: string; salt: string; clientFirst: string; serverFirst: string; clientFinal: string; serverFinal: string }> = [
  {
    name: 'RFC 5802 SCRAM-SHA-1',
    hash: 'sha1',
    clientNonce: 'fyko+d2lbbFgONRv9qkxdawL',
    serverNonce: '3rfcNHYJY1ZVvWVs7j',
    salt: 'QSXCR+Q6sek8bf92',
    clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  {
    name: 'RFC 7677 SCRAM-SHA-256',
    hash: 'sha256',
    clientNonce: 'rOprNGfwEbeRWgbNEkqO',
    serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
    clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
];

for (const v of VECTORS) {
  const salt = Buffer.from(v.salt, 'base64');
  const cred = credentialFromSaltedPassword(v.hash, saltedPassword(v.hash, 'pencil', salt, 4096), salt, 4096);

  test(`${v.name}: the client produces the published messages`, () => {
    const c = new ScramClient(v.hash, 'user', 'pencil', { clientNonce: v.clientNonce });
    assert.equal(c.first().toString(), v.clientFirst);
    assert.equal(c.final(v.serverFirst).toString(), v.clientFinal);
    c.verify(v.serverFinal);
    assert.equal(c.complete, true);
  });

  test(`${v.name}: the server produces the published messages from the stored credential`, () => {
    const s = new ScramServer(v.hash, (u) => (u === 'user' ? cred : undefined), { serverNonce: v.serverNonce });
    const r1 = s.step(Buffer.from(v.clientFirst));
    assert.equal(r1.response.toString(), v.serverFirst);
    assert.equal(r1.done, false);
    const r2 = s.step(Buffer.from(v.clientFinal));
    assert.equal(r2.error, undefined);
    assert.equal(r2.response.toString(), v.serverFinal);
    assert.equal(r2.done, true);
    assert.equal(s.authenticatedUser, 'user');
  });
}

function exchange(m: ScramMechanismName, stored: Map<string, ScramCredential>, user: string, password: string) {
  const server = new ScramServer(m, (u, mech) => (mech === m ? stored.get(u) : undefined));
  const client = new ScramClient(m, user, password);
  const r1 = server.step(client.first());
  if (r1.done) return { server, result: r1 };
  const r2 = server.step(client.final(r1.response));
  if (!r2.error) client.verify(r2.response);
  return { server, result: r2, client };
}

for (const m of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
  test(`${m}: client and server agree; wrong password, unknown user fail with e=invalid-proof`, () => {
    const stored = new Map([['alice', generateCredential(m, 'alice-secret')], ['a,b=c', generateCredential(m, 'pw', 8192)]]);
    const ok = exchange(m, stored, 'alice', 'alice-secret');
    assert.equal(ok.result.error, undefined);
    assert.equal(ok.server.authenticatedUser, 'alice');
    assert.equal(ok.client?.complete, true);
    const escaped = exchange(m, stored, 'a,b=c', 'pw');
    assert.equal(escaped.server.authenticatedUser, 'a,b=c');

    const wrong = exchange(m, stored, 'alice', 'nope');
    assert.equal(wrong.result.response.toString(), 'e=invalid-proof');
    assert.equal(wrong.result.error?.value, 'invalid-proof');
    assert.equal(wrong.server.state, 'failed');
    assert.equal(wrong.server.authenticatedUser, undefined);

    const unknown = exchange(m, stored, 'mallory', 'alice-secret');
    assert.equal(unknown.result.response.toString(), 'e=invalid-proof');
    assert.equal(unknown.result.error?.value, 'unknown-user');
  });
}

test('the stored credential holds neither the password nor the salted password', () => {
  const salt = Buffer.alloc(32, 7);
  const c = generateCredential('SCRAM-SHA-512', 'secret', 4096, salt);
  const salted = saltedPassword('SCRAM-SHA-512', 'secret', salt, 4096);
  assert.equal(c.storedKey.length, 64);
  assert.equal(c.serverKey.length, 64);
  for (const k of [c.storedKey, c.serverKey]) {
    assert.notDeepEqual(k, salted);
    assert.equal(k.includes(Buffer.from('secret')), false);
  }
  assert.throws(() => generateCredential('SCRAM-SHA-256', 'x', 4095), ScramError);
});

test('username escaping round-trips and rejects bad escapes', () => {
  assert.equal(escapeUsername('a,b=c'), 'a=2Cb=3Dc');
  assert.equal(unescapeUsername('a=2Cb=3Dc'), 'a,b=c');
  assert.throws(() => unescapeUsername('a=2Db'), /invalid saslname/);
  assert.throws(() => unescapeUsername('a='), /invalid saslname/);
});

test('client-first parsing: GS2 header, authzid, extensions', () => {
  const cf = parseClientFirst('n,a=bob,n=bob,r=abc,tokenauth=true');
  assert.equal(cf.authzid, 'bob');
  assert.equal(cf.username, 'bob');
  assert.equal(cf.extensions.get('tokenauth'), 'true');
  assert.equal(cf.bare, 'n=bob,r=abc,tokenauth=true');
});

test('malformed and hostile messages fail with an e= reply and never throw', () => {
  const cred = generateCredential('SCRAM-SHA-256', 'pw');
  const lookup = () => cred;
  const firsts: Array<[string | Buffer, string]> = [
    ['', 'e=invalid-encoding'],
    ['garbage', 'e=invalid-encoding'],
    ['y,,n=u,r=abc', 'e=server-does-support-channel-binding'],
    ['p=tls-unique,,n=u,r=abc', 'e=channel-binding-not-supported'],
    ['x,,n=u,r=abc', 'e=invalid-encoding'],
    ['n,,r=abc', 'e=invalid-encoding'],
    ['n,,n=u', 'e=invalid-encoding'],
    ['n,,n=,r=abc', 'e=invalid-encoding'],
    ['n,,m=ext,n=u,r=abc', 'e=extensions-not-supported'],
    ['n,,n=u=41,r=abc', 'e=invalid-username-encoding'],
    ['n,,n=u\u0001x,r=abc', 'e=invalid-encoding'],
    ['n,,n=u,r=a,b', 'e=invalid-encoding'],
    ['n,a=other,n=u,r=abc', 'e=other-error'],
    [Buffer.from([0x6e, 0x2c, 0x2c, 0xff, 0xfe]), 'e=invalid-encoding'],
  ];
  for (const [msg, reply] of firsts) {
    const s = new ScramServer('SCRAM-SHA-256', lookup);
    const r = s.step(msg);
    assert.equal(r.response.toString(), reply, `for ${JSON.stringify(msg.toString())}`);
    assert.equal(r.done, true);
    assert.ok(r.error?.message);
    assert.equal(s.step('n,,n=u,r=abc').response.toString(), 'e=other-error', 'a failed exchange stays failed');
  }

  const finals: Array<[(nonce: string) => string, string]> = [
    [(n) => `c=biws,r=${n}`, 'e=invalid-encoding'],
    [() => 'c=biws,r=wrongnonce,p=AAAA', 'e=other-error'],
    [(n) => `c=eSws,r=${n},p=AAAA`, 'e=channel-bindings-dont-match'],
    [(n) => `c=biws,r=${n},p=!!!`, 'e=invalid-encoding'],
    [(n) => `c=biws,r=${n},p=AAAA`, 'e=invalid-proof'],
    [(n) => `c=biws,r=${n},p=${Buffer.alloc(32).toString('base64')}`, 'e=invalid-proof'],
  ];
  for (const [make, reply] of finals) {
    const s = new ScramServer('SCRAM-SHA-256', lookup);
    const first = s.step('n,,n=u,r=abc').response.toString();
    const nonce = first.split(',')[0]!.slice(2);
    const r = s.step(make(nonce));
    assert.equal(r.response.toString(), reply, make(nonce));
    assert.equal(s.state, 'failed');
  }
});

test('the client rejects a bad server: nonce not extended, low iterations, wrong signature, e=', () => {
  const c1 = new ScramClient('SCRAM-SHA-256', 'u', 'pw', { clientNonce: 'abc' });
  c1.first();
  assert.throws(() => c1.final('r=xyz123,s=QUJD,i=4096'), /nonce/);
  assert.throws(() => c1.final('r=abc,s=QUJD,i=4096'), /nonce/);
  assert.throws(() => c1.final('r=abcdef,s=QUJD,i=100'), /iterations/);
  assert.throws(() => c1.final('e=other-error'), /server error/);
  assert.throws(() => c1.final('r=abcdef,s=%%%,i=4096'), /base64/);
  const c2 = new ScramClient('SCRAM-SHA-256', 'u', 'pw', { clientNonce: 'abc' });
  c2.first();
  c2.final('r=abcdef,s=QUJD,i=4096');
  assert.throws(() => c2.verify(`v=${Buffer.alloc(32).toString('base64')}`), /invalid server signature/);
  assert.throws(() => c2.verify('e=invalid-proof'), /server error/);
  assert.equal(c2.complete, false);
});

test('the server accepts a client-final nonce that repeats the client nonce in front (librdkafka does; Kafka accepts it)', async () => {
  const { createHash, createHmac } = await import('node:crypto');
  const salt = Buffer.from('0123456789abcdef');
  const cred = generateCredential('SCRAM-SHA-512', 'pw', 4096, salt);
  const s = new ScramServer('SCRAM-SHA-512', () => cred);
  const bare = 'n=u,r=cnonce';
  const serverFirst = s.step(`n,,${bare}`).response.toString();
  const serverNonce = serverFirst.split(',')[0]!.slice(2);
  const withoutProof = `c=biws,r=cnonce${serverNonce}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const salted = saltedPassword('SCRAM-SHA-512', 'pw', salt, 4096);
  const clientKey = createHmac('sha512', salted).update('Client Key').digest();
  const signature = createHmac('sha512', createHash('sha512').update(clientKey).digest()).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  const r = s.step(`${withoutProof},p=${proof.toString('base64')}`);
  assert.equal(r.error, undefined);
  assert.equal(s.authenticatedUser, 'u');
});
