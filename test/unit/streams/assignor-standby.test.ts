// The streams assignor's standby replicas and lag-aware placement (num.standby.replicas, acceptable.recovery.lag):
// standbys never on their active's member, balanced, sticky; an orphaned stateful task goes to a caught-up member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSubscription, encodeSubscription, type MemberSubscription, type TopicPartition } from '../../../src/client/assignors/assignor.js';
import {
  decodeAssignmentInfo, decodeSubscriptionInfo, encodeAssignmentInfo, encodeSubscriptionInfo, LATEST_OFFSET, StreamsPartitionAssignor,
} from '../../../src/streams/assignor.js';

// Sub-topology 0 counts 'events' (a changelogged store); sub-topology 1 is stateless over 'clicks'.
const groups = new Map([[0, ['events']], [1, ['clicks']]]);
const changelogs = new Map([[0, ['app-counts-changelog']]]);
const counts = new Map([['events', 6], ['clicks', 6]]);

function member(id: string, owned: TopicPartition[] = [], sums: Map<string, number> | null = null, generationId = owned.length > 0 ? 1 : -1): MemberSubscription {
  // Through the wire encoding, as the leader reads it.
  const s = decodeSubscription(encodeSubscription({ topics: ['events', 'clicks'], ownedPartitions: owned, generationId, userData: sums === null ? null : encodeSubscriptionInfo(sums) }));
  return { memberId: id, groupInstanceId: null, topics: s.topics, ownedPartitions: s.ownedPartitions, generationId: s.generationId, rackId: null, userData: s.userData };
}

const taskOf = (tp: TopicPartition): string => `${tp.topic === 'clicks' ? 1 : 0}_${tp.partition}`;
const tasksIn = (tps: TopicPartition[]): string[] => [...new Set(tps.map(taskOf))].sort();
const partitionsOf = (ids: string[]): TopicPartition[] => ids.map((id) => ({ topic: id.startsWith('1_') ? 'clicks' : 'events', partition: Number(id.split('_')[1]) }));

async function assign(a: StreamsPartitionAssignor, members: MemberSubscription[]): Promise<Map<string, { actives: string[]; standbys: string[] }>> {
  const out = await a.assignWithUserData(counts, members);
  return new Map([...out].map(([id, m]) => [id, { actives: tasksIn(m.partitions), standbys: decodeAssignmentInfo(m.userData).standbyTasks }]));
}

test('user data round-trips; version < 1 and bad bytes read as no tasks', () => {
  const sums = new Map([['0_3', 1234], ['2_0', LATEST_OFFSET], ['1_17', 2 ** 40]]);
  assert.deepEqual(decodeSubscriptionInfo(encodeSubscriptionInfo(sums)), sums);
  assert.deepEqual(decodeAssignmentInfo(encodeAssignmentInfo(['0_1', '3_2'])).standbyTasks, ['0_1', '3_2']);
  const v0 = encodeSubscriptionInfo(sums);
  v0.writeInt16BE(0, 0);
  assert.equal(decodeSubscriptionInfo(v0).size, 0);
  assert.equal(decodeSubscriptionInfo(encodeSubscriptionInfo(sums).subarray(0, 20)).size, 0);
  assert.deepEqual(decodeAssignmentInfo(null).standbyTasks, []);
  assert.deepEqual(decodeAssignmentInfo(Buffer.from([0, 1, 0, 0, 0, 9])).standbyTasks, []);
});

