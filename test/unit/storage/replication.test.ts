/** Storage for replication: leader epoch cache, follower appends, truncation, high watermark (docs/CLUSTER.md). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { readInt64 } from '../../../src/protocol/records/record-batch.js';
import { LEADER_EPOCH_CHECKPOINT_FILE, LeaderEpochCache } from '../../../src/storage/leader-epoch-cache.js';
import { parseTopicConfig } from '../../../src/storage/log-config.js';
import { loadLog } from '../../../src/storage/log-loader.js';
import { LogManager, RECOVERY_POINT_CHECKPOINT_FILE, REPLICATION_OFFSET_CHECKPOINT_FILE } from '../../../src/storage/log-manager.js';
import { UnexpectedAppendOffsetError, type Log } from '../../../src/storage/log.js';
import { CorruptRecordError } from '../../../src/storage/storage-error.js';
import { batch, batchRanges, decodeAll, openLog, readAll, tmpDir } from './storage-helpers.js';

/** Recent: producers whose last batch is older than producer.id.expiration.ms are dropped on load. */
const TS = Date.now() - 60_000;

/** An idempotent (optionally transactional) batch of n records from `pid` at `epoch`, first sequence `seq`. */
function idem(pid: bigint, seq: number, n = 2, opts: { epoch?: number; transactional?: boolean; pad?: number } = {}): Buffer {
  const records = Array.from({ length: n }, (_, i) => ({ key: null, value: `p${pid}-s${seq + i}`.padEnd(opts.pad ?? 60, '.'), timestamp: TS + seq + i }));
  return buildRecordBatch(records, { producerId: pid, producerEpoch: opts.epoch ?? 0, baseSequence: seq, transactional: opts.transactional ?? false });
}

const plain = (tag: string, n = 2): Buffer => batch(n, { tag, valueSize: 60, ts: (i) => TS + i });

/** Every segment's .log and .txnindex file contents by name. */
function segmentFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const n of fs.readdirSync(dir).sort()) if (n.endsWith('.log') || n.endsWith('.txnindex')) out.set(n, fs.readFileSync(path.join(dir, n)));
  return out;
}

/** Producer state in a comparable form. */
function producerStateOf(log: Log): unknown {
  const entries = [...log.producerState.activeProducers()].map((e) => ({ ...e, batches: e.batches.map((b) => ({ ...b })) }));
  entries.sort((a, b) => (a.producerId < b.producerId ? -1 : 1));
  return { entries, ongoing: log.producerState.ongoingTransactions(), lso: log.lastStableOffset };
}

/** Copies the leader's log to the follower batch group by batch group (maxBytes per fetch; 1 = one batch each). */
function replicate(leader: Log, follower: Log, maxBytes: number): number {
  let fetches = 0;
  while (follower.logEndOffset < leader.logEndOffset) {
    const chunk = leader.read(follower.logEndOffset, maxBytes, true);
    assert.ok(chunk.length > 0);
    const r = follower.appendAsFollower(chunk);
    const ranges = batchRanges(chunk);
    assert.deepEqual(r, { firstOffset: ranges[0]![0], lastOffset: ranges[ranges.length - 1]![1] });
    fetches++;
  }
  return fetches;
}

/** Every offset from the log start to the end is readable and lands in the batch holding it. */
function assertEveryOffsetReadable(log: Log): void {
  for (let o = log.logStartOffset; o < log.logEndOffset; o++) {
    const ranges = batchRanges(log.read(o, 1, true));
    assert.equal(ranges.length, 1, `read at ${o}`);
    assert.ok(ranges[0]![0] <= o && o <= ranges[0]![1], `offset ${o} in ${ranges[0]}`);
  }
  assert.equal(log.read(log.logEndOffset, 1000, true).length, 0);
}

