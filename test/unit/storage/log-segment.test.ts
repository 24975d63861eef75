import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { LogSegment, parseSegmentFileName, segmentFileName } from '../../../src/storage/log-segment.js';
import { batchRanges, tmpDir } from './storage-helpers.js';

interface Rec {
  offset: number;
  timestamp: number;
}

/** Builds batches at consecutive offsets from `base`; returns them with positions and every record. */
function layout(base: number, specs: Array<{ timestamps: number[]; valueSize: number; compressed: boolean }>) {
  const batches: Array<{ buf: Buffer; position: number; base: number; last: number }> = [];
  const records: Rec[] = [];
  let offset = base;
  let position = 0;
  for (const s of specs) {
    const buf = buildRecordBatch(
      s.timestamps.map((timestamp, i) => ({ value: `r${offset + i}`.padEnd(s.valueSize, '#'), timestamp })),
      { baseOffset: offset, compression: s.compressed ? 1 : 0 },
    );
    batches.push({ buf, position, base: offset, last: offset + s.timestamps.length - 1 });
    s.timestamps.forEach((timestamp, i) => records.push({ offset: offset + i, timestamp }));
    offset += s.timestamps.length;
    position += buf.length;
  }
  return { batches, records, next: offset };
}

function bruteByTimestamp(records: Rec[], ts: number, from: number): Rec | null {
  return records.find((r) => r.offset >= from && r.timestamp >= ts) ?? null;
}

