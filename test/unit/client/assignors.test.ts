import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assignorByName, decodeAssignment, decodeStickyUserData, decodeSubscription, encodeAssignment,
  encodeStickyUserData, encodeSubscription, CooperativeStickyAssignor, RangeAssignor, RoundRobinAssignor, StickyAssignor,
  type MemberSubscription, type PartitionAssignor, type TopicPartition,
} from '../../../src/client/assignors/index.js';
import { ClientStateError } from '../../../src/client/errors.js';

// ---- helpers ----

function member(memberId: string, topics: string[], extra: Partial<MemberSubscription> = {}): MemberSubscription {
  return { memberId, groupInstanceId: null, topics, ownedPartitions: [], generationId: -1, rackId: null, userData: null, ...extra };
}

const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition });
/** "t0p1" → { topic: 't0', partition: 1 } */
const tps = (...names: string[]): TopicPartition[] =>
  names.map((n) => {
    const m = /^(.*)p(\d+)$/.exec(n)!;
    return tp(m[1], Number(m[2]));
  });
const key = (x: TopicPartition): string => `${x.topic}:${x.partition}`;
const sortTps = (list: TopicPartition[]): TopicPartition[] =>
  [...list].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
const plain = (m: Map<string, TopicPartition[]>): Record<string, string[]> =>
  Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, sortTps(v).map(key)]));

const ALL: Array<() => PartitionAssignor> = [
  () => new RangeAssignor(), () => new RoundRobinAssignor(), () => new StickyAssignor(), () => new CooperativeStickyAssignor(),
];
const STICKY: Array<() => PartitionAssignor> = [() => new StickyAssignor(), () => new CooperativeStickyAssignor()];

/** Validity: each partition of a subscribed, existing topic is assigned once (cooperative: at most once,
 *  and only held back when another member claims it); members get only topics they subscribe to. */
function checkValid(assignor: PartitionAssignor, ppt: Map<string, number>, members: MemberSubscription[], result: Map<string, TopicPartition[]>): void {
  const cooperative = assignor.supportedProtocols.includes('COOPERATIVE');
  assert.deepEqual([...result.keys()].sort(), members.map((m) => m.memberId).sort());
  const byId = new Map(members.map((m) => [m.memberId, m]));
  const seen = new Map<string, string>();
  for (const [id, list] of result) {
    const m = byId.get(id)!;
    for (const x of list) {
      assert.ok(m.topics.includes(x.topic), `${id} got ${key(x)} without subscribing`);
      assert.ok(x.partition >= 0 && x.partition < (ppt.get(x.topic) ?? 0), `${key(x)} does not exist`);
      assert.ok(!seen.has(key(x)), `${key(x)} assigned to ${seen.get(key(x))} and ${id}`);
      seen.set(key(x), id);
      if (cooperative) {
        const claimants = members.filter((o) => o.ownedPartitions.some((y) => key(y) === key(x)));
        assert.ok(claimants.length === 0 || claimants.some((o) => o.memberId === id),
          `${key(x)} given to ${id} while ${claimants.map((o) => o.memberId).join(',')} still own it`);
      }
    }
  }
  const subscribed = new Set(members.flatMap((m) => m.topics));
  for (const topic of subscribed) {
    for (let p = 0; p < (ppt.get(topic) ?? 0); p++) {
      if (seen.has(`${topic}:${p}`)) continue;
      assert.ok(cooperative, `${topic}:${p} left unassigned`);
      assert.ok(members.some((o) => o.ownedPartitions.some((y) => y.topic === topic && y.partition === p)),
        `${topic}:${p} left out though nobody owned it`);
    }
  }
}

function counts(result: Map<string, TopicPartition[]>, ids?: string[]): number[] {
  return (ids ?? [...result.keys()]).map((id) => result.get(id)!.length);
}
function spread(ns: number[]): number {
  return ns.length === 0 ? 0 : Math.max(...ns) - Math.min(...ns);
}

// ---- hand-made cases (the examples of the Java client's javadoc) ----

