/**
 * The audit log: one JSON line per AuditEvent in `<dir>/audit.log`, rotated by size.
 *
 * Format: `{"timestamp":"2025-01-01T00:00:00.000Z","nodeId":1,"type":"change","principal":"User:alice",…}\n`,
 * the event's own fields after the timestamp (ISO-8601 UTC) and the node id. Rotation: before a write that
 * would take audit.log past `maxBytes`, audit.log.{n-1} → audit.log.{n} … audit.log → audit.log.1, keeping at
 * most `maxFiles` files (audit.log and audit.log.1 … audit.log.{maxFiles-1}); the oldest goes.
 *
 * Concurrency contract: `record` never blocks and never throws: it formats the line, queues it and returns.
 * One writer drains the queue in order (one append per batch of queued lines). The queue is bounded
 * (`maxQueuedBytes`): beyond it, and whenever the disk refuses a write (ENOSPC, EACCES, EROFS…), events are
 * dropped and counted, with one warning line per episode and one info line when writing resumes; a failed
 * write is retried after `retryMs` with what was queued since. `close()` writes everything queued (one attempt
 * if the disk is failing) and closes the file. A write cut short by an error may leave a torn line: the next
 * successful write starts on a new line, so every other line stays parseable.
 */
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { AuditEvent, AuditSink } from './audit.js';

export const AUDIT_LOG_FILE = 'audit.log';

export interface AuditLogOptions {
  readonly dir: string;
  readonly nodeId: number;
  /** Rotate before audit.log would pass this size (audit.log.max.bytes). */
  readonly maxBytes: number;
  /** Files kept, audit.log included (audit.log.max.files). */
  readonly maxFiles: number;
  readonly logger: Logger;
  /** Bound on the bytes waiting to be written; beyond it events are dropped (default 8 MiB). */
  readonly maxQueuedBytes?: number;
  /** After a failed write, how long before the next attempt (default 1000 ms). */
  readonly retryMs?: number;
  readonly now?: () => number;
}

