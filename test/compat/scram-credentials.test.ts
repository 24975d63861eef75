/**
 * SCRAM credential APIs through clients other than the own Admin: @platformatic/kafka's AlterUserScramCredentials
 * and DescribeUserScramCredentials (v0) APIs, and the `tributary users` CLI. Debian's confluent-kafka 1.7.0
 * (librdkafka 2.0.2) and kafka-python 2.0.2 have no SCRAM credential admin calls (confluent-kafka has them from
 * 2.2), so they are not exercised here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { Connection, ResponseError, alterUserScramCredentialsV0, describeUserScramCredentialsV0 } from '@platformatic/kafka';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { runCli } from '../helpers/cli.js';
import { ErrorCode } from '../../src/protocol/generated/error-codes.js';

describe('SCRAM credentials through other clients', () => {
  let broker: TestBroker;
  let conn: Connection;
  before(async () => {
    broker = await startTestBroker();
    conn = new Connection('tributary-compat');
    const [host, port] = broker.address.split(':');
    await conn.connect(host!, Number(port));
  });
  after(async () => {
    await conn?.close();
    await broker?.close();
  });

  test('@platformatic/kafka: upsert, describe, errors as ResponseError with Kafka codes', async () => {
    const salt = randomBytes(16);
    const salted = pbkdf2Sync('alice-secret', salt, 4096, 64, 'sha512');
    const res = await alterUserScramCredentialsV0.api.async(conn, [], [{ name: 'alice', mechanism: 2, iterations: 4096, salt, saltedPassword: salted }]);
    assert.deepEqual(res.results, [{ user: 'alice', errorCode: 0, errorMessage: null }]);
    const d = await describeUserScramCredentialsV0.api.async(conn, [{ name: 'alice' }]);
    assert.deepEqual(d.results, [{ user: 'alice', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: 2, iterations: 4096 }] }]);

    await assert.rejects(describeUserScramCredentialsV0.api.async(conn, [{ name: 'nobody' }]), (err: unknown) => {
      assert.ok(err instanceof ResponseError, String(err));
      const body = (err as unknown as { response: { results: Array<{ user: string; errorCode: number }> } }).response;
      assert.deepEqual(body.results.map((r) => [r.user, r.errorCode]), [['nobody', ErrorCode.RESOURCE_NOT_FOUND]]);
      return true;
    });
    await assert.rejects(alterUserScramCredentialsV0.api.async(conn, [], [{ name: 'bob', mechanism: 1, iterations: 100, salt, saltedPassword: salted }]), (err: unknown) => {
      const body = (err as { response: { results: Array<{ user: string; errorCode: number }> } }).response;
      assert.deepEqual(body.results.map((r) => [r.user, r.errorCode]), [['bob', ErrorCode.UNACCEPTABLE_CREDENTIAL]]);
      return true;
    });
  });

  test('tributary users add (flag and stdin) | list | remove', async () => {
    const b = ['--bootstrap-server', broker.address];
    const added = await runCli(['users', 'add', '--user', 'carol', '--password', 'c-secret', '--mechanism', 'SCRAM-SHA-512', '--iterations', '8192', ...b]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /stored for user 'carol'/);
    const piped = await runCli(['users', 'add', '--user', 'dave', '-m', 'scram-sha-256', '-m', 'SCRAM-SHA-512', ...b], { input: 'd-secret\n' });
    assert.equal(piped.code, 0, piped.stderr);

    const listed = await runCli(['users', 'list', ...b]);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = listed.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows, [['USER', 'MECHANISM', 'ITERATIONS'], ['alice', 'SCRAM-SHA-512', '4096'], ['carol', 'SCRAM-SHA-512', '8192'], ['dave', 'SCRAM-SHA-256', '4096'], ['dave', 'SCRAM-SHA-512', '4096']]);

    const removed = await runCli(['users', 'remove', '--user', 'dave', ...b]);
    assert.equal(removed.code, 0, removed.stderr);
    const after = await runCli(['users', 'list', '--user', 'dave', ...b]);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /RESOURCE_NOT_FOUND/);

    const bad = await runCli(['users', 'add', '--user', 'x', '--password', 'p', '--iterations', '100', ...b]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /4096 to 16384/);
    const missing = await runCli(['users', 'remove', '--user', 'ghost', '--mechanism', 'SCRAM-SHA-256', ...b]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /RESOURCE_NOT_FOUND/);
    const help = await runCli(['users', '--help']);
    for (const sub of ['add', 'list', 'remove']) assert.match(help.stdout, new RegExp(`\\n\\s+${sub}\\b`));
  });
});
