// Standby replicas (num.standby.replicas=1) with two instances of a counting app under a steady input: the
// instance holding active tasks leaves (a clean close here; a kill -9 in runtime-standby-kill.test.ts), the
// survivor promotes its standbys and restores only the changelog tail they lack — measured with a restore listener
// against the same run without standbys, which restores the whole changelog — and its counts stay right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaStreams, KafkaStreamsProps, ReadOnlyKeyValueStore } from '../../../src/streams/index.js';
import { startQueryServer } from '../../../src/streams/query-server.js';
import { createTopics, fastProps, latest, long, readUntil, sameMap, waitFor, withBroker } from './runtime-support.js';
import { changelogSize, KEYS, newApp, Restores, steadyInput, topology } from './standby-support.js';

/** Two instances, a leaves cleanly mid-stream; what b restored when it took a's tasks over. */
async function cleanHandOver(address: string, standbys: number): Promise<{ restored: number; changelog: number; restoreEnds: number }> {
  const input = `events-${standbys}`;
  const output = `counts-${standbys}`;
  await createTopics(address, [{ name: input, partitions: 4 }, { name: output, partitions: 4 }]);
  const dirs = [await mkdtemp(join(tmpdir(), 'standby-a-')), await mkdtemp(join(tmpdir(), 'standby-b-'))];
  // Without record caches every update reaches the changelog: a long changelog to restore (or not).
  const props = (dir: string): KafkaStreamsProps => fastProps(address, `standby-${standbys}`, { 'num.standby.replicas': standbys, 'state.dir': dir, 'statestore.cache.max.bytes': 0 });
  const restores = new Restores();
  const a = await newApp(topology(input, output), props(dirs[0]));
  const b = await newApp(topology(input, output), props(dirs[1]), restores);
  const feed = steadyInput(address, input, 4000);
  try {
    await waitFor('the tasks split, each with standbys of the other\'s', () =>
      a.activeTasks().length === 2 && b.activeTasks().length === 2 && a.state() === 'RUNNING' && b.state() === 'RUNNING' &&
      a.standbyTasks().length === 2 * standbys && b.standbyTasks().length === 2 * standbys, 20_000);
    if (standbys > 0) {
      assert.deepEqual(a.standbyTasks(), b.activeTasks(), 'a keeps standbys of b\'s tasks');
      assert.deepEqual(b.standbyTasks(), a.activeTasks(), 'b keeps standbys of a\'s tasks');
    }
    await waitFor('2000 records in', () => feed.sent() >= 2000, 30_000);
    // b's standby stores follow a's active ones; a plain store() does not read them.
    const staleKeys = (): number => [...b.store<ReadOnlyKeyValueStore<string, number>>('counts', { enableStaleStores: true }).all()].length;
    const freshKeys = [...b.store<ReadOnlyKeyValueStore<string, number>>('counts').all()].length;
    if (standbys > 0) {
      await waitFor('b\'s standbys to hold a\'s keys', () => staleKeys() === KEYS);
      assert.ok(freshKeys < KEYS, `without stale stores only b's active keys (${freshKeys})`);
      // The same over HTTP: ?stale=true.
      const server = await startQueryServer(b);
      try {
        const entries = async (q: string): Promise<number> => ((await (await fetch(`${server.url}/v1/stores/counts${q}`)).json()) as { entries: unknown[] }).entries.length;
        assert.equal(await entries('?stale=true'), KEYS);
        assert.ok((await entries('')) < KEYS);
      } finally {
        await server.close();
      }
    }
    restores.reset();
    const moved = a.activeTasks();
    await a.close();
    const changelog = await changelogSize(address, `standby-${standbys}-counts-changelog`, moved);
    await waitFor('b to own every task', () => b.activeTasks().length === 4 && b.state() === 'RUNNING', 20_000);
    await feed.stop();
    const want = feed.counts;
    // Right counts mean the moved tasks were restored and processed: the restores are all in.
    await readUntil(address, output, (rs) => sameMap(latest(rs, long), want), 30_000);
    const took = { restored: restores.restored, changelog, restoreEnds: restores.ends };
    assert.deepEqual(new Map([...b.store<ReadOnlyKeyValueStore<string, number>>('counts').all()].map((e) => [e.key, e.value])), want);
    return took;
  } finally {
    await feed.stop();
    await a.close();
    await b.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}

test('clean hand-over under a steady input: with a standby the survivor restores only the tail; counts stay right', { timeout: 90_000 }, async () => {
  await withBroker(async (address) => {
    const without = await cleanHandOver(address, 0);
    const withStandby = await cleanHandOver(address, 1);
    process.stdout.write(`# restored on take-over: without standbys ${without.restored} of ${without.changelog} changelog records; with num.standby.replicas=1 ${withStandby.restored} of ${withStandby.changelog}\n`);
    assert.equal(without.restored, without.restoreEnds, 'without standbys the whole changelog of the moved tasks is restored');
    assert.ok(without.changelog > 500, `the changelog held ${without.changelog} records`);
    assert.ok(withStandby.changelog > 500, `the changelog held ${withStandby.changelog} records`);
    assert.ok(withStandby.restored * 10 < withStandby.changelog, `with a standby: ${withStandby.restored} restored of ${withStandby.changelog}`);
  });
});

test('an active task made a standby keeps its stores and takes the task back with the tail only (persistent stores)', { timeout: 90_000 }, async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'back-in', partitions: 4 }, { name: 'back-out', partitions: 4 }]);
    const dirs = [await mkdtemp(join(tmpdir(), 'standby-back-a-')), await mkdtemp(join(tmpdir(), 'standby-back-b-'))];
    const props = (dir: string): KafkaStreamsProps => fastProps(address, 'standby-back', { 'num.standby.replicas': 1, 'state.dir': dir });
    const restores = new Restores();
    const a = await newApp(topology('back-in', 'back-out', true), props(dirs[0]), restores);
    let b: KafkaStreams | null = null;
    const feed = steadyInput(address, 'back-in', 4000);
    try {
      await waitFor('a to run all four tasks', () => a.activeTasks().length === 4 && a.state() === 'RUNNING', 20_000);
      await waitFor('1000 records in', () => feed.sent() >= 1000, 30_000);
      // b joins: two of a's tasks move to b and stay on a as standbys (their stores kept, at their offsets).
      b = await newApp(topology('back-in', 'back-out', true), props(dirs[1]));
      await waitFor('the tasks to split with standbys', () => a.activeTasks().length === 2 && b!.activeTasks().length === 2 &&
        a.standbyTasks().length === 2 && b!.standbyTasks().length === 2 && a.state() === 'RUNNING' && b!.state() === 'RUNNING', 30_000);
      assert.deepEqual(a.standbyTasks(), b.activeTasks());
      await waitFor('2500 records in', () => feed.sent() >= 2500, 30_000);
      restores.reset();
      const moved = b.activeTasks();
      await b.close();
      const changelog = await changelogSize(address, 'standby-back-counts-changelog', moved);
      await feed.stop();
      const want = feed.counts;
      await readUntil(address, 'back-out', (rs) => sameMap(latest(rs, long), want), 30_000);
      assert.deepEqual(a.activeTasks(), ['0_0', '0_1', '0_2', '0_3']);
      assert.deepEqual(new Map([...a.store<ReadOnlyKeyValueStore<string, number>>('counts').all()].map((e) => [e.key, e.value])), want);
      process.stdout.write(`# hand back: restored ${restores.restored} of ${changelog} changelog records\n`);
      // Record caches on here (a demoted task drops its cache: the standby writes past it), so fewer changelog records.
      assert.ok(changelog > 50, `the changelog held ${changelog} records`);
      assert.ok(restores.restored * 10 < changelog, `restored ${restores.restored} of ${changelog}`);
    } finally {
      await feed.stop();
      await b?.close();
      await a.close();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    }
  });
});
