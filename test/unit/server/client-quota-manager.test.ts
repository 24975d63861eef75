import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientQuotaManager, Rate, quotaUser } from '../../../src/server/client-quota-manager.js';
import { ClientQuotaStore, FileClientQuotaBackend } from '../../../src/security/client-quotas.js';

describe('Rate (Kafka SampledStat semantics)', () => {
  test('a fresh rate is measured over at least num-1 windows; old samples expire', () => {
    const r = new Rate(11, 1000);
    r.record(1000, 0);
    assert.equal(r.measure(0), 100); // 1000 bytes over the padded 10 s
    for (let t = 1000; t <= 20_000; t += 1000) r.record(1000, t);
    // Steady 1000/s: 11 samples of 1000 over ~10-11 s.
    assert.ok(Math.abs(r.measure(20_000) - 1000) < 110, String(r.measure(20_000)));
    // 30 s of silence: everything expired.
    assert.equal(r.measure(50_000), 0);
  });
});

describe('quota resolution (Kafka precedence) and throttle time', () => {
  const withStore = async (fn: (m: ClientQuotaManager, store: ClientQuotaStore) => Promise<void>): Promise<void> => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-quota-mgr-'));
    try {
      const store = await ClientQuotaStore.open(new FileClientQuotaBackend(dir));
      await fn(new ClientQuotaManager(store, new Map([['quota.window.num', '11'], ['quota.window.size.seconds', '1']])), store);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const set = (store: ClientQuotaStore, entity: Record<string, string | null>, value: number) =>
    store.alter([{ entity: Object.entries(entity).map(([entityType, entityName]) => ({ entityType, entityName })), ops: [{ key: 'producer_byte_rate', value, remove: false }] }], false);

  test('the most specific level wins; the matched level decides who shares the measurement', async () => {
    await withStore(async (m, store) => {
      const alice = { user: 'alice', clientId: 'app' };
      assert.equal(m.resolve('producer_byte_rate', alice), null);
      const levels: Array<[Record<string, string | null>, number, string]> = [
        [{ 'client-id': null }, 8, '\u0000app'],
        [{ 'client-id': 'app' }, 7, '\u0000app'],
        [{ user: null }, 6, 'alice\u0000'],
        [{ user: null, 'client-id': null }, 5, 'alice\u0000app'],
        [{ user: null, 'client-id': 'app' }, 4, 'alice\u0000app'],
        [{ user: 'alice' }, 3, 'alice\u0000'],
        [{ user: 'alice', 'client-id': null }, 2, 'alice\u0000app'],
        [{ user: 'alice', 'client-id': 'app' }, 1, 'alice\u0000app'],
      ];
      for (const [entity, value, shared] of levels) {
        await set(store, entity, value);
        const r = m.resolve('producer_byte_rate', alice)!;
        assert.equal(r.quota, value, JSON.stringify(entity));
        assert.equal(r.metricKey, `producer_byte_rate\u0000${shared}`);
      }
      // Another user falls through to the defaults; another client id of alice to her user-level quotas.
      assert.equal(m.resolve('producer_byte_rate', { user: 'bob', clientId: 'app' })!.quota, 4);
      assert.equal(m.resolve('producer_byte_rate', { user: 'alice', clientId: 'other' })!.quota, 2);
      assert.equal(m.resolve('consumer_byte_rate', alice), null);
    });
  });

  test('throttle time brings the rate back to the quota; a user quota is shared by its client ids', async () => {
    await withStore(async (m, store) => {
      await set(store, { user: 'alice' }, 1000);
      // 20 kB at once over a padded 10 s window: rate 2000/s, twice the quota → throttle (2000-1000)/1000 × 10 s.
      assert.equal(m.recordAndGetThrottleTimeMs('producer_byte_rate', { user: 'alice', clientId: 'a' }, 10_000, 0), 0);
      assert.equal(m.recordAndGetThrottleTimeMs('producer_byte_rate', { user: 'alice', clientId: 'b' }, 10_000, 0), 10_000);
      // Capped at num × size.
      assert.equal(m.recordAndGetThrottleTimeMs('producer_byte_rate', { user: 'alice', clientId: 'c' }, 1e9, 0), 11_000);
      // Bob has no quota.
      assert.equal(m.recordAndGetThrottleTimeMs('producer_byte_rate', { user: 'bob', clientId: 'a' }, 1e9, 0), 0);
    });
  });

  test('the user of a principal', () => {
    assert.equal(quotaUser('User:alice'), 'alice');
    assert.equal(quotaUser(undefined), 'ANONYMOUS');
  });
});
