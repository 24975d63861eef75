import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTopicConfig } from '../../../src/storage/log-config.js';
import { loadLog, type LoadStats } from '../../../src/storage/log-loader.js';
import type { Log } from '../../../src/storage/log.js';
import { batch, logFiles, openLog, readAll, tmpDir } from './storage-helpers.js';

const OVERRIDES = { 'segment.bytes': '1500', 'index.interval.bytes': '200' };

function reopen(dir: string, opts: { clean: boolean; recoveryPoint?: number; logStartOffset?: number }): { log: Log; stats: LoadStats } {
  return loadLog({
    dir,
    topic: 't',
    partition: 0,
    config: parseTopicConfig(OVERRIDES),
    hadCleanShutdown: opts.clean,
    recoveryPoint: opts.recoveryPoint ?? 0,
    logStartOffset: opts.logStartOffset ?? 0,
    now: Date.now,
  });
}

/** A closed log of `batches` 3-record batches over several segments; returns per-batch base offsets and positions. */
async function writeLog(dir: string, batches = 24): Promise<{ values: string[]; batchBases: number[]; segmentBases: number[] }> {
  const log = openLog(dir, { overrides: OVERRIDES });
  const values: string[] = [];
  const batchBases: number[] = [];
  for (let b = 0; b < batches; b++) {
    batchBases.push(log.append(batch(3, { tag: `b${b}`, valueSize: 100, ts: (i) => 1000 + b * 10 + i }), { leaderEpoch: 0 }).baseOffset);
    for (let i = 0; i < 3; i++) values.push(`b${b}-${i}`.padEnd(100, '.'));
  }
  const segmentBases = log.segmentBaseOffsets();
  if (batches >= 24) assert.ok(segmentBases.length >= 5, `${segmentBases.length} segments`);
  await log.close();
  return { values, batchBases, segmentBases };
}

/** Byte position of the batch with base offset `base` inside its segment file. */
function positionOf(file: string, base: number): number {
  const buf = fs.readFileSync(file);
  for (let pos = 0; pos < buf.length; pos += buf.readInt32BE(pos + 8) + 12) {
    if (Number(buf.readBigInt64BE(pos)) === base) return pos;
  }
  throw new Error(`no batch ${base} in ${file}`);
}

function flipByte(file: string, position: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, position);
  b[0] = b[0]! ^ 0x5a;
  fs.writeSync(fd, b, 0, 1, position);
  fs.closeSync(fd);
}

