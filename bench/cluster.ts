/**
 * The cluster's costs and recovery times (`npm run bench -- --only cluster`), all in one run on this machine:
 *
 * - acks=all produce throughput and latency (p50 / p99 per record) with replication factor 3 on three local
 *   brokers (etcd, `tributary start --etcd`, min.insync.replicas=2) against one single-node broker: the same
 *   client (ours, idempotent), the same records, the same window of records in flight; and each target's latency
 *   with one record in flight at a time;
 * - failover: kill -9 of a partition's leader under load, to the first acknowledged write sent after the kill
 *   (it can only be acknowledged by the new leader); the median of a few;
 * - catch-up: a follower stopped (SIGTERM) while N bytes are produced, then restarted: time from its restart to
 *   its return to the ISR of every partition (default 1 GB: CLUSTER_BENCH_CATCHUP_BYTES or --cluster-catchup-bytes).
 *
 * Brokers use the fast failure-detection settings of the fault tests (broker.session.timeout.ms=2000, the
 * default; replica.fetch.wait.max.ms=100); every process listens on 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDevCluster, type DevCluster } from '../src/cli/dev-cluster.js';
import { Producer } from '../src/client/producer.js';
import { spawnBroker } from '../test/compat/support/broker-process.js';
import { freePortRange } from '../test/helpers/port-range.js';
import { FAST_FAILOVER_SETTINGS, withFreshAdmin } from '../test/helpers/cluster-settings.js';

export interface ClusterBenchOptions {
  workDir: string;
  /** Records for each throughput run. */
  records: number;
  recordBytes: number;
  /** Records in flight in the throughput runs. */
  window: number;
  /** Records sent one at a time for the unloaded latency. */
  latencyRecords: number;
  failoverRuns: number;
  catchupBytes: number;
}

export interface ProduceResult {
  records: number;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** One record in flight at a time. */
  unloadedP50Ms: number;
  unloadedP99Ms: number;
  /**
   * CPU time (user + system, from /proc/<pid>/stat; absent where there is none) per record of the throughput run, in
   * microseconds, per process: each broker, etcd, and this process (the client).
   */
  cpuUsPerRecord?: Record<string, number>;
}

export interface ClusterBenchResult {
  recordBytes: number;
  window: number;
  singleBroker: ProduceResult;
  threeBrokersRf3: ProduceResult;
  failover: { runsMs: number[]; medianMs: number };
  catchup: { bytes: number; records: number; produceSeconds: number; rejoinMs: number; restartToListeningMs: number };
}

// The fault tests' failure detection, but a follower may lag 10 s (not 3) before it leaves the ISR, so that one
// briefly behind under the full-speed runs stays in it and every acks=all run is measured on three replicas.
const SETTINGS: Record<string, string> = { ...FAST_FAILOVER_SETTINGS, 'replica.lag.time.max.ms': '10000' };
const PARTITIONS = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

function producer(bootstrapServers: string, extra: Partial<ConstructorParameters<typeof Producer>[0]> = {}): Producer {
  return new Producer({ bootstrapServers, clientId: 'cluster-bench', acks: 'all', idempotent: true, lingerMs: 2, retries: 100, retryBackoffMs: 50, deliveryTimeoutMs: 60_000, ...extra });
}