describe('LeaderEpochCache', () => {
  it("answers endOffsetFor with Kafka's semantics", () => {
    const c = new LeaderEpochCache(null);
    assert.deepEqual(c.endOffsetFor(0, 30), { leaderEpoch: -1, endOffset: -1 }, 'empty cache');
    c.assign(1, 5);
    c.assign(3, 10);
    c.assign(5, 20);
    const table: Array<[number, number, number]> = [
      // requested, leaderEpoch, endOffset (log end 30)
      [5, 5, 30], // the latest epoch: the log end
      [4, 3, 20], // between epochs: the largest epoch <= requested, start of the next one
      [3, 3, 20],
      [2, 1, 10],
      [1, 1, 10],
      [0, 0, 5], // older than every epoch: the requested epoch and the earliest start offset
      [6, -1, -1], // newer than every epoch
      [-1, -1, -1], // UNDEFINED_EPOCH
    ];
    for (const [requested, leaderEpoch, endOffset] of table) {
      assert.deepEqual(c.endOffsetFor(requested, 30), { leaderEpoch, endOffset }, `epoch ${requested}`);
    }
    assert.equal(c.latestEpoch, 5);
    assert.equal(c.earliestEpoch, 1);
  });

  it('assigns only newer epochs, dropping entries at or after the new start; truncates from either end', () => {
    const c = new LeaderEpochCache(null, [{ epoch: 1, startOffset: 5 }, { epoch: 3, startOffset: 10 }, { epoch: 5, startOffset: 20 }]);
    assert.equal(c.assign(5, 25), false, 'same epoch');
    assert.equal(c.assign(2, 30), false, 'older epoch');
    assert.equal(c.assign(6, 15), true);
    assert.deepEqual(c.epochEntries(), [{ epoch: 1, startOffset: 5 }, { epoch: 3, startOffset: 10 }, { epoch: 6, startOffset: 15 }]);
    assert.throws(() => c.assign(-2, 0));

    c.truncateFromEnd(100);
    assert.equal(c.epochEntries().length, 3, 'nothing at or after 100');
    c.truncateFromEnd(15);
    assert.deepEqual(c.epochEntries(), [{ epoch: 1, startOffset: 5 }, { epoch: 3, startOffset: 10 }]);

    const d = new LeaderEpochCache(null, [{ epoch: 1, startOffset: 5 }, { epoch: 3, startOffset: 10 }, { epoch: 5, startOffset: 20 }]);
    d.truncateFromStart(3);
    assert.deepEqual(d.epochEntries()[0], { epoch: 1, startOffset: 5 }, 'below the first entry: unchanged');
    d.truncateFromStart(12);
    assert.deepEqual(d.epochEntries(), [{ epoch: 3, startOffset: 12 }, { epoch: 5, startOffset: 20 }]);
    d.truncateFromStart(20);
    assert.deepEqual(d.epochEntries(), [{ epoch: 5, startOffset: 20 }]);
    assert.deepEqual(d.endOffsetFor(4, 30), { leaderEpoch: 4, endOffset: 20 });
  });

  it("writes Kafka's text format atomically and reads it back; a malformed file reads as null", () => {
    const dir = tmpDir();
    const c = LeaderEpochCache.empty(dir);
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
    assert.ok(!fs.existsSync(file), 'nothing written before the first assign');
    c.assign(0, 0);
    c.assign(4, 17);
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n2\n0 0\n4 17\n');
    assert.ok(!fs.existsSync(file + '.tmp'));
    assert.deepEqual(LeaderEpochCache.load(dir)!.epochEntries(), c.epochEntries());
    c.clear();
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n0\n');
    for (const bad of ['1\n0\n', '0\n2\n0 0\n', '0\n1\nx 3\n', '0\n2\n3 10\n2 20\n', '0\n2\n1 10\n2 5\n']) {
      fs.writeFileSync(file, bad);
      assert.equal(LeaderEpochCache.load(dir), null, JSON.stringify(bad));
    }
  });
});

