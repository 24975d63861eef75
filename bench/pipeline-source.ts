/**
 * CSV → topic against the own client's batched produce (`npm run bench -- --only pipeline-source`), issue 16's
 * source goal: the pipeline at ≥ 0.8× the rate of the Producer sending the same key/value bytes.
 *
 * One in-process broker (startBroker), one generated CSV of N rows shaped like the experiment's (id, name, age,
 * city, event_time; ~100 B as JSON). Per round, interleaved, each case into a new 3-partition topic:
 *   baseline      the own Producer sending pre-built records (key = id text, value = the row's JSON bytes) with
 *                 sendTo (one listener, no promise per record), acks all, idempotent, lingerMs 5 and at most 10,000
 *                 records unacknowledged (the runtime's settings)
 *   csv alo       runSourcePipeline, csv source, at-least-once (offsets stored every 200 ms)
 *   csv eos       the same, exactly-once (a transaction every 500 ms)
 *   produce csv   `tributary produce --format csv --key-column id` spawned (bin/tributary.js: the CLI bundle)
 *   objects       runSourcePipeline with an in-memory connector yielding the rows as objects (the experiment's
 *                 "via broker" path, src/experiment/pipeline.ts produceRows)
 *   objects batched  the same rows handed on by SourceConnector.batches, 1,024 at a time (what produceRows could do)
 * Each reports records/s (acknowledged / wall time) and CPU µs per record (this process — broker and client — plus
 * the spawned CLI's own user+sys time for `produce csv`), and the ratio of its rate to the baseline's (medians).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startBroker } from '../src/start-broker.js';
import { Admin } from '../src/client/admin.js';
import { Producer, type ProducerRecord, type SendListener } from '../src/client/producer.js';
import { runSourcePipeline } from '../src/connect/source-runtime.js';
import type { SourceConnector, SourceRecord } from '../src/connect/types.js';
import { generateRows, type DataRow } from '../src/experiment/data.js';
import { median } from './support.js';

export interface PipelineSourceBenchOptions {
  workDir: string;
  rows: number;
  rounds: number;
  /** Only these cases (names as in the table); default all. */
  cases?: string[];
}

interface Row {
  name: string;
  rates: number[];
  cpuUsPerRecord: number[];
  rateMedian: number;
  cpuMedian: number;
  ratio: number;
}

export interface PipelineSourceBenchResult {
  date: string;
  rows: number;
  rounds: number;
  csvBytes: number;
  valueBytes: number;
  results: Row[];
  notes: string[];
}

const PARTITIONS = 3;
/** The source runtime's bound on unacknowledged sends (src/connect/source-runtime.ts). */
const MAX_UNACKNOWLEDGED = 10_000;
const CASES = ['baseline', 'csv alo', 'csv eos', 'produce csv', 'objects', 'objects batched'] as const;
const QUIET = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
const CLI = resolve(import.meta.dirname, '../../bin/tributary.js');
let seq = 0;

interface Measure {
  records: number;
  ms: number;
  cpuUs: number;
}

async function measure(fn: () => Promise<{ records: number; childCpuUs?: number }>): Promise<Measure> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const r = await fn();
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { records: r.records, ms, cpuUs: used.user + used.system + (r.childCpuUs ?? 0) };
}

/** The CLI with the shell's `times` after it: the child's user+sys time (µs). */
function spawnProduce(args: string[]): Promise<{ childCpuUs: number }> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((done, fail) => {
    const child = spawn('/bin/sh', ['-c', `${quoted} >/dev/null 2>/tmp/pipeline-source-produce.err; rc=$?; times; exit $rc`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) => {
      if (code !== 0) return fail(new Error(`produce exited ${code} (see /tmp/pipeline-source-produce.err)`));
      // `times`: shell user sys \n children user sys, as 0m1.234s
      const lines = out.trim().split('\n');
      const secs = (s: string): number => {
        const m = /(\d+)m([\d.]+)s/.exec(s);
        return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
      };
      const [u, s] = (lines[lines.length - 1] ?? '').trim().split(/\s+/);
      done({ childCpuUs: (secs(u ?? '') + secs(s ?? '')) * 1e6 });
    });
  });
}

