/**
 * `tributary perf consume`: kafka-consumer-perf-test. Reads --messages records from the beginning
 * (all partitions assigned directly, or as a fresh --group member) and prints Kafka's header and
 * result row: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
 * rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec.
 */
import type { Command } from 'commander';
import { Admin } from '../client/admin.js';
import { Consumer } from '../client/consumer.js';
import { addClientFlags, action, clientOptions, type ClientFlags } from './common.js';
import { intArg, MIB, stopOnSignals } from './data-options.js';

export interface PerfConsumeFlags extends ClientFlags {
  topic: string;
  messages: number;
  group?: string;
  timeout: number;
  hideHeader?: boolean;
  fetchMaxBytes?: number;
  maxPartitionFetchBytes?: number;
}

export const PERF_CONSUME_HEADER = 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec';

export function registerPerfConsume(perf: Command): void {
  const cmd = perf
    .command('consume')
    .description('Consumer throughput (kafka-consumer-perf-test)')
    .requiredOption('-t, --topic <topic>', 'topic to read from its beginning')
    .requiredOption('--messages <n>', 'records to consume', intArg(1))
    .option('-g, --group <group>', 'consume as a member of this group (default: assign every partition, no group)')
    .option('--timeout <ms>', 'give up when no record arrives for this long', intArg(1), 10_000)
    .option('--fetch-max-bytes <bytes>', 'fetch.max.bytes', intArg(1))
    .option('--max-partition-fetch-bytes <bytes>', 'max.partition.fetch.bytes', intArg(1))
    .option('--hide-header', 'print only the result row');
  addClientFlags(cmd)
    .addHelpText('after', `
Output (as kafka-consumer-perf-test; MB = 2^20 bytes of keys and values, times as yyyy-MM-dd HH:mm:ss:SSS):
  ${PERF_CONSUME_HEADER}

Example:
  $ tributary perf consume -t perf --messages 100000`)
    .action(action(perfConsume));
}

/** Kafka's "yyyy-MM-dd HH:mm:ss:SSS" in local time. */
function kafkaDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}:${p(d.getMilliseconds(), 3)}`;
}

export async function perfConsume(flags: PerfConsumeFlags): Promise<void> {
  const client = clientOptions(flags);
  const consumer = new Consumer({
    ...client,
    groupId: flags.group,
    autoOffsetReset: 'earliest',
    enableAutoCommit: false,
    fetchMaxBytes: flags.fetchMaxBytes,
    maxPartitionFetchBytes: flags.maxPartitionFetchBytes,
  });
  // As in consume: a second Ctrl-C still leaves the group before exiting.
  const stop = stopOnSignals({ leaveGroup: flags.group !== undefined ? () => consumer.close() : undefined });
  try {
    if (flags.group === undefined) {
      const admin = new Admin(client);
      try {
        await admin.connect();
        const [t] = await admin.describeTopics([flags.topic]);
        await consumer.connect();
        const tps = t.partitions.map((p) => ({ topic: flags.topic, partition: p.partition }));
        consumer.assign(tps);
        await consumer.seekToBeginning(tps);
      } finally {
        await admin.close().catch(() => {});
      }
    } else {
      await consumer.connect();
      await consumer.subscribe([flags.topic]);
    }
    const startMs = Date.now();
    const started = performance.now();
    let assignedAt = flags.group === undefined ? started : -1;
    let messages = 0;
    let bytes = 0;
    let lastRecordAt = performance.now();
    while (messages < flags.messages && !stop.signal.aborted) {
      if (performance.now() - lastRecordAt >= flags.timeout) {
        process.stderr.write(`WARNING: Exiting before consuming the expected number of messages: timeout (${flags.timeout} ms) exceeded.\n`);
        break;
      }
      const records = await consumer.poll(Math.min(1000, flags.timeout));
      if (assignedAt < 0 && consumer.assignment().length > 0) assignedAt = performance.now();
      if (records.length === 0) continue;
      lastRecordAt = performance.now();
      for (const r of records) {
        if (messages >= flags.messages) break;
        messages++;
        bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
      }
    }
    const ended = performance.now();
    const endMs = startMs + (ended - started);
    const secs = (ended - started) / 1000;
    const rebalanceMs = Math.max(0, Math.round((assignedAt < 0 ? ended : assignedAt) - started));
    const fetchSecs = Math.max((ended - started) / 1000 - rebalanceMs / 1000, 1e-9);
    const mb = bytes / MIB;
    if (!flags.hideHeader) process.stdout.write(`${PERF_CONSUME_HEADER}\n`);
    process.stdout.write(
      `${kafkaDate(startMs)}, ${kafkaDate(endMs)}, ${mb.toFixed(4)}, ${(mb / secs).toFixed(4)}, ${messages}, ${(messages / secs).toFixed(4)}, ` +
        `${rebalanceMs}, ${Math.round(fetchSecs * 1000)}, ${(mb / fetchSecs).toFixed(4)}, ${(messages / fetchSecs).toFixed(4)}\n`,
    );
  } finally {
    await consumer.close().catch(() => {});
    stop.dispose();
  }
}
