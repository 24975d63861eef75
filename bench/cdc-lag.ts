/**
 * Lag of a change data capture pipeline at a steady rate (shared by bench/cdc.ts and bench/cdc-postgres.ts):
 * inserts paced at `rate` per second for `seconds` (at most 64 in flight, so one slow commit does not hold the pace),
 * while a consumer reads the topic; each change's lag is from the moment its INSERT's commit returned to the client
 * until its record was read (0 when the record arrived first).
 */
import type { ClientOptions } from '../src/client/cluster.js';
import { Consumer } from '../src/client/consumer.js';

export interface CdcLag {
  achievedRate: number;
  count: number;
  p50: number;
  p99: number;
  max: number;
  notes: string[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface CdcLagOptions {
  client: ClientOptions;
  /** The captured table's topic (partition 0). */
  topic: string;
  rate: number;
  seconds: number;
  /** Inserts change i; resolves with the row's id once committed. */
  insert: (i: number) => Promise<number>;
  /** Inserts one change before the clock runs and resolves with its id: measuring starts once it was read. */
  warmUp?: () => Promise<number>;
}

export async function measureCdcLag(options: CdcLagOptions): Promise<CdcLag> {
  const notes: string[] = [];
  const committed = new Map<number, number>();
  const arrived = new Set<number>();
  const lags: number[] = [];
  const consumer = new Consumer({ ...options.client, autoOffsetReset: 'earliest', fetchMaxWaitMs: 10 });
  await consumer.connect();
  consumer.assign([{ topic: options.topic, partition: 0 }]);
  let reading = true;
  const reader = (async () => {
    while (reading) {
      for (const rec of await consumer.poll(50).catch(() => [])) {
        if (rec.value === null) continue;
        const now = performance.now();
        const id = (JSON.parse(rec.value.toString()) as { after: { id: number } }).after.id;
        const at = committed.get(id);
        if (at !== undefined) lags.push(Math.max(0, now - at));
        else arrived.add(id); // read before the client saw its commit: lag 0
      }
    }
  })();
  try {
    if (options.warmUp !== undefined) {
      const id = await options.warmUp();
      const warm = Date.now() + 30_000;
      while (!arrived.has(id) && Date.now() < warm) await new Promise((r) => setTimeout(r, 20));
      if (!arrived.has(id)) notes.push('lag: the warm-up change did not arrive within 30 s');
    }
    const total = options.rate * options.seconds;
    const t0 = performance.now();
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < total; i++) {
      const wait = t0 + (i * 1000) / options.rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      pending.push(
        options.insert(i).then((id) => {
          if (arrived.has(id)) lags.push(0);
          else committed.set(id, performance.now());
        }),
      );
      if (pending.length >= 64) await pending.shift();
    }
    await Promise.all(pending);
    const achievedRate = total / ((performance.now() - t0) / 1000);
    const deadline = Date.now() + 15_000;
    while (lags.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (lags.length < total) notes.push(`lag: only ${lags.length} of ${total} changes were read within 15 s of the last insert`);
    lags.sort((a, b) => a - b);
    return { achievedRate, count: lags.length, p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1) ?? NaN, notes };
  } finally {
    reading = false;
    await reader;
    await consumer.close();
  }
}
