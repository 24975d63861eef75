/**
 * kafkajs over SASL with OAUTHBEARER (an oauthBearerProvider handing out JWTs the test signs with a key of the
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

describe('kafkajs over SASL', () => {
  let certs: TestCerts;
  let dir: string;
  let broker: RunningBroker;
  let oauth: string;
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
        listeners: 'PLAINTEXT://127.0.0.1:0,OAUTH://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,OAUTH:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
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

  test('SCRAM-SHA-512 over SASL_SSL', async () => {
    const kafka = new Kafka({ brokers: [scram], ssl: { ca: [certs.read(certs.caCert)] }, logLevel: logLevel.NOTHING, sasl: { mechanism: 'scram-sha-512', username: 'kjs', password: 'kjs-secret' } });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kafkajs-scram', messages: [{ value: 'x' }, { value: 'y' }] });
    await producer.disconnect();
    assert.deepEqual((await consumeAll(kafka, 'kafkajs-scram', 2)).sort(), ['x', 'y']);
  });
});
