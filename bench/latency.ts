/**
 * End-to-end latency (`npm run bench -- --only latency`): how long a record takes from the application's send to
 * a consumer having it, at a steady rate, acks=all, 100-byte records, one partition, for the own client and for
 * kcat (librdkafka). Issue 13's goals: p99 <= 2 ms at 10k msg/s and <= 10 ms at 100k msg/s, and no broker GC
 * pause over 20 ms under that load.
 *
 * Producer and consumer live in this process (kcat's two processes are driven from here), so send and receive
 * times come from one clock, process.hrtime.bigint():
 * - own: a Producer (acks=all, lingerMs 0) gets the records due every millisecond, each stamped with the time of
 *   its send() call in its value; a Consumer (manual assignment, from the end) polls and records now − stamp the
 *   moment poll() hands the record over.
 * - kcat: `kcat -P` (acks=all, linger.ms=0) is fed lines on stdin at the same paced rate, the stamp being the time
 *   the line is written to the pipe; `kcat -C -o end -u` prints each value, and the latency is the time its line
 *   reaches this process − the stamp.
 * Pacing follows a schedule (what is due at elapsed × rate, checked every millisecond), never a busy loop; a sender
 * that falls behind shows as an achieved rate below the target and a schedule lag, not as a hidden gap.
 * A warm-up (discarded; it lasts until the consumer has seen a record as well) precedes each measured window.
 *
 * Latencies go into Node's HdrHistogram (perf_hooks.createHistogram) in nanoseconds. The broker runs with
 * --trace-gc, and the pauses V8 reports during each measured window are summed up per case. Optionally (eventLoop)
 * it runs with metrics on, so its event-loop delay over the window can be scraped (the scrape before the window
 * resets it); off by default, since metrics change what is measured.
 * Beside the end-to-end numbers: the own producer's send → acknowledgement time (acks=all answers after the
 * fdatasync, and an idempotent producer keeps at most 5 requests in flight, so slow acks hold records back) and
 * how far the sender ran behind its schedule (stalls of this process, not of the broker).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { Admin } from '../src/client/admin.js';
import { Consumer } from '../src/client/consumer.js';
import { Producer } from '../src/client/producer.js';
import { spawnBroker, type BrokerProcess } from '../test/compat/support/broker-process.js';
import { run } from '../test/compat/support/processes.js';
import { freePort } from '../test/helpers/free-ports.js';
import { MetricSet } from '../src/util/prometheus-text.js';

/** own and kcat: the cases; the mixed pairs (producer>consumer) tell which side a latency comes from. */
export const LATENCY_CLIENTS = ['own', 'kcat', 'own>kcat', 'kcat>own'] as const;
export type LatencyClient = (typeof LATENCY_CLIENTS)[number];

