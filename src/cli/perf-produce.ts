/**
 * `tributary perf produce`: kafka-producer-perf-test. Sends --num-records records of --record-size
 * bytes as fast as allowed (or at --throughput records/s), measuring each send's latency from send()
 * to acknowledgement, and prints Kafka's lines on stdout: one per --reporting-interval, then the total.
 */
import type { Command } from 'commander';
import { Producer } from '../client/producer.js';
import { addClientFlags, action, clientOptions, type ClientFlags } from './common.js';
import { addProducerFlags, InFlight, intArg, MIB, producerSettings, sleep, stopOnSignals, type ProducerFlags } from './data-options.js';
import { HdrHistogram } from '../util/hdr-histogram.js';

export interface PerfProduceFlags extends ClientFlags, ProducerFlags {
  topic: string;
  numRecords: number;
  recordSize: number;
  throughput: number;
  reportingInterval: number;
  timeout: number;
}

/** Unacknowledged sends at most, so tiny records cannot pile up promises without bound. */
const MAX_OUTSTANDING = 100_000;

export function registerPerfProduce(perf: Command): void {
  const cmd = perf
    .command('produce')
    .description('Producer throughput and latency (kafka-producer-perf-test)')
    .requiredOption('-t, --topic <topic>', 'topic to produce to')
    .requiredOption('--num-records <n>', 'records to send', intArg(1))
    .requiredOption('--record-size <bytes>', 'bytes per record value', intArg(0))
    .option('--throughput <n>', 'records per second at most; -1 for no limit', (v: string) => (v.trim() === '-1' ? -1 : intArg(1)(v)), -1)
    .option('--reporting-interval <ms>', 'how often to print a line for the last interval', intArg(1), 5000)
    .option('--timeout <ms>', 'stop sending after this long and report what was acknowledged', intArg(1), 600_000);
  addProducerFlags(cmd);
  addClientFlags(cmd)
    .addHelpText('after', `
Output (as kafka-producer-perf-test; MB = 2^20 bytes, latency from send to acknowledgement):
  N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency.
  ...
  N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, P ms 50th, P ms 95th, P ms 99th, P ms 99.9th.

Example:
  $ tributary perf produce -t perf --num-records 100000 --record-size 100 --acks all`)
    .action(action(perfProduce));
}

/** Kafka's payload: random upper-case letters, one buffer reused for every record. */
export function randomPayload(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = 65 + Math.floor(Math.random() * 26);
  return b;
}

const ms = (micros: number): number => micros / 1000;

export async function perfProduce(flags: PerfProduceFlags): Promise<void> {
  const producer = new Producer({ ...clientOptions(flags), ...producerSettings(flags) });
  const stop = stopOnSignals();
  const payload = randomPayload(flags.recordSize);
  const total = new HdrHistogram();
  const window = new HdrHistogram();
  const inFlight = new InFlight();
  let windowStart = 0;
  let windowBytes = 0;
  const printWindow = (now: number): void => {
    const secs = (now - windowStart) / 1000;
    process.stdout.write(
      `${window.count} records sent, ${(window.count / secs).toFixed(1)} records/sec (${(windowBytes / MIB / secs).toFixed(2)} MB/sec), ` +
        `${ms(window.mean).toFixed(1)} ms avg latency, ${ms(window.max).toFixed(1)} ms max latency.\n`,
    );
    window.reset();
    windowBytes = 0;
    windowStart = now;
  };
  try {
    await producer.connect();
    const started = performance.now();
    const deadline = started + flags.timeout;
    windowStart = started;
    for (let i = 0; i < flags.numRecords; i++) {
      if (stop.signal.aborted || inFlight.failure !== undefined || performance.now() >= deadline) break;
      if (flags.throughput > 0) {
        // Kafka's throttler: hold back until this record's slot at the target rate.
        const due = started + (i * 1000) / flags.throughput;
        const wait = due - performance.now();
        if (wait > 1) await sleep(Math.min(wait, deadline - performance.now()), stop.signal);
      }
      await inFlight.below(MAX_OUTSTANDING, deadline);
      if (producer.bufferFull) await producer.waitForSpace();
      const sentAt = performance.now();
      inFlight.track(producer.send({ topic: flags.topic, value: payload }), () => {
        const now = performance.now();
        const latency = (now - sentAt) * 1000;
        total.record(latency);
        window.record(latency);
        windowBytes += payload.length;
        if (now - windowStart >= flags.reportingInterval) printWindow(now);
      });
    }
    // Bounded by --timeout: a flush that cannot finish in time is abandoned (close() then gives up on it).
    const flushTimer = new AbortController();
    await Promise.race([producer.flush(), sleep(Math.max(0, deadline - performance.now()) + 1000, flushTimer.signal)]);
    flushTimer.abort();
    await inFlight.drain(deadline + 1000);
    if (inFlight.failure !== undefined) throw inFlight.failure;
    const secs = (performance.now() - started) / 1000;
    const n = total.count;
    if (n < flags.numRecords) process.stderr.write(`WARNING: ${flags.numRecords - n} of ${flags.numRecords} records were not acknowledged (stopped by --timeout or a signal)\n`);
    process.stdout.write(
      `${n} records sent, ${(n / secs).toFixed(6)} records/sec (${((n * flags.recordSize) / MIB / secs).toFixed(2)} MB/sec), ` +
        `${ms(total.mean).toFixed(2)} ms avg latency, ${ms(total.max).toFixed(2)} ms max latency, ` +
        `${Math.round(ms(total.percentile(50)))} ms 50th, ${Math.round(ms(total.percentile(95)))} ms 95th, ` +
        `${Math.round(ms(total.percentile(99)))} ms 99th, ${Math.round(ms(total.percentile(99.9)))} ms 99.9th.\n`,
    );
  } finally {
    stop.dispose();
    await producer.close().catch(() => {});
  }
}
