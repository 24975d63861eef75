/**
 * Raw → processed between topics, exactly once: a processor reads raw order JSON, validates and enriches
 * it, and writes good orders to `orders-processed` and bad ones (with the reason in a header) to `orders-dlq` —
 * each batch in ONE transaction together with its consumed offsets (sendOffsetsToTransaction). A crash or an
 * abort anywhere in a batch leaves no output and no offsets of it, so the retry neither loses nor duplicates.
 *
 * To show it, the processor aborts one transaction on purpose after writing its output, rewinds, and redoes it;
 * a read_committed reader then finds every order exactly once.
 *
 *   node dist/examples/raw-to-processed/main.js [--orders 500]
 */
import { Admin, Consumer, Producer, type ConsumerRecord, type OffsetToCommit } from '../../src/index.js';
import { cliMain, intFlag, openEnv, pick, random, within, type ExampleEnv, type ExampleOptions } from '../common.js';

export interface RawOrder {
  orderId: string;
  customer: string;
  amount: number;
  currency: string;
  items: number;
}

export interface ProcessedOrder extends RawOrder {
  amountEur: number;
  size: 'small' | 'medium' | 'large';
  processedAt: string;
}

/** Fixed rates: the example's "enrichment" lookup table. */
const EUR_RATES: Record<string, number> = { EUR: 1, USD: 0.92, GBP: 1.17, JPY: 0.0062 };

/** A raw value → the processed order, or why it is refused. */
export function processOrder(raw: Buffer | null, now: Date): { ok: ProcessedOrder } | { error: string } {
  if (raw === null) return { error: 'empty value' };
  let o: unknown;
  try {
    o = JSON.parse(raw.toString('utf8'));
  } catch {
    return { error: 'not JSON' };
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return { error: 'not a JSON object' };
  const r = o as Partial<RawOrder>;
  if (typeof r.orderId !== 'string' || r.orderId === '') return { error: 'orderId missing' };
  if (typeof r.customer !== 'string' || r.customer === '') return { error: 'customer missing' };
  if (typeof r.amount !== 'number' || !(r.amount > 0)) return { error: `amount must be a positive number, got ${JSON.stringify(r.amount)}` };
  if (typeof r.currency !== 'string' || !(r.currency in EUR_RATES)) return { error: `unknown currency ${JSON.stringify(r.currency)}` };
  const amountEur = Math.round(r.amount * EUR_RATES[r.currency] * 100) / 100;
  return {
    ok: {
      orderId: r.orderId,
      customer: r.customer,
      amount: r.amount,
      currency: r.currency,
      items: typeof r.items === 'number' ? r.items : 1,
      amountEur,
      size: amountEur < 50 ? 'small' : amountEur < 500 ? 'medium' : 'large',
      processedAt: now.toISOString(),
    },
  };
}

export interface RawToProcessedSummary {
  topics: { raw: string; processed: string; dlq: string };
  produced: number;
  /** Orders the generator made bad on purpose. */
  producedBad: number;
  processed: number;
  deadLettered: number;
  transactions: number;
  /** Records written in the aborted transaction (invisible to read_committed readers, then redone). */
  aborted: number;
  /** What a read_committed reader found afterwards. */
  verified: { processed: number; dlq: number; distinctOrders: number; duplicates: number };
  elapsedMs: number;
}

/** Makes `count` raw orders; about one in ten is broken in one of several ways. */
function rawOrders(count: number): Array<{ key: string; value: string; bad: boolean }> {
  const rnd = random(2026);
  const out = [];
  for (let i = 0; i < count; i++) {
    const customer = `c${Math.floor(rnd() * 40)}`;
    const order: RawOrder = {
      orderId: `o-${i}`,
      customer,
      amount: Math.round(rnd() * 80_000) / 100,
      currency: pick(rnd, { EUR: 5, USD: 3, GBP: 1, JPY: 1 }),
      items: 1 + Math.floor(rnd() * 5),
    };
    const flaw = rnd() < 0.1 ? pick(rnd, { json: 1, amount: 1, currency: 1, id: 1 }) : null;
    let value = JSON.stringify(order);
    if (flaw === 'json') value = value.slice(0, -5);
    if (flaw === 'amount') value = JSON.stringify({ ...order, amount: -order.amount - 1 });
    if (flaw === 'currency') value = JSON.stringify({ ...order, currency: 'XXX' });
    if (flaw === 'id') value = JSON.stringify({ ...order, orderId: '' });
    out.push({ key: customer, value, bad: flaw !== null });
  }
  return out;
}

/** Everything committed in a topic, as a read_committed reader sees it (up to each partition's stable offset). */
async function readCommitted(env: ExampleEnv, topic: string): Promise<ConsumerRecord[]> {
  const admin = new Admin(env.client);
  const consumer = new Consumer({ ...env.client, isolationLevel: 'read_committed', autoOffsetReset: 'earliest', fetchMaxWaitMs: 100 });
  try {
    await admin.connect();
    const [desc] = await admin.describeTopics([topic]);
    const tps = desc.partitions.map((p) => ({ topic, partition: p.partition }));
    const ends = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })), { isolationLevel: 'read_committed' });
    await consumer.connect();
    consumer.assign(tps);
    const out: ConsumerRecord[] = [];
    const done = (): boolean => ends.every((e) => (consumer.position(e) ?? 0) >= e.offset);
    while (!done()) out.push(...(await consumer.poll(100)));
    return out;
  } finally {
    await consumer.close();
    await admin.close();
  }
}

