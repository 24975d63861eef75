/**
 * Several listeners and TLS: a PLAINTEXT and an SSL listener at once, each answering with its own endpoints;
 * the own client over SSL (with and without a client certificate); refusals (untrusted broker, missing client
 * certificate, plaintext bytes to the TLS port) never take the broker down; certificates reloaded from disk.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync, renameSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/server/broker.js';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumer } from '../../../src/client/consumer.js';
import { resolveListeners } from '../../../src/server/listeners.js';
import { resolveBrokerConfig } from '../../../src/server/config.js';
import { subjectOf } from '../../../src/server/tls.js';
import { parsePrincipalMappingRules } from '../../../src/security/ssl-principal-mapper.js';
import { makeTestCerts, type TestCerts } from '../../helpers/certs.js';
import { RawClient } from '../../helpers/raw-client.js';

const plan = (cfg: Record<string, string>) => resolveListeners(resolveBrokerConfig({ overrides: cfg }).values);

describe('listener configuration', () => {
  test('several listeners, the default protocol map, advertised endpoints and the inter-broker listener', () => {
    const p = plan({
      listeners: 'PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093,INTERNAL://127.0.0.1:9094',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,INTERNAL:SSL',
      'advertised.listeners': 'SSL://broker.example:443',
      'inter.broker.listener.name': 'internal',
    });
    assert.deepEqual(p.bind.map((l) => `${l.name}:${l.securityProtocol}:${l.port}`), ['PLAINTEXT:PLAINTEXT:9092', 'SSL:SSL:9093', 'INTERNAL:SSL:9094']);
    assert.deepEqual(p.advertised.map((l) => `${l.name}://${l.host}:${l.port}`), ['PLAINTEXT://127.0.0.1:0', 'SSL://broker.example:443', 'INTERNAL://127.0.0.1:0']);
    assert.equal(p.interBrokerListener, 'INTERNAL');
    assert.equal(plan({ 'security.inter.broker.protocol': 'SSL' }).interBrokerListener, 'SSL');
    assert.equal(plan({}).interBrokerListener, 'PLAINTEXT');
  });

  test('bad listener configurations are refused with the key at fault', () => {
    assert.throws(() => plan({ listeners: 'FOO://127.0.0.1:1' }), /no security protocol defined for listener FOO/);
    assert.throws(() => plan({ listeners: 'PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2' }), /PLAINTEXT appears twice/);
    assert.throws(() => plan({ listeners: 'PLAINTEXT://127.0.0.1:1,SSL://127.0.0.1:1' }), /different port/);
    assert.throws(() => plan({ listeners: 'PLAINTEXT://127.0.0.1:1', 'advertised.listeners': 'SSL://h:2' }), /not one of the listeners/);
    assert.throws(() => plan({ listeners: 'PLAINTEXT://127.0.0.1:1', 'advertised.listeners': 'PLAINTEXT://0.0.0.0:1' }), /routable/);
    assert.throws(() => plan({ 'inter.broker.listener.name': 'PLAINTEXT', 'security.inter.broker.protocol': 'PLAINTEXT' }), /Only one of/);
    assert.throws(() => plan({ listeners: 'nonsense' }), /expected NAME:\/\/host:port/);
  });

  test('a SASL_SSL listener needs the SSL keys too (SASL runs inside TLS)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-sasl-'));
    try {
      await assert.rejects(startBroker({ dataDir, logLevel: 'silent', config: { listeners: 'SASL_SSL://127.0.0.1:0' } }), /SSL listener SASL_SSL needs a key and certificate/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('ssl.client.auth applies to a SASL_SSL listener only through its listener.name prefix, as in Kafka', async () => {
    const certs = makeTestCerts();
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-sasl-'));
    const ssl = { 'ssl.keystore.location': certs.serverKeystore, 'ssl.truststore.location': certs.caCert };
    const handshakeWithoutCertificate = async (b: RunningBroker, name: string): Promise<number> => {
      const c = await RawClient.connectTls(`127.0.0.1:${b.listeners.find((l) => l.name === name)!.port}`, { ca: certs.read(certs.caCert) });
      try {
        return (await c.send(17, 1, { mechanism: 'SCRAM-SHA-512' })).errorCode as number;
      } finally {
        c.close();
      }
    };
    try {
      let b = await startBroker({ dataDir, logLevel: 'silent', config: { listeners: 'SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0', 'ssl.client.auth': 'required', ...ssl } });
      try {
        assert.equal(await handshakeWithoutCertificate(b, 'SASL_SSL'), 0);
        await assert.rejects(handshakeWithoutCertificate(b, 'SSL'));
      } finally {
        await b.close();
      }
      b = await startBroker({ dataDir, logLevel: 'silent', config: { listeners: 'SASL_SSL://127.0.0.1:0', 'listener.name.sasl_ssl.ssl.client.auth': 'required', ...ssl } });
      try {
        await assert.rejects(handshakeWithoutCertificate(b, 'SASL_SSL'));
      } finally {
        await b.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      certs.remove();
    }
  });
});

describe('a broker with a PLAINTEXT and an SSL listener', () => {
  let certs: TestCerts;
  let dataDir: string;
  let broker: RunningBroker;
  let plainAddress: string;
  let sslAddress: string;
  let keystore: string;

  before(async () => {
    certs = makeTestCerts();
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-tls-'));
    keystore = join(certs.dir, 'live.keystore.pem');
    writeFileSync(keystore, certs.read(certs.serverKeystore));
    broker = await startBroker({
      dataDir, logLevel: 'silent', sslReloadIntervalMs: 100,
      config: {
        listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL',
        'ssl.keystore.location': keystore,
        'ssl.truststore.location': certs.caCert,
        'listener.name.mtls.ssl.client.auth': 'required',
        'listener.name.mtls.ssl.keystore.location': certs.serverKeystore,
      },
    });
    plainAddress = `127.0.0.1:${broker.listeners[0]!.port}`;
    sslAddress = `127.0.0.1:${broker.listeners[1]!.port}`;
  });
  after(async () => {
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
    certs?.remove();
  });

  test('DescribeCluster answers with the endpoint of the listener the request came in on', async () => {
    const plain = new Admin({ bootstrapServers: plainAddress, retries: 0 });
    const ssl = new Admin({ bootstrapServers: sslAddress, retries: 0, ssl: { ca: certs.read(certs.caCert) } });
    try {
      assert.deepEqual((await plain.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`), [plainAddress]);
      assert.deepEqual((await ssl.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`), [sslAddress]);
    } finally {
      await plain.close();
      await ssl.close();
    }
  });

  test('the own producer and consumer over SSL', async () => {
    const ssl = { ca: certs.read(certs.caCert) };
    const producer = new Producer({ bootstrapServers: sslAddress, ssl });
    const consumer = new Consumer({ bootstrapServers: sslAddress, ssl, groupId: 'tls-group', autoOffsetReset: 'earliest' });
    try {
      await producer.sendBatch([1, 2, 3].map((i) => ({ topic: 'tls-topic', key: `k${i}`, value: `v${i}` })));
      await consumer.subscribe(['tls-topic']);
      const got: string[] = [];
      const deadline = Date.now() + 10_000;
      while (got.length < 3 && Date.now() < deadline) for (const r of await consumer.poll(500)) got.push(r.value!.toString());
      assert.deepEqual(got.sort(), ['v1', 'v2', 'v3']);
    } finally {
      await producer.close();
      await consumer.close();
    }
  });

  test('ssl.client.auth=required: a client certificate is needed, and a trusted one works', async () => {
    const mtls = `127.0.0.1:${broker.listeners[2]!.port}`;
    const without = new Admin({ bootstrapServers: mtls, retries: 0, ssl: { ca: certs.read(certs.caCert) } });
    await assert.rejects(without.describeCluster());
    await without.close();
    const untrusted = new Admin({ bootstrapServers: mtls, retries: 0, ssl: { ca: certs.read(certs.caCert), cert: certs.read(certs.untrustedClientCert), key: certs.read(certs.untrustedClientKey) } });
    await assert.rejects(untrusted.describeCluster());
    await untrusted.close();
    const withCert = new Admin({ bootstrapServers: mtls, retries: 0, ssl: { ca: certs.read(certs.caCert), cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) } });
    try {
      assert.deepEqual((await withCert.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`), [mtls]);
    } finally {
      await withCert.close();
    }
  });

  test('with ssl.client.auth every connection presents its certificate: TLS sessions are not resumed (no tickets)', async () => {
    const port = broker.listeners[2]!.port;
    const opts = { host: '127.0.0.1', port, ca: certs.read(certs.caCert), cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey), maxVersion: 'TLSv1.2' as const };
    const open = async (extra: object = {}) => {
      const s = tlsConnect({ ...opts, ...extra });
      await new Promise<void>((resolve, reject) => { s.once('secureConnect', resolve); s.once('error', reject); });
      return s;
    };
    const first = await open();
    const session = first.getSession();
    first.destroy();
    assert.ok(session, 'the first handshake gives a session to offer');
    const second = await open({ session });
    try {
      // Resuming would skip the certificate check (and a truststore reloaded since would not apply to it).
      assert.equal(second.isSessionReused(), false);
    } finally {
      second.destroy();
    }
    // The SSL listener without client auth still resumes sessions.
    const plain = { host: '127.0.0.1', port: broker.listeners[1]!.port, ca: certs.read(certs.caCert), maxVersion: 'TLSv1.2' as const };
    const a = tlsConnect(plain);
    await new Promise<void>((resolve, reject) => { a.once('secureConnect', resolve); a.once('error', reject); });
    const s2 = a.getSession();
    a.destroy();
    const b = tlsConnect({ ...plain, session: s2 });
    await new Promise<void>((resolve, reject) => { b.once('secureConnect', resolve); b.once('error', reject); });
    assert.equal(b.isSessionReused(), true);
    b.destroy();
  });

  test("the principal of a client certificate: its subject in RFC 2253 form, through ssl.principal.mapping.rules", () => {
    const dn = subjectOf(certs.read(certs.clientCert));
    assert.equal(dn, 'CN=alice,OU=Clients,O=Tributary,C=US');
    assert.equal(parsePrincipalMappingRules('RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/L,DEFAULT').map(dn), 'alice@clients');
  });

  test('a client that does not trust the broker certificate is refused', async () => {
    const admin = new Admin({ bootstrapServers: sslAddress, retries: 0, ssl: { ca: certs.read(join(certs.dir, 'other-ca.crt')) } });
    try {
      await assert.rejects(admin.describeCluster(), /certificate|TLS/i);
    } finally {
      await admin.close();
    }
  });

  test('plaintext bytes and garbage to the SSL port are closed; the broker keeps serving', async () => {
    for (const bytes of [Buffer.from([0, 0, 0, 20, 0, 18, 0, 3, 0, 0, 0, 1, 0, 4, 116, 101, 115, 116, 0, 0, 0, 0]), Buffer.from('GET / HTTP/1.0\r\n\r\n')]) {
      const closed = await new Promise<boolean>((resolve) => {
        const s = netConnect({ host: '127.0.0.1', port: broker.listeners[1]!.port }, () => s.write(bytes));
        s.on('error', () => undefined);
        s.on('close', () => resolve(true));
        setTimeout(() => { s.destroy(); resolve(false); }, 5000).unref();
      });
      assert.equal(closed, true);
    }
    const admin = new Admin({ bootstrapServers: sslAddress, retries: 0, ssl: { ca: certs.read(certs.caCert) } });
    try {
      assert.equal((await admin.describeCluster()).brokers.length, 1);
    } finally {
      await admin.close();
    }
  });

  test('a changed keystore file is picked up by new connections without a restart', async () => {
    const subject = (): Promise<string> => new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: broker.listeners[1]!.port, ca: certs.read(certs.caCert), servername: 'localhost' }, () => {
        const cn = s.getPeerX509Certificate()!.subject;
        s.destroy();
        resolve(cn);
      });
      s.on('error', reject);
    });
    assert.match(await subject(), /CN=broker/);
    const tmp = `${keystore}.tmp`;
    writeFileSync(tmp, certs.newServerKeystore('renewed-broker'));
    renameSync(tmp, keystore);
    const deadline = Date.now() + 5000;
    let seen = '';
    while (Date.now() < deadline) {
      seen = await subject();
      if (seen.includes('renewed-broker')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(seen, /CN=renewed-broker/);
  });
});
