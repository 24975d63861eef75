import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdClientFixture } from '../../helpers/etcd-store-fixture.js';
import { EtcdClientQuotaBackend } from '../../../src/cluster/client-quotas-etcd.js';
import { ClientQuotaStore } from '../../../src/security/client-quotas.js';

const etcd = etcdClientFixture();

/** The etcd backend with its watch left off: a broker whose view of the quotas is stale. */
class UnwatchedBackend extends EtcdClientQuotaBackend {
  override watch(): () => void {
    return () => undefined;
  }
}

const set = (key: string, value: number) => [{ entity: [{ entityType: 'user', entityName: 'a/b' }], ops: [{ key, value, remove: false }] }];

test('two brokers altering one entity: the second, working from a stale view, reloads and keeps both changes', async () => {
  const a = await ClientQuotaStore.open(new EtcdClientQuotaBackend(etcd.client, '/q1'));
  const stale = await ClientQuotaStore.open(new UnwatchedBackend(etcd.client, '/q1'));
  try {
    await a.alter(set('producer_byte_rate', 1000), false);
    assert.equal(stale.get({ user: 'a/b' }), undefined, 'no watch: the change is not seen');
    const { results } = await stale.alter(set('consumer_byte_rate', 2000), false);
    assert.equal(results[0]!.errorCode, 0);
    assert.deepEqual(stale.get({ user: 'a/b' }), { producer_byte_rate: 1000, consumer_byte_rate: 2000 });
    const stored = await etcd.client.get('/q1/quotas/user=a%2Fb').string();
    assert.deepEqual(JSON.parse(stored!), { entity: { user: 'a/b' }, quotas: { producer_byte_rate: 1000, consumer_byte_rate: 2000 } });
    // The watching store follows; removing every key deletes the entity's key.
    const deadline = Date.now() + 5000;
    while (a.get({ user: 'a/b' })?.consumer_byte_rate !== 2000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(a.get({ user: 'a/b' }), { producer_byte_rate: 1000, consumer_byte_rate: 2000 });
    await a.alter([{ entity: [{ entityType: 'user', entityName: 'a/b' }], ops: [{ key: 'producer_byte_rate', value: 0, remove: true }, { key: 'consumer_byte_rate', value: 0, remove: true }] }], false);
    assert.equal(await etcd.client.get('/q1/quotas/user=a%2Fb').string(), null);
  } finally {
    a.close();
    stale.close();
  }
});
