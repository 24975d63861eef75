import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, open, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../../src/index.js';
import { Admin } from '../../../src/client/admin.js';
import { HistoryChecker, describeReport } from '../../helpers/history-checker.js';
import { readBack, runAckedLoad } from '../../helpers/acked-load.js';
import { compareReplicas } from '../../helpers/replica-compare.js';

let dataDir: string;
let broker: Awaited<ReturnType<typeof startBroker>>;
let admin: Admin;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-acked-load-'));
  broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
  admin = new Admin({ bootstrapServers: broker.address, retries: 1, retryBackoffMs: 10 });
  await admin.createTopics([{ name: 'load', numPartitions: 3, replicationFactor: 1, configs: { 'segment.bytes': '4096' } }]);
});

after(async () => {
  await admin.close();
  await broker.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('runAckedLoad: N records, every one acknowledged and recorded; readBack reads them all back', async () => {
  const checker = new HistoryChecker();
  const load = await runAckedLoad({ bootstrapServers: broker.address, topic: 'load', checker, records: 600, window: 100 });
  assert.deepEqual({ sent: load.sent, acknowledged: load.acknowledged, failed: load.failed }, { sent: 600, acknowledged: 600, failed: 0 });
  assert.equal(checker.acknowledgedCount, 600);
  const back = await readBack({ bootstrapServers: broker.address, topic: 'load', checker, timeoutMs: 15_000 });
  assert.equal(back.read, 600);
  assert.deepEqual(back.endOffsets, [200, 200, 200], 'round-robin over 3 partitions');
  const report = checker.check();
  assert.equal(report.ok, true, describeReport(report));
});

test('runAckedLoad: a duration bound stops it; a checker fed a short read reports the rest lost', async () => {
  const checker = new HistoryChecker();
  const load = await runAckedLoad({ bootstrapServers: broker.address, topic: 'load', checker, durationMs: 300, valuePrefix: 'timed' });
  assert.ok(load.elapsedMs < 10_000, `bounded: ${load.elapsedMs} ms`);
  assert.ok(load.acknowledged > 0 && load.acknowledged === load.sent, JSON.stringify(load));
  // Read back into a checker that saw only the first load's values: these acknowledgements are all there…
  await readBack({ bootstrapServers: broker.address, topic: 'load', checker });
  assert.equal(checker.check().ok, true, describeReport(checker.check()));
  // …and a record the reader never saw is reported lost.
  checker.acknowledged('load', 0, 1_000_000, 'never-written');
  assert.deepEqual(checker.check().lost.map((l) => l.value), ['never-written']);
});

test('runAckedLoad: sends the broker refuses are counted as failed, never as acknowledged', async () => {
  const checker = new HistoryChecker();
  await admin.createTopics([{ name: 'tiny', numPartitions: 1, replicationFactor: 1, configs: { 'max.message.bytes': '200' } }]);
  const load = await runAckedLoad({
    bootstrapServers: broker.address, topic: 'tiny', checker, records: 5, valuePrefix: 'x'.repeat(500),
    producer: { retries: 0, deliveryTimeoutMs: 5000 },
  });
  assert.equal(load.acknowledged, 0);
  assert.equal(load.failed, 5);
  assert.deepEqual(Object.keys(load.errors), ['MESSAGE_TOO_LARGE']);
  assert.equal(checker.acknowledgedCount, 0);
  // The closed producer is quiet: an idempotent batch failing just before close() once left it asking for a new
  // producer id on every turn of the event loop, forever (a setImmediate always pending, the process never exiting).
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!process.getActiveResourcesInfo().includes('Immediate'), `sample ${i}: ${process.getActiveResourcesInfo().join(',')}`);
  }
});

test('compareReplicas: two copies of a real data dir are identical; a changed byte is located; a shorter copy compares up to its end', async () => {
  const copies = await mkdtemp(join(tmpdir(), 'tributary-replicas-'));
  try {
    // Its own topic and records, so this test does not depend on the others; every append is written before
    // it is acknowledged, so the files are complete once the load returns.
    await admin.createTopics([{ name: 'compare', numPartitions: 2, replicationFactor: 1, configs: { 'segment.bytes': '4096' } }]);
    const load = await runAckedLoad({ bootstrapServers: broker.address, topic: 'compare', checker: new HistoryChecker(), records: 200, valuePrefix: 'c'.repeat(100), producer: { batchSize: 1024 } });
    assert.equal(load.acknowledged, 200);
    const a = join(copies, 'a');
    const b = join(copies, 'b');
    await cp(dataDir, a, { recursive: true });
    await cp(dataDir, b, { recursive: true });
    let r = await compareReplicas([a, b], 'compare', 1);
    assert.equal(r.identical, true, JSON.stringify(r));
    assert.ok(r.replicas[0]!.segments.length >= 2, `segment.bytes=4096 rolls segments: ${r.replicas[0]!.segments.join(',')}`);
    assert.ok(r.comparedBytes > 4096);

    // Flip one byte in b's second segment.
    const second = r.replicas[1]!.segments[1]!;
    const file = await open(join(b, 'compare-1', second), 'r+');
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, 100);
    await file.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 100);
    await file.close();
    r = await compareReplicas([a, b], 'compare', 1);
    assert.equal(r.identical, false);
    assert.equal(r.difference?.dataDir, b);
    assert.equal(r.difference?.segment, second);
    assert.equal(r.difference?.positionInSegment, 100);
    assert.equal(r.difference?.batchBaseOffset, Number(second.slice(0, 20)), 'byte 100 of a segment lies in its first batch');

    // A replica that is behind (its last segment cut short) is identical up to its end.
    const c = join(copies, 'c');
    await cp(a, c, { recursive: true });
    const segs = r.replicas[0]!.segments;
    await truncate(join(c, 'compare-1', segs[segs.length - 1]!), 10);
    r = await compareReplicas([a, c], 'compare', 1);
    assert.equal(r.identical, true, JSON.stringify(r));
    assert.ok(r.comparedBytes < r.replicas[0]!.bytes);

    // A replica without the partition is a problem, not a pass.
    r = await compareReplicas([a, join(copies, 'missing')], 'compare', 1);
    assert.equal(r.identical, false);
    assert.match(r.problem ?? '', /has no segment of compare-1/);
  } finally {
    await rm(copies, { recursive: true, force: true });
  }
});
