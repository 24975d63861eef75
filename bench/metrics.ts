/**
 * What the Prometheus metrics cost on the produce path (`npm run bench -- --only metrics`): two broker processes in
 * the same run, one with metrics off (the default) and one with metrics.port set, each scraped once per round so its
 * registry is exercised too. Every round produces N records of 100 bytes to a new 4-partition topic on each broker —
 * with the own client (acks=1, batches of 1,000, 4 in flight) and with kcat (librdkafka, linger.ms=5) — alternating
 * which broker goes first. The median round of each, and the ratio on/off (the goal: ≥ 0.95×).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Admin } from '../src/client/admin.js';
import { median, produceBatches } from './support.js';
import { spawnBroker, type BrokerProcess } from '../test/compat/support/broker-process.js';
import { run } from '../test/compat/support/processes.js';
import { freePort } from '../test/helpers/free-ports.js';

export interface MetricsBenchOptions {
  workDir: string;
  records: number;
  rounds: number;
  /** Also produce with kcat. */
  kcat: boolean;
}

export interface MetricsBenchResult {
  date: string;
  records: number;
  recordBytes: number;
  rounds: number;
  /** Median msg/s per client and broker. */
  produce: Record<string, { off: number; on: number; ratio: number; offRuns: number[]; onRuns: number[] }>;
  /** messages-in counted by the metrics-on broker over the whole run (a check that it measured). */
  countedMessagesIn: number;
}

const PARTITIONS = 4;
const RECORD_BYTES = 100;
const KCAT_SETTINGS = ['-X', 'queue.buffering.max.messages=2000000', '-X', 'queue.buffering.max.kbytes=2097151', '-X', 'batch.num.messages=10000', '-X', 'linger.ms=5'];

function produceOwn(bootstrap: string, topic: string, count: number): Promise<number> {
  return produceBatches({ bootstrapServers: bootstrap, clientId: 'bench-metrics', acks: 1, compression: 'none', idempotent: false }, topic, count, RECORD_BYTES);
}

async function produceKcat(bootstrap: string, topic: string, input: string, count: number): Promise<number> {
  const started = performance.now();
  await run('kcat', ['-P', '-b', bootstrap, '-t', topic, ...KCAT_SETTINGS, '-l', input], { timeoutMs: 10 * 60_000 });
  return count / ((performance.now() - started) / 1000);
}

async function scrapeMessagesIn(url: string): Promise<number> {
  const text = await (await fetch(url)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith('kafka_server_brokertopicmetrics_messagesin_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

export async function runMetricsBench(options: MetricsBenchOptions): Promise<MetricsBenchResult> {
  const dir = await mkdtemp(join(options.workDir, 'metrics-'));
  const input = join(dir, 'records.txt');
  const line = 'x'.repeat(RECORD_BYTES) + '\n';
  await writeFile(input, line.repeat(options.records));
  const metricsPort = await freePort();
  const settings = { 'num.partitions': String(PARTITIONS), 'auto.create.topics.enable': 'true' };
  let off: BrokerProcess | undefined;
  let on: BrokerProcess | undefined;
  try {
    off = await spawnBroker(join(dir, 'off'), { settings });
    on = await spawnBroker(join(dir, 'on'), { settings: { ...settings, 'metrics.port': String(metricsPort) } });
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const targets = [{ name: 'off', broker: off }, { name: 'on', broker: on }];
    const clients = options.kcat ? ['own', 'kcat'] : ['own'];
    const runs = new Map<string, number[]>();
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const client of clients) {
        for (const t of order) {
          const topic = `bench-${client}-${round}`;
          const admin = new Admin({ bootstrapServers: t.broker.address, clientId: 'bench-metrics' });
          await admin.connect();
          await admin.createTopics([{ name: topic, numPartitions: PARTITIONS, replicationFactor: 1 }]);
          await admin.close();
          const rate = client === 'own' ? await produceOwn(t.broker.address, topic, options.records) : await produceKcat(t.broker.address, topic, input, options.records);
          const key = `${client}/${t.name}`;
          runs.set(key, [...(runs.get(key) ?? []), rate]);
          if (t.name === 'on') await (await fetch(metricsUrl)).text(); // a scrape per round, as Prometheus would
          console.log(`round ${round + 1}/${options.rounds} ${client.padEnd(4)} metrics ${t.name.padEnd(3)}: ${Math.round(rate)} msg/s`);
        }
      }
    }
    const produce: MetricsBenchResult['produce'] = {};
    for (const client of clients) {
      const offRuns = runs.get(`${client}/off`)!;
      const onRuns = runs.get(`${client}/on`)!;
      produce[client] = { off: median(offRuns), on: median(onRuns), ratio: median(onRuns) / median(offRuns), offRuns, onRuns };
    }
    const countedMessagesIn = await scrapeMessagesIn(metricsUrl);
    const expected = options.records * options.rounds * clients.length;
    if (countedMessagesIn !== expected) throw new Error(`the metrics-on broker counted ${countedMessagesIn} messages in, expected ${expected}`);
    return { date: new Date().toISOString(), records: options.records, recordBytes: RECORD_BYTES, rounds: options.rounds, produce, countedMessagesIn };
  } finally {
    await on?.stop();
    await off?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatMetricsTable(r: MetricsBenchResult): string {
  const lines = [
    `\nMetrics cost: ${r.records} × ${r.recordBytes} B records per run, median of ${r.rounds} alternating rounds, acks=1, 4 partitions`,
    'client  metrics off msg/s  metrics on msg/s  on/off',
  ];
  for (const [client, x] of Object.entries(r.produce)) {
    lines.push(`${client.padEnd(6)}  ${Math.round(x.off).toString().padStart(17)}  ${Math.round(x.on).toString().padStart(16)}  ${x.ratio.toFixed(3)}×`);
  }
  lines.push(`(the metrics-on broker counted ${r.countedMessagesIn} messages in)`);
  return lines.join('\n');
}
