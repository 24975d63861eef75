/**
 * KafkaStreams against the same work done by hand with the own client (`npm run bench -- --only streams`), one
 * broker process, the same input for every case: N records of ~100 B (keys user-0..user-999, event times spread
 * over 10 minutes) on a 4-partition topic. Each case runs as a new application (a new group) reading the input
 * from the start; its rate runs from the output holding 10% of what the case must write to 100% (the output topic's
 * end offsets), so the start-up of either side (connections, group join) is its own row.
 *
 *   stateless   filter (drops 1 in 10) + mapValues (upper-case) → output; baseline: a consumer → producer loop
 *               (poll, filter, map, send; flush + commit every second) — the goal: streams ≥ 0.8× the loop
 *   windowed    groupByKey + TimeWindows 1 min + count → output; baseline: the same loop counting in a Map and
 *               writing every update (no changelog). With the record cache (statestore.cache.max.bytes, Kafka's
 *               default 10 MiB; --streams-cache-bytes) streams writes the latest count per window at each commit,
 *               so both sides' rates run on the records processed (10% → 100%) instead of the output, and a run
 *               ends when its group has committed every input offset; --streams-cache-bytes 0 is every update
 *   restore     the windowed count's store restored from its changelog by a new instance (records/s, from the
 *               StateRestoreListener); baseline: a plain consumer reading that changelog from start to end
 *
 * Rows run per processing guarantee: at_least_once, then exactly_once_v2 — skipped with a note while
 * KafkaStreams rejects it. Rounds alternate streams and baseline; medians and the ratio streams/baseline.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { Admin } from '../src/client/admin.js';
import { Consumer } from '../src/client/consumer.js';
import { Producer } from '../src/client/producer.js';
import {
  Consumed, Grouped, KafkaStreams, keyValue, Materialized, Produced, Serdes, StreamsBuilder, TimeWindows, type KafkaStreamsProps,
} from '../src/streams/index.js';
import { median } from './support.js';
import { spawnBroker, type BrokerProcess } from '../test/compat/support/broker-process.js';

export interface StreamsBenchOptions {
  workDir: string;
  records: number;
  rounds: number;
  /** statestore.cache.max.bytes of the applications (default Kafka's 10485760; 0: no caching). */
  cacheBytes?: number;
}

interface Row { name: string; guarantee: string; streams: number[]; baseline: number[]; streamsMedian: number; baselineMedian: number; ratio: number; unit: string }

export interface StreamsBenchResult {
  date: string;
  records: number;
  rounds: number;
  cacheBytes: number;
  rows: Row[];
  notes: string[];
}

const PARTITIONS = 4;
const INPUT = 'bench-streams-in';
const GUARANTEES = ['at_least_once', 'exactly_once_v2'] as const;
const S = Serdes.String();
const TIMEOUT_MS = 5 * 60_000;
let seq = 0;

const keep = (v: string): boolean => !v.endsWith('7');
const upper = (v: string): string => v.toUpperCase();

async function produceInput(address: string, count: number): Promise<void> {
  const p = new Producer({ bootstrapServers: address, acks: 1, idempotent: false, lingerMs: 5 });
  await p.connect();
  try {
    const pad = 'x'.repeat(80);
    const base = Date.now() - 10 * 60_000;
    for (let i = 0; i < count; i += 5000) {
      const n = Math.min(5000, count - i);
      await p.sendBatch(Array.from({ length: n }, (_, j) => {
        const k = i + j;
        return { topic: INPUT, key: `user-${k % 1000}`, value: `${pad}-${k}`, timestamp: base + Math.floor((k / count) * 10 * 60_000) };
      }));
    }
  } finally {
    await p.close();
  }
}

async function endOffsetSum(admin: Admin, topic: string): Promise<number> {
  const ends = await admin.listOffsets(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, timestamp: 'latest' as const })));
  return ends.reduce((n, e) => n + e.offset, 0);
}

