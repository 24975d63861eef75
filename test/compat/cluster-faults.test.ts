/**
 * The failure cases of docs/CLUSTER.md, each under acks=all load from real clients, judged by the history
 * checker: every acknowledged record is read back exactly once, in offset order per partition, at the offset it
 * was acknowledged at (lost 0, duplicates 0); after healing every replica of every partition is byte-identical
 * (brokers stopped cleanly, data directories compared).
 *
 *   a. kill -9 of a partition leader, restarted each time, full ISR awaited (CLUSTER_FAULT_CYCLES, default 3)
 *   b. SIGSTOP of a leader for longer than its lease, then SIGCONT (a zombie leader)
 *   c. a broker cut off from etcd and from the other brokers and clients for ~5 s (fault proxies), then healed
 *   d. rolling restart (SIGTERM each broker in turn), with our Producer and confluent-kafka producing
 *   e. a 3-member etcd losing its leader member under load (and a broker killed after that)
 *   f. all of etcd down for ~5 s under load: existing leaders keep acknowledging; the cluster recovers after
 *
 * Every broker is a real `tributary start --etcd` process (startDevCluster). Each test prints one summary line
 * (`# fault …`) with its counts and timings.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevCluster, type DevCluster } from '../../src/cli/dev-cluster.js';
import { type PartitionDescription } from '../../src/client/admin.js';
import { HistoryChecker, describeReport } from '../helpers/history-checker.js';
import { readBack, runAckedLoad } from '../helpers/acked-load.js';
import { Producer } from '../../src/client/producer.js';
import { isRetriable } from '../../src/client/errors.js';
import { compareReplicas } from '../helpers/replica-compare.js';
import { startProxiedDevCluster } from '../helpers/proxied-dev-cluster.js';
import { startEtcdCluster } from '../helpers/etcd.js';
import { run } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';
import { freePortRange } from '../helpers/port-range.js';
import { FAST_FAILOVER_SETTINGS, withFreshAdmin } from '../helpers/cluster-settings.js';
import { RawClient } from '../helpers/raw-client.js';
import { ZERO_UUID } from '../../src/protocol/primitives/codec.js';

const PY_LOAD = fileURLToPath(new URL('../../../test/compat/python/confluent_kafka_fault_load.py', import.meta.url));
const CYCLES = Math.max(1, Number(process.env.CLUSTER_FAULT_CYCLES ?? 3) || 3);

const PARTITIONS = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A checker that also remembers when each acknowledgement arrived, per partition. */
class TimedChecker extends HistoryChecker {
  readonly ackTimes = new Map<number, number[]>();

  override acknowledged(topic: string, partition: number, offset: number, value: string): void {
    super.acknowledged(topic, partition, offset, value);
    let times = this.ackTimes.get(partition);
    if (!times) this.ackTimes.set(partition, (times = []));
    times.push(Date.now());
  }

  acksBetween(from: number, to: number): number {
    let n = 0;
    for (const times of this.ackTimes.values()) for (const at of times) if (at >= from && at < to) n++;
    return n;
  }
}

async function partitionsOf(bootstrapServers: string, topic: string): Promise<PartitionDescription[]> {
  return withFreshAdmin(bootstrapServers, async (a) => (await a.describeTopics([topic]))[0]!.partitions);
}

