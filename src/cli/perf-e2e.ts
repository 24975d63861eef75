/**
 * `tributary perf e2e`: Kafka's EndToEndLatency. N times: send one record (linger 0) to one partition,
 * wait for the acknowledgement, then poll until that record comes back (fetch.max.wait.ms 0, as
 * Kafka's tool sets, so the fetch does not wait); the latency is send → received. Prints
 * "i<TAB>latency ms" every 1000 records, then "Avg latency: X ms" and the percentiles.
 */
import { Option, type Command } from 'commander';
import { Admin } from '../client/admin.js';
import type { ClientOptions } from '../client/cluster.js';
import { Consumer } from '../client/consumer.js';
import { Producer } from '../client/producer.js';
import { addClientFlags, action, clientOptions, type ClientFlags } from './common.js';
import { intArg, parseAcks, stopOnSignals } from './data-options.js';
import { HdrHistogram } from '../util/hdr-histogram.js';
import { randomPayload } from './perf-produce.js';

interface PerfE2eFlags extends ClientFlags {
  topic: string;
  numRecords: number;
  recordSize: number;
  acks: string;
  partition: number;
  timeout: number;
}

export function registerPerfE2e(perf: Command): void {
  const cmd = perf
    .command('e2e')
    .description('End-to-end latency, produce to consume, one record at a time (Kafka\'s EndToEndLatency)')
    .requiredOption('-t, --topic <topic>', 'topic to use (records go to --partition)')
    .requiredOption('--num-records <n>', 'round trips to time', intArg(1))
    .option('--record-size <bytes>', 'bytes per record value', intArg(1), 100)
    .addOption(new Option('--acks <acks>', 'producer acks (0 cannot be timed: there is no acknowledgement)').choices(['all', '-1', '1']).default('all'))
    .option('-p, --partition <n>', 'partition to send to and read from', intArg(0), 0)
    .option('--timeout <ms>', 'fail when a record has not come back within this long', intArg(1), 10_000);
  addClientFlags(cmd)
    .addHelpText('after', `
Output (as Kafka's EndToEndLatency, with fractional milliseconds in the percentiles):
  1000<TAB>0.81
  Avg latency: 0.7421 ms
  Percentiles: 50th = 0.701, 99th = 1.503, 99.9th = 2.207

Example:
  $ tributary perf e2e -t latency --num-records 10000 --record-size 100`)
    .action(action(perfE2e));
}

async function perfE2e(flags: PerfE2eFlags): Promise<void> {
  const acks = parseAcks(flags.acks);
  const client = clientOptions(flags);
  const producer = new Producer({ ...client, acks, lingerMs: 0, idempotent: false });
  const consumer = new Consumer({ ...client, fetchMaxWaitMs: 0, enableAutoCommit: false });
  const tp = { topic: flags.topic, partition: flags.partition };
  const stop = stopOnSignals();
  const histogram = new HdrHistogram();
  try {
    await ensureTopic(client, flags.topic, flags.partition);
    await producer.connect();
    await consumer.connect();
    consumer.assign([tp]);
    await consumer.seekToEnd([tp]);
    for (let i = 0; i < flags.numRecords && !stop.signal.aborted; i++) {
      const value = randomPayload(flags.recordSize);
      const begin = performance.now();
      await producer.send({ ...tp, value });
      const deadline = begin + flags.timeout;
      let received: Buffer | null | undefined;
      while (received === undefined) {
        if (stop.signal.aborted) return;
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`record ${i} did not come back within ${flags.timeout} ms`);
        const records = await consumer.poll(Math.min(left, 1000));
        if (records.length > 1) throw new Error(`record ${i}: more records came back than were sent (is something else producing to ${flags.topic}-${flags.partition}?)`);
        if (records.length === 1) received = records[0].value;
      }
      const elapsed = performance.now() - begin;
      // Kafka's check: the one record read back must be the one just sent.
      if (received === null || !received.equals(value)) throw new Error(`record ${i}: read back a different record than the one sent (is something else producing to ${flags.topic}-${flags.partition}?)`);
      histogram.record(elapsed * 1000);
      if (i % 1000 === 0) process.stdout.write(`${i}\t${elapsed.toFixed(3)}\n`);
    }
    const ms = (p: number): string => (histogram.percentile(p) / 1000).toFixed(3);
    process.stdout.write(`Avg latency: ${(histogram.mean / 1000).toFixed(4)} ms\n`);
    process.stdout.write(`Percentiles: 50th = ${ms(50)}, 99th = ${ms(99)}, 99.9th = ${ms(99.9)}\n`);
  } finally {
    stop.dispose();
    await consumer.close().catch(() => {});
    await producer.close().catch(() => {});
  }
}

/** As Kafka's tool does: a missing topic is created with one partition (enough for --partition 0). */
async function ensureTopic(client: ClientOptions, topic: string, partition: number): Promise<void> {
  const admin = new Admin(client);
  try {
    await admin.connect();
    if (!(await admin.listTopics()).includes(topic)) await admin.createTopics([{ name: topic, numPartitions: partition + 1 }]);
  } finally {
    await admin.close().catch(() => {});
  }
}