describe('Log leader epochs', () => {
  it('append assigns new epochs; a missing or stale checkpoint is rebuilt or cut on open', async () => {
    const dir = tmpDir();
    const log = openLog(dir, { overrides: { 'segment.bytes': '600' } });
    const epochs = [0, 0, 2, 2, 2, 5, 5];
    for (const [i, e] of epochs.entries()) log.append(plain(`b${i}`), { leaderEpoch: e });
    assert.ok(log.segmentCount > 2);
    const expected = [{ epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 4 }, { epoch: 5, startOffset: 10 }];
    assert.deepEqual(log.leaderEpochCache.epochEntries(), expected);
    assert.equal(log.latestEpoch, 5);
    assert.deepEqual(log.endOffsetForEpoch(2), { leaderEpoch: 2, endOffset: 10 });
    assert.deepEqual(log.endOffsetForEpoch(5), { leaderEpoch: 5, endOffset: 14 });
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n3\n0 0\n2 4\n5 10\n');
    // Becoming leader at epoch 6 before any append: epoch 5 ends here; a marker carries epoch 6.
    log.assignLeaderEpoch(6);
    log.assignLeaderEpoch(6);
    assert.deepEqual(log.endOffsetForEpoch(5), { leaderEpoch: 5, endOffset: 14 });
    assert.deepEqual(log.endOffsetForEpoch(6), { leaderEpoch: 6, endOffset: 14 });
    log.writeTxnMarker({ producerId: 1n, producerEpoch: 0, coordinatorEpoch: 0, commit: true, timestamp: TS });
    assert.equal(log.read(14, 1000, true).readInt32BE(12), 6, 'partitionLeaderEpoch of the marker');
    await log.truncateTo(14);
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n3\n0 0\n2 4\n5 10\n', 'epoch 6 started at the new end: dropped');
    await log.close();

    fs.rmSync(file);
    const open = (): { log: Log; rebuilt: number } => {
      const r = loadLog({ dir, topic: 't', partition: 0, config: parseTopicConfig({ 'segment.bytes': '600' }), hadCleanShutdown: true, recoveryPoint: 0, logStartOffset: 0, now: Date.now });
      return { log: r.log, rebuilt: r.stats.leaderEpochCachesRebuilt };
    };
    const a = open();
    assert.equal(a.rebuilt, 1);
    assert.deepEqual(a.log.leaderEpochCache.epochEntries(), expected);
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n3\n0 0\n2 4\n5 10\n', 'written back');
    await a.log.close();

    // An epoch starting beyond the log end (written just before a crash lost the data) is dropped.
    fs.writeFileSync(file, '0\n4\n0 0\n2 4\n5 10\n7 14\n');
    const b = open();
    assert.equal(b.rebuilt, 0);
    assert.deepEqual(b.log.leaderEpochCache.epochEntries(), expected);
    await b.log.close();
  });

  it('a new log writes nothing until its first append; a single node writes one "0 0" entry once', async () => {
    const dir = tmpDir();
    const log = openLog(dir);
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
    assert.ok(!fs.existsSync(file));
    log.append(plain('a'), { leaderEpoch: 0 });
    const stat = fs.statSync(file);
    log.append(plain('b'), { leaderEpoch: 0 });
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n1\n0 0\n');
    assert.equal(fs.statSync(file).ino, stat.ino, 'not rewritten');
    await log.close();
  });
});

/** A leader log with plain, idempotent and transactional batches (one aborted, one committed, one ongoing), three epochs. */
function buildLeader(dir: string): Log {
  const leader = openLog(dir, { overrides: { 'segment.bytes': '900' } });
  leader.append(plain('a'), { leaderEpoch: 0 });
  leader.append(idem(7n, 0), { leaderEpoch: 0 });
  leader.append(idem(7n, 2), { leaderEpoch: 0 });
  leader.append(idem(9n, 0, 2, { transactional: true }), { leaderEpoch: 1 });
  leader.append(plain('b'), { leaderEpoch: 1 });
  leader.writeTxnMarker({ producerId: 9n, producerEpoch: 0, coordinatorEpoch: 3, commit: false, timestamp: TS });
  leader.append(idem(9n, 2, 2, { transactional: true }), { leaderEpoch: 1 });
  leader.writeTxnMarker({ producerId: 9n, producerEpoch: 0, coordinatorEpoch: 3, commit: true, timestamp: TS });
  for (let i = 0; i < 4; i++) leader.append(idem(7n, 4 + 2 * i), { leaderEpoch: 4 });
  leader.append(idem(11n, 0, 3, { transactional: true }), { leaderEpoch: 4 });
  leader.append(plain('c'), { leaderEpoch: 4 });
  return leader;
}

