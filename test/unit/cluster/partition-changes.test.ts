import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PartitionState } from '../../../src/cluster/metadata.js';
import {
  cancelReassignment,
  completeReassignmentIfReady,
  electOffline,
  isrChange,
  onBrokerBack,
  onBrokerGone,
  preferredLeader,
  startReassignment,
} from '../../../src/cluster/partition-changes.js';

function ps(replicas: number[], isr: number[], leader: number, extra: Partial<PartitionState> = {}): PartitionState {
  return { replicas, isr, leader, leaderEpoch: 5, partitionEpoch: 10, addingReplicas: [], removingReplicas: [], ...extra };
}
const live = (...ids: number[]): Set<number> => new Set(ids);
/** The interesting fields of a result, epochs as deltas from ps()'s 5 / 10. */
function brief(s: PartitionState | null): unknown {
  if (s === null) return null;
  return { replicas: s.replicas, isr: s.isr, leader: s.leader, leaderEpoch: s.leaderEpoch - 5, partitionEpoch: s.partitionEpoch - 10, adding: s.addingReplicas, removing: s.removingReplicas };
}
const out = (replicas: number[], isr: number[], leader: number, leaderEpoch: number, adding: number[] = [], removing: number[] = []): unknown => ({ replicas, isr, leader, leaderEpoch, partitionEpoch: 1, adding, removing });

test('onBrokerGone: a follower leaves the ISR; a leader hands over to the first live ISR member in replicas order', () => {
  const cases: Array<[string, PartitionState, number, Set<number>, boolean, unknown]> = [
    ['follower leaves the ISR, leader unchanged', ps([1, 2, 3], [1, 2, 3], 1), 2, live(1, 3), false, out([1, 2, 3], [1, 3], 1, 0)],
    ['leader gone: next ISR member in replicas order leads', ps([1, 2, 3], [3, 2, 1], 1), 1, live(2, 3), false, out([1, 2, 3], [3, 2], 2, 1)],
    ['leader gone: a live replica outside the ISR is skipped', ps([1, 2, 3], [1, 3], 1), 1, live(2, 3), false, out([1, 2, 3], [3], 3, 1)],
    ['leader gone: a dead ISR member is skipped', ps([1, 2, 3], [1, 2, 3], 1), 1, live(3), false, out([1, 2, 3], [2, 3], 3, 1)],
    ['the last ISR member stays in the ISR, leader -1', ps([1, 2, 3], [1], 1), 1, live(2, 3), false, out([1, 2, 3], [1], -1, 1)],
    ['last ISR member that does not lead (offline partition) stays', ps([1, 2], [2], -1), 2, live(1), false, null],
    ['unclean: the first live replica leads with ISR = [it]', ps([1, 2, 3], [1], 1), 1, live(3, 2), true, out([1, 2, 3], [2], 2, 1)],
    ['unclean is not used while a clean candidate exists', ps([1, 2, 3], [1, 3], 1), 1, live(2, 3), true, out([1, 2, 3], [3], 3, 1)],
    ['unclean with no live replica: leader -1', ps([1, 2], [1], 1), 1, live(), true, out([1, 2], [1], -1, 1)],
    ['a broker outside the ISR and not leading: no change', ps([1, 2, 3], [1, 2], 1), 3, live(1, 2), false, null],
    ['the gone broker is never chosen even if the caller still counts it live', ps([1, 2], [1, 2], 1), 1, live(1, 2), false, out([1, 2], [2], 2, 1)],
  ];
  for (const [name, state, broker, alive, unclean, expected] of cases) {
    assert.deepEqual(brief(onBrokerGone(state, broker, alive, unclean)), expected, name);
  }
});