test('standbys: only stateful tasks, never on the active member, never twice on one member, balanced', async () => {
  for (const [members, replicas] of [[2, 1], [3, 1], [3, 2], [4, 1], [5, 3], [2, 3]] as const) {
    const a = new StreamsPartitionAssignor(groups, { numStandbyReplicas: replicas, changelogs });
    const ids = Array.from({ length: members }, (_, i) => `m${i}`);
    const out = await assign(a, ids.map((id) => member(id)));
    const copies = Math.min(replicas, members - 1);
    const perTask = new Map<string, number>();
    for (const [id, { actives, standbys }] of out) {
      assert.equal(new Set(standbys).size, standbys.length, `${id}: a standby twice`);
      for (const s of standbys) {
        assert.ok(s.startsWith('0_'), `${s}: a stateless task has no standby`);
        assert.ok(!actives.includes(s), `${members}/${replicas}: ${id} holds ${s} active and standby`);
        perTask.set(s, (perTask.get(s) ?? 0) + 1);
      }
    }
    for (let p = 0; p < 6; p++) assert.equal(perTask.get(`0_${p}`) ?? 0, copies, `${members}/${replicas}: 0_${p} has ${copies} standbys`);
    const sizes = ids.map((id) => out.get(id)!.standbys.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${members}/${replicas}: standby counts ${sizes.join(',')}`);
    const actives = ids.map((id) => out.get(id)!.actives.length);
    assert.ok(Math.max(...actives) - Math.min(...actives) <= 1, `${members}/${replicas}: active counts ${actives.join(',')}`);
  }
  // Without the option nothing changes: no standbys.
  const none = await assign(new StreamsPartitionAssignor(groups, { changelogs }), [member('a'), member('b')]);
  assert.deepEqual([...none.values()].flatMap((m) => m.standbys), []);
});

test('standbys are sticky: members that hold a task\'s state keep its standby', async () => {
  const a = new StreamsPartitionAssignor(groups, { numStandbyReplicas: 1, changelogs, endOffsets: async (tps) => new Map(tps.map((tp) => [`${tp.topic} ${tp.partition}`, 500])) });
  const ids = ['a', 'b', 'c'];
  let prev = await assign(a, ids.map((id) => member(id)));
  for (let round = 0; round < 3; round++) {
    // Each member reports its actives as caught up and its standbys at offset 450.
    const subs = ids.map((id) => {
      const m = prev.get(id)!;
      const sums = new Map<string, number>([...m.actives.filter((t) => t.startsWith('0_')).map((t) => [t, LATEST_OFFSET] as [string, number]), ...m.standbys.map((t) => [t, 450] as [string, number])]);
      return member(id, partitionsOf(m.actives), sums, round + 1);
    });
    const next = await assign(a, subs);
    for (const id of ids) {
      assert.deepEqual(next.get(id)!.actives, prev.get(id)!.actives, `round ${round}: ${id}'s actives stay`);
      assert.deepEqual(next.get(id)!.standbys, prev.get(id)!.standbys, `round ${round}: ${id}'s standbys stay`);
    }
    prev = next;
  }
});

test('an orphaned stateful task goes to a caught-up member when the balance allows, else by count', async () => {
  const ends = async (tps: TopicPartition[]): Promise<Map<string, number>> => new Map(tps.map((tp) => [`${tp.topic} ${tp.partition}`, 100_000]));
  const a = new StreamsPartitionAssignor(groups, { numStandbyReplicas: 1, changelogs, endOffsets: ends });
  // Three members had 4 tasks each; x (who ran 0_0, 0_1, 1_0, 1_1) is gone. b holds 0_0's state 50 behind the end,
  // c holds 0_1's state 20,000 behind (over acceptable.recovery.lag) and 0_0's 90,000 behind.
  const b = member('b', partitionsOf(['0_2', '0_3', '1_2', '1_3']), new Map([['0_2', LATEST_OFFSET], ['0_3', LATEST_OFFSET], ['0_0', 99_950]]), 5);
  const c = member('c', partitionsOf(['0_4', '0_5', '1_4', '1_5']), new Map([['0_4', LATEST_OFFSET], ['0_5', LATEST_OFFSET], ['0_1', 80_000], ['0_0', 10_000]]), 5);
  const out = await assign(a, [c, b]);
  assert.ok(out.get('b')!.actives.includes('0_0'), 'the caught-up member gets the task');
  assert.equal(out.get('b')!.actives.length + out.get('c')!.actives.length, 12);
  assert.deepEqual([out.get('b')!.actives.length, out.get('c')!.actives.length], [6, 6], 'balanced');
  // Its standby goes to the other member, which holds some of its state.
  assert.ok(out.get('c')!.standbys.includes('0_0'));
  // The same with b's state far behind: nobody is caught up, so counts decide (member order: b first, then c).
  const b2 = member('b', b.ownedPartitions, new Map([['0_2', LATEST_OFFSET], ['0_3', LATEST_OFFSET], ['0_0', 10]]), 5);
  const c2 = member('c', c.ownedPartitions, new Map([['0_4', LATEST_OFFSET], ['0_5', LATEST_OFFSET], ['0_0', 99_999]]), 5);
  const out2 = await assign(a, [b2, c2]);
  assert.ok(out2.get('c')!.actives.includes('0_0'), 'the member within acceptable.recovery.lag wins over member order');
  // Balance first: a caught-up member that is full does not get more.
  const full = member('b', partitionsOf(['0_2', '0_3', '0_4', '1_2', '1_3', '1_4']), new Map([['0_0', 99_999], ['0_2', LATEST_OFFSET], ['0_3', LATEST_OFFSET], ['0_4', LATEST_OFFSET]]), 5);
  const out3 = await assign(a, [full, member('c', partitionsOf(['0_5', '1_5']), new Map([['0_5', LATEST_OFFSET]]), 5)]);
  assert.deepEqual(out3.get('b')!.actives, ['0_2', '0_3', '0_4', '1_2', '1_3', '1_4']);
  assert.ok(out3.get('c')!.actives.includes('0_0'));
});

