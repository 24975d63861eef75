/**
 * The own client over SASL against the broker: PLAIN on SASL_PLAINTEXT, SCRAM-SHA-256 and SCRAM-SHA-512 on
 * SASL_SSL, OAUTHBEARER with JWTs validated against a JWKS file (valid, expired, wrong key, wrong audience), and
 * KIP-368 re-authentication under a short connections.max.reauth.ms while producing. Failures are refused at once
 * with Kafka's error names, not retried.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startBroker, type RunningBroker } from '../../../src/server/broker.js';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumer } from '../../../src/client/consumer.js';
import { Connection } from '../../../src/client/connection.js';
import { ProtocolError } from '../../../src/client/errors.js';
import type { SaslOptions } from '../../../src/client/sasl.js';
import { MetadataRequest } from '../../../src/protocol/generated/metadata-request.js';
import { MetadataResponse } from '../../../src/protocol/generated/metadata-response.js';
import { FetchRequest } from '../../../src/protocol/generated/fetch-request.js';
import { FetchResponse } from '../../../src/protocol/generated/fetch-response.js';
import type { AuditEvent, AuditSink } from '../../../src/security/audit.js';
import { makeTestCerts, type TestCerts } from '../../helpers/certs.js';
import { claims, jwks, makeKey, signJwt, unsignedJwt } from '../../helpers/jwt.js';

const PLAIN_JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_bob="bob-secret";';
const REAUTH_MS = 1000;

describe('the own client over SASL', () => {
  let certs: TestCerts;
  let dataDir: string;
  let broker: RunningBroker;
  const key = makeKey('RS256', 'idp-1');
  const stranger = makeKey('RS256', 'idp-1');
  const addr: Record<string, string> = {};
  const audit: AuditEvent[] = [];
  let ssl: { ca: string };

  before(async () => {
    certs = makeTestCerts();
    ssl = { ca: certs.read(certs.caCert) };
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-sasl-client-'));
    const jwksFile = join(dataDir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(jwks(makeKey('ES256', 'other'), key)));
    broker = await startBroker({
      dataDir, logLevel: 'silent',
      config: {
        listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,OAUTH://127.0.0.1:0,OAUTHLONG://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,OAUTH:SASL_PLAINTEXT,OAUTHLONG:SASL_PLAINTEXT',
        'ssl.keystore.location': certs.serverKeystore,
        'listener.name.sasl_plaintext.sasl.enabled.mechanisms': 'PLAIN',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
        'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-512,SCRAM-SHA-256',
        'listener.name.oauth.sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.oauth.sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(jwksFile).href,
        'listener.name.oauth.sasl.oauthbearer.expected.audience': 'kafka',
        'listener.name.oauth.connections.max.reauth.ms': String(REAUTH_MS),
        // No connections.max.reauth.ms here: the session lasts as long as the token.
        'listener.name.oauthlong.sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.oauthlong.sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(jwksFile).href,
        'num.partitions': 1,
        'group.initial.rebalance.delay.ms': 0,
      },
    });
    for (const l of broker.listeners) addr[l.name] = `127.0.0.1:${l.port}`;
    // Record the broker's audit events (the default sink drops them).
    (broker.context as { audit: AuditSink }).audit = { record: (e) => audit.push(e) };
    const admin = new Admin({ bootstrapServers: addr.PLAINTEXT! });
    try {
      const results = await admin.alterUserScramCredentials([
        { user: 'carol', mechanism: 'SCRAM-SHA-512', password: 'carol-512' },
        { user: 'carol', mechanism: 'SCRAM-SHA-256', password: 'carol-256' },
      ]);
      assert.deepEqual(results.map((r) => r.error), [null]);
    } finally {
      await admin.close();
    }
  });
  after(async () => {
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
    certs?.remove();
  });

  async function roundTrip(bootstrapServers: string, sasl: SaslOptions, topic: string, withSsl = false): Promise<void> {
    const common = { bootstrapServers, sasl, ...(withSsl ? { ssl } : {}) };
    const producer = new Producer(common);
    const consumer = new Consumer({ ...common, groupId: `g-${topic}`, autoOffsetReset: 'earliest' });
    try {
      await producer.sendBatch([1, 2, 3].map((i) => ({ topic, key: `k${i}`, value: `v${i}` })));
      await consumer.subscribe([topic]);
      const got: string[] = [];
      const deadline = Date.now() + 10_000;
      while (got.length < 3 && Date.now() < deadline) for (const r of await consumer.poll(300)) got.push(r.value!.toString());
      assert.deepEqual(got.sort(), ['v1', 'v2', 'v3']);
    } finally {
      await producer.close();
      await consumer.close();
    }
  }

  async function refused(bootstrapServers: string, sasl: SaslOptions, error: string, message: RegExp, withSsl = false): Promise<void> {
    const admin = new Admin({ bootstrapServers, sasl, ...(withSsl ? { ssl } : {}) });
    const started = Date.now();
    try {
      await assert.rejects(admin.listTopics(), (err: unknown) => {
        assert.ok(err instanceof ProtocolError, String(err));
        assert.equal(err.code, `ERR_KAFKA_${error}`);
        assert.equal(err.retriable, false);
        assert.match(err.message, message);
        return true;
      });
      // Default retries are 10 with backoff: an authentication failure must not go through them.
      assert.ok(Date.now() - started < 3000, `refused after ${Date.now() - started} ms`);
    } finally {
      await admin.close();
    }
  }

  test('SASL_PLAINTEXT with PLAIN: produce and consume; wrong password and unknown mechanism refused', async () => {
    await roundTrip(addr.SASL_PLAINTEXT!, { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' }, 'plain-topic');
    await refused(addr.SASL_PLAINTEXT!, { mechanism: 'PLAIN', username: 'alice', password: 'wrong' }, 'SASL_AUTHENTICATION_FAILED', /SASL_AUTHENTICATION_FAILED \(.*Invalid username or password/);
    await refused(addr.SASL_PLAINTEXT!, { mechanism: 'SCRAM-SHA-512', username: 'carol', password: 'carol-512' }, 'UNSUPPORTED_SASL_MECHANISM', /does not enable SCRAM-SHA-512; it enables PLAIN/);
    // SASL to a PLAINTEXT listener: refused at the handshake, with a hint.
    await refused(addr.PLAINTEXT!, { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' }, 'ILLEGAL_SASL_STATE', /does not take SASL on this listener/);
  });

  test('SASL_SSL with SCRAM-SHA-512 and SCRAM-SHA-256: produce and consume; wrong password refused', async () => {
    await roundTrip(addr.SASL_SSL!, { mechanism: 'SCRAM-SHA-512', username: 'carol', password: 'carol-512' }, 'scram512-topic', true);
    await roundTrip(addr.SASL_SSL!, { mechanism: 'SCRAM-SHA-256', username: 'carol', password: 'carol-256' }, 'scram256-topic', true);
    await refused(addr.SASL_SSL!, { mechanism: 'SCRAM-SHA-512', username: 'carol', password: 'carol-256' }, 'SASL_AUTHENTICATION_FAILED', /invalid credentials with SASL mechanism SCRAM-SHA-512/, true);
    await refused(addr.SASL_SSL!, { mechanism: 'SCRAM-SHA-256', username: 'nobody', password: 'x' }, 'SASL_AUTHENTICATION_FAILED', /invalid credentials/, true);
  });

  test('OAUTHBEARER: a valid JWT works; expired, wrong key, wrong audience and unsigned tokens are refused', async () => {
    const good = (): string => signJwt(key, claims({ aud: 'kafka', sub: 'svc-orders' }));
    await roundTrip(addr.OAUTH!, { mechanism: 'OAUTHBEARER', token: good }, 'oauth-topic');
    assert.ok(audit.some((e) => e.type === 'authentication' && e.result === 'success' && e.principal === 'User:svc-orders' && e.details?.mechanism === 'OAUTHBEARER'));
    const now = Math.floor(Date.now() / 1000);
    const invalid = /SASL_AUTHENTICATION_FAILED \(\{"status":"invalid_token"\}\)/;
    await refused(addr.OAUTH!, { mechanism: 'OAUTHBEARER', token: signJwt(key, claims({ aud: 'kafka', iat: now - 7200, exp: now - 3600 })) }, 'SASL_AUTHENTICATION_FAILED', invalid);
    audit.length = 0;
    await refused(addr.OAUTH!, { mechanism: 'OAUTHBEARER', token: signJwt(stranger, claims({ aud: 'kafka', sub: 'mallory' })) }, 'SASL_AUTHENTICATION_FAILED', invalid);
    const failure = audit.find((e) => e.type === 'authentication' && e.result === 'failure');
    assert.equal(failure?.listener, 'OAUTH');
    assert.deepEqual(failure?.details, { mechanism: 'OAUTHBEARER', reason: '{"status":"invalid_token"}', user: 'mallory' });
    await refused(addr.OAUTH!, { mechanism: 'OAUTHBEARER', token: signJwt(key, claims({ aud: 'web' })) }, 'SASL_AUTHENTICATION_FAILED', invalid);
    await refused(addr.OAUTH!, { mechanism: 'OAUTHBEARER', token: unsignedJwt(claims({ aud: 'kafka' })) }, 'SASL_AUTHENTICATION_FAILED', invalid);
    await refused(addr.OAUTH!, { mechanism: 'OAUTHBEARER', token: 'not-a-jwt' }, 'SASL_AUTHENTICATION_FAILED', invalid);
    // A PLAIN-only listener does not take OAUTHBEARER.
    await refused(addr.SASL_PLAINTEXT!, { mechanism: 'OAUTHBEARER', token: good }, 'UNSUPPORTED_SASL_MECHANISM', /it enables PLAIN/);
  });

  test('KIP-368: the connection re-authenticates before connections.max.reauth.ms and keeps serving', async () => {
    let minted = 0;
    const token = (): string => {
      minted++;
      return signJwt(key, claims({ aud: 'kafka', sub: 'svc-reauth' }));
    };
    const [host, port] = addr.OAUTH!.split(':');
    const conn = await Connection.connect(host!, Number(port), { sasl: { mechanism: 'OAUTHBEARER', token } });
    try {
      const first = conn.reauthenticateAtMs;
      assert.ok(first > Date.now() && first <= Date.now() + REAUTH_MS, `re-authentication planned at +${first - Date.now()} ms`);
      const until = Date.now() + 2.5 * REAUTH_MS;
      let requests = 0;
      while (Date.now() < until) {
        // Several requests in flight at once: the re-authentication waits for them and holds the next ones.
        const answers = await Promise.all([0, 1, 2].map(() => conn.send(MetadataRequest, MetadataResponse, { topics: [] })));
        assert.equal(answers.length, 3);
        requests += 3;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(conn.closed, false);
      assert.ok(conn.reauthentications >= 2, `re-authenticated ${conn.reauthentications} times in ${requests} requests`);
      assert.equal(minted, conn.reauthentications + 1, 'a fresh token for every re-authentication');
    } finally {
      conn.close();
    }

    // The producer keeps producing across several re-authentications.
    const producer = new Producer({ bootstrapServers: addr.OAUTH!, sasl: { mechanism: 'OAUTHBEARER', token }, lingerMs: 0 });
    let sent = 0;
    try {
      const until = Date.now() + 2.5 * REAUTH_MS;
      while (Date.now() < until) {
        // Several idempotent Produce requests in flight across each re-authentication: they must stay in order
        // (an out-of-order sequence would fail with OUT_OF_ORDER_SEQUENCE_NUMBER).
        await Promise.all([0, 1, 2, 3, 4].map(() => producer.send({ topic: 'reauth-topic', value: `m${sent++}` })));
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(sent >= 40, `sent ${sent}`);
    } finally {
      await producer.close();
    }
    const consumer = new Consumer({ bootstrapServers: addr.PLAINTEXT!, groupId: 'reauth-check', autoOffsetReset: 'earliest' });
    try {
      await consumer.subscribe(['reauth-topic']);
      const got = new Set<string>();
      const deadline = Date.now() + 10_000;
      while (got.size < sent && Date.now() < deadline) for (const r of await consumer.poll(300)) got.add(r.value!.toString());
      assert.equal(got.size, sent);
    } finally {
      await consumer.close();
    }
  });

  test('KIP-368: re-authentication waits for the requests in flight and sends the held ones in order', async () => {
    const producer = new Producer({ bootstrapServers: addr.PLAINTEXT! });
    await producer.send({ topic: 'gate-topic', value: 'x' });
    await producer.close();
    const [host, port] = addr.OAUTH!.split(':');
    const conn = await Connection.connect(host!, Number(port), { sasl: { mechanism: 'OAUTHBEARER', token: () => signJwt(key, claims({ aud: 'kafka' })) } });
    const sleepUntil = (t: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
    try {
      const reauthAt = conn.reauthenticateAtMs;
      await sleepUntil(reauthAt - 150);
      const order: string[] = [];
      // A long poll at the end of the log, in flight when the re-authentication falls due.
      const fetch = conn.send(FetchRequest, FetchResponse, {
        replicaId: -1, maxWaitMs: 400, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 'gate-topic', partitions: [{ partition: 0, fetchOffset: 1n, partitionMaxBytes: 1 << 20 }] }],
      }, { maxVersion: 12 }).then(() => order.push('fetch'));
      await sleepUntil(reauthAt + 10);
      assert.equal(conn.inFlight, 1, 'the fetch is still waiting');
      const held = [1, 2, 3].map((i) => conn.send(MetadataRequest, MetadataResponse, { topics: [] }).then(() => order.push(`m${i}`)));
      assert.equal(conn.inFlight, 1, 'the next requests are held, not sent');
      await Promise.all([fetch, ...held]);
      assert.deepEqual(order, ['fetch', 'm1', 'm2', 'm3']);
      assert.equal(conn.reauthentications, 1);
      assert.ok(conn.reauthenticateAtMs > reauthAt);
    } finally {
      conn.close();
    }
  });

  test('the token\'s exp caps the session: the client plans re-authentication within its lifetime', async () => {
    const now = Math.floor(Date.now() / 1000);
    const connect = async (listener: string, exp: number): Promise<number> => {
      const [host, port] = addr[listener]!.split(':');
      const conn = await Connection.connect(host!, Number(port), { sasl: { mechanism: 'OAUTHBEARER', token: signJwt(key, claims({ aud: 'kafka', exp })) } });
      const at = conn.reauthenticateAtMs - Date.now();
      conn.close();
      return at;
    };
    // Token exp in 20 s on a listener without connections.max.reauth.ms: 85-95 % of about 20 s.
    const long = await connect('OAUTHLONG', now + 20);
    assert.ok(long > 12_000 && long <= 20_000, `re-authentication planned at +${long} ms`);
    // With connections.max.reauth.ms=1 s the shorter of the two wins.
    assert.ok((await connect('OAUTH', now + 20)) <= REAUTH_MS);
  });
});