describe('Log.appendAsFollower', () => {
  it('keeps offsets, epochs and bytes; the follower answers producer state and aborted transactions as the leader does', async () => {
    const leaderDir = tmpDir();
    const leader = buildLeader(leaderDir);
    assert.ok(leader.segmentCount >= 3);
    const followerDir = tmpDir();
    const follower = openLog(followerDir, { overrides: { 'segment.bytes': '900' } });
    let woken = 0;
    follower.onAppend(() => woken++);
    const fetches = replicate(leader, follower, 1);
    assert.equal(woken, fetches);

    assert.equal(follower.logEndOffset, leader.logEndOffset);
    assert.deepEqual(follower.segmentBaseOffsets(), leader.segmentBaseOffsets());
    assert.deepEqual(segmentFiles(followerDir), segmentFiles(leaderDir), 'byte-identical segments and transaction indexes');
    assert.deepEqual(follower.leaderEpochCache.epochEntries(), leader.leaderEpochCache.epochEntries());
    assert.deepEqual(follower.leaderEpochCache.epochEntries().map((e) => e.epoch), [0, 1, 4]);
    assert.deepEqual(producerStateOf(follower), producerStateOf(leader));
    assert.equal(follower.lastStableOffset, leader.logEndOffset - 5, 'producer 11 transaction still open');
    assert.deepEqual(follower.abortedTransactions(0, follower.lastStableOffset), [{ producerId: 9n, firstOffset: 6 }]);
    assert.deepEqual(follower.abortedTransactions(0, follower.lastStableOffset), leader.abortedTransactions(0, leader.lastStableOffset));
    // The same dedup answer: a retried batch maps to its original offsets on both.
    for (const [pid, seq] of [[7n, 10], [7n, 8], [9n, 2]] as const) {
      assert.deepEqual(follower.producerState.check(pid, 0, seq, seq + 1, pid === 9n), leader.producerState.check(pid, 0, seq, seq + 1, pid === 9n));
      assert.ok(follower.producerState.check(pid, 0, seq, seq + 1, pid === 9n), `duplicate of ${pid}/${seq} recognised`);
    }

    // A follower that fetches several batches at a time ends byte-identical too (its segments may roll elsewhere).
    const other = openLog(tmpDir(), { overrides: { 'segment.bytes': '900' } });
    replicate(leader, other, 700);
    const concat = (l: Log): Buffer => Buffer.concat(l.segmentList().map((s) => fs.readFileSync(s.logPath)));
    assert.deepEqual(concat(other), concat(leader));
    assert.deepEqual(producerStateOf(other), producerStateOf(leader));
    assert.deepEqual(other.abortedTransactions(0, other.lastStableOffset), leader.abortedTransactions(0, leader.lastStableOffset));

    // After a restart the follower's state is the same (snapshots, epoch checkpoint, txn indexes).
    await follower.close();
    const reopened = openLog(followerDir, { overrides: { 'segment.bytes': '900' } });
    assert.deepEqual(producerStateOf(reopened), producerStateOf(leader));
    assert.deepEqual(reopened.leaderEpochCache.epochEntries(), leader.leaderEpochCache.epochEntries());
    assertEveryOffsetReadable(reopened);
    await Promise.all([reopened.close(), leader.close(), other.close()]);
  });

  it('refuses batches not starting at the log end, out-of-order offsets and bad CRCs, changing nothing', async () => {
    const leader = openLog(tmpDir());
    for (let i = 0; i < 3; i++) leader.append(plain(`x${i}`), { leaderEpoch: 2 });
    const all = leader.read(0, 1 << 20, true);
    const follower = openLog(tmpDir());
    assert.throws(() => follower.appendAsFollower(leader.read(2, 1 << 20, true)), (err: unknown) => err instanceof UnexpectedAppendOffsetError && err.firstOffset === 2 && err.expectedOffset === 0 && /log end offset is 0/.test(err.message));
    const swapped = Buffer.concat([all.subarray(0, all.length / 3), all.subarray((2 * all.length) / 3), all.subarray(all.length / 3, (2 * all.length) / 3)]);
    assert.throws(() => follower.appendAsFollower(swapped), CorruptRecordError);
    const corrupt = Buffer.from(all);
    corrupt[corrupt.length - 1] ^= 0xff;
    assert.throws(() => follower.appendAsFollower(corrupt), CorruptRecordError);
    assert.equal(follower.logEndOffset, 0);
    assert.equal(follower.size(), 0);
    assert.equal(follower.latestEpoch, -1);
    follower.appendAsFollower(all);
    assert.equal(follower.logEndOffset, 6);
    assert.equal(readInt64(follower.read(4, 100, true), 0), 4);
    assert.equal(follower.latestEpoch, 2);
    await Promise.all([leader.close(), follower.close()]);
  });
});

const TOPIC = { name: 't', partitions: 1, config: { 'segment.bytes': '700' } };

