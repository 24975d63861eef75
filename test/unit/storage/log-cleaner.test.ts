import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildRecordBatch, decodeRecordBatch, iterateBatches, readControlRecord, type RecordInput } from '../../../src/protocol/records/record.js';
import { DELETE_HORIZON_FLAG_MASK, compressionOf } from '../../../src/protocol/records/record-batch.js';
import type { CompressionType } from '../../../src/protocol/records/compression.js';
import { LogCleaner, logCleanerConfig, type SwapStep } from '../../../src/storage/log-cleaner.js';
import { parseTopicConfig } from '../../../src/storage/log-config.js';
import { loadLog } from '../../../src/storage/log-loader.js';
import type { Log } from '../../../src/storage/log.js';
import { tmpDir } from './storage-helpers.js';

const T0 = 1_700_000_000_000;

interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

/** Every record from the log start to the end, with control markers as `<COMMIT pid>` / `<ABORT pid>`. */
function records(log: Log): Rec[] {
  const out: Rec[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const buf = log.read(offset, 1 << 20, true);
    if (buf.length === 0) break;
    for (const { pos, header } of iterateBatches(buf)) {
      offset = header.baseOffset + header.lastOffsetDelta + 1;
      for (const r of decodeRecordBatch(buf, pos).records) {
        if (header.attributes & 0x20) {
          out.push({ offset: r.offset, key: `<${readControlRecord(r).type} ${header.producerId}>`, value: null, timestamp: r.timestamp });
        } else {
          out.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp });
        }
      }
    }
  }
  return out;
}

function kv(entries: Array<[string | null, string | null]>, opts: { ts?: number; compression?: CompressionType; producerId?: bigint; seq?: number; transactional?: boolean } = {}): Buffer {
  const recs: RecordInput[] = entries.map(([key, value], i) => ({ key, value, timestamp: (opts.ts ?? T0) + i }));
  return buildRecordBatch(recs, {
    compression: opts.compression ?? 0,
    ...(opts.producerId !== undefined ? { producerId: opts.producerId, producerEpoch: 0, baseSequence: opts.seq ?? 0, transactional: opts.transactional ?? false } : {}),
  });
}

interface Harness {
  dir: string;
  log: Log;
  cleaner: LogCleaner;
  clock: { now: number };
  reopen(hadCleanShutdown?: boolean): Promise<void>;
}

async function harness(overrides: Record<string, string> = {}, broker: Record<string, string> = {}, onSwapStep?: (s: SwapStep) => void): Promise<Harness> {
  const dir = tmpDir();
  const clock = { now: T0 + 1000 };
  const now = (): number => clock.now;
  const config = parseTopicConfig({ 'cleanup.policy': 'compact', 'segment.bytes': '400', ...overrides });
  const open = (hadCleanShutdown: boolean): Log =>
    loadLog({ dir: path.join(dir, 't-0'), topic: 't', partition: 0, config, hadCleanShutdown, recoveryPoint: 0, logStartOffset: 0, now }).log;
  const h: Harness = {
    dir,
    log: open(true),
    cleaner: undefined as unknown as LogCleaner,
    clock,
    async reopen(hadCleanShutdown = true) {
      await h.log.close();
      h.log = open(hadCleanShutdown);
    },
  };
  h.cleaner = new LogCleaner({
    dataDir: dir, logs: () => [h.log], config: logCleanerConfig({ 'log.cleaner.backoff.ms': '10', ...broker }), now,
    onSwapStep: onSwapStep ? (s) => onSwapStep(s) : undefined,
  });
  return h;
}

const append = (log: Log, b: Buffer): number => log.append(b, { leaderEpoch: 0 }).baseOffset;

/** n updates cycling over `keys` keys, one record per batch: value `v<i>`. */
function updates(log: Log, n: number, keys: number, start = 0): void {
  for (let i = start; i < start + n; i++) append(log, kv([[`k${i % keys}`, `v${i}`]]));
}