export interface LatencyBenchOptions {
  workDir: string;
  /** Measured seconds per case. */
  seconds: number;
  /** Warm-up seconds per case (at least; it also waits for the consumer's first record). */
  warmupSeconds: number;
  /** Target rates, msg/s. */
  rates: number[];
  clients: LatencyClient[];
  /**
   * Also scrape the broker's event-loop delay: turns the broker's metrics on (metrics.port), which changes what is
   * measured (prom-client's own work and garbage), so it is off by default.
   */
  eventLoop?: boolean;
  /** The consumers' fetch max wait (Kafka's fetch.max.wait.ms / librdkafka's fetch.wait.max.ms). */
  fetchWaitMs?: number;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface GcSummary {
  count: number;
  totalPauseMs: number;
  maxPauseMs: number;
  over20Ms: number;
  /** Pauses per kind (Scavenge, Mark-Compact, …). */
  byKind: Record<string, number>;
  /** Pauses per reason V8 gives (allocation failure, external memory pressure, …). */
  byReason: Record<string, number>;
}

export interface LatencyCase {
  client: LatencyClient;
  targetRate: number;
  /** Records sent in the measured window, and how many of them came back. */
  sent: number;
  received: number;
  seconds: number;
  achievedRate: number;
  /** achievedRate within 2% of the target. */
  keptRate: boolean;
  /** How far behind its schedule the sender ran at worst (event-loop stalls in this process), ms. */
  maxScheduleLagMs: number;
  latency: LatencySummary;
  /** Own producer only: send() → acknowledgement (acks=all: after the broker's fdatasync), which bounds how long a record waits behind the in-flight limit. */
  ack: LatencySummary | null;
  gc: GcSummary;
  /**
   * The broker's event-loop delay over the window beyond prom-client's 10 ms sampling interval (monitorEventLoopDelay
   * records whole intervals), ms; null unless asked for (eventLoop).
   */
  brokerEventLoop: { p99Ms: number; maxMs: number } | null;
  /**
   * The machine during the window: the share of time some task waited for a CPU / for I/O (Linux PSI "some", from
   * /proc/pressure; null where absent) and the 1-minute load average at its end — other work on the machine shows here.
   */
  machine: { cpuPressurePct: number | null; ioPressurePct: number | null; loadAvg1: number };
  goalP99Ms: number | null;
  meetsGoal: boolean | null;
}

export interface LatencyBenchResult {
  date: string;
  node: string;
  kcat: string;
  recordBytes: number;
  partitions: number;
  seconds: number;
  warmupSeconds: number;
  settings: { own: string; kcat: string };
  cases: LatencyCase[];
}

const RECORD_BYTES = 100;
const PARTITIONS = 1;
const DEFAULT_FETCH_WAIT_MS = 100;
/** Issue 13's p99 goals by rate. */
const GOALS_P99_MS: Record<number, number> = { 10_000: 2, 100_000: 10 };
const GC_GOAL_MS = 20;
/** Above this CPU pressure the table warns that the tails measure the machine as much as the broker. */
const BUSY_CPU_PRESSURE_PCT = 20;
/** prom-client's default eventLoopMonitoringPrecision. */
const EVENT_LOOP_RESOLUTION_MS = 10;
/** The value: 8 bytes of send time (ns) then the phase byte, then filler; kcat's lines: phase, 20 digits, filler. */
const MEASURED = 1;
const WARMUP = 0;
/** Bounds for every wait, so the bench never hangs. */
const WARMUP_LIMIT_MS = 20_000;
const DRAIN_LIMIT_MS = 15_000;

/** A paced sender: `emit(n, phase)` must send n records now, stamping each. */
type Emit = (n: number, phase: number) => void;

interface Pace { sent: number; seconds: number; maxLagMs: number }

/**
 * Sends what is due every millisecond for `seconds` (exactly seconds × rate records), or until `until()` when
 * `seconds` has passed (the warm-up). Per tick at most 10 ms worth, so a stalled loop catches up in steps.
 */
function pace(rate: number, seconds: number, phase: number, emit: Emit, until: () => boolean = () => true, limitMs = Infinity): Promise<Pace> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const total = phase === MEASURED ? Math.round(rate * seconds) : Infinity;
    const perTickCap = Math.max(1, Math.ceil(rate / 100));
    let sent = 0;
    let maxLagMs = 0;
    const timer = setInterval(() => {
      try {
        const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
        const due = Math.min(total, Math.floor((elapsedMs * rate) / 1000));
        const n = Math.min(due - sent, perTickCap);
        if (n > 0) {
          emit(n, phase);
          sent += n;
        }
        // Lag: how long ago the oldest record still unsent was due.
        if (due > sent) maxLagMs = Math.max(maxLagMs, elapsedMs - ((sent + 1) * 1000) / rate);
        const doneTime = elapsedMs >= seconds * 1000;
        if ((phase === MEASURED && sent >= total) || (phase !== MEASURED && doneTime && until())) {
          clearInterval(timer);
          resolve({ sent, seconds: Number(process.hrtime.bigint() - started) / 1e9, maxLagMs });
        } else if (elapsedMs > limitMs) {
          clearInterval(timer);
          reject(new Error(`warm-up: the consumer saw no record within ${limitMs} ms`));
        }
      } catch (err) {
        clearInterval(timer);
        reject(err as Error);
      }
    }, 1);
  });
}

