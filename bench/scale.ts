/**
 * Scale (issue 13): one broker with many partitions, many connections and a large data directory.
 *
 *   partitions   the same N × 100 B records produced (twice: first appends, then steady state) and consumed with
 *                the own client, into a 4-partition topic and into a P-partition topic (default 10,000). Every partition gets an equal, contiguous share of the
 *                records (record i goes to partition ⌊i·P/N⌋), so the P-partition topic is written and read
 *                everywhere, in smaller per-partition batches. Also the time to create the P partitions, and the
 *                broker's RSS and open descriptors once idle with them (after creation, and after a restart).
 *   connections  the same N records produced by C/2 Producers and read back by C/2 Consumers (each its own
 *                connection; default C = 1,000), against 8 clients (4 + 4); 4 partitions, each consumer reading
 *                an equal slice of one partition by offset. The broker's socket count is sampled while all
 *                clients are connected, and the broker's CPU time per step. The clients live in up to 4 forked
 *                load-generator processes (bench/scale-worker.ts, one per CPU), not in the bench process, so
 *                1,000 client objects and their garbage do not share one event loop.
 *   start-up     a data directory of S segments (default 10,000) and G GB (default 10) in 100 partitions, written
 *                by the storage layer's own classes (LogManager/Log.append: the files are exactly what a broker
 *                writes), then the broker's start-up to a listening port after its clean shutdown (indexes
 *                trusted), and after kill -9 with a tail of unflushed appends (recovery of the tail only).
 *                The page cache is warm (the data was just written); the directory is removed afterwards.
 *
 * Every wait is bounded (STEP_TIMEOUT_MS); brokers are child processes (spawnBroker), stopped in `finally`.
 */
import { readdir, readFile, readlink, rm, statfs } from 'node:fs/promises';
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin } from '../src/client/admin.js';
import { Consumer } from '../src/client/consumer.js';
import { Producer } from '../src/client/producer.js';
import { buildRecordBatch } from '../src/protocol/records/record.js';
import { LogManager } from '../src/storage/log-manager.js';
import { spawnBroker, type BrokerProcess } from '../test/compat/support/broker-process.js';
import { withTimeout } from './support.js';
import type { WorkerPlan, WorkerReply, WorkerRequest } from './scale-worker.js';

export interface ScaleBenchOptions {
  workDir: string;
  partitions: number;
  connections: number;
  records: number;
  dataGb: number;
  segments: number;
}

/** brokerCpuMs: the broker process's user + system CPU time over the step (where the client side is the bottleneck). */
export interface ScaleThroughput { records: number; seconds: number; msgsPerSec: number; brokerCpuMs?: number }
export interface BrokerFootprint { rssKb: number; fds: number; sockets: number }

export interface ScaleBenchResult {
  date: string;
  node: string;
  options: Omit<ScaleBenchOptions, 'workDir'>;
  partitions: {
    createSeconds: number;
    few: { produce: ScaleThroughput; produceAgain: ScaleThroughput; consume: ScaleThroughput };
    many: { produce: ScaleThroughput; produceAgain: ScaleThroughput; consume: ScaleThroughput };
    ratio: { produce: number; produceAgain: number; consume: number };
    idleEmpty: BrokerFootprint;
    idleAfterCreate: BrokerFootprint;
    afterLoad: BrokerFootprint;
    restartMs: number;
    idleAfterRestart: BrokerFootprint;
  };
  connections: {
    few: { clients: number; workers: number; connectSeconds: number; produce: ScaleThroughput; consume: ScaleThroughput; broker: BrokerFootprint };
    many: { clients: number; workers: number; connectSeconds: number; produce: ScaleThroughput; consume: ScaleThroughput; broker: BrokerFootprint };
    ratio: { produce: number; consume: number };
  };
  startup: {
    partitions: number;
    segments: number;
    bytes: number;
    generateSeconds: number;
    clean: { startupMs: number; logsLoadedMs: number; rssKb: number; fds: number };
    afterKill: { startupMs: number; logsLoadedMs: number; segmentsRecovered: number; tailRecords: number };
  } | { skipped: string };
}

