/**
 * Runs a source connector into its topic with an idempotent Producer (acks all): pulls records only as fast as
 * the producer takes them (its buffer and a cap on unacknowledged sends), reports progress, and on stop or at the
 * end of the input flushes so every record it read is acknowledged or the run fails.
 *
 * File sources resume where an earlier run stopped: their offsets live in `connect-offsets`
 * (src/connect/source-offsets.ts). at-least-once stores the offset of the acknowledged prefix of the records
 * every OFFSET_FLUSH_INTERVAL_MS and at the end, so a killed run re-sends at most what was acknowledged since.
 * exactly-once (KIP-618) uses a transactional producer (transactional.id connect-<pipeline>-0, which also fences
 * a second process running the same pipeline) and commits the records with their offset record in one
 * transaction every TRANSACTION_INTERVAL_MS and at the end; a killed run's open transaction is aborted when the
 * next run starts, and read_committed consumers see each record once.
 */
import type { ClientOptions } from '../client/cluster.js';
import { Producer, type ProducerRecord } from '../client/producer.js';
import { progress } from '../util/progress.js';
import { TributaryError } from '../errors.js';
import { ensureOffsetsTopic, ensureRecordTopic, fingerprint, loadSourceOffsets, offsetKey, offsetRecord, serializeValue, type SourceOffsets } from './source-offsets.js';
import { createSource } from './sources/index.js';
import { encodeSourceValue, sourceValueEncoder } from './value-format.js';
import type { ConnectorOffset, PipelineConfig, SourceConnector, SourceContext, SourceGuarantee, SourceOffset, SourcePartition, SourceRecord } from './types.js';

/** at-least-once: how often the acknowledged positions are written to connect-offsets. */
export const OFFSET_FLUSH_INTERVAL_MS = 200;
/** exactly-once: how long a transaction stays open before it is committed (records become visible then). */
export const TRANSACTION_INTERVAL_MS = 500;

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
  /** Forget the stored offsets first (tombstones in connect-offsets): every file is produced from its beginning. */
  resetOffsets?: boolean;
  /** Producer settings for tests and tuning (acks stays all, idempotence on). */
  producer?: { lingerMs?: number; bufferMemory?: number; batchSize?: number; compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' };
}

export interface SourceRunResult {
  pipeline: string;
  topic: string;
  /** Records produced and acknowledged (exactly-once: committed). */
  records: number;
  bytes: number;
  /** Input skipped as bad (jsonl skipBadLines). */
  skipped: number;
  elapsedMs: number;
  /** True when stopped by the signal rather than at the end of the input. */
  stopped: boolean;
  guarantee: SourceGuarantee;
}

function toProducerRecord(topic: string, r: SourceRecord): ProducerRecord {
  return { topic: r.topic ?? topic, key: r.key, value: serializeValue(r.value), headers: r.headers, timestamp: r.timestamp };
}

const size = (v: string | Buffer | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);

interface Position {
  key: string;
  partition: SourcePartition;
  record: SourceRecord;
  offset: SourceOffset | ConnectorOffset;
}

/** The offset record for a source partition's latest position: a file's offset plus the fingerprint of its last record. */
const positionRecord = (pos: Position): ProducerRecord => offsetRecord(pos.key, 'position' in pos.offset ? { ...pos.offset, last: fingerprint(pos.record) } : pos.offset);

/** Tells the connector which offsets are now stored (Kafka Connect's SourceTask.commit()). */
function reportStored(connector: SourceConnector, positions: Iterable<Position>): void {
  if (connector.offsetsStored === undefined) return;
  const list = [...positions].map((pos) => ({ partition: pos.partition, offset: pos.offset }));
  if (list.length > 0) connector.offsetsStored(list);
}

/**
 * at-least-once: the positions whose records, and every record sent before them, are acknowledged (records of
 * different partitions are acknowledged out of order; Kafka Connect's SubmittedRecords does the same).
 */
class AcknowledgedPositions {
  private queue: Array<{ pos: Position; acked: boolean }> = [];
  private head = 0;
  /** Advanced and not yet written. */
  readonly ready = new Map<string, Position>();

  submit(pos: Position): { pos: Position; acked: boolean } {
    const entry = { pos, acked: false };
    this.queue.push(entry);
    return entry;
  }

