// Three instances with num.standby.replicas=1: when one leaves, each of its tasks goes to the instance holding its
// standby when that instance has room under the balance (the leader reads the members' task offset sums from
// their subscriptions and the changelogs' end offsets), so those tasks restore (almost) nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TopicPartition } from '../../../src/client/consumer.js';
import type { KafkaStreams, StateRestoreListener } from '../../../src/streams/index.js';
import { createTopics, fastProps, latest, long, readUntil, sameMap, waitFor, withBroker } from './runtime-support.js';
import { changelogSize, newApp, steadyInput, topology } from './standby-support.js';

/** Records restored per task ("0_<partition>"). */
class PerTask implements StateRestoreListener {
  readonly restored = new Map<string, number>();
  onRestoreEnd(tp: TopicPartition, _store: string, total: number): void {
    const id = `0_${tp.partition}`;
    this.restored.set(id, (this.restored.get(id) ?? 0) + total);
  }
}

test('a leaving instance\'s tasks go to the instances holding their standbys when the balance allows', { timeout: 90_000 }, async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'ha-in', partitions: 6 }, { name: 'ha-out', partitions: 6 }]);
    const dirs = await Promise.all([0, 1, 2].map((i) => mkdtemp(join(tmpdir(), `standby-ha-${i}-`))));
    const listeners = [new PerTask(), new PerTask(), new PerTask()];
    const apps: KafkaStreams[] = [];
    const feed = steadyInput(address, 'ha-in', 4000);
    try {
      for (let i = 0; i < 3; i++) apps.push(await newApp(topology('ha-in', 'ha-out'), fastProps(address, 'standby-ha', { 'num.standby.replicas': 1, 'state.dir': dirs[i] }), listeners[i]));
      await waitFor('two tasks and two standbys each', () => apps.every((a) => a.activeTasks().length === 2 && a.standbyTasks().length === 2 && a.state() === 'RUNNING'), 30_000).catch((e: Error) => { throw new Error(`${e.message}: ${apps.map((a) => `${a.state()} [${a.activeTasks().join(',')}] [${a.standbyTasks().join(',')}]`).join(' | ')}`); });
      for (const a of apps) for (const t of a.standbyTasks()) assert.ok(!a.activeTasks().includes(t), 'never active and standby on one instance');
      await waitFor('1500 records in', () => feed.sent() >= 1500, 30_000);
      const [leaving, ...stay] = apps;
      const moved = leaving.activeTasks();
      const holder = new Map(moved.map((t) => [t, stay.findIndex((a) => a.standbyTasks().includes(t))]));
      assert.ok([...holder.values()].every((h) => h >= 0), 'every moved task has a standby on a staying instance');
      for (const l of listeners) l.restored.clear();
      const changelog = await changelogSize(address, 'standby-ha-counts-changelog', moved);
      await leaving.close();
      await waitFor('the two others to own three tasks each', () => stay.every((a) => a.activeTasks().length === 3 && a.state() === 'RUNNING'), 30_000);
      await feed.stop();
      await readUntil(address, 'ha-out', (rs) => sameMap(latest(rs, long), feed.counts), 30_000);
      const report: string[] = [];
      // Each instance takes one of the two (balance); a task goes to its standby's holder unless that one is full.
      const holders = new Set(holder.values());
      let caughtUp = 0;
      for (const t of moved) {
        const owner = stay.findIndex((a) => a.activeTasks().includes(t));
        const restored = listeners[1 + owner].restored.get(t) ?? 0;
        report.push(`${t}: standby on ${holder.get(t)}, now active on ${owner}, restored ${restored}`);
        if (owner === holder.get(t)) {
          caughtUp++;
          assert.ok(restored * 10 < changelog, `${t} restored ${restored} on its standby's instance`);
        }
      }
      process.stdout.write(`# ${report.join('; ')} (the two changelogs held ${changelog} at the hand-over)\n`);
      assert.equal(caughtUp, holders.size, `each instance holding a standby got one of its tasks: ${report.join('; ')}`);
    } finally {
      await feed.stop();
      for (const a of apps) await a.close();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    }
  });
});