/** One event as its JSON line (newline included): timestamp, node id, then the event's fields. */
export function formatAuditLine(event: AuditEvent, nodeId: number, now: number): string {
  return JSON.stringify({ timestamp: new Date(now).toISOString(), nodeId, ...event }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
}

/** formatAuditLine, or null for an event that cannot be serialised (a cycle): such an event is dropped, never thrown. */
function tryFormat(event: AuditEvent, nodeId: number, now: number): string | null {
  try {
    return formatAuditLine(event, nodeId, now);
  } catch {
    return null;
  }
}

const MAX_WRITE_BYTES = 1024 * 1024;

export class AuditLog implements AuditLineSink {
  /** Events written to the file. */
  written = 0;
  /** Events lost: queue full, unwritable directory or disk, or recorded after close. */
  dropped = 0;
  private readonly queue: string[] = [];
  private queuedBytes = 0;
  private readonly maxQueuedBytes: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private fh: FileHandle | null = null;
  private size = 0;
  private torn = false;
  private failing = false;
  private overflowing = false;
  private droppedAtWarning = 0;
  private retryAt = 0;
  private pumping: Promise<void> | null = null;
  private closing = false;
  private closed: Promise<void> | null = null;
  private wakeRetry: (() => void) | null = null;

  constructor(private readonly opts: AuditLogOptions) {
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 8 * 1024 * 1024;
    this.retryMs = opts.retryMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  get path(): string {
    return join(this.opts.dir, AUDIT_LOG_FILE);
  }

  record(event: AuditEvent): void {
    const line = tryFormat(event, this.opts.nodeId, this.now());
    if (line === null) this.dropped++;
    else this.recordLine(line);
  }

  /** One formatted line (formatAuditLine's, newline included). */
  recordLine(line: string): void {
    if (this.closing) {
      this.dropped++;
      return;
    }
    if (this.queuedBytes + line.length > this.maxQueuedBytes) {
      this.dropped++;
      if (!this.overflowing && !this.failing) {
        this.overflowing = true;
        this.opts.logger.warn({ dir: this.opts.dir, maxQueuedBytes: this.maxQueuedBytes }, 'audit log: writes are not keeping up; dropping events (counted) until they do');
      }
      return;
    }
    this.queue.push(line);
    this.queuedBytes += line.length;
    this.kick();
  }

  /** Resolves when everything queued so far has been written (or dropped). */
  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.retryAt = 0;
      this.wakeRetry?.();
      await this.flush();
      await this.closeFile();
    })();
    return this.closed;
  }

  private kick(): void {
    if (this.pumping || this.queue.length === 0) return;
    // From a microtask: the events recorded in the same turn (one request's resources) go out as one write.
    this.pumping = Promise.resolve().then(() => this.pump()).finally(() => {
      this.pumping = null;
      this.kick();
    });
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const wait = this.retryAt - this.now();
      if (wait > 0 && !this.closing) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = null;
      }
      let bytes = 0;
      let n = 0;
      while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.length <= MAX_WRITE_BYTES)) bytes += this.queue[n++]!.length;
      const lines = this.queue.splice(0, n);
      this.queuedBytes -= bytes;
      const before = this.written;
      try {
        await this.writeLines(lines);
        if (this.failing || this.overflowing) {
          this.opts.logger.info({ dir: this.opts.dir, dropped: this.dropped - this.droppedAtWarning }, 'audit log: writing again');
          this.failing = false;
          this.overflowing = false;
        }
      } catch (err) {
        const lost = lines.length - (this.written - before);
        this.dropped += lost;
        if (!this.failing) {
          this.failing = true;
          this.droppedAtWarning = this.dropped - lost;
          const e = err as NodeJS.ErrnoException;
          this.opts.logger.warn({ dir: this.opts.dir, code: e.code, err: e.message }, 'audit log: cannot write; dropping events (counted) until it can');
        }
        await this.closeFile();
        if (this.closing) {
          // One attempt at shutdown: what is still queued is lost with this disk.
          this.dropped += this.queue.length;
          this.queue.length = 0;
          this.queuedBytes = 0;
          return;
        }
        this.retryAt = this.now() + this.retryMs;
      }
    }
  }

  /** Appends the lines, rotating between two lines whenever the next would take the file past maxBytes. */
  private async writeLines(lines: readonly string[]): Promise<void> {
    if (!this.fh) await this.openFile();
    let i = 0;
    while (i < lines.length) {
      let prefix = this.torn ? '\n' : '';
      if (this.size > 0 && this.size + prefix.length + Buffer.byteLength(lines[i]!) > this.opts.maxBytes) {
        await this.rotate();
        prefix = '';
      }
      // As many lines as fit (at least one, even a line longer than maxBytes in a file of its own).
      const room = this.opts.maxBytes - this.size - prefix.length;
      let j = i;
      let bytes = 0;
      while (j < lines.length) {
        const n = Buffer.byteLength(lines[j]!);
        if (j > i && bytes + n > room) break;
        bytes += n;
        j++;
      }
      await this.write(Buffer.from(prefix + lines.slice(i, j).join(''), 'utf8'));
      this.torn = false;
      this.written += j - i;
      i = j;
    }
  }

  private async write(buf: Buffer): Promise<void> {
    let off = 0;
    try {
      while (off < buf.length) {
        const { bytesWritten } = await this.fh!.write(buf, off, buf.length - off);
        off += bytesWritten;
        this.size += bytesWritten;
      }
    } catch (err) {
      if (off > 0) this.torn = true;
      throw err;
    }
  }

  private async openFile(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    const fh = await open(this.path, 'a');
    try {
      this.size = (await fh.stat()).size;
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    this.fh = fh;
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
  }

  private async rotate(): Promise<void> {
    await this.closeFile();
    const name = (i: number): string => (i === 0 ? this.path : `${this.path}.${i}`);
    const keep = Math.max(1, this.opts.maxFiles);
    await rm(name(keep - 1), { force: true });
    for (let i = keep - 2; i >= 0; i--) {
      await rename(name(i), name(i + 1)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    this.torn = false;
    await this.openFile();
  }
}

/** Several sinks as one (the file and the topic). */
/** A sink that takes the event already formatted (formatAuditLine's line and its timestamp). */
export interface AuditLineSink extends AuditSink {
  recordLine(line: string, timestamp: number): void;
}

/** Several sinks behind one: each event is formatted once (one timestamp, one JSON.stringify) and handed to all. */
export function fanOutAudit(sinks: readonly AuditLineSink[], nodeId: number, now: () => number = Date.now): AuditSink {
  if (sinks.length === 1) return sinks[0]!;
  return {
    record(event) {
      const timestamp = now();
      const line = tryFormat(event, nodeId, timestamp);
      if (line === null) return;
      for (const s of sinks) s.recordLine(line, timestamp);
    },
    async close() {
      await Promise.all(sinks.map((s) => s.close?.()));
    },
  };
}