describe('range and roundrobin: the javadoc examples', () => {
  const ppt = new Map([['t0', 3], ['t1', 3]]);
  const members = [member('C1', ['t0', 't1']), member('C0', ['t0', 't1'])];

  test('range: contiguous ranges per topic, the first members take the extra', () => {
    assert.deepEqual(new RangeAssignor().assign(ppt, members),
      new Map([['C1', tps('t0p2', 't1p2')], ['C0', tps('t0p0', 't0p1', 't1p0', 't1p1')]]));
  });

  test('roundrobin: all partitions dealt in turn', () => {
    assert.deepEqual(new RoundRobinAssignor().assign(ppt, members),
      new Map([['C1', tps('t0p1', 't1p0', 't1p2')], ['C0', tps('t0p0', 't0p2', 't1p1')]]));
  });

  test('roundrobin skips members not subscribed to the topic', () => {
    const result = new RoundRobinAssignor().assign(new Map([['t0', 1], ['t1', 2], ['t2', 3]]), [
      member('C0', ['t0']), member('C1', ['t0', 't1']), member('C2', ['t0', 't1', 't2']),
    ]);
    assert.deepEqual(plain(result), { C0: ['t0:0'], C1: ['t1:0'], C2: ['t1:1', 't2:0', 't2:1', 't2:2'] });
  });

  test('static members sort by group.instance.id, before dynamic ones', () => {
    const result = new RangeAssignor().assign(new Map([['t', 5]]), [
      member('a', ['t']), member('b', ['t'], { groupInstanceId: 'z' }), member('c', ['t'], { groupInstanceId: 'y' }),
    ]);
    assert.deepEqual(plain(result), { a: ['t:4'], b: ['t:2', 't:3'], c: ['t:0', 't:1'] });
  });

  test('topics missing from metadata are skipped; every member gets an entry', () => {
    const result = new RangeAssignor().assign(new Map([['t', 2]]), [member('a', ['t', 'gone']), member('b', ['gone'])]);
    assert.deepEqual(plain(result), { a: ['t:0', 't:1'], b: [] });
    assert.deepEqual(plain(new RoundRobinAssignor().assign(new Map([['t', 2]]), [member('a', ['t', 'gone']), member('b', ['gone'])])),
      { a: ['t:0', 't:1'], b: [] });
  });
});

