import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../../src/storage/log-config.js';
import {
  CLEAN_SHUTDOWN_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  LogManager,
  RECOVERY_POINT_CHECKPOINT_FILE,
  type LogManagerOptions,
} from '../../../src/storage/log-manager.js';
import { OffsetOutOfRangeError } from '../../../src/storage/storage-error.js';
import { defaultSegmentDescriptorLimit, segmentDescriptors } from '../../../src/storage/log-segment.js';
import { batch, countingSync, readAll, tmpDir } from './storage-helpers.js';

const TOPIC = { name: 'orders', partitions: 2, config: { 'segment.bytes': '1200' } };

function manager(dataDir: string, extra: Partial<LogManagerOptions> = {}): LogManager {
  return new LogManager({ dataDir, brokerDefaults: {}, ...extra });
}

/** A copy of the data directory as a crash would leave it: everything written, nothing closed. */
function crashImage(dataDir: string): string {
  const copy = tmpDir();
  fs.cpSync(dataDir, copy, { recursive: true });
  return copy;
}

function fill(m: LogManager, topic = TOPIC.name, batches = 12): void {
  for (let p = 0; p < 2; p++) {
    for (let b = 0; b < batches; b++) m.getLog(topic, p)!.append(batch(2, { tag: `p${p}b${b}`, valueSize: 120 }), { leaderEpoch: 0 });
  }
}

