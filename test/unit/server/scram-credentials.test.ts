import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { singleNodeAdmin } from '../../helpers/single-node-admin.js';
import { ProtocolError } from '../../../src/client/errors.js';
import { RawClient } from '../../helpers/raw-client.js';
import { SCRAM_CREDENTIALS_FILE, ScramCredentialStore, FileCredentialBackend } from '../../../src/security/credential-store.js';
import { ScramClient, ScramServer } from '../../../src/security/scram.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

const API_VERSIONS = 18, DESCRIBE_USER_SCRAM = 50, ALTER_USER_SCRAM = 51;

describe('SCRAM credential APIs on a single node', () => {
  const node = singleNodeAdmin('tributary-scram-');

  test('ApiVersions advertises both APIs at v0', async () => {
    const raw = await RawClient.connect(node.broker.address);
    try {
      const res = await raw.send(API_VERSIONS, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
      for (const key of [DESCRIBE_USER_SCRAM, ALTER_USER_SCRAM]) {
        const k = res.apiKeys.find((a: { apiKey: number }) => a.apiKey === key);
        assert.deepEqual([k?.minVersion, k?.maxVersion], [0, 0], `API ${key}`);
      }
    } finally {
      raw.close();
    }
  });

  test('upsert, describe, authenticate against the stored credential, delete; survives a restart', async () => {
    assert.deepEqual(await node.admin.describeUserScramCredentials(), []);
    const results = await node.admin.alterUserScramCredentials([
      { user: 'alice', mechanism: 'SCRAM-SHA-256', password: 'alice-secret', iterations: 8192 },
      { user: 'alice', mechanism: 'SCRAM-SHA-512', password: 'alice-secret' },
      { user: 'bob', mechanism: 'SCRAM-SHA-512', password: 'bob-secret', iterations: 4096 },
    ]);
    assert.deepEqual(results, [{ user: 'alice', error: null }, { user: 'bob', error: null }]);
    assert.deepEqual(await node.admin.describeUserScramCredentials(), [
      { user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 8192 }, { mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
      { user: 'bob', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
    ]);

    const file = readFileSync(join(node.dataDir, SCRAM_CREDENTIALS_FILE), 'utf8');
    assert.ok(!file.includes('alice-secret') && !file.includes(Buffer.from('alice-secret').toString('base64')), 'no password on disk');

    await node.restart();
    assert.deepEqual((await node.admin.describeUserScramCredentials(['alice']))[0]!.credentials.map((c) => c.iterations), [8192, 4096]);

    // The stored credential authenticates the password, through the SCRAM exchange, and only it.
    const store = await ScramCredentialStore.open(new FileCredentialBackend(node.dataDir));
    for (const [password, ok] of [['alice-secret', true], ['wrong', false]] as const) {
      const server = new ScramServer('SCRAM-SHA-256', (u, m) => (m === 'SCRAM-SHA-256' || m === 'SCRAM-SHA-512' ? store.lookup(u, m) : undefined));
      const client = new ScramClient('SCRAM-SHA-256', 'alice', password);
      const first = server.step(client.first());
      assert.match(first.response.toString(), /,i=8192$/);
      const final = server.step(client.final(first.response));
      assert.equal(final.error === undefined, ok, final.error?.message);
    }

    const del = await node.admin.alterUserScramCredentials([{ user: 'alice', mechanism: 'SCRAM-SHA-256', delete: true }, { user: 'bob', mechanism: 'SCRAM-SHA-512', delete: true }]);
    assert.deepEqual(del.map((r) => r.error), [null, null]);
    assert.deepEqual(await node.admin.describeUserScramCredentials(), [{ user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] }]);
  });

  test('Kafka\'s error codes: unknown, duplicate, bad iterations, empty user, unknown mechanism; a failing user changes nothing', async () => {
    await assert.rejects(node.admin.describeUserScramCredentials(['nobody']), (e: unknown) => e instanceof ProtocolError && e.kafkaError === 'RESOURCE_NOT_FOUND' && /nobody/.test(e.message));

    const raw = await RawClient.connect(node.broker.address);
    try {
      const dup = await raw.send(DESCRIBE_USER_SCRAM, 0, { users: [{ name: 'alice' }, { name: 'alice' }, { name: 'ghost' }] });
      assert.equal(dup.errorCode, 0);
      assert.deepEqual(dup.results.map((r: { user: string; errorCode: number }) => [r.user, r.errorCode]), [['alice', ErrorCode.DUPLICATE_RESOURCE], ['ghost', ErrorCode.RESOURCE_NOT_FOUND]]);

      const up = (name: string, mechanism: number, iterations: number) => ({ name, mechanism, iterations, salt: Buffer.from('salt'), saltedPassword: Buffer.alloc(32, 1) });
      const res = await raw.send(ALTER_USER_SCRAM, 0, {
        deletions: [{ name: 'carol', mechanism: 1 }, { name: 'dave', mechanism: 1 }],
        upsertions: [
          up('carol', 1, 4096), // deleted and upserted in one request: duplicate
          up('erin', 1, 4095),
          up('frank', 2, 16385),
          up('', 1, 4096),
          up('grace', 3, 4096),
          up('heidi', 2, 16384), // valid
          up('ivan', 1, 4096), up('ivan', 2, 1), // one bad change: none of ivan's applies
        ],
      });
      assert.deepEqual(res.results.map((r: { user: string; errorCode: number; errorMessage: string | null }) => [r.user, r.errorCode, r.errorMessage]), [
        ['carol', ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request'],
        ['dave', ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist'],
        ['erin', ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations'],
        ['frank', ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations'],
        ['', ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'],
        ['grace', ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism'],
        ['heidi', ErrorCode.NONE, null],
        ['ivan', ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations'],
      ]);
    } finally {
      raw.close();
    }
    const users = (await node.admin.describeUserScramCredentials()).map((d) => d.user);
    assert.deepEqual(users, ['alice', 'heidi']);
  });
});