describe('sticky: the javadoc examples', () => {
  test('a member leaves: the others keep everything and share its partitions', () => {
    const ppt = new Map([['t0', 2], ['t1', 2], ['t2', 2], ['t3', 2]]);
    const all = ['t0', 't1', 't2', 't3'];
    const before = { C0: tps('t0p0', 't1p1', 't3p0'), C1: tps('t0p1', 't2p0', 't3p1'), C2: tps('t1p0', 't2p1') };
    for (const make of STICKY) {
      const assignor = make();
      const result = assignor.assign(ppt, [
        member('C0', all, { ownedPartitions: before.C0, generationId: 3 }),
        member('C2', all, { ownedPartitions: before.C2, generationId: 3 }),
      ]);
      // C1's partitions are free (it left), so even the cooperative variant hands them out at once.
      checkValid(assignor, ppt, [member('C0', all), member('C2', all)], result);
      assert.deepEqual(counts(result), [4, 4]);
      for (const x of before.C0) assert.ok(result.get('C0')!.some((y) => key(y) === key(x)), `${assignor.name}: C0 lost ${key(x)}`);
      for (const x of before.C2) assert.ok(result.get('C2')!.some((y) => key(y) === key(x)), `${assignor.name}: C2 lost ${key(x)}`);
    }
  });

  test('different subscriptions: balanced where it can be, then sticky when a member leaves', () => {
    const ppt = new Map([['t0', 1], ['t1', 2], ['t2', 3]]);
    const sticky = new StickyAssignor();
    const first = sticky.assign(ppt, [member('C0', ['t0']), member('C1', ['t0', 't1']), member('C2', ['t0', 't1', 't2'])]);
    assert.deepEqual(plain(first), { C0: ['t0:0'], C1: ['t1:0', 't1:1'], C2: ['t2:0', 't2:1', 't2:2'] });
    const second = sticky.assign(ppt, [
      member('C1', ['t0', 't1'], { ownedPartitions: first.get('C1')!, generationId: 1 }),
      member('C2', ['t0', 't1', 't2'], { ownedPartitions: first.get('C2')!, generationId: 1 }),
    ]);
    assert.deepEqual(plain(second), { C1: ['t0:0', 't1:0', 't1:1'], C2: ['t2:0', 't2:1', 't2:2'] });
  });

  test('two claims on one partition: the higher generation keeps it', () => {
    const ppt = new Map([['t', 2]]);
    for (const make of STICKY) {
      const result = make().assign(ppt, [
        member('a', ['t'], { ownedPartitions: tps('tp0'), generationId: 4 }),
        member('b', ['t'], { ownedPartitions: tps('tp0'), generationId: 5 }),
      ]);
      assert.deepEqual(result.get('b'), tps('tp0'));
      // Cooperative: p1 was nobody's, so a gets it; p0 stays with b, whose claim is current.
      assert.deepEqual(result.get('a'), tps('tp1'));
    }
  });

  test('cooperative: the same partition claimed twice in one generation waits until both revoke', () => {
    const ppt = new Map([['t', 2]]);
    const members = [
      member('a', ['t'], { ownedPartitions: tps('tp0'), generationId: 5 }),
      member('b', ['t'], { ownedPartitions: tps('tp0'), generationId: 5 }),
    ];
    const result = new CooperativeStickyAssignor().assign(ppt, members);
    assert.ok(!Object.values(plain(result)).flat().includes('t:0'));
    assert.equal(Object.values(plain(result)).flat().length, 1);
  });

  test('cooperative: a joining member gets moved partitions only in the follow-up rebalance (KIP-429)', () => {
    const ppt = new Map([['t', 4]]);
    const coop = new CooperativeStickyAssignor();
    const round1 = coop.assign(ppt, [
      member('a', ['t'], { ownedPartitions: tps('tp0', 'tp1', 'tp2', 'tp3'), generationId: 1 }),
      member('b', ['t']),
    ]);
    assert.deepEqual(plain(round1), { a: ['t:0', 't:1'], b: [] });
    // a revoked t:2 and t:3 and rejoins; now they are free.
    const round2 = coop.assign(ppt, [
      member('a', ['t'], { ownedPartitions: round1.get('a')!, generationId: 2 }),
      member('b', ['t'], { ownedPartitions: [], generationId: 2 }),
    ]);
    assert.deepEqual(plain(round2), { a: ['t:0', 't:1'], b: ['t:2', 't:3'] });
    // The eager sticky assignor moves them at once.
    assert.deepEqual(plain(new StickyAssignor().assign(ppt, [
      member('a', ['t'], { ownedPartitions: tps('tp0', 'tp1', 'tp2', 'tp3'), generationId: 1 }), member('b', ['t']),
    ])), { a: ['t:0', 't:1'], b: ['t:2', 't:3'] });
  });

  test('cooperative: generation from the 4-byte user data when the subscription has none', () => {
    const ud = (g: number): Buffer => new CooperativeStickyAssignor().subscriptionUserData([], g)!;
    assert.deepEqual(ud(7), Buffer.from('00000007', 'hex'));
    const result = new CooperativeStickyAssignor().assign(new Map([['t', 1]]), [
      member('a', ['t'], { ownedPartitions: tps('tp0'), userData: ud(2) }),
      member('b', ['t'], { ownedPartitions: tps('tp0'), userData: ud(3) }),
    ]);
    assert.deepEqual(plain(result), { a: [], b: ['t:0'] });
  });

  test('eager sticky reads the previous assignment from its user data', () => {
    const sticky = new StickyAssignor();
    const ud = sticky.subscriptionUserData(tps('tp2', 'tp3'), 9)!;
    assert.deepEqual(decodeStickyUserData(ud), { partitions: tps('tp2', 'tp3'), generation: 9 });
    const result = sticky.assign(new Map([['t', 4]]), [member('a', ['t']), member('b', ['t'], { userData: ud })]);
    assert.deepEqual(plain(result), { a: ['t:0', 't:1'], b: ['t:2', 't:3'] });
  });

  test('sticky user data: V1 and V0 layouts, garbage counts as nothing', () => {
    // [{topic "t", partitions [1, 2]}], generation 5 — Java StickyAssignor's STICKY_ASSIGNOR_USER_DATA_V1
    const v1 = Buffer.from('00000001' + '000174' + '00000002' + '00000001' + '00000002' + '00000005', 'hex');
    assert.deepEqual(encodeStickyUserData(tps('tp1', 'tp2'), 5), v1);
    assert.deepEqual(decodeStickyUserData(v1), { partitions: tps('tp1', 'tp2'), generation: 5 });
    assert.deepEqual(decodeStickyUserData(v1.subarray(0, v1.length - 4)), { partitions: tps('tp1', 'tp2'), generation: -1 });
    assert.deepEqual(decodeStickyUserData(Buffer.from('0000000900', 'hex')), { partitions: [], generation: -1 });
  });
});

