import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Watcher } from 'etcd3';
import { EtcdPrefixWatch } from '../../../src/cluster/etcd-prefix-watch.js';
import { etcdClientFixture } from '../../helpers/etcd-store-fixture.js';

const etcd = etcdClientFixture();

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(ok(), what);
}

test('prefix watch: reloads on put and delete under the prefix only; closing twice cancels once and settles', async () => {
  const prefix = `/pw${process.pid}/x/`;
  const seen: string[][] = [];
  const load = async (): Promise<string[]> => Object.keys(await etcd.client.getAll().prefix(prefix).strings()).sort();
  const watch = new EtcdPrefixWatch(etcd.client, prefix);
  const stop = watch.start(load, (all) => seen.push(all));
  await until('the first reload when the watch starts', () => seen.length >= 1);

  await etcd.client.put(`${prefix}a`).value('1');
  await until('a put reloads', () => seen.at(-1)?.join() === `${prefix}a`);
  await etcd.client.put(`/pw${process.pid}/other`).value('1');
  await etcd.client.delete().key(`${prefix}a`);
  await until('a delete reloads', () => seen.at(-1)?.length === 0);
  assert.ok(seen.every((s) => s.every((k) => k.startsWith(prefix))));

  // Count the etcd watcher's cancels: the store's unwatch and the cluster's close both close it.
  let cancels = 0;
  const cancel = Watcher.prototype.cancel;
  Watcher.prototype.cancel = function (this: Watcher) { cancels++; return cancel.call(this); };
  try {
    stop();
    await watch.close();
  } finally {
    Watcher.prototype.cancel = cancel;
  }
  assert.equal(cancels, 1);
  const closed = await Promise.race([watch.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('hung'), 5000))]);
  assert.equal(closed, 'closed');
  const count = seen.length;
  await etcd.client.put(`${prefix}b`).value('1');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(seen.length, count, 'no reload after close');
});

test('prefix watch: closed before the watch is created, it never reports', async () => {
  const seen: unknown[] = [];
  const watch = new EtcdPrefixWatch(etcd.client, `/pw${process.pid}/y/`);
  watch.start(async () => 1, (n) => seen.push(n));
  await watch.close();
  await etcd.client.put(`/pw${process.pid}/y/a`).value('1');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(seen, []);
});
