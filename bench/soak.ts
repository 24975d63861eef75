/**
 * Soak: a bounded, long run of mixed load at a steady rate against one broker in a child process, watching whether
 * anything drifts — throughput, end-to-end latency, the broker's RSS, open file handles and disk — and checking that
 * no acknowledged record goes missing. Flat lines are the goal; a slope over the second half is a leak.
 *
 * The load, all from this process with the own client:
 *   - producers at `ratePerSec` in all, each on its own schedule (ticks of TICK_MS; a producer more than
 *     MAX_OUTSTANDING_S seconds of records behind sheds the tick and counts it instead of queueing without bound):
 *     acks=all idempotent, acks=all, acks=1, and a transactional producer (TX_SHARE of the rate, one transaction
 *     per TX_INTERVAL_MS, committed);
 *   - group "main": MAIN_MEMBERS members, read_committed, auto-commit every second (and on revoke and close); every
 *     `churnMs` its oldest member leaves and a new one joins;
 *   - group "audit": another system reading the same stream, one member, read_uncommitted, no churn;
 *   - TOPICS topics of `partitions` partitions, each record written to an explicit partition in turn, with
 *     segment.bytes / retention.bytes small enough that segments roll and are deleted all through the run.
 * Each record's value starts with its send time (performance.now(), float64 LE); a group's first read of a record
 * records now − send time into that interval's histogram (perf_hooks.createHistogram, µs).
 *
 * Every `sampleMs`: records acknowledged and first-read per second, latency p50/p99/max per group, the broker's
 * VmRSS (/proc/PID/status), open fds (entries of /proc/PID/fd), CPU (/proc/PID/stat), the data directory's size and
 * this process's RSS (so a saturated load generator is told apart from a slow broker).
 *
 * The checker: offsets acknowledged per partition (OffsetSet), and per group the offsets read. After the load
 * stops the groups get up to `drainTimeoutMs` to catch up; then lost = acknowledged but never read by that group
 * (must be 0), duplicates = reads of an offset the group had already read (at-least-once allows them; counted).
 *
 * Output: an HTML report (inline SVG line charts drawn by src/experiment/report.ts's lineChart; no other file
 * needed), the same numbers as JSON beside it, and a summary: the least-squares slope of RSS, fds and disk over the
 * second half of the run, the range of the per-interval p99, totals.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createHistogram, monitorEventLoopDelay, type RecordableHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin } from '../src/client/admin.js';
import { Consumer, type ConsumerRecord } from '../src/client/consumer.js';
import { Producer, type Acks, type ProducerRecord, type RecordMetadata } from '../src/client/producer.js';
import { esc, lineChart, REPORT_CSS, SERIES_COLORS, type LineSeries } from '../src/experiment/report.js';
import { spawnBroker } from '../test/compat/support/broker-process.js';

const TOPICS = ['soak-orders', 'soak-events'];
const MAIN_MEMBERS = 3;
const TICK_MS = 20;
/** A producer this many seconds of its rate behind sheds instead of queueing more. */
const MAX_OUTSTANDING_S = 2;
const TX_SHARE = 0.1;
const TX_INTERVAL_MS = 200;
/** Bytes at the start of a value: send time (float64), producer index (uint32), sequence (uint32). */
const HEADER_BYTES = 16;