describe('LogManager', () => {
  it('clean shutdown writes checkpoints and the marker; the next load trusts the files', async () => {
    const dataDir = tmpDir();
    const a = manager(dataDir);
    await a.load([]);
    for (let p = 0; p < 2; p++) a.createLog(TOPIC.name, p, TOPIC.config);
    fill(a);
    const leo = a.getLog(TOPIC.name, 1)!.logEndOffset;
    await a.close();
    assert.ok(fs.existsSync(path.join(dataDir, CLEAN_SHUTDOWN_FILE)));
    assert.equal(fs.readFileSync(path.join(dataDir, RECOVERY_POINT_CHECKPOINT_FILE), 'utf8'), `0\n2\norders 0 ${leo}\norders 1 ${leo}\n`);
    assert.ok(fs.existsSync(path.join(dataDir, LOG_START_OFFSET_CHECKPOINT_FILE)));

    const b = manager(dataDir);
    await b.load([TOPIC]);
    assert.equal(b.hadCleanShutdown, true);
    assert.equal(b.loadStats.segmentsRecovered, 0);
    assert.ok(b.loadStats.segments > 2);
    assert.ok(!fs.existsSync(path.join(dataDir, CLEAN_SHUTDOWN_FILE)), 'marker removed once loaded');
    assert.equal(readAll(b.getLog(TOPIC.name, 0)!).length, leo);
    assert.equal(readAll(b.getLog(TOPIC.name, 1)!)[leo - 1]!.value, 'p1b11-1'.padEnd(120, '.'));
    await b.close();
  });

  it('a clean close of more partitions than it closes at once writes every producer snapshot and the marker', async () => {
    const dataDir = tmpDir();
    const a = manager(dataDir);
    await a.load([]);
    const partitions = 150; // more than close()'s concurrency of 64, so it takes several rounds
    for (let p = 0; p < partitions; p++) a.createLog('many', p, {}).append(batch(1 + (p % 3)), { leaderEpoch: 0 });
    await a.close();
    assert.ok(fs.existsSync(path.join(dataDir, CLEAN_SHUTDOWN_FILE)));
    for (let p = 0; p < partitions; p++) {
      const snapshots = fs.readdirSync(path.join(dataDir, `many-${p}`)).filter((f) => f.endsWith('.snapshot'));
      assert.deepEqual(snapshots, [`${String(1 + (p % 3)).padStart(20, '0')}.snapshot`], `partition ${p}`);
    }
    const b = manager(dataDir);
    await b.load([{ name: 'many', partitions, config: {} }]);
    assert.equal(b.hadCleanShutdown, true);
    assert.equal(b.loadStats.segmentsRecovered, 0);
    for (let p = 0; p < partitions; p++) assert.equal(b.getLog('many', p)!.logEndOffset, 1 + (p % 3));
    await b.close();
  });

  it('after a crash recovers from the checkpointed recovery point onward', async () => {
    const dataDir = tmpDir();
    const a = manager(dataDir);
    await a.load([]);
    for (let p = 0; p < 2; p++) a.createLog(TOPIC.name, p, TOPIC.config);
    fill(a);
    await Promise.all(a.logs().map((l) => l.flush()));
    await a.checkpointRecoveryPoints();
    fill(a, TOPIC.name, 1); // not flushed, not checkpointed: its segment must be scanned
    const image = crashImage(dataDir);
    await a.close();

    const b = manager(image);
    await b.load([TOPIC]);
    assert.equal(b.hadCleanShutdown, false);
    assert.equal(b.loadStats.segmentsRecovered, 2, 'only the segment holding each recovery point');
    assert.equal(b.getLog(TOPIC.name, 0)!.logEndOffset, 26);
    await b.close();

    // Without any checkpoint, everything is scanned.
    const image2 = crashImage(image);
    fs.rmSync(path.join(image2, RECOVERY_POINT_CHECKPOINT_FILE));
    fs.rmSync(path.join(image2, CLEAN_SHUTDOWN_FILE));
    const c = manager(image2);
    await c.load([TOPIC]);
    assert.equal(c.loadStats.segmentsRecovered, c.loadStats.segments);
    await c.close();
  });

  it('DeleteRecords moves the log start offset durably, even across a crash', async () => {
    const dataDir = tmpDir();
    const a = manager(dataDir);
    await a.load([]);
    for (let p = 0; p < 2; p++) a.createLog(TOPIC.name, p, TOPIC.config);
    fill(a);
    const log = a.getLog(TOPIC.name, 0)!;
    const segmentsBefore = log.segmentCount;
    assert.throws(() => log.deleteRecordsBefore(log.highWatermark + 1), OffsetOutOfRangeError);
    assert.equal(log.deleteRecordsBefore(15), 15);
    assert.ok(log.segmentCount < segmentsBefore, 'segments wholly below 15 deleted');
    const image = crashImage(dataDir);
    await a.close();

    const b = manager(image);
    await b.load([TOPIC]);
    const reloaded = b.getLog(TOPIC.name, 0)!;
    assert.equal(reloaded.logStartOffset, 15);
    assert.throws(() => reloaded.read(14, 1000, true), OffsetOutOfRangeError);
    assert.equal(readAll(reloaded)[0]!.offset, 15);
    assert.equal(b.getLog(TOPIC.name, 1)!.logStartOffset, 0);
    await b.close();
  });

  it('deletes a topic by renaming its directories to *-delete and removing them', async () => {
    const dataDir = tmpDir();
    const m = manager(dataDir);
    await m.load([]);
    for (let p = 0; p < 2; p++) m.createLog(TOPIC.name, p, TOPIC.config);
    fill(m);
    await m.deleteLogs(TOPIC.name);
    assert.equal(m.getLog(TOPIC.name, 0), undefined);
    const names = fs.readdirSync(dataDir);
    assert.ok(!names.includes('orders-0') && !names.includes('orders-1'));
    assert.ok(names.every((n) => !n.startsWith('orders-') || /^orders-\d\.[0-9a-f]{32}-delete$/.test(n)), names.join());
    // Same name again: a fresh, empty log.
    const again = m.createLog(TOPIC.name, 0, {});
    assert.equal(again.logEndOffset, 0);
    await m.close();
    assert.deepEqual(fs.readdirSync(dataDir).filter((n) => n.endsWith('-delete')), []);
  });

  it('moves a stray directory aside instead of adopting its data', async () => {
    const dataDir = tmpDir();
    const a = manager(dataDir);
    await a.load([]);
    a.createLog('ghost', 0, {}).append(batch(3), { leaderEpoch: 0 });
    await a.close();
    const b = manager(dataDir);
    await b.load([]); // the topic no longer exists
    assert.equal(b.createLog('ghost', 0, {}).logEndOffset, 0);
    await b.close();
  });

  it('validates and applies config updates to every partition', async () => {
    const m = manager(tmpDir(), { brokerDefaults: { 'log.retention.hours': '1' } });
    await m.load([TOPIC]);
    assert.equal(m.getLog(TOPIC.name, 1)!.config.retentionMs, 3_600_000);
    m.updateConfig(TOPIC.name, { 'retention.ms': '5000' });
    assert.equal(m.getLog(TOPIC.name, 0)!.config.retentionMs, 5000);
    assert.equal(m.getLog(TOPIC.name, 1)!.config.retentionMs, 5000);
    assert.throws(() => m.updateConfig(TOPIC.name, { 'retention.ms': 'soon' }), ConfigError);
    assert.equal(m.getLog(TOPIC.name, 1)!.config.retentionMs, 5000);
    await m.close();
  });

  it('flushes by flush.ms and applies retention on its timers', async () => {
    const synced = new EventEmitter();
    const sync = countingSync();
    const logged = new EventEmitter();
    const logger = {
      info: (_o: object | string, msg?: string) => logged.emit(msg ?? ''),
      warn: () => {},
      error: () => {},
    };
    const m = manager(tmpDir(), {
      brokerDefaults: { 'log.retention.check.interval.ms': '5' },
      logger,
      fdatasync: async (fd) => {
        await sync.fdatasync(fd);
        synced.emit('sync');
      },
    });
    await m.load([{ name: 'fast', partitions: 1, config: { 'flush.ms': '5', 'segment.bytes': '400', 'retention.bytes': '400' } }]);
    const log = m.getLog('fast', 0)!;
    await log.flush();
    // The manager's timers are unref'd (they never keep a broker alive); hold the event loop open meanwhile.
    const keepAlive = setInterval(() => {}, 60_000);
    m.startBackgroundTasks();
    log.append(batch(1, { valueSize: 300 }), { leaderEpoch: 0 });
    assert.ok(log.isDirty);
    await once(synced, 'sync');
    await new Promise((resolve) => setImmediate(resolve)); // the flush completes in the microtasks after the sync
    assert.equal(log.isDirty, false);
    assert.equal(log.recoveryPoint, 1);
    const deleting = once(logged, 'deleting segment');
    for (let i = 0; i < 3; i++) log.append(batch(1, { valueSize: 300 }), { leaderEpoch: 0 });
    await deleting;
    assert.ok(log.logStartOffset > 0);
    clearInterval(keepAlive);
    await m.close();
  });

  it('log.segment.descriptors.max bounds the open .log descriptors: writing more partitions than that closes the least recently used', async () => {
    const dataDir = tmpDir();
    const openLogs = (): number => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
        return target.startsWith(dataDir) && target.endsWith('.log');
      } catch {
        return false;
      }
    }).length;
    const LIMIT = 8;
    const PARTITIONS = 30;
    const m = manager(dataDir, { maxOpenSegmentDescriptors: LIMIT });
    try {
      await m.load([{ name: 'wide', partitions: PARTITIONS, config: {} }]);
      for (let round = 0; round < 2; round++) {
        for (let p = 0; p < PARTITIONS; p++) {
          m.getLog('wide', p)!.append(batch(2, { tag: `r${round}p${p}` }), { leaderEpoch: 0 });
          assert.ok(openLogs() <= LIMIT, `${openLogs()} .log descriptors open after appending to partition ${p}`);
        }
        // Every partition's flush at once: descriptors under an fdatasync are pinned, the limit holds again after.
        await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => m.getLog('wide', p)!.flush()));
        assert.ok(openLogs() <= LIMIT, `${openLogs()} .log descriptors open after the flushes`);
      }
      assert.ok(openLogs() > 0);
      // The most recently used stay open: the last written partitions' descriptors, not the first ones'.
      assert.ok(m.getLog('wide', PARTITIONS - 1)!.segmentList()[0]!.hasDescriptor);
      assert.ok(!m.getLog('wide', 0)!.segmentList()[0]!.hasDescriptor);
      for (let p = 0; p < PARTITIONS; p++) {
        assert.deepEqual(readAll(m.getLog('wide', p)!).map((r) => r.value), [`r0p${p}-0`, `r0p${p}-1`, `r1p${p}-0`, `r1p${p}-1`]);
        assert.ok(openLogs() <= LIMIT);
      }
    } finally {
      await m.close();
      segmentDescriptors.limit = defaultSegmentDescriptorLimit();
    }
    assert.equal(openLogs(), 0);
    const again = manager(dataDir);
    await again.load([{ name: 'wide', partitions: PARTITIONS, config: {} }]);
    assert.deepEqual(readAll(again.getLog('wide', 7)!).map((r) => r.value), ['r0p7-0', 'r0p7-1', 'r1p7-0', 'r1p7-1']);
    await again.close();
  });
});