function summarize(h: RecordableHistogram): LatencySummary {
  const ms = (ns: number): number => ns / 1e6;
  return {
    count: h.count,
    p50Ms: ms(h.percentile(50)),
    p90Ms: ms(h.percentile(90)),
    p99Ms: ms(h.percentile(99)),
    p999Ms: ms(h.percentile(99.9)),
    maxMs: ms(h.max),
  };
}

/** V8's --trace-gc line: "[pid:0x…]   1234 ms: Scavenge 3.8 (4.0) -> 3.4 (5.0) MB, 1.15 / 0.00 ms …". */
const GC_LINE = /\d+ ms: ([A-Za-z-]+(?: [A-Za-z-]+)*?)(?: \([^)]*\))? [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/;

/** A --trace-gc line's kind, main-thread pause and reason; null for any other line. */
export function parseGcPause(line: string): { kind: string; ms: number; reason: string } | null {
  const m = GC_LINE.exec(line);
  if (!m) return null;
  return { kind: m[1]!, ms: Number(m[2]), reason: /current mu = [\d.]+\) (.*?);? *$/.exec(line)?.[1] ?? '?' };
}

/** Collects the broker's GC pauses from its stdout; `take()` returns those since the last take. */
class GcWatch {
  private pending = '';
  private pauses: Array<{ kind: string; ms: number; reason: string }> = [];

  onChunk = (chunk: Buffer): void => {
    this.pending += chunk.toString('utf8');
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      const pause = parseGcPause(line);
      if (pause) this.pauses.push(pause);
    }
    // A JSON log line without a newline yet can be long; keep only what could still be a GC line's start.
    if (this.pending.length > 64 * 1024) this.pending = this.pending.slice(-1024);
  };

  take(): GcSummary {
    const pauses = this.pauses;
    this.pauses = [];
    const byKind: Record<string, number> = {};
    const byReason: Record<string, number> = {};
    for (const p of pauses) {
      byKind[p.kind] = (byKind[p.kind] ?? 0) + 1;
      byReason[p.reason] = (byReason[p.reason] ?? 0) + 1;
    }
    return {
      count: pauses.length,
      totalPauseMs: pauses.reduce((s, p) => s + p.ms, 0),
      maxPauseMs: pauses.reduce((m, p) => Math.max(m, p.ms), 0),
      over20Ms: pauses.filter((p) => p.ms > GC_GOAL_MS).length,
      byKind,
      byReason,
    };
  }
}

/**
 * A record's value (kcat's line, without the newline): the phase digit, the send time in ns as 20 digits, filler
 * to 100 bytes. Text, so kcat can carry it both ways and the pairs can be mixed (own → kcat, kcat → own).
 */
const FILLER = 'x'.repeat(RECORD_BYTES);
function stamp(phase: number): string {
  const head = `${phase}${process.hrtime.bigint().toString().padStart(20, '0')}`;
  return head + FILLER.slice(head.length);
}

/** Records a received value (as text or bytes) taken at `now`: true when it was a measured one. */
function recordLatency(histogram: RecordableHistogram, now: bigint, phase: number, sentNs: string): boolean {
  if (phase !== 48 + MEASURED) return false;
  histogram.record(Math.max(1, Number(now - BigInt(sentNs))));
  return true;
}

/** The producing side of a case. */
interface Sender {
  emit: Emit;
  /** send → acknowledgement, when the sender can tell (own). */
  ackHistogram: RecordableHistogram | null;
  /** Waits until everything sent is acknowledged (own) or kcat -P has flushed and exited. */
  finish(): Promise<void>;
  close(): Promise<void>;
}

