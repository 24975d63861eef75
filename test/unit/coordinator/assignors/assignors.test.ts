import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UniformAssignor } from '../../../../src/coordinator/assignors/uniform-assignor.js';
import { RangeAssignor } from '../../../../src/coordinator/assignors/range-assignor.js';
import type { AssignorMember, AssignorTopic, TopicPartitionMap } from '../../../../src/coordinator/assignors/partition-assignor.js';

const uniform = new UniformAssignor();
const range = new RangeAssignor();

function topicsOf(spec: Record<string, number>): Map<string, AssignorTopic> {
  return new Map(Object.entries(spec).map(([topicId, numPartitions]) => [topicId, { topicId, numPartitions }]));
}

function member(memberId: string, subscribedTopicIds: string[], currentTarget: TopicPartitionMap = new Map(), instanceId: string | null = null): AssignorMember {
  return { memberId, instanceId, rackId: null, subscribedTopicIds, currentTarget };
}

function count(a: TopicPartitionMap | undefined): number {
  let n = 0;
  for (const ps of a?.values() ?? []) n += ps.length;
  return n;
}

/** Every partition of every topic with a subscriber is assigned exactly once, to a subscriber. */
function assertComplete(members: AssignorMember[], topics: Map<string, AssignorTopic>, result: Map<string, TopicPartitionMap>): void {
  for (const t of topics.values()) {
    const subscribers = members.filter((m) => m.subscribedTopicIds.includes(t.topicId));
    const seen: number[] = [];
    for (const [id, a] of result) {
      const ps = a.get(t.topicId) ?? [];
      if (ps.length) assert.ok(subscribers.some((m) => m.memberId === id), `${id} got ${t.topicId} without subscribing`);
      seen.push(...ps);
    }
    seen.sort((a, b) => a - b);
    assert.deepEqual(seen, subscribers.length ? [...Array(t.numPartitions).keys()] : []);
  }
}

test('uniform: one member gets everything it subscribes to', () => {
  const topics = topicsOf({ a: 3, b: 2 });
  const result = uniform.assign([member('m1', ['a', 'b'])], topics);
  assert.deepEqual(result.get('m1'), new Map([['a', [0, 1, 2]], ['b', [0, 1]]]));
});

test('uniform: identical subscriptions are balanced within one partition, and the result is deterministic', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 6 }),
    fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }),
    (n, sizes) => {
      const topics = topicsOf(Object.fromEntries(sizes.map((s, i) => [`t${i}`, s])));
      const ids = [...topics.keys()];
      const members = Array.from({ length: n }, (_, i) => member(`m${i}`, ids));
      const result = uniform.assign(members, topics);
      assertComplete(members, topics, result);
      const counts = members.map((m) => count(result.get(m.memberId)));
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `unbalanced: ${counts}`);
      assert.deepEqual(uniform.assign([...members].reverse(), topics), result);
    },
  ), { numRuns: 100 });
});

test('uniform: differing subscriptions assign every partition to a subscriber and leave no easy move', () => {
  fc.assert(fc.property(
    fc.array(fc.subarray(['a', 'b', 'c']), { minLength: 1, maxLength: 5 }),
    (subs) => {
      const topics = topicsOf({ a: 5, b: 3, c: 7 });
      const members = subs.map((s, i) => member(`m${i}`, s));
      const result = uniform.assign(members, topics);
      assertComplete(members, topics, result);
      // No partition could move to a subscribed member with two fewer partitions.
      for (const m of members) {
        for (const [t, ps] of result.get(m.memberId)!) {
          if (!ps.length) continue;
          for (const o of members) {
            if (o.subscribedTopicIds.includes(t)) assert.ok(count(result.get(o.memberId)) >= count(result.get(m.memberId)) - 1);
          }
        }
      }
    },
  ), { numRuns: 100 });
});