describe('LogCleaner', () => {
  it('keeps the latest record per key at its original offset; the active segment is untouched; survives a reopen', async () => {
    const h = await harness();
    updates(h.log, 200, 10);
    const segmentsBefore = h.log.segmentCount;
    const sizeBefore = h.log.size();
    assert.ok(segmentsBefore > 5);
    const activeBase = h.log.segmentBaseOffsets().at(-1)!;
    const activeBefore = records(h.log).filter((r) => r.offset >= activeBase);

    const stats = await h.cleaner.clean(h.log);
    assert.ok(stats);
    assert.equal(stats.endOffset, activeBase, 'everything below the active segment was cleanable');
    assert.equal(h.cleaner.checkpointOf('t', 0), activeBase);
    assert.ok(h.log.size() < sizeBefore / 2, `${h.log.size()} < ${sizeBefore} / 2`);

    /** Below upTo: each key's latest record only; from there: every record. Values name their offset. */
    const expectLatest = (recs: Rec[], upTo: number, end: number): void => {
      for (const r of recs) assert.equal(r.value, `v${r.offset}`, 'offsets unchanged');
      const latest = new Map<string, number>();
      for (let i = 0; i < upTo; i++) latest.set(`k${i % 10}`, i);
      const expected = [...latest.values()].sort((a, b) => a - b);
      for (let i = upTo; i < end; i++) expected.push(i);
      assert.deepEqual(recs.map((r) => r.offset), expected);
    };
    expectLatest(records(h.log), activeBase, 200);
    assert.deepEqual(records(h.log).filter((r) => r.offset >= activeBase), activeBefore);
    assert.equal(h.log.logEndOffset, 200);
    // A read in a gap starts at the next offset that is there.
    const gapRead = decodeRecordBatch(h.log.read(0, 1 << 20, true)).records[0]!;
    assert.ok(gapRead.offset > 0);

    // Segments are grouped by their size before cleaning: the next pass merges the now small ones.
    assert.equal(h.log.segmentCount, segmentsBefore);
    updates(h.log, 1, 10, 200);
    h.log.roll();
    await h.cleaner.clean(h.log);
    assert.ok(h.log.segmentCount < segmentsBefore / 4, `${h.log.segmentCount} segments`);
    expectLatest(records(h.log), 201, 201);

    await h.reopen(false);
    expectLatest(records(h.log), 201, 201);
    const leftovers = fs.readdirSync(path.join(h.dir, 't-0')).filter((n) => /\.(cleaned|swap|deleted)$/.test(n));
    assert.deepEqual(leftovers, []);
    assert.match(fs.readFileSync(path.join(h.dir, 'cleaner-offset-checkpoint'), 'utf8'), /^0\n1\nt 0 201\n$/);
    await h.log.close();
  });

  it('keeps a tombstone until delete.retention.ms after the pass that first kept it, then removes it', async () => {
    const h = await harness({ 'delete.retention.ms': '1000' });
    append(h.log, kv([['a', '1'], ['b', '1']]));
    append(h.log, kv([['a', null]], { ts: T0 + 10 }));
    for (let i = 0; i < 12; i++) append(h.log, kv([['c', `c${i}`]], { ts: T0 + 20 + i }));
    await h.cleaner.clean(h.log);
    let recs = records(h.log).filter((r) => r.key !== 'c');
    assert.deepEqual(recs.map((r) => [r.offset, r.key, r.value]), [[1, 'b', '1'], [2, 'a', null]], 'a=1 gone, its tombstone kept');
    assert.equal(recs[1]!.timestamp, T0 + 10, 'the record timestamp is unchanged by the delete horizon');
    const tombBatch = decodeRecordBatch(h.log.read(2, 1 << 20, true));
    assert.ok(tombBatch.header.attributes & DELETE_HORIZON_FLAG_MASK, 'horizon stamped');
    assert.equal(tombBatch.header.baseTimestamp, h.clock.now + 1000);

    h.clock.now += 999;
    await forceClean(h);
    assert.ok(records(h.log).some((r) => r.key === 'a'), 'still inside delete.retention.ms');
    h.clock.now += 2;
    await forceClean(h);
    recs = records(h.log).filter((r) => r.key !== 'c' && r.key !== 'pad');
    assert.deepEqual(recs.map((r) => [r.offset, r.key]), [[1, 'b']], 'the tombstone is gone');
    await h.log.close();
  });

  it('drops aborted transactional data, keeps committed data, and keeps markers until their data is gone', async () => {
    const h = await harness({ 'delete.retention.ms': '0' });
    const log = h.log;
    append(log, kv([['k1', 'committed']], { producerId: 1n, seq: 0, transactional: true })); // 0
    append(log, kv([['k2', 'aborted']], { producerId: 2n, seq: 0, transactional: true })); // 1
    log.writeTxnMarker({ producerId: 1n, producerEpoch: 0, coordinatorEpoch: 0, commit: true, timestamp: T0 }); // 2
    log.writeTxnMarker({ producerId: 2n, producerEpoch: 0, coordinatorEpoch: 0, commit: false, timestamp: T0 }); // 3
    append(log, kv([['k2', 'plain']])); // 4
    for (let i = 0; i < 10; i++) append(log, kv([['pad', `p${i}`]], { ts: T0 + 100 + i })); // 5..14
    // An open transaction holds the LSO: nothing from its segment on is cleaned.
    append(log, kv([['k3', 'open']], { producerId: 3n, seq: 0, transactional: true }));
    for (let i = 0; i < 10; i++) append(log, kv([['pad', `q${i}`]], { ts: T0 + 200 + i }));

    const lso = log.lastStableOffset;
    assert.equal(lso, 15);
    const range = h.cleaner.cleanableRange(log);
    const lsoSegment = log.segmentList().find((s) => s.baseOffset <= 15 && s.nextOffset > 15)!;
    assert.equal(range.firstUncleanable, lsoSegment.baseOffset, 'the segment holding the LSO is uncleanable');

    await h.cleaner.clean(log);
    const data = (): Array<[number, string | null, string | null]> => records(log).filter((r) => r.key !== 'pad').map((r) => [r.offset, r.key, r.value]);
    assert.deepEqual(
      data().filter(([o]) => o < lsoSegment.baseOffset),
      [[0, 'k1', 'committed'], [2, '<COMMIT 1>', null], [3, '<ABORT 2>', null], [4, 'k2', 'plain']],
      'aborted data dropped; both markers kept in the pass that met their data',
    );
    // Producer 2's last batch stays (empty) while the producer is known; once it expires the batch can go.
    const empty = decodeRecordBatch(log.read(1, 1 << 20, true));
    assert.deepEqual([empty.header.baseOffset, empty.header.producerId, empty.records.length], [1, 2n, 0]);
    log.producerState.removeExpired(h.clock.now + 10 * 86_400_000); // producers 1 and 2; 3 is in a transaction
    log.writeTxnMarker({ producerId: 3n, producerEpoch: 0, coordinatorEpoch: 0, commit: true, timestamp: T0 });
    await forceClean(h); // the empty batch goes; the marker stays in the pass that met it
    assert.ok(data().some(([, k]) => k === '<ABORT 2>'));
    await forceClean(h); // the ABORT marker's data is gone: it gets a delete horizon (now + 0)
    const abortBatch = decodeRecordBatch(log.read(3, 1 << 20, true));
    assert.equal(readControlRecord(abortBatch.records[0]!).type, 'ABORT');
    assert.ok(abortBatch.header.attributes & DELETE_HORIZON_FLAG_MASK);
    await forceClean(h); // past its horizon: removed
    assert.deepEqual(
      data().filter(([o]) => o < 5 || (o >= 15 && o < 16)),
      [[0, 'k1', 'committed'], [2, '<COMMIT 1>', null], [4, 'k2', 'plain'], [15, 'k3', 'open']],
    );
    assert.ok(data().some(([, k]) => k === '<COMMIT 3>'));

    // Producer 1's committed data superseded (the producer expired, so its last batch need not stay): the
    // COMMIT marker has no data left and goes after its own horizon.
    append(log, kv([['k1', 'newer']]));
    for (let i = 0; i < 3; i++) await forceClean(h); // data removed; marker gets its horizon; marker removed
    const after = data();
    assert.ok(!after.some(([, k, v]) => k === '<COMMIT 1>' || v === 'committed'), JSON.stringify(after));
    assert.ok(after.some(([, k, v]) => k === 'k3' && v === 'open'), 'committed data stays while it is the latest');
    assert.ok(after.some(([, k]) => k === '<COMMIT 3>'), 'and so does its marker');
    await log.close();
  });

  for (const [name, codec] of [['gzip', 1], ['snappy', 2], ['lz4', 3], ['zstd', 4]] as const) {
    it(`rewrites a partly superseded ${name} batch with the same codec and the original offsets`, async () => {
      const h = await harness({ 'segment.bytes': '100000' });
      append(h.log, kv([['a', '1'], ['b', '1'], ['c', '1'], ['d', '1']], { compression: codec })); // 0-3
      append(h.log, kv([['b', '2'], ['d', '2']], { compression: codec })); // 4-5
      h.log.roll();
      append(h.log, kv([['z', 'active']]));
      await h.cleaner.clean(h.log);
      const first = decodeRecordBatch(h.log.read(0, 1 << 20, true));
      assert.equal(compressionOf(first.header.attributes), codec);
      assert.equal(first.header.baseOffset, 0);
      assert.equal(first.header.lastOffsetDelta, 3, 'the batch still ends at its last offset');
      assert.deepEqual(first.records.map((r) => [r.offset, r.key!.toString(), r.value!.toString(), r.timestamp]), [[0, 'a', '1', T0], [2, 'c', '1', T0 + 2]]);
      assert.deepEqual(records(h.log).map((r) => r.offset), [0, 2, 4, 5, 6]);
      await h.log.close();
    });
  }

  it('picks a log only above min.cleanable.dirty.ratio, waits min.compaction.lag.ms, and forces max.compaction.lag.ms', async () => {
    const h = await harness({ 'min.cleanable.dirty.ratio': '0.5' });
    const setConfig = (c: Record<string, string>): void => {
      h.log.config = parseTopicConfig({ 'cleanup.policy': 'compact', 'segment.bytes': '400', ...c });
    };
    updates(h.log, 300, 100);
    assert.ok(await h.cleaner.cleanFilthiest(), 'all dirty: ratio 1');
    assert.equal(await h.cleaner.cleanFilthiest(), null, 'nothing dirty left');
    updates(h.log, 40, 100, 300);
    const r = h.cleaner.cleanableRange(h.log);
    assert.ok(r.ratio > 0.05 && r.ratio < 0.5, `ratio ${r.ratio}`);
    assert.equal(await h.cleaner.cleanFilthiest(), null, 'below the ratio');

    // min.compaction.lag.ms: records newer than it are not cleanable.
    setConfig({ 'min.cleanable.dirty.ratio': '0.01', 'min.compaction.lag.ms': '3600000' });
    assert.equal(h.cleaner.cleanableRange(h.log).cleanableBytes, 0);
    assert.equal(await h.cleaner.cleanFilthiest(), null);
    assert.ok(h.cleaner.cleanableRange(h.log, T0 + 7_200_000).cleanableBytes > 0);

    // max.compaction.lag.ms: the oldest dirty record is older than this, so it is cleaned whatever the ratio.
    setConfig({ 'min.cleanable.dirty.ratio': '0.99', 'max.compaction.lag.ms': '60000' });
    assert.equal(await h.cleaner.cleanFilthiest(), null, 'not yet past the lag');
    h.clock.now = T0 + 120_000;
    assert.ok(h.cleaner.cleanableRange(h.log).needCompactionNow);
    assert.ok(await h.cleaner.cleanFilthiest(), 'past max.compaction.lag.ms');

    setConfig({ 'min.cleanable.dirty.ratio': '0.01' });
    updates(h.log, 40, 100, 340);
    assert.ok(await h.cleaner.cleanFilthiest(), 'above a low ratio');
    await h.log.close();
  });

  it('rolls the active segment of a compacted log at max.compaction.lag.ms', async () => {
    const h = await harness({ 'segment.bytes': '1000000', 'max.compaction.lag.ms': '500' });
    append(h.log, kv([['a', '1']], { ts: T0 }));
    append(h.log, kv([['a', '2']], { ts: T0 + 400 }));
    assert.equal(h.log.segmentCount, 1);
    append(h.log, kv([['a', '3']], { ts: T0 + 600 }));
    assert.equal(h.log.segmentCount, 2);
    await h.log.close();
  });

  it('cleans in several passes when the offset map (log.cleaner.dedupe.buffer.size) is small', async () => {
    const h = await harness({}, { 'log.cleaner.dedupe.buffer.size': String(24 * 12), 'log.cleaner.io.buffer.load.factor': '1' });
    updates(h.log, 300, 40);
    const activeBase = h.log.segmentBaseOffsets().at(-1)!;
    let passes = 0;
    while (passes < 50) {
      const r = h.cleaner.cleanableRange(h.log);
      if (r.cleanableBytes === 0) break;
      const s = await h.cleaner.clean(h.log);
      assert.ok(s && s.keysMapped <= 12);
      passes++;
    }
    assert.ok(passes > 1, `passes ${passes}`);
    const cleaned = records(h.log).filter((r) => r.offset < activeBase);
    const last = new Map<string, number>();
    for (let i = 0; i < activeBase; i++) last.set(`k${i % 40}`, i);
    assert.deepEqual(cleaned.map((r) => r.offset), [...last.values()].sort((a, b) => a - b));
    await h.log.close();
  });

  it("keeps a producer's last batch (empty) so its sequence state survives a recovery replay", async () => {
    const h = await harness();
    append(h.log, kv([['a', '1']], { producerId: 7n, seq: 0 })); // 0
    for (let i = 0; i < 20; i++) append(h.log, kv([['a', `${i + 2}`]], { ts: T0 + 10 + i }));
    await h.cleaner.clean(h.log);
    const first = decodeRecordBatch(h.log.read(0, 1 << 20, true));
    assert.equal(first.header.producerId, 7n);
    assert.equal(first.records.length, 0, 'empty, but there');
    // Recovery from offset 0 (no snapshot) must still know producer 7's last sequence: a retry is a duplicate.
    await h.log.close();
    for (const n of fs.readdirSync(path.join(h.dir, 't-0'))) if (n.endsWith('.snapshot')) fs.rmSync(path.join(h.dir, 't-0', n));
    h.log = loadLog({ dir: path.join(h.dir, 't-0'), topic: 't', partition: 0, config: h.log.config, hadCleanShutdown: false, recoveryPoint: 0, logStartOffset: 0, now: () => h.clock.now }).log;
    const dup = h.log.append(kv([['a', '1']], { producerId: 7n, seq: 0 }), { leaderEpoch: 0 });
    assert.equal(dup.duplicate, true);
    assert.equal(dup.baseOffset, 0);
    await h.log.close();
  });

  /** Runs `work` while a 2 ms interval measures the longest the event loop was kept busy. */
  async function longestStall(work: () => Promise<unknown>): Promise<{ stall: number; ms: number }> {
    let stall = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const t = performance.now();
      stall = Math.max(stall, t - last);
      last = t;
    }, 2);
    const started = performance.now();
    await work();
    const ms = performance.now() - started;
    clearInterval(ticker);
    return { stall, ms };
  }

  it('throttles to log.cleaner.io.max.bytes.per.second', async () => {
    const h = await harness({ 'segment.bytes': '65536' }, { 'log.cleaner.io.max.bytes.per.second': '400000', 'log.cleaner.io.buffer.size': '16384' });
    for (let i = 0; i < 3000; i++) append(h.log, kv([[`k${i % 50}`, `value-${i}`.padEnd(60, '.')]]));
    h.log.roll();
    let stats: Awaited<ReturnType<LogCleaner['clean']>> = null;
    const { ms } = await longestStall(async () => (stats = await h.cleaner.clean(h.log)));
    assert.ok(stats);
    const read = (stats as { bytesRead: number }).bytesRead;
    assert.ok(read > 400_000, `${read} bytes read (map, then copy)`);
    assert.ok(ms >= (read / 400_000) * 1000 * 0.8, `${Math.round(ms)} ms for ${read} bytes at 400 kB/s`);
    await h.log.close();
  });

  it('cleans in slices: the event loop is never held for more than a small part of a pass', async () => {
    const h = await harness({ 'segment.bytes': '262144' }, { 'log.cleaner.io.buffer.size': '16384' });
    for (let i = 0; i < 60_000; i++) append(h.log, kv([[`k${i % 500}`, `value-${i}`.padEnd(40, '.')]]));
    h.log.roll();
    const { stall, ms } = await longestStall(() => h.cleaner.clean(h.log));
    if (process.env.SHOW_STALL) console.log({ stall, ms });
    assert.ok(stall < Math.max(80, ms / 3), `longest stall ${Math.round(stall)} ms in a ${Math.round(ms)} ms pass`);
    await h.log.close();
  });

  it('runs in the background, pauses (abandoning a pass) and resumes', async () => {
    const h = await harness({}, { 'log.cleaner.backoff.ms': '20' });
    updates(h.log, 200, 10);
    await h.cleaner.pause();
    h.cleaner.start();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.cleaner.passes, 0, 'paused: no pass');
    h.cleaner.resume();
    for (let i = 0; i < 100 && h.cleaner.passes === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(h.cleaner.passes > 0, 'resumed: cleaned in the background');
    assert.ok(h.cleaner.checkpointOf('t', 0)! > 0);
    await h.cleaner.stop();
    await h.log.close();
  });

  it('pause() abandons a pass in progress and removes its .cleaned files', async () => {
    const h = await harness({ 'segment.bytes': '65536' }, { 'log.cleaner.io.max.bytes.per.second': '100000', 'log.cleaner.io.buffer.size': '8192', 'log.cleaner.backoff.ms': '10' });
    for (let i = 0; i < 1000; i++) append(h.log, kv([[`k${i % 50}`, `value-${i}`.padEnd(60, '.')]]));
    h.log.roll();
    h.cleaner.start();
    await new Promise((r) => setTimeout(r, 300));
    await h.cleaner.pause();
    assert.equal(h.cleaner.passes, 0, 'the pass did not finish');
    assert.deepEqual(fs.readdirSync(path.join(h.dir, 't-0')).filter((n) => n.includes('.cleaned')), []);
    await h.cleaner.stop();
    await h.log.close();
  });

  it('abandons a pass whose segments were deleted meanwhile and removes its .cleaned files', async () => {
    const h: Harness = await harness({}, {}, (step) => {
      if (step === 'cleaned') h.log.deleteRecordsBefore(h.log.segmentBaseOffsets()[2]!);
    });
    updates(h.log, 100, 5);
    assert.equal(await h.cleaner.clean(h.log), null);
    assert.deepEqual(fs.readdirSync(path.join(h.dir, 't-0')).filter((n) => n.endsWith('.cleaned')), []);
    h.log.deleteRecordsBefore = () => h.log.logStartOffset; // no more interference
    assert.ok(await h.cleaner.cleanFilthiest(), 'not marked uncleanable: the next pass runs');
    await h.log.close();
  });

  for (const crashAfter of ['cleaned', 'swap', 'deleted', 'renamed'] as const) {
    it(`a crash after the "${crashAfter}" step of the swap recovers to a valid, complete log`, async () => {
      const crash = new Error('crash');
      const partDir = (): string => path.join(h.dir, 't-0');
      const h: Harness = await harness({}, {}, (step) => {
        if (step !== crashAfter) return;
        // A kill leaves the .cleaned files; the cleaner's own error path removes them, so keep copies.
        for (const n of fs.readdirSync(partDir())) if (n.endsWith('.cleaned')) fs.copyFileSync(path.join(partDir(), n), path.join(partDir(), n + '.bak'));
        throw crash;
      });
      updates(h.log, 120, 6);
      const before = records(h.log);
      const latest = new Map<string, Rec>();
      for (const r of before) latest.set(r.key!, r);
      await h.cleaner.clean(h.log); // the hook's throw stops it where a kill would
      for (const n of fs.readdirSync(partDir())) if (n.endsWith('.bak')) fs.renameSync(path.join(partDir(), n), path.join(partDir(), n.slice(0, -4)));
      if (crashAfter === 'cleaned') assert.ok(fs.readdirSync(partDir()).some((n) => n.endsWith('.log.cleaned')));
      // Simulate the kill: drop the in-memory log without closing it cleanly, then load from disk.
      h.log = loadLog({ dir: path.join(h.dir, 't-0'), topic: 't', partition: 0, config: h.log.config, hadCleanShutdown: false, recoveryPoint: 0, logStartOffset: 0, now: () => h.clock.now }).log;
      const after = records(h.log);
      const names = fs.readdirSync(path.join(h.dir, 't-0'));
      assert.deepEqual(names.filter((n) => /\.(cleaned|swap|deleted)$/.test(n)), []);
      // Valid: offsets increase, every record is one of the originals, every key's latest value is there.
      for (let i = 1; i < after.length; i++) assert.ok(after[i]!.offset > after[i - 1]!.offset);
      const original = new Map(before.map((r) => [r.offset, r]));
      for (const r of after) assert.deepEqual(r, original.get(r.offset));
      for (const r of latest.values()) assert.ok(after.some((a) => a.offset === r.offset), `latest of ${r.key} at ${r.offset}`);
      assert.equal(h.log.logEndOffset, 120);
      if (crashAfter !== 'cleaned') assert.ok(after.length < before.length, 'the committed swap took effect');
      else assert.equal(after.length, before.length, 'the uncommitted clean left the old segments');
      await h.log.close();
    });
  }
});

/** One pass regardless of the dirty ratio, including segments already clean (to apply horizons). */
async function forceClean(h: Harness): Promise<void> {
  append(h.log, kv([['pad', 'x']], { ts: h.clock.now }));
  h.log.roll();
  await h.cleaner.clean(h.log);
}
