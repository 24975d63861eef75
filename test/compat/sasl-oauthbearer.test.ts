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

const CONFLUENT = `
import sys, json, time
from confluent_kafka import Producer, Consumer
bootstrap, topic, token = sys.argv[1], sys.argv[2], sys.argv[3]
calls = []
def oauth_cb(_config):
    calls.append(1)
    return token, time.time() + 3600
conf = {'bootstrap.servers': bootstrap, 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': 'OAUTHBEARER', 'oauth_cb': oauth_cb}
p = Producer(conf)
for i in range(3):
    p.produce(topic, value=b'confluent-%d' % i)
assert p.flush(15) == 0
c = Consumer({**conf, 'group.id': 'confluent-oauth', 'auto.offset.reset': 'earliest'})
c.subscribe([topic])
got = []
for _ in range(60):
    m = c.poll(0.5)
    if m is not None and m.error() is None:
        got.append(m.value().decode())
    if len(got) >= 3:
        break
c.close()
print(json.dumps({'got': sorted(got), 'calls': len(calls)}))
`;

const KAFKA_PYTHON = `
import sys, json
from kafka import KafkaProducer, KafkaConsumer
from kafka.oauth.abstract import AbstractTokenProvider
bootstrap, topic, token = sys.argv[1], sys.argv[2], sys.argv[3]
class Tokens(AbstractTokenProvider):
    def token(self):
        return token
conf = dict(bootstrap_servers=bootstrap, security_protocol='SASL_PLAINTEXT', sasl_mechanism='OAUTHBEARER', sasl_oauth_token_provider=Tokens())
p = KafkaProducer(acks='all', request_timeout_ms=10000, **conf)
for i in range(3):
    p.send(topic, value=b'kafka-python-%d' % i).get(timeout=15)
p.close()
c = KafkaConsumer(topic, auto_offset_reset='earliest', consumer_timeout_ms=10000, **conf)
got = []
for m in c:
    got.append(m.value.decode())
    if len(got) >= 3:
        break
c.close()
print(json.dumps(sorted(got)))
`;

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

  async function consumeAll(kafka: Kafka, topic: string, count: number): Promise<string[]> {
    const consumer = kafka.consumer({ groupId: `g-${topic}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out with ${got.length} of ${count}`)), 15_000);
        void consumer.run({ eachMessage: async ({ message }) => {
          got.push(message.value!.toString());
          if (got.length === count) { clearTimeout(timer); resolve(); }
        } });
      });
    } finally {
      await consumer.disconnect();
    }
    return got;
  }

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
    const until = Date.now() + 4500;
    let sent = 0;
    while (Date.now() < until) {
      await producer.send({ topic: 'kafkajs-oauth', messages: [{ value: `m${sent}` }] });
      sent++;
      await new Promise((r) => setTimeout(r, 50));
    }
    await producer.disconnect();
    // kafkajs re-authenticates once less than reauthenticationThreshold of the 2 s session is left: with a fresh token.
    const connectionsOpened = 2; // the bootstrap connection and the leader's
    assert.ok(minted >= connectionsOpened + 2, `tokens minted: ${minted}`);
    const got = await consumeAll(kafka, 'kafkajs-oauth', sent);
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
    const out = await run(PYTHON, ['-c', CONFLUENT, oauthPy, 'confluent-oauth', token], { timeoutMs: 60_000 });
    const result = JSON.parse(out.stdout.trim().split('\n').pop()!) as { got: string[]; calls: number };
    assert.deepEqual(result.got, ['confluent-0', 'confluent-1', 'confluent-2']);
    assert.ok(result.calls >= 1);
  });

  test('kafka-python (sasl_oauth_token_provider): produce and consume with a JWT', async () => {
    const token = signJwt(key, claims({ sub: 'kafka-python-app' }));
    const out = await run(PYTHON, ['-c', KAFKA_PYTHON, oauthPy, 'kafka-python-oauth', token], { timeoutMs: 60_000 });
    assert.deepEqual(JSON.parse(out.stdout.trim().split('\n').pop()!), ['kafka-python-0', 'kafka-python-1', 'kafka-python-2']);
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
    assert.deepEqual((await consumeAll(kafka, 'kafkajs-scram', 2)).sort(), ['x', 'y']);
  });
});