// ---- properties ----

interface Scenario {
  ppt: Map<string, number>;
  members: MemberSubscription[];
}

const TOPICS = ['t0', 't1', 't2', 't3'];

/** Topics of 0..8 partitions (one may be missing from metadata), 1..7 members, identical or mixed subscriptions. */
const scenarioArb = (opts: { identical?: boolean; owned?: boolean } = {}): fc.Arbitrary<Scenario> =>
  fc.record({
    sizes: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 4, maxLength: 4 }),
    missing: fc.integer({ min: -1, max: 3 }),
    ids: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 7 }),
    instances: fc.array(fc.option(fc.string({ minLength: 1, maxLength: 2 }), { nil: null }), { minLength: 7, maxLength: 7 }),
    masks: fc.array(fc.integer({ min: 1, max: 15 }), { minLength: 7, maxLength: 7 }),
    identical: opts.identical === undefined ? fc.boolean() : fc.constant(opts.identical),
    owned: fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 9 })), { maxLength: 6 }), { minLength: 7, maxLength: 7 }),
    gens: fc.array(fc.integer({ min: -1, max: 3 }), { minLength: 7, maxLength: 7 }),
  }).map((s) => {
    const ppt = new Map<string, number>();
    TOPICS.forEach((t, i) => {
      if (i !== s.missing) ppt.set(t, s.sizes[i]);
    });
    const seenInstances = new Set<string>();
    const members = s.ids.map((id, i) => {
      const mask = s.identical ? s.masks[0] : s.masks[i];
      const instance = s.instances[i] !== null && !seenInstances.has(s.instances[i]!) ? s.instances[i] : null;
      if (instance !== null) seenInstances.add(instance);
      return member(id, TOPICS.filter((_, k) => mask & (1 << k)), {
        groupInstanceId: instance,
        ownedPartitions: opts.owned ? s.owned[i].map(([t, p]) => tp(TOPICS[t], p)) : [],
        generationId: opts.owned ? s.gens[i] : -1,
      });
    });
    return { ppt, members };
  });

const RUNS = { numRuns: 150 };

describe('every assignor: properties', () => {
  for (const make of ALL) {
    const name = make().name;

    test(`${name}: each subscribed partition assigned once, only to subscribers (random previous ownership)`, () => {
      fc.assert(fc.property(scenarioArb({ owned: true }), ({ ppt, members }) => {
        const assignor = make();
        checkValid(assignor, ppt, members, assignor.assign(ppt, members));
      }), RUNS);
    });

    test(`${name}: deterministic, whatever the order members are listed in`, () => {
      fc.assert(fc.property(scenarioArb({ owned: true }), ({ ppt, members }) => {
        const a = make().assign(ppt, members);
        assert.deepEqual(make().assign(ppt, members), a);
        assert.deepEqual(make().assign(ppt, [...members].reverse()), a);
      }), RUNS);
    });
  }

  test('range: balanced per topic among its subscribers', () => {
    fc.assert(fc.property(scenarioArb(), ({ ppt, members }) => {
      const result = new RangeAssignor().assign(ppt, members);
      for (const topic of TOPICS) {
        const subs = members.filter((m) => m.topics.includes(topic));
        assert.ok(spread(subs.map((m) => result.get(m.memberId)!.filter((x) => x.topic === topic).length)) <= 1);
      }
    }), RUNS);
  });

  for (const [make, owned] of [[() => new RoundRobinAssignor(), false], [() => new StickyAssignor(), true], [() => new CooperativeStickyAssignor(), false]] as const) {
    test(`${make().name}: balanced (max - min <= 1) when subscriptions are the same${owned ? ' (random previous ownership)' : ''}`, () => {
      fc.assert(fc.property(scenarioArb({ identical: true, owned }), ({ ppt, members }) => {
        assert.ok(spread(counts(make().assign(ppt, members))) <= 1);
      }), RUNS);
    });
  }

  // The cooperative variant is balanced before it holds partitions back, so previous ownership only for 'sticky'.
  for (const [make, owned] of [[() => new StickyAssignor(), true], [() => new CooperativeStickyAssignor(), false]] as const) {
    test(`${make().name}: members with the same subscriptions differ by at most one, also in mixed groups${owned ? ' (random previous ownership)' : ''}`, () => {
      fc.assert(fc.property(scenarioArb({ identical: false, owned }), ({ ppt, members }) => {
        const result = make().assign(ppt, members);
        const groups = new Map<string, string[]>();
        for (const m of members) {
          const k = m.topics.filter((t) => (ppt.get(t) ?? 0) > 0).sort().join(',');
          groups.set(k, [...(groups.get(k) ?? []), m.memberId]);
        }
        for (const ids of groups.values()) assert.ok(spread(counts(result, ids)) <= 1, `group ${ids.join(',')}`);
      }), RUNS);
    });
  }
});

