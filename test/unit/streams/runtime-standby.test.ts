// Standby replicas (num.standby.replicas=1) with two instances of a counting app under a steady input: the
// instance holding active tasks leaves (a clean close; a kill -9 of a child process under exactly_once_v2), the
// survivor promotes its standbys and restores only the changelog tail they lack — measured with a restore listener
// against the same run without standbys, which restores the whole changelog — and its counts stay right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumed, KafkaStreams, Materialized, Produced, Serdes, Stores, StreamsBuilder, type KafkaStreamsProps, type ReadOnlyKeyValueStore, type StateRestoreListener } from '../../../src/streams/index.js';
import { startQueryServer } from '../../../src/streams/query-server.js';
import { readCheckpoint } from '../../../src/streams/state/state-directory.js';
import { createTopics, fastProps, latest, long, readUntil, sameMap, waitFor, withBroker } from './runtime-support.js';

const S = Serdes.String();
const L = Serdes.Long();
const APP = fileURLToPath(new URL('../../helpers/streams-count-app.js', import.meta.url));
const KEYS = 40;

function topology(input: string, output: string, persistent = false): ReturnType<StreamsBuilder['build']> {
  const b = new StreamsBuilder();
  const store = persistent ? Stores.persistentKeyValueStore('counts') : Stores.inMemoryKeyValueStore('counts');
  b.stream(input, Consumed.with(S, S)).groupByKey().count(Materialized.as<string, number>(store)).toStream().to(output, Produced.with(S, L));
  return b.build();
}

/** Restores seen by an instance: records restored and the changelog records the restored partitions held. */
class Restores implements StateRestoreListener {
  restored = 0;
  /** Changelog partitions restored, and the sum of their end offsets then. */
  started = 0;
  ends = 0;
  onRestoreStart(_tp: unknown, _store: string, _start: number, end: number): void {
    this.started++;
    this.ends += end;
  }
  onRestoreEnd(_tp: unknown, _store: string, total: number): void {
    this.restored += total;
  }
  reset(): void {
    this.restored = 0;
    this.started = 0;
    this.ends = 0;
  }
}

/** The records changelog partitions hold now (end offsets: nothing is compacted away in these short runs). */
async function changelogSize(address: string, topic: string, tasks: string[]): Promise<number> {
  const admin = new Admin({ bootstrapServers: address });
  await admin.connect();
  try {
    const r = await admin.listOffsets(tasks.map((t) => ({ topic, partition: Number(t.split('_')[1]), timestamp: 'latest' as const })));
    return r.reduce((n, o) => n + o.offset, 0);
  } finally {
    await admin.close();
  }
}