/** Polls `probe` until it returns a value (not undefined); fails with the last state after `timeoutMs`. */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = 'not yet';
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${typeof last === 'string' ? last : JSON.stringify(last)})`);
    await sleep(200);
  }
}

/** Every partition of every topic has a leader and its whole replica set in sync; the controller is known. */
/** One broker's own view (a Metadata request on a connection to it alone): controller, brokers, partitions. */
async function viewOf(address: string, topics: string[]): Promise<{ controller: number; brokers: number; partitions: Array<[number, number, number[], number]> }> {
  const raw = await RawClient.connect(address);
  try {
    const res = await Promise.race([
      raw.send<{ controllerId: number; brokers: unknown[]; topics: Array<{ partitions: Array<{ leaderId: number; leaderEpoch: number; isrNodes: number[]; replicaNodes: number[] }> }> }>(3, 12, {
        topics: topics.map((name) => ({ topicId: ZERO_UUID, name })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false,
      }),
      sleep(3000).then(() => { throw new Error(`${address}: no Metadata answer within 3 s`); }),
    ]);
    return {
      controller: res.controllerId,
      brokers: res.brokers.length,
      partitions: res.topics.flatMap((t) => t.partitions.map((p): [number, number, number[], number] => [p.leaderId, p.leaderEpoch, [...p.isrNodes].sort(), p.replicaNodes.length])),
    };
  } finally {
    raw.close();
  }
}

/**
 * Every partition led with its whole replica set in sync, a controller, three brokers — as EVERY broker sees it,
 * all agreeing (a healed, isolated broker serves its stale image until its etcd watch catches up: asking any one
 * broker could return that).
 */
async function waitFullIsr(bootstrapServers: string, topics: string[], timeoutMs = 30_000): Promise<void> {
  let last = '';
  await waitFor(`full ISR of ${topics.join(', ')}`, timeoutMs, async () => {
    const views = await Promise.all(bootstrapServers.split(',').map((a) => viewOf(a, topics)));
    last = JSON.stringify(views);
    const settled = views.every((v) => v.controller >= 0 && v.brokers === 3 && v.partitions.length > 0 &&
      v.partitions.every(([leader, , isr, replicas]) => leader >= 0 && isr.length === replicas) &&
      JSON.stringify(v.partitions) === JSON.stringify(views[0]!.partitions));
    return settled ? true : undefined;
  }).catch((err: Error) => { throw new Error(`${err.message} ${last}`); });
}

async function createTopic(bootstrapServers: string, topic: string): Promise<void> {
  await withFreshAdmin(bootstrapServers, (a) => a.createTopics([{ name: topic, numPartitions: PARTITIONS, replicationFactor: 3 }]));
  await waitFullIsr(bootstrapServers, [topic]);
}

interface LoadTotals {
  sent: number;
  acknowledged: number;
  failed: number;
  errors: Record<string, number>;
  /** Runs that could not start (the topic's metadata or the producer's first connection failed mid-fault): nothing was sent in them. */
  runsNotStarted?: number;
}

/** Our Producer in back-to-back bounded runs (1.5 s each, distinct value prefixes) until stopped. */
function backgroundLoad(bootstrapServers: string, topic: string, checker: HistoryChecker, prefix: string): { stop(): Promise<LoadTotals> } {
  const totals: LoadTotals = { sent: 0, acknowledged: 0, failed: 0, errors: {}, runsNotStarted: 0 };
  let stopping = false;
  const loop = (async () => {
    for (let i = 0; !stopping; i++) {
      let r;
      try {
        r = await runAckedLoad({ bootstrapServers, topic, checker, durationMs: 1500, window: 100, valuePrefix: `${prefix}${i}`,
          // A paused or cut-off broker does not reset the connection: give up on a request after 3 s, not 30.
          producer: { requestTimeoutMs: 3000 } });
      } catch {
        // runAckedLoad throws only before its first send (describing the topic, connecting the producer), which a
        // broker going down at that moment fails (seen in CI: ECONNRESET during a rolling restart). The next run
        // tries again; sends the producer gave up on are counted in `failed`, never here.
        totals.runsNotStarted!++;
        await sleep(100);
        continue;
      }
      totals.sent += r.sent;
      totals.acknowledged += r.acknowledged;
      totals.failed += r.failed;
      for (const [k, v] of Object.entries(r.errors)) totals.errors[k] = (totals.errors[k] ?? 0) + v;
    }
  })();
  // Handled from the start: a rejection must fail stop(), not surface as an unhandled rejection mid-fault.
  loop.catch(() => {});
  return {
    async stop() {
      stopping = true;
      await loop;
      return totals;
    },
  };
}

/**
 * What every scenario does around its fault: creates `topic` (full ISR), starts our Producer's load on it (values
 * `prefix`…, acknowledgements into `checker`), runs `fault` and stops the load when the fault is over or has
 * failed. The scenario then reads the topic back and asserts what it expects.
 */
async function underLoad<T>(bootstrapServers: string, topic: string, checker: HistoryChecker, prefix: string, fault: () => Promise<T>): Promise<{ result: T; totals: LoadTotals }> {
  await createTopic(bootstrapServers, topic);
  const load = backgroundLoad(bootstrapServers, topic, checker, prefix);
  let result: T;
  let totals: LoadTotals;
  try {
    result = await fault();
  } finally {
    totals = await load.stop();
  }
  assert.ok(totals.acknowledged > 0, `our producer's load was acknowledged (${JSON.stringify(totals)})`);
  return { result, totals };
}

