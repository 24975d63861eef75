/** Shared fixtures for the storage tests: temp dirs, batches, logs. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { batchSizeAt, readBatchHeader } from '../../../src/protocol/records/record-batch.js';
import { buildRecordBatch, decodeRecordBatch, type RecordInput } from '../../../src/protocol/records/record.js';
import type { CompressionType } from '../../../src/protocol/records/compression.js';
import type { Fdatasync } from '../../../src/storage/file-io.js';
import { parseTopicConfig } from '../../../src/storage/log-config.js';
import { loadLog } from '../../../src/storage/log-loader.js';
import type { Log } from '../../../src/storage/log.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

export function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-storage-'));
  dirs.push(d);
  return d;
}

/** A batch of `n` records; record i has value `${tag}-${i}` padded to `valueSize`, timestamp ts(i). */
export function batch(n: number, opts: { tag?: string; ts?: (i: number) => number; valueSize?: number; compression?: CompressionType } = {}): Buffer {
  const records: RecordInput[] = [];
  for (let i = 0; i < n; i++) {
    const v = `${opts.tag ?? 'v'}-${i}`;
    records.push({ key: null, value: opts.valueSize ? v.padEnd(opts.valueSize, '.') : v, timestamp: opts.ts ? opts.ts(i) : 1_700_000_000_000 + i });
  }
  return buildRecordBatch(records, { compression: opts.compression ?? 0 });
}

export interface FlatRecord {
  offset: number;
  timestamp: number;
  value: string;
}

/** Decodes every whole batch in `buf`. */
export function decodeAll(buf: Buffer): FlatRecord[] {
  const out: FlatRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const size = batchSizeAt(buf, pos);
    for (const r of decodeRecordBatch(buf, pos).records) out.push({ offset: r.offset, timestamp: r.timestamp, value: r.value!.toString() });
    pos += size;
  }
  return out;
}

/** [baseOffset, lastOffset] of each batch in `buf`. */
export function batchRanges(buf: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let pos = 0;
  while (pos < buf.length) {
    const h = readBatchHeader(buf, pos);
    out.push([h.baseOffset, h.baseOffset + h.lastOffsetDelta]);
    pos += h.batchLength + 12;
  }
  return out;
}

/** Reads the whole log from `from` to its end, batch group by batch group. */
export function readAll(log: Log, from = log.logStartOffset, maxBytes = 64 * 1024): FlatRecord[] {
  const out: FlatRecord[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const buf = log.read(offset, maxBytes, true);
    if (buf.length === 0) throw new Error(`empty read at ${offset}`);
    for (const r of decodeAll(buf)) if (r.offset >= offset) out.push(r);
    const ranges = batchRanges(buf);
    offset = ranges[ranges.length - 1]![1] + 1;
  }
  return out;
}

/** Counts fdatasyncs (and can be told to fail). */
export function countingSync(): { fdatasync: Fdatasync; count: () => number; failNext: (err: Error) => void } {
  let n = 0;
  let fail: Error | undefined;
  const fdatasync: Fdatasync = (fd) =>
    new Promise((resolve, reject) => {
      n++;
      if (fail) {
        const err = fail;
        fail = undefined;
        reject(err);
        return;
      }
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    });
  return { fdatasync, count: () => n, failNext: (err) => (fail = err) };
}

export interface OpenLogOptions {
  overrides?: Record<string, string>;
  now?: () => number;
  fdatasync?: Fdatasync;
  hadCleanShutdown?: boolean;
  recoveryPoint?: number;
  logStartOffset?: number;
}

/** Opens (or creates) a partition log in `dir` directly through the loader. */
export function openLog(dir: string, opts: OpenLogOptions = {}): Log {
  return loadLog({
    dir,
    topic: 't',
    partition: 0,
    config: parseTopicConfig(opts.overrides ?? {}),
    hadCleanShutdown: opts.hadCleanShutdown ?? true,
    recoveryPoint: opts.recoveryPoint ?? 0,
    logStartOffset: opts.logStartOffset ?? 0,
    now: opts.now ?? Date.now,
    fdatasync: opts.fdatasync,
  }).log;
}

/** Paths of the partition's .log files, oldest first. */
export function logFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.log')).sort().map((n) => path.join(dir, n));
}
