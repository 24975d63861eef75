import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startEtcd, startEtcdCluster } from '../../helpers/etcd.js';

test('startEtcd serves /health on loopback and removes its dir on stop', async () => {
  const etcd = await startEtcd();
  assert.match(etcd.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(`${etcd.endpoint}/health`);
  assert.equal(res.status, 200);
  assert.ok(existsSync(etcd.dataDir));
  await etcd.stop();
  assert.ok(!existsSync(etcd.dataDir));
});

test('startEtcdCluster(3) starts three members that keep serving when one is killed', async () => {
  const cluster = await startEtcdCluster(3);
  try {
    assert.equal(cluster.members.length, 3);
    assert.equal(cluster.endpoints.split(',').length, 3);
    cluster.members[0]!.kill();
    await cluster.members[0]!.exited;
    // If the killed member led, the others elect a new leader within an election timeout (500 ms here).
    let status = 0;
    for (const deadline = Date.now() + 5000; status !== 200 && Date.now() < deadline;) {
      status = (await fetch(`${cluster.members[1]!.endpoint}/health`).catch(() => ({ status: 0 }))).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 200);
  } finally {
    await cluster.stop();
  }
});