describe('log loader', () => {
  it('unclean restart: junk after the last batch is cut off and appends continue at the right offset', async () => {
    const dir = tmpDir();
    const { values } = await writeLog(dir);
    const newest = logFiles(dir).at(-1)!;
    fs.appendFileSync(newest, Buffer.from('this is not a record batch, just bytes a crash left behind'));
    fs.appendFileSync(newest, Buffer.alloc(4096)); // and a zero-filled block
    const { log, stats } = reopen(dir, { clean: false });
    assert.equal(stats.bytesTruncated, 58 + 4096);
    assert.equal(log.logEndOffset, values.length);
    assert.deepEqual(readAll(log).map((r) => r.value), values);
    assert.equal(log.append(batch(2, { tag: 'after' }), { leaderEpoch: 1 }).baseOffset, values.length);
    await log.close();
    const again = reopen(dir, { clean: false });
    assert.equal(again.stats.bytesTruncated, 0);
    assert.deepEqual(readAll(again.log).slice(-2).map((r) => [r.offset, r.value]), [[values.length, 'after-0'], [values.length + 1, 'after-1']]);
    await again.log.close();
  });

  it('unclean restart: a torn batch in the middle of the newest segment truncates the log there', async () => {
    const dir = tmpDir();
    const { values, batchBases, segmentBases } = await writeLog(dir);
    const newest = logFiles(dir).at(-1)!;
    const inNewest = batchBases.filter((b) => b >= segmentBases.at(-1)!);
    assert.ok(inNewest.length >= 2);
    const torn = inNewest[1]!;
    fs.truncateSync(newest, positionOf(newest, torn) + 40); // half a header of the second batch
    const { log, stats } = reopen(dir, { clean: false });
    assert.equal(stats.bytesTruncated, 40);
    assert.equal(log.logEndOffset, torn);
    assert.deepEqual(readAll(log).map((r) => r.value), values.slice(0, torn));
    await log.close();

    // Same with a corrupted (not truncated) batch followed by good ones: everything from it on goes.
    const dir2 = tmpDir();
    const w = await writeLog(dir2);
    const newest2 = logFiles(dir2).at(-1)!;
    const bad = w.batchBases.filter((b) => b >= w.segmentBases.at(-1)!)[1]!;
    flipByte(newest2, positionOf(newest2, bad) + 80);
    const r = reopen(dir2, { clean: false });
    assert.equal(r.log.logEndOffset, bad);
    assert.ok(r.stats.bytesTruncated > 0);
    await r.log.close();
  });

  it('unclean restart: a bad CRC in an older segment past the recovery point truncates there and drops later segments', async () => {
    const dir = tmpDir();
    const { values, batchBases, segmentBases } = await writeLog(dir);
    const files = logFiles(dir);
    const victimSegment = 2;
    const victim = batchBases.filter((b) => b >= segmentBases[victimSegment]! && b < segmentBases[victimSegment + 1]!)[1]!;
    flipByte(files[victimSegment]!, positionOf(files[victimSegment]!, victim) + 70);
    const { log, stats } = reopen(dir, { clean: false, recoveryPoint: segmentBases[1]! + 1 });
    assert.equal(stats.segmentsRecovered, 2); // segment 1 (holds the recovery point) and 2 (corrupt); 3.. deleted
    assert.equal(stats.segmentsDeleted, segmentBases.length - 3);
    assert.equal(log.logEndOffset, victim);
    assert.deepEqual(log.segmentBaseOffsets(), segmentBases.slice(0, 3));
    assert.equal(logFiles(dir).length, 3);
    assert.deepEqual(readAll(log).map((r) => r.value), values.slice(0, victim));
    assert.equal(log.append(batch(1), { leaderEpoch: 0 }).baseOffset, victim);
    await log.close();
  });

  it('trusts segments below the recovery point (they are not scanned)', async () => {
    const dir = tmpDir();
    const { batchBases, segmentBases } = await writeLog(dir);
    const files = logFiles(dir);
    // Damage a record's payload in segment 0: only a full scan would notice.
    flipByte(files[0]!, positionOf(files[0]!, batchBases[1]!) + 80);
    const rp = segmentBases.at(-2)! + 1;
    const { log, stats } = reopen(dir, { clean: false, recoveryPoint: rp });
    assert.equal(stats.segmentsRecovered, 2);
    assert.equal(stats.bytesTruncated, 0);
    assert.equal(log.logEndOffset, batchBases.length * 3);
    await log.close();
  });

  it('clean restart skips recovery but still notices a bad tail in the newest segment', async () => {
    const dir = tmpDir();
    const { values } = await writeLog(dir);
    const clean = reopen(dir, { clean: true });
    assert.equal(clean.stats.segmentsRecovered, 0);
    assert.deepEqual(readAll(clean.log).map((r) => r.value), values);
    // The reloaded state answers time queries like the original.
    assert.deepEqual(clean.log.offsetForTimestamp(1000 + 5 * 10 + 1), { offset: 16, timestamp: 1051 });
    assert.deepEqual(clean.log.offsetOfMaxTimestamp(), { offset: values.length - 1, timestamp: 1000 + 23 * 10 + 2 });
    await clean.log.close();
    fs.appendFileSync(logFiles(dir).at(-1)!, Buffer.alloc(100, 1));
    const dirty = reopen(dir, { clean: true });
    assert.equal(dirty.stats.segmentsRecovered, 1);
    assert.equal(dirty.stats.bytesTruncated, 100);
    await dirty.log.close();
  });

  it('rebuilds missing or inconsistent indexes and removes leftovers', async () => {
    const dir = tmpDir();
    const { values, segmentBases } = await writeLog(dir);
    const name = (base: number, suffix: string): string => path.join(dir, String(base).padStart(20, '0') + suffix);
    fs.rmSync(name(segmentBases[0]!, '.index'));
    fs.writeFileSync(name(segmentBases[1]!, '.index'), Buffer.alloc(16)); // two zero entries: not increasing
    fs.writeFileSync(name(99999, '.timeindex'), Buffer.alloc(12)); // orphan
    fs.writeFileSync(name(88888, '.log.deleted'), 'old');
    const { log, stats } = reopen(dir, { clean: true });
    // The missing index is rebuilt at load; the inconsistent one of a trusted older segment at its first use.
    assert.equal(stats.segmentsRecovered, 1);
    assert.ok(!fs.existsSync(name(99999, '.timeindex')));
    assert.ok(!fs.existsSync(name(88888, '.log.deleted')));
    assert.ok(fs.statSync(name(segmentBases[0]!, '.index')).size > 0);
    assert.deepEqual(readAll(log).map((r) => r.value), values);
    await log.close();
  });

  it('opens trusted older segments lazily: no descriptor or read until first use, then they read and write as before', async () => {
    const dir = tmpDir();
    const { values, segmentBases } = await writeLog(dir);
    const openInDir = (): number => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
      } catch {
        return false;
      }
    }).length;
    const { log, stats } = reopen(dir, { clean: true });
    assert.equal(stats.segmentsRecovered, 0);
    const segs = log.segmentList();
    assert.equal(segs.length, segmentBases.length);
    assert.deepEqual(segs.map((s) => s.isLoadDeferred), segs.map((_, i) => i < segs.length - 1));
    assert.ok(openInDir() <= 1, `${openInDir()} descriptors open in the log directory`); // the newest segment's .log at most
    assert.deepEqual(readAll(log).map((r) => r.value), values);
    assert.ok(segs.every((s) => !s.isLoadDeferred));
    assert.equal(log.offsetForTimestamp(1000 + 10 * 10)?.offset, 30);
    assert.equal(log.append(batch(2, { tag: 'lazy' }), { leaderEpoch: 0 }).baseOffset, values.length);
    await log.close();
    assert.equal(openInDir(), 0);
    const again = reopen(dir, { clean: true });
    assert.deepEqual(readAll(again.log).map((r) => r.value), [...values, 'lazy-0', 'lazy-1']);
    await again.log.close();
  });

  it('after a crash only the tail from the recovery point is recovered (a torn batch cut off), the rest opened lazily', async () => {
    const dir = tmpDir();
    const { values, segmentBases } = await writeLog(dir);
    fs.appendFileSync(logFiles(dir).at(-1)!, Buffer.alloc(100, 7)); // a torn write
    const from = segmentBases.length - 2;
    const { log, stats } = reopen(dir, { clean: false, recoveryPoint: segmentBases[from]! + 1 });
    assert.equal(stats.segmentsRecovered, segmentBases.length - from);
    assert.equal(stats.bytesTruncated, 100);
    assert.deepEqual(log.segmentList().map((s) => s.isLoadDeferred), segmentBases.map((_, i) => i < from));
    assert.equal(log.logEndOffset, values.length);
    assert.deepEqual(readAll(log).map((r) => r.value), values);
    await log.close();
  });

  it("a new partition's first leader-epoch checkpoint (written without fsync) is rebuilt from the batches if a crash loses it", async () => {
    const dir = tmpDir();
    const log = openLog(dir, { overrides: OVERRIDES });
    log.append(batch(3), { leaderEpoch: 4 });
    const file = path.join(dir, 'leader-epoch-checkpoint');
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n1\n4 0\n');
    log.append(batch(3), { leaderEpoch: 5 }); // a later write: durable, and still right
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n2\n4 0\n5 3\n');
    await log.close();
    fs.rmSync(file); // what a power loss before the first write reached the disk could leave
    const { log: again, stats } = reopen(dir, { clean: false });
    assert.equal(stats.leaderEpochCachesRebuilt, 1);
    assert.deepEqual(again.endOffsetForEpoch(4), { leaderEpoch: 4, endOffset: 3 });
    assert.equal(again.latestEpoch, 5);
    await again.close();
  });

  it('restarts empty at the log start offset when the data it points into is gone', async () => {
    const dir = tmpDir();
    await writeLog(dir, 3);
    const { log } = reopen(dir, { clean: false, logStartOffset: 500 });
    assert.equal(log.logStartOffset, 500);
    assert.equal(log.logEndOffset, 500);
    assert.equal(log.append(batch(1), { leaderEpoch: 0 }).baseOffset, 500);
    assert.deepEqual(logFiles(dir).map((f) => path.basename(f)), ['00000000000000000500.log']);
    await log.close();
  });
});
