/**
 * Real clients over an SSL listener (certificates made by the test with openssl): kcat (librdkafka), kafkajs,
 * confluent-kafka, kafka-python and the tributary CLI each produce and consume; kcat also against a listener
 * with ssl.client.auth=required, with and without its client certificate. A PLAINTEXT listener runs alongside.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/server/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';
import { run } from './support/processes.js';
import { confluentRoundTrip, consumeValues, kafkaPythonRoundTrip, runRoundTrip } from './support/client-round-trips.js';

describe('clients over SSL', () => {
  let certs: TestCerts;
  let dataDir: string;
  let broker: RunningBroker;
  let ssl: string;
  let mtls: string;

  before(async () => {
    certs = makeTestCerts();
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-ssl-compat-'));
    broker = await startBroker({
      dataDir, logLevel: 'silent',
      config: {
        'num.partitions': '1',
        listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL',
        'ssl.keystore.location': certs.serverKeystore,
        'ssl.truststore.location': certs.caCert,
        'listener.name.mtls.ssl.client.auth': 'required',
      },
    });
    ssl = `127.0.0.1:${broker.listeners[1]!.port}`;
    mtls = `127.0.0.1:${broker.listeners[2]!.port}`;
  });
  after(async () => {
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
    certs?.remove();
  });

  test('kcat: metadata names the SSL endpoint; produce and consume', async () => {
    const x = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.caCert}`];
    const md = JSON.parse((await run('kcat', ['-b', ssl, ...x, '-L', '-J'], { timeoutMs: 30_000 })).stdout) as { brokers: Array<{ name: string }> };
    assert.deepEqual(md.brokers.map((b) => b.name), [ssl]);
    await run('kcat', ['-b', ssl, ...x, '-P', '-t', 'kcat-ssl', '-K', ':'], { input: 'a:1\nb:2\nc:3\n', timeoutMs: 30_000 });
    const out = await run('kcat', ['-b', ssl, ...x, '-C', '-t', 'kcat-ssl', '-o', 'beginning', '-e', '-q', '-f', '%k=%s\\n'], { timeoutMs: 30_000 });
    assert.deepEqual(out.stdout.split('\n').filter(Boolean), ['a=1', 'b=2', 'c=3']);
  });

  test('kcat: ssl.client.auth=required refuses a client without a certificate and serves one with', async () => {
    const x = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.caCert}`];
    await assert.rejects(run('kcat', ['-b', mtls, ...x, '-L', '-m', '5'], { timeoutMs: 30_000 }));
    const withCert = [...x, '-X', `ssl.certificate.location=${certs.clientCert}`, '-X', `ssl.key.location=${certs.clientKey}`];
    const md = JSON.parse((await run('kcat', ['-b', mtls, ...withCert, '-L', '-J'], { timeoutMs: 30_000 })).stdout) as { brokers: Array<{ name: string }> };
    assert.deepEqual(md.brokers.map((b) => b.name), [mtls]);
  });

  test('kafkajs: produce and consume with ssl: { ca }', async () => {
    const kafka = new Kafka({ brokers: [ssl], ssl: { ca: [certs.read(certs.caCert)] }, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kafkajs-ssl', messages: [0, 1, 2].map((i) => ({ key: `k${i}`, value: `kafkajs-${i}` })) });
    await producer.disconnect();
    assert.deepEqual((await consumeValues(kafka, 'kafkajs-ssl', 3)).sort(), ['kafkajs-0', 'kafkajs-1', 'kafkajs-2']);
  });

  test('confluent-kafka: produce and consume; with a client certificate on the mTLS listener too', async () => {
    const settings = { 'security.protocol': 'ssl', 'ssl.ca.location': certs.caCert };
    assert.deepEqual(await runRoundTrip(confluentRoundTrip(), ssl, 'confluent-ssl', settings), ['confluent-0', 'confluent-1', 'confluent-2']);
    const mutual = { ...settings, 'ssl.certificate.location': certs.clientCert, 'ssl.key.location': certs.clientKey };
    assert.deepEqual(await runRoundTrip(confluentRoundTrip(), mtls, 'confluent-mtls', mutual), ['confluent-0', 'confluent-1', 'confluent-2']);
  });

  test('kafka-python: produce and consume; with a client certificate on the mTLS listener too', async () => {
    const settings = { security_protocol: 'SSL', ssl_cafile: certs.caCert, ssl_check_hostname: true };
    assert.deepEqual(await runRoundTrip(kafkaPythonRoundTrip(), ssl, 'kafka-python-ssl', settings), ['kafka-python-0', 'kafka-python-1', 'kafka-python-2']);
    const mutual = { ...settings, ssl_certfile: certs.clientCert, ssl_keyfile: certs.clientKey };
    assert.deepEqual(await runRoundTrip(kafkaPythonRoundTrip(), mtls, 'kafka-python-mtls', mutual), ['kafka-python-0', 'kafka-python-1', 'kafka-python-2']);
  });

  test('tributary CLI: -X security.protocol=SSL -X ssl.ca.location=…, and the client certificate on the mTLS listener', async () => {
    const x = ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${certs.caCert}`];
    const produced = await runCli(['produce', '-b', ssl, ...x, '-t', 'cli-ssl', '-K', ':'], { input: 'k1:one\nk2:two\n', timeoutMs: 30_000 });
    assert.equal(produced.code, 0, produced.stderr);
    const consumed = await runCli(['consume', '-b', ssl, ...x, '-t', 'cli-ssl', '--json'], { timeoutMs: 30_000 });
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.deepEqual(consumed.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { value: string }).value), ['one', 'two']);
    const refused = await runCli(['consume', '-b', mtls, ...x, '-X', 'retries=0', '-t', 'cli-ssl', '--json'], { timeoutMs: 30_000 });
    assert.equal(refused.code, 1);
    const withCert = await runCli(['consume', '-b', mtls, ...x, '-X', `ssl.certificate.location=${certs.clientCert}`, '-X', `ssl.key.location=${certs.clientKey}`, '-t', 'cli-ssl', '--json'], { timeoutMs: 30_000 });
    assert.equal(withCert.code, 0, withCert.stderr);
    assert.equal(withCert.stdout.split('\n').filter(Boolean).length, 2);
  });
});