async function openManager(dataDir: string, replicated = false): Promise<LogManager> {
  const m = new LogManager({ dataDir, brokerDefaults: {}, replicated });
  await m.load(fs.existsSync(path.join(dataDir, 't-0')) ? [TOPIC] : []);
  if (!m.getLog('t', 0)) m.createLog('t', 0, TOPIC.config);
  return m;
}

/** 15 idempotent batches of 2 records from producer 1 (sequences 0..29), epoch 1 for the first 8, then 3. */
function fillIdempotent(log: Log): void {
  for (let i = 0; i < 15; i++) log.append(idem(1n, 2 * i), { leaderEpoch: i < 8 ? 1 : 3 });
}

const snapshotOffsets = (dir: string): number[] => fs.readdirSync(dir).filter((n) => n.endsWith('.snapshot')).map((n) => Number(n.slice(0, 20))).sort((a, b) => a - b);

describe('Log.truncateTo', () => {
  for (const where of ['mid-segment', 'segment boundary', 'mid-batch'] as const) {
    it(`at a ${where}: indexes, producer state and epochs follow; appends and a restart continue right`, async () => {
      const dataDir = tmpDir();
      let m = await openManager(dataDir);
      let log = m.getLog('t', 0)!;
      fillIdempotent(log);
      await log.flush();
      const bases = log.segmentBaseOffsets();
      assert.ok(bases.length >= 4, `${bases}`);
      const target = where === 'segment boundary' ? bases[2]! : where === 'mid-segment' ? bases[1]! + 2 : bases[1]! + 3;
      const expectedEnd = where === 'mid-batch' ? target - 1 : target; // a batch holding the offset goes whole
      await log.truncateTo(target);
      assert.equal(log.logEndOffset, expectedEnd);
      assert.deepEqual(log.segmentBaseOffsets(), bases.filter((b) => b <= target));
      assert.ok(log.recoveryPoint <= expectedEnd);
      assert.ok(snapshotOffsets(log.dir).every((o) => o <= expectedEnd), `${snapshotOffsets(log.dir)}`);
      assertEveryOffsetReadable(log);
      assert.equal(readAll(log).length, expectedEnd);
      assert.equal(fs.readdirSync(log.dir).filter((n) => n.endsWith('.log')).length, log.segmentCount + fs.readdirSync(log.dir).filter((n) => n.endsWith('.log.deleted')).length);
      // Epoch 3 started at offset 16: gone when truncated below it.
      assert.deepEqual(log.leaderEpochCache.epochEntries(), expectedEnd > 16 ? [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 16 }] : [{ epoch: 1, startOffset: 0 }]);
      // Producer state: the last surviving batch is the producer's last; the first truncated sequence is accepted again.
      const lastSeq = expectedEnd - 1;
      assert.equal(log.producerState.entry(1n)!.batches.at(-1)!.lastSeq, lastSeq);
      assert.equal(log.producerState.check(1n, 0, expectedEnd, expectedEnd + 1), null);
      const again = log.append(idem(1n, expectedEnd), { leaderEpoch: 5 });
      assert.equal(again.duplicate, undefined);
      assert.equal(again.baseOffset, expectedEnd);
      assert.equal(log.append(idem(1n, expectedEnd), { leaderEpoch: 5 }).duplicate, true, 'and deduplicated afterwards');
      for (let s = expectedEnd + 2; s < expectedEnd + 12; s += 2) log.append(idem(1n, s), { leaderEpoch: 5 });
      const end = expectedEnd + 12;
      assert.equal(log.logEndOffset, end);
      assert.equal(log.latestEpoch, 5);
      const values = readAll(log).map((r) => r.value.replace(/\.+$/, ''));
      await m.close();

      m = await openManager(dataDir);
      log = m.getLog('t', 0)!;
      assert.equal(m.loadStats.segmentsRecovered, 0);
      assert.equal(log.logEndOffset, end);
      assert.deepEqual(readAll(log).map((r) => r.value.replace(/\.+$/, '')), values);
      assert.deepEqual(values.slice(0, end), Array.from({ length: end }, (_, i) => `p1-s${i}`));
      assertEveryOffsetReadable(log);
      assert.equal(log.producerState.check(1n, 0, end - 2, end - 1)!.firstOffset, end - 2);
      assert.deepEqual(log.endOffsetForEpoch(5), { leaderEpoch: 5, endOffset: end });
      assert.deepEqual(log.endOffsetForEpoch(4), { leaderEpoch: expectedEnd > 16 ? 3 : 1, endOffset: expectedEnd });
      await m.close();
    });
  }

  it('is durable: a crash right after it (recovery point checkpoint lowered) recovers the truncated log', async () => {
    const dataDir = tmpDir();
    const m = await openManager(dataDir);
    const log = m.getLog('t', 0)!;
    fillIdempotent(log);
    await log.flush();
    await m.checkpointRecoveryPoints();
    await log.truncateTo(10);
    assert.equal(fs.readFileSync(path.join(dataDir, RECOVERY_POINT_CHECKPOINT_FILE), 'utf8'), '0\n1\nt 0 10\n');
    for (let i = 0; i < 3; i++) log.appendAsFollower(buildRecordBatch([{ value: `f${i}`, timestamp: TS }], { baseOffset: 10 + i, partitionLeaderEpoch: 6 }));
    await log.flush();
    const image = tmpDir();
    fs.cpSync(dataDir, image, { recursive: true });
    for (const n of fs.readdirSync(path.join(image, 't-0'))) if (n.endsWith('.deleted')) fs.rmSync(path.join(image, 't-0', n));
    const r = await openManager(image);
    const l = r.getLog('t', 0)!;
    assert.equal(r.hadCleanShutdown, false);
    assert.equal(l.logEndOffset, 13);
    assert.deepEqual(readAll(l).slice(9).map((x) => x.value.replace(/\.+$/, '')), ['p1-s9', 'f0', 'f1', 'f2']);
    assert.deepEqual(l.leaderEpochCache.epochEntries(), [{ epoch: 1, startOffset: 0 }, { epoch: 6, startOffset: 10 }]);
    assert.equal(l.producerState.entry(1n)!.batches.at(-1)!.lastSeq, 9);
    await Promise.all([r.close(), m.close()]);
  });

  it('below every segment restarts the log empty there (truncateFullyAndStartAt)', async () => {
    const dataDir = tmpDir();
    let m = await openManager(dataDir);
    let log = m.getLog('t', 0)!;
    fillIdempotent(log);
    const bases = log.segmentBaseOffsets();
    log.deleteRecordsBefore(bases[2]!);
    assert.equal(log.segmentBaseOffsets()[0], bases[2]);
    assert.deepEqual(log.leaderEpochCache.epochEntries()[0], { epoch: 1, startOffset: bases[2] }, 'clamped to the log start');
    const target = bases[2]! - 3;
    await log.truncateTo(target);
    assert.equal(log.logStartOffset, target);
    assert.equal(log.logEndOffset, target);
    assert.deepEqual(log.segmentBaseOffsets(), [target]);
    assert.equal(log.latestEpoch, -1);
    assert.equal(log.producerState.producerCount, 0);
    assert.deepEqual(snapshotOffsets(log.dir), []);
    assert.equal(log.append(idem(1n, 40), { leaderEpoch: 7 }).baseOffset, target);
    await m.close();
    assert.deepEqual(fs.readdirSync(log.dir).filter((n) => n.includes('.log')), [`${String(target).padStart(20, '0')}.log`]);

    m = await openManager(dataDir);
    log = m.getLog('t', 0)!;
    assert.equal(log.logStartOffset, target);
    assert.equal(log.logEndOffset, target + 2);
    assert.deepEqual(log.leaderEpochCache.epochEntries(), [{ epoch: 7, startOffset: target }]);
    assertEveryOffsetReadable(log);
    // And truncateFullyAndStartAt above the log end (a follower far behind a leader whose log start moved).
    await log.truncateFullyAndStartAt(100);
    log.append(plain('z'), { leaderEpoch: 8 });
    assert.deepEqual([log.logStartOffset, log.logEndOffset], [100, 102]);
    await m.close();
    m = await openManager(dataDir);
    assert.deepEqual([m.getLog('t', 0)!.logStartOffset, m.getLog('t', 0)!.logEndOffset], [100, 102]);
    await m.close();
  });
});