const FEW_PARTITIONS = 4;
const FEW_CLIENTS = 8;
const RECORD_BYTES = 100;
const BATCH = 1000;
const IN_FLIGHT = 4;
const DATA_PARTITIONS = 100;
/** Records per batch the data-dir generator appends (about 16 KB, a producer's default batch). */
const GENERATOR_BATCH_RECORDS = 150;
const TAIL_RECORDS_PER_PARTITION = 1000;
/** Load-generator processes of the connection round (bench/scale-worker.ts): one per CPU, at most 4. */
const SCALE_WORKERS = Math.max(1, Math.min(4, availableParallelism()));
const SCALE_WORKER_PATH = fileURLToPath(new URL('./scale-worker.js', import.meta.url));
const SETTLE_MS = 2000;
const STEP_TIMEOUT_MS = 10 * 60_000;
/** Brokers in this bench may take long to start on a big data dir: wait this long for the listening line. */
const START_TIMEOUT_MS = 5 * 60_000;

export async function runScaleBench(options: ScaleBenchOptions): Promise<ScaleBenchResult> {
  const { partitions: P, connections: C, records: N } = options;
  const value = Buffer.alloc(RECORD_BYTES, 'x');
  const brokers: BrokerProcess[] = [];
  const start = async (dir: string, settings: Record<string, string> = {}): Promise<BrokerProcess> => {
    const b = await spawnBroker(dir, { settings, startTimeoutMs: START_TIMEOUT_MS });
    brokers.push(b);
    return b;
  };
  try {
    // ---- partitions ----
    const dataDir = join(options.workDir, 'scale-throughput');
    let broker = await start(dataDir);
    console.log(`scale: broker pid ${broker.pid} at ${broker.address}`);
    const idleEmpty = await settledFootprint(broker.pid);
    const admin = new Admin({ bootstrapServers: broker.address, clientId: 'bench-scale-admin' });
    let createSeconds: number;
    try {
      await admin.createTopics([{ name: 'scale-few', numPartitions: FEW_PARTITIONS }]);
      const t0 = performance.now();
      await withTimeout('creating the partitions', STEP_TIMEOUT_MS, admin.createTopics([{ name: 'scale-many', numPartitions: P }], { timeoutMs: STEP_TIMEOUT_MS }));
      createSeconds = (performance.now() - t0) / 1000;
    } finally {
      await admin.close();
    }
    console.log(`  created ${P} partitions in ${createSeconds.toFixed(2)} s`);
    const idleAfterCreate = await settledFootprint(broker.pid);
    console.log(`  idle with ${P} partitions: ${fmtFootprint(idleAfterCreate)}`);

    // Twice each: the first round is every partition's first append (its one-time costs), the second the steady state.
    const fewProduce = await produceSpread(broker.address, 'scale-few', FEW_PARTITIONS, N, value);
    const fewConsume = await consumeAll(broker.address, 'scale-few', FEW_PARTITIONS, N);
    const fewAgain = await produceSpread(broker.address, 'scale-few', FEW_PARTITIONS, N, value);
    console.log(`  ${FEW_PARTITIONS} partitions: produce ${rate(fewProduce)}, again ${rate(fewAgain)}, consume ${rate(fewConsume)}`);
    const manyProduce = await produceSpread(broker.address, 'scale-many', P, N, value);
    const manyConsume = await consumeAll(broker.address, 'scale-many', P, N);
    const manyAgain = await produceSpread(broker.address, 'scale-many', P, N, value);
    console.log(`  ${P} partitions: produce ${rate(manyProduce)}, again ${rate(manyAgain)}, consume ${rate(manyConsume)}`);
    const afterLoad = await footprint(broker.pid);
    console.log(`  after the load: ${fmtFootprint(afterLoad)}`);

    // ---- connections (same broker: its partitions are idle now) ----
    const fewConn = await connectionRound(broker, 'scale-conn-few', FEW_CLIENTS, N);
    console.log(`  ${fewConn.clients} clients: produce ${rate(fewConn.produce)}, consume ${rate(fewConn.consume)}; broker ${fmtFootprint(fewConn.broker)}`);
    const manyConn = await connectionRound(broker, 'scale-conn-many', C, N);
    console.log(`  ${manyConn.clients} clients: produce ${rate(manyConn.produce)}, consume ${rate(manyConn.consume)}; broker ${fmtFootprint(manyConn.broker)}`);
    console.log(`  broker CPU, produce / consume: ${fewConn.clients} clients ${fewConn.produce.brokerCpuMs} / ${fewConn.consume.brokerCpuMs} ms, ${manyConn.clients} clients ${manyConn.produce.brokerCpuMs} / ${manyConn.consume.brokerCpuMs} ms`);

    await broker.stop(60_000);
    broker = await start(dataDir);
    const restartMs = broker.startupMs;
    const idleAfterRestart = await settledFootprint(broker.pid);
    console.log(`  restart with ${P + FEW_PARTITIONS * 3} partitions: ${restartMs.toFixed(0)} ms; idle ${fmtFootprint(idleAfterRestart)}`);
    await broker.stop(60_000);
    await rm(dataDir, { recursive: true, force: true });

    // ---- start-up on a big data dir ----
    const startup = await startupBench(options, start);

    return {
      date: new Date().toISOString(),
      node: process.version,
      options: { partitions: P, connections: C, records: N, dataGb: options.dataGb, segments: options.segments },
      partitions: {
        createSeconds,
        few: { produce: fewProduce, produceAgain: fewAgain, consume: fewConsume },
        many: { produce: manyProduce, produceAgain: manyAgain, consume: manyConsume },
        ratio: {
          produce: manyProduce.msgsPerSec / fewProduce.msgsPerSec,
          produceAgain: manyAgain.msgsPerSec / fewAgain.msgsPerSec,
          consume: manyConsume.msgsPerSec / fewConsume.msgsPerSec,
        },
        idleEmpty, idleAfterCreate, afterLoad, restartMs, idleAfterRestart,
      },
      connections: {
        few: fewConn,
        many: manyConn,
        ratio: { produce: manyConn.produce.msgsPerSec / fewConn.produce.msgsPerSec, consume: manyConn.consume.msgsPerSec / fewConn.consume.msgsPerSec },
      },
      startup,
    };
  } finally {
    for (const b of brokers) await b.kill().catch(() => undefined);
  }
}

