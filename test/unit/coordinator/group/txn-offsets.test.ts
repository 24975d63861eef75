import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../../src/protocol/generated/error-codes.js';
import { partitionFor } from '../../../../src/coordinator/runtime.js';
import { groupRecordSerde } from '../../../../src/coordinator/group/group-records.js';
import { harness, MemoryLog, type Harness } from '../support.js';

const PARTITIONS = 4;

const txnCommit = (h: Harness, groupId: string, producerId: bigint, offset: number, extra: { generationId?: number; memberId?: string; partition?: number } = {}) =>
  h.runtime.run(() => h.gc.commitTxnOffsets({
    groupId, producerId, producerEpoch: 3, generationId: extra.generationId ?? -1, memberId: extra.memberId ?? '', groupInstanceId: null, retentionTimeMs: -1,
    topics: [{ name: 't', partitions: [{ partition: extra.partition ?? 0, offset, leaderEpoch: 2, metadata: 'x' }] }],
  }));

const plainCommit = (h: Harness, groupId: string, offset: number) =>
  h.runtime.run(() => h.gc.commitOffsets({
    groupId, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
    topics: [{ name: 't', partitions: [{ partition: 0, offset, leaderEpoch: -1, metadata: null }] }],
  }));

const fetched = (h: Harness, groupId: string) => h.gc.fetchOffsets(groupId, [{ name: 't', partitions: [0] }])[0]!.offset;
const partitionOf = (groupId: string) => partitionFor(groupId, PARTITIONS);

test('TxnOffsetCommit appends a transactional batch at once; the marker completes it and writes nothing more', async () => {
  const h = await harness();
  assert.deepEqual((await txnCommit(h, 'g', 7n, 10)).map((e) => e.errorCode), [ErrorCode.NONE]);
  assert.equal(h.log.appends, 1, 'persisted before answering');
  const written = h.log.entries[partitionOf('g')]!;
  assert.equal(written.length, 1);
  assert.ok('rec' in written[0]! && written[0].producerId === 7n, 'in a transactional batch of producer 7');
  const rec = 'rec' in written[0]! ? groupRecordSerde.decode(written[0].rec) : null;
  assert.deepEqual(rec?.type === 'offset' ? [rec.group, rec.topic, rec.partition, rec.value?.offset] : null, ['g', 't', 0, 10]);
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 0), true);
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 1), false);
  assert.equal(fetched(h, 'g'), -1);

  assert.equal(await h.runtime.run(() => h.gc.completeTxnOffsets(7n, true, (g) => g === 'other')), 0, 'another partition: untouched');
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 0), true);
  assert.equal(await h.runtime.run(() => h.gc.completeTxnOffsets(7n, true, () => true)), 1);
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 0), false);
  assert.equal(fetched(h, 'g'), 10);
  assert.equal(h.log.appends, 1, 'the marker is the outcome: no OffsetCommit record is written again');

  await txnCommit(h, 'g', 8n, 20);
  assert.equal(await h.runtime.run(() => h.gc.completeTxnOffsets(8n, false, () => true)), 0);
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 0), false);
  assert.equal(fetched(h, 'g'), 10, 'the aborted offset never shows');
});

test('replay: transactional records stay pending until their marker; COMMIT shows them, ABORT drops them', async () => {
  const log = new MemoryLog(PARTITIONS);
  const h = await harness({}, log);
  await txnCommit(h, 'g', 7n, 10);
  await txnCommit(h, 'g', 8n, 20, { partition: 1 });

  const h2 = await harness({}, log);
  assert.equal(fetched(h2, 'g'), -1, 'no marker yet: nothing committed after a restart');
  assert.equal(h2.gc.hasPendingTxnOffset('g', 't', 0), true, 'but still pending');

  log.writeMarker((partitionOf('g') + 1) % PARTITIONS, 7n, true);
  const h3 = await harness({}, log);
  assert.equal(h3.gc.hasPendingTxnOffset('g', 't', 0), true, 'a marker on another partition is not ours');

  log.writeMarker(partitionOf('g'), 7n, true);
  log.writeMarker(partitionOf('g'), 8n, false);
  const h4 = await harness({}, log);
  assert.equal(fetched(h4, 'g'), 10);
  assert.equal(h4.gc.fetchOffsets('g', [{ name: 't', partitions: [1] }])[0]!.offset, -1, 'the aborted one never shows');
  assert.equal(h4.gc.hasPendingTxnOffset('g', 't', 0), false);
  assert.equal(h4.gc.hasPendingTxnOffset('g', 't', 1), false);
});

test('a plain commit written after a pending transactional offset wins over it; one written before loses', async () => {
  const log = new MemoryLog(PARTITIONS);
  const h = await harness({}, log);
  await txnCommit(h, 'g', 7n, 10);
  await plainCommit(h, 'g', 15);
  assert.equal(await h.runtime.run(() => h.gc.completeTxnOffsets(7n, true, () => true)), 0);
  assert.equal(fetched(h, 'g'), 15, 'live: the later plain commit stays');
  log.writeMarker(partitionOf('g'), 7n, true);
  assert.equal(fetched(await harness({}, log), 'g'), 15, 'replay agrees');

  await plainCommit(h, 'g', 16);
  await txnCommit(h, 'g', 9n, 30);
  assert.equal(await h.runtime.run(() => h.gc.completeTxnOffsets(9n, true, () => true)), 1);
  assert.equal(fetched(h, 'g'), 30);
  log.writeMarker(partitionOf('g'), 9n, true);
  assert.equal(fetched(await harness({}, log), 'g'), 30, 'replay agrees');
});