  ack(entry: { pos: Position; acked: boolean }): void {
    entry.acked = true;
    while (this.head < this.queue.length && this.queue[this.head].acked) {
      const { pos } = this.queue[this.head++];
      this.ready.set(pos.key, pos);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  take(): Position[] {
    const out = [...this.ready.values()];
    this.ready.clear();
    return out;
  }
}

/** Whether the pipeline's source keeps offsets (files do; HTTP requests cannot be read again). */
const tracksOffsets = (p: PipelineConfig): boolean => p.source !== undefined && p.source.type !== 'http';

export async function runSourcePipeline(p: PipelineConfig, client: ClientOptions, opts: SourceRunOptions = {}): Promise<SourceRunResult> {
  const stream = opts.stream ?? process.stderr;
  const connector = opts.connector ?? createSource(p);
  /** valueFormat avro/json-schema (file and http sources; CDC connectors encode their own records). */
  const encoder = sourceValueEncoder(p);
  const started = Date.now();
  const withOffsets = tracksOffsets(p);
  const guarantee: SourceGuarantee = p.source !== undefined && p.source.type !== 'http' ? p.source.guarantee : 'at-least-once';
  const eos = guarantee === 'exactly-once';
  const producer = new Producer({
    ...client,
    clientId: client.clientId ?? `connect-${p.name}`,
    acks: 'all',
    idempotent: true,
    transactionalId: eos ? `connect-${p.name}-0` : undefined,
    lingerMs: opts.producer?.lingerMs ?? 5,
    bufferMemory: opts.producer?.bufferMemory,
    batchSize: opts.producer?.batchSize,
    compression: opts.producer?.compression,
  });
  // A source that names a topic per record (CDC: <prefix>.<db>.<table>) produces to the topics under its prefix.
  const target = connector.topicCreation !== undefined ? `${p.topic}.* topics` : p.topic;
  const bar = progress(`${p.name} → ${target}`, undefined, { stream, force: opts.forceProgress });
  const note = (message: string): void => void stream.write(`${stream.isTTY === true ? '\r\x1b[2K' : ''}${p.name}: ${message}\n`);
  let produced = 0;
  let bytes = 0;
  let unacked = 0;
  let failure: Error | null = null;
  /** A record failed at the producer (as opposed to a bad input): an open transaction must be aborted. */
  let producerFailed = false;
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

  // at-least-once offsets
  const acknowledged = new AcknowledgedPositions();
  const writeAcknowledged = (): void => {
    const positions = acknowledged.take();
    if (positions.length === 0) return;
    const sends = positions.map((pos) => producer.send(positionRecord(pos)));
    Promise.all(sends).then(
      () => reportStored(connector, positions),
      (err: Error) => (failure ??= err),
    );
  };

  // exactly-once transactions
  let inTxn = false;
  let txnStarted = 0;
  let txnCount = 0;
  const txnPositions = new Map<string, Position>();
  const txnRecords: SourceRecord[] = [];
  let committing: Promise<void> | null = null;
  /** The last record pulled ends a source position (exactly-once commits only there). */
  let atBoundary = true;
  const commit = (): Promise<void> => {
    committing ??= (async () => {
      try {
        if (!inTxn) return;
        for (const pos of txnPositions.values()) void producer.send(positionRecord(pos)).catch(() => {}); // commitTransaction reports a failure
        await producer.commitTransaction();
        reportStored(connector, txnPositions.values());
        inTxn = false;
        produced += txnCount;
        txnCount = 0;
        opts.onProgress?.({ pipeline: p.name, records: produced, bytes });
        txnPositions.clear();
        for (const r of txnRecords.splice(0)) connector.commitRecord?.(r, null);
      } finally {
        committing = null;
      }
    })();
    return committing;
  };
  const timer = setInterval(() => {
    if (failure !== null) return;
    if (eos) {
      if (inTxn && committing === null && atBoundary && Date.now() - txnStarted >= TRANSACTION_INTERVAL_MS) commit().catch((err: Error) => (failure ??= err));
    } else writeAcknowledged();
  }, eos ? TRANSACTION_INTERVAL_MS / 5 : OFFSET_FLUSH_INTERVAL_MS);

  try {
    if (opts.signal?.aborted !== true) {
      try {
        // Connect first: an unreachable broker fails here, before an HTTP source accepts anything. With a
        // transactional id this is InitProducerId, which fences an older run and aborts its open transaction.
        await producer.connect();
        let offsets: SourceOffsets | undefined;
        if (withOffsets) {
          await ensureOffsetsTopic(client);
          offsets = (await loadSourceOffsets(client, [p.name])).get(p.name);
          if (opts.resetOffsets === true && offsets !== undefined && offsets.size > 0) {
            const keys = offsets.keys();
            if (eos) producer.beginTransaction();
            for (const key of keys) void producer.send(offsetRecord(key, null)).catch((err: Error) => (failure ??= err));
            if (eos) await producer.commitTransaction();
            else await producer.flush();
            if (failure !== null) throw failure;
            offsets = undefined;
            note(`forgot the stored offsets of ${keys.length} file${keys.length === 1 ? '' : 's'}: producing from the beginning`);
          }
        }
        const context: SourceContext = { offset: (partition) => offsets?.offset(partition) ?? null, log: note };
        const createdTopics = new Set<string>();
        for await (const record of connector.records(context)) {
          if (committing !== null) await committing;
          if (failure !== null) break;
          if (record.topic !== undefined && !createdTopics.has(record.topic)) {
            await ensureRecordTopic(client, record.topic, connector.topicCreation);
            createdTopics.add(record.topic);
          }
          const pr = toProducerRecord(p.topic, record);
          if (encoder !== undefined) {
            const value = await encodeSourceValue(encoder, pr.topic, record, connector, p.source?.type === 'http');
            if (value === undefined) continue; // refused (http: answered with the reason)
            pr.value = value;
          }
          const n = size(pr.key) + size(pr.value);
          const pos: Position | undefined =
            record.sourcePartition !== undefined && record.sourceOffset !== undefined
              ? { key: offsetKey(p.name, record.sourcePartition), partition: record.sourcePartition, record, offset: record.sourceOffset }
              : undefined;
          if (eos && !inTxn) {
            producer.beginTransaction();
            inTxn = true;
            txnStarted = Date.now();
          }
          const entry = !eos && pos !== undefined ? acknowledged.submit(pos) : undefined;
          unacked++;
          producer.send(pr).then(
            () => {
              bytes += n;
              bar.tick(1, n);
              if (!eos) {
                produced++;
                opts.onProgress?.({ pipeline: p.name, records: produced, bytes });
                if (entry !== undefined) acknowledged.ack(entry);
                connector.commitRecord?.(record, null);
              }
              settled();
            },
            (err: Error) => {
              failure ??= err;
              producerFailed = true;
              connector.commitRecord?.(record, err);
              settled();
              void connector.stop().catch(() => {});
            },
          );
          if (eos) {
            txnCount++;
            if (pos !== undefined) txnPositions.set(pos.key, pos);
            if (connector.commitRecord !== undefined) txnRecords.push(record);
            // A transaction ends only after a record that carries its offset: the records of one source position
            // (a CDC change and its tombstone) commit together.
            atBoundary = pos !== undefined || !withOffsets;
            if (atBoundary && Date.now() - txnStarted >= TRANSACTION_INTERVAL_MS) await commit();
          }
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
    clearInterval(timer);
    // What was produced is kept: flushed, and its offsets stored (a bad input line fails the run after the
    // records before it are safely in the topic, so the rerun resumes there).
    try {
      await producer.flush();
      if (eos) {
        if (committing !== null) await (committing as Promise<void>).catch(() => {});
        if (inTxn && !producerFailed) await commit().catch((err: Error) => (failure ??= err));
        if (inTxn) await producer.abortTransaction().catch(() => {});
      } else {
        writeAcknowledged();
        await producer.flush();
      }
    } catch (err) {
      failure ??= err as Error;
    }
  } finally {
    clearInterval(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    await producer.close().catch((err: Error) => (failure ??= err));
    await connector.stop().catch(() => {});
    bar.done();
  }
  const elapsedMs = Date.now() - started;
  const skipped = connector.skipped ?? 0;
  if (failure !== null) {
    const f = failure as Error;
    throw new PipelineError(p.name, `${f.message} (${produced} records were produced to ${target} before${withOffsets ? '; a rerun resumes after them' : ''})`, { cause: f });
  }
  const secs = Math.max(elapsedMs / 1000, 0.001);
  stream.write(
    `${p.name}: produced ${produced} records to ${target} in ${secs.toFixed(2)} s (${Math.round(produced / secs)} records/s)${skipped > 0 ? `, skipped ${skipped} bad lines` : ''}${eos ? ', exactly-once' : ''}${opts.signal?.aborted === true ? ', stopped' : ''}\n`,
  );
  return { pipeline: p.name, topic: p.topic, records: produced, bytes, skipped, elapsedMs, stopped: opts.signal?.aborted === true, guarantee };
}