export interface SoakOptions {
  /** The broker's data directory goes under it (a fresh directory). */
  workDir: string;
  durationMs: number;
  /** Records per second over all producers. */
  ratePerSec: number;
  sampleMs: number;
  /** Where the HTML report goes; the JSON goes beside it with .json. */
  reportPath: string;
  /** Default 100. */
  recordBytes?: number;
  /** A main-group member leaves and a new one joins this often. Default 60 s. */
  churnMs?: number;
  /** Per topic. Default 4. */
  partitions?: number;
  /** Topic segment.bytes. Default 2 MiB. */
  segmentBytes?: number;
  /** Topic retention.bytes (per partition). Default 16 MiB. */
  retentionBytes?: number;
  /** The broker's log.retention.check.interval.ms. Default 5 s. */
  retentionCheckMs?: number;
  /** How long the groups get to read what is left once the load stops. Default 60 s. */
  drainTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SoakSample {
  /** Seconds since the load started (end of the interval). */
  t: number;
  /** Records acknowledged per second. */
  inPerSec: number;
  /** First reads per second by each group. */
  outMainPerSec: number;
  outAuditPerSec: number;
  /** End-to-end latency of the interval's first reads, ms; null when the group read nothing. */
  mainP50Ms: number | null;
  mainP99Ms: number | null;
  mainMaxMs: number | null;
  auditP50Ms: number | null;
  auditP99Ms: number | null;
  auditMaxMs: number | null;
  brokerRssMiB: number;
  brokerFds: number;
  brokerCpuPct: number;
  diskMiB: number;
  generatorRssMiB: number;
  /**
   * The longest this process's event loop was held up in the interval: when it is near the latency max, the
   * spike was the load generator's (a GC pause, a burst of work), not the broker's.
   */
  generatorLoopDelayMaxMs: number;
  /** Records shed by producers that were too far behind, per second. */
  shedPerSec: number;
}

export interface Trend {
  /** Least-squares slope over the second half, per minute. */
  slopePerMin: number;
  mean: number;
  /** slope × the second half's length: how much the fit says it grew then. */
  changeOverHalf: number;
  verdict: 'flat' | 'rising' | 'falling';
}

export interface SoakResult {
  date: string;
  node: string;
  machine: string;
  settings: {
    durationS: number; ratePerSec: number; sampleS: number; recordBytes: number; churnS: number; topics: string[];
    partitions: number; segmentBytes: number; retentionBytes: number; retentionCheckMs: number;
  };
  samples: SoakSample[];
  producers: Array<{ name: string; acks: string; ratePerSec: number; scheduled: number; acked: number; failed: number; shed: number }>;
  groups: Array<{
    name: string; isolation: string; firstReads: number; duplicates: number; lost: number; readNotAcked: number;
    joins: number; leaves: number; errors: number;
  }>;
  /** Log start offsets at the end: above 0 means retention deleted segments during the run. */
  logStart: { min: number; max: number };
  drainMs: number;
  summary: {
    rss: Trend; fds: Trend; disk: Trend;
    /** Range of the per-interval p99 of the main group (whole run, and second half). */
    mainP99Ms: { min: number; max: number; secondHalfMin: number; secondHalfMax: number } | null;
    meanInPerSec: number; acked: number; lost: number; duplicates: number; shed: number; failed: number;
  };
  report: { html: string; json: string };
}

/**
 * The offsets of one partition as sorted, disjoint, non-touching runs [start, end). Offsets mostly arrive in order
 * (appended to the last run), so an hour of records costs a few runs per partition, not one entry per record; the
 * gaps left by transaction markers are the only lasting splits.
 */
export class OffsetSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  size = 0;

  /** False when `offset` was already in the set. */
  add(offset: number): boolean {
    const n = this.starts.length;
    if (n === 0 || offset > this.ends[n - 1]) {
      this.size++;
      if (n > 0 && offset === this.ends[n - 1]) this.ends[n - 1]++;
      else {
        this.starts.push(offset);
        this.ends.push(offset + 1);
      }
      return true;
    }
    // The last run starting at or before offset.
    let lo = 0;
    let hi = n - 1;
    let i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] <= offset) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (i >= 0 && offset < this.ends[i]) return false;
    this.size++;
    const joinsPrevious = i >= 0 && this.ends[i] === offset;
    const joinsNext = i + 1 < n && this.starts[i + 1] === offset + 1;
    if (joinsPrevious && joinsNext) {
      this.ends[i] = this.ends[i + 1];
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinsPrevious) this.ends[i]++;
    else if (joinsNext) this.starts[i + 1] = offset;
    else {
      this.starts.splice(i + 1, 0, offset);
      this.ends.splice(i + 1, 0, offset + 1);
    }
    return true;
  }

  /** How many offsets of this set `other` does not have. */
  missingFrom(other: OffsetSet | undefined): number {
    if (!other) return this.size;
    let common = 0;
    let j = 0;
    for (let i = 0; i < this.starts.length; i++) {
      while (j < other.starts.length && other.ends[j] <= this.starts[i]) j++;
      for (let k = j; k < other.starts.length && other.starts[k] < this.ends[i]; k++) {
        common += Math.min(this.ends[i], other.ends[k]) - Math.max(this.starts[i], other.starts[k]);
      }
    }
    return this.size - common;
  }
}