/**
 * Failover time: one acks=all write per partition, each sent after the fault, so only a leader that is still
 * (or newly) reachable can acknowledge it; resolves with the time the last of them was acknowledged. The writes
 * go into the checker too.
 */
async function probeWrites(bootstrapServers: string, topic: string, partitions: number[], checker: HistoryChecker, tag: string): Promise<number> {
  // A fresh producer whose very first connection lands on the paused or dead broker may fail as a whole with a
  // retriable error (seen once in CI: its ApiVersions got no answer); a new one tries again, within 30 s.
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await probeOnce(bootstrapServers, topic, partitions, checker, tag, attempt);
    } catch (err) {
      if (!isRetriable(err) || Date.now() >= deadline) throw err;
      await sleep(100);
    }
  }
}

async function probeOnce(bootstrapServers: string, topic: string, partitions: number[], checker: HistoryChecker, tag: string, attempt: number): Promise<number> {
  const producer = new Producer({
    bootstrapServers, clientId: 'failover-probe', acks: 'all', idempotent: true, lingerMs: 0,
    retries: 1000, retryBackoffMs: 50, requestTimeoutMs: 2000, deliveryTimeoutMs: 30_000, maxBlockMs: 30_000,
  });
  try {
    const acked = await Promise.all(partitions.map(async (partition) => {
      const value = `probe-${tag}-${attempt}-${partition}`;
      const md = await producer.send({ topic, partition, value });
      checker.acknowledged(md.topic, md.partition, md.offset, value);
      if (process.env.CLUSTER_FAULT_DEBUG) process.stdout.write(`# probe ${value} acked at ${md.partition}/${md.offset} after ${Date.now() - Number(tag)} ms\n`);
      return Date.now();
    }));
    return Math.max(...acked);
  } finally {
    await producer.close();
  }
}

/** confluent-kafka producing for `seconds` in a child process; its acknowledgements go into the checker. */
async function librdkafkaLoad(bootstrapServers: string, topic: string, checker: HistoryChecker, prefix: string, seconds: number): Promise<LoadTotals> {
  const res = await run(PYTHON, [PY_LOAD, bootstrapServers, topic, prefix, String(seconds), '100'], { timeoutMs: (seconds + 60) * 1000 });
  const out = JSON.parse(res.stdout) as { acked: Array<[number, number, string]>; failed: Record<string, number>; sent: number; unreported: number };
  for (const [p, offset, value] of out.acked) checker.acknowledged(topic, p, offset, value);
  return { sent: out.sent, acknowledged: out.acked.length, failed: Object.values(out.failed).reduce((a, b) => a + b, 0) + out.unreported, errors: out.failed };
}

/** Reads the topic back into the checker and asserts the history is clean; returns the report's counts. */
async function readAndCheck(bootstrapServers: string, topic: string, checker: HistoryChecker): Promise<{ acknowledged: number; read: number; lost: number; duplicates: number }> {
  const back = await readBack({ bootstrapServers, topic, checker, timeoutMs: 60_000 });
  const report = checker.check();
  assert.ok(report.acknowledged > 0, 'the load was acknowledged at all');
  if (!report.ok) {
    // Where the losses are, against the end offsets the read stopped at, and what the brokers say now.
    const byPartition = new Map<number, { n: number; min: number; max: number }>();
    for (const l of report.lost) {
      const e = byPartition.get(l.partition) ?? { n: 0, min: Infinity, max: -Infinity };
      byPartition.set(l.partition, { n: e.n + 1, min: Math.min(e.min, l.offset), max: Math.max(e.max, l.offset) });
    }
    const now = await partitionsOf(bootstrapServers, topic).catch((err: Error) => err.message);
    assert.fail(`${describeReport(report)}\n  lost by partition: ${JSON.stringify([...byPartition])}\n  read up to: ${JSON.stringify(back.endOffsets)}\n  partitions now: ${JSON.stringify(now)}`);
  }
  return { acknowledged: report.acknowledged, read: report.read, lost: report.lost.length, duplicates: report.duplicates.length };
}

