// Standby replicas under exactly_once_v2: a KafkaStreams child process (test/helpers/streams-count-app.ts) and an
// in-process instance share the tasks of a counting app with persistent stores and num.standby.replicas=1; the
// child is killed with SIGKILL under a steady input, the survivor promotes its standbys (which checkpointed what
// they held) and restores only the tail; every count appears once, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KafkaStreams } from '../../../src/streams/index.js';
import { readCheckpoint } from '../../../src/streams/state/state-directory.js';
import { createTopics, fastProps, latest, long, readUntil, sameMap, waitFor, withBroker } from './runtime-support.js';
import { changelogSize, newApp, Restores, steadyInput, topology } from './standby-support.js';

const APP = fileURLToPath(new URL('../../helpers/streams-count-app.js', import.meta.url));

/** A child instance and b share the tasks; the child is killed under a steady input; what b restored taking over. */
async function killRun(address: string, standbys: number): Promise<{ restored: number; changelog: number; revivals: number }> {
  const [input, output, appId] = [`ev-${standbys}`, `out-${standbys}`, `standby-kill-${standbys}`];
  await createTopics(address, [{ name: input, partitions: 4 }, { name: output, partitions: 4 }]);
  const dirs = [await mkdtemp(join(tmpdir(), 'standby-kill-')), await mkdtemp(join(tmpdir(), 'standby-live-'))];
  // No record caches (the last argument, and b's props): every update reaches the changelog, a long one to restore.
  const child = spawn(process.execPath, [APP, address, appId, dirs[0], 'exactly_once_v2', input, output, '100', 'persistent', String(standbys), '3000', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let childOut = '';
  child.stdout!.on('data', (d: Buffer) => { childOut += d.toString(); });
  const restores = new Restores();
  let b: KafkaStreams | null = null;
  const feed = steadyInput(address, input, 5000);
  try {
    await waitFor('the child to run', () => childOut.includes('RUNNING'), 20_000);
    b = await newApp(topology(input, output, true), fastProps(address, appId, { 'processing.guarantee': 'exactly_once_v2', 'num.standby.replicas': standbys, 'state.dir': dirs[1], 'statestore.cache.max.bytes': 0 }), restores);
    await waitFor('b to run two tasks (with two standbys)', () => b!.activeTasks().length === 2 && b!.standbyTasks().length === 2 * standbys && b!.state() === 'RUNNING', 30_000);
    const moved = ['0_0', '0_1', '0_2', '0_3'].filter((t) => !b!.activeTasks().includes(t));
    if (standbys > 0) assert.deepEqual(b.standbyTasks(), moved);
    // The child's tasks have counted a good part of the input (their changelogs hold it).
    for (const deadline = Date.now() + 30_000; (await changelogSize(address, `${appId}-counts-changelog`, moved)) < 1200;) {
      if (Date.now() > deadline) throw new Error('the child counts too slowly');
      await new Promise((r) => setTimeout(r, 100));
    }
    // Standbys of persistent stores checkpoint what they hold (read_committed: only committed writes).
    if (standbys > 0) await waitFor('standby checkpoints', () => moved.every((t) => existsSync(join(dirs[1], appId, t, '.checkpoint')) && readCheckpoint(join(dirs[1], appId, t)).size === 1), 10_000);
    restores.reset();
    // The take-over's restores only: an exactly_once_v2 commit that fails in the rebalance revives every task
    // (stores wiped, restored in full), which is not what standbys change.
    const revivals = (): number => b!.metrics()['task-revivals-total'];
    const revivalsBefore = revivals();
    restores.counting = () => revivals() === revivalsBefore;
    child.kill('SIGKILL');
    const changelog = await changelogSize(address, `${appId}-counts-changelog`, moved);
    await waitFor('b to own every task', () => b!.activeTasks().length === 4 && b!.state() === 'RUNNING', 30_000);
    await feed.stop();
    const want = feed.counts;
    const out = await readUntil(address, output, (rs) => sameMap(latest(rs, long), want), 40_000, 'read_committed');
    // Every count once per key: 1, 2, ..., n in order (no count lost or doubled across the kill).
    const seqs = new Map<string, number[]>();
    for (const r of [...out].sort((x, y) => x.partition - y.partition || x.offset - y.offset)) {
      const k = r.key!.toString();
      if (!seqs.has(k)) seqs.set(k, []);
      seqs.get(k)!.push(long(r.value!));
    }
    for (const [k, n] of want) assert.deepEqual(seqs.get(k), Array.from({ length: n }, (_, i) => i + 1), `key ${k}`);
    assert.ok(readdirSync(join(dirs[1], appId)).length >= 4);
    return { restored: restores.restored, changelog, revivals: revivals() - revivalsBefore };
  } finally {
    await feed.stop();
    child.kill('SIGKILL');
    await b?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}

test('kill -9 under exactly_once_v2 with persistent stores: with a standby the survivor restores only the tail; every count once', { timeout: 90_000 }, async () => {
  await withBroker(async (address) => {
    const without = await killRun(address, 0);
    const withStandby = await killRun(address, 1);
    process.stdout.write(`# kill -9, exactly_once_v2, persistent: take-over restored without standbys ${without.restored} (changelogs held ${without.changelog}; revivals after ${without.revivals}); with num.standby.replicas=1 ${withStandby.restored} (held ${withStandby.changelog}; revivals after ${withStandby.revivals})\n`);
    for (const r of [without, withStandby]) assert.ok(r.changelog > 500, `the changelogs held ${r.changelog} records`);
    // Without a standby every committed changelog record is read again (markers and the dead transaction's
    // records are not counted, so somewhat fewer than the log holds).
    assert.ok(without.restored * 2 > without.changelog, `without standbys: restored ${without.restored} of ${without.changelog}`);
    assert.ok(withStandby.restored * 10 < withStandby.changelog, `with a standby: restored ${withStandby.restored} of ${withStandby.changelog}`);
  }, { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500' }); // the dead child's transaction (3 s timeout) aborted soon
});
