import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdClientFixture } from '../../helpers/etcd-store-fixture.js';
import { EtcdScramCredentialBackend } from '../../../src/cluster/scram-credentials-etcd.js';
import { ScramCredentialStore } from '../../../src/security/credential-store.js';
import { saltedPassword } from '../../../src/security/scram.js';

const etcd = etcdClientFixture();

test('two brokers\' stores share credentials through etcd: keys per user and mechanism, watch brings changes', async () => {
  const a = await ScramCredentialStore.open(new EtcdScramCredentialBackend(etcd.client, '/t1'));
  const bBackend = new EtcdScramCredentialBackend(etcd.client, '/t1');
  const b = await ScramCredentialStore.open(bBackend);
  try {
    const salt = Buffer.from('salty');
    const results = await a.alter([], [{ name: 'a/b', mechanism: 2, iterations: 4096, salt, saltedPassword: saltedPassword('SCRAM-SHA-512', 'pw', salt, 4096) }]);
    assert.deepEqual(results, [{ user: 'a/b', errorCode: 0, errorMessage: null }]);
    const stored = await etcd.client.get('/t1/scram/a%2Fb/SCRAM-SHA-512').string();
    assert.ok(stored && JSON.parse(stored).storedKey, stored ?? 'missing key');
    assert.ok(!stored.includes('pw"'));
    const deadline = Date.now() + 5000;
    while (!b.lookup('a/b', 'SCRAM-SHA-512') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(b.lookup('a/b', 'SCRAM-SHA-512')?.iterations, 4096);
    assert.deepEqual(b.lookup('a/b', 'SCRAM-SHA-512')?.storedKey, a.lookup('a/b', 'SCRAM-SHA-512')?.storedKey);

    await b.alter([{ name: 'a/b', mechanism: 2 }], []);
    const until = Date.now() + 5000;
    while (a.lookup('a/b', 'SCRAM-SHA-512') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(a.lookup('a/b', 'SCRAM-SHA-512'), undefined);
    assert.deepEqual(await bBackend.load(), []);
  } finally {
    await a.close();
    await b.close();
  }
});