test('onBrokerBack: an offline partition gets its returning ISR member as leader; unclean takes any replica only when no ISR member is live', () => {
  const cases: Array<[string, PartitionState, number, Set<number>, boolean, unknown]> = [
    ['ISR member returns to an offline partition', ps([1, 2], [2], -1), 2, live(2), false, out([1, 2], [2], 2, 1)],
    ['a replica outside the ISR does not lead without unclean', ps([1, 2], [2], -1), 1, live(1), false, null],
    ['unclean: a replica outside the ISR leads, ISR = [it]', ps([1, 2], [2], -1), 1, live(1), true, out([1, 2], [1], 1, 1)],
    ['unclean waits for a live ISR member', ps([1, 2, 3], [2], -1), 1, live(1, 2), true, null],
    ['the partition has a leader: no change', ps([1, 2], [1, 2], 1), 2, live(1, 2), false, null],
    ['not a replica', ps([1, 2], [2], -1), 7, live(7), true, null],
    ['not live (registered but shutting down)', ps([1, 2], [2], -1), 2, live(), false, null],
  ];
  for (const [name, state, broker, alive, unclean, expected] of cases) {
    assert.deepEqual(brief(onBrokerBack(state, broker, alive, unclean)), expected, name);
  }
  assert.deepEqual(brief(electOffline(ps([1, 2, 3], [3, 2], -1), live(2, 3), false)), out([1, 2, 3], [3, 2], 2, 1), 'the first live ISR member in replicas order');
  assert.equal(electOffline(ps([1, 2], [2], -1), live(1), false), null);
  assert.deepEqual(brief(electOffline(ps([1, 2], [2], -1), live(1), true)), out([1, 2], [1], 1, 1));
});

test('preferredLeader: replicas[0] leads when live and in the ISR', () => {
  assert.deepEqual(brief(preferredLeader(ps([1, 2], [1, 2], 2), live(1, 2))), out([1, 2], [1, 2], 1, 1));
  assert.equal(preferredLeader(ps([1, 2], [1, 2], 1), live(1, 2)), null, 'already the leader');
  assert.equal(preferredLeader(ps([1, 2], [2], 2), live(1, 2)), null, 'not in the ISR');
  assert.equal(preferredLeader(ps([1, 2], [1, 2], 2), live(2)), null, 'not live');
});

test('reassignment: start, wait for the ISR, complete; the leader moves when it is removed', () => {
  // [1,2,3] → [4,5,1]: replicas = target then the removed ones; adding 4,5; removing 2,3.
  const started = startReassignment(ps([1, 2, 3], [1, 2, 3], 1), [4, 5, 1]);
  assert.deepEqual(brief(started), out([4, 5, 1, 2, 3], [1, 2, 3], 1, 0, [4, 5], [2, 3]));
  const s1 = started!;
  assert.equal(completeReassignmentIfReady(s1, live(1, 2, 3, 4, 5)), null, 'adding replicas not in sync yet');
  const partly = { ...s1, isr: [1, 2, 3, 4] };
  assert.equal(completeReassignmentIfReady(partly, live(1, 2, 3, 4, 5)), null, 'replica 5 not in sync yet');
  const inSync = { ...s1, isr: [1, 2, 3, 4, 5], partitionEpoch: 12 };
  const done = completeReassignmentIfReady(inSync, live(1, 2, 3, 4, 5))!;
  assert.deepEqual(done.replicas, [4, 5, 1]);
  assert.deepEqual(done.isr, [1, 4, 5]);
  assert.equal(done.leader, 1, 'the leader stays: it is in the target');
  assert.equal(done.partitionEpoch, 13);
  assert.deepEqual([done.addingReplicas, done.removingReplicas], [[], []]);

  // The leader is removed: the first live target replica in the ISR takes over, leader epoch + 1.
  const moving = startReassignment(ps([1, 2], [1, 2], 1), [3, 2])!;
  assert.deepEqual(brief(moving), out([3, 2, 1], [1, 2], 1, 0, [3], [1]));
  const moved = completeReassignmentIfReady({ ...moving, isr: [1, 2, 3] }, live(1, 2, 3))!;
  assert.deepEqual([moved.replicas, moved.isr, moved.leader, moved.leaderEpoch], [[3, 2], [2, 3], 3, 6]);
  const movedDead3 = completeReassignmentIfReady({ ...moving, isr: [1, 2, 3] }, live(1, 2))!;
  assert.equal(movedDead3.leader, 2, 'a dead target replica does not lead');

  // Removing only: complete at once (the target is already in the ISR).
  const shrink = startReassignment(ps([1, 2, 3], [1, 2, 3], 2), [1, 3])!;
  assert.deepEqual(brief(shrink), out([1, 3, 2], [1, 2, 3], 2, 0, [], [2]));
  assert.deepEqual(brief(completeReassignmentIfReady(shrink, live(1, 2, 3))), { ...(out([1, 3], [1, 3], 1, 1) as object), partitionEpoch: 2 });

  // Same replicas: nothing to do; a new order is a plain replica change.
  assert.equal(startReassignment(ps([1, 2], [1, 2], 1), [1, 2]), null);
  assert.deepEqual(brief(startReassignment(ps([1, 2], [1, 2], 1), [2, 1])), out([2, 1], [1, 2], 1, 0));
  // A new target during a reassignment starts from the current (merged) replicas.
  const replaced = startReassignment(s1, [6, 1])!;
  assert.deepEqual([replaced.replicas, replaced.addingReplicas, replaced.removingReplicas], [[6, 1, 4, 5, 2, 3], [6], [4, 5, 2, 3]]);
  assert.equal(completeReassignmentIfReady(ps([1, 2], [1], 1), live(1, 2)), null, 'no reassignment in progress');
});

