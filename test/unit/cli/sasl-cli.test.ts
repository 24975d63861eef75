/**
 * The CLI over SASL: `tributary topics/produce/consume` against a SASL_SSL listener (SCRAM-SHA-512) with -X sasl.*
 * and with --command-config (Kafka's property names, a multi-line sasl.jaas.config), OAUTHBEARER with a token
 * file, the kafka-*.sh drop-ins with --command-config / --producer.config / --consumer.config, and a wrong
 * password refused at once with SASL_AUTHENTICATION_FAILED.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startBroker, type RunningBroker } from '../../../src/server/broker.js';
import { Admin } from '../../../src/client/admin.js';
import { makeTestCerts, type TestCerts } from '../../helpers/certs.js';
import { runCli, runKafkaScript, type CliResult } from '../../helpers/cli.js';
import { claims, jwks, makeKey, signJwt } from '../../helpers/jwt.js';

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

describe('the CLI over SASL_SSL', () => {
  let certs: TestCerts;
  let dir: string;
  let broker: RunningBroker;
  let sasl: string;
  let oauth: string;
  let commandConfig: string;
  const key = makeKey('ES256', 'cli-key');

  before(async () => {
    certs = makeTestCerts();
    dir = await mkdtemp(join(tmpdir(), 'tributary-sasl-cli-'));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks(key)));
    broker = await startBroker({
      dataDir: join(dir, 'data'), logLevel: 'silent',
      config: {
        listeners: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,OAUTH://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,OAUTH:SASL_SSL',
        'ssl.keystore.location': certs.serverKeystore,
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'listener.name.oauth.sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.oauth.sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(join(dir, 'jwks.json')).href,
        'group.initial.rebalance.delay.ms': 0,
      },
    });
    sasl = `127.0.0.1:${broker.listeners[1]!.port}`;
    oauth = `127.0.0.1:${broker.listeners[2]!.port}`;
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${broker.listeners[0]!.port}` });
    try {
      await admin.alterUserScramCredentials([{ user: 'carol', mechanism: 'SCRAM-SHA-512', password: 'carol-secret' }]);
    } finally {
      await admin.close();
    }
    commandConfig = join(dir, 'client.properties');
    writeFileSync(commandConfig, [
      '# as for kafka-topics.sh --command-config',
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\',
      '    username="carol" \\',
      '    password="carol-secret";',
      `ssl.truststore.location=${certs.caCert}`,
      '',
    ].join('\n'));
  });
  after(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
    certs?.remove();
  });

  test('tributary topics / produce / consume with -X sasl.* and with --command-config', async () => {
    const x = ['-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanism=SCRAM-SHA-512', '-X', 'sasl.username=carol', '-X', 'sasl.password=carol-secret', '-X', `ssl.ca.location=${certs.caCert}`];
    ok(await runCli(['topics', 'create', '--topic', 'secure', '--partitions', '1', '-b', sasl, ...x], { timeoutMs: 20_000 }));
    const produced = ok(await runCli(['produce', '-t', 'secure', '-b', sasl, '--command-config', commandConfig], { input: 'one\ntwo\n', timeoutMs: 20_000 }));
    assert.match(produced.stderr, /Produced 2 records to secure/);
    assert.equal(ok(await runCli(['consume', '-t', 'secure', '-b', sasl, '--command-config', commandConfig], { timeoutMs: 20_000 })).stdout, 'one\ntwo\n');
    assert.match(ok(await runCli(['topics', 'list', '-b', sasl, ...x], { timeoutMs: 20_000 })).stdout, /secure/);
  });

  test('a wrong password is refused at once with SASL_AUTHENTICATION_FAILED; a missing mechanism is a usage error', async () => {
    const started = Date.now();
    const r = await runCli(['topics', 'list', '-b', sasl, '--command-config', commandConfig, '-X', 'sasl.username=carol', '-X', 'sasl.password=wrong'], { timeoutMs: 20_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*SASL_AUTHENTICATION_FAILED \(Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512\)$/m);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    const u = await runCli(['topics', 'list', '-b', sasl, '-X', 'security.protocol=SASL_SSL'], { timeoutMs: 20_000 });
    assert.equal(u.code, 1);
    assert.match(u.stderr, /security.protocol=SASL_SSL needs sasl.mechanism/);
  });

  test('OAUTHBEARER with a token file', async () => {
    const tokenFile = join(dir, 'token.jwt');
    writeFileSync(tokenFile, `${signJwt(key, claims({ sub: 'cli-user' }))}\n`);
    const x = ['-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanism=OAUTHBEARER', '-X', `sasl.oauthbearer.token.file=${tokenFile}`, '-X', `ssl.ca.location=${certs.caCert}`];
    ok(await runCli(['produce', '-t', 'oauth-cli', '-b', oauth, ...x], { input: 'jwt\n', timeoutMs: 20_000 }));
    assert.equal(ok(await runCli(['consume', '-t', 'oauth-cli', '-b', oauth, ...x], { timeoutMs: 20_000 })).stdout, 'jwt\n');
  });

  test('kafka-topics.sh --command-config, kafka-console-producer.sh --producer.config, kafka-console-consumer.sh --consumer.config', async () => {
    ok(await runKafkaScript('kafka-topics.sh', ['--bootstrap-server', sasl, '--command-config', commandConfig, '--create', '--topic', 'drop-in'], { timeoutMs: 20_000 }));
    ok(await runKafkaScript('kafka-console-producer.sh', ['--bootstrap-server', sasl, '--producer.config', commandConfig, '--topic', 'drop-in'], { input: 'a\nb\n', timeoutMs: 20_000 }));
    const r = ok(await runKafkaScript('kafka-console-consumer.sh', ['--bootstrap-server', sasl, '--consumer.config', commandConfig, '--topic', 'drop-in', '--from-beginning', '--max-messages', '2'], { timeoutMs: 20_000 }));
    assert.equal(r.stdout, 'a\nb\n');
  });
});