/** The consuming side of a case, positioned at the end of the partition once it resolves (own) or soon (kcat). */
interface Receiver {
  /** Measured records received (and recorded) so far. */
  received(): number;
  /** Any record, warm-up included. */
  receivedAny(): boolean;
  close(): Promise<void>;
}

async function ownSender(bootstrap: string, topic: string): Promise<Sender> {
  const producer = new Producer({ bootstrapServers: bootstrap, clientId: 'bench-latency', acks: 'all', lingerMs: 0, compression: 'none' });
  await producer.connect();
  let failure: Error | null = null;
  let outstanding = 0;
  const ackHistogram = createHistogram({ lowest: 1, highest: 120e9, figures: 3 });
  const failed = (err: unknown): void => {
    outstanding--;
    failure ??= err as Error;
  };
  return {
    ackHistogram,
    emit(n, phase) {
      if (failure) throw failure;
      for (let i = 0; i < n; i++) {
        outstanding++;
        const sent = process.hrtime.bigint();
        const acked = (): void => {
          outstanding--;
          if (phase === MEASURED) ackHistogram.record(Math.max(1, Number(process.hrtime.bigint() - sent)));
        };
        producer.send({ topic, partition: 0, value: Buffer.from(stamp(phase), 'latin1') }).then(acked, failed);
      }
    },
    async finish() {
      await producer.flush();
      const deadline = Date.now() + DRAIN_LIMIT_MS;
      while (outstanding > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      if (failure) throw failure;
      if (outstanding > 0) throw new Error(`own producer: ${outstanding} sends unacknowledged after ${DRAIN_LIMIT_MS} ms`);
    },
    close: () => producer.close(),
  };
}

async function ownReceiver(bootstrap: string, topic: string, histogram: RecordableHistogram, fetchWaitMs: number): Promise<Receiver> {
  const consumer = new Consumer({ bootstrapServers: bootstrap, clientId: 'bench-latency', enableAutoCommit: false, fetchMaxWaitMs: fetchWaitMs });
  await consumer.connect();
  const tp = { topic, partition: 0 };
  consumer.assign([tp]);
  await consumer.seekToEnd([tp]);
  let received = 0;
  let any = false;
  let stopped = false;
  const polling = (async () => {
    while (!stopped) {
      const records = await consumer.poll(50);
      if (records.length === 0) continue;
      const now = process.hrtime.bigint();
      any = true;
      for (const r of records) {
        const v = r.value!;
        if (recordLatency(histogram, now, v[0], v.toString('latin1', 1, 21))) received++;
      }
    }
  })();
  return {
    received: () => received,
    receivedAny: () => any,
    async close() {
      stopped = true;
      await consumer.close();
      await polling.catch(() => {});
    },
  };
}

function spawnKcat(args: string[]): { child: ChildProcessWithoutNullStreams; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

/** Stops a kcat: SIGTERM, SIGKILL after a grace period. */
async function stopKcat(k: ReturnType<typeof spawnKcat>, graceMs = 5000): Promise<void> {
  if (k.child.exitCode === null && k.child.signalCode === null) k.child.kill('SIGTERM');
  const timer = setTimeout(() => k.child.kill('SIGKILL'), graceMs);
  await k.exited;
  clearTimeout(timer);
}

export const KCAT_PRODUCER_SETTINGS = ['-X', 'acks=all', '-X', 'linger.ms=0'];
function kcatConsumerSettings(fetchWaitMs: number): string[] {
  return ['-X', `fetch.wait.max.ms=${fetchWaitMs}`];
}

function kcatSender(bootstrap: string, topic: string): Sender {
  const producer = spawnKcat(['-P', '-b', bootstrap, '-t', topic, '-p', '0', ...KCAT_PRODUCER_SETTINGS]);
  let closing = false;
  let exitedEarly: string | null = null;
  void producer.exited.then((code) => (exitedEarly ??= `kcat -P exited (${code}): ${producer.stderr()}`));
  return {
    ackHistogram: null,
    emit(n, phase) {
      if (exitedEarly && !closing) throw new Error(exitedEarly);
      let text = '';
      for (let i = 0; i < n; i++) text += stamp(phase) + '\n';
      producer.child.stdin.write(text);
    },
    async finish() {
      // Closing stdin makes kcat -P flush (waiting for every acknowledgement) and exit.
      closing = true;
      producer.child.stdin.end();
      const timer = setTimeout(() => producer.child.kill('SIGKILL'), DRAIN_LIMIT_MS);
      const code = await producer.exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`kcat -P ended with ${code}: ${producer.stderr()}`);
    },
    async close() {
      closing = true;
      await stopKcat(producer);
    },
  };
}

function kcatReceiver(bootstrap: string, topic: string, histogram: RecordableHistogram, fetchWaitMs: number): Receiver {
  const consumer = spawnKcat(['-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', 'end', '-u', '-q', ...kcatConsumerSettings(fetchWaitMs), '-f', '%s\\n']);
  let received = 0;
  let any = false;
  let pending = '';
  consumer.child.stdout.on('data', (chunk: Buffer) => {
    const now = process.hrtime.bigint();
    pending += chunk.toString('latin1');
    let start = 0;
    let newline: number;
    while ((newline = pending.indexOf('\n', start)) >= 0) {
      any = true;
      if (recordLatency(histogram, now, pending.charCodeAt(start), pending.slice(start + 1, start + 21))) received++;
      start = newline + 1;
    }
    pending = pending.slice(start);
  });
  return {
    received: () => received,
    receivedAny: () => any,
    close: () => stopKcat(consumer),
  };
}

/** PSI's cumulative "some" stall time in µs (/proc/pressure/cpu or io), or null without PSI. */
async function pressureTotalUs(kind: 'cpu' | 'io'): Promise<number | null> {
  try {
    const m = /^some .*total=(\d+)/m.exec(await readFile(`/proc/pressure/${kind}`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Scrapes the broker's event-loop delay; each scrape also resets prom-client's histogram, so a scrape opens a window. */
async function scrapeEventLoop(metricsUrl: string | null): Promise<{ p99Ms: number; maxMs: number } | null> {
  if (metricsUrl === null) return null;
  try {
    const set = MetricSet.parse(await (await fetch(metricsUrl)).text());
    const p99 = set.max('nodejs_eventloop_lag_p99_seconds');
    const max = set.max('nodejs_eventloop_lag_max_seconds');
    const beyond = (seconds: number): number => Math.max(0, seconds * 1000 - EVENT_LOOP_RESOLUTION_MS);
    return p99 === undefined || max === undefined ? null : { p99Ms: beyond(p99), maxMs: beyond(max) };
  } catch {
    return null;
  }
}

async function runCase(broker: BrokerProcess, metricsUrl: string | null, gc: GcWatch, client: LatencyClient, rate: number, options: LatencyBenchOptions, index: number): Promise<LatencyCase> {
  const topic = `latency-${client.replace(">", "-to-")}-${rate}-${index}`;
  const admin = new Admin({ bootstrapServers: broker.address, clientId: 'bench-latency' });
  await admin.connect();
  try {
    await admin.createTopics([{ name: topic, numPartitions: PARTITIONS, replicationFactor: 1 }]);
  } finally {
    await admin.close();
  }
  const histogram = createHistogram({ lowest: 1, highest: 120e9, figures: 3 });
  const fetchWaitMs = options.fetchWaitMs ?? DEFAULT_FETCH_WAIT_MS;
  const [producerKind, consumerKind] = client.includes('>') ? client.split('>') : [client, client];
  let receiver: Receiver | undefined;
  let sender: Sender | undefined;
  try {
    receiver = consumerKind === 'own' ? await ownReceiver(broker.address, topic, histogram, fetchWaitMs) : kcatReceiver(broker.address, topic, histogram, fetchWaitMs);
    sender = producerKind === 'own' ? await ownSender(broker.address, topic) : kcatSender(broker.address, topic);
    const emit = sender.emit;
    await pace(rate, options.warmupSeconds, WARMUP, emit, receiver.receivedAny, options.warmupSeconds * 1000 + WARMUP_LIMIT_MS);
    gc.take();
    await scrapeEventLoop(metricsUrl);
    const [cpuBefore, ioBefore] = await Promise.all([pressureTotalUs('cpu'), pressureTotalUs('io')]);
    const measured = await pace(rate, options.seconds, MEASURED, emit);
    const [cpuAfter, ioAfter] = await Promise.all([pressureTotalUs('cpu'), pressureTotalUs('io')]);
    const share = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : (100 * (b - a)) / (measured.seconds * 1e6));
    const machine = { cpuPressurePct: share(cpuBefore, cpuAfter), ioPressurePct: share(ioBefore, ioAfter), loadAvg1: loadavg()[0]! };
    const gcSummary = gc.take();
    const brokerEventLoop = await scrapeEventLoop(metricsUrl);
    await sender.finish();
    const deadline = Date.now() + DRAIN_LIMIT_MS;
    while (receiver.received() < measured.sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const achievedRate = measured.sent / measured.seconds;
    const goal = GOALS_P99_MS[rate] ?? null;
    const latency = summarize(histogram);
    return {
      client,
      targetRate: rate,
      sent: measured.sent,
      received: receiver.received(),
      seconds: measured.seconds,
      achievedRate,
      keptRate: achievedRate >= rate * 0.98,
      maxScheduleLagMs: measured.maxLagMs,
      latency,
      ack: sender.ackHistogram ? summarize(sender.ackHistogram) : null,
      gc: gcSummary,
      brokerEventLoop,
      machine,
      goalP99Ms: goal,
      meetsGoal: goal === null ? null : latency.p99Ms <= goal && gcSummary.maxPauseMs <= GC_GOAL_MS && receiver.received() === measured.sent,
    };
  } finally {
    await sender?.close();
    await receiver?.close();
  }
}

export async function runLatencyBench(options: LatencyBenchOptions): Promise<LatencyBenchResult> {
  if (options.clients.some((c) => !LATENCY_CLIENTS.includes(c))) throw new Error(`clients must be among ${LATENCY_CLIENTS.join(', ')}`);
  const dir = await mkdtemp(join(options.workDir, 'latency-'));
  const gc = new GcWatch();
  let broker: BrokerProcess | undefined;
  try {
    const metricsPort = options.eventLoop ? await freePort() : null;
    const settings: Record<string, string> = metricsPort === null ? {} : { 'metrics.port': String(metricsPort) };
    broker = await spawnBroker(join(dir, 'data'), { nodeArgs: ['--trace-gc'], onStdout: gc.onChunk, settings });
    const metricsUrl = metricsPort === null ? null : `http://127.0.0.1:${metricsPort}/metrics`;
    const cases: LatencyCase[] = [];
    let index = 0;
    for (const rate of options.rates) {
      for (const client of options.clients) {
        const c = await runCase(broker, metricsUrl, gc, client, rate, options, index++);
        cases.push(c);
        console.log(`${client.padEnd(8)} ${rate} msg/s: p50 ${c.latency.p50Ms.toFixed(3)} ms, p99 ${c.latency.p99Ms.toFixed(3)} ms, max ${c.latency.maxMs.toFixed(1)} ms, ` +
          `${c.received}/${c.sent} received, ${Math.round(c.achievedRate)} msg/s achieved, GC max ${c.gc.maxPauseMs.toFixed(1)} ms`);
      }
    }
    const fetchWaitMs = options.fetchWaitMs ?? DEFAULT_FETCH_WAIT_MS;
    return {
      date: new Date().toISOString(),
      node: process.version,
      kcat: options.clients.includes('kcat') ? (await run('kcat', ['-V'])).stdout.split('\n').find((l) => l.startsWith('Version')) ?? 'unknown' : 'not run',
      recordBytes: RECORD_BYTES,
      partitions: PARTITIONS,
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
      settings: {
        own: `Producer acks=all lingerMs=0 (idempotent, the default); Consumer assign() from the end, fetchMaxWaitMs=${fetchWaitMs}, poll(50)`,
        kcat: `kcat -P ${KCAT_PRODUCER_SETTINGS.join(' ')}; kcat -C -o end -u ${kcatConsumerSettings(fetchWaitMs).join(' ')}`,
      },
      cases,
    };
  } finally {
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatLatencyTable(r: LatencyBenchResult): string {
  const f = (x: number): string => (x < 10 ? x.toFixed(3) : x.toFixed(1));
  const lines = [
    `\nEnd-to-end latency (send → consumer has it), acks=all, ${r.recordBytes} B records, ${r.partitions} partition, ${r.seconds} s per case after ${r.warmupSeconds} s warm-up, ms`,
    'client    target/s  achieved/s         received      p50      p90      p99    p99.9      max   goal p99  GC n  GC max  GC>20ms  loop p99  loop max  sched lag  ack p50  ack p99  cpu psi  load',
  ];
  for (const c of r.cases) {
    lines.push([
      c.client.padEnd(8),
      String(c.targetRate).padStart(8),
      (String(Math.round(c.achievedRate)) + (c.keptRate ? '' : '!')).padStart(10),
      `${c.received}/${c.sent}`.padStart(15),
      f(c.latency.p50Ms).padStart(8), f(c.latency.p90Ms).padStart(8), f(c.latency.p99Ms).padStart(8), f(c.latency.p999Ms).padStart(8), f(c.latency.maxMs).padStart(8),
      (c.goalP99Ms === null ? '-' : `${c.goalP99Ms} ${c.meetsGoal ? 'ok' : 'MISS'}`).padStart(9),
      String(c.gc.count).padStart(5), c.gc.maxPauseMs.toFixed(1).padStart(7), String(c.gc.over20Ms).padStart(8),
      (c.brokerEventLoop ? c.brokerEventLoop.p99Ms.toFixed(1) : '-').padStart(9), (c.brokerEventLoop ? c.brokerEventLoop.maxMs.toFixed(1) : '-').padStart(9),
      c.maxScheduleLagMs.toFixed(1).padStart(10),
      c.ack ? f(c.ack.p50Ms).padStart(8) : '       -', c.ack ? f(c.ack.p99Ms).padStart(8) : '       -',
      (c.machine.cpuPressurePct === null ? '-' : `${c.machine.cpuPressurePct.toFixed(0)}%`).padStart(8), c.machine.loadAvg1.toFixed(1).padStart(5),
    ].join(' '));
  }
  lines.push(`own: ${r.settings.own}`);
  lines.push(`kcat: ${r.settings.kcat}`);
  lines.push('achieved/s with "!": the sender fell more than 2% short of the target; sched lag: worst delay behind the send schedule (ms);');
  lines.push('loop: the broker\'s event-loop delay in the window beyond the 10 ms sampling interval (only with --latency-event-loop, which turns metrics on)');
  lines.push('ack: send → acknowledgement of the own producer (acks=all waits for the broker\'s fdatasync)');
  lines.push('cpu psi: share of the window in which some task on the machine waited for a CPU (Linux PSI); load: 1-minute load average');
  const busy = r.cases.filter((c) => (c.machine.cpuPressurePct ?? 0) > BUSY_CPU_PRESSURE_PCT).map((c) => `${c.client} ${c.targetRate}/s`);
  if (busy.length > 0) {
    lines.push(`the machine was busy (cpu psi > ${BUSY_CPU_PRESSURE_PCT}%) during ${busy.join(', ')}: their tails and GC pauses (wall time) include waiting for a CPU`);
  }
  return lines.join('\n');
}
