/**
 * PostgreSQL change data capture (`npm run bench -- --only cdc-postgres`): PostgresCdcSource against a throwaway
 * PostgreSQL (wal_level=logical, test/compat/support/postgres.ts), each row one INT key + ~100 B of text.
 *
 *   snapshot    rows/s of the initial snapshot of an N-row table (slot created, rows read as 'r' events)
 *   backlog     changes/s captured from a backlog: N inserts committed (transactions of 100) while the source is
 *               stopped, then read from its stored offset to the last one (pgoutput decoding + our mapping)
 *   steady      a paced writer at `rate` single-row transactions per second for `seconds`; lag = when the event
 *               reached the reader − its commit time from the Begin message (same machine clock): p50/p99/max
 *
 * Every event is acknowledged as it is read (the way the connect runtime does once the broker stored it).
 */
import pg from 'pg';
import type { CdcOffset } from '../src/connect/cdc/change-event.js';
import { PostgresCdcSource } from '../src/connect/cdc/postgres.js';
import { startPostgres } from '../test/compat/support/postgres.js';

export interface CdcPostgresBenchOptions {
  /** Rows of the snapshot and changes of the backlog. */
  rows: number;
  /** Steady phase: changes per second and duration. */
  rate: number;
  seconds: number;
}

export interface CdcPostgresBenchResult {
  date: string;
  rows: number;
  snapshotRowsPerSec: number;
  backlogChangesPerSec: number;
  steady: { rate: number; seconds: number; changes: number; achievedRate: number; lagP50Ms: number; lagP99Ms: number; lagMaxMs: number };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runCdcPostgresBench(options: CdcPostgresBenchOptions): Promise<CdcPostgresBenchResult> {
  const db = await startPostgres({ serverArgs: ['-c', 'wal_level=logical', '-c', 'max_wal_size=1GB'] });
  const app = new pg.Client({ connectionString: db.adminUrl });
  try {
    await app.connect();
    await app.query('CREATE TABLE bench (id INT PRIMARY KEY, pad TEXT NOT NULL)');
    await app.query(`INSERT INTO bench SELECT g, repeat('x', 100) FROM generate_series(1, ${options.rows}) g`);
    const make = (): PostgresCdcSource => new PostgresCdcSource({ url: db.adminUrl, tables: ['bench'], slot: 'bench_slot', publication: 'bench_pub' });

    // Snapshot.
    let source = make();
    let started = performance.now();
    let offset: CdcOffset | null = null;
    let n = 0;
    for await (const event of source.events(null)) {
      source.acknowledge(event.offset);
      offset = event.offset;
      if (++n === options.rows) break;
    }
    const snapshotRowsPerSec = options.rows / ((performance.now() - started) / 1000);
    await source.stop();

    // Backlog: written while nobody reads, then drained.
    for (let base = options.rows + 1; base <= 2 * options.rows; base += 100) {
      const last = Math.min(base + 99, 2 * options.rows);
      await app.query(`INSERT INTO bench SELECT g, repeat('y', 100) FROM generate_series(${base}, ${last}) g`);
    }
    source = make();
    started = performance.now();
    n = 0;
    for await (const event of source.events(offset)) {
      source.acknowledge(event.offset);
      offset = event.offset;
      if (++n === options.rows) break;
    }
    const backlogChangesPerSec = options.rows / ((performance.now() - started) / 1000);
    await source.stop();

    // Steady: paced single-row transactions.
    source = make();
    const total = options.rate * options.seconds;
    const lags: number[] = [];
    const reader = (async () => {
      for await (const event of source.events(offset)) {
        lags.push(Date.now() - event.sourceTsMs);
        source.acknowledge(event.offset);
        if (lags.length === total) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 500)); // the source reaches streaming
    const first = 2 * options.rows + 1;
    started = performance.now();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      await app.query("INSERT INTO bench VALUES ($1, 'z')", [first + i]);
    }
    const achievedRate = total / ((performance.now() - started) / 1000);
    await reader;
    await source.stop();
    const sorted = [...lags].sort((a, b) => a - b);
    return {
      date: new Date().toISOString(),
      rows: options.rows,
      snapshotRowsPerSec: Math.round(snapshotRowsPerSec),
      backlogChangesPerSec: Math.round(backlogChangesPerSec),
      steady: {
        rate: options.rate,
        seconds: options.seconds,
        changes: total,
        achievedRate: Math.round(achievedRate),
        lagP50Ms: percentile(sorted, 50),
        lagP99Ms: percentile(sorted, 99),
        lagMaxMs: sorted.at(-1)!,
      },
    };
  } finally {
    await app.end().catch(() => {});
    await db.stop();
  }
}

export function formatCdcPostgresTable(r: CdcPostgresBenchResult): string {
  return [
    `PostgreSQL change data capture (PostgresCdcSource, ${r.rows} rows of ~100 B):`,
    `  snapshot         ${r.snapshotRowsPerSec} rows/s`,
    `  backlog          ${r.backlogChangesPerSec} changes/s (inserts in transactions of 100, read from the stored offset)`,
    `  steady ${r.steady.rate}/s     achieved ${r.steady.achievedRate}/s for ${r.steady.seconds} s; commit → event lag p50 ${r.steady.lagP50Ms} ms, p99 ${r.steady.lagP99Ms} ms, max ${r.steady.lagMaxMs} ms`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [rows, rate, seconds] = process.argv.slice(2).map(Number);
  const result = await runCdcPostgresBench({ rows: rows || 50_000, rate: rate || 1000, seconds: seconds || 10 });
  console.log(formatCdcPostgresTable(result));
  console.log(JSON.stringify(result));
}