test('requireStable with a null topic list reports partitions that only have a pending offset', async () => {
  const h = await harness();
  await plainCommit(h, 'g', 5);
  await txnCommit(h, 'g', 7n, 10, { partition: 3 });
  const loose = h.gc.fetchOffsets('g', null);
  assert.deepEqual(loose.map((o) => [o.partition, o.offset, o.unstable ?? false]), [[0, 5, false]], 'without requireStable: committed only');
  const stable = h.gc.fetchOffsets('g', null, true);
  assert.deepEqual(stable.map((o) => [o.topic, o.partition, o.unstable ?? false]), [['t', 0, false], ['t', 3, true]]);
  await txnCommit(h, 'g', 7n, 11);
  assert.deepEqual(h.gc.fetchOffsets('g', null, true).map((o) => [o.partition, o.unstable ?? false]), [[0, true], [3, true]]);
  assert.deepEqual(h.gc.fetchOffsets('g', [{ name: 't', partitions: [0, 1] }], true).map((o) => [o.partition, o.unstable ?? false]), [[0, true], [1, false]]);
  assert.deepEqual(h.gc.fetchOffsets('nogroup', null, true), []);
});

test('a TxnOffsetCommit naming a member is checked against the group', async () => {
  const h = await harness();
  assert.deepEqual((await txnCommit(h, 'nogroup', 1n, 1, { generationId: 3, memberId: 'm' })).map((e) => e.errorCode), [ErrorCode.ILLEGAL_GENERATION]);
  assert.deepEqual((await h.runtime.run(() => h.gc.commitTxnOffsets({
    groupId: '', producerId: 1n, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
    topics: [{ name: 't', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] }],
  }))).map((e) => e.errorCode), [ErrorCode.INVALID_GROUP_ID]);
  assert.equal(h.gc.hasPendingTxnOffset('nogroup', 't', 0), false);
  assert.equal(h.log.appends, 0, 'refused commits write nothing');
});

test('DeleteGroups and OffsetDelete also delete offsets pending in a transaction: a later COMMIT does not bring them back', async () => {
  const log = new MemoryLog(PARTITIONS);
  const h = await harness({}, log);
  await plainCommit(h, 'g', 5);
  await txnCommit(h, 'g', 7n, 10);
  await txnCommit(h, 'g', 7n, 11, { partition: 1 });
  const deleted = await h.runtime.run(() => h.gc.deleteGroups(['g']));
  assert.deepEqual(deleted, [{ groupId: 'g', errorCode: ErrorCode.NONE }]);
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 1), false, 'the partition with only a pending offset is tombstoned too');
  assert.equal(await h.runtime.run(() => h.gc.completeTxnOffsets(7n, true, () => true)), 0);
  assert.equal(h.gc.group('g'), undefined, 'the commit marker does not recreate the group');
  // The same after a restart: the tombstones come after the transactional records in the log.
  log.writeMarker(partitionOf('g'), 7n, true);
  const h2 = await harness({}, log);
  assert.equal(fetched(h2, 'g'), -1);
  assert.equal(h2.gc.fetchOffsets('g', [{ name: 't', partitions: [1] }])[0]!.offset, -1);

  // OffsetDelete of a partition whose only offset is pending.
  const h3 = await harness();
  await plainCommit(h3, 'e', 1);
  await txnCommit(h3, 'e', 9n, 30, { partition: 2 });
  const r = await h3.runtime.run(() => h3.gc.deleteOffsets('e', [{ name: 't', partitions: [2] }]));
  assert.deepEqual(r.partitions.map((p) => p.errorCode), [ErrorCode.NONE]);
  assert.equal(h3.gc.hasPendingTxnOffset('e', 't', 2), false);
  await h3.runtime.run(() => h3.gc.completeTxnOffsets(9n, true, () => true));
  assert.equal(h3.gc.fetchOffsets('e', [{ name: 't', partitions: [2] }])[0]!.offset, -1);
  assert.equal(fetched(h3, 'e'), 1, 'other partitions keep theirs');
});

test('retention does not expire an offset, nor delete its group, while a transaction holds an offset for it', async () => {
  const h = await harness({ offsetsRetentionMs: 1000, offsetsRetentionCheckIntervalMs: 100_000 });
  await plainCommit(h, 'g', 5);
  await txnCommit(h, 'g', 7n, 10);
  h.clock.advance(5000);
  assert.equal(await h.runtime.run(() => h.gc.expireOffsets()), 0);
  assert.ok(h.gc.group('g'));
  await h.runtime.run(() => h.gc.completeTxnOffsets(7n, false, () => true));
  assert.equal(await h.runtime.run(() => h.gc.expireOffsets()), 1);
  assert.equal(h.gc.group('g'), undefined);
});