function throughput(ms: number, records: number): ScaleThroughput {
  return { records, seconds: ms / 1000, msgsPerSec: records / (ms / 1000) };
}

function rate(t: ScaleThroughput): string {
  return `${Math.round(t.msgsPerSec).toLocaleString('en-US')} msg/s (${t.seconds.toFixed(2)} s)`;
}

/** N records with one producer, record i to partition ⌊i·P/N⌋, 1,000 per sendBatch, 4 in flight. */
async function produceSpread(bootstrap: string, topic: string, partitions: number, count: number, value: Buffer): Promise<ScaleThroughput> {
  const producer = new Producer({ bootstrapServers: bootstrap, clientId: 'bench-scale', acks: 'all', compression: 'none', idempotent: false });
  try {
    await producer.connect();
    const started = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next * BATCH < count) {
        const first = next++ * BATCH;
        const n = Math.min(BATCH, count - first);
        await producer.sendBatch(Array.from({ length: n }, (_, i) => ({ topic, partition: Math.floor(((first + i) * partitions) / count), value })));
      }
    };
    await withTimeout(`producing to ${topic}`, STEP_TIMEOUT_MS, Promise.all(Array.from({ length: IN_FLIGHT }, worker)));
    return throughput(performance.now() - started, count);
  } finally {
    await producer.close();
  }
}

