// The streams partition assignor: whole tasks (sub-topology, partition) per member, balanced, sticky, cooperative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MemberSubscription, TopicPartition } from '../../../src/client/assignors/assignor.js';
import { StreamsPartitionAssignor } from '../../../src/streams/assignor.js';

// Sub-topology 0 joins 'orders' with 'customers'; sub-topology 1 reads 'clicks'.
const groups = new Map([[0, ['orders', 'customers']], [1, ['clicks']]]);
const counts = new Map([['orders', 4], ['customers', 4], ['clicks', 4]]);

function member(id: string, owned: TopicPartition[] = [], generationId = owned.length > 0 ? 1 : -1): MemberSubscription {
  return { memberId: id, groupInstanceId: null, topics: ['orders', 'customers', 'clicks'], ownedPartitions: owned, generationId, rackId: null, userData: null };
}

function tasksIn(tps: TopicPartition[]): string[] {
  const ids = new Set(tps.map((tp) => `${tp.topic === 'clicks' ? 1 : 0}_${tp.partition}`));
  return [...ids].sort();
}

/** Every task whole: partition p of orders goes with partition p of customers. */
function assertWhole(a: Map<string, TopicPartition[]>): void {
  for (const tps of a.values()) {
    const keys = new Set(tps.map((tp) => `${tp.topic}:${tp.partition}`));
    for (const tp of tps) {
      if (tp.topic === 'orders') assert.ok(keys.has(`customers:${tp.partition}`), `orders-${tp.partition} without customers-${tp.partition}`);
      if (tp.topic === 'customers') assert.ok(keys.has(`orders:${tp.partition}`), `customers-${tp.partition} without orders-${tp.partition}`);
    }
  }
}

/** Runs rebalances until the assignment is stable (each member's owned = its last assignment), as the cooperative protocol does. */
function settle(a: StreamsPartitionAssignor, ids: string[], owned: Map<string, TopicPartition[]>): { rounds: Array<Map<string, TopicPartition[]>>; final: Map<string, TopicPartition[]> } {
  const rounds: Array<Map<string, TopicPartition[]>> = [];
  for (let gen = 2; gen < 10; gen++) {
    const out = a.assign(counts, ids.map((id) => member(id, owned.get(id) ?? [], gen - 1)));
    rounds.push(out);
    assertWhole(out);
    // No partition handed to a member while another still owns it.
    for (const [id, tps] of out) {
      for (const tp of tps) {
        for (const [other, o] of owned) if (other !== id && ids.includes(other)) assert.ok(!o.some((x) => x.topic === tp.topic && x.partition === tp.partition), `${tp.topic}-${tp.partition} given to ${id} while ${other} owns it`);
      }
    }
    const same = ids.every((id) => JSON.stringify(tasksIn(out.get(id)!)) === JSON.stringify(tasksIn(owned.get(id) ?? [])));
    owned = new Map(out);
    if (same) return { rounds, final: out };
  }
  throw new Error('no stable assignment after 8 rebalances');
}

test('tasks are never split, balanced by count, and spread per sub-topology', () => {
  const a = new StreamsPartitionAssignor(groups);
  assert.equal(a.name, 'stream');
  for (const n of [1, 2, 3, 5, 9]) {
    const ids = Array.from({ length: n }, (_, i) => `m${i}`);
    const out = a.assign(counts, ids.map((id) => member(id)));
    assertWhole(out);
    const sizes = ids.map((id) => tasksIn(out.get(id)!).length);
    assert.equal(sizes.reduce((x, y) => x + y, 0), 8, `${n} members: every task once`);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${n} members: balanced ${sizes.join(',')}`);
    const all = ids.flatMap((id) => tasksIn(out.get(id)!));
    assert.equal(new Set(all).size, 8);
    if (n === 2) for (const id of ids) assert.equal(tasksIn(out.get(id)!).filter((t) => t.startsWith('0_')).length, 2, 'each sub-topology spread');
  }
});

test('sticky and cooperative over a member join and leave', () => {
  const a = new StreamsPartitionAssignor(groups);
  const first = a.assign(counts, [member('a')]);
  assert.equal(tasksIn(first.get('a')!).length, 8);
  // b joins: a keeps 4 of its tasks; the 4 that move are first withheld (a still owns them), then given to b.
  const join = settle(a, ['a', 'b'], new Map([['a', first.get('a')!]]));
  assert.ok(join.rounds.length >= 2, 'a follow-up rebalance moves the revoked tasks');
  assert.equal(tasksIn(join.rounds[0].get('b')!).length, 0, 'b gets nothing a still owns');
  assert.equal(tasksIn(join.rounds[0].get('a')!).length, 4);
  const ta = tasksIn(join.final.get('a')!);
  const tb = tasksIn(join.final.get('b')!);
  assert.equal(ta.length, 4);
  assert.equal(tb.length, 4);
  assert.ok(ta.every((t) => tasksIn(first.get('a')!).includes(t)));
  // c joins: a and b each give up at most what balance needs and keep the rest.
  const three = settle(a, ['a', 'b', 'c'], new Map(join.final));
  const t3 = ['a', 'b', 'c'].map((id) => tasksIn(three.final.get(id)!));
  assert.deepEqual(t3.map((t) => t.length).sort(), [2, 3, 3]);
  assert.ok(t3[0].every((t) => ta.includes(t)) && t3[1].every((t) => tb.includes(t)), 'a and b only lose tasks');
  // b leaves: its tasks go to a and c at once (nobody else owns them); a and c keep theirs.
  const owned = new Map([['a', three.final.get('a')!], ['c', three.final.get('c')!]]);
  const left = a.assign(counts, [member('a', owned.get('a')!, 3), member('c', owned.get('c')!, 3)]);
  assertWhole(left);
  assert.deepEqual([tasksIn(left.get('a')!).length, tasksIn(left.get('c')!).length], [4, 4]);
  assert.ok(t3[0].every((t) => tasksIn(left.get('a')!).includes(t)) && t3[2].every((t) => tasksIn(left.get('c')!).includes(t)));
});
