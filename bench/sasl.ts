/**
 * What security costs the own client (standalone: `npm run build && node dist/bench/sasl.js [--records N]`):
 * - connection set-up time (TCP/TLS connect + ApiVersions + SASL), median and p95 of 50 connects, for PLAINTEXT,
 *   SSL, SASL_PLAINTEXT/PLAIN, SASL_SSL/SCRAM-SHA-256, SASL_SSL/SCRAM-SHA-512 (4096 iterations) and
 *   SASL_PLAINTEXT/OAUTHBEARER (RS256 JWT);
 * - produce and consume throughput (N × 100-byte records, default 200,000; median of --runs, default 3, alternating)
 *   over SASL_SSL/SCRAM-SHA-512 versus PLAINTEXT against the same in-process broker (client and broker share one
 *   process, so TLS is paid on both ends in it), and their ratio (the goal: ≥ 0.7).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startBroker } from '../src/server/broker.js';
import { Admin } from '../src/client/admin.js';
import { Producer } from '../src/client/producer.js';
import { Consumer } from '../src/client/consumer.js';
import { Connection, type ConnectionOptions } from '../src/client/connection.js';
import { makeTestCerts } from '../test/helpers/certs.js';
import { claims, jwks, makeKey, signJwt } from '../test/helpers/jwt.js';

const CONNECTS = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { records: { type: 'string', default: '200000' }, runs: { type: 'string', default: '3' } } });
  const records = Number(values.records);
  const runs = Math.max(1, Number(values.runs));
  const certs = makeTestCerts();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-sasl-'));
  const key = makeKey('RS256', 'bench');
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks(key)));
  const broker = await startBroker({
    dataDir: join(dir, 'data'), logLevel: 'silent',
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,OAUTH://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,OAUTH:SASL_PLAINTEXT',
      'ssl.keystore.location': certs.serverKeystore,
      'listener.name.sasl_plaintext.sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_bench="bench-secret";',
      'listener.name.oauth.sasl.enabled.mechanisms': 'OAUTHBEARER',
      'listener.name.oauth.sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(join(dir, 'jwks.json')).href,
      'num.partitions': 4,
      'group.initial.rebalance.delay.ms': 0,
    },
  });
  try {
    const port = (name: string): number => broker.listeners.find((l) => l.name === name)!.port;
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${port('PLAINTEXT')}` });
    await admin.alterUserScramCredentials([
      { user: 'bench', mechanism: 'SCRAM-SHA-256', password: 'bench-secret' },
      { user: 'bench', mechanism: 'SCRAM-SHA-512', password: 'bench-secret' },
    ]);
    await admin.close();
    const ssl = { ca: certs.read(certs.caCert) };
    const token = signJwt(key, claims({ sub: 'bench' }));
    const setups: Array<[string, string, ConnectionOptions]> = [
      ['PLAINTEXT', 'PLAINTEXT', {}],
      ['SSL', 'SSL', { ssl }],
      ['SASL_PLAINTEXT PLAIN', 'SASL_PLAINTEXT', { sasl: { mechanism: 'PLAIN', username: 'bench', password: 'bench-secret' } }],
      ['SASL_SSL SCRAM-SHA-256', 'SASL_SSL', { ssl, sasl: { mechanism: 'SCRAM-SHA-256', username: 'bench', password: 'bench-secret' } }],
      ['SASL_SSL SCRAM-SHA-512', 'SASL_SSL', { ssl, sasl: { mechanism: 'SCRAM-SHA-512', username: 'bench', password: 'bench-secret' } }],
      ['SASL_PLAINTEXT OAUTHBEARER', 'OAUTH', { sasl: { mechanism: 'OAUTHBEARER', token } }],
    ];
    console.log(`connection set-up (${CONNECTS} connects each, sequential)`);
    console.log('  setup                        median ms   p95 ms');
    const setupResults: Record<string, { medianMs: number; p95Ms: number }> = {};
    for (const [label, listener, options] of setups) {
      const times: number[] = [];
      for (let i = 0; i < CONNECTS; i++) {
        const t0 = performance.now();
        const conn = await Connection.connect('127.0.0.1', port(listener), options);
        times.push(performance.now() - t0);
        conn.close();
      }
      times.sort((a, b) => a - b);
      setupResults[label] = { medianMs: percentile(times, 0.5), p95Ms: percentile(times, 0.95) };
      console.log(`  ${label.padEnd(28)} ${percentile(times, 0.5).toFixed(2).padStart(9)} ${percentile(times, 0.95).toFixed(2).padStart(8)}`);
    }

    const value = Buffer.alloc(100, 'x');
    const throughput = async (label: string, bootstrap: string, options: Partial<ConnectionOptions>): Promise<{ produce: number; consume: number }> => {
      const topic = `bench-${label.replace(/\W/g, '-').toLowerCase()}`;
      const producer = new Producer({ bootstrapServers: bootstrap, ...options, lingerMs: 5, batchSize: 256 * 1024 });
      let t0 = performance.now();
      const pending: Array<Promise<unknown>> = [];
      for (let i = 0; i < records; i++) {
        pending.push(producer.send({ topic, value }));
        if (pending.length >= 10_000) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      await producer.flush();
      const produce = records / ((performance.now() - t0) / 1000);
      await producer.close();
      const consumer = new Consumer({ bootstrapServers: bootstrap, ...options, groupId: `${topic}-g`, autoOffsetReset: 'earliest', enableAutoCommit: false });
      await consumer.subscribe([topic]);
      let got = 0;
      t0 = performance.now();
      const deadline = Date.now() + 120_000;
      while (got < records && Date.now() < deadline) got += (await consumer.poll(200)).length;
      const consume = got / ((performance.now() - t0) / 1000);
      await consumer.close();
      return { produce, consume };
    };
    // Alternating runs, median of each (the first runs also warm the JIT for both).
    const plainRuns: Array<{ produce: number; consume: number }> = [];
    const secureRuns: Array<{ produce: number; consume: number }> = [];
    for (let run = 0; run < runs; run++) {
      plainRuns.push(await throughput(`PLAINTEXT-${run}`, `127.0.0.1:${port('PLAINTEXT')}`, {}));
      secureRuns.push(await throughput(`SASL_SSL-${run}`, `127.0.0.1:${port('SASL_SSL')}`, { ssl, sasl: { mechanism: 'SCRAM-SHA-512', username: 'bench', password: 'bench-secret' } }));
    }
    const median = (xs: number[]): number => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const med = (rs: Array<{ produce: number; consume: number }>) => ({ produce: median(rs.map((r) => r.produce)), consume: median(rs.map((r) => r.consume)) });
    const plain = med(plainRuns);
    const secure = med(secureRuns);
    console.log(`\nthroughput, ${records} × 100 B records, own client (records/s, median of ${runs})`);
    console.log('  listener                      produce    consume');
    console.log(`  PLAINTEXT                  ${plain.produce.toFixed(0).padStart(10)} ${plain.consume.toFixed(0).padStart(10)}`);
    console.log(`  SASL_SSL SCRAM-SHA-512     ${secure.produce.toFixed(0).padStart(10)} ${secure.consume.toFixed(0).padStart(10)}`);
    console.log(`  ratio SASL_SSL/PLAINTEXT   ${(secure.produce / plain.produce).toFixed(2).padStart(10)} ${(secure.consume / plain.consume).toFixed(2).padStart(10)}`);
    console.log(JSON.stringify({ setup: setupResults, throughput: { records, plaintext: plain, saslSsl: secure } }));
  } finally {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
    certs.remove();
  }
}

await main();
