// SASL on the broker through raw frames: gating before authentication, the pre-authentication frame cap,
// PLAIN and SCRAM over SaslAuthenticate, the legacy v0 raw-token flow, failures (answer, then close),
// re-authentication (KIP-368: session lifetime answered, expired session closed, principal change refused),
// audit events, and start-up refusals.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { startBroker, type RunningBroker } from '../../../src/server/broker.js';
import { ConfigError } from '../../../src/server/config.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { plainMessage } from '../../../src/security/plain.js';
import type { AuditEvent } from '../../../src/security/audit.js';
import { RawClient } from '../../helpers/raw-client.js';
import { addScramUser, plainJaas, rawAuthenticate } from '../../helpers/sasl.js';

const METADATA = { topics: null, allowAutoTopicCreation: false };

describe('SASL listeners', () => {
  let dir: string;
  let broker: RunningBroker;
  let skew = 0;
  const events: AuditEvent[] = [];
  const addr = (name: string): string => `127.0.0.1:${broker.listeners.find((l) => l.name === name)!.port}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-sasl-'));
    broker = await startBroker({
      dataDir: dir, logLevel: 'silent',
      config: {
        listeners: 'PLAINTEXT://127.0.0.1:0,SASL://127.0.0.1:0,REAUTH://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL:SASL_PLAINTEXT,REAUTH:SASL_PLAINTEXT',
        'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
        'sasl.jaas.config': plainJaas({ alice: 'alice-secret', bob: 'bob-secret' }),
        'listener.name.sasl.sasl.server.max.receive.size': 1024,
        'listener.name.reauth.connections.max.reauth.ms': 60_000,
      },
    });
    const ctx = broker.context as { audit: unknown; now: () => number };
    ctx.audit = { record: (e: AuditEvent) => events.push(e) };
    ctx.now = () => Date.now() + skew;
    await addScramUser(broker.context, 'carol', 'carol-secret');
  });
  after(async () => {
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('PLAIN over SaslAuthenticate v2: principal User:alice, then requests are served; audited', async () => {
    const c = await RawClient.connect(addr('SASL'));
    const versions = await c.send(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    assert.ok(versions.apiKeys.some((k: { apiKey: number; maxVersion: number }) => k.apiKey === 36 && k.maxVersion === 2));
    const before = events.length;
    const r = await rawAuthenticate(c, 'PLAIN', 'alice', 'alice-secret');
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.sessionLifetimeMs, 0n);
    const md = await c.send(3, 12, METADATA);
    assert.equal(md.brokers.length, 1);
    const ev = events.slice(before);
    assert.deepEqual(ev.map((e) => [e.type, e.result, e.principal, e.details?.mechanism]), [['authentication', 'success', 'User:alice', 'PLAIN']]);
    c.close();
  });

  test('SCRAM-SHA-512 and SCRAM-SHA-256 with credentials from the store', async () => {
    for (const m of ['SCRAM-SHA-512', 'SCRAM-SHA-256']) {
      const c = await RawClient.connect(addr('SASL'));
      const r = await rawAuthenticate(c, m, 'carol', 'carol-secret', 1);
      assert.equal(r.errorCode, ErrorCode.NONE, m);
      assert.equal((await c.send(3, 12, METADATA)).brokers.length, 1);
      c.close();
    }
  });

  test('a request before authentication closes the connection unanswered', async () => {
    for (const prelude of [[], [18], [17]]) {
      const c = await RawClient.connect(addr('SASL'));
      if (prelude.includes(18)) await c.send(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
      if (prelude.includes(17)) assert.equal((await c.send(17, 1, { mechanism: 'PLAIN' })).errorCode, 0);
      await assert.rejects(c.send(3, 12, METADATA), /connection closed/, `after ${JSON.stringify(prelude)}`);
      await c.closed;
    }
    // ApiVersions after the handshake is out of order too (Kafka's state machine).
    const c = await RawClient.connect(addr('SASL'));
    await c.send(17, 1, { mechanism: 'PLAIN' });
    await assert.rejects(c.send(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' }), /connection closed/);
  });

  test('wrong password, unknown user, wrong mechanism: the error is answered (after the failed-authentication delay), then the connection closes', async () => {
    const before = events.length;
    for (const [mech, user, pw, code, msg] of [
      ['PLAIN', 'alice', 'nope', ErrorCode.SASL_AUTHENTICATION_FAILED, /Invalid username or password/],
      ['PLAIN', 'mallory', 'x', ErrorCode.SASL_AUTHENTICATION_FAILED, /Invalid username or password/],
      ['SCRAM-SHA-512', 'carol', 'nope', ErrorCode.SASL_AUTHENTICATION_FAILED, /invalid credentials with SASL mechanism SCRAM-SHA-512/],
      ['SCRAM-SHA-256', 'mallory', 'x', ErrorCode.SASL_AUTHENTICATION_FAILED, /invalid credentials/],
      ['GSSAPI', 'alice', 'alice-secret', ErrorCode.UNSUPPORTED_SASL_MECHANISM, /handshake: PLAIN,SCRAM-SHA-256,SCRAM-SHA-512/],
    ] as const) {
      const c = await RawClient.connect(addr('SASL'));
      const started = Date.now();
      const r = await rawAuthenticate(c, mech, user, pw);
      // connection.failed.authentication.delay.ms (100) holds the refusal back.
      assert.ok(Date.now() - started >= 90, `${mech} ${user} answered after ${Date.now() - started} ms`);
      assert.equal(r.errorCode, code, `${mech} ${user}`);
      assert.match(r.errorMessage ?? '', msg);
      await c.closed;
    }
    const failures = events.slice(before).filter((e) => e.result === 'failure');
    assert.equal(failures.length, 5);
    assert.ok(failures.every((e) => e.principal === 'User:ANONYMOUS' && !JSON.stringify(e).includes('nope')));
    assert.equal(failures[1]!.details?.user, 'mallory');
    assert.equal(failures[4]!.error, 'UNSUPPORTED_SASL_MECHANISM');
  });

  test('a pre-authentication frame over sasl.server.max.receive.size closes; after authentication large frames pass', async () => {
    const s = connect(broker.listeners.find((l) => l.name === 'SASL')!.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const closed = new Promise((r) => s.once('close', r));
    const header = Buffer.alloc(4);
    header.writeInt32BE(1025, 0);
    s.write(header); // only the size: the broker must refuse it before the body arrives
    await closed;
    const c = await RawClient.connect(addr('SASL'));
    assert.equal((await rawAuthenticate(c, 'PLAIN', 'alice', 'alice-secret')).errorCode, 0);
    const big = await c.send(3, 12, { topics: [{ name: 'x'.repeat(2000), topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false });
    assert.equal(big.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    c.close();
  });

  test('legacy v0 flow: SaslHandshake v0 then raw size-prefixed tokens (kafka-python 2.0.2); failure closes unanswered', async () => {
    /** A socket read as exact byte counts; null once it closes first. */
    const open = async (): Promise<{ socket: Socket; read: (n: number) => Promise<Buffer | null> }> => {
      const socket = connect(broker.listeners.find((l) => l.name === 'SASL')!.port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      let ended = false;
      let wake: (() => void) | undefined;
      socket.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); wake?.(); });
      socket.on('close', () => { ended = true; wake?.(); });
      await new Promise((r) => socket.once('connect', r));
      const read = async (n: number): Promise<Buffer | null> => {
        while (buf.length < n) {
          if (ended) return null;
          await new Promise<void>((r) => { wake = r; });
        }
        const out = buf.subarray(0, n);
        buf = buf.subarray(n);
        return out;
      };
      return { socket, read };
    };
    const exchange = async (password: string) => {
      const c = await open();
      c.socket.write(RawClient.frame(17, 0, { mechanism: 'PLAIN' }, 7));
      const size = (await c.read(4))!.readInt32BE(0);
      const hs = (await c.read(size))!;
      assert.equal(hs.readInt32BE(0), 7);
      assert.equal(hs.readInt16BE(4), 0);
      const token = plainMessage('alice', password);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(token.length, 0);
      c.socket.write(Buffer.concat([prefix, token]));
      return { ...c, answer: await c.read(4) };
    };
    const ok = await exchange('alice-secret');
    assert.deepEqual(ok.answer, Buffer.alloc(4)); // an empty token
    // Kafka requests follow on the same connection.
    ok.socket.write(RawClient.frame(3, 1, { topics: [] }, 9));
    const size = (await ok.read(4))!.readInt32BE(0);
    assert.equal((await ok.read(size))!.readInt32BE(0), 9);
    ok.socket.destroy();
    const bad = await exchange('wrong');
    assert.equal(bad.answer, null);
  });

  test('re-authentication: session lifetime answered, same principal accepted, expired session closed', async () => {
    const c = await RawClient.connect(addr('REAUTH'));
    const first = await rawAuthenticate(c, 'PLAIN', 'alice', 'alice-secret', 1);
    assert.equal(first.sessionLifetimeMs, 60_000n);
    skew = 30_000;
    const again = await rawAuthenticate(c, 'PLAIN', 'alice', 'alice-secret', 2);
    assert.equal(again.errorCode, 0);
    assert.equal(again.sessionLifetimeMs, 60_000n);
    skew = 80_000; // still inside the renewed session (30 s + 60 s)
    assert.equal((await c.send(3, 12, METADATA)).brokers.length, 1);
    skew = 91_000; // past it, with no re-authentication: the next request closes the connection
    await assert.rejects(c.send(3, 12, METADATA), /connection closed/);
    skew = 0;
  });

  test('re-authentication as another principal, or with another mechanism, is refused and closes', async () => {
    const c = await RawClient.connect(addr('REAUTH'));
    assert.equal((await rawAuthenticate(c, 'PLAIN', 'alice', 'alice-secret', 1)).errorCode, 0);
    const r = await rawAuthenticate(c, 'PLAIN', 'bob', 'bob-secret', 1);
    assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.match(r.errorMessage!, /Cannot change principals during re-authentication from User:alice to User:bob/);
    await c.closed;
    const d = await RawClient.connect(addr('REAUTH'));
    assert.equal((await rawAuthenticate(d, 'PLAIN', 'alice', 'alice-secret', 1)).errorCode, 0);
    assert.equal((await d.send(17, 1, { mechanism: 'SCRAM-SHA-256' })).errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    await d.closed;
  });

  test('without connections.max.reauth.ms, SaslHandshake/SaslAuthenticate after authentication get ILLEGAL_SASL_STATE; a PLAINTEXT listener too', async () => {
    const c = await RawClient.connect(addr('SASL'));
    assert.equal((await rawAuthenticate(c, 'PLAIN', 'alice', 'alice-secret', 1)).errorCode, 0);
    assert.equal((await c.send(17, 1, { mechanism: 'PLAIN' })).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.equal((await c.send(36, 2, { authBytes: Buffer.alloc(0) })).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.equal((await c.send(3, 12, METADATA)).brokers.length, 1);
    c.close();
    const p = await RawClient.connect(addr('PLAINTEXT'));
    assert.equal((await p.send(17, 1, { mechanism: 'PLAIN' })).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.equal((await p.send(3, 12, METADATA)).brokers.length, 1);
    p.close();
  });
});

describe('SASL configs', () => {
  test('PLAIN users from a JAAS file (java.security.auth.login.config): the listener\'s section first, then KafkaServer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-sasl-jaas-'));
    const file = join(dir, 'kafka_server_jaas.conf');
    writeFileSync(file, `KafkaServer {\n  org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="from-kafkaserver";\n};\n` +
      `special.KafkaServer {\n  org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="from-special";\n};\n`);
    const broker = await startBroker({ dataDir: join(dir, 'data'), logLevel: 'silent', config: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0,SPECIAL://127.0.0.1:0', 'listener.security.protocol.map': 'SASL_PLAINTEXT:SASL_PLAINTEXT,SPECIAL:SASL_PLAINTEXT',
      'sasl.enabled.mechanisms': 'PLAIN', 'java.security.auth.login.config': file,
    } });
    try {
      const at = (name: string): string => `127.0.0.1:${broker.listeners.find((l) => l.name === name)!.port}`;
      const attempt = async (listener: string, password: string): Promise<number> => {
        const c = await RawClient.connect(at(listener));
        try {
          return (await rawAuthenticate(c, 'PLAIN', 'alice', password)).errorCode;
        } finally {
          c.close();
        }
      };
      assert.equal(await attempt('SASL_PLAINTEXT', 'from-kafkaserver'), 0);
      assert.equal(await attempt('SPECIAL', 'from-special'), 0);
      assert.equal(await attempt('SPECIAL', 'from-kafkaserver'), ErrorCode.SASL_AUTHENTICATION_FAILED);
    } finally {
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('DescribeConfigs hides sasl.jaas.config (it holds PLAIN passwords)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-sasl-dc-'));
    const broker = await startBroker({ dataDir: dir, logLevel: 'silent', config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0', 'sasl.enabled.mechanisms': 'PLAIN', 'sasl.jaas.config': plainJaas({ alice: 'alice-secret' }),
    } });
    try {
      const c = await RawClient.connect(broker.address);
      const r = await c.send(32, 4, { resources: [{ resourceType: 4, resourceName: '1', configurationKeys: ['sasl.jaas.config', 'sasl.enabled.mechanisms', 'sasl.server.max.receive.size', 'connections.max.reauth.ms'] }], includeSynonyms: false, includeDocumentation: false });
      const entries = new Map<string, { value: string | null; isSensitive: boolean }>(r.results[0].configs.map((e: { name: string; value: string | null; isSensitive: boolean }) => [e.name, e]));
      assert.equal(entries.get('sasl.jaas.config')?.value, null);
      assert.equal(entries.get('sasl.jaas.config')?.isSensitive, true);
      assert.equal(entries.get('sasl.enabled.mechanisms')?.value, 'PLAIN');
      assert.equal(entries.get('sasl.server.max.receive.size')?.value, '524288');
      assert.equal(entries.get('connections.max.reauth.ms')?.value, '0');
      c.close();
    } finally {
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SASL start-up checks', () => {
  const start = (config: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-sasl-cfg-'));
    return startBroker({ dataDir: dir, logLevel: 'silent', config: { listeners: 'SASL_PLAINTEXT://127.0.0.1:0', ...config } })
      .finally(() => rmSync(dir, { recursive: true, force: true }));
  };
  test('PLAIN without a JAAS config, an unsupported mechanism, a bad JAAS value, a SASL inter-broker listener in a cluster without the broker\'s credentials or with OAUTHBEARER', async () => {
    await assert.rejects(start({ 'sasl.enabled.mechanisms': 'PLAIN' }), (e) => e instanceof ConfigError && /listener\.name\.sasl_plaintext\.plain\.sasl\.jaas\.config/.test(e.message));
    await assert.rejects(start({ 'sasl.enabled.mechanisms': 'GSSAPI' }), /mechanism GSSAPI is not supported/);
    await assert.rejects(start({ 'sasl.enabled.mechanisms': 'PLAIN', 'listener.name.sasl_plaintext.plain.sasl.jaas.config': 'PlainLoginModule required user_a="x"' }), /not terminated by ';'|needs org\.apache/);
    await assert.rejects(start({ 'etcd.connect': '127.0.0.1:1', 'inter.broker.listener.name': 'SASL_PLAINTEXT' }), /give the broker's own username="…" password="…" in listener\.name\.sasl_plaintext\.scram-sha-256\.sasl\.jaas\.config/);
    await assert.rejects(start({ 'etcd.connect': '127.0.0.1:1', 'inter.broker.listener.name': 'SASL_PLAINTEXT', 'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512', 'sasl.enabled.mechanisms': 'PLAIN', 'sasl.jaas.config': plainJaas({ a: 'b' }) }), /SCRAM-SHA-512 is not enabled on the inter-broker listener/);
    await assert.rejects(start({ 'etcd.connect': '127.0.0.1:1', 'inter.broker.listener.name': 'SASL_PLAINTEXT', 'sasl.enabled.mechanisms': 'OAUTHBEARER' }), /OAUTHBEARER between brokers is not supported/);
  });
});