describe('High watermark', () => {
  it('a non-replicated log keeps HW = log end and writes no replication-offset-checkpoint', async () => {
    const dataDir = tmpDir();
    const m = await openManager(dataDir);
    const log = m.getLog('t', 0)!;
    log.append(plain('a'), { leaderEpoch: 0 });
    assert.equal(log.isReplicated, false);
    assert.equal(log.highWatermark, 2);
    assert.equal(log.updateHighWatermark(1), 2, 'ignored');
    assert.equal(log.highWatermark, 2);
    assert.equal(log.lastStableOffset, 2);
    await m.close();
    assert.ok(!fs.existsSync(path.join(dataDir, REPLICATION_OFFSET_CHECKPOINT_FILE)));
  });

  it('a replicated log has an explicit HW: clamped, monotonic for the leader, wakes listeners, checkpointed and restored', async () => {
    const dataDir = tmpDir();
    let m = await openManager(dataDir, true);
    let log = m.getLog('t', 0)!;
    for (let i = 0; i < 5; i++) log.append(plain(`a${i}`), { leaderEpoch: 0 });
    assert.equal(log.isReplicated, true);
    assert.equal(log.logEndOffset, 10);
    assert.equal(log.highWatermark, 0, 'a new replicated log');
    assert.equal(log.lastStableOffset, 0);
    let woken = 0;
    log.onAppend(() => woken++);
    assert.equal(log.maybeIncrementHighWatermark(6), true);
    assert.equal(woken, 1);
    assert.equal(log.maybeIncrementHighWatermark(4), false, 'the leader never moves it back');
    assert.equal(log.updateHighWatermark(6), 6);
    assert.equal(woken, 1, 'unchanged: nobody woken');
    assert.equal(log.updateHighWatermark(4), 4, 'a follower takes its leader’s');
    assert.equal(log.updateHighWatermark(50), 10, 'clamped to the log end');
    assert.equal(woken, 3);
    log.updateHighWatermark(6);
    // The LSO is bounded by the HW; read_committed sees an ongoing transaction below it.
    log.append(idem(3n, 0, 2, { transactional: true }), { leaderEpoch: 0 }); // 10-11
    assert.equal(log.lastStableOffset, 6);
    log.updateHighWatermark(12);
    assert.equal(log.lastStableOffset, 10);
    log.writeTxnMarker({ producerId: 3n, producerEpoch: 0, coordinatorEpoch: 0, commit: true, timestamp: TS }); // 12
    assert.equal(log.lastStableOffset, 12);
    // DeleteRecords(-1) means the HW; retention never deletes above it.
    assert.equal(log.deleteRecordsBefore(-1), 12);
    assert.throws(() => log.deleteRecordsBefore(13));
    log.updateHighWatermark(8);
    assert.equal(log.highWatermark, 12, 'never below the log start offset');
    await m.close();
    assert.equal(fs.readFileSync(path.join(dataDir, REPLICATION_OFFSET_CHECKPOINT_FILE), 'utf8'), '0\n1\nt 0 12\n');

    m = await openManager(dataDir, true);
    log = m.getLog('t', 0)!;
    assert.equal(log.highWatermark, 12);
    await log.truncateTo(log.logEndOffset); // no-op
    assert.equal(log.logEndOffset, 13);
    await m.close();

    // A checkpointed HW beyond what the log holds is clamped; a periodic checkpoint writes it too.
    fs.writeFileSync(path.join(dataDir, REPLICATION_OFFSET_CHECKPOINT_FILE), '0\n1\nt 0 1000\n');
    m = await openManager(dataDir, true);
    log = m.getLog('t', 0)!;
    assert.equal(log.highWatermark, 13);
    await m.checkpointRecoveryPoints();
    assert.equal(fs.readFileSync(path.join(dataDir, REPLICATION_OFFSET_CHECKPOINT_FILE), 'utf8'), '0\n1\nt 0 13\n');
    await m.close();
  });

  it('enableReplication on a running log freezes the HW at the log end; a restored HW waits for it', async () => {
    const dataDir = tmpDir();
    let m = await openManager(dataDir);
    let log = m.getLog('t', 0)!;
    log.append(plain('a'), { leaderEpoch: 0 });
    log.enableReplication();
    log.append(plain('b'), { leaderEpoch: 0 });
    assert.deepEqual([log.highWatermark, log.logEndOffset], [2, 4]);
    await log.truncateTo(1);
    assert.deepEqual([log.highWatermark, log.logEndOffset], [0, 0], 'HW follows the truncation (the batch at 0-1 went whole)');
    for (let i = 0; i < 3; i++) log.append(plain(`c${i}`), { leaderEpoch: 1 });
    log.updateHighWatermark(4);
    await m.close();
    // Not replicated at open: the checkpointed HW is kept (and re-checkpointed) until enableReplication().
    m = await openManager(dataDir);
    log = m.getLog('t', 0)!;
    assert.equal(log.highWatermark, 6);
    await m.checkpointRecoveryPoints();
    assert.equal(fs.readFileSync(path.join(dataDir, REPLICATION_OFFSET_CHECKPOINT_FILE), 'utf8'), '0\n1\nt 0 4\n');
    log.enableReplication();
    assert.equal(log.highWatermark, 4);
    await m.close();
  });
});