test('cooperative hand-over: the new owner keeps the task as a standby until the old owner revokes it', async () => {
  const a = new StreamsPartitionAssignor(groups, { numStandbyReplicas: 1, changelogs });
  const all = ['0_0', '0_1', '0_2', '0_3', '0_4', '0_5', '1_0', '1_1', '1_2', '1_3', '1_4', '1_5'];
  // a runs everything; b joins holding standby state for 0_4 and 0_5.
  const first = await assign(a, [member('a', partitionsOf(all), new Map(all.filter((t) => t.startsWith('0_')).map((t) => [t, LATEST_OFFSET])), 3), member('b', [], new Map([['0_4', 10], ['0_5', 10]]))]);
  assert.equal(first.get('b')!.actives.length, 0, 'withheld while a owns them');
  const moving = all.filter((t) => !first.get('a')!.actives.includes(t));
  assert.equal(moving.length, 6);
  // a gives up 6 tasks; the stateful ones of them stay with it as standbys and b warms them as standbys meanwhile.
  for (const t of moving.filter((x) => x.startsWith('0_'))) {
    assert.ok(first.get('b')!.standbys.includes(t), `b warms ${t}`);
    assert.ok(first.get('a')!.standbys.includes(t), `a keeps ${t}'s state as a standby`);
  }
  for (const t of first.get('a')!.standbys) assert.ok(!first.get('a')!.actives.includes(t));
  // The follow-up: b gets them, and a holds standbys of b's stateful tasks.
  const second = await assign(a, [member('a', partitionsOf(first.get('a')!.actives), null, 4), member('b', [], null, 4)]);
  assert.deepEqual(second.get('b')!.actives, moving.sort());
  for (const t of second.get('b')!.actives.filter((x) => x.startsWith('0_'))) assert.ok(second.get('a')!.standbys.includes(t));
});

test('standby counts are evened out when stickiness and active placement leave them uneven', async () => {
  const a = new StreamsPartitionAssignor(groups, { numStandbyReplicas: 1, changelogs, endOffsets: async (tps) => new Map(tps.map((tp) => [`${tp.topic} ${tp.partition}`, 100])) });
  const sums = (active: string[], standby: string[]): Map<string, number> => new Map([...active.map((t) => [t, LATEST_OFFSET] as [string, number]), ...standby.map((t) => [t, 90] as [string, number])]);
  // Seen with three instances: m1 holds standby state for 0_2, 0_3 and 0_5, m2 for 0_0 and 0_1, m3 for 0_4.
  const m1 = member('m1', partitionsOf(['0_0', '0_1', '1_0', '1_1']), sums(['0_0', '0_1'], ['0_2', '0_3', '0_5']), 4);
  const m2 = member('m2', partitionsOf(['0_3', '0_4', '1_2', '1_3']), sums(['0_3', '0_4'], ['0_0', '0_1']), 4);
  const m3 = member('m3', partitionsOf(['0_2', '0_5', '1_4', '1_5']), sums(['0_2', '0_5'], ['0_4']), 4);
  const out = await assign(a, [m1, m2, m3]);
  assert.deepEqual(['m1', 'm2', 'm3'].map((id) => out.get(id)!.standbys.length), [2, 2, 2]);
  for (const [id, { actives, standbys }] of out) for (const t of standbys) assert.ok(!actives.includes(t), `${id}: ${t} twice`);
  assert.equal(new Set([...out.values()].flatMap((m) => m.standbys)).size, 6, 'every stateful task has its standby');
});