/** Sticky scenarios: a balanced assignment in generation 5, then one member leaves or one joins. */
const changeArb = fc.record({
  scenario: scenarioArb({ identical: true }),
  join: fc.boolean(),
  victim: fc.nat(),
  newcomer: fc.constantFrom('n0', 'zz', '0'),
});

describe('sticky and cooperative-sticky: stickiness', () => {
  for (const make of STICKY) {
    const name = make().name;

    test(`${name}: after a member leaves or joins, everyone keeps what the new quota lets them keep`, () => {
      fc.assert(fc.property(changeArb, ({ scenario: { ppt, members }, join, victim, newcomer }) => {
        const assignor = make();
        const before = assignor.assign(ppt, members);
        const topics = members[0].topics;
        let next = members.map((m) => ({ ...m, ownedPartitions: before.get(m.memberId)!, generationId: 5 }));
        if (join) {
          if (next.some((m) => m.memberId === newcomer)) return;
          next.push(member(newcomer, topics));
        } else {
          if (next.length < 2) return;
          next = next.filter((_, i) => i !== victim % next.length);
        }
        const after = assignor.assign(ppt, next);
        checkValid(assignor, ppt, next, after);

        const P = topics.reduce((n, t) => n + (ppt.get(t) ?? 0), 0);
        const N = next.length;
        const minQuota = Math.floor(P / N);
        const maxQuota = Math.ceil(P / N);
        let kept = 0;
        let best = 0;
        let ownersOverMax = 0;
        for (const m of next) {
          const mine = new Set(after.get(m.memberId)!.map(key));
          const k = m.ownedPartitions.filter((x) => mine.has(key(x))).length;
          assert.ok(k >= Math.min(m.ownedPartitions.length, minQuota), `${m.memberId} kept ${k} of ${m.ownedPartitions.length}`);
          kept += k;
          best += Math.min(m.ownedPartitions.length, minQuota);
          if (m.ownedPartitions.length >= maxQuota && maxQuota > minQuota) ownersOverMax++;
        }
        // As many owned partitions stay put as any balanced assignment could keep.
        assert.equal(kept, best + Math.min(ownersOverMax, P % N));
      }), RUNS);
    });

    test(`${name}: nothing changes when nothing changed (mixed subscriptions too)`, () => {
      fc.assert(fc.property(scenarioArb(), ({ ppt, members }) => {
        const assignor = make();
        const before = assignor.assign(ppt, members);
        const again = assignor.assign(ppt, members.map((m) => ({ ...m, ownedPartitions: before.get(m.memberId)!, generationId: 1 })));
        assert.deepEqual(plain(again), plain(before));
      }), RUNS);
    });
  }

  test('cooperative-sticky: the follow-up rebalance completes a balanced assignment', () => {
    fc.assert(fc.property(changeArb, ({ scenario: { ppt, members }, join, victim, newcomer }) => {
      const coop = new CooperativeStickyAssignor();
      const before = coop.assign(ppt, members);
      let next = members.map((m) => ({ ...m, ownedPartitions: before.get(m.memberId)!, generationId: 5 }));
      if (join && !next.some((m) => m.memberId === newcomer)) next.push(member(newcomer, members[0].topics));
      else if (!join && next.length > 1) next = next.filter((_, i) => i !== victim % next.length);
      const round1 = coop.assign(ppt, next);
      // Members revoke what they lost and rejoin owning what they were given.
      const rejoined = next.map((m) => ({ ...m, ownedPartitions: round1.get(m.memberId)!, generationId: 6 }));
      const round2 = coop.assign(ppt, rejoined);
      checkValid(new StickyAssignor(), ppt, rejoined, round2); // complete: nothing held back any more
      assert.ok(spread(counts(round2)) <= 1);
      for (const m of rejoined) {
        const mine = new Set(round2.get(m.memberId)!.map(key));
        assert.ok(m.ownedPartitions.every((x) => mine.has(key(x))), `${m.memberId} lost a partition in the follow-up`);
      }
    }), RUNS);
  });
});