interface Member { consumer: Consumer; stopped: boolean; loop: Promise<void> }

interface GroupLoad {
  name: 'main' | 'audit';
  isolation: 'read_committed' | 'read_uncommitted';
  members: Member[];
  read: Map<string, OffsetSet>;
  firstReads: number;
  duplicates: number;
  intervalReads: number;
  histogram: RecordableHistogram;
  joins: number;
  leaves: number;
  errors: number;
}

interface ProducerLoad {
  name: string;
  acks: string;
  producer: Producer;
  ratePerSec: number;
  scheduled: number;
  outstanding: number;
  acked: number;
  failed: number;
  shed: number;
}

export async function runSoakBench(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const recordBytes = Math.max(HEADER_BYTES, options.recordBytes ?? 100);
  const partitions = options.partitions ?? 4;
  const churnMs = options.churnMs ?? 60_000;
  const segmentBytes = options.segmentBytes ?? 2 * 1024 * 1024;
  const retentionBytes = options.retentionBytes ?? 16 * 1024 * 1024;
  const retentionCheckMs = options.retentionCheckMs ?? 5000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 60_000;
  const dataDir = join(options.workDir, 'soak-data');
  const broker = await spawnBroker(dataDir, {
    settings: {
      'num.partitions': String(partitions),
      'group.initial.rebalance.delay.ms': '0',
      'log.retention.check.interval.ms': String(retentionCheckMs),
      // The internal topics roll too, so the cleaner compacts them and they do not grow for the whole run.
      'offsets.topic.segment.bytes': String(1024 * 1024),
      'transaction.state.log.segment.bytes': String(1024 * 1024),
    },
  });
  log(`Tributary (pid ${broker.pid}) at ${broker.address} for the soak: ${options.ratePerSec} records/s for ${(options.durationMs / 1000).toFixed(0)} s`);
  const bootstrapServers = broker.address;
  const admin = new Admin({ bootstrapServers, clientId: 'soak-admin' });
  const producers: ProducerLoad[] = [];
  const groups: GroupLoad[] = [];
  try {
    await admin.connect();
    await admin.createTopics(TOPICS.map((name) => ({
      name, numPartitions: partitions,
      // file.delete.delay.ms short: deleted segments leave the disk (and their fds close) within a sample or two.
      configs: { 'segment.bytes': String(segmentBytes), 'retention.bytes': String(retentionBytes), 'file.delete.delay.ms': '1000' },
    })));

    const acked = new Map<string, OffsetSet>();
    let intervalAcked = 0;
    const onAcked = (metas: RecordMetadata[]): void => {
      for (const m of metas) {
        const key = `${m.topic}/${m.partition}`;
        let set = acked.get(key);
        if (!set) acked.set(key, (set = new OffsetSet()));
        set.add(m.offset);
      }
      intervalAcked += metas.length;
    };

    const regularRate = (options.ratePerSec * (1 - TX_SHARE)) / 3;
    const specs: Array<{ name: string; acks: Acks; idempotent: boolean; transactional?: boolean; rate: number }> = [
      { name: 'acks=all idempotent', acks: 'all', idempotent: true, rate: regularRate },
      { name: 'acks=all', acks: 'all', idempotent: false, rate: regularRate },
      { name: 'acks=1', acks: 1, idempotent: false, rate: regularRate },
      { name: 'transactional', acks: 'all', idempotent: true, transactional: true, rate: options.ratePerSec * TX_SHARE },
    ];
    for (const [i, s] of specs.entries()) {
      const producer = new Producer({
        bootstrapServers, clientId: `soak-producer-${i}`, acks: s.acks, idempotent: s.idempotent,
        ...(s.transactional ? { transactionalId: 'soak-tx' } : {}),
      });
      producers.push({ name: s.name, acks: String(s.acks), producer, ratePerSec: s.rate, scheduled: 0, outstanding: 0, acked: 0, failed: 0, shed: 0 });
      await producer.connect();
    }

    const filler = Buffer.alloc(recordBytes, 'x');
    let sequence = 0;
    const makeRecords = (producerIndex: number, count: number): ProducerRecord[] => {
      const records: ProducerRecord[] = [];
      const now = performance.now();
      for (let i = 0; i < count; i++) {
        const n = sequence++;
        const value = Buffer.allocUnsafe(recordBytes);
        filler.copy(value, HEADER_BYTES, HEADER_BYTES);
        value.writeDoubleLE(now, 0);
        value.writeUInt32LE(producerIndex, 8);
        value.writeUInt32LE(n % 0x1_0000_0000, 12);
        records.push({ topic: TOPICS[n % TOPICS.length], partition: Math.floor(n / TOPICS.length) % partitions, value });
      }
      return records;
    };

    // Consumers.
    const newGroup = (name: GroupLoad['name'], isolation: GroupLoad['isolation']): GroupLoad => ({
      name, isolation, members: [], read: new Map(), firstReads: 0, duplicates: 0, intervalReads: 0,
      histogram: createHistogram(), joins: 0, leaves: 0, errors: 0,
    });
    const main = newGroup('main', 'read_committed');
    const audit = newGroup('audit', 'read_uncommitted');
    groups.push(main, audit);
    const onRead = (group: GroupLoad, records: ConsumerRecord[]): void => {
      const now = performance.now();
      for (const r of records) {
        const key = `${r.topic}/${r.partition}`;
        let set = group.read.get(key);
        if (!set) group.read.set(key, (set = new OffsetSet()));
        if (!set.add(r.offset)) {
          group.duplicates++;
          continue;
        }
        group.firstReads++;
        group.intervalReads++;
        if (r.value && r.value.length >= 8) group.histogram.record(Math.max(1, Math.round((now - r.value.readDoubleLE(0)) * 1000)));
      }
    };
    let memberCount = 0;
    const startMember = (group: GroupLoad): Member => {
      const consumer = new Consumer({
        bootstrapServers, clientId: `soak-${group.name}-${memberCount++}`, groupId: `soak-${group.name}`,
        autoOffsetReset: 'earliest', enableAutoCommit: true, autoCommitIntervalMs: 1000, heartbeatIntervalMs: 1000,
        isolationLevel: group.isolation,
      });
      const member: Member = { consumer, stopped: false, loop: Promise.resolve() };
      member.loop = (async () => {
        try {
          await consumer.subscribe(TOPICS);
          while (!member.stopped) onRead(group, await consumer.poll(250));
        } catch (err) {
          if (member.stopped) return;
          group.errors++;
          log(`  ${group.name} member ${consumer.groupMetadata().memberId || '(unjoined)'}: ${(err as Error).message}`);
        }
      })();
      group.joins++;
      group.members.push(member);
      return member;
    };
    const stopMember = async (group: GroupLoad, member: Member): Promise<void> => {
      member.stopped = true;
      group.members.splice(group.members.indexOf(member), 1);
      group.leaves++;
      await member.consumer.close().catch((err: unknown) => log(`  ${group.name}: close failed: ${(err as Error).message}`));
      await member.loop;
    };
    for (let i = 0; i < MAIN_MEMBERS; i++) startMember(main);
    startMember(audit);

    // Producers' schedules.
    const started = performance.now();
    const elapsedS = (): number => (performance.now() - started) / 1000;
    let loadRunning = true;
    const sends = new Set<Promise<void>>();
    const tick = (): void => {
      for (const [index, p] of producers.entries()) {
        if (index === 3) continue;
        const due = Math.floor(p.ratePerSec * elapsedS()) - p.scheduled;
        if (due <= 0) continue;
        p.scheduled += due;
        if (p.outstanding + due > p.ratePerSec * MAX_OUTSTANDING_S) {
          p.shed += due;
          continue;
        }
        p.outstanding += due;
        const send: Promise<void> = p.producer.sendBatch(makeRecords(index, due)).then(
          (metas) => {
            p.acked += metas.length;
            onAcked(metas);
          },
          (err: unknown) => {
            p.failed += due;
            log(`  ${p.name}: ${due} records failed: ${(err as Error).message}`);
          },
        ).finally(() => {
          p.outstanding -= due;
          sends.delete(send);
        });
        sends.add(send);
      }
    };
    const transactions = (async () => {
      const p = producers[3];
      while (loadRunning) {
        await sleep(TX_INTERVAL_MS);
        const due = Math.floor(p.ratePerSec * elapsedS()) - p.scheduled;
        if (due <= 0) continue;
        p.scheduled += due;
        const n = Math.min(due, Math.ceil(p.ratePerSec * MAX_OUTSTANDING_S));
        p.shed += due - n;
        try {
          p.producer.beginTransaction();
          const metas = await p.producer.sendBatch(makeRecords(3, n));
          await p.producer.commitTransaction();
          p.acked += metas.length;
          onAcked(metas);
        } catch (err) {
          p.failed += n;
          log(`  transactional: ${n} records failed: ${(err as Error).message}`);
          try {
            await p.producer.abortTransaction();
          } catch (abortErr) {
            log(`  transactional: abort failed, no more transactions: ${(abortErr as Error).message}`);
            return;
          }
        }
      }
    })();
    const churn = (async () => {
      let next = started + churnMs;
      while (loadRunning) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(Math.min(wait, 250));
        if (!loadRunning || performance.now() < next) continue;
        next += churnMs;
        // The oldest member leaves (committing on the way out) and a new one joins.
        const oldest = main.members[0];
        if (oldest) await stopMember(main, oldest);
        if (loadRunning) startMember(main);
      }
    })();

    // Samples.
    const samples: SoakSample[] = [];
    const cpuTicks = async (): Promise<number> => {
      // utime and stime, the 14th and 15th fields; the command name (2nd) may hold spaces, so count after its ')'.
      const text = await readFile(`/proc/${broker.pid}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]);
    };
    let lastTicks = await cpuTicks();
    let lastSampleAt = performance.now();
    let lastShed = 0;
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const takeSample = async (): Promise<SoakSample> => {
      const now = performance.now();
      const dt = (now - lastSampleAt) / 1000;
      lastSampleAt = now;
      const ticks = await cpuTicks();
      const shed = producers.reduce((s, p) => s + p.shed, 0);
      const percentiles = (g: GroupLoad): [number | null, number | null, number | null] => {
        const h = g.histogram;
        const out: [number | null, number | null, number | null] = h.count === 0 ? [null, null, null] : [h.percentile(50) / 1000, h.percentile(99) / 1000, h.max / 1000];
        h.reset();
        return out;
      };
      const [mainP50Ms, mainP99Ms, mainMaxMs] = percentiles(main);
      const [auditP50Ms, auditP99Ms, auditMaxMs] = percentiles(audit);
      const sample: SoakSample = {
        t: (now - started) / 1000,
        inPerSec: intervalAcked / dt,
        outMainPerSec: main.intervalReads / dt,
        outAuditPerSec: audit.intervalReads / dt,
        mainP50Ms, mainP99Ms, mainMaxMs, auditP50Ms, auditP99Ms, auditMaxMs,
        brokerRssMiB: await rssKb(broker.pid) / 1024,
        brokerFds: (await readdir(`/proc/${broker.pid}/fd`)).length,
        // Clock ticks are 1/100 s on Linux.
        brokerCpuPct: (ticks - lastTicks) / dt,
        diskMiB: await directoryBytes(dataDir) / (1024 * 1024),
        generatorRssMiB: process.memoryUsage.rss() / (1024 * 1024),
        generatorLoopDelayMaxMs: loopDelay.max / 1e6,
        shedPerSec: (shed - lastShed) / dt,
      };
      loopDelay.reset();
      lastTicks = ticks;
      lastShed = shed;
      intervalAcked = 0;
      main.intervalReads = 0;
      audit.intervalReads = 0;
      return sample;
    };
    const sampler = (async () => {
      for (let k = 1; loadRunning; k++) {
        const wait = started + k * options.sampleMs - performance.now();
        if (wait > 0) await sleep(wait);
        if (!loadRunning) break;
        const s = await takeSample();
        samples.push(s);
        log(`  ${s.t.toFixed(0).padStart(5)} s  in ${int(s.inPerSec)}/s  out ${int(s.outMainPerSec)}/s ${int(s.outAuditPerSec)}/s  `
          + `p99 ${ms(s.mainP99Ms)}  RSS ${s.brokerRssMiB.toFixed(1)} MiB  fds ${s.brokerFds}  disk ${s.diskMiB.toFixed(1)} MiB  `
          + `cpu ${s.brokerCpuPct.toFixed(0)}%  loop delay ${ms(s.generatorLoopDelayMaxMs)}${s.shedPerSec > 0 ? `  shed ${int(s.shedPerSec)}/s` : ''}`);
      }
    })();

    while (performance.now() - started < options.durationMs) {
      tick();
      await sleep(TICK_MS);
    }
    loadRunning = false;
    await Promise.all([transactions, churn, sampler]);
    loopDelay.disable();
    await Promise.allSettled([...sends]);

    // Let the groups read what is left, then count.
    const drainStarted = performance.now();
    const lostBy = (g: GroupLoad): number => [...acked].reduce((sum, [key, set]) => sum + set.missingFrom(g.read.get(key)), 0);
    while (performance.now() - drainStarted < drainTimeoutMs && groups.some((g) => lostBy(g) > 0)) await sleep(250);
    const drainMs = performance.now() - drainStarted;
    const logStarts = await admin.listOffsets(TOPICS.flatMap((topic) => Array.from({ length: partitions }, (_, partition) => ({ topic, partition, timestamp: 'earliest' as const }))));
    const groupResults = groups.map((g) => ({
      name: g.name, isolation: g.isolation, firstReads: g.firstReads, duplicates: g.duplicates, lost: lostBy(g),
      readNotAcked: [...g.read].reduce((sum, [key, set]) => sum + set.missingFrom(acked.get(key)), 0),
      joins: g.joins, leaves: g.leaves, errors: g.errors,
    }));
    await Promise.all(groups.flatMap((g) => [...g.members].map((m) => stopMember(g, m))));

    const summary = summarize(samples, options.durationMs);
    const reportJson = options.reportPath.replace(/\.html?$/, '') + '.json';
    const result: SoakResult = {
      date: new Date().toISOString(),
      node: process.version,
      machine: `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
      settings: {
        durationS: options.durationMs / 1000, ratePerSec: options.ratePerSec, sampleS: options.sampleMs / 1000, recordBytes,
        churnS: churnMs / 1000, topics: TOPICS, partitions, segmentBytes, retentionBytes, retentionCheckMs,
      },
      samples,
      producers: producers.map((p) => ({ name: p.name, acks: p.acks, ratePerSec: p.ratePerSec, scheduled: p.scheduled, acked: p.acked, failed: p.failed, shed: p.shed })),
      groups: groupResults,
      logStart: { min: Math.min(...logStarts.map((o) => o.offset)), max: Math.max(...logStarts.map((o) => o.offset)) },
      drainMs,
      summary: {
        ...summary,
        acked: producers.reduce((s, p) => s + p.acked, 0),
        lost: groupResults.reduce((s, g) => s + g.lost, 0),
        duplicates: groupResults.reduce((s, g) => s + g.duplicates, 0),
        shed: producers.reduce((s, p) => s + p.shed, 0),
        failed: producers.reduce((s, p) => s + p.failed, 0),
      },
      report: { html: options.reportPath, json: reportJson },
    };
    await mkdir(dirname(options.reportPath), { recursive: true });
    await writeFile(options.reportPath, renderSoakHtml(result));
    await writeFile(reportJson, JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    await Promise.all(groups.flatMap((g) => g.members.map((m) => {
      m.stopped = true;
      return m.consumer.close().catch(() => {});
    })));
    await Promise.all(producers.map((p) => p.producer.close().catch(() => {})));
    await admin.close().catch(() => {});
    await broker.stop();
  }
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
}

/** Bytes of the files under `dir`; a file deleted between the listing and its stat counts 0. */
async function directoryBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  let total = 0;
  for (const e of entries) {
    if (!e.isFile()) continue;
    total += await stat(join(e.parentPath ?? e.path, e.name)).then((s) => s.size, () => 0);
  }
  return total;
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Flat when the fitted change over the second half stays within `floor` or 5% of the mean, whichever is larger:
 * small enough to be noise (a GC cycle, a segment mid-deletion), large enough that a steady leak shows.
 */
function trend(samples: SoakSample[], pick: (s: SoakSample) => number, floor: number, halfMinutes: number): Trend {
  const points = samples.map((s): [number, number] => [s.t / 60, pick(s)]);
  const slopePerMin = slope(points);
  const mean = points.reduce((s, [, y]) => s + y, 0) / Math.max(1, points.length);
  const changeOverHalf = slopePerMin * halfMinutes;
  const tolerance = Math.max(floor, 0.05 * Math.abs(mean));
  return { slopePerMin, mean, changeOverHalf, verdict: Math.abs(changeOverHalf) <= tolerance ? 'flat' : changeOverHalf > 0 ? 'rising' : 'falling' };
}

function summarize(samples: SoakSample[], durationMs: number): Pick<SoakResult['summary'], 'rss' | 'fds' | 'disk' | 'mainP99Ms' | 'meanInPerSec'> {
  const half = durationMs / 2000;
  const second = samples.filter((s) => s.t > half);
  const halfMinutes = half / 60;
  const p99 = samples.map((s) => s.mainP99Ms).filter((v): v is number => v !== null);
  const p99Second = second.map((s) => s.mainP99Ms).filter((v): v is number => v !== null);
  return {
    rss: trend(second, (s) => s.brokerRssMiB, 5, halfMinutes),
    fds: trend(second, (s) => s.brokerFds, 3, halfMinutes),
    disk: trend(second, (s) => s.diskMiB, 2, halfMinutes),
    mainP99Ms: p99.length === 0 ? null : {
      min: Math.min(...p99), max: Math.max(...p99),
      secondHalfMin: p99Second.length === 0 ? NaN : Math.min(...p99Second), secondHalfMax: p99Second.length === 0 ? NaN : Math.max(...p99Second),
    },
    meanInPerSec: samples.reduce((s, x) => s + x.inPerSec, 0) / Math.max(1, samples.length),
  };
}

const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const ms = (v: number | null): string => (v === null || !Number.isFinite(v) ? '-' : `${v.toFixed(v < 10 ? 2 : 1)} ms`);
const trendText = (t: Trend, unit: string, digits: number): string =>
  `${t.verdict}: ${t.slopePerMin >= 0 ? '+' : ''}${t.slopePerMin.toFixed(digits)} ${unit}/min (mean ${t.mean.toFixed(digits)} ${unit}, fitted change over the half ${t.changeOverHalf >= 0 ? '+' : ''}${t.changeOverHalf.toFixed(digits)} ${unit})`;

/** The summary printed at the end of the run. */
export function formatSoakTable(r: SoakResult): string {
  const s = r.summary;
  const lines = [
    `\nSoak: ${int(r.settings.ratePerSec)} records/s of ${r.settings.recordBytes} B for ${int(r.settings.durationS)} s, ${r.samples.length} samples of ${r.settings.sampleS} s; ${r.machine}`,
    `second half, broker RSS: ${trendText(s.rss, 'MiB', 2)}`,
    `second half, open fds:   ${trendText(s.fds, 'fds', 2)}`,
    `second half, data dir:   ${trendText(s.disk, 'MiB', 2)}`,
    s.mainP99Ms === null ? 'latency: no samples' : `latency p99 per ${r.settings.sampleS} s (main group): ${ms(s.mainP99Ms.min)} – ${ms(s.mainP99Ms.max)}; second half ${ms(s.mainP99Ms.secondHalfMin)} – ${ms(s.mainP99Ms.secondHalfMax)}`,
    `throughput in: mean ${int(s.meanInPerSec)} records/s acknowledged`,
  ];
  for (const p of r.producers) lines.push(`producer ${p.name.padEnd(20)} scheduled ${int(p.scheduled).padStart(12)}  acked ${int(p.acked).padStart(12)}  failed ${int(p.failed)}  shed ${int(p.shed)}`);
  for (const g of r.groups) {
    lines.push(`group ${g.name.padEnd(6)} (${g.isolation}) read ${int(g.firstReads).padStart(12)}  lost ${int(g.lost)}  duplicates ${int(g.duplicates)}  read-not-acked ${int(g.readNotAcked)}  joins ${g.joins}  leaves ${g.leaves}  errors ${g.errors}`);
  }
  lines.push(`totals: acked ${int(s.acked)}, lost ${int(s.lost)}${s.lost === 0 ? ' (none)' : ' (LOST RECORDS)'}, duplicates ${int(s.duplicates)}, shed ${int(s.shed)}, failed ${int(s.failed)}; `
    + `log start offsets at the end ${int(r.logStart.min)}–${int(r.logStart.max)} (above 0: retention deleted segments); drain ${(r.drainMs / 1000).toFixed(1)} s`);
  lines.push(`report: ${r.report.html} (and ${r.report.json})`);
  return lines.join('\n');
}

/** The HTML report: the summary, then one chart per quantity over time. */
export function renderSoakHtml(r: SoakResult): string {
  const series = (name: string, color: number, pick: (s: SoakSample) => number | null): LineSeries =>
    ({ name, color: SERIES_COLORS[color % SERIES_COLORS.length], points: r.samples.map((s) => [s.t, pick(s)]) });
  const charts = [
    lineChart('Throughput', 'records/s', 'seconds since the load started', [
      series('acknowledged (in)', 0, (s) => s.inPerSec), series('read by main (out)', 1, (s) => s.outMainPerSec),
      series('read by audit (out)', 2, (s) => s.outAuditPerSec), series('shed by producers', 3, (s) => s.shedPerSec),
    ]),
    lineChart('End-to-end latency, p50 and p99 per interval', 'ms', 'seconds since the load started', [
      series('main p50', 0, (s) => s.mainP50Ms), series('main p99', 1, (s) => s.mainP99Ms),
      series('audit p50', 3, (s) => s.auditP50Ms), series('audit p99', 2, (s) => s.auditP99Ms),
    ]),
    lineChart('End-to-end latency, max per interval', 'ms', 'seconds since the load started', [
      series('main max', 1, (s) => s.mainMaxMs), series('audit max', 2, (s) => s.auditMaxMs),
      series('load generator event-loop delay, max', 4, (s) => s.generatorLoopDelayMaxMs),
    ]),
    lineChart('Memory', 'MiB', 'seconds since the load started', [series('broker RSS', 0, (s) => s.brokerRssMiB), series('load generator RSS', 1, (s) => s.generatorRssMiB)]),
    lineChart('Broker open file handles', '', 'seconds since the load started', [series('broker open fds', 0, (s) => s.brokerFds)]),
    lineChart('Data directory size', 'MiB', 'seconds since the load started', [series('data dir', 0, (s) => s.diskMiB)]),
    lineChart('Broker CPU', '% of one core', 'seconds since the load started', [series('broker CPU', 0, (s) => s.brokerCpuPct)]),
  ];
  const st = r.settings;
  const setup: Array<[string, string]> = [
    ['rate', `${int(st.ratePerSec)} records/s of ${st.recordBytes} B`],
    ['duration', `${int(st.durationS)} s, sampled every ${st.sampleS} s`],
    ['topics', `${st.topics.join(', ')}: ${st.partitions} partitions each, segment.bytes ${int(st.segmentBytes)}, retention.bytes ${int(st.retentionBytes)}, retention checked every ${st.retentionCheckMs} ms`],
    ['groups', `main: ${MAIN_MEMBERS} members, read_committed, one leaves and one joins every ${st.churnS} s; audit: 1 member, read_uncommitted`],
    ['machine', r.machine],
    ['node', r.node],
    ['finished', r.date],
  ];
  const table = (header: string[], rows: Array<Array<string | number>>): string =>
    `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`
    + rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tributary soak</title><style>${REPORT_CSS}pre{white-space:pre-wrap}</style></head>
<body><h1>Tributary soak</h1>
<section><h2>Summary</h2><pre>${esc(formatSoakTable(r).trim())}</pre></section>
<section><h2>Producers</h2>${table(['producer', 'acks', 'records/s', 'scheduled', 'acknowledged', 'failed', 'shed'],
    r.producers.map((p) => [p.name, p.acks, int(p.ratePerSec), int(p.scheduled), int(p.acked), int(p.failed), int(p.shed)]))}</section>
<section><h2>Groups</h2>${table(['group', 'isolation', 'first reads', 'lost', 'duplicates', 'read, not acknowledged', 'joins', 'leaves', 'errors'],
    r.groups.map((g) => [g.name, g.isolation, int(g.firstReads), int(g.lost), int(g.duplicates), int(g.readNotAcked), g.joins, g.leaves, g.errors]))}</section>
<section><h2>Over time</h2>
${charts.join('\n')}
</section>
<section><h2>Setup</h2><table><tbody>${setup.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table></section>
</body></html>
`;
}
