import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../../src/protocol/generated/error-codes.js';
import { harness, type Harness } from '../support.js';

const txnCommit = (h: Harness, groupId: string, producerId: bigint, offset: number, extra: { generationId?: number; memberId?: string } = {}) =>
  h.runtime.run(() => h.gc.commitTxnOffsets({
    groupId, producerId, generationId: extra.generationId ?? -1, memberId: extra.memberId ?? '', groupInstanceId: null, retentionTimeMs: -1,
    topics: [{ name: 't', partitions: [{ partition: 0, offset, leaderEpoch: 2, metadata: 'x' }] }],
  }));

const fetched = (h: Harness, groupId: string) => h.gc.fetchOffsets(groupId, [{ name: 't', partitions: [0] }])[0]!.offset;

test('transactional offsets stay pending until COMMIT, are persisted then, and are dropped on ABORT', async () => {
  const h = await harness();
  assert.deepEqual((await txnCommit(h, 'g', 7n, 10)).map((e) => e.errorCode), [ErrorCode.NONE]);
  assert.equal(h.log.appends, 0, 'nothing is written while pending');
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 0), true);
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 1), false);
  assert.equal(fetched(h, 'g'), -1);

  assert.equal(await h.runtime.run(() => h.gc.completeTxnOffsets(7n, true, (g) => g === 'other')), 0, 'another partition: untouched');
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 0), true);
  assert.equal(await h.runtime.run(() => h.gc.completeTxnOffsets(7n, true, () => true)), 1);
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 0), false);
  assert.equal(fetched(h, 'g'), 10);
  assert.deepEqual(h.log.decoded().map((r) => r.type === 'offset' ? [r.group, r.topic, r.partition, r.value?.offset] : null), [['g', 't', 0, 10]]);

  await txnCommit(h, 'g', 8n, 20);
  assert.equal(await h.runtime.run(() => h.gc.completeTxnOffsets(8n, false, () => true)), 0);
  assert.equal(h.gc.hasPendingTxnOffset('g', 't', 0), false);
  assert.equal(fetched(h, 'g'), 10, 'the aborted offset never shows');
});

test('a TxnOffsetCommit naming a member is checked against the group', async () => {
  const h = await harness();
  assert.deepEqual((await txnCommit(h, 'nogroup', 1n, 1, { generationId: 3, memberId: 'm' })).map((e) => e.errorCode), [ErrorCode.ILLEGAL_GENERATION]);
  assert.deepEqual((await h.runtime.run(() => h.gc.commitTxnOffsets({
    groupId: '', producerId: 1n, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
    topics: [{ name: 't', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] }],
  }))).map((e) => e.errorCode), [ErrorCode.INVALID_GROUP_ID]);
  assert.equal(h.gc.hasPendingTxnOffset('nogroup', 't', 0), false);
});