// ---- performance ----

describe('performance', () => {
  const ppt = new Map<string, number>();
  for (let t = 0; t < 20; t++) ppt.set(`topic-${String(t).padStart(2, '0')}`, 50);
  const topics = [...ppt.keys()];
  const members = Array.from({ length: 100 }, (_, i) => member(`consumer-${i}-${(i * 7919) % 1000}`, topics));

  for (const make of ALL) {
    test(`${make().name}: 100 members x 20 topics x 50 partitions in under 1 s`, () => {
      const assignor = make();
      const t0 = performance.now();
      const first = assignor.assign(ppt, members);
      // A rebalance with previous ownership, one member gone.
      const next = members.slice(1).map((m) => ({ ...m, ownedPartitions: first.get(m.memberId)!, generationId: 1 }));
      const second = assignor.assign(ppt, next);
      const ms = performance.now() - t0;
      checkValid(assignor, ppt, next, second);
      assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
    });
  }

  for (const make of STICKY) {
    test(`${make().name}: mixed subscriptions at the same size in under 1 s`, () => {
      const mixed = members.map((m, i) => ({ ...m, topics: topics.filter((_, t) => (t + i) % 3 !== 0) }));
      const assignor = make();
      const t0 = performance.now();
      const first = assignor.assign(ppt, mixed);
      const next = mixed.slice(1).map((m) => ({ ...m, ownedPartitions: first.get(m.memberId)!, generationId: 1 }));
      const second = assignor.assign(ppt, next);
      const ms = performance.now() - t0;
      checkValid(assignor, ppt, next, second);
      assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
    });
  }
});

// ---- the consumer protocol bytes ----