export async function runPipelineSourceBench(options: PipelineSourceBenchOptions): Promise<PipelineSourceBenchResult> {
  const dir = await mkdtemp(join(options.workDir, 'pipeline-source-'));
  const broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir, 'broker'),
    config: { 'num.partitions': String(PARTITIONS), 'offsets.topic.num.partitions': '1' },
    logLevel: 'silent',
  });
  const client = { bootstrapServers: broker.address };
  const admin = new Admin(client);
  const notes: string[] = [];
  try {
    await admin.connect();
    // Each case holds only its own input while it runs (the rows, or the pre-built records), built untimed: a heap
    // holding every case's input at once (~0.5 GB at 1M rows) made each garbage collection cost the cases that
    // allocate per record (all but the baseline) several times what it costs a process holding only its own.
    const rowsOf = (): DataRow[] => generateRows(options.rows).rows;
    const columns = generateRows(1).columns.map((c) => c.name);
    const csvPath = join(dir, 'rows.csv');
    let csvBytes = 0;
    let valueBytes = 0;
    {
      const lines = [columns.join(',')];
      const rows = rowsOf();
      for (const r of rows) lines.push(columns.map((c) => String(r[c])).join(','));
      const csvText = `${lines.join('\n')}\n`;
      csvBytes = csvText.length;
      await writeFile(csvPath, csvText);
      valueBytes = rows.reduce((n, r) => n + JSON.stringify(r).length, 0) / rows.length;
    }
    /** The baseline's records: the very bytes the csv source produces (key = the id's text, value = the row's JSON). */
    const prebuild = (): ProducerRecord[] => rowsOf().map((r) => ({ topic: '', key: String(r.id), value: Buffer.from(JSON.stringify(r)) }));

    const newTopic = async (name: string): Promise<string> => {
      const topic = `bench-ps-${name.replace(/\W+/g, '-')}-${++seq}`;
      await admin.createTopics([{ name: topic, numPartitions: PARTITIONS, replicationFactor: 1 }]);
      return topic;
    };

    const baseline = (prebuilt: ProducerRecord[]) => async (topic: string): Promise<{ records: number }> => {
      const producer = new Producer({ ...client, acks: 'all', idempotent: true, lingerMs: 5 });
      await producer.connect();
      let failure: Error | null = null;
      // At most MAX_UNACKNOWLEDGED records unacknowledged, as the runtime: with only bufferMemory (32 MiB) as the
      // bound, the same loop runs ~4× slower here (batches waiting in the buffer age into the old generation).
      let unacked = 0;
      let wake: (() => void) | null = null;
      const listener: SendListener = {
        onAcknowledged: (_t, _p, _o, records) => {
          unacked -= records;
          if (wake !== null && unacked < MAX_UNACKNOWLEDGED) {
            const w = wake;
            wake = null;
            w();
          }
        },
        onFailed: (_t, _p, err) => void (failure ??= err),
      };
      try {
        for (const r of prebuilt) {
          producer.sendTo({ topic, key: r.key, value: r.value }, listener);
          unacked++;
          if (producer.bufferFull) await producer.waitForSpace();
          if (unacked >= MAX_UNACKNOWLEDGED) await new Promise<void>((resolve) => (wake = resolve));
        }
        await producer.flush();
        if (failure !== null) throw failure;
      } finally {
        await producer.close();
      }
      return { records: prebuilt.length };
    };

    const csvPipeline = (guarantee: 'at-least-once' | 'exactly-once') => async (topic: string): Promise<{ records: number }> => {
      const name = `ps-${++seq}`;
      const r = await runSourcePipeline(
        { name, topic, group: `connect-${name}`, tasks: 1, source: { type: 'csv', path: csvPath, keyColumn: 'id', delimiter: ',', guarantee } },
        client,
        { stream: QUIET },
      );
      return { records: r.records };
    };

    const objects = (rows: DataRow[]) => async (topic: string): Promise<{ records: number }> => {
      const connector: SourceConnector = {
        name: 'objects',
        async *records(): AsyncGenerator<SourceRecord> {
          for (const r of rows) yield { key: String(r.id), value: r };
        },
        async stop() {},
      };
      const name = `ps-${++seq}`;
      const r = await runSourcePipeline({ name, topic, group: `connect-${name}`, tasks: 1 }, client, { connector, stream: QUIET });
      return { records: r.records };
    };

    const objectsBatched = (rows: DataRow[]) => async (topic: string): Promise<{ records: number }> => {
      const connector: SourceConnector = {
        name: 'objects-batched',
        records(): AsyncGenerator<SourceRecord> {
          throw new Error('the runtime takes batches() when there are');
        },
        async *batches(): AsyncGenerator<SourceRecord[]> {
          for (let i = 0; i < rows.length; i += 1024) yield rows.slice(i, i + 1024).map((r) => ({ key: String(r.id), value: r }));
        },
        async stop() {},
      };
      const name = `ps-${++seq}`;
      const r = await runSourcePipeline({ name, topic, group: `connect-${name}`, tasks: 1 }, client, { connector, stream: QUIET });
      return { records: r.records };
    };

    const produceCsv = async (topic: string): Promise<{ records: number; childCpuUs: number }> => {
      const { childCpuUs } = await spawnProduce(['produce', '-t', topic, '--file', csvPath, '--format', 'csv', '--key-column', 'id', '--no-progress', '-b', broker.address]);
      return { records: options.rows, childCpuUs };
    };

    type Run = (topic: string) => Promise<{ records: number; childCpuUs?: number }>;
    /** Each case's run, its input built first (untimed). */
    const prepare: Record<(typeof CASES)[number], () => Run> = {
      baseline: () => baseline(prebuild()),
      'csv alo': () => csvPipeline('at-least-once'),
      'csv eos': () => csvPipeline('exactly-once'),
      'produce csv': () => produceCsv,
      objects: () => objects(rowsOf()),
      'objects batched': () => objectsBatched(rowsOf()),
    };
    const cases = CASES.filter((c) => c === 'baseline' || options.cases === undefined || options.cases.includes(c));
    const got = new Map<string, Measure[]>(cases.map((c) => [c, []]));
    // One untimed baseline warms the broker and the client.
    await prepare.baseline()(await newTopic('warmup'));
    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order so no case always runs first or right after the same neighbour.
      const order = cases.map((_, i) => cases[(i + round) % cases.length]!);
      for (const c of order) {
        const topic = await newTopic(c);
        let run: Run | null = prepare[c]();
        const m = await measure(() => run!(topic));
        run = null;
        if (m.records !== options.rows) throw new Error(`${c}: ${m.records} of ${options.rows} records`);
        got.get(c)!.push(m);
        console.log(`  round ${round + 1} ${c.padEnd(15)} ${Math.round((m.records / m.ms) * 1000).toLocaleString('en-US').padStart(10)} records/s  ${(m.cpuUs / m.records).toFixed(2)} µs CPU/record`);
      }
    }
    const baseRate = median(got.get('baseline')!.map((m) => (m.records / m.ms) * 1000));
    const results: Row[] = cases.map((c) => {
      const ms = got.get(c)!;
      const rates = ms.map((m) => Math.round((m.records / m.ms) * 1000));
      const cpu = ms.map((m) => Number((m.cpuUs / m.records).toFixed(2)));
      const rateMedian = median(rates);
      return { name: c, rates, cpuUsPerRecord: cpu, rateMedian, cpuMedian: median(cpu), ratio: Number((rateMedian / baseRate).toFixed(2)) };
    });
    notes.push('produce csv: the CLI spawned (bin/tributary.js), its start-up included; its CPU is the child\'s user+sys plus this process\'s (the broker)');
    notes.push('CPU µs/record: this process (broker + client + pipeline) over the case\'s wall time');
    notes.push('each case holds only its own input (rows or pre-built records, built untimed before it)');
    return { date: new Date().toISOString(), rows: options.rows, rounds: options.rounds, csvBytes, valueBytes: Math.round(valueBytes), results, notes };
  } finally {
    await admin.close().catch(() => {});
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatPipelineSourceTable(r: PipelineSourceBenchResult): string {
  const out = [
    `CSV → topic: ${r.rows.toLocaleString('en-US')} rows (${(r.csvBytes / 1048576).toFixed(1)} MiB CSV, ~${r.valueBytes} B JSON values), ${r.rounds} rounds, medians`,
    `${'case'.padEnd(16)}${'records/s'.padStart(12)}${'CPU µs/rec'.padStart(12)}${'× baseline'.padStart(12)}   rounds`,
  ];
  for (const row of r.results) {
    out.push(`${row.name.padEnd(16)}${row.rateMedian.toLocaleString('en-US').padStart(12)}${row.cpuMedian.toFixed(2).padStart(12)}${row.ratio.toFixed(2).padStart(12)}   ${row.rates.map((x) => x.toLocaleString('en-US')).join(' / ')}`);
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