/** `records` sends with at most `window` unacknowledged; per-record latency from send() to acknowledgement. */
async function produceRun(bootstrapServers: string, topic: string, records: number, recordBytes: number, window: number): Promise<{ seconds: number; latencies: number[] }> {
  const p = producer(bootstrapServers);
  const value = Buffer.alloc(recordBytes, 'x');
  const latencies: number[] = [];
  try {
    // Warm-up: metadata, connections, producer id.
    await Promise.all(Array.from({ length: PARTITIONS }, (_, partition) => p.send({ topic, partition, value })));
    const inFlight = new Set<Promise<void>>();
    const started = performance.now();
    for (let i = 0; i < records; i++) {
      const t = performance.now();
      const sent: Promise<void> = p.send({ topic, partition: i % PARTITIONS, value }).then(() => {
        latencies.push(performance.now() - t);
        inFlight.delete(sent);
      });
      inFlight.add(sent);
      if (inFlight.size >= window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return { seconds: (performance.now() - started) / 1000, latencies };
  } finally {
    await p.close();
  }
}

/** A process's CPU seconds so far (user + system), from /proc; NaN where that cannot be read. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

async function measureProduce(bootstrapServers: string, topic: string, o: ClusterBenchOptions, pids: Record<string, number>): Promise<ProduceResult> {
  const before = Object.entries(pids).map(([name, pid]) => [name, pid, cpuSeconds(pid)] as const);
  const clientBefore = process.cpuUsage();
  const run = await produceRun(bootstrapServers, topic, o.records, o.recordBytes, o.window);
  const client = process.cpuUsage(clientBefore);
  const cpu: Record<string, number> = {};
  for (const [name, pid, s] of before) cpu[name] = round(((cpuSeconds(pid) - s) * 1e6) / o.records, 2);
  cpu.client = round((client.user + client.system) / o.records, 2);
  const unloaded = await produceRun(bootstrapServers, topic, o.latencyRecords, o.recordBytes, 1);
  const loaded = run.latencies.sort((a, b) => a - b);
  const single = unloaded.latencies.sort((a, b) => a - b);
  return {
    records: o.records,
    seconds: round(run.seconds, 2),
    msgsPerSec: Math.round(o.records / run.seconds),
    mbPerSec: round((o.records * o.recordBytes) / run.seconds / 1e6),
    p50Ms: round(percentile(loaded, 50), 2),
    p99Ms: round(percentile(loaded, 99), 2),
    unloadedP50Ms: round(percentile(single, 50), 2),
    unloadedP99Ms: round(percentile(single, 99), 2),
    ...(Object.values(cpu).every(Number.isFinite) ? { cpuUsPerRecord: cpu } : {}),
  };
}

async function waitFullIsr(bootstrapServers: string, topic: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const full = await withFreshAdmin(bootstrapServers, async (a) => {
      const [t] = await a.describeTopics([topic]);
      return t!.partitions.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length);
    }).catch(() => false);
    if (full) return;
    if (Date.now() >= deadline) throw new Error(`${topic}: ISR not full within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function leaderOf(bootstrapServers: string, topic: string, partition: number): Promise<number> {
  return withFreshAdmin(bootstrapServers, async (a) => (await a.describeTopics([topic]))[0]!.partitions[partition]!.leader);
}

/** kill -9 of partition 0's leader under load; the first acknowledged write sent after it; restart; full ISR. */
async function failoverOnce(c: DevCluster, topic: string): Promise<number> {
  const bs = c.bootstrapServers;
  const victim = await leaderOf(bs, topic, 0);
  const load = producer(bs, { requestTimeoutMs: 3000 });
  let stop = false;
  const value = Buffer.alloc(100, 'l');
  const background = (async () => {
    const inFlight = new Set<Promise<unknown>>();
    while (!stop) {
      const s: Promise<unknown> = load.send({ topic, value }).catch(() => undefined).finally(() => inFlight.delete(s));
      inFlight.add(s);
      if (inFlight.size >= 200) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })();
  try {
    await sleep(1000);
    const killedAt = performance.now();
    c.brokers[victim - 1]!.kill('SIGKILL');
    // A fresh producer, so that nothing it sends predates the kill.
    const probe = producer(bs, { lingerMs: 0, requestTimeoutMs: 2000 });
    try {
      await probe.send({ topic, partition: 0, value: Buffer.from('probe') });
    } finally {
      await probe.close();
    }
    const ms = performance.now() - killedAt;
    await c.brokers[victim - 1]!.restart();
    await waitFullIsr(bs, topic, 60_000);
    return round(ms, 0);
  } finally {
    stop = true;
    await background;
    await load.close();
  }
}

/** A follower of every partition stopped, `bytes` produced, the follower restarted: time back into every ISR. */
async function catchup(c: DevCluster, topic: string, bytes: number): Promise<ClusterBenchResult['catchup']> {
  const bs = c.bootstrapServers;
  const leaders = await withFreshAdmin(bs, async (a) => (await a.describeTopics([topic]))[0]!.partitions.map((p) => p.leader));
  // A broker that leads none of the partitions if there is one, else the last (its SIGTERM hands its leadership over).
  const follower = c.brokers.find((b) => !leaders.includes(b.nodeId)) ?? c.brokers[c.brokers.length - 1]!;
  await follower.stop();
  const recordBytes = 16 * 1024;
  const records = Math.max(1, Math.ceil(bytes / recordBytes));
  const p = producer(bs.split(',').filter((a) => a !== follower.address).join(','), { lingerMs: 5, batchSize: 1024 * 1024 });
  const value = Buffer.alloc(recordBytes, 'c');
  const started = performance.now();
  try {
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < records; i++) {
      const s: Promise<unknown> = p.send({ topic, partition: i % PARTITIONS, value }).finally(() => inFlight.delete(s));
      inFlight.add(s);
      if (inFlight.size >= 2000) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await p.close();
  }
  const produceSeconds = (performance.now() - started) / 1000;
  const restartAt = performance.now();
  await follower.restart();
  const listeningMs = performance.now() - restartAt;
  await waitFullIsr(bs, topic, 30 * 60_000);
  return { bytes: records * recordBytes, records, produceSeconds: round(produceSeconds, 1), rejoinMs: Math.round(performance.now() - restartAt), restartToListeningMs: Math.round(listeningMs) };
}

async function createTopic(bootstrapServers: string, topic: string, replicationFactor: number): Promise<void> {
  await withFreshAdmin(bootstrapServers, (a) => a.createTopics([{ name: topic, numPartitions: PARTITIONS, replicationFactor, configs: { 'min.insync.replicas': String(Math.min(2, replicationFactor)) } }]));
}

export async function runClusterBench(o: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const dir = await mkdtemp(join(o.workDir, 'cluster-'));
  // One broker first, alone on the machine.
  const single = await spawnBroker(join(dir, 'single'), { settings: { 'num.partitions': String(PARTITIONS) } });
  let singleBroker: ProduceResult;
  try {
    await createTopic(single.address, 'bench', 1);
    singleBroker = await measureProduce(single.address, 'bench', o, { broker: single.pid });
  } finally {
    await single.stop();
  }
  console.log(`single broker: ${JSON.stringify(singleBroker)}`);

  const c = await startDevCluster({ brokers: 3, dir: join(dir, 'cluster'), basePort: await freePortRange(3), etcdPort: await freePortRange(2), settings: SETTINGS, stopGraceMs: 10_000 });
  try {
    const bs = c.bootstrapServers;
    await createTopic(bs, 'bench', 3);
    await waitFullIsr(bs, 'bench', 30_000);
    const threeBrokersRf3 = await measureProduce(bs, 'bench', o, { ...Object.fromEntries(c.brokers.map((b) => [`broker${b.nodeId}`, b.pid])), etcd: c.etcd.pid });
    console.log(`three brokers, RF 3: ${JSON.stringify(threeBrokersRf3)}`);

    await createTopic(bs, 'failover', 3);
    await waitFullIsr(bs, 'failover', 30_000);
    const runsMs: number[] = [];
    for (let i = 0; i < o.failoverRuns; i++) {
      runsMs.push(await failoverOnce(c, 'failover'));
      console.log(`failover ${i + 1}: ${runsMs[i]} ms`);
    }
    const sorted = [...runsMs].sort((a, b) => a - b);

    await createTopic(bs, 'catchup', 3);
    await waitFullIsr(bs, 'catchup', 30_000);
    const caught = await catchup(c, 'catchup', o.catchupBytes);
    console.log(`catch-up: ${JSON.stringify(caught)}`);
    return { recordBytes: o.recordBytes, window: o.window, singleBroker, threeBrokersRf3, failover: { runsMs, medianMs: sorted[Math.floor(sorted.length / 2)]! }, catchup: caught };
  } finally {
    await c.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatClusterTable(r: ClusterBenchResult): string {
  const row = (name: string, p: ProduceResult): string =>
    `${name.padEnd(22)} ${String(p.msgsPerSec).padStart(9)} ${p.mbPerSec.toFixed(1).padStart(7)} ${p.p50Ms.toFixed(2).padStart(8)} ${p.p99Ms.toFixed(2).padStart(8)} ${p.unloadedP50Ms.toFixed(2).padStart(10)} ${p.unloadedP99Ms.toFixed(2).padStart(10)}`;
  const ratio = (a: number, b: number): string => (b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`);
  return [
    `acks=all produce, ${r.recordBytes}-byte records, ${r.window} in flight (ours, idempotent)`,
    `${'target'.padEnd(22)} ${'msgs/s'.padStart(9)} ${'MB/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'1-flight50'.padStart(10)} ${'1-flight99'.padStart(10)}`,
    row('1 broker', r.singleBroker),
    row('3 brokers, RF 3', r.threeBrokersRf3),
    `RF 3 / 1 broker: throughput ${ratio(r.threeBrokersRf3.msgsPerSec, r.singleBroker.msgsPerSec)}, p99 ${ratio(r.threeBrokersRf3.p99Ms, r.singleBroker.p99Ms)}, one-in-flight p99 ${ratio(r.threeBrokersRf3.unloadedP99Ms, r.singleBroker.unloadedP99Ms)}`,
    ...cpuLines(r),
    `failover (kill -9 leader -> first ack of a write sent after it): median ${r.failover.medianMs} ms of [${r.failover.runsMs.join(', ')}]`,
    `catch-up: ${(r.catchup.bytes / 1e6).toFixed(0)} MB behind -> back in every ISR ${r.catchup.rejoinMs} ms after its restart (listening after ${r.catchup.restartToListeningMs} ms; producing it took ${r.catchup.produceSeconds} s)`,
  ].join('\n');
}

/** CPU µs per record per process, and what the single broker's rate would need in CPU with three brokers. */
function cpuLines(r: ClusterBenchResult): string[] {
  const one = r.singleBroker.cpuUsPerRecord;
  const three = r.threeBrokersRf3.cpuUsPerRecord;
  if (!one || !three) return [];
  const sum = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0);
  const list = (c: Record<string, number>): string => Object.entries(c).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
  // The CPU (in cores) the RF 3 run would need to reach half of the single broker's rate at its CPU per record.
  const coresForHalf = (sum(three) * r.singleBroker.msgsPerSec * 0.5) / 1e6;
  return [
    `CPU µs/record: 1 broker: ${list(one)} (total ${sum(one).toFixed(2)}); RF 3: ${list(three)} (total ${sum(three).toFixed(2)})`,
    `RF 3 at 0.5x the single broker's rate needs ${coresForHalf.toFixed(2)} cores at this CPU per record`,
  ];
}
