/**
 * Log collection: services ship their log lines to one topic; two consumer groups read the same stream
 * independently — `alerting` reacts to ERROR lines only, `archive` appends every line to a file. Neither
 * slows the other or the services down, and each keeps its own offsets. A third reader is a KafkaStreams
 * application: the error rate per service per 10-second window (filter ERROR + TimeWindows + count), raising an
 * alert once a service logs --error-threshold errors in one window.
 *
 *   node dist/examples/log-collection/main.js [--lines 600] [--error-threshold 3] [--out DIR]
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Consumed, Consumer, Grouped, KafkaStreams, Materialized, Producer, Serdes, StreamsBuilder, TimeWindows, type ConsumerRecord } from '../../src/index.js';
import { cliMain, intFlag, openEnv, pick, random, within, type ExampleEnv, type ExampleOptions } from '../common.js';

export const LEVELS = ['INFO', 'WARN', 'ERROR'] as const;
export type Level = (typeof LEVELS)[number];

const SERVICES = ['api', 'auth', 'billing', 'search'] as const;
const MESSAGES: Record<Level, readonly string[]> = {
  INFO: ['request served', 'user signed in', 'cache refreshed', 'job finished'],
  WARN: ['slow query', 'retrying upstream call', 'disk 80% full'],
  ERROR: ['upstream timed out', 'payment declined by gateway', 'database connection refused'],
};

export interface LogCollectionSummary {
  topic: string;
  produced: Record<Level, number>;
  /** Every line produced, in production order. */
  lines: string[];
  /** The lines the alerting group raised an alert for. */
  alerts: string[];
  /** The archive file and the lines it holds (read back after the run). */
  archiveFile: string;
  archived: string[];
  archiveKept: boolean;
  /** From the KafkaStreams application: service, window start and the errors counted when the threshold was hit. */
  rateAlerts: RateAlert[];
  errorThreshold: number;
  elapsedMs: number;
}

export interface RateAlert { service: string; windowStart: number; errors: number }

/** Event time between two lines: 600 lines span a minute, six 10-second windows. */
export const LINE_INTERVAL_MS = 100;
export const RATE_WINDOW_MS = 10_000;

export const levelOf = (line: string): Level => (/ (INFO|WARN|ERROR) /.exec(line)?.[1] as Level | undefined) ?? 'INFO';

/** Reads the topic from the beginning as one group until `expected` lines arrived, handing each to `handle`. */
async function readAll(env: ExampleEnv, topic: string, group: string, expected: number, stop: AbortSignal, handle: (r: ConsumerRecord) => void | Promise<void>): Promise<number> {
  const consumer = new Consumer({ ...env.client, clientId: group, groupId: group, autoOffsetReset: 'earliest', fetchMaxWaitMs: 100 });
  let seen = 0;
  try {
    await consumer.connect();
    await consumer.subscribe([topic]);
    while (seen < expected && !stop.aborted) {
      for (const r of await consumer.poll(100)) {
        await handle(r);
        seen++;
      }
    }
    return seen;
  } finally {
    await consumer.close(); // commits: a restarted group would go on from here
  }
}

const writeLine = (out: WriteStream, line: string): Promise<void> | void =>
  out.write(`${line}\n`) ? undefined : new Promise((resolve) => out.once('drain', () => resolve()));

/**
 * The error-rate alert: ERROR lines keyed by service, counted per 10-second window of event time; an alert when a
 * window's count reaches the threshold (once per window: later errors in it only raise the count).
 */
function errorRateTopology(topic: string, threshold: number, onError: () => void, onAlert: (a: RateAlert) => void) {
  const S = Serdes.String();
  const b = new StreamsBuilder();
  b.stream(topic, Consumed.with(S, S))
    .filter((_service, line) => levelOf(line) === 'ERROR')
    .peek(() => onError())
    .groupByKey(Grouped.with(S, S))
    .windowedBy(TimeWindows.ofSizeAndGrace(RATE_WINDOW_MS, 60_000))
    // Every update, uncached: the alert fires on the count reaching the threshold, which a record cache (on by
    // default) could step over by writing only the latest count of each commit interval.
    .count(Materialized.with(S, Serdes.Long()).withCachingDisabled())
    .toStream()
    .filter((_w, n) => n === threshold)
    .foreach((w, n) => onAlert({ service: w.key, windowStart: w.window.start, errors: n! }));
  return b.build();
}