/** One consumer assigned every partition, from the beginning, until it has `count` records. */
async function consumeAll(bootstrap: string, topic: string, partitions: number, count: number): Promise<ScaleThroughput> {
  const consumer = new Consumer({ bootstrapServers: bootstrap, clientId: 'bench-scale', enableAutoCommit: false });
  try {
    await consumer.connect();
    const started = performance.now();
    const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    consumer.assign(tps);
    await consumer.seekToBeginning(tps);
    const deadline = started + STEP_TIMEOUT_MS;
    let seen = 0;
    while (seen < count) {
      if (performance.now() > deadline) throw new Error(`consuming ${topic}: ${seen} of ${count} records after ${STEP_TIMEOUT_MS} ms`);
      seen += (await consumer.poll(1000)).length;
    }
    return throughput(performance.now() - started, count);
  } finally {
    await consumer.close();
  }
}

/**
 * `clients` clients, half producers and half consumers, all connected before the clock starts, spread over
 * SCALE_WORKERS forked processes (bench/scale-worker.ts; the same for the few and the many clients). Producer k
 * writes count/(clients/2) records to partition k mod 4; then consumer k reads one equal offset range of
 * partition k mod 4.
 */
async function connectionRound(
  broker: BrokerProcess, topic: string, clients: number, count: number,
): Promise<{ clients: number; workers: number; connectSeconds: number; produce: ScaleThroughput; consume: ScaleThroughput; broker: BrokerFootprint }> {
  const half = Math.max(1, Math.floor(clients / 2));
  const admin = new Admin({ bootstrapServers: broker.address, clientId: 'bench-scale-admin' });
  try {
    await admin.createTopics([{ name: topic, numPartitions: FEW_PARTITIONS }]);
  } finally {
    await admin.close();
  }
  const perProducer = (k: number): number => Math.floor(count / half) + (k < count % half ? 1 : 0);
  const perPartitionConsumers = Array.from({ length: FEW_PARTITIONS }, (_, p) => Math.floor(half / FEW_PARTITIONS) + (p < half % FEW_PARTITIONS ? 1 : 0));
  // Each partition's offsets [0, end) split evenly over the consumers of that partition.
  const ends = Array.from({ length: FEW_PARTITIONS }, (_, p) => Array.from({ length: half }, (_, k) => (k % FEW_PARTITIONS === p ? perProducer(k) : 0)).reduce((a, b) => a + b, 0));
  const workerCount = Math.min(SCALE_WORKERS, half);
  const plans: WorkerPlan[] = Array.from({ length: workerCount }, () => ({
    address: broker.address, topic, producers: [], consumers: [],
    fetchBytes: Math.max(64 * 1024, Math.ceil(count / half) * (RECORD_BYTES + 20)),
    recordBytes: RECORD_BYTES, batch: BATCH, stepTimeoutMs: STEP_TIMEOUT_MS,
  }));
  for (let k = 0; k < half; k++) {
    const partition = k % FEW_PARTITIONS;
    const slot = Math.floor(k / FEW_PARTITIONS);
    const slots = perPartitionConsumers[partition]!;
    plans[k % workerCount]!.producers.push({ partition, count: perProducer(k) });
    plans[k % workerCount]!.consumers.push({ partition, from: Math.floor((ends[partition]! * slot) / slots), to: Math.floor((ends[partition]! * (slot + 1)) / slots) });
  }
  const workers = plans.map(() => fork(SCALE_WORKER_PATH, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const exited = workers.map((w) => new Promise<void>((resolve) => (w.exitCode !== null ? resolve() : w.once('exit', () => resolve()))));
  const step = async (what: string, request: (i: number) => WorkerRequest): Promise<WorkerReply[]> =>
    withTimeout(what, STEP_TIMEOUT_MS, Promise.all(workers.map((w, i) => new Promise<WorkerReply>((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`${what}: scale worker ${i} exited (${code})`));
      w.once('exit', onExit);
      w.once('message', (reply: WorkerReply) => {
        w.off('exit', onExit);
        if (reply.ok) resolve(reply);
        else reject(new Error(`${what}: scale worker ${i}: ${reply.error}`));
      });
      w.send(request(i));
    }))));
  try {
    const c0 = performance.now();
    await step('connecting', (i) => ({ step: 'connect', plan: plans[i]! }));
    const connectSeconds = (performance.now() - c0) / 1000;
    const footprintNow = await footprint(broker.pid);

    const started = performance.now();
    const cpu0 = await cpuMs(broker.pid);
    await step(`producing to ${topic}`, () => ({ step: 'produce' }));
    const produce = { ...throughput(performance.now() - started, count), brokerCpuMs: (await cpuMs(broker.pid)) - cpu0 };

    const c1 = performance.now();
    const cpu1 = await cpuMs(broker.pid);
    const replies = await step(`consuming ${topic}`, () => ({ step: 'consume' }));
    const read = replies.reduce((sum, r) => sum + (r.ok ? r.read ?? 0 : 0), 0);
    const consume = { ...throughput(performance.now() - c1, read), brokerCpuMs: (await cpuMs(broker.pid)) - cpu1 };
    return { clients: half * 2, workers: workerCount, connectSeconds, produce, consume, broker: footprintNow };
  } finally {
    await withTimeout('closing the scale workers', 60_000, step('closing', () => ({ step: 'close' }))).catch(() => undefined);
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await Promise.all(exited);
  }
}

