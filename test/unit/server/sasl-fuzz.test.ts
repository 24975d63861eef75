// Hostile bytes at the SASL and TLS handshakes: malformed, truncated and oversized SaslHandshake /
// SaslAuthenticate frames (alone and after a good handshake, in both the v1 and the legacy v0 flow), random
// bytes, and mutated or truncated TLS ClientHellos on SSL and SASL_SSL listeners. The broker must only answer or
// close, never crash, and must serve a good client on every listener afterwards. Bounded: FUZZ_RUNS raises it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import fc from 'fast-check';
import { startBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { makeTestCerts } from '../../helpers/certs.js';
import { addScramUser, plainJaas, rawAuthenticate } from '../../helpers/sasl.js';
import { plainMessage } from '../../../src/security/plain.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const PARALLEL = 16;

/** Runs every input (sampled with a fixed seed), PARALLEL connections at a time. */
async function pokeAll<T>(arb: fc.Arbitrary<T>, seed: number, poke1: (input: T) => Promise<void>): Promise<void> {
  const inputs = fc.sample(arb, { numRuns: RUNS, seed });
  for (let i = 0; i < inputs.length; i += PARALLEL) await Promise.all(inputs.slice(i, i + PARALLEL).map(poke1));
}

/** Writes the chunks on a fresh connection (a pause between them) and resolves once the broker answers-and-goes-quiet, closes, or a grace period passes. */
function poke(port: number, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 250);
    s.on('close', done).on('error', done);
    s.on('connect', async () => {
      for (const [i, c] of chunks.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 5));
        if (!s.destroyed) s.write(c);
      }
      if (!s.destroyed) s.end();
    });
  });
}

function sized(body: Buffer): Buffer {
  const b = Buffer.alloc(4 + body.length);
  b.writeInt32BE(body.length, 0);
  body.copy(b, 4);
  return b;
}

/** A real TLS ClientHello, captured from node:tls against a plain socket. */
async function captureClientHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = createServer((sock) => sock.once('data', (d: Buffer) => {
      resolve(d);
      sock.destroy();
      server.close();
    }));
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }).on('error', () => {});
    });
  });
}

test('malformed SASL and TLS handshakes never take the broker down', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sasl-fuzz-'));
  const certs = makeTestCerts();
  const broker = await startBroker({
    dataDir: dir, logLevel: (process.env.FUZZ_LOG as 'error') ?? 'silent',
    config: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SSL://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'sasl.jaas.config': plainJaas({ alice: 'alice-secret' }),
      'sasl.server.max.receive.size': 4096,
      'ssl.keystore.location': certs.serverKeystore,
    },
  });
  const [saslPort, saslSslPort, sslPort] = broker.listeners.map((l) => l.port) as [number, number, number];
  try {
    await addScramUser(broker.context, 'carol', 'carol-secret');
    const hs = (v: number, m: string, corr: number) => RawClient.frame(17, v, { mechanism: m }, corr);
    const auth = (v: number, bytes: Buffer, corr: number) => RawClient.frame(36, v, { authBytes: bytes }, corr);
    const seeds: Buffer[][] = [
      [hs(1, 'PLAIN', 1)],
      [hs(0, 'SCRAM-SHA-256', 1)],
      [hs(1, 'PLAIN', 1), auth(2, plainMessage('alice', 'alice-secret'), 2)],
      [hs(1, 'SCRAM-SHA-512', 1), auth(1, Buffer.from('n,,n=carol,r=abcdef'), 2)],
      [hs(1, 'SCRAM-SHA-512', 1), auth(0, Buffer.from('n,,n=carol,r=abcdef'), 2), auth(0, Buffer.from('c=biws,r=abcdef,p=AAAA'), 3)],
      [hs(0, 'PLAIN', 1), sized(plainMessage('alice', 'alice-secret'))],
      [hs(0, 'SCRAM-SHA-256', 1), sized(Buffer.from('n,,n=carol,r=xyz'))],
      [RawClient.frame(18, 3, { clientSoftwareName: 'f', clientSoftwareVersion: '1' }, 1), hs(1, 'PLAIN', 2)],
    ];
    // Byte flips in one frame of a sequence, a truncation (size prefix kept honest or not), or an oversized prefix.
    const mutatedSasl = fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.integer({ min: 0, max: 5 }), fc.nat())
      .map(([seq, which, flips, mode, cut]) => {
        const out = seq.map((b) => Buffer.from(b));
        const i = which % out.length;
        const b = out[i]!;
        for (const [pos, val] of flips) if (b.length > 4) b[4 + (pos % (b.length - 4))] = val;
        if (mode === 0) out[i] = b.subarray(0, cut % (b.length + 1));
        else if (mode === 1) { const t = b.subarray(0, Math.max(4, cut % (b.length + 1))); t.writeInt32BE(t.length - 4, 0); out[i] = t; }
        else if (mode === 2) b.writeInt32BE(4097 + (cut % 1_000_000), 0);
        return out;
      });
    const randomFrames = fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => sized(Buffer.from(a))), { minLength: 1, maxLength: 3 });
    const randomBytes = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => [Buffer.from(a)]);
    await pokeAll(fc.oneof(mutatedSasl, randomFrames, randomBytes), 7, (chunks) => poke(saslPort, chunks));

    const hello = await captureClientHello();
    assert.equal(hello[0], 0x16); // a TLS handshake record
    const tlsInput = fc.oneof(
      fc.nat().map((n) => [hello.subarray(0, n % hello.length)]),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((flips) => {
        const b = Buffer.from(hello);
        for (const [pos, val] of flips) b[pos % b.length] = val;
        return [b];
      }),
      fc.uint8Array({ minLength: 1, maxLength: 400 }).map((a) => [Buffer.from(a)]),
    );
    await pokeAll(fc.tuple(tlsInput, fc.boolean()), 11, ([chunks, onSaslSsl]) => poke(onSaslSsl ? saslSslPort : sslPort, chunks));

    // Still serving, on every listener.
    const plain = await RawClient.connect(`127.0.0.1:${saslPort}`);
    assert.equal((await rawAuthenticate(plain, 'PLAIN', 'alice', 'alice-secret')).errorCode, 0);
    assert.equal((await plain.send(3, 12, { topics: null })).brokers.length, 1);
    plain.close();
    const scram = await RawClient.connectTls(`127.0.0.1:${saslSslPort}`, { ca: certs.read(certs.caCert), servername: 'localhost' });
    assert.equal((await rawAuthenticate(scram, 'SCRAM-SHA-512', 'carol', 'carol-secret')).errorCode, 0);
    assert.equal((await scram.send(3, 12, { topics: null })).brokers.length, 1);
    scram.close();
    const ssl = await RawClient.connectTls(`127.0.0.1:${sslPort}`, { ca: certs.read(certs.caCert), servername: 'localhost' });
    assert.equal((await ssl.send(3, 12, { topics: null })).brokers.length, 1);
    ssl.close();
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
    certs.remove();
  }
});