export async function runLogCollection(options: ExampleOptions & { lines?: number; errorThreshold?: number } = {}): Promise<LogCollectionSummary> {
  const total = options.lines ?? 600;
  const threshold = options.errorThreshold ?? 3;
  const started = Date.now();
  const env = await openEnv('log-collection', options);
  const stop = new AbortController();
  const readers: Array<Promise<unknown>> = [];
  const topic = `app-logs${env.suffix}`;
  let app: KafkaStreams | null = null;
  try {
    await env.createTopics([{ name: topic, partitions: 3 }]);
    const archiveFile = join(env.dir, `${topic}.log`);
    const archive = createWriteStream(archiveFile);
    const alerts: string[] = [];

    // Both groups start before the services and run while they log: two independent readers of one stream.
    const alerting = readAll(env, topic, `alerting${env.suffix}`, total, stop.signal, (r) => {
      const line = r.value!.toString();
      if (levelOf(line) !== 'ERROR') return;
      alerts.push(line);
      env.log(`ALERT ${line}`);
    });
    const archiving = readAll(env, topic, `archive${env.suffix}`, total, stop.signal, (r) => writeLine(archive, r.value!.toString()));
    readers.push(alerting, archiving);
    const rateAlerts: RateAlert[] = [];
    let errorsSeen = 0;
    app = new KafkaStreams(errorRateTopology(topic, threshold, () => errorsSeen++, (a) => {
      rateAlerts.push(a);
      env.log(`RATE ALERT ${a.service}: ${a.errors} errors in the 10 s from ${new Date(a.windowStart).toISOString()}`);
    }), { 'application.id': `error-rate${env.suffix}`, 'bootstrap.servers': env.client.bootstrapServers, 'commit.interval.ms': 1000 });
    await app.start();

    const lines: string[] = [];
    const produced: Record<Level, number> = { INFO: 0, WARN: 0, ERROR: 0 };
    const producer = new Producer({ ...env.client, lingerMs: 5, compression: 'gzip' });
    try {
      await producer.connect();
      const rnd = random(7);
      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < total; i++) {
        const service = SERVICES[Math.floor(rnd() * SERVICES.length)];
        const level = pick(rnd, { INFO: 14, WARN: 4, ERROR: 2 });
        const msgs = MESSAGES[level];
        const line = `${new Date(started + i * LINE_INTERVAL_MS).toISOString()} ${level} [${service}] ${msgs[Math.floor(rnd() * msgs.length)]} (#${i})`;
        lines.push(line);
        produced[level]++;
        // Keyed by service: one service's lines stay in order in one partition.
        sends.push(producer.send({ topic, key: service, value: line, timestamp: started + i * LINE_INTERVAL_MS }));
      }
      await Promise.all(sends);
    } finally {
      await producer.close();
    }
    env.log(`services logged ${total} lines to ${topic} (INFO ${produced.INFO}, WARN ${produced.WARN}, ERROR ${produced.ERROR})`);

    await within(20_000, 'reading the log stream', Promise.all([alerting, archiving, (async () => {
      while (errorsSeen < produced.ERROR) {
        if (app.state() === 'ERROR') throw new Error('the error-rate application failed');
        await new Promise((r) => setTimeout(r, 20));
      }
    })()]));
    await new Promise<void>((resolve, reject) => archive.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const archived = (await readFile(archiveFile, 'utf8')).split('\n').filter((l) => l !== '');
    return { topic, produced, lines, alerts, archiveFile, archived, archiveKept: !env.temporary, rateAlerts, errorThreshold: threshold, elapsedMs: Date.now() - started };
  } finally {
    stop.abort(); // readers still running after a failure stop too, and close before the broker does
    await Promise.allSettled(readers);
    await app?.close();
    await env.close();
  }
}

export function describe(s: LogCollectionSummary): string {
  return `log-collection: produced ${s.lines.length} lines (INFO ${s.produced.INFO}, WARN ${s.produced.WARN}, ERROR ${s.produced.ERROR}); ` +
    `alerting raised ${s.alerts.length} alerts; error rate (≥ ${s.errorThreshold} per service per 10 s) raised ${s.rateAlerts.length}; archive wrote ${s.archived.length} lines` +
    `${s.archiveKept ? ` to ${s.archiveFile}` : ' (temp file removed; --out DIR keeps it)'}; ${s.elapsedMs} ms`;
}

await cliMain(import.meta.url, 'usage: node dist/examples/log-collection/main.js [--lines N] [--error-threshold N] [--out DIR]', {
  lines: { type: 'string' },
  'error-threshold': { type: 'string' },
}, async (values, common) => describe(await runLogCollection({ ...common, lines: intFlag(values, 'lines', 600), errorThreshold: intFlag(values, 'error-threshold', 3) })));
