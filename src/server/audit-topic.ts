/**
 * The audit topic (`audit.log.topic`): every audit event also appended, as the same JSON line (the record's
 * value; no key), to a topic through the broker's own write path. The topic is created on the first event if
 * missing (one partition, cleanup.policy=delete). On one node the append is local; in a cluster this broker
 * appends to the partition it leads, or sends a Produce (acks=all) to the partition's leader over the
 * inter-broker channel (cluster-mode.ts). Like the file, it never blocks a request: events wait in a bounded
 * queue (beyond it, or when an append has failed five times, they are dropped and counted, one warning per episode) and are
 * appended in order, one batch at a time. `close()` appends what is queued, waiting at most `closeTimeoutMs`.
 */
import type { Logger } from '../logger.js';
import { buildRecordBatch } from '../protocol/records/record.js';
import { KafkaError } from '../errors.js';
import type { AuditEvent } from '../security/audit.js';
import { formatAuditLine, type AuditLineSink } from '../security/audit-log.js';

/** What the sink needs of the broker: the topic's partitions and two ways to append. */
export interface AuditTopicWriter {
  /** The topic's partition count, undefined if it does not exist. */
  partitions(topic: string): number | undefined;
  /** Creates the topic (TOPIC_ALREADY_EXISTS is fine). */
  create(topic: string): Promise<void>;
  /** Appends one batch to the partition (locally or at its leader), resolving once committed. */
  append(topic: string, partition: number, batch: Buffer, recordCount: number): Promise<void>;
}

export interface AuditTopicOptions {
  readonly topic: string;
  readonly nodeId: number;
  readonly writer: AuditTopicWriter;
  readonly logger: Logger;
  /** Events waiting at most (default 10 000). */
  readonly maxQueued?: number;
  readonly retryMs?: number;
  readonly closeTimeoutMs?: number;
}

const BATCH_EVENTS = 500;
const MAX_ATTEMPTS = 5;

export class AuditTopicSink implements AuditLineSink {
  written = 0;
  dropped = 0;
  private readonly queue: Array<{ line: string; timestamp: number }> = [];
  private pumping: Promise<void> | null = null;
  private failing = false;
  private retryAt = 0;
  private attempts = 0;
  private closing = false;

  constructor(private readonly opts: AuditTopicOptions) {}

  record(event: AuditEvent): void {
    const timestamp = Date.now();
    let line: string;
    try {
      line = formatAuditLine(event, this.opts.nodeId, timestamp);
    } catch {
      this.dropped++;
      return;
    }
    this.recordLine(line, timestamp);
  }

  /** One formatted line (formatAuditLine's, newline included) and its timestamp, the record's. */
  recordLine(line: string, timestamp: number): void {
    if (this.closing || this.queue.length >= (this.opts.maxQueued ?? 10_000)) {
      this.dropped++;
      this.warnOnce('queue full', null);
      return;
    }
    this.queue.push({ line: line.slice(0, -1), timestamp });
    this.kick();
  }

  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.retryAt = 0;
    const timeout = new Promise<void>((r) => setTimeout(r, this.opts.closeTimeoutMs ?? 5000).unref());
    await Promise.race([this.flush(), timeout]);
  }

  private kick(): void {
    if (this.pumping || this.queue.length === 0) return;
    this.pumping = Promise.resolve().then(() => this.pump()).finally(() => {
      this.pumping = null;
      this.kick();
    });
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const wait = this.retryAt - Date.now();
      if (wait > 0) {
        if (this.closing) break;
        await new Promise<void>((r) => setTimeout(r, wait).unref());
      }
      const events = this.queue.splice(0, BATCH_EVENTS);
      try {
        await this.append(events);
        this.written += events.length;
        this.attempts = 0;
        if (this.failing) this.opts.logger.info({ topic: this.opts.topic, dropped: this.dropped }, 'audit topic: appending again');
        this.failing = false;
      } catch (err) {
        // A new topic's leader may not be known yet, a leader may move: the batch is tried again a few times.
        if (!this.closing && ++this.attempts < MAX_ATTEMPTS) {
          this.queue.unshift(...events);
          this.retryAt = Date.now() + Math.min(this.opts.retryMs ?? 1000, 100 * this.attempts);
          continue;
        }
        this.attempts = 0;
        this.dropped += events.length;
        this.warnOnce('append failed', err);
        if (this.closing) {
          this.dropped += this.queue.length;
          this.queue.length = 0;
          return;
        }
        this.retryAt = Date.now() + (this.opts.retryMs ?? 1000);
      }
    }
  }

  private async append(events: ReadonlyArray<{ line: string; timestamp: number }>): Promise<void> {
    const { topic, writer } = this.opts;
    let partitions = writer.partitions(topic);
    if (partitions === undefined) {
      await writer.create(topic).catch((err: unknown) => {
        if (!(err instanceof KafkaError && err.kafkaError === 'TOPIC_ALREADY_EXISTS')) throw err;
      });
      partitions = writer.partitions(topic);
      if (partitions === undefined) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `audit topic ${topic} was not created`);
    }
    const batch = buildRecordBatch(events.map((e) => ({ value: e.line, timestamp: e.timestamp })));
    // One partition per broker keeps each broker's events in order (node id modulo the partition count).
    await writer.append(topic, this.opts.nodeId % partitions, batch, events.length);
  }

  private warnOnce(what: string, err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.opts.logger.warn({ topic: this.opts.topic, err: err instanceof Error ? err.message : undefined }, `audit topic: ${what}; dropping events (counted) until it recovers`);
  }
}