/**
 * Waits for the output to hold `expected` records; the rate is taken from the output reaching 10% to its reaching
 * 100%, so the start-up (connections, the group join) and the first flushes are left out of both sides;
 * `startupMs` (to 10% of the output) is reported in its own row.
 */
async function waitForOutput(admin: Admin, topic: string, expected: number, started: number): Promise<Timing> {
  const deadline = Date.now() + TIMEOUT_MS;
  let first: { at: number; count: number } | null = null;
  for (;;) {
    const n = await endOffsetSum(admin, topic);
    const at = performance.now();
    if (first === null && n >= expected / 10) first = { at, count: n };
    if (n >= expected) {
      const f = first!;
      // Everything arrived in one look: the whole run is the measure.
      const rate = at > f.at ? (expected - f.count) / ((at - f.at) / 1000) : expected / ((at - started) / 1000);
      return { rate, startupMs: f.at - started, totalMs: at - started };
    }
    if (Date.now() > deadline) throw new Error(`bench: ${topic} did not reach ${expected} records in time`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Timing { rate: number; startupMs: number; totalMs: number; cpuUsPerRecord?: number }

/**
 * The windowed case, whose output (cached) holds fewer records than its input: the rate runs on the records each
 * side has processed (streams: process-total; the loop: records handed to its producer), 10% to 100%; the case
 * ends once the group has committed every input offset (a commit comes after the flush of what it covers, so
 * every count is written by then).
 */
async function waitForProcessed(admin: Admin, group: string, processed: () => number, expected: number, started: number): Promise<Timing> {
  const deadline = Date.now() + TIMEOUT_MS;
  let first: { at: number; count: number } | null = null;
  let all: number | null = null;
  for (;;) {
    const n = processed();
    const at = performance.now();
    if (first === null && n >= expected / 10) first = { at, count: n };
    if (all === null && n >= expected) all = at;
    if (all !== null) {
      const committed = (await admin.listGroupOffsets(group)).filter((o) => o.topic === INPUT && o.offset > 0).reduce((sum, o) => sum + o.offset, 0);
      if (committed >= expected) {
        const f = first!;
        const rate = all > f.at ? (expected - f.count) / ((all - f.at) / 1000) : expected / ((all - started) / 1000);
        return { rate, startupMs: f.at - started, totalMs: performance.now() - started };
      }
    }
    if (Date.now() > deadline) throw new Error(`bench: group ${group} did not process and commit ${expected} records in time`);
    await new Promise((r) => setTimeout(r, all === null ? 5 : 20));
  }
}

/** This process's CPU (user + system) per record since `since` (both sides run in the bench process, with the same output polling). */
function cpuPerRecord(since: NodeJS.CpuUsage, records: number): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / records;
}

/** statestore.cache.max.bytes of this run's applications. */
let cacheBytes = 10 * 1024 * 1024;

function props(address: string, appId: string, guarantee: string): KafkaStreamsProps {
  return {
    'application.id': appId, 'bootstrap.servers': address, 'processing.guarantee': guarantee as KafkaStreamsProps['processing.guarantee'],
    'commit.interval.ms': 1000, 'replication.factor': 1, 'tributary.topology.publish': false, 'statestore.cache.max.bytes': cacheBytes,
  };
}

/** The hand-written loop: a group consumer, `work` per record (records to send), a flush and commit every second. */
async function handLoop(address: string, groupId: string, work: (key: string, value: string, timestamp: number) => Array<{ key: string; value: string }>, output: string, expected: number, admin: Admin, byProcessed = false): Promise<Timing> {
  const consumer = new Consumer({ bootstrapServers: address, groupId, enableAutoCommit: false, autoOffsetReset: 'earliest' });
  const producer = new Producer({ bootstrapServers: address, acks: 'all', idempotent: true, lingerMs: 100 });
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe([INPUT]);
  let done = false;
  let processed = 0;
  const finished = (byProcessed ? waitForProcessed(admin, groupId, () => processed, expected, started) : waitForOutput(admin, output, expected, started))
    .finally(() => { done = true; });
  let pending: Array<Promise<unknown>> = [];
  let nextCommit = Date.now() + 1000;
  try {
    while (!done) {
      for (const r of await consumer.poll(100)) {
        processed++;
        for (const out of work(r.key!.toString(), r.value!.toString(), r.timestamp)) pending.push(producer.send({ topic: output, key: out.key, value: out.value }));
      }
      if (Date.now() >= nextCommit) {
        await Promise.all(pending);
        pending = [];
        await consumer.commit();
        nextCommit = Date.now() + 1000;
      }
    }
    const t = await finished;
    return { ...t, cpuUsPerRecord: cpuPerRecord(cpu0, expected) };
  } finally {
    await Promise.all(pending).catch(() => undefined);
    await consumer.close();
    await producer.close();
  }
}

async function createOutput(admin: Admin, name: string): Promise<string> {
  await admin.createTopics([{ name, numPartitions: PARTITIONS, replicationFactor: 1 }]);
  return name;
}

type Case = 'stateless' | 'windowed';

async function runStreams(address: string, admin: Admin, which: Case, guarantee: string, expected: number): Promise<Timing & { appId: string }> {
  const appId = `bench-${which}-${++seq}`;
  const output = await createOutput(admin, `${appId}-out`);
  const b = new StreamsBuilder();
  const input = b.stream(INPUT, Consumed.with(S, S));
  if (which === 'stateless') {
    input.filter((_k, v) => keep(v)).mapValues(upper).to(output, Produced.with(S, S));
  } else {
    input.groupByKey(Grouped.with(S, S)).windowedBy(TimeWindows.ofSizeWithNoGrace(60_000)).count(Materialized.with(S, Serdes.Long()))
      .toStream().map((w, n) => keyValue(`${w.key}@${w.window.start}`, String(n))).to(output, Produced.with(S, S));
  }
  const app = new KafkaStreams(b.build(), props(address, appId, guarantee));
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  await app.start();
  try {
    const t = which === 'windowed'
      ? await waitForProcessed(admin, appId, () => app.metrics()['process-total'], expected, started)
      : await waitForOutput(admin, output, expected, started);
    return { ...t, cpuUsPerRecord: cpuPerRecord(cpu0, expected), appId };
  } finally {
    await app.close();
  }
}

async function runLoop(address: string, admin: Admin, which: Case, expected: number): Promise<Timing> {
  const groupId = `bench-loop-${which}-${++seq}`;
  const output = await createOutput(admin, `${groupId}-out`);
  if (which === 'stateless') return handLoop(address, groupId, (k, v) => (keep(v) ? [{ key: k, value: upper(v) }] : []), output, expected, admin);
  const counts = new Map<string, number>();
  return handLoop(address, groupId, (k, _v, ts) => {
    const key = `${k}@${ts - (ts % 60_000)}`;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return [{ key, value: String(n) }];
  }, output, expected, admin, true);
}

/** Restores the windowed count's store in a new instance: records/s from the restore listener. */
async function runRestore(address: string, appId: string, guarantee: string): Promise<{ rate: number; changelog: string }> {
  const b = new StreamsBuilder();
  b.stream(INPUT, Consumed.with(S, S)).groupByKey(Grouped.with(S, S)).windowedBy(TimeWindows.ofSizeWithNoGrace(60_000)).count(Materialized.with(S, Serdes.Long()))
    .toStream().map((w, n) => keyValue(`${w.key}@${w.window.start}`, String(n))).to(`${appId}-out`, Produced.with(S, S));
  const app = new KafkaStreams(b.build(), props(address, appId, guarantee));
  let restored = 0;
  let first = 0;
  let last = 0;
  let changelog = '';
  let ended = 0;
  app.setGlobalStateRestoreListener({
    onRestoreStart: (tp) => { if (first === 0) first = performance.now(); changelog = tp.topic; },
    onRestoreEnd: (_tp, _store, total) => { restored += total; last = performance.now(); ended++; },
  });
  await app.start();
  try {
    const deadline = Date.now() + TIMEOUT_MS;
    while (ended < PARTITIONS) {
      if (Date.now() > deadline) throw new Error('bench: the restore did not finish in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await app.close();
  }
  return { rate: restored / ((last - first) / 1000), changelog };
}

/** Baseline for the restore: a group-less consumer reading the changelog from start to end. */
async function readTopic(address: string, admin: Admin, topic: string): Promise<number> {
  const ends = await admin.listOffsets(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, timestamp: 'latest' as const })));
  const total = ends.reduce((n, e) => n + e.offset, 0);
  const c = new Consumer({ bootstrapServers: address, enableAutoCommit: false, autoOffsetReset: 'earliest' });
  const started = performance.now();
  await c.connect();
  try {
    c.assign(ends.map((e) => ({ topic, partition: e.partition })));
    // Until every position reaches its end offset: a changelog written in transactions holds commit markers, which
    // take offsets but are no records.
    let n = 0;
    const reached = (): boolean => ends.every((e) => (c.position({ topic, partition: e.partition }) ?? -1) >= e.offset);
    while (!reached()) n += (await c.poll(100)).length;
    return (n > 0 ? n : total) / ((performance.now() - started) / 1000);
  } finally {
    await c.close();
  }
}

/** ratio: streams ÷ baseline for rates; for costs (`lowerIsBetter`) baseline ÷ streams, so above 1 is streams ahead either way. */
function row(name: string, guarantee: string, unit: string, streams: number[], baseline: number[], lowerIsBetter = false): Row {
  const s = median(streams);
  const b = median(baseline);
  return { name, guarantee, unit, streams, baseline, streamsMedian: s, baselineMedian: b, ratio: lowerIsBetter ? b / s : s / b };
}

export async function runStreamsBench(options: StreamsBenchOptions): Promise<StreamsBenchResult> {
  cacheBytes = options.cacheBytes ?? 10 * 1024 * 1024;
  const dir = await mkdtemp(join(options.workDir, 'streams-'));
  const broker: BrokerProcess = await spawnBroker(join(dir, 'data'), { settings: { 'group.initial.rebalance.delay.ms': '0' } });
  const admin = new Admin({ bootstrapServers: broker.address });
  const notes: string[] = [];
  const rows: Row[] = [];
  try {
    await admin.connect();
    await admin.createTopics([{ name: INPUT, numPartitions: PARTITIONS, replicationFactor: 1 }]);
    await produceInput(broker.address, options.records);
    const kept = Array.from({ length: options.records }, (_, k) => keep(`-${k}`)).filter(Boolean).length;
    console.log(`streams bench: ${options.records} input records on ${PARTITIONS} partitions, ${options.rounds} round(s), statestore.cache.max.bytes=${cacheBytes}`);
    for (const guarantee of GUARANTEES) {
      try {
        new KafkaStreams(new StreamsBuilder().build(), props(broker.address, 'bench-probe', guarantee));
      } catch (err) {
        notes.push(`${guarantee}: skipped (${(err as Error).message})`);
        console.log(`  ${guarantee}: skipped — ${(err as Error).message}`);
        continue;
      }
      const startup = { streams: [] as number[], loop: [] as number[] };
      const cpu = { stateless: { streams: [] as number[], loop: [] as number[] }, windowed: { streams: [] as number[], loop: [] as number[] } };
      let current: 'stateless' | 'windowed' = 'stateless';
      const take = (t: Timing, side: 'streams' | 'loop'): number => {
        startup[side].push(t.startupMs);
        if (t.cpuUsPerRecord !== undefined) cpu[current][side].push(t.cpuUsPerRecord);
        return t.rate;
      };
      const stateless = { streams: [] as number[], loop: [] as number[] };
      const windowed = { streams: [] as number[], loop: [] as number[] };
      const restore = { streams: [] as number[], read: [] as number[] };
      for (let round = 0; round < options.rounds; round++) {
        // Alternate which side goes first.
        const order = round % 2 === 0 ? ['s', 'l'] : ['l', 's'];
        current = 'stateless';
        for (const side of order) {
          if (side === 's') stateless.streams.push(take(await runStreams(broker.address, admin, 'stateless', guarantee, kept), 'streams'));
          else stateless.loop.push(take(await runLoop(broker.address, admin, 'stateless', kept), 'loop'));
        }
        let appId = '';
        current = 'windowed';
        for (const side of order) {
          if (side === 's') {
            const r = await runStreams(broker.address, admin, 'windowed', guarantee, options.records);
            appId = r.appId;
            windowed.streams.push(take(r, 'streams'));
          } else windowed.loop.push(take(await runLoop(broker.address, admin, 'windowed', options.records), 'loop'));
        }
        const r = await runRestore(broker.address, appId, guarantee);
        restore.streams.push(r.rate);
        restore.read.push(await readTopic(broker.address, admin, r.changelog));
        console.log(`  ${guarantee} round ${round + 1}: stateless ${Math.round(stateless.streams.at(-1)!)} vs ${Math.round(stateless.loop.at(-1)!)} rec/s, windowed ${Math.round(windowed.streams.at(-1)!)} vs ${Math.round(windowed.loop.at(-1)!)} rec/s, restore ${Math.round(restore.streams.at(-1)!)} vs read ${Math.round(restore.read.at(-1)!)} rec/s`);
      }
      rows.push(row('stateless filter+mapValues', guarantee, 'records/s', stateless.streams, stateless.loop));
      rows.push(row('windowed count (1 min)', guarantee, 'records/s', windowed.streams, windowed.loop));
      rows.push(row('restore from changelog', guarantee, 'records/s', restore.streams, restore.read));
      rows.push(row('stateless, CPU per record', guarantee, 'us', cpu.stateless.streams, cpu.stateless.loop, true));
      rows.push(row('windowed, CPU per record', guarantee, 'us', cpu.windowed.streams, cpu.windowed.loop, true));
      rows.push(row('start-up to 10% of the output', guarantee, 'ms', startup.streams, startup.loop, true));
    }
  } finally {
    await admin.close().catch(() => undefined);
    await broker.stop();
  }
  return { date: new Date().toISOString(), records: options.records, rounds: options.rounds, cacheBytes, rows, notes };
}

export function formatStreamsTable(result: StreamsBenchResult): string {
  const lines = [`\nStreams: ${result.records.toLocaleString('en-US')} input records, median of ${result.rounds} round(s), statestore.cache.max.bytes=${result.cacheBytes}; baseline: the hand-written loop with the own client (restore: a plain read of the changelog)`];
  const cell = (s: string, n: number): string => s.padEnd(n);
  lines.push(cell('case', 30) + cell('guarantee', 18) + cell('streams rec/s', 16) + cell('baseline rec/s', 16) + 'streams/baseline');
  lines[1] = cell('case', 30) + cell('guarantee', 18) + cell('streams', 16) + cell('baseline', 16) + 'streams/baseline';
  const fmt = (r: Row, v: number): string => (r.unit === 'us' ? `${v.toFixed(2)} us/rec` : `${Math.round(v)} ${r.unit === 'ms' ? 'ms' : 'rec/s'}`);
  for (const r of result.rows) lines.push(cell(r.name, 30) + cell(r.guarantee, 18) + cell(fmt(r, r.streamsMedian), 16) + cell(fmt(r, r.baselineMedian), 16) + r.ratio.toFixed(2));
  lines.push('rates run from the output holding 10% of its records to 100% (windowed: from 10% of the input processed to 100%, as the');
  lines.push('cache writes fewer records than it reads; start-up, in its own row, left out of both sides); CPU rows');
  lines.push('are this process\'s CPU per input record from start to the last output, ratio baseline ÷ streams (for costs, above 1 is streams ahead)');
  for (const n of result.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
