/**
 * Bounded load for fault tests, on the project's own clients: `runAckedLoad` produces numbered values with an
 * idempotent acks=all Producer for N records or T ms (whichever comes first) across a topic's partitions and
 * records every ACKNOWLEDGED one in a HistoryChecker; `readBack` reads every partition from its beginning to its
 * end (no group) into the same checker. A send the producer gives up on (after its own retries) is counted and
 * its error named, never recorded as acknowledged: under faults only acknowledged writes are promised.
 */
import { Admin } from '../../src/client/admin.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer, type ProducerOptions } from '../../src/client/producer.js';
import type { HistoryChecker } from './history-checker.js';

export interface AckedLoadOptions {
  bootstrapServers: string;
  topic: string;
  checker: HistoryChecker;
  /** Stop after this many records were sent… */
  records?: number;
  /** …or after this long, whichever comes first (at least one of the two is required). */
  durationMs?: number;
  /** Value prefix, so several loads on one topic write distinct values. Default 'v'. */
  valuePrefix?: string;
  /** Records awaiting acknowledgement at most (a window, so a cut broker does not queue unbounded). Default 500. */
  window?: number;
  /** Overrides of the producer's options (acks 'all' and idempotence are the defaults). */
  producer?: Partial<ProducerOptions>;
}

export interface AckedLoadResult {
  sent: number;
  acknowledged: number;
  failed: number;
  /** Failed sends by error name/code. */
  errors: Record<string, number>;
  elapsedMs: number;
}

function errorName(err: unknown): string {
  // A ProtocolError's code is Kafka's error name (NOT_ENOUGH_REPLICAS…); a connection failure's is ERR_CONNECTION.
  if (err instanceof Error) return (err as { kafkaError?: string }).kafkaError ?? (err as { code?: string }).code ?? err.name;
  return String(err);
}

async function partitionCount(bootstrapServers: string, topic: string): Promise<number> {
  const admin = new Admin({ bootstrapServers, retries: 5, retryBackoffMs: 100 });
  try {
    const [t] = await admin.describeTopics([topic]);
    return t!.partitions.length;
  } finally {
    await admin.close();
  }
}

export async function runAckedLoad(options: AckedLoadOptions): Promise<AckedLoadResult> {
  if (options.records === undefined && options.durationMs === undefined) throw new Error('runAckedLoad needs records or durationMs (it is bounded)');
  const partitions = await partitionCount(options.bootstrapServers, options.topic);
  const producer = new Producer({
    bootstrapServers: options.bootstrapServers,
    clientId: 'acked-load',
    acks: 'all',
    idempotent: true,
    lingerMs: 2,
    retries: 10,
    retryBackoffMs: 100,
    deliveryTimeoutMs: 30_000,
    maxBlockMs: 10_000,
    ...options.producer,
  });
  const prefix = options.valuePrefix ?? 'v';
  const window = options.window ?? 500;
  const maxRecords = options.records ?? Number.POSITIVE_INFINITY;
  const started = Date.now();
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;
  const result: AckedLoadResult = { sent: 0, acknowledged: 0, failed: 0, errors: {}, elapsedMs: 0 };
  const inFlight = new Set<Promise<void>>();
  const fail = (err: unknown): void => {
    result.failed++;
    const name = errorName(err);
    result.errors[name] = (result.errors[name] ?? 0) + 1;
  };
  try {
    await producer.connect();
    while (result.sent < maxRecords && Date.now() < deadline) {
      const seq = result.sent++;
      const value = `${prefix}-${seq}`;
      const partition = seq % partitions;
      const p = producer.send({ topic: options.topic, partition, value }).then(
        (md) => {
          result.acknowledged++;
          options.checker.acknowledged(md.topic, md.partition, md.offset, value);
        },
        fail,
      );
      const tracked: Promise<void> = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= window) await Promise.race([...inFlight, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
    }
    // Whatever was sent is settled by the producer's own delivery timeout.
    await Promise.all(inFlight);
  } finally {
    await producer.close().catch(() => {});
  }
  result.elapsedMs = Date.now() - started;
  return result;
}

export interface ReadBackOptions {
  bootstrapServers: string;
  topic: string;
  checker: HistoryChecker;
  /** The whole read must finish within this. Default 30 s. */
  timeoutMs?: number;
}

export interface ReadBackResult {
  read: number;
  /** Each partition's end offset (high watermark) when the read started. */
  endOffsets: number[];
}

/** Reads every partition of `topic` from its log start to the end offset it had when the read began. */
export async function readBack(options: ReadBackOptions): Promise<ReadBackResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const admin = new Admin({ bootstrapServers: options.bootstrapServers, retries: 5, retryBackoffMs: 100 });
  let ends: Array<{ topic: string; partition: number; offset: number }>;
  try {
    const [t] = await admin.describeTopics([options.topic]);
    ends = await admin.listOffsets(t!.partitions.map((p) => ({ topic: options.topic, partition: p.partition, timestamp: 'latest' as const })));
  } finally {
    await admin.close();
  }
  const consumer = new Consumer({ bootstrapServers: options.bootstrapServers, clientId: 'read-back', retries: 5, retryBackoffMs: 100 });
  let read = 0;
  try {
    await consumer.connect();
    const remaining = new Map(ends.filter((e) => e.offset > 0).map((e) => [e.partition, e.offset]));
    consumer.assign(ends.map((e) => ({ topic: options.topic, partition: e.partition })));
    await consumer.seekToBeginning();
    const deadline = Date.now() + timeoutMs;
    while (remaining.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`readBack: ${options.topic} not read to its end within ${timeoutMs} ms: ${[...remaining].map(([p, end]) => `partition ${p} at ${consumer.position({ topic: options.topic, partition: p })} of ${end}`).join(', ')}`);
      }
      for (const r of await consumer.poll(Math.min(left, 1000))) {
        const end = remaining.get(r.partition);
        if (end === undefined || r.offset >= end) continue;
        options.checker.read(r.topic, r.partition, r.offset, r.value === null ? '' : r.value.toString('utf8'));
        read++;
        if (r.offset + 1 >= end) remaining.delete(r.partition);
      }
      // A partition whose last records are gone (control batches, compaction) ends when the position passes its end.
      for (const [p, end] of remaining) if ((consumer.position({ topic: options.topic, partition: p }) ?? 0) >= end) remaining.delete(p);
    }
  } finally {
    await consumer.close();
  }
  return { read, endOffsets: ends.sort((a, b) => a.partition - b.partition).map((e) => e.offset) };
}