/** Builds the big data dir, then times the broker's start after a clean shutdown and after kill -9. */
async function startupBench(
  options: ScaleBenchOptions, start: (dir: string, settings?: Record<string, string>) => Promise<BrokerProcess>,
): Promise<ScaleBenchResult['startup']> {
  const bytes = Math.round(options.dataGb * 1e9);
  const fs = await statfs(options.workDir);
  const free = fs.bavail * fs.bsize;
  if (free < bytes * 1.2 + 2e9) return { skipped: `${(free / 1e9).toFixed(1)} GB free, ${(bytes / 1e9).toFixed(1)} GB asked` };
  const partitions = Math.min(DATA_PARTITIONS, options.segments);
  // segment.bytes = bytes ÷ segments: a segment rolls before it would pass that, so at least `segments` come out.
  const segmentBytes = Math.max(64 * 1024, Math.floor(bytes / options.segments));
  const dir = join(options.workDir, 'scale-data');
  try {
    // The topic through the broker (its metadata files), then the segments straight through the storage classes.
    let broker = await start(dir);
    const admin = new Admin({ bootstrapServers: broker.address, clientId: 'bench-scale-admin' });
    try {
      await admin.createTopics([{ name: 'scale-data', numPartitions: partitions, configs: { 'segment.bytes': String(segmentBytes) } }]);
    } finally {
      await admin.close();
    }
    await broker.stop(60_000);
    const g0 = performance.now();
    const written = await generateSegments(dir, partitions, segmentBytes, bytes);
    const generateSeconds = (performance.now() - g0) / 1000;
    console.log(`  data dir: ${written.segments} segments, ${(written.bytes / 1e9).toFixed(2)} GB in ${partitions} partitions, written in ${generateSeconds.toFixed(1)} s`);

    broker = await start(dir);
    const cleanStart = broker.startupMs;
    const cleanLoaded = logsLoaded(broker.output());
    const cleanFootprint = await footprint(broker.pid);
    console.log(`  clean start-up: ${cleanStart.toFixed(0)} ms to listening (logs loaded in ${cleanLoaded.ms} ms); ${fmtFootprint(cleanFootprint)}`);
    // A tail of acks=1 appends (not flushed), then a crash.
    const producer = new Producer({ bootstrapServers: broker.address, clientId: 'bench-scale', acks: 1, compression: 'none', idempotent: false });
    const value = Buffer.alloc(RECORD_BYTES, 'x');
    try {
      await producer.connect();
      for (let p = 0; p < partitions; p++) {
        await producer.sendBatch(Array.from({ length: TAIL_RECORDS_PER_PARTITION }, () => ({ topic: 'scale-data', partition: p, value })));
      }
    } finally {
      await producer.close();
    }
    await broker.kill();
    broker = await start(dir);
    const killStart = broker.startupMs;
    const killLoaded = logsLoaded(broker.output());
    console.log(`  after kill -9: ${killStart.toFixed(0)} ms to listening (logs loaded in ${killLoaded.ms} ms, ${killLoaded.segmentsRecovered} segments recovered)`);
    await broker.stop(60_000);
    return {
      partitions, segments: written.segments, bytes: written.bytes, generateSeconds,
      clean: { startupMs: cleanStart, logsLoadedMs: cleanLoaded.ms, rssKb: cleanFootprint.rssKb, fds: cleanFootprint.fds },
      afterKill: { startupMs: killStart, logsLoadedMs: killLoaded.ms, segmentsRecovered: killLoaded.segmentsRecovered, tailRecords: TAIL_RECORDS_PER_PARTITION * partitions },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Appends ~16 KB batches to every partition of `scale-data` (round robin) through LogManager and Log.append,
 * until `bytes` are written, then closes the manager cleanly (checkpoints and the clean-shutdown marker).
 */
async function generateSegments(dir: string, partitions: number, segmentBytes: number, bytes: number): Promise<{ segments: number; bytes: number }> {
  const manager = new LogManager({ dataDir: dir, brokerDefaults: {} });
  await manager.load([{ name: 'scale-data', partitions, config: { 'segment.bytes': String(segmentBytes) } }]);
  const value = Buffer.alloc(RECORD_BYTES, 'x');
  const template = buildRecordBatch(Array.from({ length: GENERATOR_BATCH_RECORDS }, () => ({ value })));
  const logs = Array.from({ length: partitions }, (_, p) => manager.getLog('scale-data', p)!);
  let written = 0;
  // Bounded: each round appends one batch per partition.
  const rounds = Math.ceil(bytes / (template.length * partitions));
  for (let r = 0; r < rounds; r++) {
    for (const log of logs) log.append(template, { leaderEpoch: 0 });
    written += template.length * partitions;
    // Let background flushes of rolled segments run now and then, so they do not pile up.
    if (r % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  const segments = logs.reduce((sum, log) => sum + log.segmentCount, 0);
  await manager.close();
  return { segments, bytes: written };
}

/** The broker's "logs loaded" line: how long LogManager.load took and how many segments it recovered. */
function logsLoaded(output: string): { ms: number; segmentsRecovered: number } {
  const line = output.split('\n').reverse().find((l) => l.includes('"logs loaded"'));
  if (!line) return { ms: NaN, segmentsRecovered: NaN };
  const parsed = JSON.parse(line) as { ms?: number; segmentsRecovered?: number };
  return { ms: parsed.ms ?? NaN, segmentsRecovered: parsed.segmentsRecovered ?? NaN };
}

async function settledFootprint(pid: number): Promise<BrokerFootprint> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return footprint(pid);
}

/** VmRSS, open descriptors and, of those, sockets, from /proc. */
async function footprint(pid: number): Promise<BrokerFootprint> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  const fds = await readdir(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target.startsWith('socket:')) sockets++;
  }
  return { rssKb, fds: fds.length, sockets };
}

/** User + system CPU time of a process so far, in ms (/proc/PID/stat, clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function fmtFootprint(f: BrokerFootprint): string {
  return `RSS ${(f.rssKb / 1024).toFixed(1)} MiB, ${f.fds} fds (${f.sockets} sockets)`;
}

export function formatScaleTable(r: ScaleBenchResult): string {
  const lines: string[] = [];
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(14))).join(' ');
  const msgs = (t: ScaleThroughput): string => Math.round(t.msgsPerSec).toLocaleString('en-US');
  const mib = (kb: number): string => (kb / 1024).toFixed(1);
  const o = r.options;
  lines.push(`\nScale, one broker, own client, ${o.records.toLocaleString('en-US')} × ${RECORD_BYTES} B records per row (msgs/s; ratio = many ÷ few, goal ≥ 0.80)`);
  lines.push(row(['', 'produce', 'produce again', 'consume', 'RSS MiB', 'fds']));
  const p = r.partitions;
  lines.push(row([`${FEW_PARTITIONS} partitions`, msgs(p.few.produce), msgs(p.few.produceAgain), msgs(p.few.consume), '', '']));
  lines.push(row([`${o.partitions} partitions`, msgs(p.many.produce), msgs(p.many.produceAgain), msgs(p.many.consume), mib(p.afterLoad.rssKb), String(p.afterLoad.fds)]));
  lines.push(row(['  ratio', p.ratio.produce.toFixed(2), p.ratio.produceAgain.toFixed(2), p.ratio.consume.toFixed(2), '', '']));
  const c = r.connections;
  lines.push(row([`${c.few.clients} clients (4 partitions)`, msgs(c.few.produce), '', msgs(c.few.consume), mib(c.few.broker.rssKb), `${c.few.broker.sockets} sockets`]));
  lines.push(row([`${c.many.clients} clients (4 partitions)`, msgs(c.many.produce), '', msgs(c.many.consume), mib(c.many.broker.rssKb), `${c.many.broker.sockets} sockets`]));
  lines.push(row(['  ratio', c.ratio.produce.toFixed(2), '', c.ratio.consume.toFixed(2), '', '']));
  const cpu = (t: ScaleThroughput): string => `${t.brokerCpuMs ?? NaN} ms`;
  lines.push(`broker CPU for the same records (produce / consume): ${c.few.clients} clients ${cpu(c.few.produce)} / ${cpu(c.few.consume)}, ` +
    `${c.many.clients} clients ${cpu(c.many.produce)} / ${cpu(c.many.consume)} (clients in ${c.many.workers} load-generator processes)`);
  lines.push('"produce" is each partition\'s first append (one-time costs included); "produce again" the same records once more');
  lines.push(`creating ${o.partitions} partitions: ${p.createSeconds.toFixed(2)} s; connecting ${c.many.clients} clients: ${c.many.connectSeconds.toFixed(2)} s`);
  lines.push(`idle RSS (goal ≤ 150 MiB): empty ${mib(p.idleEmpty.rssKb)} MiB (${p.idleEmpty.fds} fds); with ${o.partitions} partitions ${mib(p.idleAfterCreate.rssKb)} MiB (${p.idleAfterCreate.fds} fds); after a restart ${mib(p.idleAfterRestart.rssKb)} MiB (${p.idleAfterRestart.fds} fds, start-up ${p.restartMs.toFixed(0)} ms)`);
  const s = r.startup;
  if ('skipped' in s) {
    lines.push(`start-up on a big data dir: skipped (${s.skipped})`);
  } else {
    lines.push(`start-up on ${s.segments.toLocaleString('en-US')} segments / ${(s.bytes / 1e9).toFixed(2)} GB in ${s.partitions} partitions (goal ≤ 1,000 ms; warm page cache):`);
    lines.push(`  after a clean shutdown ${s.clean.startupMs.toFixed(0)} ms to listening (logs loaded ${s.clean.logsLoadedMs} ms), RSS ${mib(s.clean.rssKb)} MiB, ${s.clean.fds} fds`);
    lines.push(`  after kill -9 with ${s.afterKill.tailRecords.toLocaleString('en-US')} unflushed records ${s.afterKill.startupMs.toFixed(0)} ms (logs loaded ${s.afterKill.logsLoadedMs} ms, ${s.afterKill.segmentsRecovered} segments recovered)`);
  }
  return lines.join('\n');
}
