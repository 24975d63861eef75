/**
 * What security costs (`npm run bench -- --only security`), all in one run against one broker process with
 * several listeners on 127.0.0.1:
 *
 * - produce and consume throughput of the own client (acks=all, idempotence off, no compression, 100-byte
 *   records, 4 partitions, batches of 1,000 with 4 in flight) through each listener — PLAINTEXT, SSL and SASL_SSL
 *   with SCRAM-SHA-512 — in alternating rounds (so drift of the machine hits every target alike), the median round
 *   of each, and the ratio of each secured listener to PLAINTEXT (the goal: SASL_SSL ≥ 0.7×);
 * - connection set-up: open a connection and have it ready for requests (TCP, TLS handshake, ApiVersions, and the
 *   SASL exchange), median and p99 of N sequential connections, for PLAINTEXT, SSL, SASL_PLAINTEXT with PLAIN and
 *   with OAUTHBEARER (an RS256 JWT checked against a JWKS file), and SASL_SSL with SCRAM-SHA-256 and SCRAM-SHA-512
 *   (4096 iterations, Kafka's default).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Admin } from '../src/client/admin.js';
import { Consumer } from '../src/client/consumer.js';
import { median, produceBatches } from './support.js';
import { Connection, type ConnectionOptions } from '../src/client/connection.js';
import { spawnBroker, type BrokerProcess } from '../test/compat/support/broker-process.js';
import { makeTestCerts } from '../test/helpers/certs.js';
import { freePort } from '../test/helpers/free-ports.js';
import { claims, jwks, makeKey, signJwt } from '../test/helpers/jwt.js';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface SecurityBenchOptions {
  workDir: string;
  records: number;
  rounds: number;
  connections: number;
}

export interface ListenerResult {
  listener: string;
  produceMsgsPerSec: number;
  consumeMsgsPerSec: number;
}

export interface ConnectResult {
  setup: string;
  medianMs: number;
  p99Ms: number;
}

export interface SecurityBenchResult {
  date: string;
  records: number;
  recordBytes: number;
  rounds: number;
  results: ListenerResult[];
  connect: ConnectResult[];
  ratios: Record<string, { produce: number; consume: number }>;
}

const PARTITIONS = 4;
const USER = 'bench';
const PASSWORD = 'bench-secret';

interface Target {
  name: string;
  port: number;
  options: Partial<ConnectionOptions>;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function produce(bootstrap: string, options: Partial<ConnectionOptions>, topic: string, count: number): Promise<number> {
  return produceBatches({ ...options, bootstrapServers: bootstrap, clientId: 'bench-security', acks: 'all', compression: 'none', idempotent: false }, topic, count);
}

async function consume(bootstrap: string, options: Partial<ConnectionOptions>, topic: string, count: number): Promise<number> {
  const consumer = new Consumer({ ...options, bootstrapServers: bootstrap, clientId: 'bench-security', enableAutoCommit: false });
  try {
    await consumer.connect();
    const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
    consumer.assign(tps);
    await consumer.seekToBeginning(tps);
    const started = performance.now();
    const deadline = started + 5 * 60_000;
    let seen = 0;
    while (seen < count) {
      if (performance.now() > deadline) throw new Error(`consume: ${seen} of ${count} records after 5 minutes`);
      seen += (await consumer.poll(1000)).length;
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    await consumer.close();
  }
}

async function connectTimes(port: number, options: Partial<ConnectionOptions>, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const conn = await Connection.connect('127.0.0.1', port, { ...options, clientId: 'bench-connect' });
    times.push(performance.now() - started);
    conn.close();
  }
  return times;
}

export async function runSecurityBench(options: SecurityBenchOptions): Promise<SecurityBenchResult> {
  const certs = makeTestCerts();
  const dataDir = await mkdtemp(join(options.workDir, 'security-'));
  const [plainPort, sslPort, saslSslPort, saslPlainPort, oauthPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const key = makeKey('RS256', 'bench');
  const jwksFile = join(dataDir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwks(key)));
  let broker: BrokerProcess | undefined;
  try {
    broker = await spawnBroker(dataDir, {
      settings: {
        listeners: `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort},SASL_SSL://127.0.0.1:${saslSslPort},SASL_PLAINTEXT://127.0.0.1:${saslPlainPort},OAUTH://127.0.0.1:${oauthPort}`,
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,OAUTH:SASL_PLAINTEXT',
        'listener.name.sasl_plaintext.sasl.enabled.mechanisms': 'PLAIN',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_${USER}="${PASSWORD}";`,
        'listener.name.oauth.sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.oauth.sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(jwksFile).href,
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': certs.serverKeystore,
        'ssl.truststore.type': 'PEM',
        'ssl.truststore.location': certs.caCert,
        'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
        'group.initial.rebalance.delay.ms': '0',
      },
    });
    const ca = readFileSync(certs.caCert, 'utf8');
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${plainPort}`, clientId: 'bench-security' });
    await admin.connect();
    await admin.alterUserScramCredentials([
      { user: USER, mechanism: 'SCRAM-SHA-256', password: PASSWORD, iterations: 4096 },
      { user: USER, mechanism: 'SCRAM-SHA-512', password: PASSWORD, iterations: 4096 },
    ]);
    const targets: Target[] = [
      { name: 'PLAINTEXT', port: plainPort, options: {} },
      { name: 'SSL', port: sslPort, options: { ssl: { ca } } },
      { name: 'SASL_SSL', port: saslSslPort, options: { ssl: { ca }, sasl: { mechanism: 'SCRAM-SHA-512', username: USER, password: PASSWORD } } },
    ];
    const produced = new Map<string, number[]>();
    const consumed = new Map<string, number[]>();
    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order each round so no listener always runs first (or last) on a warming machine.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const t of order) {
        const topic = `bench-${t.name.toLowerCase()}-${round}`;
        await admin.createTopics([{ name: topic, numPartitions: PARTITIONS, replicationFactor: 1 }]);
        const bootstrap = `127.0.0.1:${t.port}`;
        produced.set(t.name, [...(produced.get(t.name) ?? []), await produce(bootstrap, t.options, topic, options.records)]);
        consumed.set(t.name, [...(consumed.get(t.name) ?? []), await consume(bootstrap, t.options, topic, options.records)]);
        console.log(`round ${round + 1}/${options.rounds} ${t.name}: produce ${Math.round(produced.get(t.name)!.at(-1)!)} msg/s, consume ${Math.round(consumed.get(t.name)!.at(-1)!)} msg/s`);
      }
    }
    await admin.close();
    const results: ListenerResult[] = targets.map((t) => ({
      listener: t.name,
      produceMsgsPerSec: median(produced.get(t.name)!),
      consumeMsgsPerSec: median(consumed.get(t.name)!),
    }));
    const token = signJwt(key, claims({ sub: USER }));
    const setups: Array<[string, number, Partial<ConnectionOptions>]> = [
      ['PLAINTEXT', plainPort, {}],
      ['SSL', sslPort, { ssl: { ca } }],
      ['SASL_PLAINTEXT PLAIN', saslPlainPort, { sasl: { mechanism: 'PLAIN', username: USER, password: PASSWORD } }],
      ['SASL_PLAINTEXT OAUTHBEARER', oauthPort, { sasl: { mechanism: 'OAUTHBEARER', token } }],
      ['SASL_SSL SCRAM-SHA-256', saslSslPort, { ssl: { ca }, sasl: { mechanism: 'SCRAM-SHA-256', username: USER, password: PASSWORD } }],
      ['SASL_SSL SCRAM-SHA-512', saslSslPort, { ssl: { ca }, sasl: { mechanism: 'SCRAM-SHA-512', username: USER, password: PASSWORD } }],
    ];
    const connect: ConnectResult[] = [];
    for (const [setup, port, opts] of setups) {
      const times = await connectTimes(port, opts, options.connections);
      connect.push({ setup, medianMs: median(times), p99Ms: percentile(times, 99) });
    }
    const base = results[0]!;
    const ratios: SecurityBenchResult['ratios'] = {};
    for (const r of results.slice(1)) {
      ratios[`${r.listener}/PLAINTEXT`] = { produce: r.produceMsgsPerSec / base.produceMsgsPerSec, consume: r.consumeMsgsPerSec / base.consumeMsgsPerSec };
    }
    return { date: new Date().toISOString(), records: options.records, recordBytes: 100, rounds: options.rounds, results, connect, ratios };
  } finally {
    await broker?.stop();
    await rm(dataDir, { recursive: true, force: true });
    certs.remove();
  }
}

export function formatSecurityTable(r: SecurityBenchResult): string {
  const lines = [
    `\nSecurity: ${r.records} × ${r.recordBytes} B records per run, median of ${r.rounds} rounds, own client, one broker`,
    'listener     produce msg/s  consume msg/s',
  ];
  for (const x of r.results) {
    lines.push(`${x.listener.padEnd(12)} ${Math.round(x.produceMsgsPerSec).toString().padStart(13)}  ${Math.round(x.consumeMsgsPerSec).toString().padStart(13)}`);
  }
  for (const [name, v] of Object.entries(r.ratios)) lines.push(`${name}: produce ${v.produce.toFixed(2)}×, consume ${v.consume.toFixed(2)}×`);
  lines.push('', 'connection set-up (connect + TLS + ApiVersions + SASL)   median ms   p99 ms');
  for (const c of r.connect) lines.push(`${c.setup.padEnd(56)} ${c.medianMs.toFixed(2).padStart(9)}  ${c.p99Ms.toFixed(2).padStart(7)}`);
  return lines.join('\n');
}
