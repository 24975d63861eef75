// KafkaStreams with processing.guarantee=exactly_once_v2 against the in-process broker: transactional output, an
// exception mid-transaction leaves nothing behind, and kill -9 of a streams process under load neither loses nor
// doubles a count (STREAMS_EOS_KILL_CYCLES sets the cycles; 3 here; STREAMS_EOS_KILL_GUARANTEE=at_least_once
// runs the same loop at-least-once for comparison). The kill loop and the hand-over run with record caches on (the
// default): counts are checked as strictly increasing per key, ending at the key's input count. At-least-once
// fails the loop with repeated counts without caches (STREAMS_EOS_KILL_CACHE_BYTES=0: changelog and output run
// ahead of the committed offsets); with them only a kill between a commit's flush and its offset commit does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import type { ConsumerRecord } from '../../../src/client/consumer.js';
import { Consumed, KafkaStreams, Materialized, Produced, Serdes, StreamsBuilder, StreamsException } from '../../../src/streams/index.js';
import { countsReached, createTopics, fastProps, increasingCounts, long, produce, readUntil, startApp, str, waitFor, withBroker } from './runtime-support.js';

const S = Serdes.String();
const L = Serdes.Long();
const APP = fileURLToPath(new URL('../../helpers/streams-count-app.js', import.meta.url));

/** Per key, the counts in the order they were written; asserts each is 1, 2, …, n with n the key's input count. */
function assertExactCounts(out: ConsumerRecord[], expected: Map<string, number>): void {
  const seqs = new Map<string, number[]>();
  for (const r of [...out].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const k = str(r.key!);
    let s = seqs.get(k);
    if (!s) seqs.set(k, (s = []));
    s.push(long(r.value!));
  }
  assert.deepEqual([...seqs.keys()].sort(), [...expected.keys()].sort(), 'every key counted');
  for (const [k, n] of expected) {
    const seq = seqs.get(k)!;
    const bad = seq.findIndex((c, i) => c !== i + 1);
    assert.equal(bad, -1, `key ${k}: counts ${seq.slice(Math.max(0, bad - 3), bad + 3).join(',')} around position ${bad} (a repeat or a gap)`);
    assert.equal(seq.length, n, `key ${k}: ${seq.length} counts for ${n} records`);
  }
}

async function endOffsets(address: string, topic: string, partitions: number): Promise<number[]> {
  const admin = new Admin({ bootstrapServers: address });
  await admin.connect();
  try {
    const r = await admin.listOffsets(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, timestamp: 'latest' as const })));
    return r.map((o) => o.offset);
  } finally {
    await admin.close();
  }
}