/** Stops every broker cleanly (so the logs are flushed and complete), then compares each partition's replicas. */
async function assertReplicasIdentical(cluster: DevCluster, topics: string[]): Promise<number> {
  await Promise.all(cluster.brokers.map((b) => b.stop()));
  let bytes = 0;
  for (const topic of topics) {
    for (let p = 0; p < PARTITIONS; p++) {
      const cmp = await compareReplicas(cluster.brokers.map((b) => b.dataDir), topic, p);
      const sizes = cmp.replicas.map((r) => r.bytes);
      assert.equal(cmp.identical, true, `${topic}-${p}: ${cmp.problem ?? JSON.stringify(cmp.difference)}`);
      assert.ok(sizes.every((s) => s === sizes[0]), `${topic}-${p}: replicas of different lengths ${sizes.join(', ')}`);
      bytes += sizes[0]!;
    }
  }
  return bytes;
}


function summary(fault: string, fields: Record<string, unknown>): void {
  process.stdout.write(`# fault ${fault}: ${JSON.stringify(fields)}\n`);
}

async function newCluster(dir: string, extra: { brokerEtcd?: Record<number, string> } = {}): Promise<DevCluster> {
  return startDevCluster({ brokers: 3, dir, basePort: await freePortRange(3), etcdPort: await freePortRange(2), settings: FAST_FAILOVER_SETTINGS, stopGraceMs: 10_000, ...extra });
}

// ---- one cluster for a, b, d, f ----------------------------------------------------------------------------

let root: string;
let cluster: DevCluster;
const topicsOnMain: string[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tributary-cluster-faults-'));
  cluster = await newCluster(join(root, 'main'));
});

after(async () => {
  await cluster?.stop();
  // CLUSTER_FAULT_KEEP=1 keeps the data directories and broker logs for a post-mortem.
  if (process.env.CLUSTER_FAULT_KEEP) process.stdout.write(`# kept ${root}\n`);
  else await rm(root, { recursive: true, force: true });
});

test(`a. kill -9 of a partition leader under load, restarted, full ISR awaited (${CYCLES} cycles)`, { timeout: 60_000 + CYCLES * 30_000 }, async () => {
  const topic = 'fault-kill';
  topicsOnMain.push(topic);
  const bs = cluster.bootstrapServers;
  const checker = new TimedChecker();
  const { result: cycles, totals } = await underLoad(bs, topic, checker, 'a', async () => {
    const cycles: Array<{ victim: number; failoverMs: number; rejoinMs: number }> = [];
    await sleep(1000);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const partition = cycle % PARTITIONS;
      const victim = (await partitionsOf(bs, topic))[partition]!.leader;
      assert.ok(victim > 0, `partition ${partition} has a leader`);
      const led = (await partitionsOf(bs, topic)).filter((p) => p.leader === victim).map((p) => p.partition);
      const killedAt = Date.now();
      cluster.brokers[victim - 1]!.kill('SIGKILL');
      await cluster.brokers[victim - 1]!.exited();
      // Failover: the first acknowledgement after the kill on every partition the victim led.
      const failedOver = await probeWrites(bs, topic, led, checker, `${killedAt}`);
      const after = await partitionsOf(bs, topic);
      for (const p of led) assert.notEqual(after[p]!.leader, victim, `partition ${p} has a new leader`);
      const restartedAt = Date.now();
      await cluster.brokers[victim - 1]!.restart();
      await waitFullIsr(bs, [topic]);
      cycles.push({ victim, failoverMs: failedOver - killedAt, rejoinMs: Date.now() - restartedAt });
    }
    return cycles;
  });
  const counts = await readAndCheck(bs, topic, checker);
  summary('a kill -9', { cycles: CYCLES, ...counts, producer: totals, perCycle: cycles });
  assert.equal(totals.failed, 0, `our producer gave up on sends: ${JSON.stringify(totals.errors)}`);
  // The goal (issue 10): kill -9 to the first acknowledged write on the new leader within 2 s. The peers see the
  // dead broker's port refuse and revoke its lease (peer-watch.ts), so it takes well under that even on CI.
  const sorted = cycles.map((c) => c.failoverMs).sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  assert.ok(median <= 2000, `median failover ${median} ms of ${JSON.stringify(sorted)} (goal: 2000 ms)`);
});