describe('ConsumerProtocolSubscription / ConsumerProtocolAssignment', () => {
  test('subscription bytes match the spec, field by field (v0 and v3)', () => {
    // v0: version, topics ["a", "b"], userData null
    assert.equal(encodeSubscription({ topics: ['b', 'a'] }, 0).toString('hex'),
      '0000' + '00000002' + '000161' + '000162' + 'ffffffff');
    // v3: + ownedPartitions [{ "a", [0, 2] }], generationId 7, rackId "r"; userData 0x0102
    const v3 = '0003' + '00000001' + '000161' + '00000002' + '0102' + '00000001' + '000161' + '00000002' + '00000000' + '00000002' +
      '00000007' + '000172';
    assert.equal(encodeSubscription({ topics: ['a'], userData: Buffer.from([1, 2]), ownedPartitions: tps('ap2', 'ap0'), generationId: 7, rackId: 'r' }).toString('hex'), v3);
    assert.deepEqual(decodeSubscription(Buffer.from(v3, 'hex')),
      { version: 3, topics: ['a'], userData: Buffer.from([1, 2]), ownedPartitions: tps('ap0', 'ap2'), generationId: 7, rackId: 'r' });
  });

  test('round trip at v0..v3: each version carries exactly its fields', () => {
    const full = { topics: ['x', 'y'], userData: Buffer.from('ud'), ownedPartitions: tps('xp1', 'yp0'), generationId: 12, rackId: 'rack-1' };
    const expect = [
      { topics: ['x', 'y'], userData: Buffer.from('ud'), ownedPartitions: [], generationId: -1, rackId: null },
      { topics: ['x', 'y'], userData: Buffer.from('ud'), ownedPartitions: tps('xp1', 'yp0'), generationId: -1, rackId: null },
      { topics: ['x', 'y'], userData: Buffer.from('ud'), ownedPartitions: tps('xp1', 'yp0'), generationId: 12, rackId: null },
      { topics: ['x', 'y'], userData: Buffer.from('ud'), ownedPartitions: tps('xp1', 'yp0'), generationId: 12, rackId: 'rack-1' },
    ];
    for (let v = 0; v <= 3; v++) assert.deepEqual(decodeSubscription(encodeSubscription(full, v)), { version: v, ...expect[v] });
    assert.throws(() => encodeSubscription(full, 4), RangeError);
  });

  test('a newer version is read as v3 (its new fields come after ours)', () => {
    const v3 = encodeSubscription({ topics: ['a'], generationId: 3 });
    const v5 = Buffer.concat([Buffer.from('0005', 'hex'), v3.subarray(2), Buffer.from('deadbeef', 'hex')]);
    assert.deepEqual(decodeSubscription(v5), { version: 5, topics: ['a'], userData: null, ownedPartitions: [], generationId: 3, rackId: null });
    const a = encodeAssignment(tps('ap0'));
    assert.deepEqual(decodeAssignment(Buffer.concat([Buffer.from('0004', 'hex'), a.subarray(2), Buffer.from('00', 'hex')])),
      { version: 4, partitions: tps('ap0'), userData: null });
  });

  test('malformed bytes throw', () => {
    assert.throws(() => decodeSubscription(Buffer.from('ffff00000000ffffffff', 'hex')), /version -1/);
    assert.throws(() => decodeSubscription(Buffer.from('0000000000', 'hex')));
    assert.throws(() => decodeAssignment(Buffer.from('00', 'hex')));
  });

  test('assignment bytes match the spec and round trip at v0..v3', () => {
    // [{ "t", [1, 0] }, { "s", [4] }] in the given order, userData null
    const hex = '0001' + '00000002' + '000174' + '00000002' + '00000001' + '00000000' + '000173' + '00000001' + '00000004' + 'ffffffff';
    assert.equal(encodeAssignment(tps('tp1', 'tp0', 'sp4'), null, 1).toString('hex'), hex);
    for (let v = 0; v <= 3; v++) {
      assert.deepEqual(decodeAssignment(encodeAssignment(tps('tp1', 'sp4', 'tp0'), Buffer.from('u'), v)),
        { version: v, partitions: tps('tp1', 'tp0', 'sp4'), userData: Buffer.from('u') });
    }
  });

  test('random subscriptions and assignments round trip at v3', () => {
    const tpArb = fc.tuple(fc.string({ minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })).map(([t, p]) => tp(t, p));
    fc.assert(fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 5 }),
      fc.option(fc.uint8Array({ maxLength: 8 }), { nil: null }),
      fc.uniqueArray(tpArb, { maxLength: 8, selector: key }),
      fc.integer({ min: -1, max: 2 ** 31 - 1 }),
      fc.option(fc.string({ minLength: 1, maxLength: 5 }), { nil: null }),
      (topics, ud, owned, generationId, rackId) => {
        const userData = ud === null ? null : Buffer.from(ud);
        assert.deepEqual(decodeSubscription(encodeSubscription({ topics, userData, ownedPartitions: owned, generationId, rackId })),
          { version: 3, topics: [...topics].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), userData, ownedPartitions: sortTps(owned), generationId, rackId });
        const decoded = decodeAssignment(encodeAssignment(owned, userData));
        assert.deepEqual(sortTps(decoded.partitions), sortTps(owned));
        assert.deepEqual(decoded.userData, userData);
      },
    ), { numRuns: 200 });
  });
});

test('assignorByName knows Kafka\'s names and refuses others, naming the valid ones', () => {
  assert.deepEqual(['range', 'roundrobin', 'sticky', 'cooperative-sticky'].map((n) => [assignorByName(n).name, assignorByName(n).supportedProtocols]), [
    ['range', ['EAGER']], ['roundrobin', ['EAGER']], ['sticky', ['EAGER']], ['cooperative-sticky', ['EAGER', 'COOPERATIVE']],
  ]);
  assert.throws(() => assignorByName('uniform'), (e: unknown) => e instanceof ClientStateError && /range, roundrobin, sticky, cooperative-sticky/.test(e.message));
  assert.throws(() => assignorByName('toString'), ClientStateError);
});