describe('Truncation and the log cleaner', () => {
  const COMPACT = { name: 'c', partitions: 1, config: { 'segment.bytes': '400', 'cleanup.policy': 'compact' } };
  /** Unique keys for the first 10 records (they survive cleaning), then three keys over and over. */
  const keyed = (i: number): Buffer => buildRecordBatch([{ key: i < 10 ? `u${i}` : `k${i % 3}`, value: `v${i}`.padEnd(40, '.'), timestamp: TS + i }]);

  it('abandons a pass in progress and moves a first dirty offset beyond the new end back', async () => {
    const dataDir = tmpDir();
    const m = new LogManager({ dataDir, brokerDefaults: {} });
    await m.load([]);
    const log = m.createLog(COMPACT.name, 0, COMPACT.config);
    for (let i = 0; i < 30; i++) log.append(keyed(i), { leaderEpoch: 0 });
    assert.ok((await m.cleaner.clean(log)) !== null);
    const firstDirty = m.cleaner.checkpointOf('c', 0)!;
    assert.ok(firstDirty > 20, `${firstDirty}`);
    for (let i = 30; i < 60; i++) log.append(keyed(i), { leaderEpoch: 0 });

    const pass = m.cleaner.clean(log);
    await log.truncateTo(15);
    assert.equal(await pass, null, 'abandoned');
    assert.equal(log.logEndOffset, 15);
    assert.equal(m.cleaner.checkpointOf('c', 0), 15);
    assert.equal(fs.readFileSync(path.join(dataDir, 'cleaner-offset-checkpoint'), 'utf8'), '0\n1\nc 0 15\n');
    const offsets: number[] = [];
    for (let o = 0, buf = log.read(0, 1 << 20, true); buf.length > 0; buf = log.read(o, 1 << 20, true)) {
      for (const r of decodeAll(buf)) offsets.push(r.offset);
      o = offsets[offsets.length - 1]! + 1;
    }
    assert.deepEqual(offsets, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'the records below the truncation that cleaning kept');
    await m.close();
  });
});