export async function runRawToProcessed(options: ExampleOptions & { orders?: number; abortOnce?: boolean } = {}): Promise<RawToProcessedSummary> {
  const count = options.orders ?? 500;
  const abortOnce = options.abortOnce ?? true;
  const started = Date.now();
  const env = await openEnv('raw-to-processed', options);
  const topics = { raw: `orders-raw${env.suffix}`, processed: `orders-processed${env.suffix}`, dlq: `orders-dlq${env.suffix}` };
  const group = `order-processor${env.suffix}`;
  try {
    await env.createTopics([{ name: topics.raw, partitions: 3 }, { name: topics.processed, partitions: 3 }, { name: topics.dlq, partitions: 1 }]);

    // The upstream system: raw orders, keyed by customer.
    const raw = rawOrders(count);
    const upstream = new Producer({ ...env.client, lingerMs: 5 });
    try {
      await upstream.connect();
      await upstream.sendBatch(raw.map((r) => ({ topic: topics.raw, key: r.key, value: r.value })));
    } finally {
      await upstream.close();
    }
    env.log(`upstream wrote ${count} raw orders (${raw.filter((r) => r.bad).length} broken) to ${topics.raw}`);

    // The processor: consume → transform → produce, one transaction per polled batch.
    const consumer = new Consumer({
      ...env.client,
      groupId: group,
      autoOffsetReset: 'earliest',
      enableAutoCommit: false,
      isolationLevel: 'read_committed',
      maxPollRecords: 100,
      fetchMaxWaitMs: 100,
    });
    const producer = new Producer({ ...env.client, transactionalId: `${group}-0`, lingerMs: 5 });
    let consumed = 0;
    let processed = 0;
    let deadLettered = 0;
    let transactions = 0;
    let aborted = 0;
    let failNext = abortOnce;
    try {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe([topics.raw]);
      await within(20_000, 'processing every raw order', (async () => {
        while (consumed < count) {
          const batch = await consumer.poll(100);
          if (batch.length === 0) continue;
          const first = new Map<number, number>();
          const next = new Map<number, number>();
          for (const r of batch) {
            if (!first.has(r.partition)) first.set(r.partition, r.offset);
            next.set(r.partition, r.offset + 1);
          }
          producer.beginTransaction();
          let ok = 0;
          let bad = 0;
          const now = new Date();
          const sends = batch.map((r) => {
            const result = processOrder(r.value, now);
            if ('ok' in result) {
              ok++;
              return producer.send({ topic: topics.processed, key: r.key, value: JSON.stringify(result.ok) });
            }
            bad++;
            return producer.send({
              topic: topics.dlq,
              key: r.key,
              value: r.value,
              headers: { 'error.reason': result.error, 'source.topic': r.topic, 'source.partition': String(r.partition), 'source.offset': String(r.offset) },
            });
          });
          await Promise.all(sends);
          const offsets: OffsetToCommit[] = [...next].map(([partition, offset]) => ({ topic: topics.raw, partition, offset }));
          await producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
          if (failNext) {
            // As if the processor failed before committing: the output and the offsets go away together.
            failNext = false;
            await producer.abortTransaction();
            aborted += batch.length;
            for (const [partition, offset] of first) consumer.seek({ topic: topics.raw, partition }, offset);
            env.log(`aborted a transaction of ${batch.length} records on purpose; rewinding to redo it`);
            continue;
          }
          await producer.commitTransaction();
          transactions++;
          consumed += batch.length;
          processed += ok;
          deadLettered += bad;
          env.log(`transaction ${transactions}: ${ok} processed, ${bad} to the DLQ (${consumed}/${count})`);
        }
      })());
    } finally {
      await consumer.close().catch(() => undefined);
      await producer.close().catch(() => undefined);
    }

    const out = await readCommitted(env, topics.processed);
    const dlq = await readCommitted(env, topics.dlq);
    const ids = out.map((r) => (JSON.parse(r.value!.toString()) as ProcessedOrder).orderId);
    const distinct = new Set(ids).size;
    return {
      topics,
      produced: count,
      producedBad: raw.filter((r) => r.bad).length,
      processed,
      deadLettered,
      transactions,
      aborted,
      verified: { processed: out.length, dlq: dlq.length, distinctOrders: distinct, duplicates: ids.length - distinct },
      elapsedMs: Date.now() - started,
    };
  } finally {
    await env.close();
  }
}

export function describe(s: RawToProcessedSummary): string {
  return `raw-to-processed: ${s.produced} raw orders → ${s.processed} processed + ${s.deadLettered} to ${s.topics.dlq} in ${s.transactions} transactions` +
    `${s.aborted > 0 ? ` (1 aborted on purpose with ${s.aborted} records, redone)` : ''}; read_committed sees ${s.verified.processed} processed ` +
    `(${s.verified.duplicates} duplicates) and ${s.verified.dlq} dead letters; ${s.elapsedMs} ms`;
}

await cliMain(import.meta.url, 'usage: node dist/examples/raw-to-processed/main.js [--orders N] [--no-abort]', {
  orders: { type: 'string' },
  'no-abort': { type: 'boolean' },
}, async (values, common) => describe(await runRawToProcessed({ ...common, orders: intFlag(values, 'orders', 500), abortOnce: values['no-abort'] !== true })));