test('cancelReassignment: back to the original replicas, the adding ones leave the ISR and lose leadership', () => {
  const s = startReassignment(ps([1, 2], [1, 2], 1), [3, 4])!;
  const caught = { ...s, isr: [1, 2, 3], leader: 3, leaderEpoch: 6 };
  const reverted = cancelReassignment(caught, live(1, 2, 3, 4))!;
  assert.deepEqual([reverted.replicas, reverted.isr, reverted.leader, reverted.leaderEpoch], [[1, 2], [1, 2], 1, 7]);
  assert.deepEqual([reverted.addingReplicas, reverted.removingReplicas], [[], []]);
  assert.equal(cancelReassignment(ps([1, 2], [1, 2], 1), live(1, 2)), null);
  // Only adding replicas in sync: the live original replicas form the ISR (unclean revert).
  const onlyNew = { ...s, isr: [3], leader: 3 };
  const r2 = cancelReassignment(onlyNew, live(2, 3))!;
  assert.deepEqual([r2.replicas, r2.isr, r2.leader], [[1, 2], [2], 2]);
});

test('isrChange validates the leader\'s AlterPartition as Kafka\'s controller does', () => {
  const s = ps([1, 2, 3], [1, 2], 1);
  const all = live(1, 2, 3);
  assert.equal(isrChange(s, [1], 1, 4, all), 'FENCED_LEADER_EPOCH');
  assert.equal(isrChange(s, [1], 1, 6, all), 'NOT_CONTROLLER', 'the image is behind the caller');
  assert.equal(isrChange(s, [2], 2, 5, all), 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(isrChange(ps([1, 2], [2], -1), [2], -1, 5, all), 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(isrChange(s, [2, 3], 1, 5, all), 'INVALID_REQUEST', 'the ISR must include the leader');
  assert.equal(isrChange(s, [1, 4], 1, 5, all), 'INVALID_REQUEST', 'not a replica');
  assert.equal(isrChange(s, [1, 1], 1, 5, all), 'INVALID_REQUEST', 'duplicate');
  assert.equal(isrChange(s, [], 1, 5, all), 'INVALID_REQUEST', 'empty');
  assert.equal(isrChange(s, [1, 2, 3], 1, 5, live(1, 2)), 'INELIGIBLE_REPLICA', 'expansion to a broker that is not live');
  assert.equal(isrChange(s, [1, 2], 1, 5, live(1)), s, 'no change: the same state back');
  assert.deepEqual(brief(isrChange(s, [1], 1, 5, all) as PartitionState), out([1, 2, 3], [1], 1, 0));
  assert.deepEqual(brief(isrChange(s, [1, 2, 3], 1, 5, all) as PartitionState), out([1, 2, 3], [1, 2, 3], 1, 0));
  // Adding replicas of a reassignment may join the ISR.
  const moving = startReassignment(s, [1, 4])!;
  const joined = isrChange(moving, [1, 2, 4], 1, 5, live(1, 2, 4));
  assert.deepEqual((joined as PartitionState).isr, [1, 2, 4]);
});
