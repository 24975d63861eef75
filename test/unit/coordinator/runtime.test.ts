import { test } from 'node:test';
import assert from 'node:assert/strict';
import { javaStringHashCode, partitionFor, untilAborted } from '../../../src/coordinator/runtime.js';
import { groupRecordSerde, type GroupRecord } from '../../../src/coordinator/group/group-records.js';
import { ManualScheduler } from '../../../src/coordinator/scheduler.js';

test('groups map to partitions by Java String.hashCode, as Kafka places them', () => {
  assert.equal(javaStringHashCode('test'), 3556498);
  assert.equal(javaStringHashCode('polygenelubricants'), -2147483648);
  assert.equal(partitionFor('test', 50), 48);
  assert.equal(partitionFor('polygenelubricants', 50), 0, 'Utils.abs(Integer.MIN_VALUE) is 0');
  assert.equal(partitionFor('\u00e9t\u00e9', 7), Math.abs(javaStringHashCode('\u00e9t\u00e9')) % 7);
});

test('group records round-trip through Kafka key/value layouts, tombstones included', () => {
  const recs: GroupRecord[] = [
    { type: 'offset', group: 'g', topic: 't', partition: 3, value: { offset: 42, leaderEpoch: 1, metadata: 'meta', commitTimestamp: 1000, expireTimestamp: -1 } },
    { type: 'offset', group: 'g', topic: 't', partition: 4, value: { offset: 7, leaderEpoch: -1, metadata: '', commitTimestamp: 1000, expireTimestamp: 5000 } },
    { type: 'offset', group: 'g', topic: 't', partition: 3, value: null },
    { type: 'group', group: 'g', value: null },
  ];
  for (const rec of recs) assert.deepEqual(groupRecordSerde.decode(groupRecordSerde.encode(rec)), rec);
  const enc = groupRecordSerde.encode(recs[0]!);
  assert.equal(enc.key.readInt16BE(0), 1, 'OffsetCommitKey v1');
  assert.equal(enc.value!.readInt16BE(0), 3, 'OffsetCommitValue v3');
  assert.equal(groupRecordSerde.encode(recs[1]!).value!.readInt16BE(0), 1, 'v1 carries an explicit expire timestamp');
  assert.equal(groupRecordSerde.encode(recs[3]!).key.readInt16BE(0), 2, 'GroupMetadataKey v2');
  // Records of other coordinators (key version 3+: KIP-848 groups) are skipped.
  assert.equal(groupRecordSerde.decode({ key: Buffer.from([0, 3, 0, 1, 0x67]), value: null }), null);
});

test('ManualScheduler fires due timers in deadline order, including ones scheduled meanwhile', () => {
  const s = new ManualScheduler(0);
  const fired: string[] = [];
  s.schedule('b', 20, () => fired.push(`b@${s.now()}`));
  s.schedule('a', 10, () => {
    fired.push(`a@${s.now()}`);
    s.schedule('c', 5, () => fired.push(`c@${s.now()}`));
  });
  s.schedule('x', 15, () => fired.push('x'));
  s.cancel('x');
  s.advance(19);
  assert.deepEqual(fired, ['a@10', 'c@15']);
  s.advance(1);
  assert.deepEqual(fired, ['a@10', 'c@15', 'b@20']);
});

test('untilAborted answers the fallback when the broker shuts down', async () => {
  const ac = new AbortController();
  const never = new Promise<string>(() => {});
  const p = untilAborted(never, ac.signal, () => 'aborted');
  ac.abort();
  assert.equal(await p, 'aborted');
  assert.equal(await untilAborted(Promise.resolve('done'), new AbortController().signal, () => 'aborted'), 'done');
});
