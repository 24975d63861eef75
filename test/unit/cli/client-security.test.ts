import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clientOptions, parseProperties, saslOptions, sslOptions, UsageError } from '../../../src/cli/common.js';
import { clientFlags, KafkaToolError } from '../../../src/cli/kafka/options.js';

test('parseProperties: separators, comments, continuations and escapes as Java reads them', () => {
  const text = [
    '# comment',
    '! also a comment',
    'security.protocol=SASL_SSL',
    'sasl.mechanism : SCRAM-SHA-512',
    'client.id my-client',
    'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\',
    '    username="alice" \\',
    '    password="alice-secret";',
    'path=C:\\\\temp\\\\x',
    'unicode=caf\\u00e9',
    'trailing=value   ',
    'empty=',
  ].join('\n');
  assert.deepEqual(parseProperties(text), {
    'security.protocol': 'SASL_SSL',
    'sasl.mechanism': 'SCRAM-SHA-512',
    'client.id': 'my-client',
    'sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";',
    path: 'C:\\temp\\x',
    unicode: 'café',
    trailing: 'value',
    empty: '',
  });
});

test('saslOptions: sasl.username/password, sasl.jaas.config, OAUTHBEARER token and token file', () => {
  assert.equal(saslOptions({}), undefined);
  assert.equal(saslOptions({ 'security.protocol': 'SSL' }), undefined);
  assert.deepEqual(saslOptions({ 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'u', 'sasl.password': 'p' }), { mechanism: 'PLAIN', username: 'u', password: 'p' });
  assert.deepEqual(saslOptions({
    'security.protocol': 'SASL_SSL',
    'sasl.mechanism': 'SCRAM-SHA-256',
    'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="b\\"s";',
  }), { mechanism: 'SCRAM-SHA-256', username: 'bob', password: 'b"s' });
  assert.deepEqual(saslOptions({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'OAUTHBEARER', 'sasl.oauthbearer.token': 'a.b.c' }), { mechanism: 'OAUTHBEARER', token: 'a.b.c' });
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  try {
    const file = join(dir, 'token');
    writeFileSync(file, 'first.token.x\n');
    const variants: Array<Record<string, string>> = [{ 'sasl.oauthbearer.token.file': file }, { 'sasl.oauthbearer.token.endpoint.url': pathToFileURL(file).href }];
    for (const p of variants) {
      const o = saslOptions({ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'OAUTHBEARER', ...p });
      assert.equal(o?.mechanism, 'OAUTHBEARER');
      const provider = (o as { token: () => string }).token;
      writeFileSync(file, 'first.token.x\n');
      assert.equal(provider(), 'first.token.x');
      writeFileSync(file, 'second.token.y');
      assert.equal(provider(), 'second.token.y'); // re-read at every authentication
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('saslOptions / sslOptions: clear usage errors', () => {
  const sasl = { 'security.protocol': 'SASL_PLAINTEXT' };
  assert.throws(() => saslOptions(sasl), /needs sasl.mechanism/);
  assert.throws(() => saslOptions({ ...sasl, 'sasl.mechanism': 'GSSAPI' }), /GSSAPI is not supported/);
  assert.throws(() => saslOptions({ ...sasl, 'sasl.mechanism': 'PLAIN' }), /needs sasl.username and sasl.password/);
  assert.throws(() => saslOptions({ ...sasl, 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': 'x required' }), /invalid sasl.jaas.config/);
  assert.throws(() => saslOptions({ ...sasl, 'sasl.mechanism': 'OAUTHBEARER' }), /needs a token/);
  assert.throws(() => saslOptions({ ...sasl, 'sasl.mechanism': 'OAUTHBEARER', 'sasl.oauthbearer.token.endpoint.url': 'https://idp/token' }), /only a file:\/\//);
  assert.throws(() => saslOptions({ ...sasl, 'sasl.mechanism': 'OAUTHBEARER', 'sasl.oauthbearer.token.file': '/nonexistent/token' }), /cannot read the OAUTHBEARER token file/);
  assert.throws(() => sslOptions({ 'security.protocol': 'TLS' }), (e: unknown) => e instanceof UsageError && /use PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/.test(e.message));
  assert.deepEqual(sslOptions({ 'security.protocol': 'SASL_SSL', 'enable.ssl.certificate.verification': 'false' }), { rejectUnauthorized: false });
  assert.equal(sslOptions({ 'security.protocol': 'SASL_PLAINTEXT' }), undefined);
});

test('--command-config is read under -X; the Kafka tools check the same properties', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-'));
  try {
    const file = join(dir, 'client.properties');
    writeFileSync(file, 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=file-user\nsasl.password=file-pass\nclient.id=from-file\n');
    const o = clientOptions({ bootstrapServer: '127.0.0.1:1', property: { 'sasl.password': 'x-pass' }, commandConfig: file });
    assert.deepEqual(o.sasl, { mechanism: 'PLAIN', username: 'file-user', password: 'x-pass' });
    assert.equal(o.clientId, 'from-file');
    assert.throws(() => clientOptions({ bootstrapServer: '127.0.0.1:1', property: {}, commandConfig: join(dir, 'missing') }), /cannot read properties file .*no such file/);
    assert.throws(() => clientFlags('127.0.0.1:1', { 'security.protocol': 'SASL_SSL' }), (e: unknown) => e instanceof KafkaToolError && /needs sasl.mechanism/.test(e.message));
    assert.equal(clientFlags('127.0.0.1:1', { 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.username': 'a', 'sasl.password': 'b' }).bootstrapServer, '127.0.0.1:1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
