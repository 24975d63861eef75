/**
 * Real clients over SASL: SASL_SSL with SCRAM-SHA-512 (credentials in the broker's store, TLS certificates made
 * by the test with openssl) and SASL_PLAINTEXT with PLAIN (users in the listener's JAAS config). kcat and
 * confluent-kafka (librdkafka, SaslAuthenticate), kafka-python 2.0.2 (the legacy v0 raw-token flow) and kafkajs
 * each produce and consume on both; wrong password, unknown user and a mechanism the listener does not enable
 * are refused with Kafka's errors, and nothing is served to them. kafkajs also re-authenticates mid-stream
 * (KIP-368) on a listener with connections.max.reauth.ms.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/server/broker.js';
import type { AuditEvent } from '../../src/security/audit.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { addScramUser, plainJaas } from '../helpers/sasl.js';
import { run } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';
import { confluentRoundTrip, consumeValues, kafkaPythonRoundTrip, runRoundTrip } from './support/client-round-trips.js';

const CONFLUENT_REFUSED = `
import sys, json
from confluent_kafka.admin import AdminClient
conf = {'bootstrap.servers': sys.argv[1], **json.loads(sys.argv[2])}
errors = []
conf['error_cb'] = lambda e: errors.append(e.str())
a = AdminClient(conf)
try:
    a.list_topics(timeout=4)
    print(json.dumps({'served': True, 'errors': errors}))
except Exception as e:
    print(json.dumps({'served': False, 'errors': errors + [str(e)]}))
`;

const KAFKA_PYTHON_REFUSED = `
import sys, json
from kafka import KafkaConsumer
try:
    c = KafkaConsumer(bootstrap_servers=sys.argv[1], request_timeout_ms=3000, api_version_auto_timeout_ms=3000, **json.loads(sys.argv[2]))
    print(json.dumps({'served': True, 'topics': sorted(c.topics())}))
except Exception as e:
    print(json.dumps({'served': False, 'error': type(e).__name__}))
`;

describe('clients over SASL', () => {
  let certs: TestCerts;
  let dataDir: string;
  let broker: RunningBroker;
  let saslSsl: string;
  let saslPlain: string;
  let reauth: string;
  const events: AuditEvent[] = [];

  before(async () => {
    certs = makeTestCerts();
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-sasl-compat-'));
    broker = await startBroker({
      dataDir, logLevel: 'silent',
      config: {
        'num.partitions': '1',
        listeners: 'SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,REAUTH://127.0.0.1:0',
        'listener.security.protocol.map': 'SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,REAUTH:SASL_PLAINTEXT',
        'listener.name.reauth.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'listener.name.reauth.connections.max.reauth.ms': '1000',
        'ssl.keystore.location': certs.serverKeystore,
        'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'listener.name.sasl_plaintext.sasl.enabled.mechanisms': 'PLAIN',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config': plainJaas({ alice: 'alice-secret' }),
      },
    });
    (broker.context as { audit: unknown }).audit = { record: (e: AuditEvent) => events.push(e) };
    await addScramUser(broker.context, 'scram-user', 'scram-secret', ['SCRAM-SHA-512']);
    saslSsl = `127.0.0.1:${broker.listeners[0]!.port}`;
    saslPlain = `127.0.0.1:${broker.listeners[1]!.port}`;
    reauth = `127.0.0.1:${broker.listeners[2]!.port}`;
  });
  after(async () => {
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
    certs?.remove();
  });

  const rdScram = (user: string, pw: string) => ({ 'security.protocol': 'sasl_ssl', 'ssl.ca.location': certs.caCert, 'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': user, 'sasl.password': pw });
  const rdPlain = (user: string, pw: string) => ({ 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': 'PLAIN', 'sasl.username': user, 'sasl.password': pw });
  const kcatArgs = (conf: Record<string, string>) => Object.entries(conf).flatMap(([k, v]) => ['-X', `${k}=${v}`]);

  test('kcat: SCRAM-SHA-512 over SASL_SSL and PLAIN over SASL_PLAINTEXT, produce and consume', async () => {
    for (const [bootstrap, conf, topic] of [[saslSsl, rdScram('scram-user', 'scram-secret'), 'kcat-scram'], [saslPlain, rdPlain('alice', 'alice-secret'), 'kcat-plain']] as const) {
      const x = kcatArgs(conf);
      await run('kcat', ['-b', bootstrap, ...x, '-P', '-t', topic, '-K', ':'], { input: 'a:1\nb:2\nc:3\n', timeoutMs: 30_000 });
      const out = await run('kcat', ['-b', bootstrap, ...x, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k=%s\\n'], { timeoutMs: 30_000 });
      assert.deepEqual(out.stdout.split('\n').filter(Boolean), ['a=1', 'b=2', 'c=3'], topic);
    }
    assert.ok(events.some((e) => e.result === 'success' && e.principal === 'User:scram-user' && e.details?.mechanism === 'SCRAM-SHA-512'));
    assert.ok(events.some((e) => e.result === 'success' && e.principal === 'User:alice' && e.details?.mechanism === 'PLAIN'));
  });

  test('kcat: wrong password, unknown user, wrong mechanism are refused with the broker error; no metadata served', async () => {
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      [saslSsl, rdScram('scram-user', 'wrong'), /SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/],
      [saslSsl, rdScram('nobody', 'x'), /invalid credentials with SASL mechanism SCRAM-SHA-512/],
      [saslPlain, rdPlain('alice', 'wrong'), /SASL authentication error: Authentication failed: Invalid username or password/],
      [saslSsl, { ...rdScram('scram-user', 'scram-secret'), 'sasl.mechanisms': 'SCRAM-SHA-256' }, /Unsupported SASL mechanism.*SCRAM-SHA-512/i],
    ];
    for (const [bootstrap, conf, expected] of cases) {
      const r = await run('kcat', ['-b', bootstrap, ...kcatArgs(conf), '-L', '-m', '3'], { timeoutMs: 30_000, allowFailure: true });
      assert.notEqual(r.code, 0, `${JSON.stringify(conf)} was served: ${r.stdout}`);
      assert.doesNotMatch(r.stdout, /broker 1 at/);
      assert.match(r.stderr, expected);
    }
  });

  test('confluent-kafka: SCRAM-SHA-512 over SASL_SSL and PLAIN, produce and consume; a wrong password is refused', async () => {
    for (const [bootstrap, conf, topic] of [[saslSsl, rdScram('scram-user', 'scram-secret'), 'confluent-scram'], [saslPlain, rdPlain('alice', 'alice-secret'), 'confluent-plain']] as const) {
      assert.deepEqual(await runRoundTrip(confluentRoundTrip(), bootstrap, topic, conf), ['confluent-0', 'confluent-1', 'confluent-2'], topic);
    }
    const refused = await run(PYTHON, ['-c', CONFLUENT_REFUSED, saslSsl, JSON.stringify(rdScram('scram-user', 'wrong'))], { timeoutMs: 30_000 });
    const r = JSON.parse(refused.stdout.trim().split('\n').pop()!) as { served: boolean; errors: string[] };
    assert.equal(r.served, false);
    // librdkafka logs the broker's SaslAuthenticate error message.
    assert.match(refused.stderr, /SASL authentication error: Authentication failed during authentication due to invalid credentials/);
  });

  test('kafka-python 2.0.2 (SaslHandshake v0, raw tokens): SCRAM-SHA-512 over SASL_SSL and PLAIN; wrong password refused', async () => {
    const scram = { security_protocol: 'SASL_SSL', ssl_cafile: certs.caCert, sasl_mechanism: 'SCRAM-SHA-512', sasl_plain_username: 'scram-user', sasl_plain_password: 'scram-secret' };
    const plain = { security_protocol: 'SASL_PLAINTEXT', sasl_mechanism: 'PLAIN', sasl_plain_username: 'alice', sasl_plain_password: 'alice-secret' };
    for (const [bootstrap, conf, topic] of [[saslSsl, scram, 'kp-scram'], [saslPlain, plain, 'kp-plain']] as const) {
      assert.deepEqual(await runRoundTrip(kafkaPythonRoundTrip(), bootstrap, topic, conf), ['kafka-python-0', 'kafka-python-1', 'kafka-python-2'], topic);
    }
    for (const [bootstrap, conf] of [[saslSsl, { ...scram, sasl_plain_password: 'wrong' }], [saslPlain, { ...plain, sasl_plain_username: 'nobody' }]] as const) {
      const refused = await run(PYTHON, ['-c', KAFKA_PYTHON_REFUSED, bootstrap, JSON.stringify(conf)], { timeoutMs: 30_000 });
      assert.deepEqual(JSON.parse(refused.stdout.trim().split('\n').pop()!), { served: false, error: 'NoBrokersAvailable' });
    }
  });

  test('kafkajs: scram-sha-512 over SASL_SSL and plain, produce and consume; wrong password and mechanism refused', async () => {
    const configs = [
      { brokers: [saslSsl], ssl: { ca: [certs.read(certs.caCert)] }, sasl: { mechanism: 'scram-sha-512' as const, username: 'scram-user', password: 'scram-secret' }, topic: 'kafkajs-scram' },
      { brokers: [saslPlain], ssl: false, sasl: { mechanism: 'plain' as const, username: 'alice', password: 'alice-secret' }, topic: 'kafkajs-plain' },
    ];
    for (const { topic, ...cfg } of configs) {
      const kafka = new Kafka({ ...cfg, logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [0, 1, 2].map((i) => ({ value: `kafkajs-${i}` })) });
      await producer.disconnect();
      assert.deepEqual((await consumeValues(kafka, topic, 3)).sort(), ['kafkajs-0', 'kafkajs-1', 'kafkajs-2'], topic);
    }
    const refused = async (cfg: object, expected: RegExp): Promise<void> => {
      const admin = new Kafka({ ...configs[0]!, ...cfg, retry: { retries: 0 }, logLevel: logLevel.NOTHING } as never).admin();
      await assert.rejects(admin.connect(), (e: Error) => expected.test(`${e.name}: ${e.message}`));
      await admin.disconnect();
    };
    await refused({ sasl: { mechanism: 'scram-sha-512', username: 'scram-user', password: 'wrong' } }, /SASL.*(invalid credentials|Authentication failed)/i);
    await refused({ sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' } }, /does not support the requested SASL mechanism/);
  });

  test('kafkajs re-authenticates on the same connection (KIP-368, connections.max.reauth.ms=1000) and keeps producing', async () => {
    const kafka = new Kafka({ brokers: [reauth], sasl: { mechanism: 'scram-sha-512', username: 'scram-user', password: 'scram-secret' }, reauthenticationThreshold: 400, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const before = events.length;
    for (let i = 0; i < 6; i++) {
      await producer.send({ topic: 'kafkajs-reauth', messages: [{ value: `m${i}` }] });
      await new Promise((r) => setTimeout(r, 400));
    }
    await producer.disconnect();
    const ev = events.slice(before);
    assert.equal(ev.filter((e) => e.result === 'failure').length, 0);
    assert.ok(ev.some((e) => e.result === 'success' && e.details?.reauthentication === true), JSON.stringify(ev));
  });
});