test('b. SIGSTOP of a leader past its lease under load, then SIGCONT: the zombie acknowledges nothing it loses and follows', { timeout: 90_000 }, async () => {
  const topic = 'fault-pause';
  topicsOnMain.push(topic);
  const bs = cluster.bootstrapServers;
  const checker = new TimedChecker();
  const { result: { victim, failoverMs, acksAfterResume }, totals } = await underLoad(bs, topic, checker, 'b', async () => {
    await sleep(1000);
    const before = await partitionsOf(bs, topic);
    const victim = before[0]!.leader;
    const led = before.filter((p) => p.leader === victim).map((p) => p.partition);
    const broker = cluster.brokers[victim - 1]!;
    let resumed = false;
    try {
      const pausedAt = Date.now();
      broker.kill('SIGSTOP');
      const failedOver = await probeWrites(bs, topic, led, checker, `${pausedAt}`);
      const remaining = pausedAt + 4000 - Date.now();
      if (remaining > 0) await sleep(remaining);
      const resumedAt = Date.now();
      broker.kill('SIGCONT');
      resumed = true;
      // It must become a follower of the new leader and rejoin the ISR.
      await waitFullIsr(bs, [topic]);
      const now = await partitionsOf(bs, topic);
      for (const p of led) assert.notEqual(now[p]!.leader, victim, `partition ${p}: the zombie does not lead again`);
      await sleep(500);
      return { victim, failoverMs: failedOver - pausedAt, acksAfterResume: checker.acksBetween(resumedAt, Date.now()) };
    } finally {
      if (!resumed) broker.kill('SIGCONT');
    }
  });
  assert.ok(acksAfterResume > 0, 'the load goes on after the zombie resumed');
  const counts = await readAndCheck(bs, topic, checker);
  // What the zombie accepted after SIGCONT and never committed is truncated when it follows (not asserted: it
  // depends on requests having been queued on its connections when it stopped).
  const zombieTruncations = (await readFile(cluster.brokers[victim - 1]!.logFile, 'utf8')).split('\n').filter((l) => l.includes(`"topic":"${topic}"`) && l.includes('truncating divergent log tail')).length;
  summary('b SIGSTOP', { victim, pausedMs: 4000, ...counts, producer: totals, failoverMs, acksAfterResume, zombieTruncations });
  assert.equal(totals.failed, 0, `our producer gave up on sends: ${JSON.stringify(totals.errors)}`);
});

test('d. rolling restart (SIGTERM each broker in turn) under load from our Producer and confluent-kafka', { timeout: 120_000 }, async () => {
  const topic = 'fault-rolling';
  topicsOnMain.push(topic);
  const bs = cluster.bootstrapServers;
  const checker = new TimedChecker();
  const { result: { started, restarts, librdkafka }, totals } = await underLoad(bs, topic, checker, 'd', async () => {
    const started = Date.now();
    // librdkafka produces for the whole roll (a generous bound; it stops sending then and reports).
    const librdkafka = librdkafkaLoad(bs, topic, checker, 'rdk', 22);
    librdkafka.catch(() => {}); // awaited after the roll; a failure then fails the test, not an unhandled rejection now
    const restarts: number[] = [];
    await sleep(1500);
    for (const b of cluster.brokers) {
      const t = Date.now();
      await b.restart();
      await waitFullIsr(bs, [topic]);
      restarts.push(Date.now() - t);
    }
    // Not awaited here (our load would run on until it ends): the test awaits it before the read-back.
    return { started, restarts, librdkafka };
  });
  const rdk = await librdkafka;
  const counts = await readAndCheck(bs, topic, checker);
  summary('d rolling restart', { ...counts, producer: totals, librdkafka: rdk, restartToFullIsrMs: restarts, totalMs: Date.now() - started });
  assert.ok(rdk.acknowledged > 0, 'confluent-kafka was acknowledged');
  assert.equal(totals.failed, 0, `our producer gave up on sends: ${JSON.stringify(totals.errors)}`);
  assert.equal(rdk.failed, 0, `confluent-kafka gave up on sends: ${JSON.stringify(rdk.errors)}`);
});

