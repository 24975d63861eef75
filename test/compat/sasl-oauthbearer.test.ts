/**
 * Real clients with OAUTHBEARER against the broker's JWT validation: confluent-kafka (oauth_cb) and kafka-python
 * (sasl_oauth_token_provider) produce and consume with a JWT the test signs; kafkajs over SASL with OAUTHBEARER (an oauthBearerProvider handing out JWTs the test signs with a key of the
 * broker's JWKS): produce and consume; an expired token refused; and KIP-368 re-authentication — with
 * connections.max.reauth.ms=2000 and kafkajs's reauthenticationThreshold=1000 the producer keeps producing on
 * its connections while they re-authenticate with fresh tokens. Plus kafkajs with SCRAM-SHA-512 over SASL_SSL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/server/broker.js';
import { Admin } from '../../src/client/admin.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { claims, jwks, makeKey, signJwt } from '../helpers/jwt.js';
import { run } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';
import { confluentRoundTrip, consumeValues, kafkaPythonRoundTrip, runRoundTrip } from './support/client-round-trips.js';

/** confluent-kafka with an oauth_cb handing out the token given as argv[4]; prints the values and the calls. */
const CONFLUENT = confluentRoundTrip({
  prelude: `
import time
calls = []
def oauth_cb(_config):
    calls.append(1)
    return args[0], time.time() + 3600
conf['oauth_cb'] = oauth_cb`,
  result: "{'got': sorted(got), 'calls': len(calls)}",
});

/** kafka-python with a sasl_oauth_token_provider returning the token given as argv[4]. */
const KAFKA_PYTHON = kafkaPythonRoundTrip({
  prelude: `
from kafka.oauth.abstract import AbstractTokenProvider
class Tokens(AbstractTokenProvider):
    def token(self):
        return args[0]
cfg['sasl_oauth_token_provider'] = Tokens()`,
});
const OAUTH_PYTHON = { security_protocol: 'SASL_PLAINTEXT', sasl_mechanism: 'OAUTHBEARER' };

