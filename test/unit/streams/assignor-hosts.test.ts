// The streams assignor's application.server metadata (user data version 2): each member's host in its
// subscription, the cluster-wide host → active / standby partitions in every assignment; versions 1 and newer read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSubscription, encodeSubscription, type MemberSubscription, type TopicPartition } from '../../../src/client/assignors/assignor.js';
import {
  decodeAssignmentInfo, decodeSubscriptionUserData, encodeAssignmentInfo, encodeSubscriptionInfo, StreamsPartitionAssignor, type PartitionsByHost,
} from '../../../src/streams/assignor.js';

const groups = new Map([[0, ['events']]]);
const changelogs = new Map([[0, ['app-counts-changelog']]]);
const counts = new Map([['events', 4]]);

function member(id: string, host: string | null): MemberSubscription {
  const userData = encodeSubscriptionInfo(new Map(), host ?? '');
  const s = decodeSubscription(encodeSubscription({ topics: ['events'], ownedPartitions: [], generationId: -1, userData }));
  return { memberId: id, groupInstanceId: null, topics: s.topics, ownedPartitions: [], generationId: -1, rackId: null, userData: s.userData };
}

const sorted = (tps: TopicPartition[]): number[] => tps.map((tp) => tp.partition).sort((a, b) => a - b);

test('subscription and assignment user data round-trip the host and host maps; v1 bytes still read', () => {
  const sub = decodeSubscriptionUserData(encodeSubscriptionInfo(new Map([['0_1', 7]]), 'node-a:8080'));
  assert.deepEqual(sub, { offsetSums: new Map([['0_1', 7]]), applicationServer: 'node-a:8080' });
  assert.equal(decodeSubscriptionUserData(encodeSubscriptionInfo(new Map())).applicationServer, null);
  // Version 1 (no host): the sums read, no host.
  const v1 = Buffer.alloc(6 + 16);
  v1.writeInt16BE(1, 0);
  v1.writeInt32BE(1, 2);
  v1.writeInt32BE(0, 6);
  v1.writeInt32BE(3, 10);
  v1.writeBigInt64BE(99n, 14);
  assert.deepEqual(decodeSubscriptionUserData(v1), { offsetSums: new Map([['0_3', 99]]), applicationServer: null });
  // A later version appends: its prefix still reads.
  const v3 = Buffer.concat([encodeSubscriptionInfo(new Map([['0_2', 5]]), 'b:1'), Buffer.from([1, 2, 3])]);
  v3.writeInt16BE(3, 0);
  assert.deepEqual(decodeSubscriptionUserData(v3), { offsetSums: new Map([['0_2', 5]]), applicationServer: 'b:1' });

  const active: PartitionsByHost = new Map([['a:1', [{ topic: 'events', partition: 0 }, { topic: 'clicks', partition: 2 }]], ['b:2', []]]);
  const standby: PartitionsByHost = new Map([['b:2', [{ topic: 'events', partition: 0 }]]]);
  const info = decodeAssignmentInfo(encodeAssignmentInfo(['0_0'], active, standby));
  assert.deepEqual(info, { standbyTasks: ['0_0'], partitionsByHost: active, standbyPartitionsByHost: standby });
  const old = Buffer.alloc(6);
  old.writeInt16BE(1, 0);
  assert.deepEqual(decodeAssignmentInfo(old), { standbyTasks: [], partitionsByHost: null, standbyPartitionsByHost: null });
  // Truncated host maps: the standby tasks stay, no metadata.
  const cut = encodeAssignmentInfo(['0_1'], active, standby);
  assert.deepEqual(decodeAssignmentInfo(cut.subarray(0, cut.length - 3)), { standbyTasks: ['0_1'], partitionsByHost: null, standbyPartitionsByHost: null });
});

test('every member learns every host: disjoint active partitions covering all, standbys elsewhere; hostless members left out', async () => {
  const seen = new Map<string, { active: PartitionsByHost; standby: PartitionsByHost }>();
  const leader = new StreamsPartitionAssignor(groups, { numStandbyReplicas: 1, changelogs });
  const out = await leader.assignWithUserData(counts, [member('m-a', 'a:1'), member('m-b', 'b:2'), member('m-c', null)]);
  for (const [id, a] of out) {
    const follower = new StreamsPartitionAssignor(groups, { numStandbyReplicas: 1, changelogs, onHostMetadata: (active, standby) => seen.set(id, { active, standby }) });
    follower.onAssignment(a.partitions, a.userData, 1);
  }
  assert.equal(seen.size, 3);
  const first = seen.get('m-a')!;
  for (const m of seen.values()) assert.deepEqual(m, first);
  assert.deepEqual([...first.active.keys()].sort(), ['a:1', 'b:2']);
  const a = sorted(first.active.get('a:1')!);
  const b = sorted(first.active.get('b:2')!);
  assert.deepEqual(a, sorted(out.get('m-a')!.partitions));
  assert.deepEqual(b, sorted(out.get('m-b')!.partitions));
  // The hostless member holds the rest.
  const c = sorted(out.get('m-c')!.partitions);
  assert.deepEqual([...a, ...b, ...c].sort(), [0, 1, 2, 3]);
  // Each host's standbys are never its own actives.
  for (const [host, tps] of first.standby) for (const tp of tps) assert.ok(!first.active.get(host)!.some((x) => x.partition === tp.partition), `${host} standby of its own active ${tp.partition}`);
  assert.ok([...first.standby.values()].flat().length > 0);
});