/** A steady input: batches of 50 records over KEYS keys every 25 ms, until stopped or `max` records. */
function steadyInput(address: string, topic: string, max: number): { sent: () => number; counts: Map<string, number>; stop: () => Promise<void> } {
  const counts = new Map<string, number>();
  let sent = 0;
  let stopped = false;
  const p = new Producer({ bootstrapServers: address, acks: 'all', idempotent: true });
  const loop = (async () => {
    await p.connect();
    while (!stopped && sent < max) {
      const batch = Array.from({ length: 50 }, (_, i) => ({ topic, key: `k${(sent + i) % KEYS}`, value: `v${sent + i}` }));
      await p.sendBatch(batch);
      for (const r of batch) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
      sent += batch.length;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    sent: () => sent,
    counts,
    stop: async () => {
      stopped = true;
      await loop;
      await p.close();
    },
  };
}

async function newApp(topo: ReturnType<StreamsBuilder['build']>, props: KafkaStreamsProps, restores?: Restores): Promise<KafkaStreams> {
  const app = new KafkaStreams(topo, props);
  if (restores) app.setGlobalStateRestoreListener(restores);
  await app.start();
  return app;
}

/** Two instances, a leaves cleanly mid-stream; what b restored when it took a's tasks over. */
async function cleanHandOver(address: string, standbys: number): Promise<{ restored: number; changelog: number; restoreEnds: number }> {
  const input = `events-${standbys}`;
  const output = `counts-${standbys}`;
  await createTopics(address, [{ name: input, partitions: 4 }, { name: output, partitions: 4 }]);
  const dirs = [await mkdtemp(join(tmpdir(), 'standby-a-')), await mkdtemp(join(tmpdir(), 'standby-b-'))];
  const props = (dir: string): KafkaStreamsProps => fastProps(address, `standby-${standbys}`, { 'num.standby.replicas': standbys, 'state.dir': dir });
  const restores = new Restores();
  const a = await newApp(topology(input, output), props(dirs[0]));
  const b = await newApp(topology(input, output), props(dirs[1]), restores);
  const feed = steadyInput(address, input, 6000);
  try {
    await waitFor('the tasks split, each with standbys of the other\'s', () =>
      a.activeTasks().length === 2 && b.activeTasks().length === 2 && a.state() === 'RUNNING' && b.state() === 'RUNNING' &&
      a.standbyTasks().length === 2 * standbys && b.standbyTasks().length === 2 * standbys, 20_000);
    if (standbys > 0) {
      assert.deepEqual(a.standbyTasks(), b.activeTasks(), 'a keeps standbys of b\'s tasks');
      assert.deepEqual(b.standbyTasks(), a.activeTasks(), 'b keeps standbys of a\'s tasks');
    }
    await waitFor('3000 records in', () => feed.sent() >= 3000, 30_000);
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

test('kill -9 under exactly_once_v2 with persistent stores: the survivor restores only the tail; every count once', { timeout: 90_000 }, async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'ev', partitions: 4 }, { name: 'out', partitions: 4 }]);
    const dirs = [await mkdtemp(join(tmpdir(), 'standby-kill-')), await mkdtemp(join(tmpdir(), 'standby-live-'))];
    const appId = 'standby-kill';
    const child = spawn(process.execPath, [APP, address, appId, dirs[0], 'exactly_once_v2', 'ev', 'out', '100', 'persistent', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let childOut = '';
    child.stdout!.on('data', (d: Buffer) => { childOut += d.toString(); });
    const restores = new Restores();
    let b: KafkaStreams | null = null;
    const feed = steadyInput(address, 'ev', 5000);
    try {
      await waitFor('the child to run', () => childOut.includes('RUNNING'), 20_000);
      b = await newApp(topology('ev', 'out', true), fastProps(address, appId, { 'processing.guarantee': 'exactly_once_v2', 'num.standby.replicas': 1, 'state.dir': dirs[1] }), restores);
      await waitFor('b to run two tasks with two standbys', () => b!.activeTasks().length === 2 && b!.standbyTasks().length === 2 && b!.state() === 'RUNNING', 30_000);
      const standbys = b.standbyTasks();
      const moved = ['0_0', '0_1', '0_2', '0_3'].filter((t) => !b!.activeTasks().includes(t));
      // The child's tasks have counted a good part of the input (their changelogs hold it).
      for (const deadline = Date.now() + 30_000; (await changelogSize(address, `${appId}-counts-changelog`, moved)) < 1200;) {
        if (Date.now() > deadline) throw new Error('the child counts too slowly');
        await new Promise((r) => setTimeout(r, 100));
      }
      // Standbys of persistent stores checkpoint what they hold (read_committed: only committed writes).
      await waitFor('standby checkpoints', () => standbys.every((t) => existsSync(join(dirs[1], appId, t, '.checkpoint')) && readCheckpoint(join(dirs[1], appId, t)).size === 1), 10_000);
      restores.reset();
      child.kill('SIGKILL');
      const changelog = await changelogSize(address, `${appId}-counts-changelog`, moved);
      await waitFor('b to own every task', () => b!.activeTasks().length === 4 && b!.state() === 'RUNNING', 30_000);
      await feed.stop();
      const want = feed.counts;
      const out = await readUntil(address, 'out', (rs) => sameMap(latest(rs, long), want), 40_000, 'read_committed');
      process.stdout.write(`# kill -9, exactly_once_v2, persistent: restored ${restores.restored} records (${restores.started} changelog partitions); the two moved tasks' changelogs held ${changelog}\n`);
      assert.ok(changelog > 500, `the changelog held ${changelog} records`);
      assert.ok(restores.restored * 10 < changelog, `restored ${restores.restored} of ${changelog}`);
      // Every count once per key: 1, 2, ..., n in order (no count lost or doubled across the kill).
      const seqs = new Map<string, number[]>();
      for (const r of [...out].sort((x, y) => x.partition - y.partition || x.offset - y.offset)) {
        const k = r.key!.toString();
        if (!seqs.has(k)) seqs.set(k, []);
        seqs.get(k)!.push(long(r.value!));
      }
      for (const [k, n] of want) assert.deepEqual(seqs.get(k), Array.from({ length: n }, (_, i) => i + 1), `key ${k}`);
      assert.ok(readdirSync(join(dirs[1], appId)).length >= 4);
    } finally {
      await feed.stop();
      child.kill('SIGKILL');
      await b?.close();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    }
  });
});