describe('kafkajs over SASL', () => {
  let certs: TestCerts;
  let dir: string;
  let broker: RunningBroker;
  let oauth: string;
  let oauthPy: string;
  let scram: string;
  const key = makeKey('RS256', 'kafkajs-key');

  before(async () => {
    certs = makeTestCerts();
    dir = await mkdtemp(join(tmpdir(), 'tributary-kafkajs-sasl-'));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks(key)));
    broker = await startBroker({
      dataDir: join(dir, 'data'), logLevel: 'silent',
      config: {
        'num.partitions': '1',
        'group.initial.rebalance.delay.ms': 0,
        listeners: 'PLAINTEXT://127.0.0.1:0,OAUTH://127.0.0.1:0,SASL_SSL://127.0.0.1:0,OAUTHPY://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,OAUTH:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,OAUTHPY:SASL_PLAINTEXT',
        // No connections.max.reauth.ms here: librdkafka 2.0 and kafka-python 2.0 do not re-authenticate (KIP-368).
        'listener.name.oauthpy.sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.oauthpy.sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(join(dir, 'jwks.json')).href,
        'ssl.keystore.location': certs.serverKeystore,
        'listener.name.oauth.sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.oauth.sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(join(dir, 'jwks.json')).href,
        'listener.name.oauth.sasl.oauthbearer.expected.issuer': 'https://idp.test',
        'listener.name.oauth.connections.max.reauth.ms': 2000,
        'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      },
    });
    oauth = `127.0.0.1:${broker.listeners[1]!.port}`;
    scram = `127.0.0.1:${broker.listeners[2]!.port}`;
    oauthPy = `127.0.0.1:${broker.listeners[3]!.port}`;
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${broker.listeners[0]!.port}` });
    try {
      await admin.alterUserScramCredentials([{ user: 'kjs', mechanism: 'SCRAM-SHA-512', password: 'kjs-secret' }]);
    } finally {
      await admin.close();
    }
  });
  after(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
    certs?.remove();
  });

  test('OAUTHBEARER: produce and consume with an oauthBearerProvider; re-authentication keeps producing', async () => {
    let minted = 0;
    const kafka = new Kafka({
      brokers: [oauth], logLevel: logLevel.NOTHING, reauthenticationThreshold: 1000,
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => {
        minted++;
        return { value: signJwt(key, claims({ sub: 'kafkajs-app', iss: 'https://idp.test' })) };
      } },
    });
    const producer = kafka.producer();
    await producer.connect();
    // Produce until the re-authentications happened (or 4.5 s passed): the assertion below decides.
    const connectionsOpened = 2; // the bootstrap connection and the leader's
    const until = Date.now() + 4500;
    let sent = 0;
    while (Date.now() < until && minted < connectionsOpened + 2) {
      await producer.send({ topic: 'kafkajs-oauth', messages: [{ value: `m${sent}` }] });
      sent++;
      await new Promise((r) => setTimeout(r, 50));
    }
    await producer.disconnect();
    // kafkajs re-authenticates once less than reauthenticationThreshold of the 2 s session is left: with a fresh token.
    assert.ok(minted >= connectionsOpened + 2, `tokens minted: ${minted}`);
    const got = await consumeValues(kafka, 'kafkajs-oauth', sent);
    assert.equal(new Set(got).size, sent);
  });

  test('OAUTHBEARER: an expired token and a wrong issuer are refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const body of [claims({ iss: 'https://idp.test', iat: now - 7200, exp: now - 3600 }), claims({ iss: 'https://other.test' })]) {
      const kafka = new Kafka({
        brokers: [oauth], logLevel: logLevel.NOTHING, retry: { retries: 0 },
        sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: signJwt(key, body) }) },
      });
      const admin = kafka.admin();
      await assert.rejects(async () => {
        await admin.connect();
        await admin.listTopics();
      }, (err: Error) => {
        // kafkajs takes the broker's RFC 7628 error challenge (an answer without an error code) for success and goes on
        // with Metadata, which the broker — like Kafka's, still waiting for the client's 0x01 — answers by closing.
        assert.match(`${err.name} ${err.message}`, /KafkaJSConnectionClosedError|KafkaJSSASLAuthenticationError/);
        return true;
      });
      await admin.disconnect();
    }
  });

  test('confluent-kafka (oauth_cb): produce and consume with a JWT', async () => {
    const token = signJwt(key, claims({ sub: 'confluent-app' }));
    const result = await runRoundTrip<{ got: string[]; calls: number }>(CONFLUENT, oauthPy, 'confluent-oauth', { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': 'OAUTHBEARER' }, [token]);
    assert.deepEqual(result.got, ['confluent-0', 'confluent-1', 'confluent-2']);
    assert.ok(result.calls >= 1);
  });

  test('kafka-python (sasl_oauth_token_provider): produce and consume with a JWT', async () => {
    const token = signJwt(key, claims({ sub: 'kafka-python-app' }));
    assert.deepEqual(await runRoundTrip(KAFKA_PYTHON, oauthPy, 'kafka-python-oauth', OAUTH_PYTHON, [token]), ['kafka-python-0', 'kafka-python-1', 'kafka-python-2']);
  });

  test('confluent-kafka: an expired token is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(key, claims({ iat: now - 7200, exp: now - 3600 }));
    const script = `
import sys
from confluent_kafka.admin import AdminClient
errors = []
a = AdminClient({'bootstrap.servers': sys.argv[1], 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': 'OAUTHBEARER',
                 'oauth_cb': lambda _c: (sys.argv[2], 4102444800), 'error_cb': lambda e: errors.append(str(e))})
try:
    a.list_topics(timeout=5)
    print('SERVED')
except Exception as e:
    for _ in range(20):
        if errors:
            break
        a.poll(0.1)
    print('REFUSED', e, errors[:1])
`;
    const out = await run(PYTHON, ['-c', script, oauthPy, token], { timeoutMs: 30_000 });
    // librdkafka reports the broker's RFC 7628 error: _AUTHENTICATION … SASL authentication error: {"status":"invalid_token"}
    assert.match(out.stdout, /^REFUSED .*_AUTHENTICATION.*SASL authentication error: \{"status":"invalid_token"\}/m);
    assert.doesNotMatch(out.stdout, /SERVED/);
  });

  test('SCRAM-SHA-512 over SASL_SSL', async () => {
    const kafka = new Kafka({ brokers: [scram], ssl: { ca: [certs.read(certs.caCert)] }, logLevel: logLevel.NOTHING, sasl: { mechanism: 'scram-sha-512', username: 'kjs', password: 'kjs-secret' } });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kafkajs-scram', messages: [{ value: 'x' }, { value: 'y' }] });
    await producer.disconnect();
    assert.deepEqual((await consumeValues(kafka, 'kafkajs-scram', 2)).sort(), ['x', 'y']);
  });
});