test('uniform: sticky — a joining member takes only what balance needs, from everyone', () => {
  const topics = topicsOf({ a: 6, b: 6 });
  const first = uniform.assign([member('m1', ['a', 'b']), member('m2', ['a', 'b'])], topics);
  assert.equal(count(first.get('m1')), 6);
  const second = uniform.assign([
    member('m1', ['a', 'b'], first.get('m1')),
    member('m2', ['a', 'b'], first.get('m2')),
    member('m3', ['a', 'b']),
  ], topics);
  for (const id of ['m1', 'm2']) {
    assert.equal(count(second.get(id)), 4);
    for (const [t, ps] of second.get(id)!) for (const p of ps) assert.ok(first.get(id)!.get(t)!.includes(p), `${id} gained ${t}-${p}`);
  }
  assert.equal(count(second.get('m3')), 4);
  // A member leaving: the survivors keep everything they had.
  const third = uniform.assign([member('m1', ['a', 'b'], second.get('m1')), member('m3', ['a', 'b'], second.get('m3'))], topics);
  for (const id of ['m1', 'm3']) {
    assert.equal(count(third.get(id)), 6);
    for (const [t, ps] of second.get(id)!) for (const p of ps) assert.ok(third.get(id)!.get(t)!.includes(p));
  }
});

test('uniform: partitions of unsubscribed or vanished topics are dropped from the previous target', () => {
  const topics = topicsOf({ a: 2 });
  const result = uniform.assign([member('m1', ['a'], new Map([['a', [0, 1, 5]], ['gone', [0]]]))], topics);
  assert.deepEqual(result.get('m1'), new Map([['a', [0, 1]]]));
});

test('range: contiguous ranges, extra partitions to the first members, co-partitioned topics', () => {
  const topics = topicsOf({ a: 7, b: 7 });
  const result = range.assign([member('m2', ['a', 'b']), member('m1', ['a', 'b']), member('m3', ['a', 'b'])], topics);
  assert.deepEqual(result.get('m1'), new Map([['a', [0, 1, 2]], ['b', [0, 1, 2]]]));
  assert.deepEqual(result.get('m2'), new Map([['a', [3, 4]], ['b', [3, 4]]]));
  assert.deepEqual(result.get('m3'), new Map([['a', [5, 6]], ['b', [5, 6]]]));
});

test('range: only subscribers share a topic; more members than partitions leaves some empty', () => {
  const topics = topicsOf({ a: 2, b: 4 });
  const members = [member('m1', ['a']), member('m2', ['a', 'b']), member('m3', ['a'])];
  const result = range.assign(members, topics);
  assertComplete(members, topics, result);
  assert.deepEqual(result.get('m2'), new Map([['a', [1]], ['b', [0, 1, 2, 3]]]));
  assert.deepEqual(result.get('m3'), new Map());
});

test('range: static members are ordered by instance id, so a rejoining instance gets its range back', () => {
  const topics = topicsOf({ a: 4 });
  const before = range.assign([member('zzz', ['a'], new Map(), 'i1'), member('aaa', ['a'], new Map(), 'i2')], topics);
  const after = range.assign([member('new', ['a'], new Map(), 'i1'), member('aaa', ['a'], new Map(), 'i2')], topics);
  assert.deepEqual(before.get('zzz'), new Map([['a', [0, 1]]]));
  assert.deepEqual(after.get('new'), before.get('zzz'));
});

test('rack-aware: balance first; among equally loaded members the one in the replicas\' rack gets the extra partition', () => {
  // Every replica on broker.rack 'r1' (a single node): 5 partitions over a remote member 'a' and a local 'b'.
  const t: Map<string, AssignorTopic> = new Map([['T', { topicId: 'T', numPartitions: 5, partitionRacks: () => ['r1'] }]]);
  const a: AssignorMember = { ...member('a', ['T']), rackId: 'r2' };
  const b: AssignorMember = { ...member('b', ['T']), rackId: 'r1' };
  for (const assignor of [uniform, range]) {
    const r = assignor.assign([a, b], t);
    assert.equal(count(r.get('b')), 3, `${assignor.name}: the local member takes the extra partition`);
    assert.equal(count(r.get('a')), 2, `${assignor.name}: still balanced`);
    assertComplete([a, b], t, r);
    // Without racks (or with every member in the replicas' rack) the member order decides, as before.
    const plain = assignor.assign([member('a', ['T']), member('b', ['T'])], topicsOf({ T: 5 }));
    assert.equal(count(plain.get('a')), 3, `${assignor.name}: without racks 'a' gets the extra one`);
    const allLocal = assignor.assign([{ ...a, rackId: 'r1' }, b], t);
    assert.equal(count(allLocal.get('a')), 3, `${assignor.name}: every member local: not rack-aware`);
  }
});