describe('LogSegment', () => {
  it('names files with 20-digit base offsets', () => {
    assert.equal(segmentFileName(42, '.log'), '00000000000000000042.log');
    assert.equal(parseSegmentFileName('00000000000000000042.index', '.index'), 42);
    assert.equal(parseSegmentFileName('42.index', '.index'), -1);
    assert.equal(parseSegmentFileName('00000000000000000042.log.deleted', '.log'), -1);
  });

  it('offset and timestamp lookups agree with a brute-force scan, before and after reopening', () => {
    const spec = fc.record({
      timestamps: fc.array(fc.integer({ min: 1000, max: 5000 }), { minLength: 1, maxLength: 12 }),
      valueSize: fc.integer({ min: 1, max: 400 }),
      compressed: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 2 }), (specs, interval, grouping) => {
        const dir = tmpDir();
        const base = 500;
        const { batches, records, next } = layout(base, specs);
        const seg = LogSegment.create(dir, base, 10 * 1024, 0);
        // Append 1-3 batches per write, as a produce request may carry several.
        for (let i = 0; i < batches.length; i += grouping + 1) {
          seg.append(Buffer.concat(batches.slice(i, i + grouping + 1).map((b) => b.buf)), interval, 0);
        }
        const check = (s: LogSegment): void => {
          assert.equal(s.nextOffset, next);
          for (const b of batches) for (let o = b.base; o <= b.last; o++) assert.equal(s.translateOffset(o), b.position, `offset ${o}`);
          assert.equal(s.translateOffset(next), -1);
          for (let ts = 990; ts <= 5010; ts += 37) {
            for (const from of [base, base + 3, Math.floor((base + next) / 2)]) {
              assert.deepEqual(s.findOffsetByTimestamp(ts, from), bruteByTimestamp(records, ts, from), `ts ${ts} from ${from}`);
            }
          }
          const max = Math.max(...records.map((r) => r.timestamp));
          assert.deepEqual(s.offsetOfMaxTimestamp(), records.find((r) => r.timestamp === max));
        };
        check(seg);
        seg.onBecomeInactive();
        seg.close();
        const { segment: reopened, indexesMissing } = LogSegment.open(dir, base, 10 * 1024, 0);
        assert.equal(indexesMissing, false);
        assert.equal(reopened.loadTail(true), true);
        check(reopened);
        assert.equal(reopened.recover(interval), 0);
        check(reopened);
        reopened.close();
      }),
      { numRuns: 30 },
    );
  });

  it('reads whole batches only: maxBytes, minOneBatch (KIP-74), end of segment', () => {
    const dir = tmpDir();
    const { batches } = layout(0, [0, 1, 2, 3].map(() => ({ timestamps: [1, 2, 3], valueSize: 100, compressed: false })));
    const seg = LogSegment.create(dir, 0, 1024, 0);
    seg.append(Buffer.concat(batches.map((b) => b.buf)), 4096, 0);
    const size = batches[0]!.buf.length;
    assert.deepEqual(batchRanges(seg.read(0, size * 2.5, false)), [[0, 2], [3, 5]]);
    assert.deepEqual(batchRanges(seg.read(batches[1]!.position, size, false)), [[3, 5]]);
    assert.equal(seg.read(0, size - 1, false).length, 0);
    assert.deepEqual(batchRanges(seg.read(0, 10, true)), [[0, 2]]);
    assert.deepEqual(batchRanges(seg.read(batches[3]!.position, 1 << 20, false)), [[9, 11]]);
    assert.equal(seg.read(seg.size, 1 << 20, true).length, 0);
    seg.close();
  });

  it('finds a recent batch by its base offset without scanning, and forgets the positions a truncation cut off', () => {
    const dir = tmpDir();
    const first = layout(0, [3, 2, 4].map((n) => ({ timestamps: Array.from({ length: n }, () => 7), valueSize: 50, compressed: false })));
    // An index interval larger than the segment: every lookup below the cache would scan from position 0.
    const seg = LogSegment.create(dir, 0, 4096, 0);
    for (const b of first.batches) seg.append(b.buf, 1 << 20, 0);
    for (const b of first.batches) {
      assert.equal(seg.translateOffset(b.base), b.position);
      assert.equal(seg.translateOffset(b.last), b.position);
    }
    // Cut at offset 3 (the second batch goes), then a different layout from there: offset 5 now starts a batch
    // elsewhere, and offset 9 (beyond the old end) starts the last one.
    seg.truncateTo(3, 1 << 20);
    assert.equal(seg.nextOffset, 3);
    assert.equal(seg.translateOffset(5), -1);
    const second = layout(3, [2, 4, 1].map((n) => ({ timestamps: Array.from({ length: n }, () => 8), valueSize: 180, compressed: false })));
    const start = first.batches[1]!.position;
    seg.append(Buffer.concat(second.batches.map((b) => b.buf)), 1 << 20, 0);
    for (const b of second.batches) {
      for (let o = b.base; o <= b.last; o++) assert.equal(seg.translateOffset(o), start + b.position, `offset ${o}`);
      assert.deepEqual(batchRanges(seg.read(seg.translateOffset(b.base), 1 << 20, true)).at(0), [b.base, b.last]);
    }
    assert.equal(seg.translateOffset(0), 0);
    seg.close();
  });

  it('a read from where the last read ended finds its batch without the index, and truncation forgets that place', () => {
    const dir = tmpDir();
    // index.interval.bytes 1 GB: no index entries, so every other lookup walks the batch headers from 0.
    const { batches } = layout(0, [0, 1, 2, 3].map(() => ({ timestamps: [1, 2, 3], valueSize: 100, compressed: false })));
    const seg = LogSegment.create(dir, 0, 1024, 0);
    seg.append(Buffer.concat(batches.slice(0, 2).map((b) => b.buf)), 1 << 30, 0);
    assert.deepEqual(batchRanges(seg.read(0, batches[0]!.buf.length, false)), [[0, 2]]);
    assert.equal(seg.translateOffset(3), batches[1]!.position);
    assert.deepEqual(batchRanges(seg.read(seg.translateOffset(3), 1 << 20, false)), [[3, 5]]);
    // Read to the end: the next batch is not written yet (no position), then is.
    assert.equal(seg.translateOffset(6), -1);
    seg.append(Buffer.concat(batches.slice(2).map((b) => b.buf)), 1 << 30, 0);
    assert.equal(seg.translateOffset(6), batches[2]!.position);
    assert.deepEqual(batchRanges(seg.read(seg.translateOffset(6), 1 << 20, true)), [[6, 8], [9, 11]]);
    // Remember offset 6 at the end of batch [3, 5]; truncated below that and rewritten with other batch sizes, offset 6
    // is elsewhere: the position comes from the file again.
    assert.deepEqual(batchRanges(seg.read(0, batches[0]!.buf.length * 2, false)), [[0, 2], [3, 5]]);
    seg.truncateTo(3, 1 << 30);
    const other = layout(3, [{ timestamps: [1, 2, 3, 4, 5, 6], valueSize: 100, compressed: false }, { timestamps: [7, 8, 9], valueSize: 10, compressed: false }]);
    seg.append(Buffer.concat(other.batches.map((b) => b.buf)), 1 << 30, 0);
    assert.ok(batches[2]!.position < seg.size);
    assert.equal(seg.translateOffset(6), batches[0]!.buf.length);
    assert.equal(seg.translateOffset(9), batches[0]!.buf.length + other.batches[0]!.buf.length);
    assert.deepEqual(batchRanges(seg.read(seg.translateOffset(3), 1 << 20, false)), [[3, 8], [9, 11]]);
    seg.close();
  });

  it('recover() truncates at a torn or corrupt batch and rebuilds the indexes', () => {
    const dir = tmpDir();
    const { batches } = layout(0, Array.from({ length: 20 }, () => ({ timestamps: [5, 6], valueSize: 200, compressed: false })));
    const seg = LogSegment.create(dir, 0, 4096, 0);
    for (const b of batches) seg.append(b.buf, 500, 0);
    const indexEntries = seg.offsetIndex.entries;
    assert.ok(indexEntries > 3);
    seg.close();
    const logFile = path.join(dir, segmentFileName(0, '.log'));
    // Flip a byte inside batch 12's records: its CRC no longer matches.
    const fd = fs.openSync(logFile, 'r+');
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, batches[12]!.position + 70);
    fs.closeSync(fd);
    fs.truncateSync(path.join(dir, segmentFileName(0, '.index')), 3); // torn index too
    const { segment } = LogSegment.open(dir, 0, 4096, 0);
    const total = batches[19]!.position + batches[19]!.buf.length;
    assert.equal(segment.recover(500), total - batches[12]!.position);
    assert.equal(segment.size, batches[12]!.position);
    assert.equal(fs.statSync(logFile).size, batches[12]!.position);
    assert.equal(segment.nextOffset, 24);
    assert.ok(segment.offsetIndex.entries > 0 && segment.offsetIndex.entries < indexEntries);
    for (let o = 0; o < 24; o++) assert.equal(segment.translateOffset(o), batches[Math.floor(o / 2)]!.position);
    segment.close();
  });
});