test('f. all of etcd down for ~5 s under load: leaders keep acknowledging, the cluster recovers after', { timeout: 90_000 }, async () => {
  const topic = 'fault-etcd-down';
  topicsOnMain.push(topic);
  const bs = cluster.bootstrapServers;
  const checker = new TimedChecker();
  const { result: { downAt, upAt, reregisteredMs, recoveredMs }, totals } = await underLoad(bs, topic, checker, 'f', async () => {
    await sleep(1000);
    const downAt = Date.now();
    cluster.etcd.kill('SIGKILL');
    await cluster.etcd.exited();
    await sleep(5000);
    await cluster.etcd.restart();
    const upAt = Date.now();
    // The outage outlasted the lease TTL: each broker fenced itself (and stopped being controller) and registers
    // again once etcd answers (a new broker epoch). Recovered = every broker registered again, a controller, and
    // every partition led with its full ISR.
    await waitFor('every broker registered again', 30_000, async () => {
      const counts = await Promise.all(cluster.brokers.map(async (b) => (await readFile(b.logFile, 'utf8')).split('registered again after losing the lease').length - 1));
      return counts.every((n) => n >= 1) ? true : undefined;
    });
    const reregisteredMs = Date.now() - upAt;
    await waitFullIsr(bs, [topic]);
    // Once: a loop that kept registering a broker that had registered again (a regression seen here).
    for (const b of cluster.brokers) assert.doesNotMatch(await readFile(b.logFile, 'utf8'), /already campaigning|this store has registered a broker already/, `broker ${b.nodeId}`);
    const recoveredMs = Date.now() - upAt;
    await sleep(1000);
    return { downAt, upAt, reregisteredMs, recoveredMs };
  });
  const during = checker.acksBetween(downAt, upAt);
  const lastSecond = checker.acksBetween(upAt - 1000, upAt);
  const counts = await readAndCheck(bs, topic, checker);
  summary('f etcd down', { downMs: upAt - downAt, acksDuringOutage: during, acksInLastSecondOfOutage: lastSecond, reregisteredMs, recoveredToFullIsrMs: recoveredMs, acksFromEtcdBackToRecovered: checker.acksBetween(upAt, upAt + recoveredMs), ...counts, producer: totals });
  assert.ok(during > 0, 'acks=all writes were acknowledged while etcd was down');
  assert.ok(lastSecond > 0, 'and still in the last second of the outage (past the lease TTL)');
  assert.equal(totals.failed, 0, `our producer gave up on sends: ${JSON.stringify(totals.errors)}`);
});

test('replicas of every partition written in a, b, d, f are byte-identical (brokers stopped cleanly)', { timeout: 60_000 }, async () => {
  assert.deepEqual(topicsOnMain.length, 4);
  const bytes = await assertReplicasIdentical(cluster, topicsOnMain);
  summary('a,b,d,f replicas', { topics: topicsOnMain, partitions: topicsOnMain.length * PARTITIONS, bytesPerReplica: bytes });
});

// ---- c: a broker cut off by fault proxies ------------------------------------------------------------------

test('c. a broker cut off from etcd and the other brokers for ~5 s under load, then healed', { timeout: 120_000 }, async () => {
  const dir = join(root, 'proxied');
  const pc = await startProxiedDevCluster({ brokers: 3, dir, basePort: await freePortRange(3), etcdPort: await freePortRange(2), settings: FAST_FAILOVER_SETTINGS, stopGraceMs: 10_000 });
  try {
    const topic = 'fault-isolate';
    const bs = pc.bootstrapServers;
    const checker = new TimedChecker();
    const { result: { victim, failoverMs }, totals } = await underLoad(bs, topic, checker, 'c', async () => {
      await sleep(1000);
      const before = await partitionsOf(bs, topic);
      const victim = before[1]!.leader;
      const led = before.filter((p) => p.leader === victim).map((p) => p.partition);
      const cutAt = Date.now();
      pc.isolate(victim);
      const failedOver = await probeWrites(bs, topic, led, checker, `${cutAt}`);
      const remaining = cutAt + 5000 - Date.now();
      if (remaining > 0) await sleep(remaining);
      pc.heal(victim);
      await waitFullIsr(bs, [topic], 40_000);
      await sleep(500);
      return { victim, failoverMs: failedOver - cutAt };
    });
    const counts = await readAndCheck(bs, topic, checker);
    await Promise.all(pc.cluster.brokers.map((b) => b.stop()));
    let bytes = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const cmp = await compareReplicas(pc.cluster.brokers.map((b) => b.dataDir), topic, p);
      assert.equal(cmp.identical, true, `${topic}-${p}: ${cmp.problem ?? JSON.stringify(cmp.difference)}`);
      assert.ok(cmp.replicas.every((r) => r.bytes === cmp.replicas[0]!.bytes), `${topic}-${p}: lengths ${cmp.replicas.map((r) => r.bytes).join(', ')}`);
      bytes += cmp.comparedBytes;
    }
    summary('c isolate', { victim, cutMs: 5000, ...counts, producer: totals, failoverMs, bytesPerReplica: bytes });
    assert.equal(totals.failed, 0, `our producer gave up on sends: ${JSON.stringify(totals.errors)}`);
  } finally {
    await pc.stop();
  }
});

