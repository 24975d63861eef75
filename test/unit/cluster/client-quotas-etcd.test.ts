/**
 * Client quotas in a two-broker cluster on one real etcd: a quota set through broker 1 is stored under
 * `<prefix>/quotas/`, seen by broker 2 (its watch), enforced there, and removed everywhere; a broker restarted
 * reads it back from etcd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import { InProcessCluster } from '../../helpers/in-process-cluster.js';
import { until } from '../../helpers/cluster-settings.js';

describe('client quotas in a two-broker cluster', () => {
  const cluster = new InProcessCluster('client-quotas');
  const { brokers } = cluster;
  const adminOf = async (id: number): Promise<Admin> => {
    const a = new Admin({ bootstrapServers: brokers.get(id)!.address, retries: 2 });
    await a.connect();
    return a;
  };

  before(async () => {
    await cluster.open([1, 2]);
  });
  after(async () => cluster.close());

  test('set through broker 1, seen and enforced on broker 2, survives a restart, removed everywhere', async () => {
    const a1 = await adminOf(1);
    try {
      const r = await a1.alterClientQuotas([{ entity: { user: 'alice', 'client-id': 'a/b' }, ops: [{ key: 'producer_byte_rate', value: 4096 }] }]);
      assert.equal(r[0]!.error, null);
    } finally {
      await a1.close();
    }
    const q2 = brokers.get(2)!.context.quotas;
    await until('broker 2 sees the quota', () => q2.resolve('producer_byte_rate', { user: 'alice', clientId: 'a/b' })?.quota === 4096);
    const a2 = await adminOf(2);
    try {
      assert.deepEqual(await a2.describeClientQuotas([{ entityType: 'client-id', match: 'a/b' }]), [{ entity: { user: 'alice', 'client-id': 'a/b' }, values: { producer_byte_rate: 4096 } }]);
    } finally {
      await a2.close();
    }

    await cluster.stop(2);
    await cluster.start(2);
    assert.equal(brokers.get(2)!.context.quotas.resolve('producer_byte_rate', { user: 'alice', clientId: 'a/b' })?.quota, 4096);

    const b2 = await adminOf(2);
    try {
      await b2.alterClientQuotas([{ entity: { user: 'alice', 'client-id': 'a/b' }, ops: [{ key: 'producer_byte_rate', value: null }] }]);
    } finally {
      await b2.close();
    }
    const q1 = brokers.get(1)!.context.quotas;
    await until('broker 1 sees the removal', () => q1.resolve('producer_byte_rate', { user: 'alice', clientId: 'a/b' }) === null);
  });
});
