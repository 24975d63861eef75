/**
 * Runs a source connector into its topic with an idempotent Producer (acks all): pulls records only as fast as
 * the producer takes them (its buffer and a cap on unacknowledged sends), reports progress, and on stop or at the
 * end of the input flushes so every record it read is acknowledged or the run fails.
 */
import type { ClientOptions } from '../client/cluster.js';
import { Producer, type ProducerRecord } from '../client/producer.js';
import { progress } from '../util/progress.js';
import { TributaryError } from '../errors.js';
import { createSource } from './sources/index.js';
import type { PipelineConfig, SourceConnector, SourceRecord } from './types.js';

/** Sends not yet acknowledged, at most: bounds memory held by pending records for tiny values. */
const MAX_UNACKNOWLEDGED = 10_000;

export class PipelineError extends TributaryError {
  constructor(
    readonly pipeline: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_CONNECT_PIPELINE', `pipeline "${pipeline}": ${message}`, options);
  }
}

export interface SourceProgress {
  pipeline: string;
  records: number;
  bytes: number;
}

export interface SourceRunOptions {
  signal?: AbortSignal;
  /** A connector to run instead of the one the config describes (tests, embedding). */
  connector?: SourceConnector;
  onProgress?: (p: SourceProgress) => void;
  /** Where the progress line and summary go; default stderr. */
  stream?: NodeJS.WriteStream;
  /** Draw the progress line even when the stream is not a terminal. */
  forceProgress?: boolean;
  /** Producer settings for tests and tuning (acks stays all, idempotence on). */
  producer?: { lingerMs?: number; bufferMemory?: number; batchSize?: number; compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' };
}

export interface SourceRunResult {
  pipeline: string;
  topic: string;
  /** Records produced and acknowledged. */
  records: number;
  bytes: number;
  /** Input skipped as bad (jsonl skipBadLines). */
  skipped: number;
  elapsedMs: number;
  /** True when stopped by the signal rather than at the end of the input. */
  stopped: boolean;
}

function toProducerRecord(topic: string, r: SourceRecord): ProducerRecord {
  const value = r.value === null || r.value === undefined ? null : Buffer.isBuffer(r.value) || typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
  return { topic, key: r.key, value, headers: r.headers, timestamp: r.timestamp };
}

const size = (v: string | Buffer | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);

export async function runSourcePipeline(p: PipelineConfig, client: ClientOptions, opts: SourceRunOptions = {}): Promise<SourceRunResult> {
  const stream = opts.stream ?? process.stderr;
  const connector = opts.connector ?? createSource(p);
  const started = Date.now();
  const producer = new Producer({
    ...client,
    clientId: client.clientId ?? `connect-${p.name}`,
    acks: 'all',
    idempotent: true,
    lingerMs: opts.producer?.lingerMs ?? 5,
    bufferMemory: opts.producer?.bufferMemory,
    batchSize: opts.producer?.batchSize,
    compression: opts.producer?.compression,
  });
  const bar = progress(`${p.name} → ${p.topic}`, undefined, { stream, force: opts.forceProgress });
  let acked = 0;
  let bytes = 0;
  let unacked = 0;
  let failure: Error | null = null;
  let spaceWaiter: (() => void) | null = null;
  const onAbort = (): void => void connector.stop().catch(() => {});
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const settled = (): void => {
    unacked--;
    if (spaceWaiter !== null && (unacked < MAX_UNACKNOWLEDGED || failure !== null)) {
      const w = spaceWaiter;
      spaceWaiter = null;
      w();
    }
  };
  try {
    if (opts.signal?.aborted !== true) {
      try {
        // Connect first: an unreachable broker fails here, before an HTTP source accepts anything.
        await producer.connect();
        for await (const record of connector.records()) {
          const pr = toProducerRecord(p.topic, record);
          const n = size(pr.key) + size(pr.value);
          unacked++;
          producer.send(pr).then(
            () => {
              acked++;
              bytes += n;
              bar.tick(1, n);
              opts.onProgress?.({ pipeline: p.name, records: acked, bytes });
              connector.commitRecord?.(record, null);
              settled();
            },
            (err: Error) => {
              failure ??= err;
              connector.commitRecord?.(record, err);
              settled();
              void connector.stop().catch(() => {});
            },
          );
          if (failure !== null) break;
          // Back-pressure: the next record is pulled only when the producer has room.
          if (producer.bufferFull) await producer.waitForSpace();
          if (unacked >= MAX_UNACKNOWLEDGED) await new Promise<void>((resolve) => (spaceWaiter = resolve));
          if (failure !== null) break;
        }
      } catch (err) {
        failure ??= err as Error;
      }
    }
    try {
      await producer.flush();
    } catch (err) {
      failure ??= err as Error;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await producer.close().catch((err: Error) => (failure ??= err));
    await connector.stop().catch(() => {});
    bar.done();
  }
  const elapsedMs = Date.now() - started;
  const skipped = connector.skipped ?? 0;
  if (failure !== null) {
    const f = failure as Error;
    throw new PipelineError(p.name, `${f.message} (${acked} records were produced to ${p.topic} before)`, { cause: f });
  }
  const secs = Math.max(elapsedMs / 1000, 0.001);
  stream.write(
    `${p.name}: produced ${acked} records to ${p.topic} in ${secs.toFixed(2)} s (${Math.round(acked / secs)} records/s)${skipped > 0 ? `, skipped ${skipped} bad lines` : ''}${opts.signal?.aborted === true ? ', stopped' : ''}\n`,
  );
  return { pipeline: p.name, topic: p.topic, records: acked, bytes, skipped, elapsedMs, stopped: opts.signal?.aborted === true };
}