test('exactly_once_v2: counts written in transactions, read_committed sees each count once; commit markers take offsets', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'events', partitions: 2 }, { name: 'counts-out', partitions: 2 }]);
    const b = new StreamsBuilder();
    b.stream('events', Consumed.with(S, S)).groupByKey().count(Materialized.as('counts')).toStream().to('counts-out', Produced.with(S, L));
    const stateDir = await mkdtemp(join(tmpdir(), 'streams-eos-'));
    // No record cache (0 bytes): every count is written, each once (the tests below run with the cache).
    const { app } = await startApp(b.build(), fastProps(address, 'eos-count', { 'processing.guarantee': 'exactly_once_v2', 'state.dir': stateDir, 'statestore.cache.max.bytes': 0 }));
    try {
      const input = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 10}`, value: `v${i}` }));
      for (let i = 0; i < input.length; i += 50) await produce(address, 'events', input.slice(i, i + 50));
      const out = await readUntil(address, 'counts-out', (rs) => rs.length >= input.length, 20_000, 'read_committed');
      assert.equal(out.length, input.length);
      assertExactCounts(out, new Map(Array.from({ length: 10 }, (_, k) => [`k${k}`, 30])));
      // Transactions leave a marker after each partition's writes: the log ends past the records.
      const ends = await endOffsets(address, 'counts-out', 2);
      assert.ok(ends[0] + ends[1] > input.length, `end offsets ${ends.join(',')} include commit markers`);
    } finally {
      await app.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

test('exactly_once_v2: an exception mid-transaction aborts it — the restarted app writes each result once (at-least-once writes some twice)', async () => {
  for (const guarantee of ['exactly_once_v2', 'at_least_once'] as const) {
    await withBroker(async (address) => {
      await createTopics(address, [{ name: 'in', partitions: 1 }, { name: 'out', partitions: 1 }]);
      let throwOnBoom = true;
      const topology = (): ReturnType<StreamsBuilder['build']> => {
        const b = new StreamsBuilder();
        b.stream('in', Consumed.with(S, S)).mapValues((v) => {
          if (v === 'boom' && throwOnBoom) throw new Error('boom');
          return v.toUpperCase();
        }).to('out', Produced.with(S, S));
        return b.build();
      };
      const input = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: i === 10 ? 'boom' : `v${i}` }));
      await produce(address, 'in', input);
      const stateDir = await mkdtemp(join(tmpdir(), 'streams-eos-'));
      // No commit before the exception: everything the first instance wrote is in its open transaction.
      const props = fastProps(address, `boom-${guarantee}`, { 'processing.guarantee': guarantee, 'commit.interval.ms': 60_000, 'state.dir': stateDir });
      const first = new KafkaStreams(topology(), props);
      const failed = new Promise<Error>((resolve) => first.setUncaughtExceptionHandler(resolve));
      await first.start();
      assert.match((await failed).message, /boom/);
      assert.equal(first.state(), 'ERROR');
      throwOnBoom = false;
      const { app: second } = await startApp(topology(), { ...props, 'commit.interval.ms': 100 });
      try {
        const expected = input.map((r) => `${r.key}=${r.value.toUpperCase()}`);
        if (guarantee === 'exactly_once_v2') {
          const out = await readUntil(address, 'out', (rs) => rs.length >= 20, 15_000, 'read_committed');
          await new Promise((r) => setTimeout(r, 300));
          const again = await readUntil(address, 'out', (rs) => rs.length >= 20, 15_000, 'read_committed');
          assert.deepEqual(out.map((r) => `${str(r.key!)}=${str(r.value!)}`), expected);
          assert.equal(again.length, 20, 'nothing more became visible');
        } else {
          // The first instance's 10 results before the exception were flushed at its shutdown, then done again.
          const out = await readUntil(address, 'out', (rs) => rs.length >= 30, 15_000);
          assert.deepEqual(out.slice(10).map((r) => `${str(r.key!)}=${str(r.value!)}`), expected);
        }
      } finally {
        await second.close();
        await rm(stateDir, { recursive: true, force: true });
      }
    });
  }
});

test('exactly_once_v2: a second instance joins mid-stream and the first leaves — every count once through both hand-overs', { timeout: 60_000 }, async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'events', partitions: 4 }, { name: 'counts-out', partitions: 4 }]);
    const topology = (): ReturnType<StreamsBuilder['build']> => {
      const b = new StreamsBuilder();
      b.stream('events', Consumed.with(S, S)).groupByKey().count(Materialized.as('counts')).toStream().to('counts-out', Produced.with(S, L));
      return b.build();
    };
    const stateDir = await mkdtemp(join(tmpdir(), 'streams-eos-'));
    const props = fastProps(address, 'eos-pair', { 'processing.guarantee': 'exactly_once_v2', 'state.dir': stateDir });
    const expected = new Map<string, number>();
    let n = 0;
    const send = async (count: number): Promise<void> => {
      const batch = Array.from({ length: count }, (_, i) => ({ key: `k${(n + i) % 16}`, value: `v${n + i}` }));
      for (const r of batch) expected.set(r.key, (expected.get(r.key) ?? 0) + 1);
      n += count;
      await produce(address, 'events', batch);
    };
    const a = await startApp(topology(), props);
    let b: Awaited<ReturnType<typeof startApp>> | null = null;
    try {
      await send(200);
      // b joins while records keep coming: a commits its transaction as it hands two tasks over.
      const joining = startApp(topology(), props);
      for (let i = 0; i < 5; i++) await send(40);
      b = await joining;
      await waitFor('the tasks to be split', () => a.app.activeTasks().length === 2 && b!.app.activeTasks().length === 2);
      await send(200);
      // a leaves: b takes every task, restoring a's stores from the committed changelog.
      const closing = a.app.close();
      for (let i = 0; i < 5; i++) await send(40);
      await closing;
      await waitFor('b to own every task', () => b!.app.activeTasks().length === 4 && b!.app.state() === 'RUNNING');
      await send(100);
      // With the record cache (the default) the counts are written at commits: fewer, each larger than the last.
      const out = await readUntil(address, 'counts-out', (rs) => countsReached(rs, expected, long), 30_000, 'read_committed');
      assert.deepEqual(increasingCounts(out, expected, long), []);
    } finally {
      await b?.app.close();
      await a.app.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

test('processing.guarantee: anything but the two names is refused', () => {
  const b = new StreamsBuilder();
  b.stream('a', Consumed.with(S, S)).to('b', Produced.with(S, S));
  assert.throws(() => new KafkaStreams(b.build(), fastProps('127.0.0.1:1', 'bad', { 'processing.guarantee': 'exactly_once' as 'exactly_once_v2' })), StreamsException);
});

interface Child { proc: ChildProcess; running: Promise<void>; exited: Promise<number | null>; output: string[] }

function startChild(args: string[]): Child {
  const proc = spawn(process.execPath, [APP, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const running = new Promise<void>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (/^RUNNING$/m.test(buf)) resolve();
    });
    proc.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    void exited.then((code) => reject(new Error(`the streams process exited (${code}) before running: ${output.join('')}`)));
  });
  running.catch(() => {});
  return { proc, running, exited, output };
}

for (const storeType of ['memory', 'persistent'] as const) {
test(`exactly_once_v2: kill -9 of the streams process under load, restarted each time — no count lost or doubled (${storeType} store)`, { timeout: 120_000 }, async () => {
  const cycles = Number(process.env.STREAMS_EOS_KILL_CYCLES ?? 3);
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'clicks', partitions: 2 }, { name: 'click-counts', partitions: 2 }]);
    const stateDir = await mkdtemp(join(tmpdir(), 'streams-eos-kill-'));
    // Commits every 500 ms, so a kill lands between commits with output already sent. STREAMS_EOS_KILL_GUARANTEE=
    // at_least_once runs the same loop without transactions: it then fails with repeated counts.
    const args = [address, 'eos-kill', stateDir, process.env.STREAMS_EOS_KILL_GUARANTEE ?? 'exactly_once_v2', 'clicks', 'click-counts', '500', storeType];
    if (process.env.STREAMS_EOS_KILL_CACHE_BYTES !== undefined) args.push('', '', process.env.STREAMS_EOS_KILL_CACHE_BYTES);
    const keys = 25;
    const expected = new Map<string, number>();
    const producer = new Producer({ bootstrapServers: address, acks: 'all', lingerMs: 2 });
    await producer.connect();
    let sent = 0;
    let producing = true;
    // The input: a steady stream of 100 records every 20 ms for as long as the kills go on (bounded by the cycles).
    const load = (async () => {
      while (producing) {
        const batch = Array.from({ length: 100 }, (_, i) => ({ topic: 'clicks', key: `user${(sent + i) % keys}`, value: `c${sent + i}` }));
        await producer.sendBatch(batch);
        for (const r of batch) expected.set(r.key, (expected.get(r.key) ?? 0) + 1);
        sent += batch.length;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let child: Child | null = null;
    const kills: Array<{ afterMs: number }> = [];
    try {
      for (let c = 0; c < cycles; c++) {
        child = startChild(args);
        await child.running;
        const afterMs = 200 + Math.floor(Math.random() * 800);
        await new Promise((r) => setTimeout(r, afterMs));
        child.proc.kill('SIGKILL');
        await child.exited;
        kills.push({ afterMs });
      }
      producing = false;
      await load;
      child = startChild(args);
      await child.running;
      // The helper runs with the record cache (the default): counts are written at commits, each larger than the
      // last, the last one the key's input count — no count lost or doubled.
      const out = await readUntil(address, 'click-counts', (rs) => countsReached(rs, expected, long), 60_000, 'read_committed');
      assert.deepEqual(increasingCounts(out, expected, long), []);
      if (process.env.STREAMS_EOS_KILL_CACHE_BYTES !== '0') assert.ok(out.length < sent, `the cache wrote fewer counts (${out.length}) than records (${sent})`);
      process.stdout.write(`# kill -9 loop: ${JSON.stringify({ storeType, cycles, kills, records: sent, counts: out.length })}\n`);
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited, 0, 'the last instance closes cleanly');
      child = null;
    } finally {
      producing = false;
      await load.catch(() => {});
      if (child) {
        child.proc.kill('SIGKILL');
        await child.exited;
      }
      await producer.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
}