// ---- e: a 3-member etcd loses a member ---------------------------------------------------------------------

/** The member id of the etcd leader, and each member's own id (etcd's JSON gateway, /v3/maintenance/status). */
async function etcdLeaderIndex(endpoints: string[]): Promise<number> {
  const status = await Promise.all(endpoints.map(async (e) => {
    const res = await fetch(`${e}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) });
    return (await res.json()) as { header: { member_id: string }; leader: string };
  }));
  const i = status.findIndex((s) => s.header.member_id === s.leader);
  assert.ok(i >= 0, `an etcd leader among ${JSON.stringify(status)}`);
  return i;
}

test('e. a 3-member etcd loses its leader member under load; brokers still serve and still fail over', { timeout: 120_000 }, async () => {
  const etcd = await startEtcdCluster(3);
  let c: DevCluster | null = null;
  try {
    const brokerEtcd = { 1: etcd.endpoints, 2: etcd.endpoints, 3: etcd.endpoints };
    const dc = await newCluster(join(root, 'etcd3'), { brokerEtcd });
    c = dc;
    // The dev cluster's own single etcd is not used by these brokers.
    await dc.etcd.stop();
    const topic = 'fault-etcd-member';
    const bs = dc.bootstrapServers;
    const checker = new TimedChecker();
    const { result: { killedMember, failoverMs, acksAfterMemberLoss }, totals } = await underLoad(bs, topic, checker, 'e', async () => {
      await sleep(1000);
      const killedMember = await etcdLeaderIndex(etcd.members.map((m) => m.endpoint));
      const memberKilledAt = Date.now();
      etcd.members[killedMember]!.kill('SIGKILL');
      await etcd.members[killedMember]!.exited;
      await sleep(3000);
      const acksAfterMemberLoss = checker.acksBetween(memberKilledAt, Date.now());
      // Metadata changes still work on two members: a broker killed now is replaced.
      const victim = (await partitionsOf(bs, topic))[2]!.leader;
      const led = (await partitionsOf(bs, topic)).filter((p) => p.leader === victim).map((p) => p.partition);
      const killedAt = Date.now();
      dc.brokers[victim - 1]!.kill('SIGKILL');
      await dc.brokers[victim - 1]!.exited();
      const failedOver = await probeWrites(bs, topic, led, checker, `${killedAt}`);
      await dc.brokers[victim - 1]!.restart();
      await waitFullIsr(bs, [topic]);
      return { killedMember, failoverMs: failedOver - killedAt, acksAfterMemberLoss };
    });
    assert.ok(acksAfterMemberLoss > 0, 'acknowledged while an etcd member was down');
    const counts = await readAndCheck(bs, topic, checker);
    const bytes = await assertReplicasIdentical(dc, [topic]);
    summary('e etcd member', { killedMember: `etcd${killedMember} (leader)`, acksInThe3sAfter: acksAfterMemberLoss, brokerFailoverMs: failoverMs, ...counts, producer: totals, bytesPerReplica: bytes });
    assert.equal(totals.failed, 0, `our producer gave up on sends: ${JSON.stringify(totals.errors)}`);
  } finally {
    await c?.stop();
    await etcd.stop();
  }
});
