import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticatePlain, parsePlainMessage, plainMessage, timingSafeStringEqual } from '../../../src/security/plain.js';
import { JaasError, PLAIN_LOGIN_MODULE, clientCredentials, parseJaasConfig, parseSingleJaasEntry, plainUsers, parseJaasFile, formatJaasEntry } from '../../../src/security/jaas.js';

test('PLAIN: parsing follows Kafka (3 tokens, authzid empty or equal to the user)', () => {
  assert.deepEqual(parsePlainMessage(plainMessage('alice', 'pw')), { authzid: '', username: 'alice', password: 'pw' });
  assert.deepEqual(parsePlainMessage('alice\u0000alice\u0000pw'), { authzid: 'alice', username: 'alice', password: 'pw' });
  assert.throws(() => parsePlainMessage('alice\u0000pw'), /expected 3 tokens, got 2/);
  assert.throws(() => parsePlainMessage('\u0000a\u0000b\u0000c'), /expected 3 tokens, got 4/);
  assert.throws(() => parsePlainMessage('\u0000\u0000pw'), /username not specified/);
  assert.throws(() => parsePlainMessage('\u0000alice\u0000'), /password not specified/);
  assert.throws(() => parsePlainMessage('bob\u0000alice\u0000pw'), /authorization id that is different/);
  assert.throws(() => parsePlainMessage(Buffer.from([0, 0x61, 0, 0xff])), /UTF-8/);
});

test('PLAIN: verification against a user table; unknown user and wrong password fail alike', () => {
  const users = new Map([['admin', 'admin-secret'], ['alice', 'alice-secret']]);
  assert.deepEqual(authenticatePlain(plainMessage('alice', 'alice-secret'), users), { ok: true, username: 'alice' });
  const wrong = authenticatePlain(plainMessage('alice', 'admin-secret'), users);
  const unknown = authenticatePlain(plainMessage('mallory', 'alice-secret'), users);
  assert.equal(wrong.ok, false);
  assert.deepEqual(wrong, unknown);
  assert.equal(authenticatePlain(plainMessage('alice', 'alice-secre'), users).ok, false);
  const bad = authenticatePlain(Buffer.alloc(0), users);
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.error, /expected 3 tokens, got 1/);
  assert.equal(timingSafeStringEqual('a', 'a'), true);
  assert.equal(timingSafeStringEqual('a', 'ab'), false);
});

test('JAAS: Kafka\'s PlainLoginModule example', () => {
  const e = parseSingleJaasEntry(
    'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";',
  );
  assert.equal(e.loginModule, PLAIN_LOGIN_MODULE);
  assert.equal(e.flag, 'required');
  assert.deepEqual(clientCredentials(e), { username: 'admin', password: 'admin-secret' });
  assert.deepEqual([...plainUsers(e)], [['admin', 'admin-secret'], ['alice', 'alice-secret']]);
});

test('JAAS: quoting, escapes, unquoted words, comments, several modules', () => {
  const entries = parseJaasConfig(`
    // a comment
    org.apache.kafka.common.security.scram.ScramLoginModule Required
      username=alice /* inline */ password="a \\"quoted\\" ; = secret\\\\" tokenauth=true;
    com.example.Other optional;`);
  assert.equal(entries.length, 2);
  assert.equal(entries[0]!.flag, 'required');
  assert.equal(entries[0]!.options.get('username'), 'alice');
  assert.equal(entries[0]!.options.get('password'), 'a "quoted" ; = secret\\');
  assert.equal(entries[0]!.options.get('tokenauth'), 'true');
  assert.equal(entries[1]!.options.size, 0);
  assert.throws(() => parseSingleJaasEntry('a.B required; c.D required;'), /contains 2 login modules, should be 1/);
});

test('JAAS: malformed values are refused with a clear error', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /no login module/],
    ['a.B', /control flag/],
    ['a.B mandatory;', /control flag/],
    ['a.B required username="x"', /not terminated by ';'/],
    ['a.B required username "x";', /expected '=' after option username/],
    ['a.B required username=;', /expected a value for option username/],
    ['a.B required password="unterminated;', /unterminated quoted value/],
    ['a.B required /* open', /unterminated comment/],
    ['a.B required x=1 # y;', /unexpected character '#'/],
    ['"a.B" required;', /expected a login module class/],
  ];
  for (const [value, message] of bad) assert.throws(() => parseJaasConfig(value), (err: unknown) => err instanceof JaasError && message.test(err.message), value);
});

test('JAAS file: sections with several modules, braces and semicolons inside quotes, comments; entries round-trip', () => {
  const sections = parseJaasFile(`
    // the broker's logins
    KafkaServer {
      org.apache.kafka.common.security.plain.PlainLoginModule required
        username="admin" password="a}b;c" user_admin="a}b;c" user_alice="alice\\"s";
      org.apache.kafka.common.security.scram.ScramLoginModule required;
    };
    sasl_ssl.KafkaServer { org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="x"; };
  `);
  assert.deepEqual([...sections.keys()], ['KafkaServer', 'sasl_ssl.KafkaServer']);
  const plain = sections.get('KafkaServer')![0]!;
  assert.equal(plain.options.get('user_admin'), 'a}b;c');
  assert.equal(plain.options.get('user_alice'), 'alice"s');
  assert.deepEqual(parseSingleJaasEntry(formatJaasEntry(plain)), plain);
  assert.equal(sections.get('KafkaServer')![1]!.loginModule, 'org.apache.kafka.common.security.scram.ScramLoginModule');
  assert.throws(() => parseJaasFile('KafkaServer { x required; '), /not closed/);
  assert.throws(() => parseJaasFile('KafkaServer x required; };'), /expected '\{'/);
  assert.throws(() => parseJaasFile('A { x required; }; A { y required; };'), /appears twice/);
});
