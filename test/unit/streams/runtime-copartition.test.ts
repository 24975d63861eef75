// Co-partitioning across instances: the streams assignor hands out whole tasks (partition p of every input of a
// sub-topology), so two instances of a join application, the second joining mid-stream, still join every record
// with its match. And joined topics with different partition counts are refused at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumed, JoinWindows, KafkaStreams, Materialized, Produced, Serdes, StreamsBuilder, TopologyException, type ReadOnlyKeyValueStore } from '../../../src/streams/index.js';
import { createTopics, fastProps, produce, readUntil, startApp, str, waitFor, withBroker } from './runtime-support.js';

const S = Serdes.String();
type Started = Awaited<ReturnType<typeof startApp>>;

/**
 * A second sub-topology over a 2-partition topic: with it, the generic cooperative-sticky assignor hands
 * users-1 and clicks-1 to different instances when the second one joins (task 0_1 split in two).
 */
function withEvents(b: StreamsBuilder): StreamsBuilder {
  b.stream('events', Consumed.with(S, S)).mapValues((v) => v.toUpperCase()).to('events-out', Produced.with(S, S));
  return b;
}

function tableJoin(): ReturnType<StreamsBuilder['build']> {
  const b = withEvents(new StreamsBuilder());
  const users = b.table('users', Consumed.with(S, S), Materialized.as<string, string>('users-store'));
  b.stream('clicks', Consumed.with(S, S)).join(users, (c, name) => `${c}|${name}`).to('out', Produced.with(S, S));
  return b.build();
}

function windowJoin(): ReturnType<StreamsBuilder['build']> {
  const b = withEvents(new StreamsBuilder());
  const right = b.stream('right', Consumed.with(S, S));
  b.stream('left', Consumed.with(S, S)).join(right, (l, r) => `${l}+${r}`, JoinWindows.ofTimeDifferenceWithNoGrace(60_000)).to('out', Produced.with(S, S));
  return b.build();
}

/** Both instances run, their tasks disjoint and together all of them. */
async function split(a: Started, b: Started, tasks: number): Promise<void> {
  await waitFor('the tasks to be split', () => {
    const ta = a.app.activeTasks();
    const tb = b.app.activeTasks();
    return ta.length > 0 && tb.length > 0 && ta.length + tb.length === tasks && new Set([...ta, ...tb]).size === tasks &&
      a.app.state() === 'RUNNING' && b.app.state() === 'RUNNING';
  }, 20_000);
}

const eventTopics = [{ name: 'events', partitions: 2 }, { name: 'events-out', partitions: 2 }];

async function outputs(address: string, want: Set<string>): Promise<Set<string>> {
  const rs = await readUntil(address, 'out', (got) => [...want].every((w) => got.some((r) => `${r.key!.toString()}=${str(r.value!)}` === w)), 20_000);
  return new Set(rs.map((r) => `${r.key!.toString()}=${str(r.value!)}`));
}

test('stream-table join over two instances, the second joining mid-stream: every click joins its user', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'users', partitions: 4 }, { name: 'clicks', partitions: 4 }, { name: 'out', partitions: 4 }, ...eventTopics]);
    await produce(address, 'users', Array.from({ length: 16 }, (_, i) => ({ key: `u${i}`, value: `name${i}`, timestamp: 1000 })));
    const props = fastProps(address, 'copart-table');
    const a = await startApp(tableJoin(), props);
    let b: Started | null = null;
    try {
      await waitFor('a to load the table', () => a.app.store('users-store').approximateNumEntries() === 16);
      const clicks = Array.from({ length: 160 }, (_, i) => ({ key: `u${i % 16}`, value: `c${i}`, timestamp: 2000 + i }));
      await produce(address, 'clicks', clicks.slice(0, 80));
      const want1 = new Set(clicks.slice(0, 80).map((c) => `${c.key}=${c.value}|name${c.key.slice(1)}`));
      await outputs(address, want1);
      b = await startApp(tableJoin(), props);
      await split(a, b, 6);
      // The table changes after the hand-over: later clicks must see the new names wherever their task runs.
      await produce(address, 'users', Array.from({ length: 16 }, (_, i) => ({ key: `u${i}`, value: `new${i}`, timestamp: 3000 })));
      await waitFor('both instances to hold the new names', () => {
        const all = [...a.app.store<ReadOnlyKeyValueStore<string, string>>('users-store').all(), ...b!.app.store<ReadOnlyKeyValueStore<string, string>>('users-store').all()];
        return all.length === 16 && all.every((e) => e.value === `new${e.key.slice(1)}`);
      });
      await produce(address, 'clicks', clicks.slice(80).map((c) => ({ ...c, timestamp: c.timestamp + 2000 })));
      const want = new Set([...want1, ...clicks.slice(80).map((c) => `${c.key}=${c.value}|new${c.key.slice(1)}`)]);
      const got = await outputs(address, want);
      assert.deepEqual([...got].filter((g) => !want.has(g)), [], 'nothing but the reference');
      // Each instance holds whole tasks: its table store has exactly the users of its partitions.
      const na = a.app.store('users-store').approximateNumEntries();
      const nb = b.app.store('users-store').approximateNumEntries();
      assert.equal(na + nb, 16);
      assert.ok(na > 0 && nb > 0);
    } finally {
      await b?.app.close();
      await a.app.close();
    }
  });
});

test('stream-stream windowed join over two instances, the second joining mid-stream', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'left', partitions: 4 }, { name: 'right', partitions: 4 }, { name: 'out', partitions: 4 }, ...eventTopics]);
    const props = fastProps(address, 'copart-window');
    const a = await startApp(windowJoin(), props);
    let b: Started | null = null;
    try {
      const n = 80;
      const half = n / 2;
      // Pair i: left at t, right at t+1, key k<i>; each pair joins exactly once.
      const lefts = Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `l${i}`, timestamp: 10_000 + i * 10 }));
      const rights = Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `r${i}`, timestamp: 10_001 + i * 10 }));
      await produce(address, 'left', lefts.slice(0, half));
      await produce(address, 'right', rights.slice(0, half / 2));
      b = await startApp(windowJoin(), props);
      await split(a, b, 6);
      await produce(address, 'right', rights.slice(half / 2, half));
      await produce(address, 'left', lefts.slice(half));
      await produce(address, 'right', rights.slice(half));
      const want = new Set(lefts.map((l, i) => `${l.key}=l${i}+r${i}`));
      const got = await outputs(address, want);
      assert.deepEqual([...got].filter((g) => !want.has(g)), []);
    } finally {
      await b?.app.close();
      await a.app.close();
    }
  });
});

test('joined topics with different partition counts: a TopologyException naming them', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'users', partitions: 4 }, { name: 'clicks', partitions: 3 }, { name: 'out', partitions: 4 }, ...eventTopics]);
    const app = new KafkaStreams(tableJoin(), fastProps(address, 'copart-bad'));
    await assert.rejects(app.start(), (err: Error) => err instanceof TopologyException && /clicks=3/.test(err.message) && /users=4/.test(err.message));
    assert.equal(app.state(), 'ERROR');
  });
});