describe('Replicated log edges', () => {
  it('retention deletes no segment above the high watermark', async () => {
    const log = openLog(tmpDir(), { overrides: { 'segment.bytes': '400', 'retention.bytes': '1' } });
    log.enableReplication(0);
    for (let i = 0; i < 10; i++) log.append(plain(`r${i}`), { leaderEpoch: 0 });
    const bases = log.segmentBaseOffsets();
    assert.ok(bases.length >= 4);
    assert.equal(log.applyRetention(Date.now()), 0, 'HW 0: nothing is committed');
    log.updateHighWatermark(bases[2]!);
    assert.equal(log.applyRetention(Date.now()), 2);
    assert.equal(log.logStartOffset, bases[2]);
    assert.deepEqual(log.leaderEpochCache.epochEntries(), [{ epoch: 0, startOffset: bases[2] }]);
    log.updateHighWatermark(log.logEndOffset);
    assert.equal(log.applyRetention(Date.now()), bases.length - 3, 'all but the active one');
    await log.close();
  });

  it('a flush in flight during a truncation does not move the recovery point past the new end', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let syncs = 0;
    const log = openLog(tmpDir(), {
      overrides: { 'segment.bytes': '400' },
      fdatasync: async () => {
        syncs++;
        await gate;
      },
    });
    for (let i = 0; i < 10; i++) log.append(plain(`f${i}`), { leaderEpoch: 0 });
    const flushed = log.flush();
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.ok(syncs > 0, 'the first fdatasync is in flight');
    const truncated = log.truncateTo(4);
    assert.equal(log.logEndOffset, 4, 'in memory at once');
    release();
    await Promise.all([flushed, truncated]);
    assert.equal(log.recoveryPoint, 4);
    assert.equal(log.isDirty, false);
    assertEveryOffsetReadable(log);
    await log.close();
  });
});
